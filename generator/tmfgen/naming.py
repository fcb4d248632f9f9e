"""The one naming authority: every Python identifier the generator emits is decided here.

Keeping the rules in one place is what stops two templates from spelling the same thing two
ways, and lets the lowering check that a name it needs exists in the generated models.
"""

from __future__ import annotations

import keyword
import re

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_IDENTIFIER = re.compile(r"[^0-9A-Za-z]+")


def snake(name: str) -> str:
    """retrieveCustomer -> retrieve_customer; Customer_FVO -> customer_fvo."""
    spaced = _WORD_BOUNDARY.sub("_", name)
    result = _NON_IDENTIFIER.sub("_", spaced).strip("_").lower()
    if not result or result[0].isdigit() or keyword.iskeyword(result):
        result = "x_" + result
    return result


def constant(name: str) -> str:
    """Customer -> CUSTOMER; partyRole -> PARTY_ROLE."""
    return snake(name).upper()


def model_class(schema_name: str) -> str:
    """The class datamodel-code-generator makes of a schema: Customer_FVO -> CustomerFVO.

    The lowering verifies every predicted name against the generated source, so a change in the
    model generator's naming is an error at generation time, not an ImportError later.
    """
    parts = [p for p in _NON_IDENTIFIER.split(schema_name) if p]
    name = "".join(p[:1].upper() + p[1:] for p in parts)
    return name if name and not name[0].isdigit() else "Model" + name


def api_stem(api_name: str) -> str:
    """customerManagement -> customer; partyManagement -> party; quote -> quote."""
    stem = re.sub(r"Management$", "", api_name) or api_name
    return snake(stem)


def package_name(tmf_id: str, api_name: str) -> str:
    """TMF629 + customerManagement -> tmf629_customer."""
    return f"{snake(tmf_id)}_{api_stem(api_name)}"


def distribution_name(package: str) -> str:
    return package.replace("_", "-")


def channel_constant(address: str, prefix_parameter: str) -> str:
    """`{prefix}.customerManagement.v5.x.commandRequest` -> `customerManagement.v5.x...`."""
    placeholder = "{" + prefix_parameter + "}"
    for candidate in (placeholder + ".", placeholder):
        if address.startswith(candidate):
            return address[len(candidate) :]
    return address


def hooks_class(resource: str) -> str:
    return f"{model_class(resource)}Hooks"


def route_name(operation: str) -> str:
    return constant(operation) + "_ROUTE"


def href_base(api_stem_name: str, api_version: str, resource: str) -> str:
    """Relative href of a resource collection, TMF style: /tmf-api/customer/v5/customer."""
    return f"/tmf-api/{api_stem_name}/{api_version}/{resource[:1].lower()}{resource[1:]}"
