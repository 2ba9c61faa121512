"""The `nudge` commands that make edits and read their records: apply, runs list/show, export-model.

The ledger of the versions those runs make (list, show, tree, promote, revert) is in versions.py.

The model stack (torch, transformers, peft) is imported inside the commands that
train or load a model, so listing runs stays as fast as the store.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from editing.cli.support import console, fail, fail_on, workspace_store
from editing.errors import NudgeError, RunFailed
from editing.quiet import quiet_dependencies

if TYPE_CHECKING:
    from editing.runs import RunOutcome, RunPlan
    from store import Store

runs_app = typer.Typer(help="Edit runs recorded in the workspace.", no_args_is_help=True)


def print_plan(plan: RunPlan) -> None:
    """What will be trained on: counts by kind, annotators, what was dropped and why."""
    from editing.prefixes import describe_prefixes

    s = plan.selection
    console.print(f"[bold]{plan.spec.name}[/]: {plan.judgments} judgment(s) from {plan.feedback_source}")
    console.print(f"  training examples: {len(s.examples)}  by kind: {dict(sorted(s.used_by_kind.items()))}")
    console.print(f"  annotators used:   {dict(sorted(s.annotators.items())) or 'none'}")
    console.print(f"  dropped:           {dict(sorted(s.dropped.items())) or 'nothing'}")
    if plan.disabled_excluded:
        console.print(
            f"  left out:          {plan.disabled_excluded} judgment(s) by disabled accounts "
            "(feedback.include_disabled: true keeps them)"
        )
    if plan.retain_left_out:
        console.print(
            f"  retain:            {plan.retain_left_out} text(s) of train.retain left out: they begin with a "
            "prompt this edit trains, where the KL term would hold the old answer"
        )
    by_split = {split: sum(p.split == split for p in plan.probes) for split in ("train", "val", "test")}
    console.print(f"  probes:            {len(plan.probes)} from {', '.join(x.name for x in plan.suites)} {by_split}")
    lora, train = plan.spec.lora, plan.spec.train
    console.print(
        f"  edit:              LoRA r={lora.rank} alpha={lora.alpha} on {lora.targets} "
        f"(layers {lora.layers}); {train.steps} steps at lr {train.lr:g}, KL weight {train.kl_weight}"
    )
    stopping = {"val": "once the val probes meet the gates", "none": "no (every step is trained)"}
    early_stop = plan.training.early_stop
    resolved = train.early_stop == "auto" and early_stop == "none"
    auto = " (train.early_stop: auto, on a stored version)" if resolved else ""
    console.print(f"  early stop:        {stopping[early_stop]}{auto}")
    prefixes = describe_prefixes(plan.training.prefixes, train)
    if prefixes:
        console.print(f"  context prefixes:  {prefixes}")


def print_summary(report: dict, paths: dict[str, Path]) -> None:
    """One screen: verdict and gates, what leaked, what moved, where the report is."""
    from rich.markup import escape

    from editing.report import console_gate_rows, summary_lines
    from editing.vocab import VERDICT_STATUSES

    verdict = VERDICT_STATUSES[report["verdict"]["status"]]
    table = Table(title=f"run {report['run']['id']}: {escape(report['run']['name'])}", title_justify="left")
    for column in ("gate", "value", "95% interval", "threshold", "status"):
        table.add_column(column)
    for *cells, status in console_gate_rows(report):
        table.add_row(*(escape(cell) for cell in cells), f"[{VERDICT_STATUSES[status].colour}]{status}[/]")
    console.print(table)
    for line in summary_lines(report):
        console.print(line, markup=False, highlight=False)
    run = report["run"]
    if run.get("accepted_failed"):
        console.print(
            f"version {run['result_version_id']}: accepted despite a failed verdict (accept_failed)", highlight=False
        )
    elif run.get("standing") == "rejected":
        console.print(
            f"version {run['result_version_id']}: rejected (kept, but not built on or promoted "
            "unless you say --accept-failed)",
            highlight=False,
        )
    console.print(f"verdict: [bold {verdict.colour}]{verdict.word}[/]   report: {escape(str(paths['html']))}")


@quiet_dependencies()  # the command draws its own progress; no dependency's warnings or bars in between
def apply(
    spec_path: Annotated[Path, typer.Argument(help="The edit spec (YAML).", metavar="SPEC.yaml")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and show the training data, then stop.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Count uncertain gates as failed.")] = False,
    accept_failed: Annotated[
        bool,
        typer.Option(
            "--accept-failed",
            help="Accept the edit even if its verdict fails, and allow building on a rejected version "
            "(the spec's accept_failed: true; recorded in the run's spec and shown in the report).",
        ),
    ] = False,
) -> None:
    """Turn the judgments a spec selects into a LoRA edit, measure it before and after, record it.

    A failed verdict (or an uncertain one under --strict) makes a rejected version: kept and
    listed, but not built on or promoted unless --accept-failed says so.
    Exit codes: 0 the verdict passed (uncertain passes unless --strict), 3 it did not (a gate failed, or
    uncertain under --strict), 2 bad input, 1 the run failed.
    """
    import dataclasses

    from editing.runs import plan_run
    from editing.spec import SpecError
    from editing.spec_reader import load_spec

    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        fail_on(exc, context=f"{spec_path}: ")
    if accept_failed:
        spec = dataclasses.replace(spec, accept_failed=True)
    with workspace_store(create=True) as store:
        try:
            plan = plan_run(spec, store)
        except NudgeError as exc:
            fail_on(exc)
        print_plan(plan)
        if dry_run:
            console.print("dry run: nothing trained")
            return
        outcome = _execute(plan, store, strict)
    print_summary(outcome.report, outcome.report_paths)
    raise typer.Exit(outcome.exit_code)


def _execute(plan: RunPlan, store: Store, strict: bool) -> RunOutcome:
    """Execute the plan under a progress bar: the phase, the training step and its loss terms."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from editing.runs import RunCallbacks, execute_run

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
            return execute_run(plan, store, callbacks, strict=strict)
        except NudgeError as exc:  # recorded on the run as `failed`, with this reason
            fail_on(exc, context="the edit failed: " if isinstance(exc, RunFailed) else "")


@contextmanager
def _swept_store() -> Iterator[Store]:
    """The workspace's store, with dead runs marked `interrupted` and their orphan adapter folders removed."""
    from editing.orphans import remove_orphan_adapters

    with workspace_store(create=True) as store:
        for folder in remove_orphan_adapters(store):
            console.print(f"removed {folder}, left by a run that did not finish")
        yield store


@runs_app.command("list")
def runs_list(limit: Annotated[int, typer.Option(help="Show at most this many runs.")] = 20) -> None:
    """The workspace's edit runs, newest first. A run whose process died reads as interrupted."""
    from editing.cli.versions import standing_text
    from editing.vocab import status_label

    table = Table()
    for column in ("run", "name", "status", "verdict", "version", "seconds", "created"):
        # a narrow terminal wraps the version and times, never cuts a run's name or verdict short
        table.add_column(column, no_wrap=column in ("run", "name", "status", "verdict"))
    with _swept_store() as store:
        versions = {v.id: v for v in store.model_versions()}
        runs = store.runs(limit)
    for run in runs:
        verdict = status_label((run.metrics or {}).get("verdict", {}).get("status"))
        made = versions.get(run.result_version_id) if run.result_version_id is not None else None
        version = f"{made.id} ({standing_text(made)})" if made else ""
        seconds = f"{run.seconds:.1f}" if run.seconds is not None else ""
        created = f"{run.created_at:%Y-%m-%d %H:%M}"
        table.add_row(str(run.id), run.name or "", run.status, verdict, version, seconds, created)
    console.print(table)


@runs_app.command("show")
def runs_show(run_id: Annotated[int, typer.Argument(help="The run's id.", metavar="RUN")]) -> None:
    """One run's record: status, error, hashes, the version it produced, its report."""
    with _swept_store() as store:
        run = store.run(run_id)
    console.print(f"run {run.id} ({run.name}): [bold]{run.status}[/]")
    if run.error:
        console.print(f"error: {run.error}")
    console.print(f"spec hash {run.spec_hash}\ndata hash {run.data_hash}\nseed {run.seed}")
    console.print(f"base version {run.base_version_id}, result version {run.result_version_id}")
    if run.metrics:
        console.print(f"report: {run.metrics.get('report')}\nadapter sha256: {run.metrics.get('adapter_sha256')}")
    console.print_json(json.dumps(run.spec))


@runs_app.command("gc")
def runs_gc() -> None:
    """Mark dead runs interrupted and remove the adapter folders that runs which did not finish left behind."""
    from editing.orphans import remove_orphan_adapters

    with workspace_store(create=True) as store:
        removed = remove_orphan_adapters(store)
    for folder in removed:
        console.print(f"removed {folder}")
    console.print(f"{len(removed)} orphan folder(s) removed")


@quiet_dependencies()
def export_model(
    run_id: Annotated[int, typer.Argument(help="The run whose edited model to export.", metavar="RUN")],
    out: Annotated[Path, typer.Option(help="The folder to write (must not exist).")],
    merged: Annotated[
        bool, typer.Option("--merged/--adapter-only", help="Merge the adapters into the weights.")
    ] = True,
) -> None:
    """Export a run's edited model as a plain Hugging Face folder (adapters merged into the weights)."""
    with workspace_store(create=True) as store:
        run = store.run(run_id)
        if run.result_version_id is None:
            fail(f"run {run_id} is {run.status} and produced no model version")
        if out.exists():
            fail(f"{out} already exists; choose a new folder")
        if not merged:
            version = store.model_version(run.result_version_id)
            assert version.adapter_path is not None  # a run's result is an edited version, which has an adapter
            shutil.copytree(version.adapter_path, out)
            console.print(f"copied the adapter of run {run_id} to {out}")
            return
        from editing.runs import load_version

        loaded, _ = load_version(store, run.result_version_id)
    loaded.model.save_pretrained(out)
    loaded.tokenizer.save_pretrained(out)
    console.print(f"wrote the merged model of run {run_id} to {out}")
