"""Dependencies point one way (feedback_ui -> editing -> store), checked by import-linter's contracts.

The contracts live in pyproject.toml under [tool.importlinter]; `make test` runs
them too. A violation names the importing module and line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([lint_imports, "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
