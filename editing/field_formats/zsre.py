"""zsRE as MEND prepared it (zsre_mend_eval.json, which ROME and EasyEdit read) as nudge probes.

A record: {"subject": ..., "src": "What university did Watts Humphrey attend?", "pred": ...,
"rephrase": ..., "alt": ..., "answers": [...], "loc": "nq question: ...", "loc_ans": ..., "cond": ...}.
"""

from __future__ import annotations

from editing.field_formats.detect import refuse_other_format
from editing.field_formats.probes import FieldImport, FieldProbe
from editing.field_formats.records import Fields, FieldSource, decode_source, record_places

SHAPE = (
    "a zsRE record (MEND's zsre_mend_eval.json): subject, src (the question), rephrase, alt (the new answer), "
    "answers (a list, the first the old answer), loc (an NQ question) and loc_ans (its answer)"
)


def read_zsre(source: FieldSource, name: str | None = None) -> FieldImport:
    """zsRE records as probes, read as EasyEdit's `ZsreDataset` reads them (alt is the new answer,
    answers[0] the old one):

    - src -> `edit` (target alt, foil answers[0]);
    - rephrase -> `paraphrase` (the same);
    - loc, an unrelated Natural Questions question -> `control`: target loc_ans, and, as the record
      has no foil for it, the edit's new answer (alt) as the foil. Its `subject` is "": it is not
      about the record's subject.

    zsRE has no record ids or relation ids: probe ids are "zsre-<index>-<part>" (the record's place
    in the file, counted from 0) and `relation` is "". pred (MEND's base model's answer) and cond
    (MEND's "pred >> alt || src" string) are not read, nor answers past the first. A record whose
    alt is empty is left out, as EasyEdit skips it. ROME's own loader reads these records
    differently (it edits towards answers[0], with no old answer to beat), which nudge cannot score.
    """
    shown, data, by_line = decode_source(source, name)
    refuse_other_format(data, "zsre", shown)
    found = FieldImport()
    for index, (where, record) in enumerate(record_places(shown, data, by_line, SHAPE)):
        fields = Fields(record, where, SHAPE)
        found.records += 1
        if not fields.text("alt", empty_ok=True).strip():
            found.leave_out(where, "alt is empty: no new answer to edit towards (EasyEdit skips these records too)")
            continue
        for probe in _record_probes(fields, f"zsre-{index}"):
            found.add(probe, where)
    return found.finish(shown)


def _record_probes(fields: Fields, case: str) -> list[FieldProbe]:
    subject = fields.text("subject")
    new = fields.text("alt")
    answers = fields.texts("answers")
    if not answers:
        fields.fail("answers", "is an empty list (its first item is the old answer, the edit probes' foil)")
    old = answers[0]
    return [
        FieldProbe(f"{case}-edit", fields.text("src"), new, old, "edit", subject=subject),
        FieldProbe(f"{case}-paraphrase", fields.text("rephrase"), new, old, "paraphrase", subject=subject),
        FieldProbe(f"{case}-control", fields.text("loc"), fields.text("loc_ans"), new, "control"),
    ]
