"""What can go wrong at nudge's library edge: one error type per meaning, each with its exit code.

Library code raises these (or subclasses named for where they come from, such as
`SpecError`); the `nudge` command turns them into one line of text and exits with
the error's `exit_code`, so scripts and CI can tell a bad spec from a failed run
from an edit that missed its gates. `EXIT_CODES` is the one table of those codes.
"""

from __future__ import annotations

from typing import ClassVar

EXIT_PASSED = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_GATE_FAILED = 3

EXIT_CODES: dict[int, str] = {
    EXIT_PASSED: "the verdict passed: every gate passed, no gate was set, or (without `--strict`) a gate was "
    "uncertain or a test probe is in the training data (both shown as UNCERTAIN)",
    EXIT_GATE_FAILED: "the verdict did not pass: a gate failed, or (with `--strict`) a gate was uncertain or a "
    "test probe is in the training data",
    EXIT_BAD_INPUT: "bad input: the spec, a suite, a feedback file, a model reference, no usable judgments, "
    "the database named by the workspace",
    EXIT_RUN_FAILED: "the run failed (diverged, out of memory, unusable module names); recorded with its reason",
}


class NudgeError(Exception):
    """Anything nudge's library refuses or fails to do; the message names the bad value and the fix."""

    exit_code: ClassVar[int] = EXIT_RUN_FAILED


class BadInput(NudgeError, ValueError):
    """The caller gave something nudge cannot use: a spec, a suite, a feedback file, a model reference.

    A `ValueError` too, so callers that guard a call with `except ValueError` keep working.
    """

    exit_code: ClassVar[int] = EXIT_BAD_INPUT


class RunFailed(NudgeError, RuntimeError):
    """The input was usable but the work did not produce a result: training diverged, a build missed its bar."""

    exit_code: ClassVar[int] = EXIT_RUN_FAILED
