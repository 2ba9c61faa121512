"""The edit impact report: schema, content, escaping, and the HTML in a real headless browser."""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import os
import random
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from editing.impact import find_contamination
from editing.probes import Probe, ProbeScore
from editing.report import (
    LOCATION_STATEMENT,
    assemble_report,
    console_gate_rows,
    read_report,
    render_comparison_html,
    render_comparison_markdown,
    render_html,
    render_markdown,
    summary_lines,
    write_report,
)
from editing.report.comparison import delta_cell
from editing.report.formatting import estimate_text, gate_texts, interval_end, interval_text, visible_pair
from editing.report.measure import measure_impact
from editing.report.schema import REPORT_SCHEMA, SCHEMA_VERSION
from editing.report.sections import build_generations, build_probes
from editing.report.text import verdict_line, verdict_word
from editing.vocab import FINDINGS, GATE_STATUSES, METRICS, PROBE_KINDS, SPLITS, STATISTICAL_TESTS, VERDICT_STATUSES

DATA = Path(__file__).resolve().parents[1] / "editing" / "toyworld" / "data"
HOSTILE = '<script>alert("x")</script> & <img src=https://example.invalid/x.png> | *not bold*'
GATES = {
    "edit": ">= 0.5",
    "paraphrase": ">= 0.9",
    "leak": "<= 0.2",
    "control_unchanged": ">= 0.8",
    "ppl_ratio": "< 1.5",
}


def suite() -> list[Probe]:
    """The toy world's dog-cat swap, plus one control whose prompt is hostile HTML."""
    rows = [json.loads(line) for line in (DATA / "dog-cat-swap.jsonl").read_text().splitlines()]
    probes = [Probe(**{k: v for k, v in row.items() if k != "phrasing"}) for row in rows]
    return [*probes, Probe("hostile-001", HOSTILE, "moo", "meow", "control", "test", "sound", "cow")]


def synthetic_scores(probes: list[Probe], damage: float, seed: int = 0) -> tuple[list[ProbeScore], list[ProbeScore]]:
    """Before/after scores of an edit that mostly takes, leaks on most leak probes, and damages
    a `damage` share of controls."""
    rng = random.Random(seed)
    before, after = [], []
    for p in probes:
        old = rng.uniform(1.0, 2.5)
        if p.kind == "control":
            changed = rng.random() < damage
            before.append(ProbeScore(p, -1.0, -1.0 - old, f" {p.target} and"))
            new_margin = -0.3 if changed else old - rng.uniform(0.0, 0.4)
            after.append(ProbeScore(p, -1.0, -1.0 - new_margin, f" {p.foil} and" if changed else f" {p.target} and"))
            continue
        before.append(ProbeScore(p, -1.0 - old, -1.0, f" {p.foil}"))
        took = {"edit": 0.9, "paraphrase": 0.75, "leak": 0.2}[p.kind] > rng.random()
        margin = rng.uniform(0.5, 2.0) if took else -rng.uniform(0.1, 1.0)
        after.append(ProbeScore(p, -1.0, -1.0 - margin, f" {p.target if took else p.foil}"))
    return before, after


def spectral_sections() -> dict[str, Any]:
    modules = [
        {
            "name": f"transformer.h.{layer}.attn.c_attn",
            "layer": layer,
            "singular_values": [0.8 / (layer + 1), 0.2 / (layer + 1), 0.05, 0.01],
            "effective_rank": 1.6 + 0.1 * layer,
            "relative_norm": 0.03 / (layer + 1),
        }
        for layer in range(4)
    ]
    truncation = [
        {"k": k, "metrics": {"edit": 0.5 + 0.12 * k, "paraphrase": 0.4 + 0.1 * k, "leak_rate": 0.9 - 0.03 * k}}
        for k in range(1, 5)
    ]
    layers = [
        {"layer": layer, "metrics": {"edit": 0.4 + 0.15 * layer, "paraphrase": 0.3 + 0.1 * layer, "leak_rate": 0.85}}
        for layer in range(4)
    ]
    return {"modules": modules, "truncation": truncation, "layers": layers, "note": "rank 4 LoRA on c_attn"}


def synthetic_report(damage: float = 0.1, contaminated: bool = False, seed: int = 0) -> dict[str, Any]:
    probes = suite()
    before, after = synthetic_scores(probes, damage, seed)
    rng = random.Random(seed)
    generations = [
        {"prompt": p.prompt, "before": f" {p.foil} {p.foil}, it said", "after": f" {p.target}, it said"}
        for p in probes
        if p.split == "test" and p.kind in ("edit", "leak")
    ][:8]
    generations.append({"prompt": HOSTILE, "before": " moo", "after": " <b>meow</b>"})
    nll_before = [[rng.uniform(1.0, 3.0) for _ in range(10)] for _ in range(30)]
    nll_after = [[x + rng.gauss(0.02 + damage / 10, 0.05) for x in sentence] for sentence in nll_before]
    sections = measure_impact(
        before,
        after,
        kl=[rng.uniform(0.002, 0.02 + damage / 5) for _ in range(40)],
        nll_before=nll_before,
        nll_after=nll_after,
        generations=generations,
        gates=GATES,
    )
    training = [p.prompt for p in probes if p.split == "train"]
    if contaminated:
        training.append(next(p.prompt for p in probes if p.split == "test" and p.kind == "leak"))
    run = {
        "id": f"run-{seed}-{'damaging' if damage > 0.3 else 'clean'}",
        "spec": {"name": "dog-cat-swap", "lora": {"r": 4, "alpha": 8}, "gates": GATES},
        "spec_hash": "sha256:" + "ab" * 32,
        "data_hash": "sha256:" + "cd" * 32,
        "seed": seed,
        "base_model": {"ref": "toyworld-v1", "fingerprint": "ef" * 8},
        "adapter": {"path": "adapters/run-0", "sha256": "01" * 32, "modules": ["c_attn"]},
        "training": {"examples": len(training), "steps": 120},
        "versions": {"nudge": "0.1.0", "torch": "2.x", "note": HOSTILE},
        "timings_s": {"train": 4.2, "probes": 0.9},
    }
    return assemble_report(sections, find_contamination(probes, training), generations, spectral_sections(), run)


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return synthetic_report(damage=0.1, contaminated=True)


# --- JSON ----------------------------------------------------------------------------------------


def test_report_json_validates_against_its_schema(report: dict[str, Any], tmp_path: Path) -> None:
    paths = write_report(report, tmp_path / "out")
    assert sorted(paths) == ["html", "json", "md"]
    assert all(path.exists() and path.stat().st_size > 0 for path in paths.values())
    loaded = json.loads(paths["json"].read_text())
    jsonschema.Draft202012Validator.check_schema(REPORT_SCHEMA)
    jsonschema.validate(loaded, REPORT_SCHEMA, cls=jsonschema.Draft202012Validator)
    assert loaded["schema_version"] == SCHEMA_VERSION
    assert paths["json"].read_text() == json.dumps(loaded, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert read_report(tmp_path / "out") == loaded


def test_a_report_without_spectral_or_data_still_validates(tmp_path: Path) -> None:
    probes = [Probe("e", "The dog says", "meow", "woof", "edit", "test")]
    sections = measure_impact([ProbeScore(probes[0], -2, -1, " woof")], [ProbeScore(probes[0], -1, -2, " meow")])
    report = assemble_report(sections, [], [], None, {})
    jsonschema.validate(report, REPORT_SCHEMA, cls=jsonschema.Draft202012Validator)
    assert report["metrics"]["after"]["kl"] == {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    assert "not computed for this run" in render_html(report)
    write_report(report, tmp_path)


def test_assemble_report_turns_nan_into_null() -> None:
    probes = [Probe("e", "The dog says", "meow", "woof", "edit", "test")]
    sections = measure_impact([ProbeScore(probes[0], -2, -1, " woof")], [ProbeScore(probes[0], -1, -2, " meow")])
    report = assemble_report(sections, [], [], None, {"loss": float("nan"), "steps": (1, 2)})
    assert report["run"] == {"loss": None, "steps": [1, 2]}
    json.dumps(report, allow_nan=False)
    with pytest.raises(ValueError, match="generation 0 lacks after"):
        assemble_report(sections, [], [{"prompt": "p", "before": "b"}], None, {})


def test_the_schema_rejects_a_broken_report(report: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(report))
    broken["verdict"]["gates"][0]["status"] = "maybe"
    with pytest.raises(jsonschema.ValidationError, match="maybe"):
        jsonschema.validate(broken, REPORT_SCHEMA, cls=jsonschema.Draft202012Validator)
    del broken["metrics"]["after"]["leak_rate"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, REPORT_SCHEMA, cls=jsonschema.Draft202012Validator)


def test_read_report_refuses_another_schema_version(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(ValueError, match="schema version 99; this nudge reads versions 1, 2, 3"):
        read_report(tmp_path)


# --- content and escaping ------------------------------------------------------------------------


def test_html_has_the_verdict_summary_and_every_section(report: dict[str, Any]) -> None:
    page = render_html(report)
    assert page.count("<!DOCTYPE html>") == 1
    verdict = report["verdict"]
    assert f"Verdict: {verdict['status'].upper()}" in page
    for gate in verdict["gates"]:
        assert gate["threshold"].replace(">", "&gt;").replace("<", "&lt;") in page
    assert "What leaked" in page and "What else moved" in page
    assert "leak probes prefer the old answer after the edit" in page
    assert page.index("What the model now says") < page.index("What leaked")  # the summary leads with it
    for anchor in ('id="metrics"', 'id="probes-leak"', 'id="generations"', 'id="spectral"', 'id="run"'):
        assert anchor in page
    assert page.count("<svg") == 5  # rates, margins, spectrum, truncation sweep, layer sweep
    assert LOCATION_STATEMENT in page
    assert "sha256:" + "cd" * 32 in page  # the run record


def test_contamination_warning_only_when_contaminated(report: dict[str, Any]) -> None:
    assert report["contamination"] and report["contamination"][0]["match"] == "exact"
    assert "these gates are not trustworthy" in render_html(report)
    assert "these gates are not trustworthy" in render_markdown(report)
    clean = synthetic_report(damage=0.1, contaminated=False)
    assert clean["contamination"] == []
    assert "not trustworthy" not in render_html(clean)
    assert "not trustworthy" not in render_markdown(clean)


def test_user_text_is_escaped_everywhere(report: dict[str, Any]) -> None:
    page = render_html(report)
    assert "<script>alert" not in page and "<img src=https" not in page and "<b>meow" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page  # Jinja2 (markupsafe) writes " as &#34;
    assert page.count("<script>") == 1  # only the report's own table-sorting script
    markdown = render_markdown(report)
    prose, _, record = markdown.partition("## Run record")
    assert "<script>" not in prose and "<img" not in prose and "<b>" not in prose
    assert "&lt;script&gt;" in prose
    assert record.count("```") == 2  # the run record is a code block: Markdown shows it as text


def test_uncertain_gates_are_never_shown_as_pass(report: dict[str, Any]) -> None:
    uncertain = [g for g in report["verdict"]["gates"] if g["status"] == "uncertain"]
    assert uncertain, "the synthetic report should have an uncertain gate"
    page = render_html(report)
    assert page.count('class="badge uncertain">UNCERTAIN<') == len(uncertain)


def test_markdown_has_the_same_tables_without_plots(report: dict[str, Any]) -> None:
    markdown = render_markdown(report)
    assert markdown.startswith("# Edit impact report — run-0-clean")
    assert "## Verdict:" in markdown and "## What leaked" in markdown and "## Run record" in markdown
    assert "| Leak rate |" in markdown
    assert "<svg" not in markdown
    leak_rows = [line for line in markdown.splitlines() if line.startswith("| **leak** |")]
    assert len(leak_rows) == sum(r["finding"] == "leak" for r in report["probes"])
    hostile_row = next(line for line in markdown.splitlines() if "hostile-001" in line)
    assert len(re.findall(r"(?<!\\)\|", hostile_row)) == 11  # ten columns: the prompt's own "|" is escaped
    assert "\\*not bold\\*" in hostile_row


def test_damaging_edit_reads_worse_side_by_side(report: dict[str, Any]) -> None:
    damaging = synthetic_report(damage=0.6, seed=1)
    assert damaging["verdict"]["status"] == "fail"
    page = render_comparison_html(report, damaging)
    assert "A: run-0-clean" in page and "B: run-1-damaging" in page
    assert "Δ (B − A)" in page and "Probes whose finding differs" in page
    assert "these gates are not trustworthy" in page  # run A was contaminated
    assert "<script>alert" not in page
    markdown = render_comparison_markdown(report, damaging)
    control = (
        damaging["metrics"]["after"]["control_unchanged"]["value"]
        - report["metrics"]["after"]["control_unchanged"]["value"]
    )
    assert "| Controls unchanged |" in markdown and f"{control:+.2f}" in markdown


def test_verdict_lines_name_what_made_the_verdict() -> None:
    gate = {"name": "edit", "status": "pass", "value": 1.0, "ci_low": 0.9, "ci_high": 1.0, "threshold": ">= 0.8"}
    clean = {"status": "pass", "passed": True, "strict": False, "contaminated": False, "gates": [gate]}
    assert verdict_line(clean) == (
        "The edit is accepted: of 1 gate, 0 failed, 0 uncertain, 1 passed. Judged on the test split only."
    )
    contaminated = clean | {"status": "uncertain", "contaminated": True}
    assert "(test probes that copy training prompts make the verdict at best uncertain)" in verdict_line(contaminated)
    strict = contaminated | {"passed": False, "strict": True}
    assert verdict_line(strict).startswith("The edit is rejected: of 1 gate, 0 failed, 0 uncertain, 1 passed (")
    assert "strict: an uncertain verdict counts as a failure" in verdict_line(strict)
    no_gates = {"status": "uncertain", "passed": False, "strict": True, "contaminated": True, "gates": []}
    assert verdict_word(no_gates) == "UNCERTAIN"  # not "NO GATES": contamination was checked
    assert verdict_line(no_gates).startswith("The edit is rejected: no gates set (test probes that copy")
    failed = clean | {"status": "fail", "passed": False, "gates": [gate | {"status": "fail"}]}
    assert verdict_line(failed, {"accepted_failed": True}).startswith(
        "The verdict rejects the edit, but it was accepted anyway (accept_failed)"
    )
    assert verdict_line(failed, {"ledger_version_id": 7}).startswith(
        "An edit in the chain fails its regressions gate: of 1 gate, 1 failed"
    )
    assert verdict_line({"status": "none", "passed": True, "gates": []}).startswith("No gate was judged")
    assert verdict_line(clean | {"split": "val"}).endswith("Judged on the val split only.")


def test_interval_ends_are_rounded_outward() -> None:
    fifteen_of_fifteen = {"value": 1.0, "ci_low": 0.7961, "ci_high": 1.0}  # Wilson; ">= 0.8" is uncertain
    assert estimate_text(fifteen_of_fifteen, "paraphrase") == "1.00 [0.79, 1.00]"
    assert estimate_text({"value": 1.1, "ci_low": 1.05, "ci_high": 1.1004}, fmt=".3f") == "1.100 [1.050, 1.101]"
    assert interval_end(0.3, ".2f", low=True) == "0.30" and interval_end(0.7935, ".0%", low=False) == "80%"
    assert interval_text({"value": 1.03, "ci_low": None, "ci_high": None}, "ppl_ratio") == "no interval"


def test_a_gate_interval_never_prints_an_end_on_its_threshold_that_is_not_there() -> None:
    gate = {"name": "leak_rate", "value": 0.35, "ci_low": 0.2003, "ci_high": 0.5, "threshold": "<= 0.2"}
    assert gate_texts(gate) == ("0.3500", "[0.2003, 0.5000]")  # not [0.20, 0.50]: it fails, it does not straddle
    assert gate_texts(gate | {"ci_low": 0.26}) == ("0.35", "[0.26, 0.50]")
    on_it = gate | {"ci_low": 0.2}
    assert gate_texts(on_it)[1] == "[0.20, 0.50]"  # an end that is the threshold may say so
    hair = gate | {"ci_low": 0.2 + 1e-9}  # closer than the most digits shown: written in full
    assert gate_texts(hair)[1].startswith("[0.200000001")
    assert gate_texts(gate | {"ci_low": None, "ci_high": None}) == ("0.35", "no interval")


def test_whitespace_only_and_empty_outputs_are_visible() -> None:
    assert visible_pair(" a b", " a b ") == ("' a b'", "' a b '")
    assert visible_pair(" new", " new\n") == ("' new'", "' new\\n'")
    assert visible_pair(" y", "") == (" y", "(nothing)")
    assert visible_pair(" y", " z") == (" y", " z")
    generations = build_generations({"generations": [{"prompt": "p", "before": " a b", "after": " a b "}]})
    assert generations.table is not None and generations.table.rows[0][2].text == "' a b '"


def test_a_gated_metric_is_quoted_with_its_gate_digits_everywhere() -> None:
    leaks = [Probe(f"l{i}", f"Q {i}", "new", "old", "leak", "test", "r", "s") for i in range(10)]
    before = [ProbeScore(p, -3.0, -2.0, " old") for p in leaks]
    after = [ProbeScore(p, -3.0 if i < 3 else -1.0, -2.0, " old") for i, p in enumerate(leaks)]  # 3 of 10 leak
    impact = measure_impact(before, after, gates={"leak": "<= 0.1"})
    report = assemble_report(impact, [], [], None, {"id": 1, "name": "x"})
    [gate] = report["verdict"]["gates"]
    assert gate["status"] == "fail" and gate_texts(gate)[1] == "[0.107, 0.604]"  # Wilson's 0.1078: never [0.10,
    markdown = render_markdown(report)
    assert "| 0.300 \\[0.107, 0.604\\] |" in markdown  # the metrics table quotes it as the gate row does
    assert "leak rate 30% (95% CI 10.7% to 60.4%)" in " ".join(report["summary"]["leaked"])


def test_probe_group_titles_count_each_finding() -> None:
    rows = [
        {"kind": "leak", "finding": finding, "id": f"l{i}", "split": "test", "relation": "r", "prompt": "p"}
        | {"target": "t", "foil": "f", "margin_before": 0.0, "margin_after": 0.0, "flipped": False}
        | {"continuation_before": "", "continuation_after": ""}
        for i, finding in enumerate(("leak", "third answer", "took"))
    ]
    (group,) = build_probes({"probes": rows}).groups
    assert group.title.endswith("(3 probes, all splits: 1 third answer, 1 leak)")  # the vocabulary's order


def test_comparison_keeps_one_gate_row_per_earlier_edit(report: dict[str, Any]) -> None:
    def with_regression_gates(says: dict[str, float]) -> dict[str, Any]:
        changed = copy.deepcopy(report)
        changed["verdict"]["gates"] = [
            {"name": "regression_says", "edit": edit, "value": v, "ci_low": v, "ci_high": v, "n": 3}
            | {"threshold": ">= 0.8", "status": "pass" if v >= 0.8 else "fail"}
            for edit, v in says.items()
        ]
        return changed

    left = with_regression_gates({"a (version 2)": 0.0, "b (version 3)": 1.0})
    right = with_regression_gates({"a (version 2)": 1.0, "b (version 3)": 1.0})
    markdown = render_comparison_markdown(left, right)
    first = [line for line in markdown.splitlines() if line.startswith("|") and "a (version 2)" in line]
    second = [line for line in markdown.splitlines() if line.startswith("|") and "b (version 3)" in line]
    assert len(first) == 1 and "FAIL" in first[0] and "PASS" in first[0]  # A undone, B kept: not merged
    assert len(second) == 1 and "FAIL" not in second[0]
    shorter = render_comparison_markdown(left, with_regression_gates({"a (version 2)": 1.0}))
    (row,) = [line for line in shorter.splitlines() if line.startswith("|") and "b (version 3)" in line]
    assert "edit not in this run's chain" in row and "not gated" not in row
    in_chain = with_regression_gates({"a (version 2)": 1.0})
    in_chain["earlier_edits"] = [{"label": "a (version 2)"}, {"label": "b (version 3)"}]
    (row,) = [
        line
        for line in render_comparison_markdown(left, in_chain).splitlines()
        if line.startswith("|") and "b (version 3)" in line
    ]
    assert "not gated" in row and "not in this run's chain" not in row  # in B's chain, just not gated


def test_comparison_calls_a_run_better_only_when_the_intervals_do_not_overlap() -> None:
    overlapping = delta_cell(
        {"value": 0.67, "ci_low": 0.29, "ci_high": 0.91}, {"value": 0.83, "ci_low": 0.43, "ci_high": 0.97}, "edit"
    )
    assert (overlapping.text, overlapping.tone) == ("+0.16", "")  # 0.83 - 0.67, no colour
    apart = delta_cell(
        {"value": 0.2, "ci_low": 0.1, "ci_high": 0.3}, {"value": 0.8, "ci_low": 0.7, "ci_high": 0.9}, "edit"
    )
    assert apart.tone == "good"
    leaks_more = delta_cell(
        {"value": 0.2, "ci_low": 0.1, "ci_high": 0.3}, {"value": 0.8, "ci_low": 0.7, "ci_high": 0.9}, "leak_rate"
    )
    assert leaks_more.tone == "bad"  # lower is better


def test_comparison_names_splits_and_shared_probes(report: dict[str, Any]) -> None:
    other = copy.deepcopy(report)
    other["metrics"]["split"] = "val"
    for probe in other["probes"]:
        probe["id"] = "other-" + probe["id"]
    markdown = render_comparison_markdown(report, other)
    assert "A on the test split, B on the val split: not comparable" in markdown
    assert "The two runs share no probes." in markdown and "Every probe the two runs share" not in markdown


def hostile_field(field: str) -> str:
    """Text that is HTML, breaks out of an attribute, and is full of Markdown markup, tagged with its field."""
    return f'{field}: <script>alert("x")</script> " onmouseover="alert(1) | *not bold* `code` [link](x) _u_ # ~s~'


def hostile_report(report: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The report with hostile text in every field a renderer writes; also the fields' names."""
    hostile = copy.deepcopy(report)
    fields: list[str] = []

    def put(field: str) -> str:
        field = field.replace("_", "-")  # the name itself stays plain text in Markdown
        fields.append(field)
        return hostile_field(field)

    leak, control = (next(p for p in hostile["probes"] if p["kind"] == kind) for kind in ("leak", "control"))
    for key in ("id", "kind", "split", "relation", "prompt", "target", "foil", "finding", "continuation_after"):
        leak[key] = put(f"probe-{key}")
    control["continuation_before"] = control["continuation_after"] = put("continuation-unchanged")
    hostile["metrics"]["split"] = put("metrics-split")
    hostile["metrics"]["other_splits"][put("other-split")] = hostile["metrics"]["other_splits"].pop("val")
    for key in ("leaked", "moved", "took"):
        hostile["summary"][key].append(put(f"summary-{key}"))
    for key in ("probe_id", "prompt", "training_prompt", "match"):
        hostile["contamination"][0][key] = put(f"contamination-{key}")
    for key in ("prompt", "before", "after"):
        hostile["generations"][0][key] = put(f"generation-{key}")
    hostile["verdict"]["gates"][0]["threshold"] = put("gate-threshold")
    hostile["spectral"]["note"] = put("spectral-note")
    hostile["spectral"]["modules"][0]["name"] = put("module-name")
    hostile["run"]["id"] = put("run-id")
    hostile["run"][put("run-key")] = put("run-value")
    return hostile, fields


class TagCollector(HTMLParser):
    """Every start tag and attribute name a browser would build from the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes |= {name for name, _ in attrs}


def test_html_escapes_hostile_text_in_every_section(report: dict[str, Any]) -> None:
    hostile, fields = hostile_report(report)
    for page in (render_html(hostile), render_comparison_html(hostile, report)):
        collector = TagCollector()
        collector.feed(page)
        assert collector.tags.count("script") == 1  # the report's own sorting script, nothing injected
        assert not {attribute for attribute in collector.attributes if attribute.startswith("on")}
        assert "<script>alert" not in page
    page = render_html(hostile)
    shown = [field for field in fields if f"{field}: &lt;script&gt;alert(&#34;x&#34;)" in page]
    assert shown == fields  # every field is on the page, as text


def test_markdown_escapes_every_field(report: dict[str, Any]) -> None:
    hostile, fields = hostile_report(report)
    for markdown in (render_markdown(hostile), render_comparison_markdown(hostile, report)):
        prose, _, _ = markdown.partition("## Run record")  # the record itself is a fenced code block
        assert "<" not in prose
        for raw in ("*not bold*", "`code`", "[link]", "_u_", "~s~", "# ~"):
            assert not re.search(r"(?<!\\)" + re.escape(raw), prose), raw
        table: list[str] = []
        for line in [*prose.splitlines(), ""]:
            if line.startswith("|"):
                table.append(line)
                continue
            widths = {len(re.findall(r"(?<!\\)\|", row)) for row in table}
            assert len(widths) <= 1, table  # an escaped "|" never adds a column
            table = []
    prose = render_markdown(hostile).partition("## Run record")[0]
    assert [field for field in fields if f"{field}: &lt;script&gt;" in prose] == [
        field
        for field in fields
        if field not in ("run-key", "run-value")  # those are in the run record
    ]
    assert "# Edit impact report — run-id: &lt;script&gt;" in render_markdown(hostile)


def test_content_security_policy_allows_only_the_inline_script_it_hashes(report: dict[str, Any]) -> None:
    page = render_html(report)
    policy = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1))
    script_sources = next(part for part in policy.split(";") if part.strip().startswith("script-src")).split()[1:]
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    assert script_sources == [f"'sha256-{digest}'"]
    assert "default-src 'none'" in policy


def test_schema_enums_are_the_vocabulary() -> None:
    definitions = REPORT_SCHEMA["$defs"]
    assert definitions["gate"]["properties"]["name"]["enum"] == list(METRICS)
    assert definitions["gate"]["properties"]["status"]["enum"] == list(GATE_STATUSES)
    assert REPORT_SCHEMA["properties"]["verdict"]["properties"]["status"]["enum"] == list(VERDICT_STATUSES)
    assert definitions["probe_row"]["properties"]["kind"]["enum"] == list(PROBE_KINDS)
    assert definitions["probe_row"]["properties"]["split"]["enum"] == list(SPLITS)
    assert definitions["probe_row"]["properties"]["finding"]["enum"] == list(FINDINGS)
    assert definitions["phase"]["required"] == list(METRICS)
    assert definitions["test"]["properties"]["test"]["enum"] == [*STATISTICAL_TESTS, None]
    margin_kinds = REPORT_SCHEMA["properties"]["metrics"]["properties"]["margin_change"]["propertyNames"]["enum"]
    assert margin_kinds == list(PROBE_KINDS)


def test_console_summary_lines(report: dict[str, Any]) -> None:
    rows = console_gate_rows(report)
    assert [row[0] for row in rows] == [gate["name"] for gate in report["verdict"]["gates"]]
    leak = next(row for row in rows if row[0] == "leak_rate")
    gate = next(g for g in report["verdict"]["gates"] if g["name"] == "leak_rate")
    assert leak == ("leak_rate", *gate_texts(gate), "<= 0.2", gate["status"])  # the report's own digits
    low, high = (float(end) for end in leak[2].strip("[]").split(", "))
    assert low <= gate["ci_low"] and high >= gate["ci_high"]  # rounded outward
    lines = summary_lines(report)
    assert lines[0].startswith("what the model now says: Of ")
    assert lines[1].startswith("what leaked: ") and "leak probes prefer the old answer" in lines[1]
    assert lines[2].startswith("what took: On the test edit probes")
    assert lines[3].startswith("what else moved: ")
    assert lines[4].startswith("contamination: 1 test probe(s) match training examples")
    assert report["contamination"][0]["training_prompt"] in lines[4]  # the matched example beside the probe
    clean = synthetic_report(damage=0.1, contaminated=False)
    assert not any(line.startswith("contamination") for line in summary_lines(clean))


# --- in a real browser ---------------------------------------------------------------------------


def require_browser_tool(missing: str) -> None:
    """Skip when a browser piece is missing on this machine; in CI, where it is installed, fail."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser test, but {missing}")
    pytest.skip(missing)


def chromium_path() -> str:
    """The Chromium to drive: $NUDGE_CHROMIUM, else one on PATH."""
    path = os.environ.get("NUDGE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path or not Path(path).exists():
        require_browser_tool("no chromium here (install it or set NUDGE_CHROMIUM)")
    return str(path)


def test_html_opens_in_chromium_offline_without_errors(report: dict[str, Any], tmp_path: Path) -> None:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_browser_tool("playwright is not installed")
    page_path = write_report(report, tmp_path / "report")["html"]
    url = page_path.resolve().as_uri()
    requests, problems, dialogs = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda message: message.type == "error" and problems.append(message.text))
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(url, wait_until="load")
            assert (
                "FAIL" in page.locator("#verdict").inner_text() or "UNCERTAIN" in page.locator("#verdict").inner_text()
            )
            assert "not trustworthy" in page.locator("#contamination").inner_text()
            assert page.locator("svg.plot").count() == 5
            hostile = page.get_by_text('<script>alert("x")</script>', exact=False).first
            assert hostile.count() == 1  # shown as text, not run
            # sorting works: a click on Margin orders the leak table by margin change, a second reverses it
            table = page.locator("#probes-leak table")
            assert table.locator("tbody tr").count() == sum(r["kind"] == "leak" for r in report["probes"])
            changes = table.locator("tbody tr td:nth-child(8)")
            for ascending in (True, False):
                table.locator("th", has_text="Margin").click()
                keys = changes.evaluate_all("cells => cells.map(c => parseFloat(c.dataset.sort))")
                assert keys == sorted(keys, reverse=not ascending)
            screenshot = tmp_path / "report.png"
            page.screenshot(path=str(screenshot), full_page=True)
            assert screenshot.stat().st_size > 10_000
            # the policy is enforced: a script whose text no longer matches its hash is refused, loudly
            tampered_path = tmp_path / "tampered.html"
            tampered_path.write_text(page_path.read_text().replace("data-order", "data-ordre"))
            refusals: list[str] = []
            tampered = browser.new_page()
            tampered.on("console", lambda message: refusals.append(message.text))
            tampered.goto(tampered_path.as_uri(), wait_until="load")
            tampered_changes = tampered.locator("#probes-leak table tbody tr td:nth-child(8)")
            unsorted = tampered_changes.evaluate_all("cells => cells.map(c => parseFloat(c.dataset.sort))")
            assert unsorted != sorted(unsorted)  # so a working sort would show
            tampered.locator("#probes-leak table th", has_text="Margin").click()
            assert tampered_changes.evaluate_all("cells => cells.map(c => parseFloat(c.dataset.sort))") == unsorted
            assert any("Content Security Policy" in text for text in refusals), refusals
        finally:
            browser.close()
    assert requests == [url], f"the report fetched something: {requests}"
    assert problems == [], problems
    assert dialogs == []
