"""The Team tab's handlers: accounts managed by an admin, and agreement with the disputed items."""

from __future__ import annotations

import gradio as gr
import pytest

from feedback_ui.tabs import label, team
from tests.ui.conftest import InProcessApp, as_user


def test_admin_manages_accounts_and_sees_where_annotators_disagree(ui: InProcessApp) -> None:
    ctx, view, store, admin = ui.ctx, ui.tabs.team, ui.store, as_user("admin")
    disabled = team.disable_user(ctx, view, "bob", "annotator", "", admin)
    assert disabled[view.account_status] == "Disabled bob: their next action is refused."
    assert not store.annotator("bob").active and not store.log_in("bob", ui.env.passwords["bob"])
    team.enable_user(ctx, view, "bob", "annotator", "", admin)
    reset = team.reset_password(ctx, view, "bob", "annotator", "granite willow 42", admin)
    assert reset[view.password] == "" and store.log_in("bob", "granite willow 42")
    with pytest.raises(gr.Error, match="cannot disable your own account"):
        team.disable_user(ctx, view, "admin", "annotator", "", admin)

    for name, verdicts in (("alice", ["up", "up"]), ("bob", ["up", "down"])):
        on_screen = label.show_next(ctx, ui.tabs.label, as_user(name))[ui.tabs.label.on_screen]
        for verdict in verdicts:
            shown = label.submit(ctx, ui.tabs.label, on_screen, verdict, "", ["dog-cat"], "<i>why</i>", as_user(name))
            on_screen = shown[ui.tabs.label.on_screen]
    overview = team.overview(ctx, view, "rating", "dog-cat", admin)
    rows = {row[0]: row for row in overview[view.agreement]}
    assert rows["dog-cat"][1:3] == ["2", "4"]  # two items judged twice
    assert rows["dog-cat"][3] == "0.50"
    (disputed,) = overview[view.disputed]
    assert disputed[1] == "The dog eats" and "alice: up" in disputed[3] and "bob: down" in disputed[3]
    people = {row[0]: row for row in overview[view.people]}
    assert people["alice"][4] == "2" and people["bob"][2] == "yes"
    clicked = gr.SelectData(view.disputed, {"index": [0, 1], "value": "The dog eats"})
    details = team.show_dispute(ctx, view, "rating", "dog-cat", clicked, admin)[view.details]
    assert details.startswith("Prompt: The dog eats") and "note: <i>why</i>" in details


def test_an_annotators_page_shows_no_team_data_and_no_error(ui: InProcessApp) -> None:
    view = ui.tabs.team
    loaded = team.overview_on_load(ui.ctx, view, "rating", team.ALL_TAGS, as_user("alice"))
    assert (loaded[view.people], loaded[view.agreement], loaded[view.disputed]) == ([], [], [])
    assert [row[0] for row in team.overview_on_load(ui.ctx, view, "rating", "", as_user("admin"))[view.people]] == [
        "admin",
        "alice",
        "bob",
    ]
