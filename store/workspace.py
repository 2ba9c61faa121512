"""Where a nudge workspace lives: $NUDGE_HOME, else ./.nudge.

The store owns this rule because the workspace folder holds its database
(`nudge.db`, unless $NUDGE_DB names a server); `editing/` reads the same rule
for its models, adapters and reports, and the dependency points one way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def nudge_home() -> Path:
    """The workspace folder; like a git repo, one per project."""
    return Path(os.environ.get("NUDGE_HOME", ".nudge")).expanduser().resolve()


@contextmanager
def using_workspace(home: Path) -> Iterator[Path]:
    """Point the process at `home` (its own SQLite file, never $NUDGE_DB) for a while; restore the environment after."""
    saved = {key: os.environ.get(key) for key in ("NUDGE_HOME", "NUDGE_DB")}
    os.environ["NUDGE_HOME"] = str(home)
    os.environ.pop("NUDGE_DB", None)
    try:
        yield home
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
