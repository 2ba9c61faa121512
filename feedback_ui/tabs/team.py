"""The Team tab (admin): accounts, progress per annotator, and agreement per tag with the items in dispute.

Every handler checks the admin role on the server; the tab is visible to all, but an annotator's
request is refused. Tables are plain text cells, so names, prompts and notes show as typed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import gradio as gr

from feedback_ui.auth import authorize
from feedback_ui.context import AppContext
from feedback_ui.errors import shown_in_page
from feedback_ui.events import Outputs, listen, page_load
from store import Annotator, Judgment, Store
from store.stats import agreement_units, unit_and_label

PEOPLE_COLUMNS = ["name", "role", "active", "can log in", "submitted", "drafts", "to go", "last activity"]
AGREEMENT_COLUMNS = ["tag", "items judged by 2+", "judgments", "raw agreement", "Cohen's kappa", "Krippendorff's alpha"]
DISPUTE_COLUMNS = ["item", "prompt", "output", "labels"]
ALL_TAGS = "(all tags)"


def number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def people_rows(ctx: AppContext) -> list[list[str]]:
    progress = {p.annotator: p for p in ctx.store.progress_by_annotator()}
    rows = []
    for person in ctx.store.list_annotators():
        p = progress.get(person.name)
        rows.append(
            [
                person.name,
                person.role,
                "yes" if person.active else "disabled",
                "yes" if person.has_password else "no password",
                str(p.submitted if p else 0),
                str(p.drafts if p else 0),
                str(p.remaining if p else ""),
                p.last_activity.strftime("%Y-%m-%d %H:%M") if p and p.last_activity else "",
            ]
        )
    return rows


def judgment_tags(ctx: AppContext, family: str) -> list[str]:
    kinds = ["preference"] if family == "preference" else ["rating", "correction"]
    return sorted({t for j in ctx.store.judgments_for(kinds=kinds) for t in j.tags})


def agreement_rows(ctx: AppContext, family: str) -> list[list[str]]:
    rows = []
    for tag in [None, *judgment_tags(ctx, family)]:
        report = ctx.store.agreement(family, tags=None if tag is None else [tag])
        rows.append(
            [
                ALL_TAGS if tag is None else tag,
                str(report.n_items),
                str(report.n_judgments),
                number(report.raw_agreement),
                number(report.kappa),
                number(report.alpha),
            ]
        )
    return rows


def disputes(ctx: AppContext, family: str, tag: str | None) -> dict[Hashable, list[Judgment]]:
    """Items judged differently by two or more annotators, with their judgments."""
    kinds = ["preference"] if family == "preference" else ["rating", "correction"]
    judgments = ctx.store.judgments_for(kinds=kinds, tags=None if tag in (None, ALL_TAGS) else [tag])
    units = agreement_units(judgments, family)
    by_unit: dict[Hashable, list[Judgment]] = defaultdict(list)
    for judgment in judgments:
        by_unit[unit_and_label(judgment)[0]].append(judgment)
    return {u: by_unit[u] for u, labels in units.items() if len(set(labels.values())) > 1}


def dispute_rows(items: dict[Hashable, list[Judgment]]) -> list[list[str]]:
    rows = []
    for unit, judgments in items.items():
        first = judgments[0]
        labels = ", ".join(f"{j.annotator}: {unit_and_label(j)[1]}" for j in judgments)
        output = first.output if first.output_b is None else f"{first.output} | {first.output_b}"
        rows.append([str(unit), first.prompt, output, labels])
    return rows


def dispute_details(judgments: list[Judgment]) -> str:
    """Each annotator's judgment of one item, as plain text for a text box."""
    parts = [f"Prompt: {judgments[0].prompt}"]
    for j in judgments:
        lines = [f"{j.annotator} (#{j.id}, {j.kind}): {j.verdict}"]
        if j.correction:
            lines.append(f"  correction: {j.correction}")
        if j.note:
            lines.append(f"  note: {j.note}")
        if j.tags:
            lines.append(f"  tags: {', '.join(j.tags)}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


@dataclass(frozen=True)
class TeamView:
    """The Team tab's components."""

    people: gr.Dataframe
    refresh: gr.Button
    name: gr.Textbox
    role: gr.Radio
    password: gr.Textbox
    add: gr.Button
    disable: gr.Button
    enable: gr.Button
    reset: gr.Button
    account_status: gr.Markdown
    family: gr.Radio
    agreement: gr.Dataframe
    dispute_tag: gr.Dropdown
    disputed: gr.Dataframe
    details: gr.Textbox


def overview(ctx: AppContext, view: TeamView, chosen_family: str, tag: str, request: gr.Request) -> Outputs:
    """People with their progress, agreement per tag, and the disputed items of `tag`."""
    authorize(ctx.store, request, "admin")
    with shown_in_page("load the team overview"):
        tags = [ALL_TAGS, *judgment_tags(ctx, chosen_family)]
        tag = tag if tag in tags else ALL_TAGS
        return {
            view.people: people_rows(ctx),
            view.agreement: agreement_rows(ctx, chosen_family),
            view.dispute_tag: gr.update(choices=tags, value=tag),
            view.disputed: dispute_rows(disputes(ctx, chosen_family, tag)),
        }


def overview_on_load(ctx: AppContext, view: TeamView, chosen_family: str, tag: str, request: gr.Request) -> Outputs:
    """The overview for an admin; an annotator's page shows no team data, and no error either."""
    if authorize(ctx.store, request).role != "admin":
        return {view.people: [], view.agreement: [], view.dispute_tag: gr.update(), view.disputed: []}
    return overview(ctx, view, chosen_family, tag, request)


AccountChange = Callable[[Store, Annotator, str, str, str], str]  # (store, admin, name, role, password) -> what it did


def _change_account(
    ctx: AppContext, view: TeamView, request: gr.Request, action: str, change: AccountChange, who: str | None,
    role: str, password: str,
) -> Outputs:  # fmt: skip
    """The admin behind `request` applies `change` to the account named `who`; Could not {action} it, otherwise."""
    admin = authorize(ctx.store, request, "admin")
    who = (who or "").strip()
    if not who:
        raise gr.Error("Type the account's name first.")
    with shown_in_page(f"{action} {who!r}"):
        done = change(ctx.store, admin, who, role, password)
        return {view.people: people_rows(ctx), view.password: "", view.account_status: done}


def _add(store: Store, admin: Annotator, name: str, role: str, password: str) -> str:
    if not password:
        raise gr.Error("Give the new account a password (8 characters or more).")
    store.add_annotator(name, role, password)
    return f"Added {role} {name}."


def _disable(store: Store, admin: Annotator, name: str, role: str, password: str) -> str:
    if name == admin.name:
        raise gr.Error("You cannot disable your own account; ask another admin.")
    store.disable_annotator(name)
    return f"Disabled {name}: their next action is refused."


def _enable(store: Store, admin: Annotator, name: str, role: str, password: str) -> str:
    store.enable_annotator(name)
    return f"Enabled {name}."


def _reset(store: Store, admin: Annotator, name: str, role: str, password: str) -> str:
    if not password:
        raise gr.Error("Type the new password first.")
    store.annotator(name)
    store.set_password(name, password)
    return f"Set a new password for {name}."


def add_user(ctx: AppContext, view: TeamView, who: str, role: str, password: str, request: gr.Request) -> Outputs:
    """Add an account with `role` and `password`."""
    return _change_account(ctx, view, request, "add", _add, who, role, password)


def disable_user(ctx: AppContext, view: TeamView, who: str, role: str, password: str, request: gr.Request) -> Outputs:
    """Disable an account (not my own): its next action is refused."""
    return _change_account(ctx, view, request, "disable", _disable, who, role, password)


def enable_user(ctx: AppContext, view: TeamView, who: str, role: str, password: str, request: gr.Request) -> Outputs:
    """Enable a disabled account."""
    return _change_account(ctx, view, request, "enable", _enable, who, role, password)


def reset_password(ctx: AppContext, view: TeamView, who: str, role: str, password: str, request: gr.Request) -> Outputs:
    """Set a new password for an account."""
    return _change_account(ctx, view, request, "reset the password of", _reset, who, role, password)


def show_dispute(
    ctx: AppContext, view: TeamView, chosen_family: str, tag: str, event: gr.SelectData, request: gr.Request
) -> Outputs:
    """The judgments of the disputed item clicked in the table."""
    authorize(ctx.store, request, "admin")
    with shown_in_page("show that item"):
        items = list(disputes(ctx, chosen_family, tag).values())
    row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
    if not 0 <= row < len(items):
        raise gr.Error("That item is no longer disputed; press Refresh.")
    return {view.details: dispute_details(items[row])}


def render() -> TeamView:
    """The tab's components, laid out inside the caller's `gr.Tab`."""
    gr.Markdown("Admins only: accounts, progress and agreement.")
    people = gr.Dataframe(headers=PEOPLE_COLUMNS, interactive=False, label="People", elem_id="team-people")
    refresh = gr.Button("Refresh", elem_id="team-refresh")
    with gr.Row():
        name = gr.Textbox(label="Name", elem_id="team-name")
        role = gr.Radio(["annotator", "admin"], value="annotator", label="Role (new accounts)", elem_id="team-role")
        password = gr.Textbox(label="Password (new account or reset)", type="password", elem_id="team-password")
    with gr.Row():
        add = gr.Button("Add user", elem_id="team-add")
        disable = gr.Button("Disable", elem_id="team-disable")
        enable = gr.Button("Enable", elem_id="team-enable")
        reset = gr.Button("Reset password", elem_id="team-reset")
    account_status = gr.Markdown(elem_id="team-status")
    family = gr.Radio(
        [("Ratings (good/bad)", "rating"), ("Preferences A/B", "preference")],
        value="rating",
        label="Agreement on",
        elem_id="team-family",
    )
    agreement = gr.Dataframe(headers=AGREEMENT_COLUMNS, interactive=False, label="Agreement per tag")
    dispute_tag = gr.Dropdown(
        [ALL_TAGS], value=ALL_TAGS, allow_custom_value=True, label="Disputed items for tag", elem_id="team-tag"
    )
    disputed = gr.Dataframe(
        headers=DISPUTE_COLUMNS, interactive=False, label="Items annotators disagree on (click one)", wrap=True
    )
    details = gr.Textbox(label="Their judgments", interactive=False, lines=8, elem_id="team-details")
    return TeamView(
        people, refresh, name, role, password, add, disable, enable, reset, account_status, family, agreement,
        dispute_tag, disputed, details,
    )  # fmt: skip


def build(ctx: AppContext) -> TeamView:
    """Render the Team tab and wire its events."""
    view = render()
    chosen, shown = [view.family, view.dispute_tag], [view.people, view.agreement, view.dispute_tag, view.disputed]
    listen(page_load(), overview_on_load, ctx, view, chosen, shown, api_name="team_overview", access="read")
    listen(view.refresh.click, overview, ctx, view, chosen, shown, api_name="team_refresh", access="read")
    listen(view.family.change, overview, ctx, view, chosen, shown, api_name="team_family", access="read")
    listen(view.dispute_tag.select, overview, ctx, view, chosen, shown, api_name="team_tag", access="read")
    account, changed = [view.name, view.role, view.password], [view.people, view.password, view.account_status]
    for button, handler, name in (
        (view.add, add_user, "team_add"),
        (view.disable, disable_user, "team_disable"),
        (view.enable, enable_user, "team_enable"),
        (view.reset, reset_password, "team_reset"),
    ):
        listen(button.click, handler, ctx, view, account, changed, api_name=name, access="write")
    details = [view.details]
    listen(view.disputed.select, show_dispute, ctx, view, chosen, details, api_name="team_dispute", access="read")
    return view
