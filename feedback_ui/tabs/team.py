"""The Team tab (admin): accounts, progress per annotator, and agreement per tag with the items in dispute.

Every handler checks the admin role on the server; the tab is visible to all, but an annotator's
request is refused. Tables are plain text cells, so names, prompts and notes show as typed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from typing import Any

import gradio as gr

from feedback_ui.concurrency import writes
from feedback_ui.context import AppContext
from feedback_ui.errors import shown_in_page
from feedback_ui.page import on_page_load
from store import Judgment
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


def build_team_tab(ctx: AppContext) -> None:
    """Render the Team tab inside the caller's `gr.Tab`."""
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

    def overview(chosen_family: str, tag: str, request: gr.Request) -> tuple[Any, ...]:
        ctx.user(request, "admin")
        with shown_in_page("load the team overview"):
            tags = [ALL_TAGS, *judgment_tags(ctx, chosen_family)]
            tag = tag if tag in tags else ALL_TAGS
            return (
                people_rows(ctx),
                agreement_rows(ctx, chosen_family),
                gr.update(choices=tags, value=tag),
                dispute_rows(disputes(ctx, chosen_family, tag)),
            )

    def account_action(action: str) -> Any:
        def act(who: str, new_role: str, new_password: str, request: gr.Request) -> tuple[Any, ...]:
            admin = ctx.user(request, "admin")
            who = (who or "").strip()
            if not who:
                raise gr.Error("Type the account's name first.")
            with shown_in_page(f"{action} {who!r}"):
                if action == "add":
                    if not new_password:
                        raise gr.Error("Give the new account a password (8 characters or more).")
                    ctx.store.add_annotator(who, new_role, new_password)
                    done = f"Added {new_role} {who}."
                elif action == "disable":
                    if who == admin.name:
                        raise gr.Error("You cannot disable your own account; ask another admin.")
                    ctx.store.disable_annotator(who)
                    done = f"Disabled {who}: their next action is refused."
                elif action == "enable":
                    ctx.store.enable_annotator(who)
                    done = f"Enabled {who}."
                else:
                    if not new_password:
                        raise gr.Error("Type the new password first.")
                    ctx.store.annotator(who)
                    ctx.store.set_password(who, new_password)
                    done = f"Set a new password for {who}."
            return people_rows(ctx), "", done

        return act

    def show_dispute(chosen_family: str, tag: str, event: gr.SelectData, request: gr.Request) -> str:
        ctx.user(request, "admin")
        with shown_in_page("show that item"):
            items = list(disputes(ctx, chosen_family, tag).values())
        row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        if not 0 <= row < len(items):
            raise gr.Error("That item is no longer disputed; press Refresh.")
        return dispute_details(items[row])

    def overview_on_load(chosen_family: str, tag: str, request: gr.Request) -> tuple[Any, ...]:
        if ctx.user(request).role != "admin":
            return [], [], gr.update(), []  # an annotator's page shows no team data, and no error either
        return overview(chosen_family, tag, request)

    outputs = [people, agreement, dispute_tag, disputed]
    on_page_load(overview_on_load, [family, dispute_tag], outputs, api_name="team_overview")
    refresh.click(overview, [family, dispute_tag], outputs, api_name="team_refresh")
    family.change(overview, [family, dispute_tag], outputs, api_name="team_family")
    dispute_tag.select(overview, [family, dispute_tag], outputs, api_name="team_tag")
    for button, action in ((add, "add"), (disable, "disable"), (enable, "enable"), (reset, "reset the password of")):
        button.click(
            account_action(action),
            [name, role, password],
            [people, password, account_status],
            api_name=f"team_{action.split()[0]}",
            **writes(ctx.store),
        )
    disputed.select(show_dispute, [family, dispute_tag], details, api_name="team_dispute")
