"""The `nudge` commands that read and measure: report (write or compare edit impact reports), probe.

Rendering and scoring are imported inside each command, so `nudge --help` stays fast.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from editing.cli.support import console, fail, fail_on, workspace_store
from editing.quiet import quiet_dependencies


def _report_of(run_id: int) -> dict:
    from editing.report import read_report
    from editing.workspace import reports_folder

    folder = reports_folder() / str(run_id)
    if not (folder / "report.json").exists():
        fail(f"run {run_id} has no report in {folder}; `nudge runs list` shows the runs")
    return read_report(folder)


@quiet_dependencies()
def _ledger(version: int | None, out: Path | None) -> None:
    """Every edit of a version's chain scored on that version: report.html, report.md and report.json."""
    from editing.ledger import LedgerError, ledger_report
    from editing.report import write_report
    from editing.workspace import reports_folder

    with workspace_store() as store:
        if version is None:
            current = store.current_model_version()
            if current is None:
                fail("no model version is current yet; give --version N (`nudge runs list` shows the versions)")
            version = current.id
        try:
            document = ledger_report(store, version)
        except LedgerError as exc:
            fail_on(exc)
    paths = write_report(document, out or reports_folder() / f"ledger-{version}")
    for path in paths.values():
        console.print(f"wrote {path}")


def report(
    run_id: Annotated[int | None, typer.Argument(help="The run's id.", metavar="RUN")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html, md or json.")] = "html",
    out: Annotated[
        Path | None, typer.Option(help="Write here instead of the run's report folder (--ledger: a folder).")
    ] = None,
    compare: Annotated[
        tuple[int, int] | None, typer.Option(help="Two runs side by side.", metavar="RUN_A RUN_B")
    ] = None,
    ledger: Annotated[
        bool,
        typer.Option(
            "--ledger",
            help="One report over a version's whole chain: every edit's probes scored on it, per edit and pooled "
            "(HTML, Markdown and JSON).",
        ),
    ] = False,
    version: Annotated[
        int | None, typer.Option(help="With --ledger: the model version (default: the current one).", metavar="N")
    ] = None,
) -> None:
    """Write (or rewrite) a run's edit impact report, compare two runs, or report a version's ledger."""
    if ledger:
        _ledger(version, out)
        return
    if version is not None:
        fail("--version goes with --ledger")
    from editing.report import (
        render_comparison_html,
        render_comparison_markdown,
        render_html,
        render_markdown,
        report_json,
    )
    from editing.workspace import reports_folder

    if fmt not in ("html", "md", "json"):
        fail(f"--format must be html, md or json, got {fmt!r}")
    if compare:
        a, b = _report_of(compare[0]), _report_of(compare[1])
        if fmt == "json":
            text = json.dumps({"a": a, "b": b}, indent=2, sort_keys=True) + "\n"
        else:
            text = render_comparison_html(a, b) if fmt == "html" else render_comparison_markdown(a, b)
        target = out or reports_folder() / f"compare-{compare[0]}-{compare[1]}.{fmt}"
    else:
        if run_id is None:
            fail("name a RUN, or give --compare RUN_A RUN_B")
        text = {"html": render_html, "md": render_markdown, "json": report_json}[fmt](_report_of(run_id))
        target = out or reports_folder() / str(run_id) / f"report.{fmt}"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    console.print(f"wrote {target}")


@quiet_dependencies()  # the command draws its own progress; no dependency's warnings or bars in between
def probe(
    model: Annotated[
        str,
        typer.Option(help="A model folder, a hub id, `toyworld`, or `version:N` (a stored version's merged chain)."),
    ] = "toyworld",
    suite: Annotated[str, typer.Option(help="`toyworld:NAME` or a JSONL file of probes.")] = "toyworld:dog-cat-swap",
    adapter: Annotated[
        Path | None,
        typer.Option(help="A peft adapter folder to score with; refused unless MODEL is what it was trained on."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the per-probe scores as JSON here.")] = None,
) -> None:
    """Score a probe suite on a model (optionally with an adapter): a table, and JSON."""
    from peft import PeftModel

    from editing.cli.versions import version_id
    from editing.errors import NudgeError
    from editing.loading import load_model, load_suite
    from editing.lora import AdapterBaseMismatch, check_adapter_base
    from editing.models import ScorableModel
    from editing.probes import score_probes
    from editing.references import VERSION, split_reference
    from editing.runs import chain_fingerprint, load_version
    from store.workspace import nudge_home

    stored = version_id(model) if split_reference(model)[0] == VERSION else None
    try:
        if stored is None:
            loaded = load_model(model)
            weights = loaded.fingerprint
        else:
            with workspace_store(create=True) as store:
                loaded, chain = load_version(store, stored)
            weights = chain_fingerprint(loaded, chain)
        probes = load_suite(suite).probes
        if adapter is not None:
            check_adapter_base(adapter, weights)
    except AdapterBaseMismatch as exc:
        fix = f"; score it with --model {exc.trained_on.model}" if exc.trained_on else ""
        fail(escape(f"{exc}{fix}"))
    except NudgeError as exc:
        fail_on(exc)
    scored_model: ScorableModel = loaded.model
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
