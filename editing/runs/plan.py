"""Plan a run: everything it needs, checked and resolved before any model is loaded or any row written.

`plan_run` reads the spec's references through the workspace's table (the store's suites
added), resolves every `auto` of its training settings once (editing.training), selects the
judgments and turns them into training examples (replaying a stored version's earlier edits),
and checks the edit, probes, examples and texts against the model's config and tokenizer.
Nothing is written: a spec that fails here leaves no run and no model version behind.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Literal

from editing.errors import BadInput
from editing.ledger import Ancestry, LedgerError, load_ancestry
from editing.loading import workspace_references
from editing.models import load_config_and_tokenizer
from editing.prefixes import planned_texts
from editing.preflight import check_context, check_context_prefixes, check_edit_fits, check_texts, context_length
from editing.probes import Probe, ProbeSuite
from editing.references import ModelSource, stored_version_id
from editing.replay import replayed_examples
from editing.spec import EditSpec, FeedbackSpec
from editing.store_feedback import register_store, store_feedback
from editing.training import Training, resolve_training
from editing.training_data import (
    Feedback,
    Selection,
    TrainingExample,
    read_feedback_file,
    retain_without_trained_prompts,
    select_examples,
)
from store import Store, VersionRejected
from store.versions import check_standing

GENERATION_TOKENS = 12  # tokens generated after each generation prompt, before and after the edit


class RunInputError(BadInput):
    """The spec or its data cannot make a run; nothing was trained."""


@dataclass
class RunPlan:
    """What a run will do, known before any model is loaded."""

    spec: EditSpec
    base: ModelSource  # the base model the run starts from: the spec's, or the root of its stored version
    training: Training  # the spec's `train` section, every `auto` resolved
    suites: list[ProbeSuite]
    selection: Selection
    judgments: int  # how many judgments the feedback selector matched
    feedback_source: str
    retain_texts: list[str]
    fluency_texts: list[str]
    prefix_texts: list[str]  # what train.context_prefixes puts before prompts (`model`: drawn when the run starts)
    model_version_id: int | None = None  # when the spec names a stored model version
    disabled_excluded: int = 0  # judgments left out because their annotators' accounts are disabled
    # the stored version's earlier edits and the probes that re-check them; empty on a base model
    ancestry: Ancestry = field(default_factory=Ancestry)
    retain_left_out: int = 0  # retain texts that begin with a trained prompt (training_data.retain_without_...)

    @property
    def early_stop(self) -> Literal["val", "none"]:
        """train.early_stop as this run resolved it."""
        return self.training.early_stop

    @property
    def context_prefixes(self) -> int:
        """train.context_prefixes as this run resolved it: texts put before each example."""
        return self.training.prefixes.per_example

    @property
    def prefixes(self) -> str:
        """train.prefixes as this run resolved it: where the texts put before prompts come from."""
        return self.training.prefixes.source

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


def generation_prompts(plan: RunPlan) -> list[str]:
    """A few test prompts of each kind and a few fluency openings, for side-by-side generations."""
    prompts: list[str] = []
    for kind in ("edit", "paraphrase", "leak", "control"):
        prompts += [p.prompt for p in plan.probes if p.split == "test" and p.kind == kind][:3]
    prompts += [" ".join(t.split()[:2]) for t in plan.fluency_texts[:3]]
    return list(dict.fromkeys(prompts))


def select_feedback(fb: FeedbackSpec, store: Store) -> tuple[list[Feedback], str, int]:
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
            judgments, _, _ = select_feedback(fb, store)
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


def _starting_point(spec: EditSpec, store: Store) -> tuple[int | None, str]:
    """The stored version the run builds on (None for a base model), and the reference of its base model:
    the spec's model, or the root of the version's chain.

    A rejected version is refused here, before anything is written, unless the spec accepts failed edits.
    """
    try:
        version_id = stored_version_id(spec.model)
    except BadInput as exc:
        raise RunInputError(f"model: {exc}") from exc
    if version_id is None:
        return None, spec.model
    try:
        check_standing(store.model_version(version_id), spec.accept_failed, "build on")
        version = store.version_chain(version_id)[0]
    except (VersionRejected, LookupError) as exc:
        raise RunInputError(f"model: {exc}") from exc
    if version.ref is None:  # the store gives every root version a ref; a hand-edited database may not
        raise RunInputError(f"model: stored version {version.id} has no model reference; re-create it")
    return version_id, version.ref


def _check_against_model(plan: RunPlan) -> None:
    """The spec's edit, probes, examples and texts against the model's config and tokenizer (no weights)."""
    try:
        config, tokenizer = load_config_and_tokenizer(plan.base)
    except BadInput as exc:
        raise RunInputError(f"model {plan.base.ref!r}: {exc}") from exc
    examples, chat = plan.selection.examples, plan.spec.chat
    try:
        check_edit_fits(config, plan.spec.lora)
        limit = context_length(config)
        if limit is not None:
            generated = dict.fromkeys(generation_prompts(plan), GENERATION_TOKENS)
            check_context(tokenizer, limit, plan.probes, examples, chat, generated)
            check_texts(tokenizer, limit, plan.retain_texts, "retain")
            check_context_prefixes(tokenizer, limit, plan.training.prefixes, plan.prefix_texts, examples, chat)
            check_texts(tokenizer, limit, plan.fluency_texts, "fluency")
    except BadInput as exc:
        raise RunInputError(str(exc)) from exc


def plan_run(spec: EditSpec, store: Store) -> RunPlan:
    """Validate the spec against its model and data and select the training examples. Raises RunInputError.

    Nothing is written: a spec that fails here leaves no run and no model version behind.
    """
    references = workspace_references()
    register_store(references, store)
    version_id, base_ref = _starting_point(spec, store)
    try:
        base = references.model_source(base_ref)
    except BadInput as exc:
        raise RunInputError(f"model: {exc}") from exc
    named = references.named_model(base_ref)
    training = resolve_training(
        spec.train, on_version=version_id is not None, shipped_prefixes=named.prefixes if named else None
    )
    try:
        suites = [references.load_suite(ref) for ref in spec.probes]
        # the KL term reads the retain texts, and so do context prefixes with train.prefixes: retain
        wanted = spec.train.kl_weight > 0 or training.prefixes.reads_retain
        retain = references.load_texts(spec.train.retain) if spec.train.retain and wanted else []
        fluency = references.load_texts(spec.fluency) if spec.fluency else []
        judgments, source, excluded = select_feedback(spec.feedback, store)
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
    terminate = training.terminate != "none"  # the ending itself is added when the model is loaded (endings.py)
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
    if version_id is not None and spec.feedback.replay:
        replayed, selection.superseded = replayed_examples(
            selection.examples, _chain_examples(store, version_id, terminate)
        )
        selection.examples += replayed
        selection.replayed = len(replayed)
    retain, retain_left_out = retain_without_trained_prompts(retain, selection.examples)
    try:
        prefix_texts = planned_texts(training.prefixes, retain, references.load_texts)
    except ValueError as exc:
        raise RunInputError(str(exc)) from exc
    plan = RunPlan(
        spec, base, training, suites, selection, len(judgments), source, retain, fluency, prefix_texts,
        model_version_id=version_id, disabled_excluded=excluded, ancestry=ancestry, retain_left_out=retain_left_out,
    )
    _check_against_model(plan)
    return plan
