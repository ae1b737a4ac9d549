"""Catalyst's contracts (imported as `catalyst_contracts`): the OpenAPI document, the storage contract
suite embedders can run against their own adapters, hypothesis strategies and state machines."""
