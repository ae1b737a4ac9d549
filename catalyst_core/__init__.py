"""Catalyst's pure domain core: entities, rules, use cases and the ports they depend on.

Imports only the standard library and attrs (tests/unit/test_purity.py enforces this)."""
