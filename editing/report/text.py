"""How the report writes its numbers and sentences, in one place for HTML, Markdown and the console.

Every function returns plain text; escaping is the renderers' job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from editing.vocab import METRICS, PROBE_KINDS, STATISTICAL_TESTS, interval_end, interval_ends, p_value_figure

MISSING = "—"  # a figure the report cannot give (no data, or one side of a comparison absent)
STATUS_WORDS = {"pass": "PASS", "fail": "FAIL", "uncertain": "UNCERTAIN"}
NO_GATES_WORD = "NO GATES"


def metric_label(name: str) -> str:
    """The metric's title in the report, or its name when the vocabulary does not know it."""
    return METRICS[name].label if name in METRICS else name


def metric_help(name: str) -> str:
    """One sentence on what the metric measures; empty for a name the vocabulary does not know."""
    return METRICS[name].help if name in METRICS else ""


def metric_format(name: str) -> str:
    """The metric's format spec; two decimals for a name the vocabulary does not know."""
    return METRICS[name].fmt if name in METRICS else ".2f"


def kind_title(kind: str) -> str:
    """The heading of a probe kind's section, or the kind itself when the vocabulary does not know it."""
    return PROBE_KINDS[kind].title if kind in PROBE_KINDS else kind


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


_THRESHOLD_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


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


NOTHING = "(nothing)"  # an empty generation, so an empty cell is never mistaken for a missing one


def visible_pair(before: str, after: str) -> tuple[str, str]:
    """Two texts as a page shows them, so a difference is visible: "(nothing)" for an empty one, and
    whitespace written out (`\\n`, a trailing space in quotes) when only whitespace differs."""
    if before != after and " ".join(before.split()) == " ".join(after.split()):
        return repr(before), repr(after)
    return before or NOTHING, after or NOTHING


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


def test_text(test: Mapping[str, Any] | None) -> str:
    """Which paired test gave the p-value, with McNemar's discordant counts when it has them."""
    if not test or test.get("test") is None or test.get("n") == 0:
        return MISSING
    name = STATISTICAL_TESTS.get(test["test"], test["test"])
    if "up" in test:
        return f"{name}; {test['up']} up, {test['down']} down"
    return name


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


def run_title(report: Mapping[str, Any], fallback: str = "") -> str:
    """ "run 7 · dog-cat-swap" from the run record's id and name, whichever it has."""
    run = report.get("run") or {}
    run_id = next((str(run[key]) for key in ("id", "run_id") if run.get(key) not in (None, "")), "")
    if run_id and not run_id.lower().startswith("run"):
        run_id = f"run {run_id}"
    name = str(run["name"]) if run.get("name") not in (None, "") else ""
    return " · ".join(part for part in (run_id, name) if part) or fallback


def verdict_status(verdict: Mapping[str, Any]) -> str:
    """pass, fail or uncertain; "none" when no gate was set and no test probe is contaminated."""
    if verdict.get("gates") or verdict.get("contaminated"):
        return str(verdict["status"])
    return "none"


def verdict_word(verdict: Mapping[str, Any]) -> str:
    """PASS, FAIL, UNCERTAIN or NO GATES."""
    return STATUS_WORDS.get(verdict_status(verdict), NO_GATES_WORD)


def is_ledger(run: Mapping[str, Any] | None) -> bool:
    """Whether a report is `nudge report --ledger`'s (before: when each edit was made; after: now)."""
    return bool((run or {}).get("ledger_version_id"))


def _gates_count(n: int) -> str:
    return "1 gate" if n == 1 else f"{n} gates"


def verdict_line(verdict: Mapping[str, Any], run: Mapping[str, Any] | None = None) -> str:
    """One sentence: accepted or rejected, how many gates failed, were uncertain and passed, and what
    else made the verdict (contaminated test probes, --strict, an explicit --accept-failed)."""
    gates = verdict.get("gates", [])
    if not gates and not verdict.get("contaminated"):
        return (
            "No gate was judged (none was set, or only a regressions gate, which has rows only on an edited "
            "version): nothing was checked against a threshold."
        )
    if is_ledger(run):
        accepted = {
            "pass": "Every edit in the chain passes its regressions gate",
            "fail": "An edit in the chain fails its regressions gate",
        }.get(str(verdict.get("status")), "Whether every edit in the chain passes its regressions gate is uncertain")
    elif verdict.get("passed"):
        accepted = "The edit is accepted"
    elif (run or {}).get("accepted_failed"):
        accepted = "The verdict rejects the edit, but it was accepted anyway (accept_failed)"
    else:
        accepted = "The edit is rejected"
    if gates:
        counts = {status: sum(gate["status"] == status for gate in gates) for status in STATUS_WORDS}
        parts = [
            f"{counts[status]} {word}"
            for status, word in (("fail", "failed"), ("uncertain", "uncertain"), ("pass", "passed"))
        ]
        judged = f"of {_gates_count(len(gates))}, {', '.join(parts)}"
    else:
        judged = "no gates set"
    causes = []
    if verdict.get("contaminated") and verdict.get("status") != "fail":
        causes.append("test probes that copy training prompts make the verdict at best uncertain")
    if verdict.get("strict") and verdict.get("status") == "uncertain":
        causes.append("strict: an uncertain verdict counts as a failure")
    cause = f" ({'; '.join(causes)})" if causes else ""
    split = verdict.get("split") or "test"
    where = f"Judged on the {split} split only."
    if split != "test" and any(gate.get("edit") for gate in gates):  # earlier edits are re-checked on test probes
        where = f"Judged on the {split} split; the regressions gate on the earlier edits' test probes."
    return f"{accepted}: {judged}{cause}. {where}"


def contamination_line(rows: Sequence[Mapping[str, Any]]) -> str:
    """Why the gates cannot be trusted: how many test probes the edit was trained on, and what that does."""
    probes = "1 test probe appears" if len(rows) == 1 else f"{len(rows)} test probes appear"
    return (
        f"{probes} in the training data (equal or nearly equal prompts, or a training text that contains the "
        "probe's prompt): the edit was trained on what they test, "
        "so they are not held out, and the verdict is at best uncertain."
    )


# --- the console's summary after `nudge apply` --------------------------------------------------

CONSOLE_GATE_COLUMNS = ("gate", "value", "95% interval", "threshold", "status")


def console_gate_rows(report: Mapping[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """The console's gate table, one row of plain cells per gate (the last cell is the gate's status)."""
    rows = []
    for gate in report["verdict"]["gates"]:
        value, interval = gate_texts(gate)
        name = f"{gate['name']}: {gate['edit']}" if gate.get("edit") else gate["name"]
        rows.append((name, value, interval, str(gate["threshold"]), gate["status"]))
    return rows


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """The plain lines the console prints under the gate table: what the model now says, what leaked,
    what moved, contamination."""
    lines = []
    if report["summary"].get("says"):
        lines.append("what the model now says: " + " ".join(report["summary"]["says"]))
    for title, key in (("what leaked", "leaked"), ("what took", "took"), ("what else moved", "moved")):
        sentences = report["summary"].get(key) or []
        lines.append(f"{title}: " + (" ".join(sentences) if sentences else "nothing found by the probes."))
    for edit in report.get("earlier_edits") or []:
        before, after = edit["before"]["regression_says"], edit["after"]["regression_says"]
        lines.append(
            f"earlier edit {edit['label']}: share of its regression probes saying its answer "
            f"{estimate_text(before, 'regression_says')} before, {estimate_text(after, 'regression_says')} after"
        )
    if report["contamination"]:
        matches = "; ".join(
            f'"{row["prompt"]}" ~ "{row["training_prompt"]}" ({row.get("match") or "match"})'
            for row in report["contamination"][:5]
        )
        lines.append(
            f"contamination: {len(report['contamination'])} test probe(s) match training examples; "
            f"the gates are not trustworthy: {matches}"
        )
    return lines
