"""nudge probes as EasyEdit's edit requests: the keyword arguments of its `BaseEditor.edit`.

The file is one JSON object, so `editor.edit(**json.load(f))` runs the edits and EasyEdit's
own measures on them:
{"prompts": [...], "subject": [...], "target_new": [...], "ground_truth": [...],
 "rephrase_prompts": [str | null, ...],
 "locality_inputs": {"control": {"prompt": [[...] | null, ...], "ground_truth": [...], "foil": [...]}},
 "portability_inputs": {"ripple": {...}, "leak": {...}}}
with one item per edit request in every list. Inside a locality or portability key, "foil" keeps
each probe's foil; EasyEdit reads only "prompt" and "ground_truth" and ignores it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Protocol, TypedDict

from editing.errors import BadInput
from editing.field_formats.probes import MULTI_HOP_KIND

LOCALITY_KINDS = ("control",)  # what EasyEdit calls locality: answers the edit must leave alone
PORTABILITY_KINDS = (MULTI_HOP_KIND, "leak")  # what it calls portability: answers the edit must carry to


class ProbeLike(Protocol):
    """What the export reads of a probe: a suite's `Probe` or a `FieldProbe`."""

    @property
    def id(self) -> str: ...
    @property
    def prompt(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def foil(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def subject(self) -> str: ...


class AnswerLists(TypedDict):
    """One locality or portability key: per request, its prompts and answers (null where it has none)."""

    prompt: list[list[str] | None]
    ground_truth: list[list[str] | None]  # the answer each prompt must get: a control's target, a ripple's
    foil: list[list[str] | None]  # nudge's foil for each; EasyEdit ignores the key


class EditRequests(TypedDict, total=False):
    """`BaseEditor.edit`'s keyword arguments, one entry per edit request in each list; `prompts`,
    `target_new` and `ground_truth` are always there, the others where some request has one."""

    prompts: list[str]
    subject: list[str]
    target_new: list[str]
    ground_truth: list[str]
    rephrase_prompts: list[str | None]
    locality_inputs: dict[str, AnswerLists]
    portability_inputs: dict[str, AnswerLists]


class EasyEditExportError(BadInput):
    """Probes that EasyEdit's editors would refuse; the message names the probe and the fix."""


@dataclass(frozen=True)
class EasyEditExport:
    """The keyword arguments to write (JSON-ready), and one line per probe that has no place in them."""

    requests: EditRequests  # JSON-ready: json.dump it, and `editor.edit(**json.load(f))` takes it
    left_out: list[str]


@dataclass
class _Request:
    edit: ProbeLike
    position: int  # the edit probe's place among the probes
    rephrase: str | None = None
    answers: dict[str, list[ProbeLike]] = field(default_factory=dict)  # by kind: control, ripple, leak


def easyedit_requests(probes: Sequence[ProbeLike]) -> EasyEditExport:
    """One edit request per `edit` probe (prompt, subject, target_new = its target, ground_truth =
    its foil), and each other probe on the request it belongs to:

    - a `paraphrase` is a request's rephrase prompt; EasyEdit takes one per request, so a second
      paraphrase of the same fact goes to another request of that fact, and is left out when none is free;
    - a `control` goes to locality_inputs["control"] (ground_truth its target, the answer to keep);
    - a `ripple` or `leak` goes to portability_inputs under its kind (ground_truth its target).

    A probe belongs to the nearest edit probe before it that it answers to (a paraphrase with the
    edit's subject, target and foil; a ripple or leak with its target and foil; a control whose foil
    is its target), else to the first such edit probe after it, else to the nearest edit probe before
    it: so the order an import writes, and a suite sorted by kind, both find the right request.
    """
    requests = [_Request(p, i) for i, p in enumerate(probes) if p.kind == "edit"]
    if not requests:
        raise EasyEditExportError("no edit probes: EasyEdit's requests are edits, one per edit probe")
    left_out: list[str] = []
    owners = _Owners(requests)
    for position, probe in enumerate(probes):
        if probe.kind == "edit":
            continue
        if probe.kind not in ("paraphrase", *LOCALITY_KINDS, *PORTABILITY_KINDS):
            left_out.append(f"probe {probe.id!r}: EasyEdit's requests have no place for a {probe.kind} probe")
            continue
        candidates = owners.candidates(probe, position)
        first = next(candidates, None)
        if first is None:
            left_out.append(f"probe {probe.id!r} ({probe.kind}) comes before every edit probe, with none it answers to")
        elif probe.kind != "paraphrase":
            requests[first].answers.setdefault(probe.kind, []).append(probe)
        else:
            free = next((i for i in chain([first], candidates) if requests[i].rephrase is None), None)
            if free is None:
                left_out.append(
                    f"probe {probe.id!r}: EasyEdit takes one rephrase prompt per request, and each request it could "
                    "join has one already"
                )
            else:
                requests[free].rephrase = probe.prompt
    return EasyEditExport(_keyword_arguments(requests), left_out)


class _Owners:
    """The requests a probe may belong to, nearest first; requests are indexed by their answers, so
    each look-up is a bisection."""

    def __init__(self, requests: list[_Request]) -> None:
        self.positions = [r.position for r in requests]
        self.by_fact: dict[tuple[str, str, str], list[int]] = {}
        self.by_pair: dict[tuple[str, str], list[int]] = {}
        self.by_target: dict[str, list[int]] = {}
        for i, r in enumerate(requests):
            self.by_fact.setdefault((r.edit.subject, r.edit.target, r.edit.foil), []).append(i)
            self.by_pair.setdefault((r.edit.target, r.edit.foil), []).append(i)
            self.by_target.setdefault(r.edit.target, []).append(i)

    def candidates(self, probe: ProbeLike, position: int) -> Iterator[int]:
        """Indices of the requests `probe` answers to, the nearest before it first, then those after it;
        without any, the nearest request before it."""
        preceding = bisect_left(self.positions, position)  # how many edit probes come before this probe
        if probe.kind == "paraphrase":
            answering = self.by_fact.get((probe.subject, probe.target, probe.foil), [])
        elif probe.kind in LOCALITY_KINDS:
            answering = self.by_target.get(probe.foil, [])
        else:
            answering = self.by_pair.get((probe.target, probe.foil), [])
        if not answering:
            return iter([preceding - 1] if preceding else [])
        before = bisect_left(answering, preceding)
        nearest_first = range(before - 1, -1, -1)
        return (answering[j] for j in chain(nearest_first, range(before, len(answering))))


def _keyword_arguments(requests: list[_Request]) -> EditRequests:
    edits = [r.edit for r in requests]
    arguments: EditRequests = {"prompts": [e.prompt for e in edits]}
    if any(e.subject for e in edits):
        for e in edits:
            if not e.subject or e.subject not in e.prompt:
                raise EasyEditExportError(
                    f"edit probe {e.id!r}: subject {e.subject!r} is not in its prompt {e.prompt!r}; EasyEdit's "
                    "editors need each request's subject inside its prompt: give the probe the subject its prompt "
                    "names (or give no edit probe a subject)"
                )
        arguments["subject"] = [e.subject for e in edits]
    arguments["target_new"] = [e.target for e in edits]
    arguments["ground_truth"] = [e.foil for e in edits]
    if any(r.rephrase is not None for r in requests):
        arguments["rephrase_prompts"] = [r.rephrase for r in requests]
    kinds = list(dict.fromkeys(kind for r in requests for kind in r.answers))  # in the order they first come
    if locality := {kind: _answer_lists(requests, kind) for kind in kinds if kind in LOCALITY_KINDS}:
        arguments["locality_inputs"] = locality
    if portability := {kind: _answer_lists(requests, kind) for kind in kinds if kind in PORTABILITY_KINDS}:
        arguments["portability_inputs"] = portability
    return arguments


def _answer_lists(requests: list[_Request], kind: str) -> AnswerLists:
    """One entry per request: its probes of `kind` as lists, or null where it has none."""
    columns: AnswerLists = {"prompt": [], "ground_truth": [], "foil": []}
    for r in requests:
        probes = r.answers.get(kind)
        columns["prompt"].append([p.prompt for p in probes] if probes else None)
        columns["ground_truth"].append([p.target for p in probes] if probes else None)
        columns["foil"].append([p.foil for p in probes] if probes else None)
    return columns
