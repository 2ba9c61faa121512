"""No warning or progress bar from a dependency reaches the user's terminal, and none is silenced for good."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

from transformers.utils import logging as hf_logging

from editing.quiet import quiet_dependencies
from tests.conftest import demo_workspace

EXAMPLES = Path(__file__).parent.parent / "examples"
DEPENDENCY_WARNING = re.compile(r"(transformers|peft|torch|accelerate)\S*:\d+: \w*Warning")


def test_apply_prints_no_dependency_warning(tmp_path: Path, toyworld_dir: Path) -> None:
    with demo_workspace(tmp_path, toyworld_dir) as home:
        env = {**os.environ, "NUDGE_HOME": str(home), "PYTHONWARNINGS": "default"}  # as a user's shell shows them
        result = subprocess.run(
            [sys.executable, "-m", "editing.cli", "apply", str(EXAMPLES / "dog-cat-swap.yaml")],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict: PASS" in result.stdout
    assert not DEPENDENCY_WARNING.search(result.stderr), result.stderr
    assert "Warning" not in result.stderr and "Loading weights" not in result.stderr, result.stderr


def test_quiet_filters_only_inside_and_restores_after() -> None:
    def deprecated_in_transformers() -> None:
        warnings.warn_explicit("old", FutureWarning, "modeling_utils.py", 1, module="transformers.modeling_utils")

    bars_before, verbosity_before = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_dependencies(), quiet_dependencies():  # nested, as a CLI command around library calls
            deprecated_in_transformers()
            warnings.warn("nudge's own", UserWarning, stacklevel=1)
            assert not hf_logging.is_progress_bar_enabled()
        deprecated_in_transformers()
    assert [str(w.message) for w in caught] == ["nudge's own", "old"]
    assert hf_logging.is_progress_bar_enabled() == bars_before
    assert hf_logging.get_verbosity() == verbosity_before
