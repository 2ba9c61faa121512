"""Edit runs: their record (spec, hashes, seed), their status over time, and dead-run detection.

A live run's owner is known by host and pid, and it renews a heartbeat while it runs. A
reader on the same host sees a run whose process is gone as `interrupted` at once; a
reader on another host when the heartbeat is older than STALE_AFTER_SECONDS.

A run's adapter and its report (`metrics["report"]`) are files in the workspace: the store keeps
their paths relative to it and hands them back resolved against it (store.paths).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import models as m
from store.catalog import load_version
from store.db import StoreBase
from store.errors import InvalidInput, InvalidTransition, NotFound
from store.paths import kept_path, resolved_path
from store.records import EditRun, ModelVersion
from store.validation import RUN_STATUSES, check_choice, check_text
from store.versions import accept_if_allowed, new_standing

HEARTBEAT_SECONDS = 15  # how often a live run's owner renews its heartbeat
STALE_AFTER_SECONDS = 120  # a run on another host with no sign of life for this long is dead
LIVE_STATUSES = ("queued", "running")
REPORT = "report"  # the metrics key naming the run's report.json, a path in the workspace

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


def kept_metrics(metrics: Mapping[str, Any], workspace: Path) -> dict[str, Any]:
    """`metrics` as stored: JSON, with the report's path relative to the workspace (InvalidInput outside it)."""
    kept = as_json(metrics, "metrics")
    if isinstance(kept.get(REPORT), str):
        kept[REPORT] = kept_path(check_text(kept[REPORT], "report path"), workspace, "report path")
    return kept


def resolved_metrics(metrics: dict[str, Any] | None, workspace: Path) -> dict[str, Any] | None:
    """Stored metrics with the report's path resolved against the workspace."""
    if metrics is None or not isinstance(metrics.get(REPORT), str):
        return metrics
    return {**metrics, REPORT: resolved_path(metrics[REPORT], workspace)}


def run_record(row: m.EditRun, workspace: Path) -> EditRun:
    return EditRun(
        id=row.id,
        name=row.name,
        spec=row.spec,
        spec_hash=row.spec_hash,
        data_hash=row.data_hash,
        seed=row.seed,
        status=row.status,
        error=row.error,
        metrics=resolved_metrics(row.metrics, workspace),
        base_version_id=row.base_version_id,
        result_version_id=row.result_version_id,
        host=row.host,
        pid=row.pid,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        heartbeat_at=row.heartbeat_at,
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


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def death_of(row: m.EditRun, host: str, now: datetime) -> str | None:
    """Why a queued or running run is dead, or None while its owner may still be at work."""
    if row.host == host:
        if row.pid == os.getpid() or process_alive(row.pid):
            return None
        return f"process {row.pid} on {host} ended while the run was {row.status}"
    last = max(_as_utc(t) for t in (row.created_at, row.started_at, row.heartbeat_at) if t is not None)
    if now - last < timedelta(seconds=STALE_AFTER_SECONDS):
        return None
    return f"no heartbeat from process {row.pid} on {row.host} since {last:%Y-%m-%d %H:%M:%S} UTC"


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
        kept = None if metrics is None else kept_metrics(metrics, self.workspace)
        with self._write() as session:
            row = find_run(session, run_id)
            if status not in TRANSITIONS[row.status]:
                raise InvalidTransition(f"run {run_id} is {row.status}; it cannot become {status}")
            now = m.utcnow()
            row.status = status
            if status == "running":
                row.started_at, row.heartbeat_at = now, now
                row.host, row.pid = socket.gethostname(), os.getpid()
            else:
                row.finished_at = now
            if error is not None:
                row.error = error
            if kept is not None:
                row.metrics = kept
            if result_version is not None:
                if session.get(m.ModelVersion, result_version) is None:
                    raise NotFound(f"no model version {result_version}")
                maker = session.scalar(select(m.EditRun.id).where(m.EditRun.result_version_id == result_version))
                if maker not in (None, run_id):
                    raise InvalidInput(f"model version {result_version} was produced by run {maker}, not run {run_id}")
                row.result_version_id = result_version
            session.flush()
            return run_record(row, self.workspace)

    def beat(self, run_id: int) -> None:
        """Renew a live run's heartbeat (its owner calls this every HEARTBEAT_SECONDS)."""
        with self._write() as session:
            row = find_run(session, run_id)
            if row.status in LIVE_STATUSES:
                row.heartbeat_at = m.utcnow()

    def finish_run(
        self,
        run_id: int,
        parent_id: int,
        adapter_path: str,
        adapter_sha256: str,
        metrics: Mapping[str, Any],
        *,
        passed: bool,
        accept_failed: bool = False,
    ) -> ModelVersion:
        """Register the run's adapter as a new version and mark the run succeeded, in one transaction.

        So an adapter is never registered for a run that did not finish, and a finished run
        always has its version. `succeeded` says the run ran to the end; whether the edit
        is good is its verdict (`passed`): a failed one makes a rejected version, unless
        `accept_failed`. A rejected parent is refused unless `accept_failed`, which accepts it.
        """
        if len(adapter_sha256) != 64 or any(c not in "0123456789abcdef" for c in adapter_sha256):
            raise InvalidInput(f"adapter_sha256 {adapter_sha256!r} must be 64 lowercase hex digits")
        check_text(adapter_path, "adapter path")
        kept_adapter = kept_path(adapter_path, self.workspace, "adapter path")
        kept = kept_metrics(metrics, self.workspace)
        with self._write() as session:
            row = find_run(session, run_id)
            if row.status != "running":
                raise InvalidTransition(f"run {run_id} is {row.status}; only a running run can finish")
            accept_if_allowed(session, parent_id, accept_failed, "build on")
            standing, accepted_failed = new_standing(passed, accept_failed)
            version = m.ModelVersion(
                parent_id=parent_id,
                adapter_path=kept_adapter,
                adapter_sha256=adapter_sha256,
                standing=standing,
                accepted_failed=accepted_failed,
            )
            session.add(version)
            session.flush()
            row.status, row.finished_at = "succeeded", m.utcnow()
            row.metrics = kept
            row.result_version_id = version.id
            session.flush()
            return load_version(session, version.id)

    def run(self, run_id: int) -> EditRun:
        """One run by id; NotFound if absent. A dead run reads as `interrupted`."""
        self.interrupt_stale_runs()
        with self._read() as session:
            row = session.get(m.EditRun, run_id)
            if row is None:
                raise NotFound(f"no edit run {run_id}; `nudge runs list` shows the runs")
            return run_record(row, self.workspace)

    def runs(self, limit: int | None = None) -> list[EditRun]:
        """Runs, newest first. Dead runs read as `interrupted`."""
        self.interrupt_stale_runs()
        with self._read() as session:
            rows = session.scalars(select(m.EditRun).order_by(m.EditRun.id.desc()).limit(limit))
            return [run_record(r, self.workspace) for r in rows]

    def interrupt_stale_runs(self) -> list[int]:
        """Mark `queued`/`running` runs whose owner is dead as `interrupted`; return their ids.

        On this host the owner's pid tells; for a run on another host, a heartbeat older
        than STALE_AFTER_SECONDS. Every read of runs calls this, so nobody sees a dead run live.
        """
        host, now = socket.gethostname(), m.utcnow()
        with self._read() as session:  # the common case, nothing live, takes no write lock
            live = session.scalar(select(m.EditRun.id).where(m.EditRun.status.in_(LIVE_STATUSES)).limit(1))
        if live is None:
            return []
        with self._write() as session:
            rows = session.scalars(select(m.EditRun).where(m.EditRun.status.in_(LIVE_STATUSES)).with_for_update())
            dead = [(row, reason) for row in rows if (reason := death_of(row, host, now)) is not None]
            for row, reason in dead:
                row.error = row.error or reason
                row.status, row.finished_at = "interrupted", now
            return [row.id for row, _ in dead]
