"""The Team tab through its API: accounts managed by an admin, and agreement with the disputed items."""

from __future__ import annotations

from tests.ui.conftest import LiveApp

PEOPLE, AGREEMENT, TAG, DISPUTED = range(4)


def test_admin_manages_accounts_and_sees_where_annotators_disagree(live_app: LiveApp) -> None:
    store = live_app.store
    admin = live_app.client("admin")
    admin.predict("bob", "annotator", "", api_name="/team_disable")
    assert not store.annotator("bob").active and not store.log_in("bob", live_app.env.passwords["bob"])
    admin.predict("bob", "annotator", "", api_name="/team_enable")
    admin.predict("bob", "annotator", "granite willow 42", api_name="/team_reset")
    assert store.log_in("bob", "granite willow 42")

    alice, bob = live_app.client("alice"), live_app.client("bob", "granite willow 42")
    for client, verdicts in ((alice, ["up", "up"]), (bob, ["up", "down"])):
        client.predict(api_name="/label_next")
        for verdict in verdicts:
            client.predict(verdict, "", ["dog-cat"], "<i>why</i>", api_name="/label_submit")
    overview = admin.predict("rating", "dog-cat", api_name="/team_refresh")
    rows = {row[0]: row for row in overview[AGREEMENT]["data"]}
    assert rows["dog-cat"][1:3] == ["2", "4"]  # two items judged twice
    assert rows["dog-cat"][3] == "0.50"
    (disputed,) = overview[DISPUTED]["data"]
    assert disputed[1] == "The dog eats" and "alice: up" in disputed[3] and "bob: down" in disputed[3]
    people = {row[0]: row for row in overview[PEOPLE]["data"]}
    assert people["alice"][4] == "2" and people["bob"][2] == "yes"
