"""`nudge demo --no-ui`: from an empty folder to three recorded edits, their table, and logins that work."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from editing.cli import app
from editing.toyworld.paths import TOYWORLD_DATA
from editing.vocab import METRICS
from editing.workspace import TOYWORLD_MODEL_NAME
from store import Store

REPO = Path(__file__).resolve().parents[1]
# One row of the demo's table: run, edit, verdict, gates pass/fail/uncertain, leak rate (95% CI), report.
RUN_ROW = re.compile(
    r"^\s+(\d+)\s+(\S+)\s+(pass|fail|uncertain)\s+(\d+)/(\d+)/(\d+)\s+(n/a|\S+ \(\S+\))\s+(\S+)\s*$", re.MULTILINE
)
LOGIN_ROW = re.compile(r"^\s+(\S+)\s+(admin|annotator)\s+([a-z0-9]{4}(?:-[a-z0-9]{4}){3})\s*$", re.MULTILINE)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, toyworld_dir: Path) -> tuple[Path, subprocess.CompletedProcess]:
    """`nudge demo --no-ui --home DIR` run once, as a real process, with the session's toy model shared."""
    shared = tmp_path_factory.mktemp("nudge-home")
    (shared / "models").mkdir()
    (shared / "models" / TOYWORLD_MODEL_NAME).symlink_to(toyworld_dir, target_is_directory=True)
    home = shared / "my-demo"
    env = {k: v for k, v in os.environ.items() if k != "NUDGE_DB"} | {"NUDGE_HOME": str(shared), "COLUMNS": "120"}
    result = subprocess.run(
        [sys.executable, "-m", "editing.cli", "demo", "--no-ui", "--home", str(home)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    print(result.stdout, result.stderr)  # pytest shows the demo's own output when an assertion fails
    return home, result


def test_demo_applies_the_three_examples_and_records_what_its_table_says(demo) -> None:
    home, result = demo
    assert result.returncode == 0, result.stderr
    rows = {row[1]: row for row in RUN_ROW.findall(result.stdout)}
    assert sorted(rows) == ["capital-change", "swap-dog-cat", "swap-dog-cat-bad"]
    assert rows["swap-dog-cat"][2] == "pass"
    assert rows["swap-dog-cat-bad"][2] == "fail"  # a failed gate is a row, not the end of the demo
    assert re.search(r"ready in \d+ s", result.stdout)

    with Store.open(f"sqlite:///{home / 'nudge.db'}", workspace=home) as store:
        runs = store.runs()
        assert sorted(run.name for run in runs) == sorted(rows)
        for run in runs:
            run_id, _, verdict, passed, failed, uncertain, leak, report_path = rows[run.name]
            assert run.status == "succeeded" and int(run_id) == run.id
            report = json.loads((home / "reports" / str(run.id) / "report.json").read_text())
            assert report["verdict"] == run.metrics["verdict"]
            assert verdict == report["verdict"]["status"]
            statuses = [gate["status"] for gate in report["verdict"]["gates"]]
            assert (int(passed), int(failed), int(uncertain)) == tuple(
                map(statuses.count, ("pass", "fail", "uncertain"))
            )
            assert leak.startswith(METRICS["leak_rate"].format(report["metrics"]["after"]["leak_rate"]["value"]))
            assert home / report_path == home / "reports" / str(run.id) / "report.html"
            assert all((home / "reports" / str(run.id) / name).is_file() for name in ("report.html", "report.md"))
            version = store.model_version(run.result_version_id)
            assert version.parent_id == run.base_version_id and Path(version.adapter_path).is_dir()
        assert len(store.model_versions()) == 1 + len(runs)  # the toy model, and one edit of it per run

        people = {person.name: person for person in store.list_annotators()}
        feedback = _jsonl(TOYWORLD_DATA / "demo_feedback.jsonl")
        assert {name: p.role for name, p in people.items()} == {"admin": "admin"} | {
            line["annotator"]: "annotator" for line in feedback
        }
        logins = LOGIN_ROW.findall(result.stdout)
        assert sorted(name for name, _, _ in logins) == sorted(people)
        for name, role, password in logins:
            assert role == people[name].role and store.log_in(name, password), f"{name} cannot log in"

        stored = {prompt.text for prompt in store.prompts()}
        assert {line["text"] for line in _jsonl(TOYWORLD_DATA / "prompts.jsonl")} <= stored
        assert len(store.judgments_for(status=None)) == len(feedback)


def test_demo_never_replaces_a_folder_it_did_not_make(tmp_path: Path) -> None:
    home = tmp_path / "someone-elses-workspace"
    home.mkdir()
    (home / "nudge.db").write_text("precious")
    result = CliRunner().invoke(app, ["demo", "--no-ui", "--home", str(home)])
    assert result.exit_code == 2, result.output
    assert "was not made by `nudge demo`" in result.output
    assert (home / "nudge.db").read_text() == "precious"
