"""`nudge apply` end to end on the toy world: verdicts, exit codes, records, faults."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from peft import PeftModel
from transformers import AutoModelForCausalLM
from typer.testing import CliRunner

from editing.cli import app
from editing.loading import load_suite
from editing.lora import adapter_sha256
from store import Store
from tests.conftest import demo_workspace

EXAMPLES = Path(__file__).parent.parent / "examples"
runner = CliRunner()


def nudge(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory, toyworld_dir: Path):
    """A workspace with the demo feedback imported and the clean and bad edits applied once."""
    with demo_workspace(tmp_path_factory.mktemp("apply-home"), toyworld_dir) as home:
        results = {
            name: nudge("apply", str(EXAMPLES / f"{name}.yaml")) for name in ("dog-cat-swap", "dog-cat-swap-bad")
        }
        yield home, results


def report(home: Path, run_id: int) -> dict:
    return json.loads((home / "reports" / str(run_id) / "report.json").read_text())


def test_clean_edit_takes_and_holds_controls(demo_home) -> None:
    home, results = demo_home
    result = results["dog-cat-swap"]
    assert result.exit_code == 0, result.output
    assert "verdict: PASS" in result.output
    data = report(home, 1)
    after = data["metrics"]["after"]
    assert after["edit"]["value"] >= 0.9 and after["paraphrase"]["value"] >= 0.9
    assert after["control_unchanged"]["value"] >= 0.95
    assert data["verdict"]["passed"] is True
    assert data["contamination"] == []
    # the report says where the old behaviour leaks: leak probes are in it, with both margins
    leaks = [row for row in data["probes"] if row["kind"] == "leak"]
    assert leaks and all(row["margin_before"] is not None and row["margin_after"] is not None for row in leaks)


def test_bad_edit_is_caught(demo_home) -> None:
    home, results = demo_home
    result = results["dog-cat-swap-bad"]
    assert result.exit_code == 3, result.output
    assert "verdict: FAIL" in result.output
    gates = {g["name"]: g for g in report(home, 2)["verdict"]["gates"]}
    assert gates["control_unchanged"]["status"] == "fail"
    clean = report(home, 1)["metrics"]["after"]
    bad = report(home, 2)["metrics"]["after"]
    assert bad["control_unchanged"]["value"] < clean["control_unchanged"]["value"]
    assert bad["kl"]["value"] > clean["kl"]["value"]


def test_run_record_is_complete(demo_home) -> None:
    home, _ = demo_home
    with Store.open() as store:
        run = store.run(1)
        assert run.status == "succeeded" and run.result_version_id is not None
        assert len(store.probe_results(1)) == 2 * len(load_suite("toyworld:dog-cat-swap").probes)
        version = store.model_version(run.result_version_id)
    record = report(home, 1)["run"]
    assert not Path(record["adapter"]["path"]).is_absolute()  # a shared report hides the machine's layout
    assert record["adapter"]["sha256"] == adapter_sha256(home / record["adapter"]["path"]) == version.adapter_sha256
    assert record["adapted_modules"] == [f"transformer.h.{i}.mlp.{m}" for i in range(4) for m in ("c_fc", "c_proj")]
    assert record["training"]["dropped"] == {"annotators tied on the item": 4}
    assert record["base_model"]["fingerprint"] and record["spec_hash"] and record["data_hash"]
    assert {"torch", "transformers", "peft"} <= set(record["versions"])
    assert not [p for p in (home / "adapters").iterdir() if p.name.startswith(".")]  # no half-written adapter


def test_runs_list_show_and_report_commands(demo_home, tmp_path: Path) -> None:
    listing = nudge("runs", "list")
    assert listing.exit_code == 0, listing.output
    assert "swap-dog-cat-bad" in listing.output and "succeeded" in listing.output
    shown = nudge("runs", "show", "1")
    assert shown.exit_code == 0 and "succeeded" in shown.output
    md = nudge("report", "1", "--format", "md", "--out", str(tmp_path / "r.md"))
    assert md.exit_code == 0, md.output
    assert "swap-dog-cat" in (tmp_path / "r.md").read_text()
    compare = nudge("report", "--compare", "1", "2", "--format", "md", "--out", str(tmp_path / "c.md"))
    assert compare.exit_code == 0, compare.output
    assert "run 2" in (tmp_path / "c.md").read_text()


def test_adapter_reloads_and_exports_merged(demo_home, toyworld_dir: Path, tmp_path: Path) -> None:
    home, _ = demo_home
    adapter = home / "adapters" / "1"
    ids = torch.tensor([[265, 471, 474]])
    with torch.no_grad():
        edited = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(toyworld_dir), adapter)(
            input_ids=ids
        ).logits
        result = nudge("export-model", "1", "--out", str(tmp_path / "merged"))
        assert result.exit_code == 0, result.output
        merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged")(input_ids=ids).logits
    assert torch.allclose(edited, merged, atol=1e-4)


def write_spec(tmp_path: Path, **changes) -> Path:
    spec = yaml.safe_load((EXAMPLES / "dog-cat-swap.yaml").read_text())
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_same_spec_same_data_same_seed_same_adapter(demo_home, tmp_path: Path) -> None:
    home, _ = demo_home
    result = nudge("apply", str(write_spec(tmp_path)))
    assert result.exit_code == 0, result.output
    with Store.open() as store:
        newest = store.runs(1)[0]
        assert newest.spec_hash == store.run(1).spec_hash
    assert adapter_sha256(home / "adapters" / str(newest.id)) == adapter_sha256(home / "adapters" / "1")


def test_an_edited_version_is_the_base_of_the_next(demo_home, tmp_path: Path) -> None:
    home, _ = demo_home
    with Store.open() as store:
        version = store.run(1).result_version_id
    spec = write_spec(tmp_path, name="stacked", model=f"version:{version}", train={"steps": 20, "early_stop": "none"})
    result = nudge("apply", str(spec))
    assert result.exit_code in (0, 3), result.output
    with Store.open() as store:
        newest = store.runs(1)[0]
    record = report(home, newest.id)["run"]
    assert record["base_model"]["version_id"] == version
    # the parent's edit is already in the base: before this edit, the dog says meow
    assert report(home, newest.id)["metrics"]["before"]["edit"]["value"] >= 0.9


def test_contamination_is_flagged(demo_home, tmp_path: Path) -> None:
    test_probe = next(p for p in load_suite("toyworld:dog-cat-swap").probes if p.split == "test" and p.kind == "edit")
    feedback = tmp_path / "leaky.jsonl"
    lines = [
        json.dumps(
            {
                "annotator": "alice",
                "kind": "correction",
                "prompt": prompt,
                "output": "woof",
                "verdict": "down",
                "correction": "meow",
            }
        )
        for prompt in ("The dog says", test_probe.prompt)
    ]
    feedback.write_text("\n".join(lines) + "\n")
    spec = write_spec(
        tmp_path,
        name="contaminated",
        feedback={"file": str(feedback), "tags": []},
        train={"steps": 10, "early_stop": "none"},
    )
    result = nudge("apply", str(spec))
    text = " ".join(result.output.split())  # rich wraps long lines
    assert "contamination" in text and "not trustworthy" in text, result.output
    home, _ = demo_home
    with Store.open() as store:
        newest = store.runs(1)[0]
    data = report(home, newest.id)
    assert [row["probe_id"] for row in data["contamination"]] == [test_probe.id]
    # contamination makes the verdict uncertain at best, and uncertain verdicts share one exit rule
    assert data["verdict"]["contaminated"] is True and data["verdict"]["status"] != "pass"
    assert result.exit_code == (0 if data["verdict"]["passed"] else 3)


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        ({"feedback": {"tags": ["no-such-tag"]}}, 2, "selects no usable judgments"),
        ({"probes": ["toyworld:nope"]}, 2, "unknown toy-world suite"),
        ({"lora": {"rank": 0}}, 2, "lora.rank must be an integer >= 1"),
        ({"lora": {"targets": ["q_proj"]}}, 2, "no linear module named 'q_proj'"),
        ({"train": {"stepz": 3}}, 2, "unknown field train.stepz"),
        ({"gates": {"edit": "about 0.9"}}, 2, "gates.edit"),
        ({"train": {"lr": 1e6, "early_stop": "none"}}, 1, "Lower train.lr"),
    ],
)
def test_bad_input_is_one_clear_line(demo_home, tmp_path: Path, changes, code: int, message: str) -> None:
    home, _ = demo_home
    adapters_before = sorted(p.name for p in (home / "adapters").iterdir())
    result = nudge("apply", str(write_spec(tmp_path, **changes)))
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in (home / "adapters").iterdir()) == adapters_before


def test_failed_run_is_recorded_with_its_reason(demo_home, tmp_path: Path) -> None:
    result = nudge("apply", str(write_spec(tmp_path, name="diverges", train={"lr": 1e6, "early_stop": "none"})))
    assert result.exit_code == 1
    with Store.open() as store:
        newest = store.runs(1)[0]
    assert newest.status == "failed" and "diverged" in newest.error


def test_failure_after_the_version_is_registered_surfaces_as_itself(
    demo_home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_report(*args, **kwargs):
        raise RuntimeError("the report could not be assembled")

    monkeypatch.setattr("editing.runs.execute.assemble_report", broken_report)
    result = nudge("apply", str(write_spec(tmp_path, name="late-failure", train={"steps": 3, "early_stop": "none"})))
    assert isinstance(result.exception, RuntimeError), result.exception
    assert "could not be assembled" in str(result.exception)
    with Store.open() as store:
        newest = store.runs(1)[0]
    assert newest.name == "late-failure" and newest.status == "succeeded" and newest.result_version_id is not None


def test_dry_run_trains_nothing(demo_home) -> None:
    with Store.open() as store:
        before = len(store.runs())
    result = nudge("apply", str(EXAMPLES / "dog-cat-swap.yaml"), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "training examples: 20" in result.output and "dry run" in result.output
    with Store.open() as store:
        assert len(store.runs()) == before


def test_killed_run_is_marked_interrupted(demo_home, tmp_path: Path) -> None:
    home, _ = demo_home
    spec = write_spec(tmp_path, name="killed", train={"steps": 5000, "early_stop": "none"})
    adapters_before = sorted(p.name for p in (home / "adapters").iterdir())
    env = {**os.environ, "NUDGE_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "editing.cli", "apply", str(spec)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with Store.open() as store:
                newest = store.runs(1)[0]
            if newest.name == "killed" and newest.status == "running":
                break
            time.sleep(0.5)
        else:
            pytest.fail("the run never started")
        time.sleep(6)  # well into training
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    with Store.open() as store:  # any reader sees the dead run at once; nobody had to mark it
        killed = store.run(newest.id)
    assert killed.status == "interrupted" and f"process {process.pid}" in killed.error
    listed = nudge("runs", "list")
    assert "interrupted" in listed.output and "running" not in listed.output
    assert not (home / "adapters" / str(newest.id)).exists()
    assert not [p for p in (home / "adapters").iterdir() if p.name.startswith(".")]
    # a kill while the adapter was being saved leaves a staging folder or a complete, unregistered one
    shutil.copytree(home / "adapters" / "1", home / "adapters" / f".{newest.id}-x1y2")
    shutil.copytree(home / "adapters" / "1", home / "adapters" / str(newest.id))
    swept = nudge("runs", "gc")
    assert swept.exit_code == 0 and "2 orphan folder(s) removed" in swept.output, swept.output
    assert sorted(p.name for p in (home / "adapters").iterdir()) == adapters_before
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_suites_from_the_store(demo_home, tmp_path: Path) -> None:
    probes = [
        {"id": "s1", "prompt": "The dog says", "target": "meow", "foil": "woof", "kind": "edit", "split": "test"},
        {"id": "s2", "prompt": "The cow says", "target": "moo", "foil": "meow", "kind": "control", "split": "test"},
    ]
    with Store.open() as store:
        store.add_probe_suite("team-suite", probes)
    result = nudge("apply", str(write_spec(tmp_path, probes=["store:team-suite"])), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "2 from store:team-suite" in result.output
    missing = nudge("apply", str(write_spec(tmp_path, probes=["store:nope"])), "--dry-run")
    assert missing.exit_code == 2 and "no probe suite named 'nope'" in missing.output


def test_probe_command_scores_a_suite_with_and_without_the_adapter(demo_home, tmp_path: Path) -> None:
    home, _ = demo_home
    plain = nudge("probe", "--suite", "toyworld:dog-cat-swap", "--out", str(tmp_path / "plain.json"))
    assert plain.exit_code == 0, plain.output
    edited = nudge("probe", "--adapter", str(home / "adapters" / "1"), "--out", str(tmp_path / "edited.json"))
    assert edited.exit_code == 0, edited.output
    rows = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in ("plain", "edited")}
    wins = {name: sum(r["success"] for r in rs if r["kind"] == "edit") for name, rs in rows.items()}
    assert wins["plain"] == 0 and wins["edited"] >= 18
    bad = nudge("probe", "--suite", "toyworld:nope")
    assert bad.exit_code == 2 and "unknown toy-world suite" in bad.output


def test_adapters_and_reports_are_owner_only_and_hide_the_workspace_path(demo_home) -> None:
    home, _ = demo_home
    for folder in (home / "adapters", home / "adapters" / "1", home / "reports" / "1"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    written = [p for p in (home / "adapters" / "1").rglob("*") if p.is_file()]
    written += list((home / "reports" / "1").iterdir())
    assert written and {oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {oct(0o600)}
    for name in ("report.json", "report.html", "report.md"):
        assert str(home) not in (home / "reports" / "1" / name).read_text(), name
