"""What the store accepts: the text limit, the allowed kinds and verdicts, and their checks.

The same limits are CHECK constraints in the schema (store/models.py); checking
here first turns a database error into a message that names the field and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from store.errors import InvalidInput

MAX_TEXT_CHARS = 20_000  # prompts, outputs, corrections, notes: ~5k tokens, far above any label task
MAX_TAG_CHARS = 64
MAX_NAME_CHARS = 64
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024  # scrypt takes any length; a cap keeps a request from being a DoS

ROLES = ("annotator", "admin")
KINDS = ("rating", "correction", "preference")
STATUSES = ("draft", "submitted", "discarded")
LIVE_STATUSES = ("draft", "submitted")  # a discarded judgment is history, not a live one
RATING_VERDICTS = ("up", "down")  # ratings and corrections
PREFERENCE_VERDICTS = ("a", "b", "tie")
PROBE_KINDS = ("edit", "paraphrase", "leak", "control")
PROBE_SPLITS = ("train", "val", "test")
RUN_STATUSES = ("queued", "running", "succeeded", "failed", "interrupted")
PHASES = ("before", "after")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")


def check_text(value: object, field: str, *, max_chars: int = MAX_TEXT_CHARS) -> str:
    """`value` as a non-blank string of at most `max_chars` characters, else InvalidInput."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidInput(f"{field} is empty; give a non-blank text")
    if len(value) > max_chars:
        raise InvalidInput(f"{field} has {len(value):,} characters, over the limit of {max_chars:,}; shorten it")
    return value


def check_note(value: object) -> str:
    """A note may be empty, but not oversized."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"note must be a string, got {type(value).__name__}")
    if len(value) > MAX_TEXT_CHARS:
        raise InvalidInput(f"note has {len(value):,} characters, over the limit of {MAX_TEXT_CHARS:,}; shorten it")
    return value


def check_choice(value: object, field: str, allowed: Iterable[str]) -> str:
    """`value` if it is one of `allowed`, else InvalidInput listing them."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise InvalidInput(f"{field} {value!r} is not one of {', '.join(allowed)}")
    return value  # type: ignore[return-value]


def check_tags(value: object) -> tuple[str, ...]:
    """Tags as a sorted tuple without duplicates; each a short non-blank string."""
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInput(f"tags must be a list of strings, got {value!r}")
    tags = set()
    for tag in value:
        if not isinstance(tag, str) or not tag.strip():
            raise InvalidInput(f"tag {tag!r} must be a non-blank string")
        if len(tag) > MAX_TAG_CHARS or tag != tag.strip():
            raise InvalidInput(f"tag {tag!r} must have no surrounding spaces and at most {MAX_TAG_CHARS} characters")
        tags.add(tag)
    return tuple(sorted(tags))


def check_name(value: object) -> str:
    """An annotator name: letters, digits and `_.@-`, starting with a letter or digit."""
    if not isinstance(value, str) or not _NAME_RE.match(value) or len(value) > MAX_NAME_CHARS:
        raise InvalidInput(
            f"annotator name {value!r} must be 1-{MAX_NAME_CHARS} letters, digits or _.@- "
            "(starting with a letter or digit)"
        )
    return value


def check_verdict(kind: str, verdict: object) -> str:
    """The verdicts a kind allows: up/down for ratings and corrections, a/b/tie for preferences."""
    allowed = PREFERENCE_VERDICTS if kind == "preference" else RATING_VERDICTS
    return check_choice(verdict, f"verdict for a {kind}", allowed)
