"""Earlier edits re-checked: a run on a stored version scores its ancestry's edits, and the `regressions` gate.

One toy workspace: the dog-cat swap (version A), then on A either its reverse (which
undoes the swap: the gate must fail and the per-edit section show the drop) or a
capital change (which leaves the swap alone: the gate must hold), then the ledger
report over the capital change's chain.
"""

from __future__ import annotations

import json
import re
import traceback
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from editing.cli import app
from editing.impact.regressions import EarlierEdit
from editing.ledger import LEDGER_LEAK_NOTE
from editing.loading import load_suite
from editing.probes import Probe, ProbeScore
from editing.report.measure import measure_impact
from editing.report.schema import REPORT_SCHEMA
from store import Store
from tests.conftest import demo_workspace

EXAMPLES = Path(__file__).parent.parent / "examples"
runner = CliRunner()
FAST_TRAIN = {"steps": 120, "lr": 5e-3, "batch_size": 16, "seed": 0, "kl_weight": 3.0, "retain": "toyworld:retain"}


def nudge(*args: str):
    return runner.invoke(app, list(args))


def _why(result) -> str:
    """The command's output and, when it raised, the whole exception chain."""
    if result.exc_info is None or isinstance(result.exception, SystemExit):
        return result.output
    return result.output + "".join(traceback.format_exception(*result.exc_info))


def _regression_scores(edit: str, n: int, said_after: int) -> tuple[list[ProbeScore], list[ProbeScore]]:
    """n regression probes of `edit`, all said before; `said_after` of them still said after."""
    probes = [Probe(f"{edit}:{i}", f"prompt {edit} {i}", "new", "old", "regression", "test") for i in range(n)]
    before = [ProbeScore(p, -1.0, -3.0, " new") for p in probes]
    after = [
        ProbeScore(p, -1.0, -3.0, " new") if i < said_after else ProbeScore(p, -3.0, -1.0, " old")
        for i, p in enumerate(probes)
    ]
    return before, after


def test_the_regressions_gate_judges_each_earlier_edit_on_its_own() -> None:
    """Pooled, 20 kept and 6 undone would pass at >= 0.5; the undone edit fails the run on its own."""
    kept_before, kept_after = _regression_scores("v2", 20, 20)
    undone_before, undone_after = _regression_scores("v3", 6, 0)
    edits = [
        EarlierEdit("kept", 2, 1, tuple(s.probe.id for s in kept_before)),
        EarlierEdit("undone", 3, 2, tuple(s.probe.id for s in undone_before)),
    ]
    impact = measure_impact(
        kept_before + undone_before, kept_after + undone_after, gates={"regressions": ">= 0.5"}, earlier_edits=edits
    )
    assert impact["metrics"]["after"]["regression_says"]["value"] == pytest.approx(20 / 26)
    rows = {g["edit"]: g["status"] for g in impact["verdict"]["gates"]}
    assert rows == {"kept (version 2)": "pass", "undone (version 3)": "fail"}
    assert impact["verdict"]["status"] == "fail" and impact["verdict"]["passed"] is False
    kept, undone = impact["earlier_edits"]
    assert kept["after"]["regression_says"]["value"] == 1.0 and undone["after"]["regression_says"]["value"] == 0.0
    assert undone["tests"]["regression_says"]["down"] == 6 and undone["margin_change"]["ci_high"] < 0
    assert {r["finding"] for r in impact["probes"] if r["id"].startswith("v3")} == {"undone"}


def test_without_earlier_edits_the_regressions_gate_has_no_rows() -> None:
    before, after = _regression_scores("own", 0, 0)
    impact = measure_impact(before, after, gates={"regressions": ">= 0.5"})
    assert impact["verdict"]["gates"] == [] and impact["earlier_edits"] == []


def _feedback_file(path: Path, suite: str, reverse: bool) -> Path:
    """Corrections on a suite's trained edit prompts: towards its targets, or (`reverse`) back to its foils."""
    rows = []
    for probe in load_suite(suite).probes:
        if probe.kind == "edit" and probe.split == "train":
            old, new = (probe.target, probe.foil) if reverse else (probe.foil, probe.target)
            fields = {"annotator": "alice", "kind": "correction", "prompt": probe.prompt, "output": old}
            rows.append(fields | {"verdict": "down", "correction": new, "status": "submitted"})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _reversed_suite(path: Path) -> Path:
    """The dog-cat swap's edit probes with target and foil exchanged: the swap undone."""
    rows = [
        {"id": f"undo-{p.id}", "prompt": p.prompt, "target": p.foil, "foil": p.target, "kind": "edit", "split": p.split}
        for p in load_suite("toyworld:dog-cat-swap").probes
        if p.kind == "edit"
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _apply(folder: Path, name: str, model: str, feedback: Path, probes: str, gates: dict[str, str]) -> int:
    spec = {
        "name": name,
        "model": model,
        "feedback": {"file": str(feedback)},
        "lora": {"rank": 4, "alpha": 8, "dropout": 0.0, "targets": "mlp", "layers": "all"},
        "train": FAST_TRAIN | {"early_stop": "none"},
        "probes": [probes],
        "gates": gates,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = nudge("apply", str(path))
    assert result.exit_code in (0, 3), _why(result)
    with Store.open() as store:
        return store.runs(1)[0].id


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory, toyworld_dir: Path):
    """Run ids: the swap on the base, then on its version the undo and, separately, a capital change."""
    with demo_workspace(tmp_path_factory.mktemp("regress-home"), toyworld_dir) as home:
        files = tmp_path_factory.mktemp("regress-files")
        swap = nudge("apply", str(EXAMPLES / "dog-cat-swap.yaml"))
        assert swap.exit_code == 0, _why(swap)
        with Store.open() as store:
            swap_version = store.run(1).result_version_id
        undo = _apply(
            files,
            "undo-swap",
            f"version:{swap_version}",
            _feedback_file(files / "undo.jsonl", "toyworld:dog-cat-swap", reverse=True),
            str(_reversed_suite(files / "undo-suite.jsonl")),
            {"edit": ">= 0.5"},
        )
        capital = _apply(
            files,
            "capital",
            f"version:{swap_version}",
            _feedback_file(files / "capital.jsonl", "toyworld:capital-change", reverse=False),
            "toyworld:capital-change",
            {},
        )
        yield home, {"swap": 1, "undo": undo, "capital": capital, "swap_version": swap_version}


def _report(home: Path, run_id: int) -> dict:
    return json.loads((home / "reports" / str(run_id) / "report.json").read_text())


def _regression_gates(report: dict) -> list[dict]:
    return [g for g in report["verdict"]["gates"] if g["name"] == "regression_says"]


def test_a_first_edit_has_no_earlier_edits(chain) -> None:
    home, runs = chain
    report = _report(home, runs["swap"])
    assert report["earlier_edits"] == [] and _regression_gates(report) == []
    assert 'id="earlier-edits"' not in (home / "reports" / "1" / "report.html").read_text()


def test_undoing_an_earlier_edit_fails_the_regressions_gate(chain) -> None:
    home, runs = chain
    report = _report(home, runs["undo"])
    [gate] = _regression_gates(report)
    assert gate["edit"] == f"swap-dog-cat (version {runs['swap_version']})"
    assert gate["status"] == "fail" and report["verdict"]["passed"] is False
    [edit] = report["earlier_edits"]
    assert edit["run_id"] == runs["swap"] and edit["version_id"] == runs["swap_version"]
    says_before, says_after = edit["before"]["regression_says"], edit["after"]["regression_says"]
    assert says_before["value"] >= 0.5 and says_after["value"] <= 0.2 and says_after["ci_high"] < 0.5
    assert edit["after"]["regression"]["value"] < edit["before"]["regression"]["value"]
    assert edit["margin_change"]["value"] < 0 and edit["margin_change"]["ci_high"] < 0
    assert edit["tests"]["regression_says"]["down"] > 0
    undone = [row for row in report["probes"] if row["finding"] == "undone"]
    assert undone and all(row["kind"] == "regression" and row["id"].startswith("v") for row in undone)
    moved = " ".join(report["summary"]["moved"])
    assert f"per edit swap-dog-cat (version {runs['swap_version']}): " in moved  # counted per earlier edit
    markdown = (home / "reports" / str(runs["undo"]) / "report.md").read_text()
    assert "## Earlier edits" in markdown and "swap-dog-cat (version" in markdown
    html = (home / "reports" / str(runs["undo"]) / "report.html").read_text()
    assert 'id="earlier-edits"' in html and "undone" in html


def test_an_edit_that_leaves_earlier_edits_alone_passes_the_gate(chain) -> None:
    home, runs = chain
    report = _report(home, runs["capital"])
    [gate] = _regression_gates(report)
    assert gate["status"] == "pass", gate
    [edit] = report["earlier_edits"]
    assert edit["after"]["regression_says"]["value"] >= edit["before"]["regression_says"]["value"] - 0.1
    # a capital change may jostle a probe or two of the swap (one of 18 became " bond do mic" on one
    # machine; on another, with the rank-8 swap, " basket" lost its ending and one margin flipped),
    # but it leaves the swap as a whole in place
    regressions = [row for row in report["probes"] if row["kind"] == "regression"]
    undone = [row for row in regressions if row["finding"] == "undone"]
    assert regressions and len(undone) <= len(regressions) // 8, undone
    # the base model's controls from the swap's suite are scored too, once each
    controls = [row for row in report["probes"] if row["kind"] == "control"]
    assert any(row["id"].startswith(f"v{runs['swap_version']}:") for row in controls)
    assert len({(r["prompt"], r["target"], r["foil"]) for r in controls}) == len(controls)


def test_regression_scores_are_recorded_against_the_earlier_suite(chain) -> None:
    _, runs = chain
    with Store.open() as store:
        swap_probe_ids = {r.probe_id for r in store.probe_results(runs["swap"], "after")}
        capital = {r.probe_id for r in store.probe_results(runs["capital"], "after")}
    assert swap_probe_ids & capital  # the swap's own stored probes, re-scored by the later run


def test_ledger_report_covers_every_edit_of_the_chain(chain, tmp_path: Path) -> None:
    _, runs = chain
    with Store.open() as store:
        version = store.run(runs["capital"]).result_version_id
    result = nudge("report", "--ledger", "--version", str(version), "--out", str(tmp_path / "ledger"))
    assert result.exit_code == 0, _why(result)
    for name in ("report.html", "report.md", "report.json"):
        assert str(tmp_path / "ledger" / name) in result.output.replace("\n", "")
    ledger = json.loads((tmp_path / "ledger" / "report.json").read_text())
    jsonschema.validate(ledger, REPORT_SCHEMA, cls=jsonschema.Draft202012Validator)
    assert [e["name"] for e in ledger["earlier_edits"]] == ["swap-dog-cat", "capital"]
    assert ledger["run"]["ledger_version_id"] == version
    pooled = ledger["metrics"]["after"]["regression_says"]
    assert pooled["n"] == sum(e["after"]["regression_says"]["n"] for e in ledger["earlier_edits"])
    markdown = (tmp_path / "ledger" / "report.md").read_text()
    assert "swap-dog-cat (version" in markdown and "capital (version" in markdown
    # the ledger's own words: it accepts no edit, its phases are "when made" and "now", it re-scores no leaks
    assert "The edit is accepted" not in markdown and "The edit is rejected" not in markdown
    assert re.search(r"Every edit in the chain still holds|An edit in the chain no longer holds|Whether ev", markdown)
    assert "Edits in the chain: do they still hold?" in markdown
    assert "| When made \\[95% CI\\] | Now \\[95% CI\\] |" in markdown  # the metrics table's phases
    assert ledger["summary"]["leaked"] == [LEDGER_LEAK_NOTE]
