"""Probes written in the app: splits dealt by the app, coverage from the Wilson bound, contamination flags."""

from __future__ import annotations

from collections import Counter

import gradio as gr
import pytest

from feedback_ui.coverage import coverage, probes_needed
from feedback_ui.probe_writing import ProbeInputError, add_probes, parse_probe_lines
from feedback_ui.splits import assign_splits
from feedback_ui.tabs import probes
from store import InvalidInput
from store.probe_writing import append_probes
from tests.ui.conftest import InProcessApp, as_user, login, save_screenshot, value

HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=1"> The dog says'


def test_splits_are_seeded_stratified_and_mostly_test() -> None:
    new = [("paraphrase", "sound")] * 20 + [("paraphrase", "food")] * 20 + [("edit", "sound")] * 8
    splits = assign_splits("dog-cat", [], new)
    assert splits == assign_splits("dog-cat", [], new)  # the same deal every time
    assert Counter(splits[:20]) == Counter(splits[20:40]) == {"test": 16, "val": 4}
    assert Counter(splits[40:]) == {"test": 4, "val": 2, "train": 2}
    # one at a time gives the same splits as all at once
    one_by_one = [assign_splits("dog-cat", new[:i], [new[i]])[0] for i in range(len(new))]
    assert one_by_one == splits
    with pytest.raises(ValueError, match="unknown probe kind"):
        assign_splits("s", [], [("oops", "")])


def test_coverage_matches_the_table_in_the_metrics_doc() -> None:
    assert [probes_needed(t) for t in (0.5, 0.8, 0.9, 0.95, 0.99)] == [4, 16, 35, 73, 381]
    rows = {c.kind: c for c in coverage([("leak", "test")] * 16 + [("leak", "val")] * 5)}
    assert rows["leak"].test_probes == 16 and rows["leak"].strictest_gate == 0.8
    assert rows["leak"].next_gate == 0.9 and rows["leak"].more_needed == 19
    assert rows["edit"].test_probes == 0 and rows["edit"].strictest_gate is None


def test_jsonl_probes_cannot_choose_their_split() -> None:
    with pytest.raises(ProbeInputError, match="line 2 sets `split`"):
        parse_probe_lines('{"prompt": "a", "target": "b", "foil": "c", "kind": "leak"}\n{"split": "train"}')
    with pytest.raises(ProbeInputError, match="line 1 is not JSON"):
        parse_probe_lines("{nope")


def test_a_probe_near_a_training_prompt_is_flagged(any_backend_env) -> None:
    store = any_backend_env.store
    generation = store.add_generations(store.ensure_base_version("toyworld").id, [(store.prompts()[0].id, "x")])[0]
    store.submit_judgment("alice", generation.id, "rating", "down")
    near = store.prompts()[0].text
    result = add_probes(
        store,
        "s",
        [
            {"prompt": near, "target": "t", "foil": "f", "kind": "leak"},
            {"prompt": "Zebras never", "target": "t", "foil": "f", "kind": "leak"},
        ],
        "bob",
    )
    assert [row["prompt"] for row in result.contamination] == [near]
    assert [p.meta["author"] for p in store.probe_suite("s").probes] == ["bob", "bob"]


def test_appended_probes_continue_the_suite_and_its_digest(any_backend_env) -> None:
    store = any_backend_env.store
    seen: list[int] = []

    def deal(existing, new):
        seen.append(len(existing))
        return ["test", "val", "train"][: len(new)]

    def probe(prompt: str) -> dict:
        return {"prompt": prompt, "target": "meow", "foil": "woof", "kind": "paraphrase", "relation": "sound"}

    append_probes(store, "grow", [probe("The dog says"), probe("A dog says")], deal)
    suite = append_probes(store, "grow", [probe("Dogs say")], deal)
    assert seen == [0, 2]
    assert [(p.key, p.prompt, p.split) for p in suite.probes] == [
        ("grow-1", "The dog says", "test"),
        ("grow-2", "A dog says", "val"),
        ("grow-3", "Dogs say", "test"),
    ]
    # the same probes stored whole get the same digest: the suite reads as one piece of content
    whole = [{**probe(p.prompt), "id": p.key, "split": p.split} for p in suite.probes]
    assert store.add_probe_suite("copy", whole).content_sha256 == suite.content_sha256

    with pytest.raises(InvalidInput, match=r"already has probes with ids \['grow-1'\]"):
        append_probes(store, "grow", [{**probe("x"), "id": "grow-1"}], deal)
    with pytest.raises(InvalidInput, match="drop the `split` field"):
        append_probes(store, "grow", [{**probe("x"), "split": "train"}], deal)
    assert len(store.probe_suite("grow").probes) == 3


def test_probes_written_in_the_form_and_pasted_are_stored_with_their_author_and_shown_as_text(
    ui: InProcessApp,
) -> None:
    ctx, view, alice = ui.ctx, ui.tabs.probes, as_user("alice")
    hostile = '<img src=x onerror="alert(1)"> The dog says'
    added = probes.add_one(ctx, view, "ui-suite", hostile, "meow", "woof", "paraphrase", "sound", alice)
    [probe] = ui.store.probe_suite("ui-suite").probes
    assert added[view.message] == f"Added 1 probe(s) to **ui-suite**: `{probe.key}` → {probe.split}."
    assert probe.prompt == hostile and probe.meta["author"] == "alice" and probe.split in ("test", "val")
    assert added[view.probes][0][4] == hostile
    assert [row[0] for row in added[view.coverage]] == ["edit", "paraphrase", "leak", "control"]
    assert value(added[view.suite]) == "ui-suite" and "ui-suite" in added[view.suite]["choices"]
    assert (added[view.prompt], added[view.target], added[view.foil]) == ("", "", "")

    pasted = '{"prompt": "A dog says", "target": "meow", "foil": "woof", "kind": "leak"}'
    added = probes.add_pasted(ctx, view, "pasted-suite", pasted, as_user("bob"))
    assert added[view.lines] == "" and [row[4] for row in added[view.probes]] == ["A dog says"]
    assert [p.meta["author"] for p in ui.store.probe_suite("pasted-suite").probes] == ["bob"]
    with pytest.raises(gr.Error, match="line 1 is not JSON"):
        probes.add_pasted(ctx, view, "ui-suite", "{nope", alice)
    with pytest.raises(gr.Error, match="Name the suite first"):
        probes.add_one(ctx, view, " ", "p", "t", "f", "leak", "", alice)


def test_a_probe_written_in_the_browser_is_listed_with_its_split_and_html_stays_text(browser, live_app) -> None:
    store = live_app.store
    store.add_probe_suite(
        "written-earlier", [{"prompt": "Cats say", "target": "meow", "foil": "woof", "kind": "leak", "split": "test"}]
    )
    page = login(browser, live_app, "alice")
    page.get_by_role("tab", name="Probes").click()
    page.locator("#probes-suite input").click()
    page.get_by_role("option", name="written-earlier").wait_for()  # a suite stored after the app started

    page.locator("#probes-suite input").fill("browser-suite")
    page.locator("#probes-suite input").press("Enter")
    page.locator("#probes-prompt textarea").fill(HOSTILE)
    page.locator("#probes-target textarea").fill("meow")
    page.locator("#probes-foil textarea").fill("woof")
    page.locator("#probes-kind").get_by_label("leak").check()
    page.locator("#probes-relation textarea").fill("sound")
    page.locator("#probes-add").click()
    page.locator("#probes-message").get_by_text("Added 1 probe(s) to browser-suite").wait_for(timeout=60_000)

    [probe] = store.probe_suite("browser-suite").probes
    assert (probe.prompt, probe.kind, probe.meta["author"], probe.meta["relation"]) == (
        HOSTILE,
        "leak",
        "alice",
        "sound",
    )
    row = page.locator("#probes-table div[role=row]").filter(has_text="browser-suite-1")
    row.wait_for()
    assert row.get_by_text(HOSTILE, exact=True).is_visible()  # the markup is shown literally
    assert row.get_by_text(probe.split, exact=True).is_visible()
    assert page.evaluate("window.pwned") is None
    assert page.locator("img[src=x]").count() == 0
    leak = page.locator("#probes-coverage div[role=row]").filter(has_text="leak")
    assert leak.get_by_role("gridcell").nth(1).inner_text().strip() == str(int(probe.split == "test"))
    save_screenshot(page, "probes.png")
