"""One exit-code table: the docs say what `editing.errors.EXIT_CODES` says, and each error knows its row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from editing.errors import EXIT_BAD_INPUT, EXIT_CODES, EXIT_RUN_FAILED
from editing.lora import EditError
from editing.models import ModelLoadError
from editing.probes import ProbeSuiteError
from editing.runs import RunInputError
from editing.spec import SpecError
from editing.toyworld.build import ToyWorldBuildError
from editing.training_data import FeedbackError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "editing.md"


def test_the_docs_table_is_the_code_table() -> None:
    section = DOCS.read_text(encoding="utf-8").split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = {int(code): meaning for code, meaning in re.findall(r"^\| (\d) \| (.+) \|$", section, re.MULTILINE)}
    assert rows == EXIT_CODES


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (SpecError, EXIT_BAD_INPUT),
        (RunInputError, EXIT_BAD_INPUT),
        (ModelLoadError, EXIT_BAD_INPUT),
        (ProbeSuiteError, EXIT_BAD_INPUT),
        (FeedbackError, EXIT_BAD_INPUT),
        (EditError, EXIT_RUN_FAILED),
        (ToyWorldBuildError, EXIT_RUN_FAILED),
    ],
)
def test_each_library_error_carries_its_exit_code(error: type[Exception], code: int) -> None:
    assert error("x").exit_code == code
    assert isinstance(error("x"), ValueError) == (code == EXIT_BAD_INPUT)  # old `except ValueError` callers
