"""The edit ledger end to end on the toy world: a failed verdict makes a rejected version, which cannot be
built on or promoted without --accept-failed; versions list/show/tree, promote and revert; probe on a stored
version's merged chain, and adapters refused on weights they were not trained on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from editing.cli import app
from editing.cli.support import console
from store import Store
from tests.conftest import demo_workspace

EXAMPLES = Path(__file__).parent.parent / "examples"
runner = CliRunner()


def nudge(*args: str):
    return runner.invoke(app, list(args))


def spec_on(tmp: Path, name: str, model: str, **train: object) -> Path:
    """The clean dog-cat swap, made on `model`, with `train` changes and a gate it must fail (`edit <= 0`)."""
    spec = yaml.safe_load((EXAMPLES / "dog-cat-swap.yaml").read_text())
    spec |= {"name": name, "model": model, "gates": {"edit": "<= 0"}}
    spec["train"] |= train
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def tree_depth(output: str, version: str) -> int:
    """How far in the tree drawing indents the node of `version`."""
    for line in output.splitlines():
        label = line.lstrip("│├└─ ")
        if label.startswith(f"{version} "):
            return len(line) - len(label)
    raise AssertionError(f"no node {version} in:\n{output}")


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory, toyworld_dir: Path):
    """Version 1 the base; 2 the bad swap (rejected, until run 2 builds on it with --accept-failed);
    3 made on 2 by run 2, failing its own gate too (so accepted despite a failed verdict)."""
    tmp = tmp_path_factory.mktemp("ledger")
    (tmp / "home").mkdir()
    with demo_workspace(tmp / "home", toyworld_dir) as home:
        on_bad = str(spec_on(tmp, "on-rejected", "version:2", steps=10, early_stop="none"))
        results = {
            "bad": nudge("apply", str(EXAMPLES / "dog-cat-swap-bad.yaml")),
            "on-rejected": nudge("apply", on_bad),
            "accepted": nudge("apply", "--accept-failed", on_bad),
        }
        yield home, tmp, results


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables and paths on one line each, as on a wide terminal."""
    monkeypatch.setattr(console, "width", 240)


def table_rows(output: str) -> dict[str, list[str]]:
    """A rich table's rows by their first cell."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) > 1 and cells[0].isdigit():
            rows[cells[0]] = cells
    return rows


def test_a_failed_verdict_makes_a_rejected_version_that_cannot_be_built_on(ledger) -> None:
    home, _, results = ledger
    bad = results["bad"]
    assert bad.exit_code == 3, bad.output
    assert "version 2: rejected" in bad.output
    refused = results["on-rejected"]
    assert refused.exit_code == 2, refused.output
    assert "model version 2 is rejected" in refused.output and "--accept-failed" in refused.output
    with Store.open() as store:
        assert store.run(1).status == "succeeded"  # it ran to the end; its verdict failed
        assert len(store.runs()) == 2  # the refused spec left no run behind
    report = json.loads((home / "reports" / "1" / "report.json").read_text())
    assert report["run"]["standing"] == "rejected" and report["run"]["accepted_failed"] is False


def test_accept_failed_builds_on_a_rejected_version_and_is_recorded(ledger) -> None:
    home, _, results = ledger
    accepted = results["accepted"]
    assert accepted.exit_code == 3, accepted.output  # its verdict still fails: the exit code says so
    assert "accepted despite a failed verdict" in accepted.output
    with Store.open() as store:
        run = store.run(2)
        assert run.spec["accept_failed"] is True  # the command's flag is recorded in the run's spec
        parent, made = store.model_version(2), store.model_version(run.result_version_id)
    assert parent.standing == "accepted" and parent.accepted_failed  # accepted explicitly, to build on it
    assert made.parent_id == 2 and made.standing == "accepted" and made.accepted_failed and made.verdict == "fail"
    report = json.loads((home / "reports" / "2" / "report.json").read_text())
    assert report["run"]["accepted_failed"] is True
    assert "accepted_failed" in (home / "reports" / "2" / "report.md").read_text()


def test_versions_list_show_tree_and_runs_list(ledger) -> None:
    listing = nudge("versions", "list")
    assert listing.exit_code == 0, listing.output
    rows = table_rows(listing.output)
    # version, parent, standing, verdict, run, name, created, current
    assert rows["1"][2:4] == ["accepted", ""] and rows["1"][5] == "toyworld"
    assert rows["2"][1:6] == ["1", "accepted despite a failed verdict", "fail", "1", "swap-dog-cat-bad"]
    assert rows["3"][1:6] == ["2", "accepted despite a failed verdict", "fail", "2", "on-rejected"]
    shown = nudge("versions", "show", "version:3")
    assert shown.exit_code == 0, shown.output
    assert "chain: toyworld (1) -> 2 -> 3" in shown.output
    assert "gate edit" in shown.output and "reports/2/report.json" in shown.output and "adapters/2" in shown.output
    tree = nudge("versions", "tree")
    assert tree.exit_code == 0, tree.output
    assert tree_depth(tree.output, "1") < tree_depth(tree.output, "2") < tree_depth(tree.output, "3")
    runs = table_rows(nudge("runs", "list").output)
    assert runs["1"][2:5] == ["succeeded", "fail", "2 (accepted despite a failed verdict)"]
    assert nudge("versions", "show", "nine").exit_code == 2


def test_promote_refuses_a_rejected_version_and_revert_goes_back_along_the_chain(ledger) -> None:
    with Store.open() as store:
        run_id = store.create_run({}, "h", "d", 0, base_version_id=3)
        store.mark_run(run_id, "running")
        rejected = store.finish_run(run_id, 3, "adapters/x", "ab" * 32, {"verdict": {"status": "fail"}}, passed=False)
    refused = nudge("promote", str(rejected.id))
    assert refused.exit_code == 2 and "--accept-failed" in refused.output, refused.output
    promoted = nudge("promote", "version:3", "--by", "carol")
    assert promoted.exit_code == 0, promoted.output
    assert table_rows(nudge("versions", "list").output)["3"][7] == "*"
    not_ancestor = nudge("revert", str(rejected.id))
    assert not_ancestor.exit_code == 2 and "not an ancestor" in not_ancestor.output
    reverted = nudge("revert", "version:1")
    assert reverted.exit_code == 0 and "reverted from version 3" in reverted.output
    forced = nudge("promote", str(rejected.id), "--accept-failed")
    assert forced.exit_code == 0 and "accepted despite a failed verdict" in forced.output
    with Store.open() as store:
        assert store.current_model_version().id == rejected.id
        moves = [(c.action, c.model_version_id, c.accepted_failed) for c in store.current_version_changes()]
        assert moves == [("promote", 3, False), ("revert", 1, False), ("promote", rejected.id, True)]
        assert store.current_version_changes()[0].set_by == "carol"
        assert len(store.model_versions()) == 4  # nothing deleted


def test_probe_scores_a_stored_version_and_refuses_an_adapter_on_other_weights(ledger, tmp_path: Path) -> None:
    home, _, _ = ledger
    merged = nudge("probe", "--model", "version:2", "--out", str(tmp_path / "v2.json"))
    assert merged.exit_code == 0, merged.output
    adapted = nudge(
        "probe", "--model", "toyworld", "--adapter", str(home / "adapters/1"), "--out", str(tmp_path / "a1.json")
    )
    assert adapted.exit_code == 0, adapted.output
    on_chain, on_base = (json.loads((tmp_path / f).read_text()) for f in ("v2.json", "a1.json"))
    assert [r["id"] for r in on_chain] == [r["id"] for r in on_base]
    assert all(abs(m["margin"] - a["margin"]) < 1e-3 for m, a in zip(on_chain, on_base, strict=True))
    # adapter 2 was trained on version 2's merged chain: on the bare base it would score something else
    wrong = nudge("probe", "--model", "toyworld", "--adapter", str(home / "adapters/2"))
    assert wrong.exit_code == 2, wrong.output
    assert "--model version:2" in wrong.output
    right = nudge(
        "probe", "--model", "version:2", "--adapter", str(home / "adapters/2"), "--out", str(tmp_path / "a2.json")
    )
    assert right.exit_code == 0, right.output
