"""What a benchmark file becomes: nudge probes without a split, and what was left out and why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from editing.field_formats.detect import refuse_other_format
from editing.field_formats.records import FieldFormatError, Fields, FieldSource, decode_source, record_places

# A question that runs through the edited fact (a multi-hop or portability question): the
# `ripple` kind of docs/field-formats.md. Named here once; it joins editing.vocab.PROBE_KINDS later,
# and a suite loader rejects it until then.
MULTI_HOP_KIND = "ripple"


@dataclass(frozen=True)
class FieldProbe:
    """A probe read from a benchmark file: a suite record less its `split`, which the importer deals."""

    id: str
    prompt: str
    target: str  # the completion that must win
    foil: str  # the completion that must lose
    kind: str  # edit, paraphrase, control, or MULTI_HOP_KIND
    relation: str = ""  # the format's relation id (Wikidata's P36...), "" where it has none
    subject: str = ""  # the entity the prompt asks about, "" where the record does not name it

    def as_record(self) -> dict[str, str]:
        """The probe as a suite's JSONL record, without `split`."""
        return asdict(self)


@dataclass
class FieldImport:
    """The probes a file gave, how many records it held, and one line per answer left out."""

    probes: list[FieldProbe] = field(default_factory=list)
    records: int = 0
    left_out: list[str] = field(default_factory=list)  # "where: what, and why" for each prompt not imported
    _ids: set[str] = field(default_factory=set, repr=False, compare=False)

    def add(self, probe: FieldProbe, where: str) -> None:
        """Keep a probe, or say why not: nudge scores a target against a foil, so both must be
        non-empty and differ. A repeated id refuses the file: ids come from the records' own ids."""
        if probe.id in self._ids:
            raise FieldFormatError(f"{where}: probe id {probe.id!r} comes twice; the records' ids must be unique")
        self._ids.add(probe.id)
        if not probe.target.strip() or not probe.foil.strip():
            missing = "target" if not probe.target.strip() else "foil"
            self.left_out.append(f"{where}: {probe.kind} probe {probe.id!r} has an empty {missing}")
        elif probe.target == probe.foil:
            self.left_out.append(f"{where}: {probe.kind} probe {probe.id!r} has target and foil both {probe.target!r}")
        else:
            self.probes.append(probe)

    def leave_out(self, where: str, why: str) -> None:
        self.left_out.append(f"{where}: {why}")

    def finish(self, name: str) -> FieldImport:
        """The import, refused when nothing in it can be scored."""
        if not self.probes:
            reason = f"; first left out: {self.left_out[0]}" if self.left_out else ""
            records = f"{self.records} record" + ("" if self.records == 1 else "s")
            raise FieldFormatError(f"{name}: no probe to import from its {records}{reason}")
        return self


def import_cases(
    source: FieldSource, name: str | None, fmt: str, shape: str, case_probes: Callable[[Fields], list[FieldProbe]]
) -> FieldImport:
    """Every record of a `fmt` file whose records are one case each, read into probes by `case_probes`."""
    shown, data, by_line = decode_source(source, name)
    refuse_other_format(data, fmt, shown)
    found = FieldImport()
    for where, record in record_places(shown, data, by_line, shape):
        fields = Fields(record, where, shape)
        for probe in case_probes(fields):
            found.add(probe, fields.where)
        found.records += 1
    return found.finish(shown)
