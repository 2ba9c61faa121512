"""The `nudge` commands over the store: init, user, prompts, judgments, export.

They import only the store (inside each command), never the model stack, so they
answer as fast as the database does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from editing.cli.support import console, err_console, fail, workspace_store

if TYPE_CHECKING:
    from store import BadInputFile, ImportReport

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from one line of standard input.")
]
SkipBad = Annotated[bool, typer.Option("--skip-bad", help="Import the good lines and report the bad ones.")]
Tags = Annotated[list[str] | None, typer.Option("--tag", help="Only judgments with this tag (repeatable).")]
SHOWN_BAD_LINES = 20  # a terminal full of errors hides the first one; the count says the rest

user_app = typer.Typer(help="Manage the accounts of annotators and admins.", no_args_is_help=True)
prompts_app = typer.Typer(help="Prompts for annotators to judge.", no_args_is_help=True)
judgments_app = typer.Typer(help="Human judgments: import them and see how they agree.", no_args_is_help=True)


class Role(str, Enum):
    annotator = "annotator"
    admin = "admin"


class ExportFormat(str, Enum):
    jsonl = "jsonl"
    sft = "sft"
    dpo = "dpo"


def _read_password(name: str, from_stdin: bool) -> str:
    """The password from one line of standard input, or asked for twice without echo."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            fail("--password-stdin was given but standard input is empty; pipe the password in")
        return line.rstrip("\r\n")
    return typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)


@contextmanager
def _import_progress(what: str) -> Iterator[Callable[[int, int], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn(f"[bold]importing {what}"), BarColumn(), MofNCompleteColumn(), console=err_console, transient=True
    ) as progress:
        task = progress.add_task(what, total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield on_progress


def _fail_bad_file(error: BadInputFile) -> None:
    for problem in error.problems[:SHOWN_BAD_LINES]:
        _say(f"  {error.source}: {problem}", err=True, markup=False)
    more = len(error.problems) - SHOWN_BAD_LINES
    if more > 0:
        _say(f"  ... and {more} more", err=True)
    fail(
        f"{escape(error.source)}: {len(error.problems)} bad line(s), nothing imported; "
        "fix them, or pass --skip-bad to import the good lines only"
    )


def _report_import(report: ImportReport, noun: str) -> None:
    for problem in report.skipped:
        _say(f"[yellow]skipped[/] {escape(f'{report.source}: {problem}')}", err=True)
    line = f"imported {report.added} new {noun} from {report.source}"
    if report.existing:
        line += f" ({report.existing} already present, tags merged)"
    if report.skipped:
        line += f"; skipped {len(report.skipped)} bad line(s)"
    _say(line)
    if report.created_annotators:
        _say(
            f"created annotators without a password: {', '.join(report.created_annotators)} "
            "(set one with `nudge user password NAME`)"
        )


def _say(text: str, *, err: bool = False, markup: bool = True) -> None:
    """One line of plain text, never wrapped (paths and messages stay greppable)."""
    (err_console if err else console).print(text, highlight=False, markup=markup, soft_wrap=True)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def init(
    admin: Annotated[
        str | None, typer.Option("--admin", help="Also create this admin account (asks for a password).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the admin's password from one line of standard input.")
    ] = False,
) -> None:
    """Create the workspace's database, or upgrade it to the newest schema.

    The database is $NUDGE_DB (an SQLAlchemy URL, e.g. postgresql+psycopg://...) or else
    $NUDGE_HOME/nudge.db. Running it again is safe: it only applies missing migrations.
    """
    from store.db import database_url, describe

    password = _read_password(admin, password_stdin) if admin else None
    with workspace_store(create=True) as store:
        if admin:
            store.add_annotator(admin, role="admin", password=password)
        admins = [a.name for a in store.list_annotators() if a.role == "admin"]
    _say(f"database ready: {describe(database_url())}")
    if admin:
        _say(f"admin {admin} created")
    elif not admins:
        _say("no admin yet: run `nudge init --admin NAME` to create one")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name: letters, digits and _.@-")],
    role: Annotated[
        Role, typer.Option("--role", help="annotator (judges outputs) or admin (also manages accounts).")
    ] = Role.annotator,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add an account that can log in to the labelling app."""
    with workspace_store() as store:
        store.add_annotator(name, role=role.value, password=_read_password(name, password_stdin))
    _say(f"{role.value} {name} added")


@user_app.command("list")
def user_list() -> None:
    """List the accounts with their role and whether they can log in."""
    with workspace_store() as store:
        people = store.list_annotators()
    table = Table(title="annotators")
    for column in ("name", "role", "active", "password", "created"):
        table.add_column(column)
    for person in people:
        table.add_row(
            person.name,
            person.role,
            "yes" if person.active else "disabled",
            "set" if person.has_password else "none",
            f"{person.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@user_app.command("disable")
def user_disable(name: Annotated[str, typer.Argument(help="The account to disable.")]) -> None:
    """Stop an account from logging in and judging; its judgments are kept."""
    with workspace_store() as store:
        store.disable_annotator(name)
    _say(f"{name} disabled")


@user_app.command("password")
def user_password(
    name: Annotated[str, typer.Argument(help="The account whose password to set.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set or replace an account's password (e.g. for accounts made by --create-annotators)."""
    with workspace_store() as store:
        store.set_password(name, _read_password(name, password_stdin))
    _say(f"password for {name} set")


@prompts_app.command("import")
def prompts_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help='JSONL, one {"text", "tags", "source"} a line.')
    ],
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Add this tag to every imported prompt (repeatable).")
    ] = None,
    skip_bad: SkipBad = False,
) -> None:
    """Import prompts for annotators; prompts are deduplicated by text (tags merge)."""
    from store import BadInputFile

    with workspace_store() as store, _import_progress("prompts") as on_progress:
        try:
            report = store.import_prompts(file, tags=tag or (), skip_bad=skip_bad, on_progress=on_progress)
        except BadInputFile as error:
            _fail_bad_file(error)
    _report_import(report, "prompts")


@judgments_app.command("import")
def judgments_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="JSONL in the shape `nudge export` writes.")
    ],
    skip_bad: SkipBad = False,
    create_annotators: Annotated[
        bool, typer.Option("--create-annotators", help="Add unknown annotators as accounts without a password.")
    ] = False,
) -> None:
    """Import judgments (ratings, corrections, preferences) with their prompts and outputs."""
    from store import BadInputFile

    with workspace_store() as store, _import_progress("judgments") as on_progress:
        try:
            report = store.import_judgments(
                file, skip_bad=skip_bad, create_annotators=create_annotators, on_progress=on_progress
            )
        except BadInputFile as error:
            _fail_bad_file(error)
    _report_import(report, "judgments")


@judgments_app.command("stats")
def judgments_stats(tag: Tags = None) -> None:
    """Counts by kind and status, progress per annotator, and agreement between annotators."""
    with workspace_store() as store:
        counts = store.count_judgments()
        progress = store.progress_by_annotator(tags=tag or None)
        reports = [store.agreement(family, tags=tag or None) for family in ("rating", "preference")]

    table = Table(title="judgments")
    for column in ("kind", "submitted", "draft", "discarded"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind in ("rating", "correction", "preference"):
        table.add_row(kind, *(str(counts.get((kind, s), 0)) for s in ("submitted", "draft", "discarded")))
    console.print(table)

    table = Table(title="progress")
    for column in ("annotator", "submitted", "drafts", "discarded", "left to judge", "last activity"):
        table.add_column(column, justify="left" if column in ("annotator", "last activity") else "right")
    for p in progress:
        last = f"{p.last_activity:%Y-%m-%d %H:%M}" if p.last_activity else "-"
        name = p.annotator if p.active else f"{p.annotator} (disabled)"
        table.add_row(name, str(p.submitted), str(p.drafts), str(p.discarded), str(p.remaining), last)
    console.print(table)

    table = Table(title="agreement (submitted judgments on items two or more annotators judged)")
    for column in ("family", "annotators", "items", "raw agreement", "Krippendorff's alpha", "Cohen's kappa"):
        table.add_column(column, justify="left" if column in ("family", "annotators") else "right")
    for report in reports:
        kappas = ", ".join(f"{p.annotator_a}/{p.annotator_b} {_fmt(p.kappa)}" for p in report.pairs) or "n/a"
        table.add_row(
            report.family,
            ", ".join(report.annotators) or "-",
            str(report.n_items),
            _fmt(report.raw_agreement),
            _fmt(report.alpha),
            kappas,
        )
    console.print(table)


def export(
    fmt: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            help="jsonl: every judgment, re-importable; sft: prompt/completion; "
            "dpo: prompt/chosen/rejected (TRL's shapes).",
        ),
    ] = ExportFormat.jsonl,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file (atomically) instead of standard output.")
    ] = None,
    tag: Tags = None,
    everything: Annotated[
        bool,
        typer.Option(
            "--all",
            help="sft/dpo: every submitted judgment as it was given, both sides of a disagreement included "
            "(by default: what `nudge apply` would train on, texts joined as nudge joins them).",
        ),
    ] = False,
) -> None:
    """Export judgments as JSONL: a full backup, or training data for TRL's trainers.

    sft and dpo hold what `nudge apply` would train on: submitted judgments, disabled accounts
    left out, disagreements resolved by majority, each completion with the leading space nudge
    trains with (so TRL's prompt + completion is nudge's text).
    """
    from store.io import write_jsonl

    with workspace_store() as store:
        if fmt is ExportFormat.jsonl or everything:
            records = store.export_records(fmt.value, tags=tag or None)
        else:
            from editing.export import training_records

            selected = training_records(store, fmt.value, tags=tag or ())
            records = selected.records
            dropped = dict(sorted(selected.selection.dropped.items()))
            left_out = f"; {selected.disabled_excluded} by disabled accounts" if selected.disabled_excluded else ""
            _say(f"selected as `nudge apply` would: dropped {dropped or 'nothing'}{left_out}", err=True, markup=False)
    if out is None:
        for record in records:
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    write_jsonl(records, out)
    _say(f"wrote {len(records)} {fmt.value} record(s) to {out}")
