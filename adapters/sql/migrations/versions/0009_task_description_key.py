"""Tasks' description_key: the description casefolded, which text search looks in with name_key.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from catalyst_adapters.sql.types import text_key_type

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Rows read and rewritten at a time: memory stays bounded whatever the number of tasks.
BATCH = 1000

# The columns this migration touches, as they are at this revision (tables.py moves on).
_tasks = sa.table("tasks", sa.column("id", sa.Uuid), sa.column("description", sa.Text),
                  sa.column("description_key", sa.Text))


def upgrade() -> None:
    op.add_column("tasks", sa.Column("description_key", text_key_type()))
    # Neither database has Unicode's casefold (catalyst_adapters.ordering), so the keys of the
    # existing rows are computed here, a batch at a time, in id order.
    conn = op.get_bind()
    described = (sa.select(_tasks.c.id, _tasks.c.description)
                 .where(_tasks.c.description.is_not(None)).order_by(_tasks.c.id).limit(BATCH))
    write = (sa.update(_tasks).where(_tasks.c.id == sa.bindparam("task_id"))
             .values(description_key=sa.bindparam("key")))
    after = None
    while rows := conn.execute(described if after is None
                               else described.where(_tasks.c.id > after)).all():
        conn.execute(write, [{"task_id": row.id, "key": row.description.casefold()} for row in rows])
        after = rows[-1].id


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): batch mode would rebuild the table and lose its triggers.
    op.drop_column("tasks", "description_key")
