"""The Reports tab: runs with their verdicts and gates, a run's report, two runs compared, and the
admin's next steps: promote a run's version, send what it leaked to labelling.

Reports are shown in a sandboxed `<iframe srcdoc>`: the report page keeps its own strict CSP,
its scripts cannot reach the app, and every text in it was escaped when it was rendered.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from editing.report import render_comparison_html
from feedback_ui.context import AppContext
from feedback_ui.followup import ReportUnavailable, report_folder, run_report, send_to_labelling
from feedback_ui.page import on_page_load
from store import EditRun, StoreError
from store.catalog import run_verdict

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
        verdict = run_verdict(run.metrics) or ""
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


def build_reports_tab(ctx: AppContext) -> None:
    """Render the Reports tab inside the caller's `gr.Tab`."""
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
        compare = gr.Button("Compare the two runs", elem_id="reports-compare")
        promote = gr.Button("Promote its version (admin)", elem_id="reports-promote")
        followup = gr.Button("Send leaks to labelling (admin)", elem_id="reports-followup")
    message = gr.Markdown(elem_id="reports-message")
    report = gr.HTML(elem_id="reports-report")

    def list_runs(request: gr.Request) -> tuple[list[list[str]], dict[str, Any], dict[str, Any]]:
        ctx.user(request)
        rows = run_rows(ctx)
        ids = [row[0] for row in rows]
        return rows, gr.update(choices=ids), gr.update(choices=ids)

    def show(run_id: str, request: gr.Request) -> tuple[str, str]:
        ctx.user(request)
        run = _run(ctx, run_id)
        try:
            page = (report_folder(run, ctx.reports_dir) / "report.html").read_text(encoding="utf-8")
        except ReportUnavailable as error:
            raise gr.Error(str(error)) from error
        return embedded(page), f"Report of run {run.id} ({run.name or 'unnamed'})."

    def show_comparison(run_a: str, run_b: str, request: gr.Request) -> tuple[str, str]:
        ctx.user(request)
        a, b = _run(ctx, run_a), _run(ctx, run_b)
        try:
            page = render_comparison_html(run_report(a, ctx.reports_dir), run_report(b, ctx.reports_dir))
        except ReportUnavailable as error:
            raise gr.Error(str(error)) from error
        return embedded(page), f"Run {a.id} compared with run {b.id}."

    def make_current(run_id: str, request: gr.Request) -> tuple[str, list[list[str]]]:
        admin = ctx.user(request, "admin")
        run = _run(ctx, run_id)
        if run.status != "succeeded" or run.result_version_id is None:
            raise gr.Error(
                f"Run {run.id} is {run.status} and made no model version; only a succeeded run's can be promoted."
            )
        try:  # the ledger's rule: a rejected version is refused, as `nudge promote` refuses it
            version = ctx.store.promote_version(run.result_version_id, by=admin.name)
        except StoreError as error:
            raise gr.Error(str(error)) from error
        return (
            f"Model version {version.id} (from run {run.id}) is now current: annotators label its outputs next.",
            run_rows(ctx),
        )

    def queue_followup(run_id: str, request: gr.Request) -> str:
        ctx.user(request, "admin")
        run = _run(ctx, run_id)
        try:
            made = send_to_labelling(ctx.store, run, ctx.reports_dir, ctx.models)
        except ReportUnavailable as error:
            raise gr.Error(str(error)) from error
        return (
            f"Queued {len(made)} output(s) of model version {run.result_version_id} for labelling "
            f"(prompts tagged `followup` and `run-{run.id}`)."
        )

    refresh.click(list_runs, None, [runs, chosen, other], api_name="reports_list")
    on_page_load(list_runs, [], [runs, chosen, other], api_name="reports_list_on_load")
    open_report.click(show, [chosen], [report, message], api_name="reports_open")
    compare.click(show_comparison, [chosen, other], [report, message], api_name="reports_compare")
    promote.click(make_current, [chosen], [message, runs], api_name="reports_promote")
    followup.click(queue_followup, [chosen], [message], api_name="reports_send_to_labelling")
