"""Probe suites, model versions, edit runs and their probe results."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from store import AlreadyExists, InvalidInput, InvalidTransition, NotFound, ProbeScore, Store
from store import models as m
from store.runs import STALE_AFTER_SECONDS
from tests.store.helpers import DATA

SHA = "ab" * 32


def toy_suite() -> list[dict[str, object]]:
    path = DATA / "dog-cat-swap.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_toy_worlds_suite_round_trips_in_order_with_its_extra_fields(store: Store) -> None:
    rows = toy_suite()
    suite = store.add_probe_suite("toyworld:dog-cat-swap", rows)
    assert len(suite.probes) == len(rows) and store.probe_suites() == ["toyworld:dog-cat-swap"]
    first = store.probe_suite("toyworld:dog-cat-swap").probes[0]
    assert (first.key, first.prompt, first.target, first.foil, first.kind, first.split) == (
        rows[0]["id"],
        rows[0]["prompt"],
        rows[0]["target"],
        rows[0]["foil"],
        rows[0]["kind"],
        rows[0]["split"],
    )
    assert first.meta == {"relation": "sound", "subject": "dog", "phrasing": 0}
    assert [p.key for p in suite.probes] == [r["id"] for r in rows]


def test_a_stored_suite_never_changes(store: Store) -> None:
    rows = toy_suite()[:3]
    first = store.add_probe_suite("swap", rows)
    assert store.add_probe_suite("swap", rows) == first  # the same content again: a no-op
    changed = [{**rows[0], "target": "purr"}, *rows[1:]]
    with pytest.raises(AlreadyExists, match="under a new name"):
        store.add_probe_suite("swap", changed)


@pytest.mark.parametrize(
    ("probe", "message"),
    [
        ({"prompt": "p", "target": "t", "foil": "f", "kind": "vibe", "split": "test"}, "kind 'vibe'"),
        ({"prompt": "p", "target": "t", "foil": "f", "kind": "edit", "split": "dev"}, "split 'dev'"),
        ({"prompt": "p", "target": "", "foil": "f", "kind": "edit", "split": "test"}, "probe 1: target is empty"),
    ],
)
def test_bad_probes_are_refused(store: Store, probe: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        store.add_probe_suite("bad", [probe])
    assert store.probe_suites() == []


def test_model_versions_base_and_adapter(store: Store) -> None:
    base = store.ensure_base_version("toyworld", fingerprint="fp1")
    assert store.ensure_base_version("toyworld") == base  # found by ref
    with pytest.raises(InvalidInput, match="fingerprint fp1"):
        store.ensure_base_version("toyworld", fingerprint="fp2")
    run_id = store.create_run({"name": "swap"}, "spec-hash", "data-hash", 0, base_version_id=base.id)
    edited = store.add_adapter_version(base.id, "adapters/1", SHA, run_id=run_id)
    assert (edited.parent_id, edited.adapter_sha256, edited.run_id, edited.is_base) == (base.id, SHA, run_id, False)
    assert store.run(run_id).result_version_id == edited.id
    store.mark_run(run_id, "running")
    assert store.mark_run(run_id, "succeeded", result_version=edited.id).result_version_id == edited.id
    other = store.create_run({"name": "other"}, "spec-hash", "data-hash", 0)
    store.mark_run(other, "running")
    with pytest.raises(InvalidInput, match=f"produced by run {run_id}"):
        store.mark_run(other, "succeeded", result_version=edited.id)
    assert store.run(other).status == "running"  # the refused change left the run as it was
    assert [v.id for v in store.model_versions()] == [base.id, edited.id]
    with pytest.raises(InvalidInput, match="64 lowercase hex"):
        store.add_adapter_version(base.id, "adapters/2", "nope")


def test_a_run_moves_through_its_statuses_and_keeps_its_record(store: Store) -> None:
    spec = {"name": "swap-dog-cat", "lora": {"rank": 4}, "gates": {"edit": ">= 0.95"}}
    run_id = store.create_run(spec, "spec-hash", "data-hash", 7, name="swap-dog-cat")
    queued = store.run(run_id)
    assert (queued.status, queued.spec, queued.seed, queued.started_at) == ("queued", spec, 7, None)
    running = store.mark_run(run_id, "running")
    assert running.started_at is not None
    done = store.mark_run(run_id, "succeeded", metrics={"edit": 1.0, "leak_rate": 0.1})
    assert done.metrics == {"edit": 1.0, "leak_rate": 0.1} and done.seconds is not None and done.seconds >= 0
    with pytest.raises(InvalidTransition, match="is succeeded; it cannot become running"):
        store.mark_run(run_id, "running")
    failed = store.create_run(spec, "h", "d", 0)
    store.mark_run(failed, "running")
    assert store.mark_run(failed, "failed", error="loss became NaN at step 12").error == "loss became NaN at step 12"
    assert [r.id for r in store.runs()] == [failed, run_id]
    with pytest.raises(InvalidInput, match="JSON"):
        store.create_run({"lr": float("nan")}, "h", "d", 0)
    with pytest.raises(NotFound):
        store.run(999)


def test_stale_runs_of_dead_processes_are_marked_interrupted(empty_url: str) -> None:
    with Store.init_db(empty_url) as store:
        mine = store.create_run({}, "h", "d", 0)
        store.mark_run(mine, "running")
    # another process starts a run and dies without finishing it
    script = (
        "import sys; from store import Store\n"
        "s = Store.open(sys.argv[1]); r = s.create_run({}, 'h', 'd', 0); s.mark_run(r, 'running'); print(r)"
    )
    done = subprocess.run([sys.executable, "-c", script, empty_url], capture_output=True, text=True, check=True)
    orphan = int(done.stdout)
    with Store.open(empty_url) as store:
        assert store.interrupt_stale_runs() == [orphan]
        interrupted = store.run(orphan)
        assert interrupted.status == "interrupted" and "ended while the run was running" in interrupted.error
        assert store.run(mine).status == "running"  # this process is alive
        assert store.interrupt_stale_runs() == []


def test_a_reader_sees_a_dead_run_interrupted_at_once(empty_url: str) -> None:
    """Nobody has to mark the run first: reading the runs is enough."""
    Store.init_db(empty_url).close()
    script = (
        "import sys; from store import Store\n"
        "s = Store.open(sys.argv[1]); r = s.create_run({}, 'h', 'd', 0); s.mark_run(r, 'running'); print(r)"
    )
    done = subprocess.run([sys.executable, "-c", script, empty_url], capture_output=True, text=True, check=True)
    dead = int(done.stdout)
    with Store.open(empty_url) as store:
        assert store.run(dead).status == "interrupted"
    with Store.open(empty_url) as store:
        assert [(r.id, r.status) for r in store.runs()] == [(dead, "interrupted")]


def test_a_run_on_another_host_is_dead_when_its_heartbeat_is_stale(store: Store) -> None:
    quiet, beating = (store.create_run({}, "h", "d", 0) for _ in range(2))
    for run_id in (quiet, beating):
        store.mark_run(run_id, "running")
    long_ago = datetime.now(timezone.utc) - timedelta(seconds=STALE_AFTER_SECONDS + 60)
    engine = sa.create_engine(store.url)
    with engine.begin() as connection:
        connection.execute(
            sa.update(m.EditRun).values(
                host="another-host", pid=1, created_at=long_ago, started_at=long_ago, heartbeat_at=long_ago
            )
        )
    engine.dispose()
    store.beat(beating)
    runs = {r.id: r for r in store.runs()}
    assert runs[quiet].status == "interrupted" and "no heartbeat from process 1 on another-host" in runs[quiet].error
    assert runs[beating].status == "running"
    assert runs[beating].heartbeat_at > long_ago


def test_an_adapter_is_registered_only_when_its_run_finishes(store: Store) -> None:
    base = store.ensure_base_version("toyworld")
    unfinished = store.create_run({}, "h", "d", 0, base_version_id=base.id)
    with pytest.raises(InvalidTransition, match="only a running run can finish"):
        store.finish_run(unfinished, base.id, "adapters/1", SHA, {"verdict": {}}, passed=True)
    assert [v.id for v in store.model_versions()] == [base.id]
    store.mark_run(unfinished, "running")
    version = store.finish_run(unfinished, base.id, "adapters/1", SHA, {"verdict": {"status": "pass"}}, passed=True)
    finished = store.run(unfinished)
    assert finished.status == "succeeded" and finished.result_version_id == version.id
    assert version.run_id == unfinished and version.parent_id == base.id


def test_probe_results_per_run_probe_and_phase(store: Store) -> None:
    suite = store.add_probe_suite("swap", toy_suite()[:2])
    run_id = store.create_run({}, "h", "d", 0)
    p1, p2 = (p.id for p in suite.probes)
    rows = [
        ProbeScore(p1, "before", -3.0, -1.0, target_greedy=False, continuation=" woof"),
        ProbeScore(p1, "after", -0.5, -4.0, target_greedy=True, continuation=" meow"),
        ProbeScore(p2, "before", -2.0, -1.5),
    ]
    assert store.record_probe_results(run_id, rows) == 3
    results = store.probe_results(run_id)
    assert [(r.probe_key, r.phase, r.margin) for r in results] == [
        ("dog-cat-swap-001", "before", -2.0),
        ("dog-cat-swap-001", "after", 3.5),
        ("dog-cat-swap-002", "before", -0.5),
    ]
    assert [r.continuation for r in store.probe_results(run_id, phase="after")] == [" meow"]
    with pytest.raises(InvalidInput, match="scored twice"):
        store.record_probe_results(run_id, [rows[2], rows[2]])
    with pytest.raises(NotFound, match="no probes with ids"):
        store.record_probe_results(run_id, [ProbeScore(999, "before", 0.0, 0.0)])
    with pytest.raises(AlreadyExists, match="already has a 'before' score"):
        store.record_probe_results(run_id, [rows[0]])
    assert len(store.probe_results(run_id)) == 3
