"""Every endpoint of the app: refused without a logged-in account, refused to annotators where it is an
admin's, and declared a read or a write of the store, as Gradio itself calls it."""

from __future__ import annotations

import gradio as gr
import pytest
from gradio.helpers import special_args

from feedback_ui.auth import AccessDenied
from feedback_ui.concurrency import SQLITE_WRITERS, STORE_WRITES
from tests.ui.conftest import InProcessApp, as_user

ADMIN_ONLY = {
    "edit_load_spec", "edit_validate", "edit_dry_run", "edit_launch", "edit_cancel",
    "reports_promote", "reports_send_to_labelling",
    "team_refresh", "team_family", "team_tag", "team_add", "team_disable", "team_enable", "team_reset", "team_dispute",
}  # fmt: skip
WRITES = {
    "label_submit", "label_save_draft", "compare_submit", "probes_add", "probes_add_jsonl", "edit_launch",
    "edit_cancel", "reports_promote", "reports_send_to_labelling", "team_add", "team_disable", "team_enable",
    "team_reset",
}  # fmt: skip


def call_as(block_fn: object, name: str | None) -> None:
    """Call an event's function as Gradio does for `name`'s request: the request and the event data put
    where its type hints ask for them, empty inputs otherwise."""
    clicked = gr.EventData(None, {"index": [0, 0], "value": ""})
    inputs, *_ = special_args(
        block_fn.fn,  # type: ignore[attr-defined]
        [None] * len(block_fn.inputs),  # type: ignore[attr-defined]
        request=as_user(name),
        event_data=clicked,
    )
    block_fn.fn(*inputs)  # type: ignore[attr-defined]


def endpoints(ui: InProcessApp) -> dict[str, object]:
    return {fn.api_name: fn for fn in ui.app.fns.values() if fn.fn is not None}


def test_every_endpoint_refuses_a_request_without_an_account(ui: InProcessApp) -> None:
    found = endpoints(ui)
    assert set(found) >= ADMIN_ONLY | WRITES
    for api_name, block_fn in found.items():
        with pytest.raises(AccessDenied, match="not logged in"):
            call_as(block_fn, None)
        with pytest.raises(AccessDenied, match="no account named 'mallory'"):
            call_as(block_fn, "mallory")
        ui.store.disable_annotator("bob")
        with pytest.raises(AccessDenied, match="disabled"):
            call_as(block_fn, "bob")
        ui.store.enable_annotator("bob")
        assert ui.store.judgments_for(status=None) == [], api_name


def test_admin_endpoints_refuse_an_annotator(ui: InProcessApp) -> None:
    found = endpoints(ui)
    for api_name in sorted(ADMIN_ONLY):
        with pytest.raises(AccessDenied, match="only an admin can do this"):
            call_as(found[api_name], "alice")
    assert [a.name for a in ui.store.list_annotators()] == ["admin", "alice", "bob"]


def test_reads_have_no_limit_and_writes_share_the_stores_limit(ui: InProcessApp) -> None:
    for api_name, block_fn in endpoints(ui).items():
        limits = (block_fn.concurrency_id, block_fn.concurrency_limit)  # type: ignore[attr-defined]
        if api_name in WRITES:
            assert limits == (STORE_WRITES, SQLITE_WRITERS), api_name
        else:
            assert limits[0] != STORE_WRITES and limits[1] is None, api_name
