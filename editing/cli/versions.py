"""The `nudge` commands over the edit ledger: versions list/show/tree, promote, revert.

Every finished run makes a version; a failed verdict makes a rejected one, which is listed
and kept but not built on or promoted unless `--accept-failed` says so (store.versions has
the rule, which the app's promote uses too). Only the store is imported: no model library.
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from editing.cli.support import console, fail, workspace_store
from editing.references import stored_version_id
from editing.vocab import status_label

if TYPE_CHECKING:
    from store import EditRun, ModelVersion, Store

versions_app = typer.Typer(
    help="Model versions: the edit ledger (what each run made, and which is current).", no_args_is_help=True
)

VersionArg = Annotated[str, typer.Argument(help="A model version: `version:N` or `N`.", metavar="VERSION")]
ByOption = Annotated[str | None, typer.Option("--by", help="Who is moving the current version (default: you).")]


def version_id(text: str) -> int:
    """The id in `version:N` or `N`, as a spec's `model:` names a stored version; a clear error otherwise."""
    try:
        found = stored_version_id(text)
    except ValueError:
        found = None
    if found is None:
        fail(f"{text!r} is not a model version; give `version:N` or `N` (`nudge versions list` shows them)")
    return found


def standing_text(version: ModelVersion) -> str:
    """accepted, rejected, or accepted despite a failed verdict."""
    return "accepted despite a failed verdict" if version.accepted_failed else version.standing


def _name(version: ModelVersion, runs: dict[int, EditRun]) -> str:
    if version.is_base:
        return version.ref or ""
    run = runs.get(version.run_id) if version.run_id is not None else None
    return (run.name or "") if run else ""


def _ledger(store: Store) -> tuple[list[ModelVersion], dict[int, EditRun], int | None]:
    """Every version, the runs that made them by id, and the current version's id."""
    current = store.current_model_version()
    return store.model_versions(), {r.id: r for r in store.runs()}, current.id if current else None


@versions_app.command("list")
def versions_list() -> None:
    """Every model version, oldest first: parent, standing, verdict, the run that made it, which is current."""
    table = Table()
    for column in ("version", "parent", "standing", "verdict", "run", "name", "created", "current"):
        table.add_column(column)
    with workspace_store(create=True) as store:
        versions, runs, current = _ledger(store)
    for v in versions:
        table.add_row(
            str(v.id),
            "" if v.parent_id is None else str(v.parent_id),
            standing_text(v),
            status_label(v.verdict),
            "" if v.run_id is None else str(v.run_id),
            escape(_name(v, runs)),
            f"{v.created_at:%Y-%m-%d %H:%M}",
            "*" if v.id == current else "",
        )
    console.print(table)
    if current is None:
        console.print("no version promoted yet: annotators label the base model")


@versions_app.command("show")
def versions_show(version: VersionArg) -> None:
    """One version: its chain from the base, its run, verdict and gates, its report and adapter."""
    with workspace_store(create=True) as store:
        chain = store.version_chain(version_id(version))
        runs = {r.id: r for r in store.runs()}
        current = store.current_model_version()
    shown = chain[-1]
    marker = " (current)" if current is not None and current.id == shown.id else ""
    console.print(f"version {shown.id}{marker}: [bold]{standing_text(shown)}[/]")
    path = [f"{escape(chain[0].ref or '')} ({chain[0].id})", *(str(v.id) for v in chain[1:])]
    console.print("chain: " + " -> ".join(path), highlight=False)
    if shown.is_base:
        console.print(f"base model {escape(shown.ref or '')}, fingerprint {shown.fingerprint or 'not recorded'}")
        return
    run = runs.get(shown.run_id) if shown.run_id is not None else None
    if run is None:
        console.print("made by no recorded run")
    else:
        verdict = (run.metrics or {}).get("verdict") or {}
        judged = status_label(shown.verdict) or "none"
        console.print(f"run {run.id} ({escape(run.name or '')}): {run.status}, verdict {judged}")
        for gate in verdict.get("gates", []):
            value = "n/a" if gate.get("value") is None else f"{gate['value']:.3f}"
            name = f"{gate['name']}: {gate['edit']}" if gate.get("edit") else gate["name"]
            console.print(f"  gate {name} {value} ({gate['threshold']}): {gate['status']}", highlight=False)
        console.print(f"report: {escape(str((run.metrics or {}).get('report', 'none')))}")
    console.print(f"adapter: {escape(shown.adapter_path or '')}\nadapter sha256: {shown.adapter_sha256}")


@versions_app.command("tree")
def versions_tree() -> None:
    """The versions as a tree: each base model with the edits made on it, and on those."""
    with workspace_store(create=True) as store:
        versions, runs, current = _ledger(store)
    children: dict[int | None, list[ModelVersion]] = {}
    for v in versions:
        children.setdefault(v.parent_id, []).append(v)
    tree = Tree("model versions")

    def label(v: ModelVersion) -> str:
        parts = [f"[bold]{v.id}[/]", escape(_name(v, runs))]
        if not v.is_base:
            parts.append(f"{status_label(v.verdict) or 'no verdict'}, {standing_text(v)}")
        return " ".join(p for p in parts if p) + ("  [green]<- current[/]" if v.id == current else "")

    def grow(branch: Tree, parent: int | None) -> None:
        for v in children.get(parent, []):
            grow(branch.add(label(v)), v.id)

    grow(tree, None)
    console.print(tree)


def promote(
    version: VersionArg,
    accept_failed: Annotated[
        bool, typer.Option("--accept-failed", help="Promote a rejected version anyway; it is recorded as accepted.")
    ] = False,
    by: ByOption = None,
) -> None:
    """Make a version current: annotators label its outputs next. A rejected version needs --accept-failed."""
    with workspace_store(create=True) as store:
        moved = store.promote_version(version_id(version), by or getpass.getuser(), accept_failed)
    despite = " (accepted despite a failed verdict)" if moved.accepted_failed else ""
    console.print(f"version {moved.id} is now current{despite}")


def revert(version: VersionArg, by: ByOption = None) -> None:
    """Move the current version back to one of its ancestors. Nothing is deleted; the move is recorded."""
    with workspace_store(create=True) as store:
        before = store.current_model_version()
        moved = store.revert_to(version_id(version), by or getpass.getuser())
    assert before is not None  # revert_to refuses when nothing was promoted
    console.print(f"version {moved.id} is now current (reverted from version {before.id})")
