"""Room for casefolded names: a name of n characters can fold to up to 3n ("ß" becomes "ss",
"ΐ" three code points), which PostgreSQL's VARCHAR(n) sort keys refused (a 500 on save).

PostgreSQL only: widening a VARCHAR there is a change of the catalogue, not a rewrite. SQLite does
not check lengths, and its declared types stay as they were (no table is rebuilt).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# (table, the longest name it takes)
_KEYS = (("users", 200), ("clients", 200), ("tasks", 255))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, length in _KEYS:
        op.alter_column(table, "name_key", type_=sa.String(length * 3, collation="C"),
                        existing_type=sa.String(length, collation="C"), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, length in _KEYS:
        op.alter_column(table, "name_key", type_=sa.String(length, collation="C"),
                        existing_type=sa.String(length * 3, collation="C"), existing_nullable=False)
