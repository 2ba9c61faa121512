"""How the report names things and writes its fixed sentences, for HTML, Markdown and the console.

Labels come from `editing.vocab`; figures are written by `editing.report.formatting`.
Every function returns plain text; escaping is the renderers' job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from editing.report.formatting import MISSING, estimate_text, gate_texts
from editing.vocab import GATE_STATUSES, METRICS, NO_GATES, PROBE_KINDS, STATISTICAL_TESTS, VERDICT_STATUSES


def metric_label(name: str) -> str:
    """The metric's title in the report, or its name when the vocabulary does not know it."""
    return METRICS[name].label if name in METRICS else name


def metric_help(name: str) -> str:
    """One sentence on what the metric measures; empty for a name the vocabulary does not know."""
    return METRICS[name].help if name in METRICS else ""


def kind_title(kind: str) -> str:
    """The heading of a probe kind's section, or the kind itself when the vocabulary does not know it."""
    return PROBE_KINDS[kind].title if kind in PROBE_KINDS else kind


def test_text(test: Mapping[str, Any] | None) -> str:
    """Which paired test gave the p-value, with McNemar's discordant counts when it has them."""
    if not test or test.get("test") is None or test.get("n") == 0:
        return MISSING
    name = STATISTICAL_TESTS.get(test["test"], test["test"])
    if "up" in test:
        return f"{name}; {test['up']} up, {test['down']} down"
    return name


def run_title(report: Mapping[str, Any], fallback: str = "") -> str:
    """ "run 7 · dog-cat-swap" from the run record's id and name, whichever it has."""
    run = report.get("run") or {}
    run_id = next((str(run[key]) for key in ("id", "run_id") if run.get(key) not in (None, "")), "")
    if run_id and not run_id.lower().startswith("run"):
        run_id = f"run {run_id}"
    name = str(run["name"]) if run.get("name") not in (None, "") else ""
    return " · ".join(part for part in (run_id, name) if part) or fallback


def verdict_word(verdict: Mapping[str, Any]) -> str:
    """PASS, FAIL, UNCERTAIN or NO GATES: the verdict's status as its headline writes it."""
    return VERDICT_STATUSES[verdict["status"]].word


def is_ledger(run: Mapping[str, Any] | None) -> bool:
    """Whether a report is `nudge report --ledger`'s (before: when each edit was made; after: now)."""
    return bool((run or {}).get("ledger_version_id"))


def _gates_count(n: int) -> str:
    return "1 gate" if n == 1 else f"{n} gates"


def verdict_line(verdict: Mapping[str, Any], run: Mapping[str, Any] | None = None) -> str:
    """One sentence: accepted or rejected, how many gates failed, were uncertain and passed, and what
    else made the verdict (contaminated test probes, --strict, an explicit --accept-failed)."""
    gates = verdict.get("gates", [])
    if verdict.get("status") == NO_GATES:
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
        counts = {status: sum(gate["status"] == status for gate in gates) for status in GATE_STATUSES}
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
