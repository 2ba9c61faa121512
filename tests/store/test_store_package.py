"""The store stands alone: importing it loads no model library (tests/test_layering.py: nor editing/)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_importing_the_store_loads_no_model_libraries() -> None:
    code = (
        "import sys, store; "
        "print([m for m in ('torch', 'transformers', 'peft', 'editing.models', 'editing.cli') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


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
