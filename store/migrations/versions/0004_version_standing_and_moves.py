"""the edit ledger: a version's standing, and the history of the current version

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Versions that exist before this revision are `accepted`: they were made, and perhaps built on,
under the old rule, and `nudge versions list` shows each one's verdict beside its standing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(
            sa.Column("standing", sa.String(length=16), server_default=sa.text("'accepted'"), nullable=False)
        )
        batch.add_column(sa.Column("accepted_failed", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch.create_check_constraint(
            op.f("ck_model_versions_standing"),
            "standing IN ('accepted', 'rejected') AND (standing = 'accepted' OR NOT accepted_failed)"
            " AND (parent_id IS NOT NULL OR standing = 'accepted')",
        )
    op.create_table(
        "current_version_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("previous_version_id", sa.Integer(), nullable=True),
        sa.Column("accepted_failed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('promote', 'revert')", name=op.f("ck_current_version_changes_action")),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_current_version_changes_model_version_id_model_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["previous_version_id"],
            ["model_versions.id"],
            name=op.f("fk_current_version_changes_previous_version_id_model_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_current_version_changes")),
    )


def downgrade() -> None:
    op.drop_table("current_version_changes")
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_constraint(op.f("ck_model_versions_standing"), type_="check")
        batch.drop_column("accepted_failed")
        batch.drop_column("standing")
