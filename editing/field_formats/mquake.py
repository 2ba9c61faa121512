"""MQuAKE (MQuAKE-CF-3k, MQuAKE-CF, MQuAKE-T) as nudge probes.

A record, as the MQuAKE README documents it: {"case_id": 1561, "requested_rewrite": [ROME-style
rewrites, each with a "question"], "questions": [three multi-hop questions], "answer": ...,
"answer_alias": [...], "new_answer": ..., "new_answer_alias": [...], "single_hops": [...],
"new_single_hops": [...], "orig": {"triples": [[s, r, o], ...], "triples_labeled": [...], ...}}.
"""

from __future__ import annotations

from editing.field_formats.probes import MULTI_HOP_KIND, FieldImport, FieldProbe, import_cases
from editing.field_formats.records import Fields, FieldSource
from editing.field_formats.rewrites import read_rewrite

SHAPE = (
    "a MQuAKE record: case_id, requested_rewrite (a list of {prompt with '{}' for the subject, subject, "
    "relation_id, target_new.str, target_true.str, question}), questions (multi-hop), answer (before the edits) "
    "and new_answer (after)"
)


def read_mquake(source: FieldSource, name: str | None = None) -> FieldImport:
    """MQuAKE records as probes:

    - each requested rewrite's prompt, subject filled in -> `edit` (target_new over target_true);
    - each rewrite's `question` -> `paraphrase` (the same edit, asked as a question);
    - questions, the multi-hop questions through the edited facts -> MULTI_HOP_KIND (`ripple`):
      target new_answer, foil answer (the answer before the edits). Their `subject` is the chain's
      first entity and their `relation` its relation ids joined by ">" ("P641>P495>P36"), both from
      orig.triples_labeled and orig.triples ("" where the record has no `orig`).

    Probe ids are "mquake-<case_id>-<part>". Not read: the answers' aliases (nudge scores one target
    against one foil), single_hops and new_single_hops (the chain's hops one by one: the edited hops
    are the rewrites' questions, read above; the others are facts the edits leave alone), and
    orig's triples beyond the chain's subject and relations.
    """
    return import_cases(source, name, "mquake", SHAPE, _record_probes)


def _record_probes(fields: Fields) -> list[FieldProbe]:
    case = fields.case_id()
    fields.where = f"{fields.where} (case_id {case})"
    rewrites = fields.items("requested_rewrite")
    if not rewrites:
        fields.fail("requested_rewrite", "is an empty list; a MQuAKE case edits at least one fact")
    probes = []
    for i, item in enumerate(rewrites):
        rewrite = read_rewrite(item, "")
        facts = {"relation": rewrite.relation, "subject": rewrite.subject}
        probes.append(FieldProbe(f"mquake-{case}-edit-{i}", rewrite.prompt, rewrite.new, rewrite.old, "edit", **facts))
        if item.has("question"):
            question = item.text("question")
            probes.append(
                FieldProbe(f"mquake-{case}-paraphrase-{i}", question, rewrite.new, rewrite.old, "paraphrase", **facts)
            )
    new, old = fields.text("new_answer", empty_ok=True), fields.text("answer", empty_ok=True)
    subject, relation = _chain(fields)
    questions = fields.texts("questions")
    probes += [
        FieldProbe(f"mquake-{case}-ripple-{i}", question, new, old, MULTI_HOP_KIND, relation, subject)
        for i, question in enumerate(questions)
    ]
    return probes


def _chain(fields: Fields) -> tuple[str, str]:
    """(the chain's first entity, its relation ids joined by ">") from `orig`, ("", "") without it."""
    if not fields.has("orig"):
        return "", ""
    labeled, triples = _triples(fields, "orig.triples_labeled"), _triples(fields, "orig.triples")
    return labeled[0][0], ">".join(relation for _, relation, _ in triples)


def _triples(fields: Fields, field: str) -> list[list[str]]:
    value = fields.get(field)
    if not (isinstance(value, list) and value and all(_is_triple(t) for t in value)):
        fields.fail(field, "must be a non-empty list of [subject, relation, object] string triples")
    return value


def _is_triple(value: object) -> bool:
    return isinstance(value, list) and len(value) == 3 and all(isinstance(part, str) for part in value)
