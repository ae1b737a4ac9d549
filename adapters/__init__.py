"""Catalyst's adapters: the technologies behind the core's ports (imported as `catalyst_adapters`)."""
