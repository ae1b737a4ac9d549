"""Catalyst's entry points (imported as `catalyst_api`): the aiohttp API, the CLI and the container."""
