"""Initial storage schema: objects (and tombstones) and list timestamps.

``objects`` holds one row per live object or tombstone of a
``(resource_name, parent_id)`` list. ``data`` is the object without its
``id`` and ``last_modified`` (which have their own columns); a tombstone's is
``{"deleted": true}``. ``last_modified`` is unique per list (a forced
timestamp that collides is an integrity error) and indexed, so that a page in
timestamp order and ``_since`` read only the rows they return.

``timestamps`` holds the list timestamp; writers of a list lock its row
until they commit, so that list timestamps follow commit order.

PostgreSQL: ``data`` is JSONB; text keys use the ``C`` collation (code point
order, and prefix ``LIKE`` served by the primary key). SQLite: ``data`` is
JSON text.

Revision ID: storage_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "storage_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgresql = op.get_context().dialect.name == "postgresql"
    key = sa.Text(collation="C") if postgresql else sa.Text()
    document = JSONB() if postgresql else sa.Text()

    op.create_table(
        "objects",
        sa.Column("resource_name", key, nullable=False),
        sa.Column("parent_id", key, nullable=False),
        sa.Column("id", key, nullable=False),
        sa.Column("last_modified", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("data", document, nullable=False),
        sa.PrimaryKeyConstraint("resource_name", "parent_id", "id", name="objects_pkey"),
    )
    op.create_index(
        "objects_list_last_modified",
        "objects",
        ["resource_name", "parent_id", "last_modified"],
        unique=True,
    )
    op.create_table(
        "timestamps",
        sa.Column("resource_name", key, nullable=False),
        sa.Column("parent_id", key, nullable=False),
        sa.Column("last_modified", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("resource_name", "parent_id", name="timestamps_pkey"),
    )


def downgrade() -> None:
    op.drop_table("timestamps")
    op.drop_index("objects_list_last_modified", table_name="objects")
    op.drop_table("objects")
