"""Which format a decoded file looks like, from the keys of its first record: a file given under
the wrong format is refused with the format it looks like, before any record is misread."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from editing.field_formats.records import WrongFieldFormat

FORMAT_TITLES: dict[str, str] = {
    "counterfact": "CounterFact",
    "zsre": "zsRE",
    "mquake": "MQuAKE",
    "knowedit": "KnowEdit",
    "easyedit": "EasyEdit's edit requests",
}
NUDGE_SUITE = "a nudge probe suite"  # not a field format: it is used as it is, with no import

# (format, what gives it away, test on the first record); the first that matches names the file
_RECORD_SIGNS: tuple[tuple[str, str, Callable[[Mapping[str, object]], bool]], ...] = (
    (
        "counterfact",
        "requested_rewrite is one object",
        lambda r: isinstance(r.get("requested_rewrite"), dict),
    ),
    (
        "mquake",
        "requested_rewrite is a list of edits",
        lambda r: isinstance(r.get("requested_rewrite"), list),
    ),
    ("zsre", "records with src, alt, loc and loc_ans", lambda r: {"src", "alt", "loc"} <= r.keys()),
    (
        "knowedit",
        "records with target_new (or labels) beside locality or portability",
        lambda r: bool({"target_new", "labels"} & r.keys()) and bool({"locality", "portability"} & r.keys()),
    ),
    (
        NUDGE_SUITE,
        "records with id, prompt, target, foil and kind",
        lambda r: {"prompt", "target", "foil", "kind"} <= r.keys(),
    ),
)


def detect_format(data: object) -> tuple[str, str] | None:
    """(format, what gives it away) for decoded JSON, or None when it looks like none of them."""
    if isinstance(data, dict):
        if "prompts" in data and "target_new" in data:
            return "easyedit", "one object with prompts and target_new lists"
        return None
    first = next((r for r in data if isinstance(r, dict)), None) if isinstance(data, list) else None
    if first is None:
        return None
    return next(((fmt, why) for fmt, why, test in _RECORD_SIGNS if test(first)), None)


def refuse_other_format(data: object, fmt: str, name: str) -> None:
    """Refuse a file that looks like a format other than `fmt`, naming the one it looks like."""
    found = detect_format(data)
    if found is None or found[0] == fmt:
        return
    other, why = found
    if other == NUDGE_SUITE:
        raise WrongFieldFormat(
            f"{name} looks like {NUDGE_SUITE} ({why}), not {FORMAT_TITLES[fmt]}; use it as a suite, no import needed"
        )
    raise WrongFieldFormat(
        f"{name} looks like {FORMAT_TITLES[other]} ({why}), not {FORMAT_TITLES[fmt]}; read it as --format {other}"
    )
