"""List versions (PostgreSQL): ``timestamps.version``, a number that changes
whenever the content of the list may have changed.

Every transaction that writes in a list gives its ``timestamps`` row a new
value from the ``list_versions`` sequence while it holds the row's lock, so
a committed version stands for one committed content of the list: the
storage keeps the last pages it read with the version they were read at and
lets PostgreSQL skip a page whose list has not changed since. Sequence
values are never handed out twice, even by transactions that roll back, so
a list that is deleted and created again never meets an old version. New
rows take their first version from the column's default.

SQLite: nothing (its reads run in process, with no round trip to save).

Revision ID: storage_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "storage_0002"
down_revision = "storage_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE list_versions")
    # A volatile default: every existing row gets its own value.
    op.add_column(
        "timestamps",
        sa.Column(
            "version",
            sa.BigInteger(),
            server_default=sa.text("nextval('list_versions')"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.drop_column("timestamps", "version")
    op.execute("DROP SEQUENCE list_versions")
