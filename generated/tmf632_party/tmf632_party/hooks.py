"""Business hooks of Party Management.

This file is yours: tmfgen created it once and never overwrites it. Override the methods of
runtime.operations.ResourceHooks to add rules, defaults or side effects, e.g.

    async def before_create(self, document):
        document.setdefault("status", "Initialized")
        return document
"""

from tmfgen_runtime.serving.operations import ResourceHooks


class IndividualHooks(ResourceHooks):
    """Hooks for Individual."""


class OrganizationHooks(ResourceHooks):
    """Hooks for Organization."""
