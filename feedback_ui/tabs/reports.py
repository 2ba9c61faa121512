"""The Reports tab: runs with their verdicts and gates, a run's report, two runs compared, and the
admin's next steps: promote a run's version, send what it leaked to labelling.

Reports are shown in a sandboxed `<iframe srcdoc>`: the report page keeps its own strict CSP,
its scripts cannot reach the app, and every text in it was escaped when it was rendered.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import gradio as gr

from editing.report import render_comparison_html
from editing.vocab import status_label
from feedback_ui.auth import authorize
from feedback_ui.context import AppContext
from feedback_ui.events import Outputs, listen, page_load
from feedback_ui.followup import ReportUnavailable, report_folder, run_report, send_to_labelling
from store import EditRun, StoreError
from store.catalog import run_verdict
from store.labelling import followup_tags

RUN_COLUMNS = ["run", "name", "status", "verdict", "gates", "version", "current", "finished"]


def embedded(page: str) -> str:
    """A whole HTML page inside a sandboxed iframe (scripts only; no same origin, no forms, no top navigation)."""
    return (
        f'<iframe class="nudge-report" sandbox="allow-scripts" srcdoc="{html.escape(page, quote=True)}" '
        'style="width:100%;height:900px;border:1px solid #ccc"></iframe>'
    )


def _gates(run: EditRun) -> str:
    verdict = (run.metrics or {}).get("verdict") or {}
    return ", ".join(f"{g['name']} {g['status']}" for g in verdict.get("gates", []))


def run_rows(ctx: AppContext) -> list[list[str]]:
    current = ctx.store.current_model_version()
    rows = []
    for run in ctx.store.runs(limit=200):
        verdict = status_label(run_verdict(run.metrics))
        is_current = current is not None and run.result_version_id == current.id
        rows.append(
            [
                str(run.id),
                run.name or "",
                run.status,
                verdict,
                _gates(run),
                "" if run.result_version_id is None else str(run.result_version_id),
                "yes" if is_current else "",
                run.finished_at.isoformat(timespec="seconds") if run.finished_at else "",
            ]
        )
    return rows


def _run(ctx: AppContext, run_id: str | int | None) -> EditRun:
    if run_id in (None, ""):
        raise gr.Error("Pick a run first.")
    try:
        return ctx.store.run(int(run_id))
    except (ValueError, StoreError) as error:
        raise gr.Error(f"There is no run {run_id!r}.") from error


@dataclass(frozen=True)
class ReportsView:
    """The Reports tab's components."""

    refresh: gr.Button
    runs: gr.Dataframe
    chosen: gr.Dropdown
    other: gr.Dropdown
    open_report: gr.Button
    compare: gr.Button
    promote: gr.Button
    followup: gr.Button
    message: gr.Markdown
    report: gr.HTML


def list_runs(ctx: AppContext, view: ReportsView, request: gr.Request) -> Outputs:
    """The runs table, and the runs to pick from."""
    authorize(ctx.store, request)
    rows = run_rows(ctx)
    ids = [row[0] for row in rows]
    return {view.runs: rows, view.chosen: gr.update(choices=ids), view.other: gr.update(choices=ids)}


def show(ctx: AppContext, view: ReportsView, run_id: str, request: gr.Request) -> Outputs:
    """The run's report, embedded."""
    authorize(ctx.store, request)
    run = _run(ctx, run_id)
    try:
        page = (report_folder(run, ctx.reports_dir) / "report.html").read_text(encoding="utf-8")
    except ReportUnavailable as error:
        raise gr.Error(str(error)) from error
    return {view.report: embedded(page), view.message: f"Report of run {run.id} ({run.name or 'unnamed'})."}


def compare(ctx: AppContext, view: ReportsView, run_a: str, run_b: str, request: gr.Request) -> Outputs:
    """Two runs' reports compared, embedded."""
    authorize(ctx.store, request)
    a, b = _run(ctx, run_a), _run(ctx, run_b)
    try:
        page = render_comparison_html(run_report(a, ctx.reports_dir), run_report(b, ctx.reports_dir))
    except ReportUnavailable as error:
        raise gr.Error(str(error)) from error
    return {view.report: embedded(page), view.message: f"Run {a.id} compared with run {b.id}."}


def promote(ctx: AppContext, view: ReportsView, run_id: str, request: gr.Request) -> Outputs:
    """Make the run's version the one annotators label."""
    admin = authorize(ctx.store, request, "admin")
    run = _run(ctx, run_id)
    if run.status != "succeeded" or run.result_version_id is None:
        raise gr.Error(
            f"Run {run.id} is {run.status} and made no model version; only a succeeded run's can be promoted."
        )
    try:  # the ledger's rule: a rejected version is refused, as `nudge promote` refuses it
        version = ctx.store.promote_version(run.result_version_id, by=admin.name)
    except StoreError as error:
        raise gr.Error(str(error)) from error
    return {
        view.message: f"Model version {version.id} (from run {run.id}) is now current: "
        "annotators label its outputs next.",
        view.runs: run_rows(ctx),
    }


def send_followup(ctx: AppContext, view: ReportsView, run_id: str, request: gr.Request) -> Outputs:
    """Queue the prompts the run's report flags, with its version's outputs, for labelling."""
    authorize(ctx.store, request, "admin")
    run = _run(ctx, run_id)
    try:
        made = send_to_labelling(ctx.store, run, ctx.reports_dir, ctx.models)
    except (ReportUnavailable, StoreError) as error:
        raise gr.Error(str(error)) from error
    tags = " and ".join(f"`{tag}`" for tag in followup_tags(run.id))
    return {
        view.message: f"Queued {len(made)} output(s) of model version {run.result_version_id} for labelling "
        f"(prompts tagged {tags})."
    }


def render() -> ReportsView:
    """The tab's components, laid out inside the caller's `gr.Tab`."""
    gr.Markdown("## Reports")
    refresh = gr.Button("Refresh runs", elem_id="reports-refresh")
    runs = gr.Dataframe(headers=RUN_COLUMNS, interactive=False, wrap=True, label="Edit runs", elem_id="reports-runs")
    with gr.Row():
        chosen = gr.Dropdown(label="Run", choices=[], allow_custom_value=True, interactive=True, elem_id="reports-run")
        other = gr.Dropdown(
            label="Compare with run", choices=[], allow_custom_value=True, interactive=True, elem_id="reports-other"
        )
    with gr.Row():
        open_report = gr.Button("Open report", variant="primary", elem_id="reports-open")
        compare_button = gr.Button("Compare the two runs", elem_id="reports-compare")
        promote_button = gr.Button("Promote its version (admin)", elem_id="reports-promote")
        followup = gr.Button("Send leaks to labelling (admin)", elem_id="reports-followup")
    message = gr.Markdown(elem_id="reports-message")
    report = gr.HTML(elem_id="reports-report")
    return ReportsView(
        refresh, runs, chosen, other, open_report, compare_button, promote_button, followup, message, report
    )


def build(ctx: AppContext) -> ReportsView:
    """Render the Reports tab and wire its events."""
    view = render()
    run_list, shown, chosen = [view.runs, view.chosen, view.other], [view.report, view.message], [view.chosen]
    listen(view.refresh.click, list_runs, ctx, view, [], run_list, api_name="reports_list", access="read")
    listen(page_load(), list_runs, ctx, view, [], run_list, api_name="reports_list_on_load", access="read")
    listen(view.open_report.click, show, ctx, view, chosen, shown, api_name="reports_open", access="read")
    listen(
        view.compare.click, compare, ctx, view, [view.chosen, view.other], shown, api_name="reports_compare",
        access="read",
    )  # fmt: skip
    promoted = [view.message, view.runs]
    listen(view.promote.click, promote, ctx, view, chosen, promoted, api_name="reports_promote", access="write")
    listen(
        view.followup.click, send_followup, ctx, view, chosen, [view.message], api_name="reports_send_to_labelling",
        access="write",
    )  # fmt: skip
    return view
