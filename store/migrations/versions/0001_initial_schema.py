"""initial schema

Revision ID: 0001
Revises:
Create Date: 2025-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "annotators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('annotator', 'admin')", name=op.f("ck_annotators_role")),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 64", name=op.f("ck_annotators_name_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotators")),
        sa.UniqueConstraint("name", name=op.f("uq_annotators_name")),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=500), nullable=True),
        sa.Column("fingerprint", sa.String(length=128), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("adapter_path", sa.Text(), nullable=True),
        sa.Column("adapter_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(parent_id IS NULL AND ref IS NOT NULL AND adapter_path IS NULL AND adapter_sha256 IS NULL)"
            " OR (parent_id IS NOT NULL AND adapter_path IS NOT NULL AND length(adapter_sha256) = 64)",
            name=op.f("ck_model_versions_base_or_adapter"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["model_versions.id"], name=op.f("fk_model_versions_parent_id_model_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("ref", name=op.f("uq_model_versions_ref")),
    )
    op.create_index(op.f("ix_model_versions_parent_id"), "model_versions", ["parent_id"], unique=False)

    op.create_table(
        "probe_suites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name=op.f("ck_probe_suites_name_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probe_suites")),
        sa.UniqueConstraint("name", name=op.f("uq_probe_suites_name")),
    )
    op.create_table(
        "prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(text) BETWEEN 1 AND 20000", name=op.f("ck_prompts_text_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompts")),
        sa.UniqueConstraint("text_sha256", name=op.f("uq_prompts_text_sha256")),
    )
    op.create_table(
        "edit_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("spec_hash", sa.String(length=128), nullable=False),
        sa.Column("data_hash", sa.String(length=128), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("base_version_id", sa.Integer(), nullable=True),
        sa.Column("result_version_id", sa.Integer(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'interrupted')", name=op.f("ck_edit_runs_status")
        ),
        sa.CheckConstraint("length(spec_hash) >= 1 AND length(data_hash) >= 1", name=op.f("ck_edit_runs_hashes")),
        sa.ForeignKeyConstraint(
            ["base_version_id"], ["model_versions.id"], name=op.f("fk_edit_runs_base_version_id_model_versions")
        ),
        sa.ForeignKeyConstraint(
            ["result_version_id"], ["model_versions.id"], name=op.f("fk_edit_runs_result_version_id_model_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edit_runs")),
        sa.UniqueConstraint("result_version_id", name=op.f("uq_edit_runs_result_version_id")),
    )
    op.create_index(op.f("ix_edit_runs_base_version_id"), "edit_runs", ["base_version_id"], unique=False)

    op.create_table(
        "generations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prompt_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("decoding", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(text) BETWEEN 1 AND 20000", name=op.f("ck_generations_text_length")),
        sa.ForeignKeyConstraint(
            ["model_version_id"], ["model_versions.id"], name=op.f("fk_generations_model_version_id_model_versions")
        ),
        sa.ForeignKeyConstraint(["prompt_id"], ["prompts.id"], name=op.f("fk_generations_prompt_id_prompts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generations")),
        sa.UniqueConstraint(
            "prompt_id",
            "model_version_id",
            "text_sha256",
            name=op.f("uq_generations_prompt_id_model_version_id_text_sha256"),
        ),
    )
    op.create_index(op.f("ix_generations_model_version_id"), "generations", ["model_version_id"], unique=False)

    op.create_table(
        "probes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suite_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("foil", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("split", sa.String(length=8), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=True),
        sa.CheckConstraint("kind IN ('edit', 'paraphrase', 'leak', 'control')", name=op.f("ck_probes_kind")),
        sa.CheckConstraint("split IN ('train', 'val', 'test')", name=op.f("ck_probes_split")),
        sa.CheckConstraint(
            "length(prompt) BETWEEN 1 AND 20000 AND length(target) BETWEEN 1 AND 20000"
            " AND length(foil) BETWEEN 1 AND 20000",
            name=op.f("ck_probes_text_length"),
        ),
        sa.ForeignKeyConstraint(["suite_id"], ["probe_suites.id"], name=op.f("fk_probes_suite_id_probe_suites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probes")),
        sa.UniqueConstraint("suite_id", "key", name=op.f("uq_probes_suite_id_key")),
    )
    op.create_table(
        "prompt_tags",
        sa.Column("prompt_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.CheckConstraint("length(tag) BETWEEN 1 AND 64", name=op.f("ck_prompt_tags_tag_length")),
        sa.ForeignKeyConstraint(
            ["prompt_id"], ["prompts.id"], name=op.f("fk_prompt_tags_prompt_id_prompts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("prompt_id", "tag", name=op.f("pk_prompt_tags")),
    )
    op.create_index("ix_prompt_tags_tag", "prompt_tags", ["tag", "prompt_id"], unique=False)

    op.create_table(
        "judgments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("annotator_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("generation_id", sa.Integer(), nullable=False),
        sa.Column("generation_b_id", sa.Integer(), nullable=True),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("correction", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'correction' AND correction IS NOT NULL AND length(correction) BETWEEN 1 AND 20000)"
            " OR (kind <> 'correction' AND correction IS NULL)",
            name=op.f("ck_judgments_correction"),
        ),
        sa.CheckConstraint(
            "(kind = 'preference' AND generation_b_id IS NOT NULL AND generation_b_id <> generation_id)"
            " OR (kind <> 'preference' AND generation_b_id IS NULL)",
            name=op.f("ck_judgments_pair"),
        ),
        sa.CheckConstraint(
            "(kind IN ('rating', 'correction') AND verdict IN ('up', 'down'))"
            " OR (kind = 'preference' AND verdict IN ('a', 'b', 'tie'))",
            name=op.f("ck_judgments_verdict"),
        ),
        sa.CheckConstraint("kind IN ('rating', 'correction', 'preference')", name=op.f("ck_judgments_kind")),
        sa.CheckConstraint("status IN ('draft', 'submitted', 'discarded')", name=op.f("ck_judgments_status")),
        sa.CheckConstraint("length(note) BETWEEN 0 AND 20000", name=op.f("ck_judgments_note_length")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_judgments_version")),
        sa.ForeignKeyConstraint(["annotator_id"], ["annotators.id"], name=op.f("fk_judgments_annotator_id_annotators")),
        sa.ForeignKeyConstraint(
            ["generation_b_id"], ["generations.id"], name=op.f("fk_judgments_generation_b_id_generations")
        ),
        sa.ForeignKeyConstraint(
            ["generation_id"], ["generations.id"], name=op.f("fk_judgments_generation_id_generations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judgments")),
    )
    op.create_index("ix_judgments_annotator_generation", "judgments", ["annotator_id", "generation_id"], unique=False)
    op.create_index(
        "ix_judgments_generation_b",
        "judgments",
        ["generation_b_id", "annotator_id"],
        unique=False,
        sqlite_where=sa.text("generation_b_id IS NOT NULL"),
        postgresql_where=sa.text("generation_b_id IS NOT NULL"),
    )
    op.create_index(
        "uq_judgments_live_pair",
        "judgments",
        ["annotator_id", "generation_id", "generation_b_id"],
        unique=True,
        sqlite_where=sa.text("generation_b_id IS NOT NULL AND status <> 'discarded'"),
        postgresql_where=sa.text("generation_b_id IS NOT NULL AND status <> 'discarded'"),
    )
    op.create_index(
        "uq_judgments_live_single",
        "judgments",
        ["annotator_id", "generation_id"],
        unique=True,
        sqlite_where=sa.text("generation_b_id IS NULL AND status <> 'discarded'"),
        postgresql_where=sa.text("generation_b_id IS NULL AND status <> 'discarded'"),
    )

    op.create_table(
        "probe_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("probe_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=8), nullable=False),
        sa.Column("target_logprob", sa.Double(), nullable=False),
        sa.Column("foil_logprob", sa.Double(), nullable=False),
        sa.Column("target_greedy", sa.Boolean(), nullable=True),
        sa.Column("continuation", sa.Text(), nullable=True),
        sa.CheckConstraint("phase IN ('before', 'after')", name=op.f("ck_probe_results_phase")),
        sa.ForeignKeyConstraint(["probe_id"], ["probes.id"], name=op.f("fk_probe_results_probe_id_probes")),
        sa.ForeignKeyConstraint(["run_id"], ["edit_runs.id"], name=op.f("fk_probe_results_run_id_edit_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probe_results")),
        sa.UniqueConstraint("run_id", "probe_id", "phase", name=op.f("uq_probe_results_run_id_probe_id_phase")),
    )
    op.create_index(op.f("ix_probe_results_probe_id"), "probe_results", ["probe_id"], unique=False)

    op.create_table(
        "judgment_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("judgment_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("correction", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["judgment_id"], ["judgments.id"], name=op.f("fk_judgment_history_judgment_id_judgments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judgment_history")),
        sa.UniqueConstraint("judgment_id", "version", name=op.f("uq_judgment_history_judgment_id_version")),
    )
    op.create_table(
        "judgment_tags",
        sa.Column("judgment_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.CheckConstraint("length(tag) BETWEEN 1 AND 64", name=op.f("ck_judgment_tags_tag_length")),
        sa.ForeignKeyConstraint(
            ["judgment_id"], ["judgments.id"], name=op.f("fk_judgment_tags_judgment_id_judgments"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("judgment_id", "tag", name=op.f("pk_judgment_tags")),
    )
    op.create_index("ix_judgment_tags_tag", "judgment_tags", ["tag", "judgment_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_judgment_tags_tag", table_name="judgment_tags")

    op.drop_table("judgment_tags")
    op.drop_table("judgment_history")
    op.drop_index(op.f("ix_probe_results_probe_id"), table_name="probe_results")

    op.drop_table("probe_results")
    op.drop_index("uq_judgments_live_single", table_name="judgments")
    op.drop_index("uq_judgments_live_pair", table_name="judgments")
    op.drop_index("ix_judgments_generation_b", table_name="judgments")
    op.drop_index("ix_judgments_annotator_generation", table_name="judgments")

    op.drop_table("judgments")
    op.drop_index("ix_prompt_tags_tag", table_name="prompt_tags")

    op.drop_table("prompt_tags")
    op.drop_table("probes")
    op.drop_index(op.f("ix_generations_model_version_id"), table_name="generations")

    op.drop_table("generations")
    op.drop_index(op.f("ix_edit_runs_base_version_id"), table_name="edit_runs")

    op.drop_table("edit_runs")
    op.drop_table("prompts")
    op.drop_table("probe_suites")
    op.drop_index(op.f("ix_model_versions_parent_id"), table_name="model_versions")

    op.drop_table("model_versions")
    op.drop_table("annotators")
