"""A stored version's ledger: every edit in its ancestry, the probes that re-check those edits, its report.

Each adapter version was made by a run, and the run kept its probe suites in the
store (content-named, immutable: `toyworld:dog-cat-swap@<digest>`) with its scores.
From those stored suites a later run re-checks every earlier edit: the test edit and
paraphrase probes become `regression` probes (they must still say what that edit
taught) and the test controls, answered by the base model, stay controls. Their ids
name the version (`v2:dog-cat-swap-031`), so the same suite in two edits stays two
sets of probes, and each keeps the stored probe it came from, for recording scores.

`ledger_report` scores every edit's probes on one version (`nudge report --ledger`):
per edit and pooled, against what each edit's own run recorded when it made it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from editing.errors import BadInput
from editing.generation import GenerationError, load_merged_version
from editing.impact.regressions import EarlierEdit
from editing.probes import Probe, ProbeScore, ProbeSuiteError, score_probes
from editing.references import suite_name
from editing.report import assemble_report
from editing.report.measure import measure_impact
from editing.spec import DEFAULT_REGRESSIONS_GATE
from editing.store_feedback import probe_from_store
from store import Store
from store import records as store_records

REGRESSION_SOURCE_KINDS = ("edit", "paraphrase")  # what an earlier edit taught; its leaks and controls are other news


class LedgerError(BadInput):
    """A version's ancestry cannot be re-checked; the message names the version and the fix."""


@dataclass(frozen=True)
class Ancestry:
    """The earlier edits of a model version and the probes that re-check them (empty for a base model)."""

    edits: list[EarlierEdit] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)  # regression probes, then base-model controls
    stored_ids: dict[str, int] = field(default_factory=dict)  # probe id here -> the stored probe it re-scores


def _stored_suites(store: Store, run: store_records.EditRun) -> list[store_records.ProbeSuite]:
    """The stored suites a run scored: named after its spec's suites, holding the probes it has results for."""
    names = {suite_name(str(ref)) for ref in run.spec.get("probes", [])}
    scored = {result.probe_id for result in store.probe_results(run.id, "after")}
    suites = []
    for stored_name in store.probe_suites():
        if stored_name.rpartition("@")[0] in names:
            suite = store.probe_suite(stored_name)
            if any(p.id in scored for p in suite.probes):
                suites.append(suite)
    return suites


def _probe(stored: store_records.Probe, where: str) -> Probe:
    try:
        return probe_from_store(stored, where)
    except ProbeSuiteError as exc:
        raise LedgerError(str(exc)) from exc


def _run_of(store: Store, version: store_records.ModelVersion) -> store_records.EditRun:
    if version.run_id is None:
        raise LedgerError(f"model version {version.id} has an adapter but no run; its edit cannot be re-checked")
    return store.run(version.run_id)


def load_ancestry(store: Store, version_id: int, present: Iterable[Probe] = ()) -> Ancestry:
    """Every edit on the way to `version_id` (oldest first) and the test probes that re-check it.

    Controls already among `present` (same prompt, target and foil) or in an earlier
    edit's suite are left out: one control, scored once, counts once.
    """
    try:
        chain = store.version_chain(version_id)
    except LookupError as exc:
        raise LedgerError(f"model version {version_id}: {exc}") from exc
    seen_controls = {(p.prompt, p.target, p.foil) for p in present if p.kind == "control"}
    ancestry = Ancestry()
    for version in chain[1:]:
        run = _run_of(store, version)
        regression_ids = []
        for suite in _stored_suites(store, run):
            for stored in suite.probes:
                probe = _probe(stored, f"stored suite {suite.name!r}, probe {stored.key}")
                if probe.split != "test":
                    continue
                probe_id = f"v{version.id}:{probe.id}"
                if probe.kind in REGRESSION_SOURCE_KINDS:
                    regression_ids.append(probe_id)
                    probe = replace(probe, kind="regression")
                elif probe.kind != "control" or (probe.prompt, probe.target, probe.foil) in seen_controls:
                    continue
                seen_controls.add((probe.prompt, probe.target, probe.foil))
                ancestry.probes.append(replace(probe, id=probe_id))
                ancestry.stored_ids[probe_id] = stored.id
        name = run.name or str(run.spec.get("name") or f"run {run.id}")
        ancestry.edits.append(EarlierEdit(name, version.id, run.id, tuple(regression_ids)))
    ancestry.probes.sort(key=lambda p: p.kind != "regression")  # regression probes first, controls after
    return ancestry


def _probes_of_edit(ancestry: Ancestry, edit: EarlierEdit) -> list[Probe]:
    """The probes that came from one edit's suites: its regression probes and the controls first seen there."""
    prefix = f"v{edit.version_id}:"
    return [p for p in ancestry.probes if p.id.startswith(prefix)]


def _when_made(
    store: Store, edit: EarlierEdit, probes: Sequence[Probe], stored_ids: dict[str, int]
) -> list[ProbeScore]:
    """The scores the edit's own run recorded after training: each probe as the edit left it."""
    recorded = {r.probe_id: r for r in store.probe_results(edit.run_id, "after")}
    scores = []
    for probe in probes:
        result = recorded.get(stored_ids[probe.id])
        if result is None:
            raise LedgerError(f"run {edit.run_id} recorded no score for probe {probe.id}; its results are incomplete")
        scores.append(ProbeScore(probe, result.target_logprob, result.foil_logprob, result.continuation or ""))
    return scores


LEDGER_LEAK_NOTE = (
    "The ledger re-checks each edit's test edit and paraphrase probes (as regression probes) and the base "
    "model's controls; it does not re-score leak probes: each edit's own report has them."
)


LEDGER_TOOK_NOTE = (
    "Each edit's edit and paraphrase probes are scored here as regression probes: see the edits in the chain "
    "and what else moved."
)


def ledger_report(store: Store, version_id: int, seed: int = 0) -> dict[str, Any]:
    """One report over the whole chain up to `version_id`: every edit's test probes scored on that version.

    Its `before` is what each edit's own run recorded once the edit was made (what the
    model said then is read from that run's stored continuation), its `after` the
    version now; `earlier_edits` has one entry per edit, `metrics` pools them, and the
    `regressions` gate (at its default) judges each edit.
    """
    ancestry = load_ancestry(store, version_id)
    if not ancestry.edits:
        raise LedgerError(f"model version {version_id} is a base model: it has no edits; name an edited version")
    try:
        loaded = load_merged_version(store, store.model_version(version_id))
    except GenerationError as exc:
        raise LedgerError(str(exc)) from exc
    before: list[ProbeScore] = []
    after: list[ProbeScore] = []
    for edit in ancestry.edits:
        probes = _probes_of_edit(ancestry, edit)
        before += _when_made(store, edit, probes, ancestry.stored_ids)
        chat = bool(store.run(edit.run_id).spec.get("chat", False))  # each edit's probes as its run asked them
        after += score_probes(loaded.model, loaded.tokenizer, probes, chat)
    impact = measure_impact(
        before,
        after,
        gates={"regressions": DEFAULT_REGRESSIONS_GATE},
        seed=seed,
        earlier_edits=ancestry.edits,
        before_words="when it was made",
    )
    impact["summary"]["leaked"] = [LEDGER_LEAK_NOTE]
    impact["summary"]["took"] = [LEDGER_TOOK_NOTE]
    impact["summary"]["says"] = []
    record = {
        "name": f"ledger of model version {version_id}",
        "ledger_version_id": version_id,
        "edits": [{"name": e.name, "version_id": e.version_id, "run_id": e.run_id} for e in ancestry.edits],
        "before": "each edit's probes as its own run recorded them once the edit was made",
        "after": f"the same probes scored on model version {version_id}",
    }
    return assemble_report(impact, [], [], None, record)
