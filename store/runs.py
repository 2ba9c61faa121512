"""Edit runs: their record (spec, hashes, seed), their status over time, and stale-run cleanup."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import models as m
from store.db import StoreBase
from store.errors import InvalidInput, InvalidTransition, NotFound
from store.records import EditRun
from store.validation import RUN_STATUSES, check_choice

# Which status may follow which; succeeded, failed and interrupted are final.
TRANSITIONS = {
    "queued": ("running", "failed", "interrupted"),
    "running": ("succeeded", "failed", "interrupted"),
    "succeeded": (),
    "failed": (),
    "interrupted": (),
}


def as_json(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    """`value` as a plain JSON object, or InvalidInput naming what cannot be stored."""
    try:
        return json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"{what} must be JSON (str, number, bool, list, dict; no NaN): {error}") from error


def run_record(row: m.EditRun) -> EditRun:
    return EditRun(
        id=row.id,
        name=row.name,
        spec=row.spec,
        spec_hash=row.spec_hash,
        data_hash=row.data_hash,
        seed=row.seed,
        status=row.status,
        error=row.error,
        metrics=row.metrics,
        base_version_id=row.base_version_id,
        result_version_id=row.result_version_id,
        host=row.host,
        pid=row.pid,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def find_run(session: Session, run_id: int) -> m.EditRun:
    row = session.scalar(select(m.EditRun).where(m.EditRun.id == run_id).with_for_update())
    if row is None:
        raise NotFound(f"no edit run {run_id}; `nudge runs list` shows the runs")
    return row


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


class Runs(StoreBase):
    def create_run(
        self,
        spec: Mapping[str, Any],
        spec_hash: str,
        data_hash: str,
        seed: int,
        *,
        name: str | None = None,
        base_version_id: int | None = None,
    ) -> int:
        """Record a new run as `queued`, owned by this process; return its id."""
        if not spec_hash or not data_hash:
            raise InvalidInput("spec_hash and data_hash must be non-empty; hash the spec and the training data")
        with self._write() as session:
            if base_version_id is not None and session.get(m.ModelVersion, base_version_id) is None:
                raise NotFound(f"no model version {base_version_id}")
            row = m.EditRun(
                name=name,
                spec=as_json(spec, "spec"),
                spec_hash=spec_hash,
                data_hash=data_hash,
                seed=int(seed),
                status="queued",
                base_version_id=base_version_id,
                host=socket.gethostname(),
                pid=os.getpid(),
            )
            session.add(row)
            session.flush()
            return row.id

    def mark_run(
        self,
        run_id: int,
        status: str,
        *,
        error: str | None = None,
        metrics: Mapping[str, Any] | None = None,
        result_version: int | None = None,
    ) -> EditRun:
        """Move a run to `status` (queued -> running -> succeeded | failed | interrupted).

        `running` stamps the start time and this process as the owner; the final statuses
        stamp the finish time. `metrics` replaces the stored metrics; `result_version` is
        the model version the run produced.
        """
        check_choice(status, "status", RUN_STATUSES)
        with self._write() as session:
            row = find_run(session, run_id)
            if status not in TRANSITIONS[row.status]:
                raise InvalidTransition(f"run {run_id} is {row.status}; it cannot become {status}")
            now = m.utcnow()
            row.status = status
            if status == "running":
                row.started_at, row.host, row.pid = now, socket.gethostname(), os.getpid()
            else:
                row.finished_at = now
            if error is not None:
                row.error = error
            if metrics is not None:
                row.metrics = as_json(metrics, "metrics")
            if result_version is not None:
                if session.get(m.ModelVersion, result_version) is None:
                    raise NotFound(f"no model version {result_version}")
                maker = session.scalar(select(m.EditRun.id).where(m.EditRun.result_version_id == result_version))
                if maker not in (None, run_id):
                    raise InvalidInput(f"model version {result_version} was produced by run {maker}, not run {run_id}")
                row.result_version_id = result_version
            session.flush()
            return run_record(row)

    def run(self, run_id: int) -> EditRun:
        """One run by id; NotFound if absent."""
        with self._read() as session:
            row = session.get(m.EditRun, run_id)
            if row is None:
                raise NotFound(f"no edit run {run_id}; `nudge runs list` shows the runs")
            return run_record(row)

    def runs(self, limit: int | None = None) -> list[EditRun]:
        """Runs, newest first."""
        with self._read() as session:
            rows = session.scalars(select(m.EditRun).order_by(m.EditRun.id.desc()).limit(limit))
            return [run_record(r) for r in rows]

    def interrupt_stale_runs(self) -> list[int]:
        """Mark `queued`/`running` runs whose process on this host is gone as `interrupted`.

        Runs owned by other hosts are left alone: from here nobody can tell whether they live.
        Call it when a process that runs edits starts.
        """
        host = socket.gethostname()
        with self._write() as session:
            rows = session.scalars(
                select(m.EditRun).where(m.EditRun.status.in_(("queued", "running")), m.EditRun.host == host)
            )
            stale = [r for r in rows if r.pid != os.getpid() and not process_alive(r.pid)]
            now = m.utcnow()
            for row in stale:
                row.error = row.error or f"process {row.pid} on {host} ended while the run was {row.status}"
                row.status, row.finished_at = "interrupted", now
            return [r.id for r in stale]
