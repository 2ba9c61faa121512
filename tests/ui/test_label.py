"""The Label tab's handlers: judge, correct, go back, and the faults, with the rows checked."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gradio as gr
import pytest

import feedback_ui.on_demand
from feedback_ui.auth import AccessDenied
from feedback_ui.tabs import label
from store import MAX_TEXT_CHARS, Generation, Store
from tests.ui.conftest import InProcessApp, as_user, value


def test_two_annotators_judge_correct_and_change_a_judgment(any_backend_ui: InProcessApp) -> None:
    ctx, view, store = any_backend_ui.ctx, any_backend_ui.tabs.label, any_backend_ui.store
    alice, bob = as_user("alice"), as_user("bob")
    first = label.show_next(ctx, view, alice)
    assert value(first[view.prompt]) == "The dog says" and first[view.output].strip() == "woof."
    assert first[view.status].startswith(f"Output {first[view.on_screen]['generation_id']} of model version")
    bobs = label.show_next(ctx, view, bob)
    assert value(bobs[view.prompt]) == "The dog says"
    after = label.submit(ctx, view, first[view.on_screen], "up", "", ["dog-cat"], "fine", alice)
    assert value(after[view.prompt]) == "The dog eats"
    label.submit(ctx, view, bobs[view.on_screen], None, "The dog says meow.", ["dog-cat", "swap"], "", bob)
    judgments = {j.annotator: j for j in store.judgments_for()}
    assert after[view.status].startswith(f"Saved judgment #{judgments['alice'].id}.")
    assert (judgments["alice"].kind, judgments["alice"].verdict, judgments["alice"].note) == ("rating", "up", "fine")
    assert judgments["bob"].kind == "correction" and judgments["bob"].verdict == "down"
    assert judgments["bob"].correction == "The dog says meow." and judgments["bob"].tags == ("dog-cat", "swap")
    assert judgments["bob"].decoding == {"max_new_tokens": 24, "do_sample": False}
    sidebar = label.sidebar(ctx, view, alice)
    assert sidebar[view.progress].startswith("**Me:** 1 submitted, 0 drafts")
    assert [choice[1] for choice in sidebar[view.recent]["choices"]] == [judgments["alice"].id]

    reopened = label.reopen(ctx, view, judgments["alice"].id, alice)
    assert value(reopened[view.prompt]) == "The dog says" and reopened[view.verdict] == "up"
    assert reopened[view.status] == f"Changing my judgment #{judgments['alice'].id} (submitted, version 1)."
    label.submit(ctx, view, reopened[view.on_screen], "down", "", ["dog-cat"], "changed my mind", alice)
    history = store.judgment_history(judgments["alice"].id)
    assert [(h.verdict, h.note) for h in history] == [("up", "fine"), ("down", "changed my mind")]
    assert len(store.judgments_for()) == 2
    with pytest.raises(gr.Error, match="not one of your ratings"):
        label.reopen(ctx, view, judgments["alice"].id, bob)


def test_the_tags_to_pick_from_are_read_when_an_item_is_shown(ui: InProcessApp) -> None:
    ctx, view = ui.ctx, ui.tabs.label
    ui.store.add_prompt("The fox says", tags=["written-after-the-app-started"])
    shown = label.show_next(ctx, view, as_user("alice"))
    assert "written-after-the-app-started" in shown[view.tags]["choices"]


def test_annotators_who_run_dry_at_once_share_one_batched_generation(
    ui: InProcessApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[list[int]] = []
    real_generate = feedback_ui.on_demand.generate_outputs

    def counted(store: Store, version_id: int, *, prompt_ids: list[int], **options: Any) -> list[Generation]:
        batches.append(list(prompt_ids))
        return real_generate(store, version_id, prompt_ids=prompt_ids, **options)

    monkeypatch.setattr(feedback_ui.on_demand, "generate_outputs", counted)
    monkeypatch.setattr(feedback_ui.on_demand, "GATHER_S", 1.0)  # "at once", even on a busy test machine
    with ThreadPoolExecutor(2) as pool:
        jobs = [pool.submit(label.show_next, ui.ctx, ui.tabs.label, as_user(name)) for name in ("alice", "bob")]
        shown = [value(job.result()[ui.tabs.label.prompt]) for job in jobs]
    assert shown == ["The dog says", "The dog says"]
    assert len(batches) == 1, f"one generate call for both annotators, not {batches}"
    assert len(batches[0]) == 2 * feedback_ui.on_demand.GENERATE_AHEAD
    version = ui.store.ensure_base_version("toyworld")
    assert len(ui.store.prompts_without_output(version.id)) == len(ui.store.prompts()) - len(batches[0])


def test_a_draft_is_kept_and_can_be_finished_later(ui: InProcessApp) -> None:
    ctx, view, alice = ui.ctx, ui.tabs.label, as_user("alice")
    shown = label.show_next(ctx, view, alice)
    drafted = label.save_draft(ctx, view, shown[view.on_screen], "down", "", [], "half done", alice)
    (draft,) = ui.store.judgments_for(status="draft")
    assert drafted[view.status] == f"Draft saved. Changing my judgment #{draft.id} (draft, version 1)."
    assert drafted[view.on_screen] == {"generation_id": draft.generation_id, "judgment_id": draft.id}
    reopened = label.reopen(ctx, view, draft.id, alice)
    label.submit(ctx, view, reopened[view.on_screen], "down", "It says woof.", [], "done", alice)
    (done,) = ui.store.judgments_for(status=None)
    assert (done.id, done.status, done.kind, done.note) == (draft.id, "submitted", "correction", "done")


def test_bad_input_is_refused_with_a_message_and_nothing_is_written(ui: InProcessApp) -> None:
    ctx, view, alice = ui.ctx, ui.tabs.label, as_user("alice")
    on_screen = label.show_next(ctx, view, alice)[view.on_screen]
    with pytest.raises(gr.Error, match="Pick Good or Bad"):
        label.submit(ctx, view, on_screen, None, "  ", [], "", alice)
    with pytest.raises(gr.Error, match=f"over the limit of {MAX_TEXT_CHARS:,}"):
        label.submit(ctx, view, on_screen, "down", "x" * (MAX_TEXT_CHARS + 1), [], "", alice)
    with pytest.raises(gr.Error, match="no item on screen"):
        label.submit(ctx, view, None, "up", "", [], "", alice)
    assert ui.store.judgments_for(status=None) == []


def test_a_second_submit_of_the_same_item_makes_no_second_judgment(ui: InProcessApp) -> None:
    ctx, view, alice = ui.ctx, ui.tabs.label, as_user("alice")
    first_tab, second_tab = (label.show_next(ctx, view, alice)[view.on_screen] for _ in range(2))
    assert first_tab == second_tab
    with ThreadPoolExecutor(2) as pool:
        jobs = [pool.submit(label.submit, ctx, view, tab, "up", "", [], "", alice) for tab in (first_tab, second_tab)]
        for job in jobs:
            job.result()
    judgments = ui.store.judgments_for(status=None)
    assert len(judgments) == 1 and judgments[0].version == 1


def test_an_annotator_disabled_while_logged_in_cannot_write(ui: InProcessApp) -> None:
    ctx, view, bob = ui.ctx, ui.tabs.label, as_user("bob")
    on_screen = label.show_next(ctx, view, bob)[view.on_screen]
    ui.store.disable_annotator("bob")
    with pytest.raises(AccessDenied, match="disabled"):
        label.submit(ctx, view, on_screen, "up", "", [], "", bob)
    assert ui.store.judgments_for(status=None) == []


def test_a_model_that_fails_to_generate_gives_a_clear_message(ui: InProcessApp) -> None:
    store = ui.store
    base = store.ensure_base_version("toyworld")
    broken = store.add_adapter_version(base.id, str(ui.env.home / "adapters" / "gone"), "0" * 64)
    store.promote_version(broken.id, by="admin")
    with pytest.raises(gr.Error, match="failed to generate.*adapter.*missing"):
        label.show_next(ui.ctx, ui.tabs.label, as_user("alice"))
    assert [g for p in store.prompts() for g in store.generations_for(p.id)] == []


def test_a_database_locked_for_a_moment_loses_nothing(ui: InProcessApp) -> None:
    ctx, view, alice = ui.ctx, ui.tabs.label, as_user("alice")
    on_screen = label.show_next(ctx, view, alice)[view.on_screen]
    locker = sqlite3.connect(ui.env.home / "nudge.db", check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(1.5, locker.rollback)
    release.start()
    started = time.monotonic()
    label.submit(ctx, view, on_screen, "up", "", [], "", alice)
    assert time.monotonic() - started >= 1.0, "the submit waited for the lock"
    release.join()
    locker.close()
    assert len(ui.store.judgments_for()) == 1


def test_a_database_locked_too_long_says_so_and_keeps_the_form(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("store.db.SQLITE_BUSY_TIMEOUT_MS", 300)
    ui: InProcessApp = request.getfixturevalue("ui")
    ctx, view, alice = ui.ctx, ui.tabs.label, as_user("alice")
    on_screen = label.show_next(ctx, view, alice)[view.on_screen]
    locker = sqlite3.connect(ui.env.home / "nudge.db")
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(gr.Error, match="database is busy or unreachable. Nothing was saved"):
            label.submit(ctx, view, on_screen, "up", "", [], "kept", alice)
    finally:
        locker.rollback()
        locker.close()
    label.submit(ctx, view, on_screen, "up", "", [], "kept", alice)
    (judgment,) = ui.store.judgments_for()
    assert judgment.note == "kept"
