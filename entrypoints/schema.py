"""Where a database's schema stands against this code's migrations: current, behind (migrate fixes
it) or ahead (migrated by a newer Catalyst: this code must not touch it)."""

from __future__ import annotations

from functools import cache

from attrs import frozen
from sqlalchemy.ext.asyncio import AsyncEngine


class SchemaAhead(RuntimeError):
    """The database was migrated by a newer version of Catalyst than this one."""


@frozen
class SchemaState:
    database: frozenset[str]  # the revisions the database is at (none when it is empty)
    heads: frozenset[str]  # the newest revisions this code has
    known: frozenset[str]  # every revision this code has

    @property
    def current(self) -> bool:
        return self.database == self.heads

    @property
    def ahead(self) -> bool:
        return bool(self.database - self.known)

    def describe(self) -> str:
        at, newest = ", ".join(sorted(self.database)) or "none", ", ".join(sorted(self.heads))
        if self.ahead:
            return (f"the database schema is at revision {at}, which this version of Catalyst does "
                    f"not know (its newest is {newest}): a newer Catalyst migrated it. Run that "
                    "version, or restore a backup taken before the upgrade")
        if not self.current:
            return f"the database schema is at revision {at}, not {newest}: run `catalyst migrate`"
        return f"the database schema is current (revision {at})"


@cache
def _revisions() -> tuple[frozenset[str], frozenset[str]]:
    """(heads, every revision) of the migration scripts, read once per process."""
    from alembic.script import ScriptDirectory

    from catalyst_adapters.sql.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(script.get_heads()), frozenset(s.revision for s in script.walk_revisions())


async def schema_state(engine: AsyncEngine) -> SchemaState:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        database = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads())
    heads, known = _revisions()
    return SchemaState(frozenset(database), heads, known)


async def refuse_newer_schema(engine: AsyncEngine) -> None:
    """Raises SchemaAhead when the database's schema is newer than this code: migrating it (or
    serving from it) could lose data written by the newer version."""
    state = await schema_state(engine)
    if state.ahead:
        raise SchemaAhead(state.describe())
