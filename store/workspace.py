"""Where a nudge workspace lives: $NUDGE_HOME, else ./.nudge.

The store owns this rule because the workspace folder holds its database
(`nudge.db`, unless $NUDGE_DB names a server); `editing/` reads the same rule
for its models, adapters and reports, and the dependency points one way.
"""

from __future__ import annotations

import os
from pathlib import Path


def nudge_home() -> Path:
    """The workspace folder; like a git repo, one per project."""
    return Path(os.environ.get("NUDGE_HOME", ".nudge")).expanduser().resolve()
