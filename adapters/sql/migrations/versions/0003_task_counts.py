"""Task counts per client and status, kept by the database itself.

A task list answers `total_items`; counting a large client's tasks on every page costs more than
the rest of the request (docs/benchmarks.md). Triggers keep one row per (client, status) exact
in the same statement as every insert, status change and delete, whoever writes.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER task_counts_after_insert AFTER INSERT ON tasks BEGIN
         INSERT INTO task_counts (client_id, status, n) VALUES (NEW.client_id, NEW.status, 1)
           ON CONFLICT (client_id, status) DO UPDATE SET n = n + 1;
       END""",
    """CREATE TRIGGER task_counts_after_delete AFTER DELETE ON tasks BEGIN
         UPDATE task_counts SET n = n - 1 WHERE client_id = OLD.client_id AND status = OLD.status;
       END""",
    """CREATE TRIGGER task_counts_after_update AFTER UPDATE OF client_id, status ON tasks
       WHEN OLD.client_id IS NOT NEW.client_id OR OLD.status IS NOT NEW.status BEGIN
         UPDATE task_counts SET n = n - 1 WHERE client_id = OLD.client_id AND status = OLD.status;
         INSERT INTO task_counts (client_id, status, n) VALUES (NEW.client_id, NEW.status, 1)
           ON CONFLICT (client_id, status) DO UPDATE SET n = n + 1;
       END""",
]

_POSTGRES_TRIGGERS = [
    """CREATE FUNCTION task_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP IN ('DELETE', 'UPDATE') THEN
           UPDATE task_counts SET n = n - 1 WHERE client_id = OLD.client_id AND status = OLD.status;
         END IF;
         IF TG_OP IN ('INSERT', 'UPDATE') THEN
           INSERT INTO task_counts (client_id, status, n) VALUES (NEW.client_id, NEW.status, 1)
             ON CONFLICT (client_id, status) DO UPDATE SET n = task_counts.n + 1;
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER task_counts_after_insert_or_delete AFTER INSERT OR DELETE ON tasks
       FOR EACH ROW EXECUTE FUNCTION task_counts_track()""",
    """CREATE TRIGGER task_counts_after_update AFTER UPDATE OF client_id, status ON tasks
       FOR EACH ROW
       WHEN (OLD.client_id IS DISTINCT FROM NEW.client_id OR OLD.status IS DISTINCT FROM NEW.status)
       EXECUTE FUNCTION task_counts_track()""",
]


def upgrade() -> None:
    op.create_table(
        "task_counts",
        sa.Column("client_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("client_id", "status", name="pk_task_counts"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE",
                                name="fk_task_counts_client_id_clients"),
    )
    op.execute("INSERT INTO task_counts (client_id, status, n) "
               "SELECT client_id, status, count(*) FROM tasks GROUP BY client_id, status")
    triggers = _POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else _SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER task_counts_after_insert_or_delete ON tasks")
        op.execute("DROP TRIGGER task_counts_after_update ON tasks")
        op.execute("DROP FUNCTION task_counts_track()")
    else:
        for name in ("task_counts_after_insert", "task_counts_after_delete", "task_counts_after_update"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("task_counts")
