"""Probe suites: what a probe is, and reading suites and plain text sets from files.

A probe is a prompt plus the completion that must win (`target`) and the one
that must lose (`foil`). This module reads and validates them; it imports no
torch, so the CLI can check a suite cheaply. Which file a reference such as
`toyworld:dog-cat-swap` names is the reference table's business (editing.references).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from editing.errors import BadInput
from editing.jsonl import jsonl_records
from editing.vocab import AUTHORED_PROBE_KINDS, SPLITS


@dataclass(frozen=True)
class Probe:
    """A prompt, the completion that must win (`target`) and the one that must lose (`foil`)."""

    id: str
    prompt: str
    target: str
    foil: str
    kind: str  # one of editing.vocab.PROBE_KINDS (suites hold AUTHORED_PROBE_KINDS)
    split: str  # one of editing.vocab.SPLITS; gates are judged on "test" only
    relation: str = ""
    subject: str = ""


@dataclass(frozen=True)
class ProbeSuite:
    name: str
    probes: list[Probe]

    def split(self, split: str) -> list[Probe]:
        return [p for p in self.probes if p.split == split]


class ProbeSuiteError(BadInput):
    """A probe suite that cannot be read; the message names the file, line and field."""


def parse_probe(record: object, where: str) -> Probe:
    """One probe from a decoded JSON record; `where` names the line for errors."""
    if not isinstance(record, dict):
        raise ProbeSuiteError(f"{where}: a probe must be a JSON object, got {type(record).__name__}")
    for field in ("id", "prompt", "target", "foil", "kind", "split"):
        value = record.get(field)
        if not isinstance(value, str) or not value.strip():
            raise ProbeSuiteError(f"{where}: field {field!r} must be a non-empty string, got {value!r}")
    if record["kind"] not in AUTHORED_PROBE_KINDS:
        raise ProbeSuiteError(f"{where}: kind {record['kind']!r} is not one of {', '.join(AUTHORED_PROBE_KINDS)}")
    if record["split"] not in SPLITS:
        raise ProbeSuiteError(f"{where}: split {record['split']!r} is not one of {', '.join(SPLITS)}")
    if record["target"] == record["foil"]:
        raise ProbeSuiteError(f"{where}: target and foil are both {record['target']!r}; they must differ")
    return Probe(
        id=record["id"],
        prompt=record["prompt"],
        target=record["target"],
        foil=record["foil"],
        kind=record["kind"],
        split=record["split"],
        relation=str(record.get("relation", "")),
        subject=str(record.get("subject", "")),
    )


def read_suite(path: Path, name: str) -> ProbeSuite:
    """The probes of a JSONL file, validated, as the suite `name`."""
    probes, seen = [], set()
    for where, record in jsonl_records(path, ProbeSuiteError):
        probe = parse_probe(record, where)
        if probe.id in seen:
            raise ProbeSuiteError(f"{where}: probe id {probe.id!r} appears twice; ids must be unique")
        seen.add(probe.id)
        probes.append(probe)
    if not probes:
        raise ProbeSuiteError(f"{path} holds no probes")
    return ProbeSuite(name=name, probes=probes)


def read_texts(path: Path) -> list[str]:
    """Plain texts (a retain set, a fluency text): a .jsonl of {"text": ...}, else one text per non-blank line."""
    if path.suffix == ".jsonl":
        texts = []
        for where, record in jsonl_records(path):
            if not isinstance(record, dict) or not str(record.get("text", "")).strip():
                raise ValueError(f'{where}: needs a non-empty "text" field')
            texts.append(record["text"])
    else:
        texts = [line for line in path.read_text().splitlines() if line.strip()]
    if not texts:
        raise ValueError(f"{path} holds no text")
    return texts
