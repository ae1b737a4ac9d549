"""In-memory adapters: production-quality fakes for tests and embedding without a database."""

from catalyst_adapters.memory.storage import MemoryStorage

__all__ = ["MemoryStorage"]
