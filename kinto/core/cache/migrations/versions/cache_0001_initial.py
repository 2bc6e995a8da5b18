"""Initial cache schema: one table of entries with their expiry.

``cache_entries``: ``key`` (the prefixed key, primary key), ``value`` (JSON
bytes), ``expires`` (epoch milliseconds of the database clock), indexed for
the purge of expired rows.

PostgreSQL: ``key`` uses the ``C`` collation (a key prefix is an index
range), and the table is ``UNLOGGED``: no write-ahead log for disposable
data, so writes are cheaper; PostgreSQL empties it after a crash and does
not copy it to standby servers, which a cache can afford.

Revision ID: cache_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "cache_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgresql = op.get_context().dialect.name == "postgresql"
    op.create_table(
        "cache_entries",
        sa.Column("key", sa.Text(collation="C") if postgresql else sa.Text(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="cache_entries_pkey"),
        prefixes=["UNLOGGED"] if postgresql else [],
    )
    op.create_index("cache_entries_expires", "cache_entries", ["expires"])


def downgrade() -> None:
    op.drop_index("cache_entries_expires", table_name="cache_entries")
    op.drop_table("cache_entries")
