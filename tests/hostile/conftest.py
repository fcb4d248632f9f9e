"""Fixtures of the hostile-input cases; they live in hostile_support.py beside the helpers."""

from hostile_support import harness, postgres_url, store_url

__all__ = ["harness", "postgres_url", "store_url"]
