"""Rules the database itself enforces, even for writers that bypass the Python API."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import store.db
from store import MAX_TEXT_CHARS, Store
from tests.store.helpers import seed_outputs

NOW = "2025-01-01 00:00:00+00:00"


def raw(store: Store, sql: str, **params: object) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.text(sql), params)


def add_judgment_sql(**overrides: object) -> tuple[str, dict[str, object]]:
    values: dict[str, object] = {
        "annotator_id": 1,
        "kind": "rating",
        "generation_id": 1,
        "generation_b_id": None,
        "verdict": "up",
        "correction": None,
        "note": "",
        "status": "submitted",
        "version": 1,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(overrides)
    columns = ", ".join(values)
    return f"INSERT INTO judgments ({columns}) VALUES ({', '.join(':' + c for c in values)})", values


@pytest.fixture
def seeded(store: Store) -> Store:
    store.add_annotator("alice")
    seed_outputs(store, 2)  # generations 1 and 2
    return store


@pytest.mark.parametrize(
    "overrides",
    [
        {"kind": "vibe"},
        {"status": "maybe"},
        {"verdict": "a"},  # a rating's verdict is up or down
        {"kind": "preference", "verdict": "up", "generation_b_id": 2},
        {"kind": "preference", "verdict": "a"},  # a preference needs its B side
        {"kind": "preference", "verdict": "a", "generation_b_id": 1},  # B differs from A
        {"generation_b_id": 2},  # only preferences have a B side
        {"kind": "correction", "verdict": "down"},  # a correction needs its text
        {"kind": "correction", "verdict": "down", "correction": ""},
        {"correction": "meow"},  # only corrections carry one
        {"note": "x" * (MAX_TEXT_CHARS + 1)},
        {"version": 0},
        {"annotator_id": 99},  # foreign key
        {"generation_id": 99},  # foreign key
    ],
)
def test_check_and_foreign_key_constraints_reject_bad_judgments(seeded: Store, overrides: dict[str, object]) -> None:
    sql, params = add_judgment_sql(**overrides)
    with pytest.raises(sa.exc.IntegrityError):
        raw(seeded, sql, **params)


def test_one_live_judgment_per_annotator_per_item_is_a_unique_index(seeded: Store) -> None:
    sql, params = add_judgment_sql()
    raw(seeded, sql, **params)
    with pytest.raises(sa.exc.IntegrityError):
        raw(seeded, sql, **params)
    discarded_sql, discarded = add_judgment_sql(status="discarded")
    raw(seeded, discarded_sql, **discarded)  # history may hold any number of discarded ones
    raw(seeded, discarded_sql, **discarded)


def test_one_live_preference_per_annotator_per_pair(store: Store) -> None:
    store.add_annotator("alice")
    version = store.ensure_base_version("toyworld")
    prompt = store.add_prompt("The dog says")
    store.add_generations(version.id, [(prompt.id, "woof"), (prompt.id, "meow")])
    sql, params = add_judgment_sql(kind="preference", verdict="a", generation_id=1, generation_b_id=2)
    raw(store, sql, **params)
    with pytest.raises(sa.exc.IntegrityError):
        raw(store, sql, **params)


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("INSERT INTO prompts (text, text_sha256, created_at) VALUES ('', 'h1', :now)", {}),
        ("INSERT INTO prompts (text, text_sha256, created_at) VALUES (:big, 'h2', :now)", {"big": "x" * 20_001}),
        ("INSERT INTO annotators (name, role, active, created_at) VALUES ('eve', 'root', true, :now)", {}),
        ("INSERT INTO annotators (name, role, active, created_at) VALUES ('', 'admin', true, :now)", {}),
        ("INSERT INTO model_versions (ref, created_at) VALUES (NULL, :now)", {}),
        (
            "INSERT INTO model_versions (parent_id, adapter_path, adapter_sha256, created_at)"
            " VALUES (1, 'a', 'short', :now)",
            {},
        ),
        (
            "INSERT INTO edit_runs (spec, spec_hash, data_hash, seed, status, host, pid, created_at)"
            " VALUES ('{}', 'h', 'd', 0, 'done', 'x', 1, :now)",
            {},
        ),
        ("INSERT INTO prompt_tags (prompt_id, tag) VALUES (99, 'dog-cat')", {}),
    ],
)
def test_other_tables_check_their_values(store: Store, sql: str, params: dict[str, object]) -> None:
    store.ensure_base_version("toyworld")
    with pytest.raises(sa.exc.IntegrityError):
        raw(store, sql, now=NOW, **params)


def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_the_sqlite_wal_is_checkpointed_after_commits(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store.db, "SQLITE_CHECKPOINT_EVERY", 10)
    sqlite_store.add_annotator("alice")
    items = seed_outputs(sqlite_store, 150)
    for generation_id in items:
        sqlite_store.submit_judgment("alice", generation_id, "rating", "up", note="x" * 2000)
    wal = tmp_path / "nudge.db-wal"
    # unchecked, 150 commits of several pages each would leave a WAL of megabytes
    assert wal.stat().st_size < 600_000, wal.stat().st_size
