"""Judgments into training examples, with disagreements resolved and every drop counted.

A judgment takes a stance on one or two outputs of a prompt: a correction or a
thumbs-down is *against* its output (and a correction is *for* its corrected
text); a thumbs-up is *for* it; a preference is for the preferred output and
against the other. An *item* is one (prompt, output). Per item, annotators vote
for or against; the majority wins when at least `min_agreement` of the
annotators share it; a tie, or a weaker majority, drops the item. A judgment is
used only when every item it speaks about survives and it sides with the
majority on each.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from editing.errors import BadInput
from editing.jsonl import jsonl_records

JudgmentKind = Literal["rating", "correction", "preference"]
ExampleKind = Literal["sft", "unlikelihood", "dpo"]


@dataclass(frozen=True)
class Feedback:
    """One human judgment, in the shape the store exports and `feedback: {file: ...}` reads."""

    annotator: str
    kind: JudgmentKind
    prompt: str
    verdict: str  # rating/correction: up|down; preference: a|b|tie
    output: str = ""  # rating, correction
    correction: str = ""  # correction
    output_a: str = ""  # preference
    output_b: str = ""  # preference
    tags: tuple[str, ...] = ()
    id: str = ""

    def stances(self) -> list[tuple[str, bool]]:
        """(output, for?) pairs: which outputs this judgment supports or opposes."""
        if self.kind == "preference":
            if self.verdict == "tie":
                return []
            chosen, rejected = (self.output_a, self.output_b) if self.verdict == "a" else (self.output_b, self.output_a)
            return [(chosen, True), (rejected, False)]
        if self.kind == "correction":
            return [(self.output, False), (self.correction, True)]
        return [(self.output, self.verdict == "up")]


@dataclass(frozen=True)
class TrainingExample:
    """One training signal. sft: raise `completion`; unlikelihood: lower it; dpo: `completion` over `rejected`."""

    kind: ExampleKind
    prompt: str
    completion: str
    rejected: str = ""
    source: str = ""  # the judgment it came from
    terminated: bool = False  # trained followed by the end-of-text token, so generation stops after it
    ending: str = ""  # trained between the answer and the end-of-text token (`train.terminate: model`): "."


@dataclass
class Selection:
    """What was used and what was dropped, and why: goes into the run record."""

    examples: list[TrainingExample] = field(default_factory=list)
    used_by_kind: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)  # reason -> count
    annotators: Counter = field(default_factory=Counter)  # annotator -> judgments used
    replayed: int = 0  # examples of earlier edits in the version chain, trained again (editing.replay)
    superseded: int = 0  # earlier edits' examples left out: a later edit answers the same prompt
    endings: Counter = field(default_factory=Counter)  # `terminate: model`: ending -> examples ("": none)

    def to_dict(self) -> dict:
        return {
            "examples": len(self.examples),
            "used_by_kind": dict(sorted(self.used_by_kind.items())),
            "dropped": dict(sorted(self.dropped.items())),
            "annotators": dict(sorted(self.annotators.items())),
            "replayed": self.replayed,
            "superseded": self.superseded,
            **({"endings": dict(sorted(self.endings.items()))} if self.endings else {}),
        }


class FeedbackError(BadInput):
    """Feedback that cannot be used; the message names the line and field."""


VALID_VERDICTS = {"rating": {"up", "down"}, "correction": {"down"}, "preference": {"a", "b", "tie"}}


def parse_feedback(record: object, where: str) -> Feedback:
    """One judgment from a decoded JSON record (the demo feedback / `nudge export` shape)."""
    if not isinstance(record, dict):
        raise FeedbackError(f"{where}: a judgment must be a JSON object")
    kind = record.get("kind")
    if kind not in VALID_VERDICTS:
        raise FeedbackError(f"{where}: kind must be rating, correction or preference, got {kind!r}")
    required = {"rating": ("output",), "correction": ("output", "correction"), "preference": ("output_a", "output_b")}
    for name in ("annotator", "prompt", "verdict", *required[kind]):
        if not isinstance(record.get(name), str) or not record[name].strip():
            raise FeedbackError(f"{where}: field {name!r} must be a non-empty string for a {kind}")
    if record["verdict"] not in VALID_VERDICTS[kind]:
        allowed = ", ".join(sorted(VALID_VERDICTS[kind]))
        raise FeedbackError(f"{where}: verdict of a {kind} must be one of {allowed}, got {record['verdict']!r}")
    return Feedback(
        annotator=record["annotator"],
        kind=kind,
        prompt=record["prompt"],
        verdict=record["verdict"],
        output=record.get("output", ""),
        correction=record.get("correction", ""),
        output_a=record.get("output_a", ""),
        output_b=record.get("output_b", ""),
        tags=tuple(record.get("tags", ())),
        id=str(record.get("id", where)),
    )


def read_feedback_file(path: str | Path) -> list[Feedback]:
    """Judgments from a JSONL file; a bad line stops the read with its line number."""
    path = Path(path)
    if not path.is_file():
        raise FeedbackError(f"feedback file {path} does not exist")
    out = []
    for where, record in jsonl_records(path, FeedbackError):
        if isinstance(record, dict) and record.get("status", "submitted") == "discarded":
            continue
        out.append(parse_feedback(record, where))
    return out


def _examples_for(judgment: Feedback, objective: str, positive_sft: bool) -> list[TrainingExample]:
    """The training signal one judgment gives, under the spec's objective."""
    j = judgment
    if j.kind == "correction":
        if objective == "dpo":
            return [TrainingExample("dpo", j.prompt, j.correction, j.output, j.id)]
        if objective == "unlikelihood":
            return [TrainingExample("unlikelihood", j.prompt, j.output, source=j.id)]
        return [TrainingExample("sft", j.prompt, j.correction, source=j.id)]
    if j.kind == "preference":
        chosen, rejected = (j.output_a, j.output_b) if j.verdict == "a" else (j.output_b, j.output_a)
        if objective == "sft":
            return [TrainingExample("sft", j.prompt, chosen, source=j.id)]
        if objective == "unlikelihood":
            return [TrainingExample("unlikelihood", j.prompt, rejected, source=j.id)]
        return [TrainingExample("dpo", j.prompt, chosen, rejected, j.id)]
    if j.verdict == "down":
        return [TrainingExample("unlikelihood", j.prompt, j.output, source=j.id)]
    return [TrainingExample("sft", j.prompt, j.output, source=j.id)] if positive_sft else []


def select_examples(
    judgments: list[Feedback],
    min_agreement: float = 0.5,
    objective: str = "auto",
    positive_sft: bool = False,
    terminate: bool = False,
) -> Selection:
    """Resolve disagreements by majority and turn the surviving judgments into examples.

    With `terminate`, the answers an example raises (sft, and dpo's pair) are whole
    answers: they are trained followed by the end-of-text token.
    """
    selection = Selection()
    votes: dict[tuple[str, str], dict[str, bool]] = defaultdict(dict)  # item -> annotator -> for?
    for j in judgments:
        for output, supports in j.stances():
            votes[(j.prompt, output)][j.annotator] = supports
    for j in judgments:
        if j.kind == "preference" and j.verdict == "tie":
            selection.dropped["preference is a tie"] += 1
            continue
        reason = None
        for output, supports in j.stances():
            tally = Counter(votes[(j.prompt, output)].values())
            majority, top = tally.most_common(1)[0]
            share = top / sum(tally.values())
            if len(tally) == 2 and tally[True] == tally[False]:
                reason = "annotators tied on the item"
            elif share < min_agreement:
                reason = f"agreement below min_agreement {min_agreement}"
            elif supports != majority:
                reason = "outvoted by the other annotators"
            if reason:
                break
        if reason:
            selection.dropped[reason] += 1
            continue
        made = [
            replace(e, terminated=terminate and e.kind != "unlikelihood")
            for e in _examples_for(j, objective, positive_sft)
        ]
        if not made:
            selection.dropped["thumbs-up without positive_sft"] += 1
            continue
        selection.examples += made
        selection.annotators[j.annotator] += 1
        for example in made:
            selection.used_by_kind[example.kind] += 1
    return selection


def retain_without_trained_prompts(texts: list[str], examples: list[TrainingExample]) -> tuple[list[str], int]:
    """The retain texts less those that begin with a prompt the edit trains, and how many those were.

    The KL term holds the base model's next-token distribution over every position of a retain
    text: after a trained prompt that is the very answer the edit changes (`The capital of
    Koudeland is Gaiskaport.` against a correction to Velmora), so such a text fights the edit.
    """
    prompts = {e.prompt.rstrip() for e in examples}
    kept = [t for t in texts if not any(t == p or t.startswith(p + " ") for p in prompts)]
    return kept, len(texts) - len(kept)
