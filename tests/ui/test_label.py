"""The Label tab through its API (gradio_client): judge, correct, go back, and the faults, with the rows checked."""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import pytest
from gradio_client.exceptions import AppError

import feedback_ui.on_demand
from store import MAX_TEXT_CHARS, Generation, Store
from tests.ui.conftest import LiveApp

PROMPT, OUTPUT, VERDICT, CORRECTION, TAGS, NOTE, STATUS = range(7)


def value(update: object) -> object:
    return update["value"] if isinstance(update, dict) else update


def test_two_annotators_judge_correct_and_change_a_judgment(any_backend_app: LiveApp) -> None:
    store = any_backend_app.store
    alice, bob = any_backend_app.client("alice"), any_backend_app.client("bob")
    first = alice.predict(api_name="/label_next")
    assert value(first[PROMPT]) == "The dog says" and first[OUTPUT].strip() == "woof."
    assert value(bob.predict(api_name="/label_next")[PROMPT]) == "The dog says"
    after = alice.predict("up", "", ["dog-cat"], "fine", api_name="/label_submit")
    assert value(after[PROMPT]) == "The dog eats"
    bob.predict(None, "The dog says meow.", ["dog-cat", "swap"], "", api_name="/label_submit")
    judgments = {j.annotator: j for j in store.judgments_for()}
    assert (judgments["alice"].kind, judgments["alice"].verdict, judgments["alice"].note) == ("rating", "up", "fine")
    assert judgments["bob"].kind == "correction" and judgments["bob"].verdict == "down"
    assert judgments["bob"].correction == "The dog says meow." and judgments["bob"].tags == ("dog-cat", "swap")
    assert judgments["bob"].decoding == {"max_new_tokens": 24, "do_sample": False}
    reopened = alice.predict(judgments["alice"].id, api_name="/label_open")
    assert value(reopened[PROMPT]) == "The dog says" and reopened[VERDICT] == "up"
    alice.predict("down", "", ["dog-cat"], "changed my mind", api_name="/label_submit")
    history = store.judgment_history(judgments["alice"].id)
    assert [(h.verdict, h.note) for h in history] == [("up", "fine"), ("down", "changed my mind")]
    assert len(store.judgments_for()) == 2


def test_annotators_who_run_dry_at_once_share_one_batched_generation(
    live_app: LiveApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[list[int]] = []
    real_generate = feedback_ui.on_demand.generate_outputs

    def counted(store: Store, version_id: int, *, prompt_ids: list[int], **options: Any) -> list[Generation]:
        batches.append(list(prompt_ids))
        return real_generate(store, version_id, prompt_ids=prompt_ids, **options)

    monkeypatch.setattr(feedback_ui.on_demand, "generate_outputs", counted)
    monkeypatch.setattr(feedback_ui.on_demand, "GATHER_S", 1.0)  # "at once", even on a busy test machine
    alice, bob = live_app.client("alice"), live_app.client("bob")
    jobs = [client.submit(api_name="/label_next") for client in (alice, bob)]
    shown = [value(job.result()[PROMPT]) for job in jobs]
    assert shown == ["The dog says", "The dog says"]
    assert len(batches) == 1, f"one generate call for both annotators, not {batches}"
    assert len(batches[0]) == 2 * feedback_ui.on_demand.GENERATE_AHEAD
    version = live_app.store.current_model_version() or live_app.store.ensure_base_version("toyworld")
    assert len(live_app.store.prompts_without_output(version.id)) == len(live_app.store.prompts()) - len(batches[0])


def test_a_draft_is_kept_and_can_be_finished_later(live_app: LiveApp) -> None:
    alice = live_app.client("alice")
    alice.predict(api_name="/label_next")
    alice.predict("down", "", [], "half done", api_name="/label_save_draft")
    (draft,) = live_app.store.judgments_for(status="draft")
    alice.predict(draft.id, api_name="/label_open")
    alice.predict("down", "It says woof.", [], "done", api_name="/label_submit")
    (done,) = live_app.store.judgments_for(status=None)
    assert (done.id, done.status, done.kind, done.note) == (draft.id, "submitted", "correction", "done")


def test_bad_input_is_refused_with_a_message_and_nothing_is_written(live_app: LiveApp) -> None:
    alice = live_app.client("alice")
    alice.predict(api_name="/label_next")
    with pytest.raises(AppError, match="Pick Good or Bad"):
        alice.predict(None, "", [], "", api_name="/label_submit")
    with pytest.raises(AppError, match=f"over the limit of {MAX_TEXT_CHARS:,}"):
        alice.predict("down", "x" * (MAX_TEXT_CHARS + 1), [], "", api_name="/label_submit")
    assert live_app.store.judgments_for(status=None) == []


def test_a_second_submit_of_the_same_item_makes_no_second_judgment(live_app: LiveApp) -> None:
    first_tab, second_tab = live_app.client("alice"), live_app.client("alice")
    assert value(first_tab.predict(api_name="/label_next")[PROMPT]) == value(
        second_tab.predict(api_name="/label_next")[PROMPT]
    )
    jobs = [tab.submit("up", "", [], "", api_name="/label_submit") for tab in (first_tab, second_tab)]
    for job in jobs:
        job.result()
    judgments = live_app.store.judgments_for(status=None)
    assert len(judgments) == 1 and judgments[0].version == 1


def test_an_annotator_disabled_while_logged_in_cannot_write(live_app: LiveApp) -> None:
    bob = live_app.client("bob")
    bob.predict(api_name="/label_next")
    live_app.store.disable_annotator("bob")
    with pytest.raises(AppError, match="disabled"):
        bob.predict("up", "", [], "", api_name="/label_submit")
    assert live_app.store.judgments_for(status=None) == []


def test_a_model_that_fails_to_generate_gives_a_clear_message(live_app: LiveApp) -> None:
    store = live_app.store
    base = store.ensure_base_version("toyworld")
    broken = store.add_adapter_version(base.id, str(live_app.env.home / "adapters" / "gone"), "0" * 64)
    store.promote_version(broken.id, by="admin")
    with pytest.raises(AppError, match="failed to generate.*adapter.*missing"):
        live_app.client("alice").predict(api_name="/label_next")
    assert [g for p in store.prompts() for g in store.generations_for(p.id)] == []


def test_a_database_locked_for_a_moment_loses_nothing(live_app: LiveApp) -> None:
    alice = live_app.client("alice")
    alice.predict(api_name="/label_next")
    locker = sqlite3.connect(live_app.env.home / "nudge.db", check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(1.5, locker.rollback)
    release.start()
    started = time.monotonic()
    alice.predict("up", "", [], "", api_name="/label_submit")
    assert time.monotonic() - started >= 1.0, "the submit waited for the lock"
    release.join()
    locker.close()
    assert len(live_app.store.judgments_for()) == 1


def test_a_database_locked_too_long_says_so_and_keeps_the_form(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("store.db.SQLITE_BUSY_TIMEOUT_MS", 300)
    live: LiveApp = request.getfixturevalue("live_app")
    alice = live.client("alice")
    alice.predict(api_name="/label_next")
    locker = sqlite3.connect(live.env.home / "nudge.db")
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(AppError, match="database is busy or unreachable. Nothing was saved"):
            alice.predict("up", "", [], "kept", api_name="/label_submit")
    finally:
        locker.rollback()
        locker.close()
    alice.predict("up", "", [], "kept", api_name="/label_submit")
    (judgment,) = live.store.judgments_for()
    assert judgment.note == "kept"
