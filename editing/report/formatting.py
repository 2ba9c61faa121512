"""How nudge writes numbers and texts: every figure, interval, p-value and change the report, the console
and the demo print.

A `*_text` function writes a figure as a table cell or a line shows it (`—` where there is none); a
`*_phrase` function writes it inside a sentence ("95% CI 41% to 79%", "p = 0.031", "6 edit probes").
Interval ends are rounded outward everywhere, so a printed interval always holds the computed one.
Every function returns plain text; escaping is the renderers' job.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from editing.vocab import METRICS

MISSING = "—"  # a figure the report cannot give (no data, or one side of a comparison absent)
NOTHING = "(nothing)"  # an empty generation, so an empty cell is never mistaken for a missing one
EXTRA_THRESHOLD_DIGITS = 4  # at most this many more digits to tell an interval's end from a gate's threshold

_PRECISION = re.compile(r"\.(\d+)([f%])$")
_THRESHOLD_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


# --- the figures ------------------------------------------------------------------------------------


def metric_format(name: str) -> str:
    """The metric's format spec; two decimals for a name the vocabulary does not know."""
    return METRICS[name].fmt if name in METRICS else ".2f"


def interval_end(value: float, fmt: str, low: bool) -> str:
    """An interval's end in `fmt`, rounded outward (a low end down, a high end up) so the printed
    interval still holds the computed one: a gate uncertain on [0.7961, 1.00] never reads [0.80, 1.00]."""
    found = _PRECISION.search(fmt)
    if found is None:
        return format(value, fmt)
    digits = int(found.group(1)) + (2 if found.group(2) == "%" else 0)
    scaled = round(value * 10**digits, 6)  # 0.29999999 * 100 is 30, not 29.99 to be floored to 29
    rounded = (math.floor(scaled) if low else math.ceil(scaled)) / 10**digits
    return format(rounded, fmt)


def interval_ends(low: float, high: float, fmt: str, threshold: float | None = None) -> tuple[str, str, str]:
    """Both ends of an interval rounded outward in `fmt`, and the format used. With a gate's `threshold`,
    digits are added (up to EXTRA_THRESHOLD_DIGITS) until no end reads as the threshold unless it is it:
    a failing [0.107, 0.604] against "<= 0.1" prints [0.107, 0.61], never [0.10, 0.61]; an end still on it
    is written in full."""
    found = _PRECISION.search(fmt)

    def ends(spec: str) -> tuple[str, str]:
        return interval_end(low, spec, low=True), interval_end(high, spec, low=False)

    def misread(spec: str) -> list[bool]:
        shown = format(threshold, spec) if threshold is not None else None
        return [end == shown and exact != threshold for end, exact in zip(ends(spec), (low, high), strict=True)]

    if threshold is None or found is None:
        return (*ends(fmt), fmt)
    base = int(found.group(1))
    for places in range(base, base + EXTRA_THRESHOLD_DIGITS + 1):
        spec = f"{fmt[: found.start()]}.{places}{found.group(2)}"
        if not any(misread(spec)):
            return (*ends(spec), spec)
    last = ends(spec)
    full = tuple(repr(exact) if bad else end for end, exact, bad in zip(last, (low, high), misread(spec), strict=True))
    return full[0], full[1], spec


def p_value_figure(p_value: float) -> str:
    """A p-value as every table and sentence writes it: three decimals, "< 0.001" below that."""
    return "< 0.001" if p_value < 0.001 else f"{p_value:.3f}"


# --- figures as table cells and console lines write them --------------------------------------------


def number_text(value: float | None, metric: str = "", fmt: str | None = None) -> str:
    """A value in the metric's format (or `fmt`), `—` when there is none."""
    if value is None:
        return MISSING
    return format(value, fmt or metric_format(metric))


def estimate_text(estimate: Mapping[str, Any] | None, metric: str = "", fmt: str | None = None) -> str:
    """ "0.62 [0.41, 0.79]": an estimate with its 95% interval (ends rounded outward), or "no data"."""
    if not estimate or estimate.get("value") is None:
        return "no data"
    low, high = estimate.get("ci_low"), estimate.get("ci_high")
    spec = fmt or metric_format(metric)
    interval = (
        f" [{interval_end(low, spec, low=True)}, {interval_end(high, spec, low=False)}]"
        if low is not None and high is not None
        else ""
    )
    return f"{number_text(estimate['value'], metric, fmt)}{interval}"


def interval_text(estimate: Mapping[str, Any], metric: str) -> str:
    """Only the 95% interval of an estimate, "[0.41, 0.79]"; "no interval" for a value without one
    (too few units to resample), "no data" without a value."""
    if estimate.get("value") is None:
        return "no data"
    return estimate_text(estimate, metric).partition(" ")[2] or "no interval"


def threshold_of(gate: Mapping[str, Any]) -> float | None:
    """The number in a gate row's threshold (">= 0.8" -> 0.8)."""
    found = _THRESHOLD_NUMBER.search(str(gate.get("threshold", "")))
    return float(found.group(0)) if found else None


def gate_texts(gate: Mapping[str, Any]) -> tuple[str, str]:
    """A gate row's value and interval, with digits added until neither printed end reads as the threshold
    unless it is the threshold (`interval_ends`): a failing [0.2003, 0.5] against "<= 0.2" prints
    [0.2003, 0.5000], not [0.20, 0.50], which would read as straddling it."""
    fmt = metric_format(gate["name"])
    low, high, value = gate.get("ci_low"), gate.get("ci_high"), gate.get("value")
    if low is None or high is None:
        return number_text(value, fmt=fmt), "no data" if value is None else "no interval"
    low_text, high_text, fmt = interval_ends(low, high, fmt, threshold_of(gate))
    return number_text(value, fmt=fmt), f"[{low_text}, {high_text}]"


def gated_estimate_text(estimate: Mapping[str, Any] | None, metric: str, gate: Mapping[str, Any] | None) -> str:
    """`estimate_text`, with a gated metric's digits as its gate row prints them (`gate_texts`)."""
    if gate is None or not estimate or estimate.get("ci_low") is None or estimate.get("ci_high") is None:
        return estimate_text(estimate, metric)
    value, interval = gate_texts({**gate, **estimate, "name": metric})
    return f"{value} {interval}"


def p_value_text(p_value: float | None) -> str:
    """A p-value to three decimals, "< 0.001" below that, `—` when no test ran."""
    if p_value is None:
        return MISSING
    return p_value_figure(p_value)


def margin_p_text(change: Mapping[str, Any]) -> str:
    """A margin change's p-value, or "too few probes to test" when the sign-flip test could not run."""
    if change.get("p_value") is None and change.get("value") == 0 and change.get("p_min") == 1.0:
        return "nothing moved"
    if change.get("p_value") is None and change.get("value") is not None and "p_min" in change:
        return "too few probes to test"
    return p_value_text(change.get("p_value"))


def difference(first: Mapping[str, Any] | None, second: Mapping[str, Any] | None) -> float | None:
    """second − first of two estimates' values; None when either is missing."""
    if not first or not second or first.get("value") is None or second.get("value") is None:
        return None
    return second["value"] - first["value"]


def change_text(first: Mapping[str, Any] | None, second: Mapping[str, Any] | None, metric: str) -> str:
    """second − first, signed, in the metric's format (before → after, or run A → run B)."""
    change = difference(first, second)
    return MISSING if change is None else format(change, "+" + metric_format(metric))


def margin_text(margin: float) -> str:
    """A probe's log-prob margin (target − foil), signed, two decimals."""
    return f"{margin:+.2f}"


def visible_pair(before: str, after: str) -> tuple[str, str]:
    """Two texts as a page shows them, so a difference is visible: "(nothing)" for an empty one, and
    whitespace written out (`\\n`, a trailing space in quotes) when only whitespace differs."""
    if before != after and " ".join(before.split()) == " ".join(after.split()):
        return repr(before), repr(after)
    return before or NOTHING, after or NOTHING


# --- figures as sentences write them -----------------------------------------------------------------


def count_phrase(n: int, noun: str) -> str:
    """ "1 edit probe", "6 edit probes"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def percent_phrase(x: float | None) -> str:
    """ "41%", "n/a" without a value."""
    return "n/a" if x is None else format(x, ".0%")


def p_phrase(p: float) -> str:
    """ "p < 0.001" or "p = 0.031", the figure as the report's tables write it."""
    figure = p_value_figure(p)
    return f"p {figure}" if figure.startswith("<") else f"p = {figure}"


def bound_phrase(x: float | None, low: bool) -> str:
    """One end of a rate's interval as a percentage, rounded outward; "n/a" without one."""
    return "n/a" if x is None else interval_end(x, ".0%", low=low)


def ci_phrase(estimate: Mapping[str, Any], fmt: str = ".2f", threshold: float | None = None) -> str:
    """ "95% CI 0.41 to 0.79" (a rate's in ".0%": "95% CI 41% to 79%"), the ends rounded outward, with the
    digits a gate at `threshold` needs; "no interval" for an estimate without one."""
    low, high = estimate.get("ci_low"), estimate.get("ci_high")
    if low is None or high is None:
        return "no interval"
    low_text, high_text, _ = interval_ends(low, high, fmt, threshold)
    return f"95% CI {low_text} to {high_text}"
