"""the paths the store keeps become relative to the workspace

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08

Adapter paths (`model_versions.adapter_path`) and report paths (`edit_runs.metrics["report"]`) that
lie under the workspace the database belongs to are rewritten relative to it, so the workspace can be
copied or moved. That workspace is the folder of the SQLite database file, or, for a database server,
$NUDGE_HOME (else ./.nudge) when the migration runs. A path outside it stays absolute, and the store
reads it as it is. Downgrading makes the relative paths absolute under the same folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op

from store.workspace import nudge_home

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

versions = sa.table("model_versions", sa.column("id", sa.Integer()), sa.column("adapter_path", sa.Text()))
runs = sa.table("edit_runs", sa.column("id", sa.Integer()), sa.column("metrics", sa.JSON()))
REPORT = "report"


def workspace() -> Path:
    url = op.get_bind().engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).expanduser().resolve().parent
    return nudge_home()


def relative(path: str, home: Path) -> str:
    """An absolute `path` under `home` relative to it; any other path as it is."""
    if not os.path.isabs(path):
        return path
    for candidate in (Path(os.path.normpath(path)), Path(path).resolve()):
        if candidate.is_relative_to(home):
            return candidate.relative_to(home).as_posix()
    return path


def absolute(path: str, home: Path) -> str:
    """A relative `path` under `home`; an absolute one as it is."""
    return path if os.path.isabs(path) else str(home / path)


def rewrite(change: Callable[[str, Path], str]) -> None:
    """Apply `change` to every adapter path and report path the store keeps."""
    bind, home = op.get_bind(), workspace()
    for version_id, path in bind.execute(sa.select(versions.c.id, versions.c.adapter_path)).all():
        if path is not None and change(path, home) != path:
            bind.execute(versions.update().where(versions.c.id == version_id).values(adapter_path=change(path, home)))
    for run_id, metrics in bind.execute(sa.select(runs.c.id, runs.c.metrics)).all():
        report: Any = metrics.get(REPORT) if isinstance(metrics, dict) else None
        if isinstance(report, str) and change(report, home) != report:
            changed = {**metrics, REPORT: change(report, home)}
            bind.execute(runs.update().where(runs.c.id == run_id).values(metrics=changed))


def upgrade() -> None:
    rewrite(relative)


def downgrade() -> None:
    rewrite(absolute)
