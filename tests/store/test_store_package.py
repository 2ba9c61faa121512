"""The store stands alone: no model libraries, and only the workspace helper from editing/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

STORE = Path(__file__).resolve().parents[2] / "store"
REPO = STORE.parent


def test_importing_the_store_loads_no_model_libraries() -> None:
    code = (
        "import sys, store; "
        "print([m for m in ('torch', 'transformers', 'peft', 'editing.models', 'editing.cli') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_store_imports_nothing_from_editing_but_the_workspace() -> None:
    for path in STORE.rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.match(r"\s*(from|import)\s+editing\b", line):
                assert line.strip() == "from editing.workspace import nudge_home", f"{path}: {line}"


def test_postgres_tests_fail_rather_than_skip_under_ci_without_a_server() -> None:
    env = {k: v for k, v in os.environ.items() if k != "NUDGE_TEST_PG"} | {"CI": "true"}
    test = "tests/store/test_store_migrations.py::test_init_is_idempotent_and_keeps_data[postgres]"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0, result.stdout
    assert "CI=true but NUDGE_TEST_PG is unset" in result.stdout
