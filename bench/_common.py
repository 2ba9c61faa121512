"""Shared set-up for the benchmarks: a toy-world workspace and small timing helpers."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from editing.toyworld.build import build_toyworld
from editing.workspace import TOYWORLD_MODEL_NAME


def toy_workspace(home: Path) -> Path:
    """Point NUDGE_HOME at `home`, with the toy model built (or linked from $NUDGE_TOYWORLD)."""
    home.mkdir(parents=True, exist_ok=True)
    os.environ["NUDGE_HOME"] = str(home)
    os.environ.pop("NUDGE_DB", None)
    target = home / "models" / TOYWORLD_MODEL_NAME
    prebuilt = os.environ.get("NUDGE_TOYWORLD")
    if not target.exists():
        if prebuilt:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(Path(prebuilt).resolve(), target_is_directory=True)
        else:
            build_toyworld(target)
    return target


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of `repeats` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def machine_line() -> str:
    """Where a table was measured: cores, torch, the device, the load and the date."""
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, torch {torch.__version__}, {device}, load average {load}, {time.strftime('%Y-%m-%d')}"
    )
