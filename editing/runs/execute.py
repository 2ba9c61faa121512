"""Execute a planned run: load, score before, train, score after, sweep, record; the run row always ends final.

The run row moves queued -> running -> succeeded | failed | interrupted, with a heartbeat
while it is live; the adapter appears under $NUDGE_HOME/adapters/<run-id>/ only when
complete (editing.runs.record registers it and writes the report). Adapters and reports are
readable by their owner only.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from peft import PeftModel
from transformers import PreTrainedTokenizerBase

from editing.endings import with_model_endings
from editing.errors import EXIT_GATE_FAILED, EXIT_PASSED
from editing.generation import GenerationError, load_merged_version
from editing.impact import Estimate, find_contamination, parse_gate, rate_metrics
from editing.lora import AdapterBase, EditConfig, EditResult, apply_edit, merged_fingerprint, save_adapter
from editing.models import LoadedModel, ScorableModel, load_pretrained
from editing.orphans import remove_orphan_adapters
from editing.prefixes import drawn_texts
from editing.probes import ProbeScore, greedy_continuations, kl_to_base, score_probes, token_nlls
from editing.references import VERSION
from editing.report import assemble_report
from editing.report.measure import measure_impact
from editing.runs.plan import GENERATION_TOKENS, RunInputError, RunPlan, generation_prompts
from editing.runs.record import (
    AdapterRecord,
    BaseModelRecord,
    RunRecord,
    finish_run,
    library_versions,
    training_record,
    write_private_report,
)
from editing.spectral import NOTE, layer_sweep, spectrum, truncation_sweep
from editing.training_data import Selection
from editing.vocab import METRICS
from editing.workspace import adapters_folder
from store import Store, StoreError
from store import records as store_records
from store.private_files import make_private_dir, restrict_to_owner
from store.runs import HEARTBEAT_SECONDS
from store.workspace import nudge_home


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


def load_version(store: Store, version_id: int) -> tuple[LoadedModel, list[store_records.ModelVersion]]:
    """A stored model version (its base with every ancestor adapter merged in) and its chain, oldest first."""
    version = store.model_version(version_id)
    try:
        loaded = load_merged_version(store, version)
    except GenerationError as exc:
        raise RunInputError(str(exc)) from exc
    return loaded, store.version_chain(version_id)


def chain_fingerprint(loaded: LoadedModel, chain: list[store_records.ModelVersion]) -> str:
    """The fingerprint of a loaded version: its base's, with the chain's adapters merged in (none: the base's)."""
    return merged_fingerprint(loaded.fingerprint, [v.adapter_sha256 or "" for v in chain[1:]])


@dataclass
class PhaseScores:
    """What one phase (before or after the edit) measured with the same probes, texts and prompts."""

    probes: list[ProbeScore]
    fluency_nlls: list[list[float]] | None  # per-token NLLs of each fluency text; None without one
    generations: list[str]  # greedy continuations of the generation prompts, in their order


class _Stopwatch:
    """Seconds per phase, for the run record's `timings`."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.timings[phase] = round(now - self.last, 3)
        self.last = now

    def total(self) -> dict[str, float]:
        return {**self.timings, "total": round(time.perf_counter() - self.started, 3)}


class _Heartbeat:
    """Renews the run's heartbeat from a background thread while the run is live."""

    def __init__(self, store: Store, run_id: int) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(store, run_id), daemon=True)

    def _beat(self, store: Store, run_id: int) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(StoreError):  # a busy database skips one beat; the next one renews it
                store.beat(run_id)

    def __enter__(self) -> None:
        self._thread.start()

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def _load(plan: RunPlan, store: Store) -> tuple[LoadedModel, int, list[store_records.ModelVersion]]:
    """The model the edit starts from, its stored version id, and the version chain merged into it."""
    if plan.model_version_id is not None:
        loaded, chain = load_version(store, plan.model_version_id)
        return loaded, plan.model_version_id, chain
    loaded = load_pretrained(plan.base, device_map=plan.spec.device_map)
    return loaded, store.ensure_base_version(plan.spec.model, loaded.fingerprint).id, []


def _score_phase(
    model: ScorableModel, tokenizer: PreTrainedTokenizerBase, plan: RunPlan, prompts: list[str]
) -> PhaseScores:
    """Score every probe, the fluency text and the generation prompts: called once before, once after."""
    return PhaseScores(
        probes=score_probes(model, tokenizer, plan.probes, plan.spec.chat),
        fluency_nlls=token_nlls(model, tokenizer, plan.fluency_texts) if plan.fluency_texts else None,
        generations=greedy_continuations(model, tokenizer, prompts, GENERATION_TOKENS),
    )


def _with_endings(plan: RunPlan, loaded: LoadedModel) -> Selection:
    """The plan's training examples, each followed by the ending the model it starts from writes after its
    own answer (`terminate: model`); the plan's selection as it is otherwise."""
    if plan.training.terminate != "model":
        return plan.selection
    examples, endings = with_model_endings(loaded.model, loaded.tokenizer, plan.selection.examples, plan.spec.chat)
    return replace(plan.selection, examples=examples, endings=endings)


def _validator(
    plan: RunPlan, loaded: LoadedModel, before: list[ProbeScore]
) -> Callable[[PeftModel], tuple[bool, dict[str, float]]] | None:
    """Early stopping: done once the val probes meet every gate on rate metrics (point values)."""
    val_probes = [p for p in plan.probes if p.split == "val"]
    gates = [parse_gate(name, threshold) for name, threshold in plan.spec.gates.items()]
    gates = [g for g in gates if METRICS[g.name].rate]
    val_before = [s for s in before if s.probe.split == "val"]
    # controls need a continuation to tell whether they changed; a `says` gate needs its kind's too
    said_kinds = {METRICS[g.name].probe_kind for g in gates if (METRICS[g.name].counts or "").startswith("says_")}
    continue_kinds = tuple(sorted({"control", *(k for k in said_kinds if k)}))

    def validate(model: PeftModel) -> tuple[bool, dict[str, float]]:
        after = score_probes(model, loaded.tokenizer, val_probes, plan.spec.chat, continue_kinds=continue_kinds)
        rates = rate_metrics(after, before=val_before, split="val")
        values = {name: est.value for name, est in rates.items() if est.value is not None}
        checked = [g for g in gates if g.name in values]
        # a degenerate interval at the point value: passes exactly when the value does
        done = bool(checked) and all(
            g.status(Estimate(values[g.name], values[g.name], values[g.name], 1)) == "pass" for g in checked
        )
        return done, values

    return validate if val_probes and gates else None


def _train(plan: RunPlan, loaded: LoadedModel, before: PhaseScores, cb: RunCallbacks) -> EditResult:
    return apply_edit(
        loaded.model,
        loaded.tokenizer,
        plan.selection.examples,
        EditConfig(lora=plan.spec.lora, train=plan.training, chat=plan.spec.chat),
        plan.retain_texts,
        prefix_texts=plan.prefix_texts,
        validate=_validator(plan, loaded, before.probes),
        on_step=cb.on_step,
    )


def _measure(plan: RunPlan, loaded: LoadedModel, before: list[ProbeScore]) -> Callable[[PeftModel], dict[str, float]]:
    test_probes = [p for p in plan.probes if p.split == "test"]
    test_before = [s for s in before if s.probe.split == "test"]

    def measure(model: PeftModel) -> dict[str, float]:
        after = score_probes(model, loaded.tokenizer, test_probes, plan.spec.chat, continue_kinds=("control",))
        rates = rate_metrics(after, before=test_before, split="test")
        return {name: est.value for name, est in rates.items() if est.value is not None}

    return measure


def _sweeps(plan: RunPlan, loaded: LoadedModel, edited: PeftModel, before: PhaseScores) -> dict[str, Any]:
    """The report's `spectral` section: the edit's spectrum, and the test rates under truncation and per layer."""
    measure = _measure(plan, loaded, before.probes)
    return {
        "modules": [vars(m) for m in spectrum(edited)],
        "truncation": truncation_sweep(edited, measure),
        "layers": layer_sweep(edited, measure),
        "note": NOTE,
    }


def _impact(
    plan: RunPlan,
    before: PhaseScores,
    after: PhaseScores,
    kl: list[float] | None,
    generations: list[dict[str, str]],
    strict: bool,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The report's measured sections, and the test probes that copy a training prompt.

    Contamination is checked on the run's own test probes: the ancestry's re-check what earlier edits taught.
    """
    test_probes = [p for p in plan.own_probes if p.split == "test"]
    answers: dict[str, set[str]] = {}
    for example in plan.selection.examples:
        answers.setdefault(example.prompt, set()).update(a for a in (example.completion, example.rejected) if a)
    training_prompts = sorted(answers)
    contamination = find_contamination(
        test_probes, training_prompts, training_answers=[sorted(answers[p]) for p in training_prompts]
    )
    impact = measure_impact(
        before.probes,
        after.probes,
        kl=kl,
        nll_before=before.fluency_nlls,
        nll_after=after.fluency_nlls,
        generations=generations,
        gates=plan.spec.judged_gates,
        strict=strict,
        contamination=contamination,
        seed=plan.spec.train.seed,
        earlier_edits=plan.ancestry.edits,
    )
    return impact, contamination


def _save_adapter(
    plan: RunPlan, loaded: LoadedModel, chain: list[store_records.ModelVersion], edited: PeftModel, run_id: int
) -> tuple[Path, AdapterRecord]:
    """The adapter in the workspace's adapters/ folder (staged, then renamed into place; owner-only), with
    what it was trained on: the merged chain, so it is never applied to other weights."""
    path = make_private_dir(adapters_folder()) / str(run_id)
    named = plan.spec.model if plan.model_version_id is None else f"{VERSION}:{plan.model_version_id}"
    sha256 = save_adapter(edited, path, AdapterBase(named, chain_fingerprint(loaded, chain)))
    restrict_to_owner(path)
    return path, AdapterRecord(path.relative_to(nudge_home()).as_posix(), sha256)


def _execute(plan: RunPlan, store: Store, run_id: int, cb: RunCallbacks, strict: bool) -> RunOutcome:
    spec = plan.spec
    clock = _Stopwatch()

    cb.on_phase("loading the model")
    loaded, base_version_id, chain = _load(plan, store)
    clock.lap("load")

    cb.on_phase("scoring probes before the edit")
    prompts = generation_prompts(plan)
    before = _score_phase(loaded.model, loaded.tokenizer, plan, prompts)
    clock.lap("probes_before")

    cb.on_phase("training the adapter")
    selection = _with_endings(plan, loaded)
    prefixes = drawn_texts(plan.training.prefixes, plan.prefix_texts, loaded.model, loaded.tokenizer, spec.train.seed)
    plan = replace(plan, selection=selection, prefix_texts=prefixes)
    result = _train(plan, loaded, before, cb)
    edited = result.model
    clock.lap("train")

    cb.on_phase("scoring probes after the edit")
    after = _score_phase(edited, loaded.tokenizer, plan, prompts)
    kl = kl_to_base(edited, loaded.tokenizer, plan.fluency_texts) if plan.fluency_texts else None
    clock.lap("probes_after")

    cb.on_phase("sweeping ranks and layers")
    spectral = _sweeps(plan, loaded, edited, before)
    clock.lap("sweeps")

    cb.on_phase("saving the adapter and the report")
    adapter_path, adapter = _save_adapter(plan, loaded, chain, edited, run_id)
    generations = [
        {"prompt": p, "before": b, "after": a}
        for p, b, a in zip(prompts, before.generations, after.generations, strict=True)
    ]
    impact, contamination = _impact(plan, before, after, kl, generations, strict)
    version = finish_run(store, run_id, plan, (before.probes, after.probes), impact, base_version_id, adapter)
    clock.lap("report")
    record = RunRecord(
        id=run_id,
        name=spec.name,
        spec=spec.to_dict(),
        spec_hash=spec.spec_hash,
        data_hash=plan.data_hash,
        seed=spec.train.seed,
        versions=library_versions(),
        device=str(loaded.device),
        base_model=BaseModelRecord(
            spec.model, loaded.fingerprint, loaded.architecture, base_version_id, [v.id for v in chain[1:]]
        ),
        result_version_id=version.id,
        standing=version.standing,
        accepted_failed=version.accepted_failed,
        adapter=adapter,
        adapted_modules=result.target_modules,
        training=training_record(plan, result),
        timings=clock.total(),
    )
    report = assemble_report(impact, contamination, generations, spectral, record.to_dict())
    paths = write_private_report(report, run_id)
    exit_code = EXIT_PASSED if report["verdict"]["passed"] else EXIT_GATE_FAILED
    return RunOutcome(run_id, report, paths, adapter_path, exit_code)


def execute_run(plan: RunPlan, store: Store, callbacks: RunCallbacks | None = None, strict: bool = False) -> RunOutcome:
    """Run the edit the plan describes and record everything; the run row always ends in a final state.

    Dead runs found on the way are marked `interrupted` and their orphan adapter folders removed.
    """
    cb = callbacks or RunCallbacks()
    spec = plan.spec
    remove_orphan_adapters(store)
    base_version_id = plan.model_version_id or store.ensure_base_version(spec.model).id
    run_id = store.create_run(
        spec.to_dict(), spec.spec_hash, plan.data_hash, spec.train.seed, name=spec.name, base_version_id=base_version_id
    )
    try:
        store.mark_run(run_id, "running")
        with _Heartbeat(store, run_id):
            outcome = _execute(plan, store, run_id, cb, strict)
    except KeyboardInterrupt:
        store.mark_run(run_id, "interrupted", error="interrupted by the user (Ctrl-C); no adapter was saved")
        remove_orphan_adapters(store)
        raise
    except Exception as exc:  # whatever stopped it, the run must not stay `running`
        # A failure after the version was registered (writing the report) leaves the run finished:
        # re-raise what went wrong rather than an error about the run's state.
        if store.run(run_id).status == "running":
            store.mark_run(run_id, "failed", error=str(exc) or type(exc).__name__)
            remove_orphan_adapters(store)
        raise
    return outcome
