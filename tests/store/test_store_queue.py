"""The annotator's queue: next unjudged output, skipping, tags, progress, and an indexed plan."""

from __future__ import annotations

import sqlalchemy as sa

from store import Store
from tests.store.helpers import seed_outputs


def test_next_item_walks_the_outputs_in_order_and_ends_with_none(store: Store) -> None:
    store.add_annotator("alice")
    items = seed_outputs(store, 3, tags=("dog-cat",))
    seen = []
    while (item := store.next_item_for("alice")) is not None:
        assert item.prompt_tags == ("dog-cat",) and item.model_ref == "toyworld"
        seen.append(item.generation_id)
        store.submit_judgment("alice", item.generation_id, "rating", "up")
    assert seen == items


def test_everyone_gets_the_same_order_so_items_collect_several_judgments(store: Store) -> None:
    store.add_annotator("alice")
    store.add_annotator("bob")
    items = seed_outputs(store, 3)
    store.submit_judgment("alice", items[0], "rating", "up")
    assert store.next_item_for("bob").generation_id == items[0]
    assert store.next_item_for("alice").generation_id == items[1]


def test_skipping_moves_on_and_the_queue_wraps_around_to_skipped_items(store: Store) -> None:
    store.add_annotator("alice")
    items = seed_outputs(store, 3)
    first = store.next_item_for("alice")
    skipped_to = store.next_item_for("alice", after=first.generation_id)
    assert skipped_to.generation_id == items[1]
    store.submit_judgment("alice", items[1], "rating", "up")
    store.submit_judgment("alice", items[2], "rating", "up")
    assert store.next_item_for("alice").generation_id == items[0]  # the skipped one, after wrapping


def test_discarding_puts_an_item_back_in_the_queue(store: Store) -> None:
    store.add_annotator("alice")
    (only,) = seed_outputs(store, 1)
    judgment = store.submit_judgment("alice", only, "rating", "up")
    assert store.next_item_for("alice") is None
    store.discard_judgment("alice", judgment.id)
    assert store.next_item_for("alice").generation_id == only


def test_tags_and_model_version_restrict_the_queue(store: Store) -> None:
    store.add_annotator("alice")
    animals = seed_outputs(store, 2, tags=("animals",))
    version = store.ensure_base_version("toyworld")
    geo = store.add_prompt("The capital of Koudeland is", tags=["geography"])
    (capital,) = store.add_generations(version.id, [(geo.id, "Gaiskaport")])
    assert store.next_item_for("alice", tags=["geography"]).generation_id == capital.id
    store.submit_judgment("alice", capital.id, "rating", "up")
    assert store.next_item_for("alice", tags=["geography"]) is None
    assert store.next_item_for("alice", tags=["animals", "geography"]).generation_id == animals[0]
    other = store.ensure_base_version("other-model")
    (theirs,) = store.add_generations(other.id, [(geo.id, "Velmora")])
    assert store.next_item_for("alice", model_version_id=other.id).generation_id == theirs.id


def test_a_preference_counts_as_judging_both_of_its_outputs(store: Store) -> None:
    store.add_annotator("alice")
    version = store.ensure_base_version("toyworld")
    prompt = store.add_prompt("The dog says")
    woof, meow = store.add_generations(version.id, [(prompt.id, "woof"), (prompt.id, "meow")])
    store.submit_judgment("alice", woof.id, "preference", "b", generation_b_id=meow.id)
    assert store.next_item_for("alice") is None


def test_progress_by_annotator(store: Store) -> None:
    store.add_annotator("alice")
    store.add_annotator("bob")
    items = seed_outputs(store, 4, tags=("dog-cat",))
    store.submit_judgment("alice", items[0], "rating", "up")
    store.submit_judgment("alice", items[1], "rating", "up", status="draft")
    gone = store.submit_judgment("alice", items[2], "rating", "up")
    store.discard_judgment("alice", gone.id)
    alice, bob = store.progress_by_annotator()
    assert (alice.annotator, alice.submitted, alice.drafts, alice.discarded, alice.remaining) == ("alice", 1, 1, 1, 2)
    assert alice.last_activity is not None
    assert (bob.submitted, bob.remaining, bob.last_activity) == (0, 4, None)
    assert [p.remaining for p in store.progress_by_annotator(tags=["elsewhere"])] == [0, 0]


def test_the_next_item_query_uses_indexes_not_table_scans(store: Store) -> None:
    store.add_annotator("alice")
    items = seed_outputs(store, 40, tags=("dog-cat",))
    for generation_id in items[:30]:
        store.submit_judgment("alice", generation_id, "rating", "up")
    with store.engine.connect() as connection:  # with planner statistics, as a long-lived database has
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    captured: list[tuple[str, dict[str, object]]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM generations" in statement and "judgments" in statement:
            captured.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", capture)
    store.next_item_for("alice", tags=["dog-cat"])
    sa.event.remove(store.engine, "before_cursor_execute", capture)
    assert captured
    statement, parameters = captured[0]
    if store.engine.dialect.name == "sqlite":
        text = plan_sqlite(store, statement, parameters)
        assert "SCAN judgments" not in text and "SCAN prompt_tags" not in text, text
        assert "ix_judgments_annotator_generation" in text and "ix_judgments_generation_b" in text, text
    else:
        text = plan_postgres(store, statement, parameters)
        assert "Seq Scan on judgments" not in text and "Seq Scan on generations" not in text, text


def plan_sqlite(store: Store, statement: str, parameters: object) -> str:
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return "\n".join(str(r[-1]) for r in rows)


def plan_postgres(store: Store, statement: str, parameters: object) -> str:
    with store.engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")  # tiny tables would be scanned anyway
        rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
    return "\n".join(r[0] for r in rows)
