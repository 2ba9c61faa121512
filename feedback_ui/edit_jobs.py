"""Edits launched from the app: one background worker process at a time per workspace.

Files under `<workspace>/edits/`:
  lock                    who holds the workspace's edit slot: {"pid", "job", "launched_by"}
  latest                  the id of the newest job, for the progress bar
  <job>/spec.yaml         the spec text as launched
  <job>/progress.json     written by the worker (feedback_ui.worker): state, phase, step, run id
  <job>/worker.log        the worker's output, for when it fails

The lock is taken with an exclusive create; a lock whose process is gone is stale and is
taken over, so a worker killed mid-edit never blocks the next one. Its run row is then
marked `interrupted` by `Store.interrupt_stale_runs`, which every progress read calls.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store import Store
from store.runs import process_alive

FINAL_STATES = ("succeeded", "failed", "interrupted")
CANCEL_FILE = "cancel"  # in a job's folder: Cancel was pressed (a worker still starting reads it, feedback_ui.worker)


class EditBusy(RuntimeError):
    """The workspace's edit slot is taken; the message says by whom and what to do."""


@dataclass
class EditProgress:
    """What the progress bar shows; `state` is idle, starting, running or one of FINAL_STATES."""

    state: str = "idle"
    job: str = ""
    phase: str = ""
    step: int = 0
    steps: int = 0
    run_id: int | None = None
    error: str = ""
    launched_by: str = ""
    losses: dict[str, float] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES


def read_json(path: Path) -> dict[str, Any] | None:
    """A small JSON file, or None if it is absent or half-written."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace `path` atomically, so a reader never sees half a file."""
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    staging.write_text(json.dumps(data), encoding="utf-8")
    staging.replace(path)


class EditJobs:
    """Launch, cancel and watch the workspace's edit worker. One instance per app process."""

    def __init__(self, home: Path, store: Store) -> None:
        self.folder = Path(home) / "edits"
        self.home = Path(home)
        self.store = store
        self._launching = threading.Lock()  # serialises launches within this process

    @property
    def lock_path(self) -> Path:
        return self.folder / "lock"

    def holder(self) -> dict[str, Any] | None:
        """The lock's content when a live process holds it, else None."""
        lock = read_json(self.lock_path)
        if lock is None or not isinstance(lock.get("pid"), int) or not process_alive(lock["pid"]):
            return None
        return lock

    def _take_lock(self, job: str, launched_by: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        busy = self.holder()
        if busy is not None:
            raise EditBusy(
                f"an edit is already running in this workspace (job {busy.get('job')}, launched by "
                f"{busy.get('launched_by')}); wait for it to finish or cancel it first"
            )
        self.store.interrupt_stale_runs()
        running = [r for r in self.store.runs(limit=20) if r.status in ("queued", "running")]
        if running:
            run = running[0]
            raise EditBusy(
                f"edit run {run.id} is {run.status} (process {run.pid} on {run.host}); "
                "one edit at a time per workspace: wait for it to finish"
            )
        self.lock_path.unlink(missing_ok=True)  # stale: its process is gone
        try:
            descriptor = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError as error:
            raise EditBusy("another edit was launched at the same moment; look at its progress") from error
        with os.fdopen(descriptor, "w") as lock:
            json.dump({"pid": os.getpid(), "job": job, "launched_by": launched_by}, lock)

    def launch(self, spec_text: str, base: Path, launched_by: str) -> str:
        """Start a worker on `spec_text` (relative paths from `base`); return the job id. EditBusy if taken."""
        job = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        with self._launching:
            self._take_lock(job, launched_by)
            folder = self.folder / job
            folder.mkdir()
            (folder / "spec.yaml").write_text(spec_text, encoding="utf-8")
            write_json(folder / "progress.json", {"state": "starting", "job": job, "launched_by": launched_by})
            url = self.store.url.render_as_string(hide_password=False)
            command = [sys.executable, "-m", "feedback_ui.worker", str(folder / "spec.yaml"), "--base", str(base)]
            command += ["--progress", str(folder / "progress.json"), "--lock", str(self.lock_path), "--db", url]
            with open(folder / "worker.log", "wb") as log:
                process = subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "NUDGE_HOME": str(self.home), "NUDGE_DB": url},
                    start_new_session=True,  # a Ctrl-C in the app's terminal does not reach the worker
                )
            write_json(self.lock_path, {"pid": process.pid, "job": job, "launched_by": launched_by})
            (self.folder / "latest").write_text(job, encoding="utf-8")
            threading.Thread(target=process.wait, daemon=True).start()  # reap it, so its pid dies with it
        return job

    def cancel(self) -> str:
        """Ask the running worker to stop (the run ends `interrupted`); returns the job id."""
        holder = self.holder()
        if holder is None:
            raise EditBusy("no edit is running in this workspace; there is nothing to cancel")
        job = str(holder.get("job"))
        # written first: a worker still starting up (its signal handlers not yet in, SIGINT ignored when the app
        # runs in the background) would lose the signal, and reads this file once its handlers are in
        (self.folder / job / CANCEL_FILE).touch()
        os.kill(holder["pid"], signal.SIGINT)
        return job

    def progress(self) -> EditProgress:
        """The newest job's progress; a worker that died without a word reads as `interrupted`."""
        try:
            job = (self.folder / "latest").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return EditProgress()
        data = read_json(self.folder / job / "progress.json") or {"state": "starting"}
        progress = EditProgress(
            state=str(data.get("state", "starting")),
            job=job,
            phase=str(data.get("phase", "")),
            step=int(data.get("step", 0)),
            steps=int(data.get("steps", 0)),
            run_id=data.get("run_id"),
            error=str(data.get("error", "")),
            launched_by=str(data.get("launched_by", "")),
            losses=dict(data.get("losses", {})),
        )
        if not progress.finished and self.holder() is None:
            self.store.interrupt_stale_runs()
            if progress.run_id is not None:
                run = self.store.run(progress.run_id)
                progress.state, progress.error = run.status, run.error or ""
            else:
                progress.state = "interrupted"
                progress.error = "the worker ended before its run started; see edits/" + job + "/worker.log"
        return progress
