"""The edit ledger in the store: rejected versions, the one accept rule, promote and revert, on both backends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from store import InvalidInput, InvalidTransition, Store, VersionRejected, migrate
from store.db import create_engine

SHA = "cd" * 32


def finished_version(store: Store, parent_id: int, passed: bool, accept_failed: bool = False) -> int:
    """A run on `parent_id` that ran to the end with the given verdict; the id of the version it made."""
    run_id = store.create_run({}, "spec", "data", 0, base_version_id=parent_id)
    store.mark_run(run_id, "running")
    verdict = {"verdict": {"status": "pass" if passed else "fail", "passed": passed}}
    version = store.finish_run(
        run_id, parent_id, f"adapters/{run_id}", SHA, verdict, passed=passed, accept_failed=accept_failed
    )
    return version.id


def test_a_failed_verdict_makes_a_rejected_version_of_a_succeeded_run(store: Store) -> None:
    base = store.ensure_base_version("toyworld")
    good = finished_version(store, base.id, passed=True)
    bad = finished_version(store, good, passed=False)
    versions = {v.id: v for v in store.model_versions()}
    assert versions[good].standing == "accepted" and versions[good].verdict == "pass"
    assert versions[bad].standing == "rejected" and versions[bad].verdict == "fail"
    assert not versions[bad].accepted_failed
    assert store.run(versions[bad].run_id).status == "succeeded"  # it ran to the end; the verdict says it failed
    assert versions[base.id].standing == "accepted" and versions[base.id].verdict is None


def test_a_run_with_no_gate_judged_is_listed_as_no_gates_not_pass(store: Store) -> None:
    base = store.ensure_base_version("toyworld")
    run_id = store.create_run({}, "spec", "data", 0, base_version_id=base.id)
    store.mark_run(run_id, "running")
    unjudged = {"verdict": {"status": "none", "passed": True, "gates": [], "contaminated": False}}
    version = store.finish_run(run_id, base.id, f"adapters/{run_id}", SHA, unjudged, passed=True)
    assert {v.id: v for v in store.model_versions()}[version.id].verdict == "none"  # listed as "no gates"


def test_a_rejected_version_cannot_be_built_on_or_promoted_without_accept_failed(store: Store) -> None:
    base = store.ensure_base_version("toyworld")
    bad = finished_version(store, base.id, passed=False)
    run_id = store.create_run({}, "spec", "data", 0, base_version_id=bad)
    store.mark_run(run_id, "running")
    with pytest.raises(VersionRejected, match=f"model version {bad} is rejected.*--accept-failed"):
        store.finish_run(run_id, bad, "adapters/x", SHA, {}, passed=True)
    with pytest.raises(VersionRejected, match="to promote it anyway.*--accept-failed"):
        store.promote_version(bad, by="admin")
    assert store.current_model_version() is None
    assert store.model_version(bad).standing == "rejected"
    assert store.current_version_changes() == []


def test_accept_failed_accepts_and_records_it(store: Store) -> None:
    base = store.ensure_base_version("toyworld")
    accepted = finished_version(store, base.id, passed=False, accept_failed=True)
    assert store.model_version(accepted).standing == "accepted" and store.model_version(accepted).accepted_failed
    bad = finished_version(store, base.id, passed=False)
    child = finished_version(store, bad, passed=True, accept_failed=True)  # building on it accepts it
    assert store.model_version(bad).accepted_failed and store.model_version(child).standing == "accepted"
    other = finished_version(store, base.id, passed=False)
    store.promote_version(other, by="admin", accept_failed=True)
    assert store.current_model_version().id == other and store.model_version(other).accepted_failed
    [change] = store.current_version_changes()
    assert (change.action, change.model_version_id, change.accepted_failed, change.set_by) == (
        "promote",
        other,
        True,
        "admin",
    )


def test_revert_goes_back_along_the_current_chain_and_is_recorded(store: Store) -> None:
    base = store.ensure_base_version("toyworld")
    first = finished_version(store, base.id, passed=True)
    second = finished_version(store, first, passed=True)
    sibling = finished_version(store, base.id, passed=True)
    with pytest.raises(InvalidTransition, match="nothing to revert"):
        store.revert_to(first, by="admin")
    store.promote_version(second, by="admin")
    assert [v.id for v in store.version_chain(second)] == [base.id, first, second]
    with pytest.raises(InvalidInput, match=f"not an ancestor of the current version {second}"):
        store.revert_to(sibling, by="admin")
    with pytest.raises(InvalidInput, match="already the current version"):
        store.revert_to(second, by="admin")
    store.revert_to(first, by="bob")
    assert store.current_model_version().id == first
    assert [v.id for v in store.model_versions()] == [base.id, first, second, sibling]  # nothing deleted
    moves = [(c.action, c.model_version_id, c.previous_version_id, c.set_by) for c in store.current_version_changes()]
    assert moves == [("promote", second, None, "admin"), ("revert", first, second, "bob")]


def test_the_schema_refuses_a_rejected_base_or_accepted_failed_on_a_rejected_version(store: Store) -> None:
    base = store.ensure_base_version("toyworld")
    bad = finished_version(store, base.id, passed=False)
    for statement in (
        f"UPDATE model_versions SET standing = 'rejected' WHERE id = {base.id}",
        f"UPDATE model_versions SET accepted_failed = true WHERE id = {bad}",
        f"UPDATE model_versions SET standing = 'maybe' WHERE id = {bad}",
    ):
        with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as connection:
            connection.exec_driver_sql(statement)


def test_migration_0004_keeps_existing_versions_accepted_and_steps_back(empty_url: str) -> None:
    engine = create_engine(empty_url)
    migrate.upgrade(engine, "0003")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO model_versions (ref, created_at) VALUES ('toyworld', CURRENT_TIMESTAMP)"
        )
    migrate.upgrade(engine, "0004")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT standing, accepted_failed FROM model_versions").one() == (
            "accepted",
            False,
        )
    migrate.upgrade(engine)  # `check` compares the models with the newest schema
    migrate.check(engine)
    migrate.downgrade(engine, "0003")
    inspector = sa.inspect(engine)
    assert "current_version_changes" not in inspector.get_table_names()
    assert {c["name"] for c in inspector.get_columns("model_versions")}.isdisjoint({"standing", "accepted_failed"})
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT ref FROM model_versions").scalar_one() == "toyworld"
    engine.dispose()
