"""Initial permission schema: access control entries and user principals.

``access_control_entries`` holds one row per principal holding a permission
on an object URI; its primary key ``(object_id, permission, principal)``
serves the lookups by object, and ``access_control_entries_by_principal``
``(principal, permission, object_id)`` the lookups by principal (the
objects a user may read, listed per URI prefix). ``user_principals`` holds
group memberships, with an index by principal for removing a group.

PostgreSQL: every column uses the ``C`` collation (byte order: a URI prefix
is an index range). SQLite: the tables are ``WITHOUT ROWID`` (the primary
key is the table).

Revision ID: permission_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "permission_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgresql = op.get_context().dialect.name == "postgresql"
    text = sa.Text(collation="C") if postgresql else sa.Text()
    options = {} if postgresql else {"sqlite_with_rowid": False}

    op.create_table(
        "access_control_entries",
        sa.Column("object_id", text, nullable=False),
        sa.Column("permission", text, nullable=False),
        sa.Column("principal", text, nullable=False),
        sa.PrimaryKeyConstraint(
            "object_id", "permission", "principal", name="access_control_entries_pkey"
        ),
        **options,
    )
    op.create_index(
        "access_control_entries_by_principal",
        "access_control_entries",
        ["principal", "permission", "object_id"],
    )
    op.create_table(
        "user_principals",
        sa.Column("user_id", text, nullable=False),
        sa.Column("principal", text, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "principal", name="user_principals_pkey"),
        **options,
    )
    op.create_index("user_principals_by_principal", "user_principals", ["principal"])


def downgrade() -> None:
    op.drop_index("user_principals_by_principal", table_name="user_principals")
    op.drop_table("user_principals")
    op.drop_index("access_control_entries_by_principal", table_name="access_control_entries")
    op.drop_table("access_control_entries")
