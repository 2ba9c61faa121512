"""The background edit worker: `python -m feedback_ui.worker SPEC --base DIR --progress FILE --lock FILE --db URL`.

The app starts it (feedback_ui.edit_jobs) so a long edit never blocks a request. It plans
and executes the run as `nudge apply` does and writes its phase and step to the progress
file. SIGINT or SIGTERM cancels it (or a `cancel` file in the job's folder, written before the
signal, for a cancel that came while the worker was starting): the run ends `interrupted` and no adapter appears; once
the adapter is being saved the run is allowed to finish, so a late cancel never leaves an
adapter behind an interrupted run.
"""

from __future__ import annotations

import argparse
import os
import signal
import traceback
from pathlib import Path
from typing import Any

from editing.runs import RunCallbacks, RunInputError, execute_run, plan_run
from editing.spec import SpecError
from editing.spec_reader import spec_from_yaml
from feedback_ui.edit_jobs import CANCEL_FILE, read_json, write_json
from store import Store, StoreError

SAVING_PHASE = "saving the adapter and the report"


class Progress:
    """The progress file, rewritten atomically on each change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state: dict[str, Any] = read_json(path) or {}

    def update(self, **changes: Any) -> None:
        self.state |= changes
        write_json(self.path, self.state)


def _cancel(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _callbacks(store: Store, progress: Progress) -> RunCallbacks:
    def on_phase(phase: str) -> None:
        if progress.state.get("run_id") is None:
            mine = [r for r in store.runs(limit=20) if r.pid == os.getpid() and r.status == "running"]
            progress.state["run_id"] = mine[0].id if mine else None
        if phase == SAVING_PHASE:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        progress.update(state="running", phase=phase)

    def on_step(step: int, steps: int, losses: dict[str, float]) -> None:
        progress.update(step=step, steps=steps, losses={k: round(float(v), 5) for k, v in losses.items()})

    return RunCallbacks(on_phase=on_phase, on_step=on_step)


def run(spec_path: Path, base: Path, progress: Progress, db: str | None) -> int:
    """Plan and execute the edit; the exit code is `nudge apply`'s."""
    try:
        if (progress.path.parent / CANCEL_FILE).exists():  # cancelled before this worker could hear the signal
            raise KeyboardInterrupt
        store = Store.open(db)
        try:
            progress.update(state="starting", phase="planning the run")
            plan = plan_run(spec_from_yaml(spec_path.read_text(encoding="utf-8"), base), store)
            outcome = execute_run(plan, store, _callbacks(store, progress))
        finally:
            store.close()
    except KeyboardInterrupt:
        progress.update(state="interrupted", error="cancelled; no adapter was saved")
        return 130
    except (SpecError, RunInputError, StoreError) as error:
        progress.update(state="failed", error=str(error))
        return 2
    except Exception as error:
        traceback.print_exc()
        progress.update(state="failed", error=f"{type(error).__name__}: {error}")
        return 1
    progress.update(state="succeeded", run_id=outcome.run_id, verdict=outcome.report["verdict"]["status"])
    return outcome.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m feedback_ui.worker", description=__doc__)
    parser.add_argument("spec", type=Path, help="the spec file to run")
    parser.add_argument("--base", type=Path, required=True, help="folder that relative paths in the spec start from")
    parser.add_argument("--progress", type=Path, required=True, help="the JSON file to write progress to")
    parser.add_argument("--lock", type=Path, help="the workspace's edit lock, released when this worker ends")
    parser.add_argument("--db", help="the store's URL (default: $NUDGE_DB, else the workspace's SQLite file)")
    args = parser.parse_args(argv)
    # both, explicitly: Python installs its own SIGINT handler only when SIGINT is not ignored at start-up,
    # and an app started in the background (`nohup nudge ui &`) starts its workers with it ignored
    signal.signal(signal.SIGINT, _cancel)
    signal.signal(signal.SIGTERM, _cancel)
    try:
        return run(args.spec, args.base, Progress(args.progress), args.db)
    finally:
        lock = read_json(args.lock) if args.lock else None
        if lock is not None and lock.get("pid") == os.getpid():
            args.lock.unlink(missing_ok=True)


if __name__ == "__main__":
    raise SystemExit(main())
