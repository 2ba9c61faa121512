"""CounterFact (ROME's counterfact.json, MEMIT's multi_counterfact.json) as nudge probes.

A record, as ROME's `CounterFactDataset` and `compute_rewrite_quality_counterfact` read it:
{"case_id": 0, "requested_rewrite": {"prompt": "The mother tongue of {} is", "subject": ...,
 "relation_id": "P103", "target_new": {"str": ..., "id": ...}, "target_true": {"str": ..., "id": ...}},
 "paraphrase_prompts": [...], "neighborhood_prompts": [...], "attribute_prompts": [...],
 "generation_prompts": [...]}.
"""

from __future__ import annotations

from editing.field_formats.probes import FieldImport, FieldProbe, import_cases
from editing.field_formats.records import Fields, FieldSource
from editing.field_formats.rewrites import read_rewrite

SHAPE = (
    "a CounterFact record (ROME's counterfact.json): case_id, requested_rewrite {prompt with '{}' for the "
    "subject, subject, relation_id, target_new.str, target_true.str}, paraphrase_prompts and neighborhood_prompts "
    "(lists of strings)"
)


def read_counterfact(source: FieldSource, name: str | None = None) -> FieldImport:
    """CounterFact records as probes, record by record.

    - the requested rewrite's prompt, subject filled in -> `edit` (target_new over target_true);
    - paraphrase_prompts -> `paraphrase` (the same target and foil);
    - neighborhood_prompts -> `control`: other subjects with the same relation and the same true
      answer, so the target is target_true (what must still win) and the foil target_new (what must
      not spill in). CounterFact does not name their subjects: their `subject` is "".

    Probe ids are "counterfact-<case_id>-<part>". attribute_prompts and generation_prompts are not
    read: ROME reports neither as a rate (its attribute snippets and generations feed consistency
    and fluency scores, which nudge measures on its own fluency text).
    """
    return import_cases(source, name, "counterfact", SHAPE, _record_probes)


def _record_probes(fields: Fields) -> list[FieldProbe]:
    case = fields.case_id()
    fields.where = f"{fields.where} (case_id {case})"
    rewrite = read_rewrite(fields, "requested_rewrite")
    paraphrases = fields.texts("paraphrase_prompts")
    neighbours = fields.texts("neighborhood_prompts")

    def probe(part: str, prompt: str, kind: str) -> FieldProbe:
        control = kind == "control"
        return FieldProbe(
            id=f"counterfact-{case}-{part}",
            prompt=prompt,
            target=rewrite.old if control else rewrite.new,
            foil=rewrite.new if control else rewrite.old,
            kind=kind,
            relation=rewrite.relation,
            subject="" if control else rewrite.subject,
        )

    return [
        probe("edit", rewrite.prompt, "edit"),
        *(probe(f"paraphrase-{i}", prompt, "paraphrase") for i, prompt in enumerate(paraphrases)),
        *(probe(f"control-{i}", prompt, "control") for i, prompt in enumerate(neighbours)),
    ]
