"""The Storage contract suite bound to every storage we ship: memory, SQLite and PostgreSQL.

The `storage` fixture (tests/conftest.py) is parametrised over the three kinds and yields an empty
store; the suite itself lives in catalyst_contracts so embedding teams can run it on their adapters."""

from __future__ import annotations

from catalyst_contracts.storage import StorageContract


class TestStorage(StorageContract):
    pass
