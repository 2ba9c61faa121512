"""The `nudge` commands that edit and measure: apply, runs, report, probe, export-model."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Annotated

import typer
from peft import PeftModel
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from editing.cli_support import console, fail
from editing.lora import EditError
from editing.models import ModelLoadError, load_model
from editing.probes import ProbeSuiteError, load_suite, score_probes
from editing.report import (
    read_report,
    render_comparison_html,
    render_comparison_markdown,
    render_html,
    render_markdown,
    report_json,
)
from editing.runs import EXIT_FAILED_RUN, RunCallbacks, RunInputError, RunPlan, execute_run, load_version, plan_run
from editing.spec import SpecError, load_spec
from editing.workspace import nudge_home
from store import Store, StoreError


def _workspace_store() -> Store:
    """The workspace's store, created or upgraded when needed (a script may run before `nudge init`)."""
    try:
        return Store.init_db()
    except StoreError as exc:
        fail(str(exc))


def print_plan(plan: RunPlan) -> None:
    """What will be trained on: counts by kind, annotators, what was dropped and why."""
    s = plan.selection
    console.print(f"[bold]{plan.spec.name}[/]: {plan.judgments} judgment(s) from {plan.feedback_source}")
    console.print(f"  training examples: {len(s.examples)}  by kind: {dict(sorted(s.used_by_kind.items()))}")
    console.print(f"  annotators used:   {dict(sorted(s.annotators.items())) or 'none'}")
    console.print(f"  dropped:           {dict(sorted(s.dropped.items())) or 'nothing'}")
    by_split = {split: sum(p.split == split for p in plan.probes) for split in ("train", "val", "test")}
    console.print(f"  probes:            {len(plan.probes)} from {', '.join(x.name for x in plan.suites)} {by_split}")
    lora, train = plan.spec.lora, plan.spec.train
    console.print(
        f"  edit:              LoRA r={lora.rank} alpha={lora.alpha} on {lora.targets} "
        f"(layers {lora.layers}); {train.steps} steps at lr {train.lr:g}, KL weight {train.kl_weight}"
    )


def print_summary(report: dict, paths: dict[str, Path]) -> None:
    """One screen: verdict and gates, what leaked, what moved, where the report is."""
    verdict = report["verdict"]
    colour = {"pass": "green", "uncertain": "yellow", "fail": "red"}
    table = Table(title=f"run {report['run']['id']}: {report['run']['name']}", title_justify="left")
    for column in ("gate", "value", "95% interval", "threshold", "status"):
        table.add_column(column)
    for gate in verdict["gates"]:
        low, high = gate.get("ci_low"), gate.get("ci_high")
        interval = f"[{low:.3f}, {high:.3f}]" if low is not None and high is not None else "n/a"
        value = f"{gate['value']:.3f}" if gate.get("value") is not None else "n/a"
        table.add_row(
            gate["name"],
            value,
            interval,
            str(gate["threshold"]),
            f"[{colour.get(gate['status'], 'white')}]{gate['status']}[/]",
        )
    console.print(table)
    for title, key in (("what leaked", "leaked"), ("what else moved", "moved")):
        lines = report["summary"].get(key) or []
        console.print(f"[bold]{title}:[/] " + (" ".join(lines) if lines else "nothing found by the probes."))
    if report["contamination"]:
        console.print(
            f"[bold red]contamination:[/] {len(report['contamination'])} test probe(s) match training "
            "examples; the gates are not trustworthy"
        )
    status = verdict.get("status", "pass" if verdict["passed"] else "fail")
    console.print(f"verdict: [bold {colour.get(status, 'white')}]{status.upper()}[/]   report: {paths['html']}")


def apply(
    spec_path: Annotated[Path, typer.Argument(help="The edit spec (YAML).", metavar="SPEC.yaml")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and show the training data, then stop.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Count uncertain gates as failed.")] = False,
) -> None:
    """Turn the judgments a spec selects into a LoRA edit, measure it before and after, record it.

    Exit codes: 0 all gates pass, 3 a gate failed, 2 bad input, 1 the run failed.
    """
    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        fail(f"{spec_path}: {exc}")
    store = _workspace_store()
    try:
        plan = plan_run(spec, store)
    except (RunInputError, StoreError) as exc:
        fail(str(exc))
    print_plan(plan)
    if dry_run:
        console.print("dry run: nothing trained")
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[terms]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("starting", total=None, terms="")

        def on_step(step: int, total: int, record: dict[str, float]) -> None:
            terms = "  ".join(f"{k} {v:.3f}" for k, v in record.items())
            progress.update(task, completed=step, total=total, terms=terms, description=f"training {step}/{total}")

        callbacks = RunCallbacks(on_phase=lambda phase: progress.update(task, description=phase), on_step=on_step)
        try:
            outcome = execute_run(plan, store, callbacks, strict=strict)
        except ModelLoadError as exc:
            fail(str(exc))
        except (EditError, ValueError) as exc:  # recorded on the run as `failed`, with this reason
            fail(f"the edit failed: {exc}", code=EXIT_FAILED_RUN)
    print_summary(outcome.report, outcome.report_paths)
    raise typer.Exit(outcome.exit_code)


def runs_list(limit: Annotated[int, typer.Option(help="Show at most this many runs.")] = 20) -> None:
    """The workspace's edit runs, newest first."""
    table = Table()
    for column in ("run", "name", "status", "verdict", "seconds", "created"):
        table.add_column(column)
    for run in _workspace_store().runs(limit):
        verdict = (run.metrics or {}).get("verdict", {}).get("status", "")
        seconds = f"{run.seconds:.1f}" if run.seconds is not None else ""
        table.add_row(str(run.id), run.name or "", run.status, verdict, seconds, f"{run.created_at:%Y-%m-%d %H:%M}")
    console.print(table)


def runs_show(run_id: Annotated[int, typer.Argument(help="The run's id.", metavar="RUN")]) -> None:
    """One run's record: status, error, hashes, the version it produced, its report."""
    try:
        run = _workspace_store().run(run_id)
    except StoreError as exc:
        fail(str(exc))
    console.print(f"run {run.id} ({run.name}): [bold]{run.status}[/]")
    if run.error:
        console.print(f"error: {run.error}")
    console.print(f"spec hash {run.spec_hash}\ndata hash {run.data_hash}\nseed {run.seed}")
    console.print(f"base version {run.base_version_id}, result version {run.result_version_id}")
    if run.metrics:
        console.print(f"report: {run.metrics.get('report')}\nadapter sha256: {run.metrics.get('adapter_sha256')}")
    console.print_json(json.dumps(run.spec))


def _report_of(run_id: int) -> dict:
    folder = nudge_home() / "reports" / str(run_id)
    if not (folder / "report.json").exists():
        fail(f"run {run_id} has no report in {folder}; `nudge runs list` shows the runs")
    return read_report(folder)


def report(
    run_id: Annotated[int | None, typer.Argument(help="The run's id.", metavar="RUN")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html, md or json.")] = "html",
    out: Annotated[Path | None, typer.Option(help="Write here instead of the run's report folder.")] = None,
    compare: Annotated[
        tuple[int, int] | None, typer.Option(help="Two runs side by side.", metavar="RUN_A RUN_B")
    ] = None,
) -> None:
    """Write (or rewrite) a run's edit impact report, or compare two runs."""
    if fmt not in ("html", "md", "json"):
        fail(f"--format must be html, md or json, got {fmt!r}")
    if compare:
        a, b = _report_of(compare[0]), _report_of(compare[1])
        if fmt == "json":
            text = json.dumps({"a": a, "b": b}, indent=2, sort_keys=True) + "\n"
        else:
            text = render_comparison_html(a, b) if fmt == "html" else render_comparison_markdown(a, b)
        target = out or nudge_home() / "reports" / f"compare-{compare[0]}-{compare[1]}.{fmt}"
    else:
        if run_id is None:
            fail("name a RUN, or give --compare RUN_A RUN_B")
        text = {"html": render_html, "md": render_markdown, "json": report_json}[fmt](_report_of(run_id))
        target = out or nudge_home() / "reports" / str(run_id) / f"report.{fmt}"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    console.print(f"wrote {target}")


def probe(
    model: Annotated[str, typer.Option(help="A model folder, a hub id, or `toyworld`.")] = "toyworld",
    suite: Annotated[str, typer.Option(help="`toyworld:NAME` or a JSONL file of probes.")] = "toyworld:dog-cat-swap",
    adapter: Annotated[Path | None, typer.Option(help="A peft adapter folder to score with.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the per-probe scores as JSON here.")] = None,
) -> None:
    """Score a probe suite on a model (optionally with an adapter): a table, and JSON."""
    try:
        loaded = load_model(model)
        probes = load_suite(suite).probes
    except (ModelLoadError, ProbeSuiteError) as exc:
        fail(str(exc))
    scored_model = loaded.model
    if adapter is not None:
        scored_model = PeftModel.from_pretrained(loaded.model, adapter)
    started = time.perf_counter()
    scores = score_probes(scored_model, loaded.tokenizer, probes)
    seconds = time.perf_counter() - started
    table = Table(title=f"{suite} on {model}" + (f" + {adapter}" if adapter else ""))
    for column in ("kind", "split", "probes", "target wins"):
        table.add_column(column)
    groups: dict[tuple[str, str], list[bool]] = {}
    for s in scores:
        groups.setdefault((s.probe.kind, s.probe.split), []).append(s.success)
    for (kind, split), wins in sorted(groups.items()):
        table.add_row(kind, split, str(len(wins)), f"{sum(wins) / len(wins):.3f}")
    console.print(table)
    console.print(f"{len(scores)} probes in {seconds:.2f} s")
    rows = [
        {
            "id": s.probe.id,
            "kind": s.probe.kind,
            "split": s.probe.split,
            "prompt": s.probe.prompt,
            "target": s.probe.target,
            "foil": s.probe.foil,
            "target_logprob": s.target_logprob,
            "foil_logprob": s.foil_logprob,
            "margin": s.margin,
            "success": s.success,
            "continuation": s.continuation,
        }
        for s in scores
    ]
    target = out or nudge_home() / "probes" / f"{Path(suite.replace(':', '-')).stem}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    console.print(f"wrote {target}")


def export_model(
    run_id: Annotated[int, typer.Argument(help="The run whose edited model to export.", metavar="RUN")],
    out: Annotated[Path, typer.Option(help="The folder to write (must not exist).")],
    merged: Annotated[
        bool, typer.Option("--merged/--adapter-only", help="Merge the adapters into the weights.")
    ] = True,
) -> None:
    """Export a run's edited model as a plain Hugging Face folder (adapters merged into the weights)."""
    store = _workspace_store()
    try:
        run = store.run(run_id)
    except StoreError as exc:
        fail(str(exc))
    if run.result_version_id is None:
        fail(f"run {run_id} is {run.status} and produced no model version")
    if out.exists():
        fail(f"{out} already exists; choose a new folder")
    if not merged:
        version = store.model_version(run.result_version_id)
        shutil.copytree(version.adapter_path, out)
        console.print(f"copied the adapter of run {run_id} to {out}")
        return
    loaded, _ = load_version(store, run.result_version_id)
    loaded.model.save_pretrained(out)
    loaded.tokenizer.save_pretrained(out)
    console.print(f"wrote the merged model of run {run_id} to {out}")


def register_edit_commands(app: typer.Typer) -> None:
    """Attach the editing commands to the `nudge` app."""
    runs_app = typer.Typer(help="Edit runs recorded in the workspace.", no_args_is_help=True)
    app.command("apply")(apply)
    app.command("report")(report)
    app.command("probe")(probe)
    app.command("export-model")(export_model)
    runs_app.command("list")(runs_list)
    runs_app.command("show")(runs_show)
    app.add_typer(runs_app, name="runs")
