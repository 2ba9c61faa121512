"""What the store accepts: the text limit, the allowed kinds and verdicts, and their checks.

The same limits are CHECK constraints in the schema (store/models.py); checking
here first turns a database error into a message that names the field and the fix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from store.errors import InvalidInput

MAX_TEXT_CHARS = 20_000  # prompts, outputs, corrections, notes: ~5k tokens, far above any label task
MAX_TAG_CHARS = 64
MAX_NAME_CHARS = 64
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024  # scrypt takes any length; a cap keeps a request from being a DoS
MAX_JSON_DEPTH = 8  # decoding settings are a flat object of generate() arguments; 8 leaves room

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
STANDINGS = ("accepted", "rejected")  # a version made by a run whose verdict failed is rejected
VERSION_MOVES = ("promote", "revert")  # how the current version came to be what it is

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")


def check_storable(value: str, field: str) -> str:
    """`value` if both backends can store it, else InvalidInput naming the character and where it is.

    PostgreSQL refuses NUL in text (SQLite keeps it), and a lone surrogate such as \\ud800
    (which JSON's \\u escapes can produce) is not Unicode at all: it cannot be encoded as UTF-8.
    """
    if "\x00" in value:
        raise InvalidInput(
            f"{field} has a NUL character (\\u0000) at position {value.index(chr(0))}; "
            "remove it (PostgreSQL cannot store it)"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidInput(
            f"{field} has a lone surrogate {value[error.start]!r} at position {error.start}, which is not "
            "Unicode text; fix the file's encoding or remove it"
        ) from None
    return value


def check_text(value: object, field: str, *, max_chars: int = MAX_TEXT_CHARS) -> str:
    """`value` as a non-blank, storable string of at most `max_chars` characters, else InvalidInput."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidInput(f"{field} is empty; give a non-blank text")
    if len(value) > max_chars:
        raise InvalidInput(f"{field} has {len(value):,} characters, over the limit of {max_chars:,}; shorten it")
    return check_storable(value, field)


def check_note(value: object) -> str:
    """A note may be empty, but not oversized."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"note must be a string, got {type(value).__name__}")
    if len(value) > MAX_TEXT_CHARS:
        raise InvalidInput(f"note has {len(value):,} characters, over the limit of {MAX_TEXT_CHARS:,}; shorten it")
    return check_storable(value, "note")


def check_choice(value: object, field: str, allowed: Iterable[str]) -> str:
    """`value` if it is one of `allowed`, else InvalidInput listing them."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise InvalidInput(f"{field} {value!r} is not one of {', '.join(allowed)}")
    return value


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
        tags.add(check_storable(tag, f"tag {tag!r}"))
    return tuple(sorted(tags))


def check_name(value: object) -> str:
    """An annotator name: letters, digits and `_.@-`, starting with a letter or digit."""
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value) or len(value) > MAX_NAME_CHARS:
        raise InvalidInput(
            f"annotator name {value!r} must be 1-{MAX_NAME_CHARS} letters, digits or _.@- "
            "(starting with a letter or digit)"
        )
    return value


def check_verdict(kind: str, verdict: object) -> str:
    """The verdicts a kind allows: up/down for ratings and corrections, a/b/tie for preferences."""
    allowed = PREFERENCE_VERDICTS if kind == "preference" else RATING_VERDICTS
    return check_choice(verdict, f"verdict for a {kind}", allowed)


def check_json(value: object, field: str, depth: int = 0) -> Any:
    """`value` if both backends store it as the same JSON: finite numbers, storable strings, shallow.

    Python's json reads NaN and Infinity, which are not JSON: PostgreSQL refuses them and an
    export would write them as invalid JSON, so they are refused here.
    """
    if depth > MAX_JSON_DEPTH:
        raise InvalidInput(f"{field} is nested deeper than {MAX_JSON_DEPTH} levels; flatten it")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{field} is {value}, which JSON cannot hold; give a finite number")
    if isinstance(value, str):
        return check_storable(value, field)
    if isinstance(value, list):
        return [check_json(item, f"{field}[{index}]", depth + 1) for index, item in enumerate(value)]
    if isinstance(value, dict):
        for key, item in value.items():
            check_json(item, f"{field}.{check_storable(str(key), f'a key of {field}')}", depth + 1)
        return value
    if value is None or isinstance(value, (bool, int, float)):
        return value
    raise InvalidInput(
        f"{field} holds a {type(value).__name__}, which is not JSON; give numbers, text, lists or objects"
    )


def check_decoding(value: object) -> dict[str, Any] | None:
    """Decoding settings: None, or a JSON object that both backends store alike (see `check_json`)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(f"decoding must be an object like {{'strategy': 'greedy'}}, got {value!r}")
    return check_json(value, "decoding")
