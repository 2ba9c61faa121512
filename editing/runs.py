"""Orchestration: store -> examples -> probes before -> edit -> probes after -> store + report.

`plan_run` validates everything a run needs and selects its training data
(cheap: no model is loaded). `execute_run` does the work and records it: the
run row moves queued -> running -> succeeded | failed | interrupted, the adapter
appears under $NUDGE_HOME/adapters/<run-id>/ only when complete, and the report
goes to $NUDGE_HOME/reports/<run-id>/.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from peft import PeftModel

from editing.errors import EXIT_GATE_FAILED, EXIT_PASSED, BadInput
from editing.impact import Estimate, find_contamination, measure_impact, parse_gate, rate_metrics
from editing.lora import EditConfig, apply_edit, save_adapter
from editing.models import LoadedModel, load_model
from editing.probes import (
    Probe,
    ProbeScore,
    ProbeSuite,
    greedy_continuations,
    kl_to_base,
    load_suite,
    load_texts,
    parse_probe,
    score_probes,
    token_nlls,
)
from editing.report import assemble_report, write_report
from editing.spec import EditSpec
from editing.spectral import NOTE, layer_sweep, spectrum, truncation_sweep
from editing.training_data import Feedback, Selection, read_feedback_file, select_examples
from store import Store
from store import records as store_records
from store.workspace import nudge_home

RATE_GATES = ("edit", "paraphrase", "leak_rate", "control_unchanged")
GENERATION_TOKENS = 12
_VERSION_REF = re.compile(r"^(?:version:)?(\d+)$")


class RunInputError(BadInput):
    """The spec or its data cannot make a run; nothing was trained."""


@dataclass
class RunPlan:
    """What a run will do, known before any model is loaded."""

    spec: EditSpec
    suites: list[ProbeSuite]
    selection: Selection
    judgments: int  # how many judgments the feedback selector matched
    feedback_source: str
    retain_texts: list[str]
    fluency_texts: list[str]
    model_version_id: int | None = None  # when the spec names a stored model version

    @property
    def probes(self) -> list[Probe]:
        return [p for suite in self.suites for p in suite.probes]

    @property
    def data_hash(self) -> str:
        """sha256 of the training examples, in training order."""
        rows = [[e.kind, e.prompt, e.completion, e.rejected] for e in self.selection.examples]
        return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


@dataclass
class RunOutcome:
    run_id: int
    report: dict[str, Any]
    report_paths: dict[str, Path]
    adapter_path: Path
    exit_code: int


@dataclass
class RunCallbacks:
    """How a caller hears about progress; all optional."""

    on_phase: Callable[[str], None] = lambda phase: None
    on_step: Callable[[int, int, dict[str, float]], None] | None = None


def feedback_from_store(judgment: store_records.Judgment) -> Feedback:
    """A stored judgment in the editing side's shape."""
    if judgment.kind == "preference":
        return Feedback(
            judgment.annotator,
            "preference",
            judgment.prompt,
            judgment.verdict,
            output_a=judgment.output,
            output_b=judgment.output_b or "",
            tags=judgment.tags,
            id=f"judgment:{judgment.id}",
        )
    return Feedback(
        judgment.annotator,
        judgment.kind,
        judgment.prompt,
        judgment.verdict,
        output=judgment.output,
        correction=judgment.correction or "",
        tags=judgment.tags,
        id=f"judgment:{judgment.id}",
    )


def _select_feedback(spec: EditSpec, store: Store) -> tuple[list[Feedback], str]:
    fb = spec.feedback
    if fb.file:
        judgments = read_feedback_file(fb.file)
        if fb.tags:
            judgments = [j for j in judgments if set(j.tags) & set(fb.tags)]
        if fb.annotators:
            judgments = [j for j in judgments if j.annotator in fb.annotators]
        return judgments, f"file {fb.file}"
    status = None if fb.status == "any" else fb.status
    stored = store.judgments_for(tags=fb.tags or None, status=status, annotators=fb.annotators or None)
    return [feedback_from_store(j) for j in stored], "store"


STORE_PREFIX = "store:"


def suite_from_store(store: Store, name: str) -> ProbeSuite:
    """A probe suite kept in the store (`store:NAME` in a spec), in the editing side's shape."""
    stored = store.probe_suite(name)
    probes = [
        parse_probe(
            {"id": p.key, "prompt": p.prompt, "target": p.target, "foil": p.foil, "kind": p.kind, "split": p.split}
            | {k: v for k, v in (p.meta or {}).items() if k in ("relation", "subject")},
            f"stored suite {name!r}, probe {p.key}",
        )
        for p in stored.probes
    ]
    return ProbeSuite(name=f"{STORE_PREFIX}{name}", probes=probes)


def _load_suites(spec: EditSpec, store: Store) -> list[ProbeSuite]:
    suites = []
    for ref in spec.probes:
        if ref.startswith(STORE_PREFIX):
            try:
                suites.append(suite_from_store(store, ref.removeprefix(STORE_PREFIX)))
            except LookupError as exc:
                raise RunInputError(f"probes: {exc}") from exc
        else:
            suites.append(load_suite(ref))
    return suites


def plan_run(spec: EditSpec, store: Store) -> RunPlan:
    """Validate the spec against its data and select the training examples. Raises RunInputError."""
    try:
        suites = _load_suites(spec, store)
        retain = load_texts(spec.train.retain) if spec.train.retain and spec.train.kl_weight > 0 else []
        fluency = load_texts(spec.fluency) if spec.fluency else []
        judgments, source = _select_feedback(spec, store)
    except ValueError as exc:
        raise RunInputError(str(exc)) from exc
    ids = [p.id for suite in suites for p in suite.probes]
    if len(set(ids)) != len(ids):
        raise RunInputError("two probe suites share probe ids; give each suite's probes their own ids")
    selection = select_examples(judgments, spec.feedback.min_agreement, spec.objective, spec.feedback.positive_sft)
    if not selection.examples:
        where = f"tags {spec.feedback.tags}, status {spec.feedback.status}" if not spec.feedback.file else source
        raise RunInputError(
            f"the spec selects no usable judgments ({len(judgments)} matched {where}; dropped: "
            f"{dict(selection.dropped) or 'none'}); import or label some, or widen feedback.tags"
        )
    version = _VERSION_REF.match(spec.model)
    version_id = int(version.group(1)) if version else None
    if version_id is not None:
        try:
            store.model_version(version_id)
        except LookupError as exc:
            raise RunInputError(f"model: {exc}") from exc
    return RunPlan(spec, suites, selection, len(judgments), source, retain, fluency, version_id)


def load_version(store: Store, version_id: int) -> tuple[LoadedModel, list[store_records.ModelVersion]]:
    """A stored model version: its base model with every ancestor adapter merged in, oldest first."""
    chain = [store.model_version(version_id)]
    while chain[-1].parent_id is not None:
        chain.append(store.model_version(chain[-1].parent_id))
    chain.reverse()
    loaded = load_model(chain[0].ref)
    for version in chain[1:]:
        loaded.model = PeftModel.from_pretrained(loaded.model, version.adapter_path).merge_and_unload()
    return loaded, chain


def _library_versions() -> dict[str, str]:
    names = ("nudge", "torch", "transformers", "peft", "tokenizers")
    return {"python": platform.python_version(), **{n: metadata.version(n) for n in names}}


def _validator(plan: RunPlan, loaded: LoadedModel, before: list[ProbeScore]):
    """Early stopping: done once the val probes meet every gate on rate metrics (point values)."""
    val_probes = [p for p in plan.probes if p.split == "val"]
    gates = [parse_gate(name, threshold) for name, threshold in plan.spec.gates.items() if name in RATE_GATES]
    val_before = [s for s in before if s.probe.split == "val"]

    def validate(model: PeftModel) -> tuple[bool, dict[str, float]]:
        after = score_probes(model, loaded.tokenizer, val_probes, plan.spec.chat, continue_kinds=("control",))
        rates = rate_metrics(after, before=val_before, split="val")
        values = {name: est.value for name, est in rates.items() if est.n}
        checked = [g for g in gates if g.name in values]
        # a degenerate interval at the point value: passes exactly when the value does
        done = bool(checked) and all(
            g.status(Estimate(values[g.name], values[g.name], values[g.name], 1)) == "pass" for g in checked
        )
        return done, values

    return validate if val_probes and gates else None


def _measure(plan: RunPlan, loaded: LoadedModel, before: list[ProbeScore]):
    test_probes = [p for p in plan.probes if p.split == "test"]
    test_before = [s for s in before if s.probe.split == "test"]

    def measure(model: PeftModel) -> dict[str, float]:
        after = score_probes(model, loaded.tokenizer, test_probes, plan.spec.chat, continue_kinds=("control",))
        return {k: v.value for k, v in rate_metrics(after, before=test_before, split="test").items() if v.n}

    return measure


def _generation_prompts(plan: RunPlan) -> list[str]:
    """A few test prompts of each kind and a few fluency openings, for side-by-side generations."""
    prompts: list[str] = []
    for kind in ("edit", "paraphrase", "leak", "control"):
        prompts += [p.prompt for p in plan.probes if p.split == "test" and p.kind == kind][:3]
    prompts += [" ".join(t.split()[:2]) for t in plan.fluency_texts[:3]]
    return list(dict.fromkeys(prompts))


def _store_probe_results(
    store: Store, run_id: int, plan: RunPlan, before: list[ProbeScore], after: list[ProbeScore]
) -> None:
    """Keep every probe score of the run, keyed to stored (immutable, content-named) suites."""
    key_to_id: dict[str, int] = {}
    for suite in plan.suites:
        rows = [
            {
                "id": p.id,
                "prompt": p.prompt,
                "target": p.target,
                "foil": p.foil,
                "kind": p.kind,
                "split": p.split,
                "relation": p.relation,
                "subject": p.subject,
            }
            for p in suite.probes
        ]
        digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:12]
        stored = store.add_probe_suite(f"{suite.name}@{digest}", rows)
        key_to_id |= {p.key: p.id for p in stored.probes}
    results = [
        store_records.ProbeScore(key_to_id[s.probe.id], phase, s.target_logprob, s.foil_logprob, None, s.continuation)
        for phase, scores in (("before", before), ("after", after))
        for s in scores
    ]
    store.record_probe_results(run_id, results)


def execute_run(plan: RunPlan, store: Store, callbacks: RunCallbacks | None = None, strict: bool = False) -> RunOutcome:
    """Run the edit the plan describes and record everything; the run row always ends in a final state."""
    cb = callbacks or RunCallbacks()
    spec = plan.spec
    store.interrupt_stale_runs()
    base_version_id = plan.model_version_id or store.ensure_base_version(spec.model).id
    run_id = store.create_run(
        spec.to_dict(), spec.spec_hash, plan.data_hash, spec.train.seed, name=spec.name, base_version_id=base_version_id
    )
    try:
        store.mark_run(run_id, "running")
        outcome = _execute(plan, store, run_id, cb, strict)
    except KeyboardInterrupt:
        store.mark_run(run_id, "interrupted", error="interrupted by the user (Ctrl-C); no adapter was saved")
        raise
    except Exception as exc:  # whatever stopped it, the run must not stay `running`
        store.mark_run(run_id, "failed", error=str(exc) or type(exc).__name__)
        raise
    return outcome


def _execute(plan: RunPlan, store: Store, run_id: int, cb: RunCallbacks, strict: bool) -> RunOutcome:
    spec = plan.spec
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 3)
        return now

    cb.on_phase("loading the model")
    if plan.model_version_id is not None:
        loaded, chain = load_version(store, plan.model_version_id)
        base_version_id = plan.model_version_id
    else:
        loaded = load_model(spec.model, device_map=spec.device_map)
        base_version_id = store.ensure_base_version(spec.model, loaded.fingerprint).id
        chain = []
    model, tokenizer = loaded.model, loaded.tokenizer
    t = lap("load", started)

    cb.on_phase("scoring probes before the edit")
    generation_prompts = _generation_prompts(plan)
    before = score_probes(model, tokenizer, plan.probes, spec.chat)
    nll_before = token_nlls(model, tokenizer, plan.fluency_texts) if plan.fluency_texts else None
    generations_before = greedy_continuations(model, tokenizer, generation_prompts, GENERATION_TOKENS)
    t = lap("probes_before", t)

    cb.on_phase("training the adapter")
    config = EditConfig(lora=spec.lora, train=spec.train, chat=spec.chat)
    result = apply_edit(
        model,
        tokenizer,
        plan.selection.examples,
        config,
        plan.retain_texts,
        validate=_validator(plan, loaded, before),
        on_step=cb.on_step,
    )
    edited = result.model
    t = lap("train", t)

    cb.on_phase("scoring probes after the edit")
    after = score_probes(edited, tokenizer, plan.probes, spec.chat)
    nll_after = token_nlls(edited, tokenizer, plan.fluency_texts) if plan.fluency_texts else None
    kl = kl_to_base(edited, tokenizer, plan.fluency_texts) if plan.fluency_texts else None
    generations_after = greedy_continuations(edited, tokenizer, generation_prompts, GENERATION_TOKENS)
    t = lap("probes_after", t)

    cb.on_phase("sweeping ranks and layers")
    measure = _measure(plan, loaded, before)
    spectral = {
        "modules": [vars(m) for m in spectrum(edited)],
        "truncation": truncation_sweep(edited, measure),
        "layers": layer_sweep(edited, measure),
        "note": NOTE,
    }
    t = lap("sweeps", t)

    cb.on_phase("saving the adapter and the report")
    adapter_path = nudge_home() / "adapters" / str(run_id)
    adapter_sha = save_adapter(edited, adapter_path)
    version = store.add_adapter_version(base_version_id, str(adapter_path), adapter_sha, run_id)
    generations = [
        {"prompt": p, "before": b, "after": a}
        for p, b, a in zip(generation_prompts, generations_before, generations_after, strict=True)
    ]
    impact = measure_impact(
        before,
        after,
        kl=kl,
        nll_before=nll_before,
        nll_after=nll_after,
        generations=generations,
        gates=spec.gates,
        strict=strict,
        seed=spec.train.seed,
    )
    test_probes = [p for p in plan.probes if p.split == "test"]
    contamination = find_contamination(test_probes, sorted({e.prompt for e in plan.selection.examples}))
    if contamination and impact["verdict"]["passed"]:
        impact["verdict"]["passed"] = False
        impact["verdict"]["status"] = "uncertain"
    lap("report", t)
    timings["total"] = round(time.perf_counter() - started, 3)
    run_record = {
        "id": run_id,
        "name": spec.name,
        "spec": spec.to_dict(),
        "spec_hash": spec.spec_hash,
        "data_hash": plan.data_hash,
        "seed": spec.train.seed,
        "versions": _library_versions(),
        "device": str(loaded.device),
        "base_model": {
            "ref": spec.model,
            "fingerprint": loaded.fingerprint,
            "architecture": loaded.architecture,
            "version_id": base_version_id,
            "merged_ancestors": [v.id for v in chain[1:]],
        },
        "result_version_id": version.id,
        "adapter": {"path": str(adapter_path), "sha256": adapter_sha},
        "adapted_modules": result.target_modules,
        "training": {
            "feedback_source": plan.feedback_source,
            "judgments_matched": plan.judgments,
            **plan.selection.to_dict(),
            "steps": result.steps,
            "stopped_early": result.stopped_early,
            "final_losses": result.history[-1] if result.history else {},
        },
        "timings": timings,
    }
    report = assemble_report(impact, contamination, generations, spectral, run_record)
    paths = write_report(report, nudge_home() / "reports" / str(run_id))
    _store_probe_results(store, run_id, plan, before, after)
    store.mark_run(
        run_id,
        "succeeded",
        result_version=version.id,
        metrics={
            "verdict": report["verdict"],
            "metrics": report["metrics"]["after"],
            "report": str(paths["json"]),
            "adapter_sha256": adapter_sha,
        },
    )
    gate_failed = not report["verdict"]["passed"]
    return RunOutcome(run_id, report, paths, adapter_path, EXIT_GATE_FAILED if gate_failed else EXIT_PASSED)
