"""The store's exceptions: each names the bad value and what to do about it.

Library code raises these; only the CLI and the UI turn them into user-facing text.
Every one is a `StoreError`, and a `ValueError` where the caller passed something
the store cannot accept, so plain `except ValueError` callers keep working.
"""

from __future__ import annotations

from dataclasses import dataclass


class StoreError(Exception):
    """Anything the store refuses to do."""


class SchemaError(StoreError):
    """The database is missing or is at a different schema revision than this code."""


class DatabaseUnavailable(StoreError):
    """The database cannot be reached or stays locked; the message carries the driver's reason."""


class DatabaseDamaged(StoreError):
    """The SQLite file is damaged (truncated, overwritten) or is not a database at all."""


class InvalidInput(StoreError, ValueError):
    """A value the store cannot accept: empty or oversized text, an unknown kind or verdict."""


class NotFound(StoreError, LookupError):
    """A named thing (annotator, generation, judgment, run, suite, model version) is absent."""


class AlreadyExists(StoreError, ValueError):
    """A name that must be unique is taken."""


class DuplicateJudgment(AlreadyExists):
    """The annotator already has a live judgment on this item."""


class PermissionDenied(StoreError):
    """The annotator is disabled, or does not own the judgment they try to change."""


class VersionRejected(InvalidInput):
    """A rejected model version (its run failed its gates) was to be built on or promoted without accept_failed."""


class InvalidTransition(StoreError, ValueError):
    """An edit run cannot move from its current status to the one asked for."""


@dataclass(frozen=True)
class BadLine:
    """One rejected line of an input file: where it is and what is wrong with it."""

    line: int  # 1-based, as editors count
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class BadInputFile(StoreError, ValueError):
    """An import file has bad lines; nothing was written.

    `problems` lists every bad line with its number, so a user can fix them all at once.
    """

    MAX_SHOWN = 10  # a message with hundreds of lines helps nobody; the rest are counted

    def __init__(self, source: str, problems: list[BadLine]) -> None:
        self.source = source
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[: self.MAX_SHOWN])
        more = len(problems) - self.MAX_SHOWN
        tail = f"; and {more} more" if more > 0 else ""
        super().__init__(
            f"{source}: {len(problems)} bad line(s), nothing imported: {shown}{tail}. "
            "Fix them, or pass --skip-bad (skip_bad=True) to import the good lines only"
        )
