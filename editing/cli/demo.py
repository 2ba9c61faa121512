"""`nudge demo`: the whole loop on the embedded default, from an empty folder to the browser app.

It makes a fresh workspace that shares the toy model, gives it an admin and the
demo feedback's annotators (with printed passwords), applies every example spec
through the library, as `nudge apply` does, and serves the app over the result.
The model stack is imported inside the command, so `nudge --help` stays fast.
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from editing.cli.support import console, fail, fail_on, workspace_store
from editing.cli.toyworld import build_with_progress, print_world_eval
from editing.toyworld.paths import EXAMPLES
from editing.vocab import GATE_STATUSES, VERDICT_STATUSES

if TYPE_CHECKING:
    from store import Store

DEMO_SPECS = ("dog-cat-swap.yaml", "dog-cat-swap-bad.yaml", "capital-change.yaml")  # good, bad, a hard case
DEMO_ADMIN = "admin"
DEMO_MARKER = ".nudge-demo"  # marks a folder the demo made, so a rerun may replace it and nothing else
# No look-alikes (i, l, o, 0, 1): the passwords are read off a terminal. 16 characters from 31 is
# about 79 random bits, which zxcvbn scores as unguessable.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
PASSWORD_GROUPS = 4
PASSWORD_GROUP_CHARS = 4


@dataclass(frozen=True)
class Login:
    """A demo account and its password, printed once so people can log in to the app."""

    name: str
    role: str
    password: str


@dataclass(frozen=True)
class DemoRun:
    """One applied example: what the table shows about it."""

    run_id: int
    name: str
    verdict: str  # report.json's verdict status: pass | fail | uncertain | none (no gate judged)
    gates: Counter[str]  # gate statuses: pass, fail, uncertain
    leak_rate: str  # value (95% interval), or n/a without leak probes
    report: Path  # the HTML report
    seconds: float


def demo_password() -> str:
    """A random password like `k7wq-p2mx-9ztr-hh4c`, strong enough for the store's zxcvbn rule."""
    groups = (
        "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_GROUP_CHARS)) for _ in range(PASSWORD_GROUPS)
    )
    return "-".join(groups)


def _refuse_foreign_folder(home: Path) -> None:
    """Stop before anything is built when `home` holds something the demo did not make.

    A folder an earlier demo made is replaced, so `--home` can never wipe someone's workspace.
    """
    if home.exists() and any(home.iterdir()) and not (home / DEMO_MARKER).exists():
        fail(f"{home} is not empty and was not made by `nudge demo`; pick another --home or remove it")


def _fresh_workspace(home: Path, model: Path) -> None:
    """Make `home` an empty workspace whose models/ links the shared toy model."""
    from store.private_files import make_private_dir

    if home.exists():
        shutil.rmtree(home)
    make_private_dir(home / "models")
    (home / "models" / model.name).symlink_to(model, target_is_directory=True)
    (home / DEMO_MARKER).write_text("made by `nudge demo`; the next `nudge demo` here replaces this folder\n")


def _fill_store(store: Store) -> list[Login]:
    """The admin, the toy world's prompts and demo feedback, and a password for each of its annotators."""
    from editing.toyworld.paths import TOYWORLD_DATA

    logins = [Login(DEMO_ADMIN, "admin", demo_password())]
    store.add_annotator(DEMO_ADMIN, role="admin", password=logins[0].password)
    prompts = store.import_prompts(TOYWORLD_DATA / "prompts.jsonl")
    judgments = store.import_judgments(TOYWORLD_DATA / "demo_feedback.jsonl", create_annotators=True)
    for name in judgments.created_annotators:
        login = Login(name, "annotator", demo_password())
        store.set_password(name, login.password)
        logins.append(login)
    annotators = ", ".join(judgments.created_annotators)
    console.print(f"imported {prompts.added} prompts and {judgments.added} judgments by {annotators}")
    return logins


def _apply_example(store: Store, spec_path: Path) -> DemoRun:
    """Apply one example spec as `nudge apply` does, and print one line about it.

    A failed gate is the run's verdict, not an error: the bad example is there to fail.
    """
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    from editing.errors import NudgeError
    from editing.report.formatting import interval_end
    from editing.runs import RunCallbacks, execute_run, plan_run
    from editing.spec_reader import load_spec
    from editing.vocab import METRICS
    from store import StoreError

    started = time.perf_counter()
    try:
        spec = load_spec(spec_path)
        plan = plan_run(spec, store)
        with Progress(TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True) as bar:
            task = bar.add_task(spec.name, total=None)

            def on_phase(phase: str) -> None:
                bar.update(task, description=f"{spec.name}: {phase}")

            def on_step(step: int, total: int, record: dict[str, float]) -> None:
                on_phase(f"training {step}/{total}")

            callbacks = RunCallbacks(on_phase=on_phase, on_step=on_step)
            outcome = execute_run(plan, store, callbacks)
    except (NudgeError, StoreError) as exc:
        fail_on(exc, context=f"{spec_path.name}: ")
    report = outcome.report
    leak = report["metrics"]["after"].get("leak_rate")
    leak_metric = METRICS["leak_rate"]
    run = DemoRun(
        run_id=outcome.run_id,
        name=spec.name,
        verdict=report["verdict"]["status"],
        gates=Counter(gate["status"] for gate in report["verdict"]["gates"]),
        leak_rate=(
            "n/a"
            if leak is None or leak["value"] is None
            else f"{leak_metric.format(leak['value'])} ({interval_end(leak['ci_low'], leak_metric.fmt, low=True)}–"
            f"{interval_end(leak['ci_high'], leak_metric.fmt, low=False)})"
        ),
        report=outcome.report_paths["html"],
        seconds=time.perf_counter() - started,
    )
    verdict = VERDICT_STATUSES[run.verdict]
    console.print(
        f"run {run.run_id} {escape(run.name)}: [bold {verdict.colour}]{verdict.word}[/] in {run.seconds:.0f} s",
        highlight=False,
    )
    return run


def _print_runs(runs: list[DemoRun], home: Path) -> None:
    """The three-row table: each edit's verdict, its gates by status, its leak rate, its report."""
    from rich import box

    table = Table(title=f"reports under {home}", title_justify="left", caption_justify="left", box=box.SIMPLE_HEAD)
    table.caption = "gates p/f/u: how many of the spec's gates passed, failed, are uncertain (on the test split)"
    for column in ("run", "edit", "verdict", "gates p/f/u", "leak rate (95% CI)"):
        table.add_column(column, no_wrap=True)
    table.add_column("report", overflow="fold")
    for run in runs:
        verdict = VERDICT_STATUSES[run.verdict]
        table.add_row(
            str(run.run_id),
            escape(run.name),
            f"[{verdict.colour}]{verdict.label}[/]",
            "/".join(str(run.gates[status]) for status in GATE_STATUSES),
            run.leak_rate,
            escape(str(run.report.relative_to(home))),
        )
    console.print(table)


def _print_logins(logins: list[Login]) -> None:
    from rich import box

    table = Table(
        title="logins (shown once; change them with `nudge user password NAME`)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in ("user", "role", "password"):
        table.add_column(column, no_wrap=True)
    for login in logins:
        table.add_row(login.name, login.role, login.password)
    console.print(table)


def demo(
    home: Annotated[
        Path | None,
        typer.Option(help="The demo workspace to make; default $NUDGE_HOME/demo. An earlier demo's is replaced."),
    ] = None,
    no_ui: Annotated[bool, typer.Option("--no-ui", help="Stop after the edits instead of serving the app.")] = False,
    port: Annotated[int, typer.Option(help="Port for the app.", min=1, max=65535)] = 7860,
) -> None:
    """The whole loop on the embedded default: accounts, feedback, three edits, their reports, the app.

    Builds the toy model if missing (shared by every workspace under $NUDGE_HOME), makes a
    fresh demo workspace with an admin and two annotators (passwords printed once), imports
    the toy world's prompts and demo feedback, applies the three specs in examples/ (one
    passes, one fails its gates on purpose, one shows a hard case) and prints their verdicts.
    Then it serves the browser app on loopback until Ctrl+C.
    """
    from editing.cli.ui import ui
    from store.workspace import nudge_home, using_workspace

    started = time.perf_counter()
    specs = [EXAMPLES / name for name in DEMO_SPECS]
    missing = [str(path) for path in specs if not path.is_file()]
    if missing:
        fail(f"the example specs are not there: {', '.join(missing)}; run `nudge demo` from a source checkout")
    demo_home = (home or nudge_home() / "demo").expanduser().resolve()
    _refuse_foreign_folder(demo_home)
    model = build_with_progress(force=False)
    print_world_eval(model)
    _fresh_workspace(demo_home, model)
    console.print(f"demo workspace: {demo_home}", highlight=False, soft_wrap=True)
    with using_workspace(demo_home):
        with workspace_store(create=True) as store:
            logins = _fill_store(store)
            runs = [_apply_example(store, path) for path in specs]
        _print_runs(runs, demo_home)
        _print_logins(logins)
        console.print(f"ready in {time.perf_counter() - started:.0f} s", highlight=False)
        if not no_ui:
            ui(host="127.0.0.1", port=port, model="toyworld")
