"""Orchestration: store -> examples -> probes before -> edit -> probes after -> store + report.

`plan_run` validates everything a run needs and selects its training data
(cheap: only the model's config and tokenizer are read, no row is written).
`execute_run` does the work and records it: the run row moves queued -> running
-> succeeded | failed | interrupted, with a heartbeat while it is live; the adapter
appears under $NUDGE_HOME/adapters/<run-id>/ only when complete and is registered
as a model version in the same step that marks the run succeeded; the report goes
to $NUDGE_HOME/reports/<run-id>/. Adapters and reports are readable by their owner only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from peft import PeftModel
from transformers import PreTrainedTokenizerBase

from editing.endings import with_model_endings
from editing.errors import EXIT_GATE_FAILED, EXIT_PASSED, BadInput
from editing.generation import GenerationError, load_merged_version
from editing.impact import Estimate, find_contamination, measure_impact, parse_gate, rate_metrics
from editing.ledger import Ancestry, LedgerError, load_ancestry
from editing.lora import AdapterBase, EditConfig, EditResult, apply_edit, merged_fingerprint, save_adapter
from editing.model_refs import TOYWORLD, resolve_ref
from editing.models import LoadedModel, ScorableModel, load_config_and_tokenizer, load_model
from editing.orphans import remove_orphan_adapters
from editing.prefixes import PREFIX_TOKENS, sample_prefixes
from editing.preflight import (
    check_context,
    check_edit_fits,
    check_prefixes,
    check_sampled_prefixes,
    check_texts,
    context_length,
)
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
from editing.replay import replayed_examples
from editing.report import assemble_report, write_report
from editing.spec import MODEL_PREFIXES, RETAIN_PREFIXES, VERSION_REF, EditSpec, FeedbackSpec
from editing.spectral import NOTE, layer_sweep, spectrum, truncation_sweep
from editing.store_feedback import store_feedback
from editing.training_data import (
    Feedback,
    Selection,
    TrainingExample,
    read_feedback_file,
    retain_without_trained_prompts,
    select_examples,
)
from editing.vocab import METRICS
from store import Store, StoreError, VersionRejected
from store import records as store_records
from store.private_files import make_private_dir, restrict_to_owner
from store.runs import HEARTBEAT_SECONDS
from store.versions import check_standing
from store.workspace import nudge_home

GENERATION_TOKENS = 12


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
    disabled_excluded: int = 0  # judgments left out because their annotators' accounts are disabled
    # the stored version's earlier edits and the probes that re-check them; empty on a base model
    ancestry: Ancestry = field(default_factory=Ancestry)
    retain_left_out: int = 0  # retain texts that begin with a trained prompt (training_data.retain_without_...)
    terminate: str = "model"  # train.terminate with `auto` resolved (TrainSpec.answer_ending)
    early_stop: Literal["val", "none"] = "val"  # train.early_stop with `auto` resolved (TrainSpec.stopping)
    context_prefixes: int = 0  # train.context_prefixes with `auto` resolved (TrainSpec.prefixing)
    prefixes: str = MODEL_PREFIXES  # train.prefixes with `auto` resolved (TrainSpec.prefix_source)
    prefix_texts: list[str] = field(default_factory=list)  # what train.context_prefixes puts before prompts

    @property
    def own_probes(self) -> list[Probe]:
        """The probes of the spec's own suites."""
        return [p for suite in self.suites for p in suite.probes]

    @property
    def probes(self) -> list[Probe]:
        """Every probe the run scores: its own suites', then the ancestry's regression probes and controls."""
        return [*self.own_probes, *self.ancestry.probes]

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


def _select_feedback(fb: FeedbackSpec, store: Store) -> tuple[list[Feedback], str, int]:
    """The judgments `feedback` selects, where they came from, and how many disabled accounts' were left out."""
    if fb.file:
        judgments = read_feedback_file(fb.file)
        if fb.tags:
            judgments = [j for j in judgments if set(j.tags) & set(fb.tags)]
        if fb.annotators:
            judgments = [j for j in judgments if j.annotator in fb.annotators]
        return judgments, f"file {fb.file}", 0
    judgments, excluded = store_feedback(
        store,
        tags=fb.tags,
        status=None if fb.status == "any" else fb.status,
        annotators=fb.annotators,
        include_disabled=fb.include_disabled,
    )
    return judgments, "store", excluded


def _chain_examples(store: Store, version_id: int, terminate: bool) -> list[tuple[int, list[TrainingExample]]]:
    """(run id, training examples) of each edit that made the stored version, oldest first: for replay.

    Each earlier edit's judgments are selected again as its spec selected them.
    """
    runs = [store.run(v.run_id) for v in store.version_chain(version_id)[1:] if v.run_id is not None]
    chain = []
    for run in runs:
        stored = run.spec.get("feedback", {})
        try:
            fb = FeedbackSpec(**{f.name: stored[f.name] for f in fields(FeedbackSpec) if f.name in stored})
            judgments, _, _ = _select_feedback(fb, store)
        except ValueError as exc:
            raise RunInputError(
                f"feedback.replay: the judgments of run {run.id}, an edit in version {version_id}'s chain, "
                f"cannot be read again ({exc}); restore them, or set feedback.replay: false"
            ) from exc
        objective = run.spec.get("objective", "auto")
        chain.append(
            (run.id, select_examples(judgments, fb.min_agreement, objective, fb.positive_sft, terminate).examples)
        )
    return chain


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


def _base_ref(spec: EditSpec, store: Store, version_id: int | None) -> str:
    """The base model a run starts from: the spec's model, or the root of a stored version's chain.

    A rejected version is refused here, before anything is written, unless the spec accepts failed edits.
    """
    if version_id is None:
        return spec.model
    try:
        check_standing(store.model_version(version_id), spec.accept_failed, "build on")
        version = store.version_chain(version_id)[0]
    except (VersionRejected, LookupError) as exc:
        raise RunInputError(f"model: {exc}") from exc
    if version.ref is None:  # the store gives every root version a ref; a hand-edited database may not
        raise RunInputError(f"model: stored version {version.id} has no model reference; re-create it")
    return version.ref


def _check_against_model(plan: RunPlan, base_ref: str) -> None:
    """The spec's edit, probes, examples and texts against the model's config and tokenizer (no weights)."""
    try:
        config, tokenizer = load_config_and_tokenizer(base_ref)
    except BadInput as exc:
        raise RunInputError(f"model {base_ref!r}: {exc}") from exc
    try:
        check_edit_fits(config, plan.spec.lora)
        limit = context_length(config)
        if limit is not None:
            generated = dict.fromkeys(_generation_prompts(plan), GENERATION_TOKENS)
            check_context(tokenizer, limit, plan.probes, plan.selection.examples, plan.spec.chat, generated)
            check_texts(tokenizer, limit, plan.retain_texts, "retain")
            check_prefixes(tokenizer, limit, plan.prefix_texts, plan.selection.examples, plan.spec.chat)
            if plan.context_prefixes and plan.prefixes == MODEL_PREFIXES:
                check_sampled_prefixes(tokenizer, limit, PREFIX_TOKENS, plan.selection.examples, plan.spec.chat)
            check_texts(tokenizer, limit, plan.fluency_texts, "fluency")
    except BadInput as exc:
        raise RunInputError(str(exc)) from exc


def plan_run(spec: EditSpec, store: Store) -> RunPlan:
    """Validate the spec against its model and data and select the training examples. Raises RunInputError.

    Nothing is written: a spec that fails here leaves no run and no model version behind.
    """
    version = VERSION_REF.match(spec.model)
    version_id = int(version.group(1)) if version else None
    base_ref = _base_ref(spec, store, version_id)
    try:
        resolve_ref(base_ref)
    except BadInput as exc:
        raise RunInputError(f"model: {exc}") from exc
    try:
        suites = _load_suites(spec, store)
        train, on_version = spec.train, version_id is not None
        prefixing = train.prefixing(on_version)
        prefix_source = train.prefix_source(toy=base_ref == TOYWORLD)
        # the KL term reads the retain texts, and so do context prefixes with train.prefixes: retain
        wanted = train.kl_weight > 0 or (prefixing > 0 and prefix_source == RETAIN_PREFIXES)
        retain = load_texts(train.retain) if train.retain and wanted else []
        # `model` prefixes are sampled from the loaded model when the run starts (_with_prefixes)
        named = prefixing > 0 and prefix_source not in (MODEL_PREFIXES, RETAIN_PREFIXES)
        prefixes = load_texts(prefix_source) if named else []
        fluency = load_texts(spec.fluency) if spec.fluency else []
        judgments, source, excluded = _select_feedback(spec.feedback, store)
    except ValueError as exc:
        raise RunInputError(str(exc)) from exc
    ids = [p.id for suite in suites for p in suite.probes]
    if len(set(ids)) != len(ids):
        raise RunInputError("two probe suites share probe ids; give each suite's probes their own ids")
    try:
        own = [p for suite in suites for p in suite.probes]
        ancestry = load_ancestry(store, version_id, present=own) if version_id is not None else Ancestry()
    except LedgerError as exc:
        raise RunInputError(str(exc)) from exc
    if set(ids) & set(ancestry.stored_ids):
        raise RunInputError(
            f"probe ids such as {sorted(set(ids) & set(ancestry.stored_ids))[0]!r} name an earlier "
            "edit's regression probe (v<version>:<id>); rename them in your suite"
        )
    terminate = spec.train.terminate != "none"  # the ending itself is added by _with_endings, from the model
    selection = select_examples(
        judgments, spec.feedback.min_agreement, spec.objective, spec.feedback.positive_sft, terminate
    )
    if not selection.examples:
        where = f"tags {spec.feedback.tags}, status {spec.feedback.status}" if not spec.feedback.file else source
        disabled = f"; {excluded} more by disabled accounts" if excluded else ""
        raise RunInputError(
            f"the spec selects no usable judgments ({len(judgments)} matched {where}{disabled}; dropped: "
            f"{dict(selection.dropped) or 'none'}); import or label some, or widen feedback.tags"
        )
    if selection.examples and version_id is not None and spec.feedback.replay:
        replayed, selection.superseded = replayed_examples(
            selection.examples, _chain_examples(store, version_id, terminate)
        )
        selection.examples += replayed
        selection.replayed = len(replayed)
    retain, retain_left_out = retain_without_trained_prompts(retain, selection.examples)
    plan = RunPlan(
        spec,
        suites,
        selection,
        len(judgments),
        source,
        retain,
        fluency,
        version_id,
        excluded,
        ancestry,
        retain_left_out,
        spec.train.answer_ending,
        prefix_texts=retain if prefixing and prefix_source == RETAIN_PREFIXES else prefixes,
        early_stop=train.stopping(on_version),
        context_prefixes=prefixing,
        prefixes=prefix_source,
    )
    _check_against_model(plan, base_ref)
    return plan


def load_version(store: Store, version_id: int) -> tuple[LoadedModel, list[store_records.ModelVersion]]:
    """A stored model version (its base with every ancestor adapter merged in) and its chain, oldest first."""
    version = store.model_version(version_id)
    try:
        loaded = load_merged_version(store, version)
    except GenerationError as exc:
        raise RunInputError(str(exc)) from exc
    return loaded, store.version_chain(version_id)


def _library_versions() -> dict[str, str]:
    names = ("nudge", "torch", "transformers", "peft", "tokenizers")
    return {"python": platform.python_version(), **{n: metadata.version(n) for n in names}}


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


def _measure(plan: RunPlan, loaded: LoadedModel, before: list[ProbeScore]) -> Callable[[PeftModel], dict[str, float]]:
    test_probes = [p for p in plan.probes if p.split == "test"]
    test_before = [s for s in before if s.probe.split == "test"]

    def measure(model: PeftModel) -> dict[str, float]:
        after = score_probes(model, loaded.tokenizer, test_probes, plan.spec.chat, continue_kinds=("control",))
        rates = rate_metrics(after, before=test_before, split="test")
        return {name: est.value for name, est in rates.items() if est.value is not None}

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
    """Keep every probe score of the run, keyed to stored (immutable, content-named) suites.

    Regression probes and earlier controls are scored against the earlier runs' stored probes; one
    that is also among this run's own (the same suite again) was scored identically and is kept once.
    """
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
    own_rows = set(key_to_id.values())
    for probe_id, stored_id in plan.ancestry.stored_ids.items():
        if stored_id not in own_rows:
            key_to_id[probe_id] = stored_id
            own_rows.add(stored_id)
    results = [
        store_records.ProbeScore(key_to_id[s.probe.id], phase, s.target_logprob, s.foil_logprob, None, s.continuation)
        for phase, scores in (("before", before), ("after", after))
        for s in scores
        if s.probe.id in key_to_id
    ]
    store.record_probe_results(run_id, results)


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


@dataclass
class PhaseScores:
    """What one phase (before or after the edit) measured with the same probes, texts and prompts."""

    probes: list[ProbeScore]
    fluency_nlls: list[list[float]] | None  # per-token NLLs of each fluency text; None without one
    generations: list[str]  # greedy continuations of the generation prompts, in their order


@dataclass
class BaseModelRecord:
    ref: str  # what the spec named
    fingerprint: str
    architecture: str
    version_id: int  # the stored model version the edit starts from
    merged_ancestors: list[int]  # adapter versions merged into the base, oldest first


@dataclass
class AdapterRecord:
    path: str  # relative to the workspace, so a shared report does not reveal the machine's layout
    sha256: str


@dataclass
class RunRecord:
    """The report's `run` section: everything needed to reproduce and trace the run."""

    id: int
    name: str
    spec: dict[str, Any]
    spec_hash: str
    data_hash: str  # sha256 of the training examples, in training order
    seed: int
    versions: dict[str, str]  # python and the libraries that shape the numbers
    device: str
    base_model: BaseModelRecord
    result_version_id: int
    standing: str  # the result version's: accepted | rejected (a failed verdict, not accepted explicitly)
    accepted_failed: bool  # accepted despite a failed verdict, because the spec or `--accept-failed` said so
    adapter: AdapterRecord
    adapted_modules: list[str]
    training: dict[str, Any]  # where the data came from, what was selected and dropped, how training went
    timings: dict[str, float]  # seconds per phase, and the total

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def _load(plan: RunPlan, store: Store) -> tuple[LoadedModel, int, list[store_records.ModelVersion]]:
    """The model the edit starts from, its stored version id, and the version chain merged into it."""
    if plan.model_version_id is not None:
        loaded, chain = load_version(store, plan.model_version_id)
        return loaded, plan.model_version_id, chain
    loaded = load_model(plan.spec.model, device_map=plan.spec.device_map)
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
    if plan.terminate != "model":
        return plan.selection
    examples, endings = with_model_endings(loaded.model, loaded.tokenizer, plan.selection.examples, plan.spec.chat)
    return replace(plan.selection, examples=examples, endings=endings)


def _with_prefixes(plan: RunPlan, loaded: LoadedModel) -> list[str]:
    """The texts train.context_prefixes puts before prompts: with `train.prefixes: model`, samples of the
    model the run starts from; the plan's otherwise."""
    if not (plan.context_prefixes and plan.prefixes == MODEL_PREFIXES):
        return plan.prefix_texts
    return sample_prefixes(loaded.model, loaded.tokenizer, plan.spec.train.seed)


def _train(plan: RunPlan, loaded: LoadedModel, before: PhaseScores, cb: RunCallbacks) -> EditResult:
    train = replace(plan.spec.train, early_stop=plan.early_stop, context_prefixes=plan.context_prefixes)
    config = EditConfig(lora=plan.spec.lora, train=train, chat=plan.spec.chat)
    return apply_edit(
        loaded.model,
        loaded.tokenizer,
        plan.selection.examples,
        config,
        plan.retain_texts,
        prefix_texts=plan.prefix_texts,
        validate=_validator(plan, loaded, before.probes),
        on_step=cb.on_step,
    )


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


def _finish(
    store: Store,
    run_id: int,
    plan: RunPlan,
    before: PhaseScores,
    after: PhaseScores,
    impact: dict[str, Any],
    parent_id: int,
    adapter: AdapterRecord,
) -> store_records.ModelVersion:
    """Keep every probe score, then register the adapter and mark the run succeeded in one step.

    The run succeeded because it ran to the end; its verdict decides the version's standing: a failed
    one (or uncertain under --strict) makes a rejected version unless the spec accepts failed edits.
    The report is written after: its `run` section names the version registered here.
    """
    _store_probe_results(store, run_id, plan, before.probes, after.probes)
    return store.finish_run(
        run_id,
        parent_id,
        str(nudge_home() / adapter.path),
        adapter.sha256,
        metrics={
            "verdict": impact["verdict"],
            "metrics": impact["metrics"]["after"],
            "report": str(_report_folder(run_id) / "report.json"),
            "adapter_sha256": adapter.sha256,
        },
        passed=bool(impact["verdict"]["passed"]),
        accept_failed=plan.spec.accept_failed,
    )


def _prefixes_record(plan: RunPlan) -> dict[str, Any] | None:
    """What train.context_prefixes put before the prompts: where the texts came from, how many, the first few."""
    if not plan.context_prefixes:
        return None
    source = f"retain ({plan.spec.train.retain})" if plan.prefixes == RETAIN_PREFIXES else plan.prefixes
    return {
        "per_example": plan.context_prefixes,
        "texts": source,
        "count": len(plan.prefix_texts),
        "first": plan.prefix_texts[:3],
    }


def _report_folder(run_id: int) -> Path:
    return nudge_home() / "reports" / str(run_id)


def _write_private_report(report: dict[str, Any], run_id: int) -> dict[str, Path]:
    """The report's files, readable by their owner only."""
    folder = make_private_dir(_report_folder(run_id))
    paths = write_report(report, folder)
    restrict_to_owner(folder)
    return paths


def _execute(plan: RunPlan, store: Store, run_id: int, cb: RunCallbacks, strict: bool) -> RunOutcome:
    spec = plan.spec
    clock = _Stopwatch()

    cb.on_phase("loading the model")
    loaded, base_version_id, chain = _load(plan, store)
    clock.lap("load")

    cb.on_phase("scoring probes before the edit")
    generation_prompts = _generation_prompts(plan)
    before = _score_phase(loaded.model, loaded.tokenizer, plan, generation_prompts)
    clock.lap("probes_before")

    cb.on_phase("training the adapter")
    plan = replace(plan, selection=_with_endings(plan, loaded), prefix_texts=_with_prefixes(plan, loaded))
    result = _train(plan, loaded, before, cb)
    edited = result.model
    clock.lap("train")

    cb.on_phase("scoring probes after the edit")
    after = _score_phase(edited, loaded.tokenizer, plan, generation_prompts)
    kl = kl_to_base(edited, loaded.tokenizer, plan.fluency_texts) if plan.fluency_texts else None
    clock.lap("probes_after")

    cb.on_phase("sweeping ranks and layers")
    spectral = _sweeps(plan, loaded, edited, before)
    clock.lap("sweeps")

    cb.on_phase("saving the adapter and the report")
    adapter_path = make_private_dir(nudge_home() / "adapters") / str(run_id)
    trained_on = AdapterBase(  # the merged chain it was trained on, so it is never applied to other weights
        spec.model if plan.model_version_id is None else f"version:{plan.model_version_id}",
        merged_fingerprint(loaded.fingerprint, [v.adapter_sha256 or "" for v in chain[1:]]),
    )
    adapter_sha = save_adapter(edited, adapter_path, trained_on)  # staged in a 0700 folder, renamed into place
    restrict_to_owner(adapter_path)
    adapter = AdapterRecord(adapter_path.relative_to(nudge_home()).as_posix(), adapter_sha)
    generations = [
        {"prompt": p, "before": b, "after": a}
        for p, b, a in zip(generation_prompts, before.generations, after.generations, strict=True)
    ]
    impact, contamination = _impact(plan, before, after, kl, generations, strict)
    version = _finish(store, run_id, plan, before, after, impact, base_version_id, adapter)
    clock.lap("report")
    record = RunRecord(
        id=run_id,
        name=spec.name,
        spec=spec.to_dict(),
        spec_hash=spec.spec_hash,
        data_hash=plan.data_hash,
        seed=spec.train.seed,
        versions=_library_versions(),
        device=str(loaded.device),
        base_model=BaseModelRecord(
            spec.model, loaded.fingerprint, loaded.architecture, base_version_id, [v.id for v in chain[1:]]
        ),
        result_version_id=version.id,
        standing=version.standing,
        accepted_failed=version.accepted_failed,
        adapter=adapter,
        adapted_modules=result.target_modules,
        training={
            "feedback_source": plan.feedback_source,
            "judgments_matched": plan.judgments,
            **plan.selection.to_dict(),
            "terminate": plan.terminate,
            "early_stop": plan.early_stop,
            "context_prefixes": _prefixes_record(plan),
            "retain_left_out": plan.retain_left_out,
            "steps": result.steps,
            "stopped_early": result.stopped_early,
            "final_losses": result.history[-1] if result.history else {},
        },
        timings=clock.total(),
    )
    report = assemble_report(impact, contamination, generations, spectral, record.to_dict())
    paths = _write_private_report(report, run_id)
    exit_code = EXIT_PASSED if report["verdict"]["passed"] else EXIT_GATE_FAILED
    return RunOutcome(run_id, report, paths, adapter_path, exit_code)
