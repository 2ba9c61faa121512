"""login throttling: every try with its client address and outcome, and admins' unlocks

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

A try recorded before this revision has no address (NULL) and the outcome its `succeeded` said.
Downgrading drops the `throttled` tries (the old rule never recorded them) and the unlocks.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

attempts = sa.table(
    "login_attempts", sa.column("succeeded", sa.Boolean()), sa.column("outcome", sa.String(length=16))
)


def upgrade() -> None:
    op.drop_index("ix_login_attempts_name_at", table_name="login_attempts")
    with op.batch_alter_table("login_attempts") as batch:
        batch.add_column(sa.Column("address", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
    op.execute(attempts.update().values(outcome=sa.case((attempts.c.succeeded, "succeeded"), else_="failed")))
    with op.batch_alter_table("login_attempts") as batch:
        batch.alter_column("outcome", existing_type=sa.String(length=16), nullable=False)
        batch.drop_column("succeeded")
        batch.create_check_constraint(
            op.f("ck_login_attempts_outcome"), "outcome IN ('succeeded', 'failed', 'throttled')"
        )
    op.create_index("ix_login_attempts_name_address_at", "login_attempts", ["name", "address", "at"], unique=False)
    op.create_index("ix_login_attempts_address_at", "login_attempts", ["address", "at"], unique=False)
    op.create_table(
        "login_unlocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("unlocked_by", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_unlocks")),
    )
    op.create_index("ix_login_unlocks_name_at", "login_unlocks", ["name", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_unlocks_name_at", table_name="login_unlocks")
    op.drop_table("login_unlocks")
    op.drop_index("ix_login_attempts_address_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_name_address_at", table_name="login_attempts")
    op.execute(attempts.delete().where(attempts.c.outcome == "throttled"))
    with op.batch_alter_table("login_attempts") as batch:
        batch.add_column(sa.Column("succeeded", sa.Boolean(), nullable=True))
    op.execute(attempts.update().values(succeeded=attempts.c.outcome == "succeeded"))
    with op.batch_alter_table("login_attempts") as batch:
        batch.alter_column("succeeded", existing_type=sa.Boolean(), nullable=False)
        batch.drop_constraint(op.f("ck_login_attempts_outcome"), type_="check")
        batch.drop_column("outcome")
        batch.drop_column("address")
    op.create_index("ix_login_attempts_name_at", "login_attempts", ["name", "at"], unique=False)
