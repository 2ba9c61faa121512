"""Adapter folders that no finished run owns, left behind when a run was killed.

A run stages its adapter in `adapters/.N-*` and renames it to `adapters/N`; the version is
registered only when the run finishes. A kill can leave the staging folder, or a complete
`adapters/N` that was never registered. Once run N is known dead (failed or interrupted),
both are removed. Folders of runs this store does not know are left alone: they may belong
to another store that shares the workspace.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from store import Store
from store.workspace import nudge_home

_ADAPTER_FOLDER = re.compile(r"(?P<staging>\.)?(?P<run>\d+)(?(staging)-.*|)")
DEAD_STATUSES = ("failed", "interrupted")


def remove_orphan_adapters(store: Store, adapters: Path | None = None) -> list[Path]:
    """Mark dead runs `interrupted`, then remove the adapter folders of dead runs; return what was removed."""
    folder = adapters if adapters is not None else nudge_home() / "adapters"
    runs = {run.id: run for run in store.runs()}  # reading the runs interrupts the dead ones
    if not folder.is_dir():
        return []
    removed = []
    for entry in sorted(folder.iterdir()):
        match = _ADAPTER_FOLDER.fullmatch(entry.name)
        if match is None:
            continue
        run = runs.get(int(match["run"]))
        if run is None or entry.is_symlink() or not entry.is_dir():
            continue
        if run.status in DEAD_STATUSES and (match["staging"] or run.result_version_id is None):
            shutil.rmtree(entry)
            removed.append(entry)
    return removed
