"""ROME's requested rewrite, the edit request CounterFact and MQuAKE share:
{"prompt": "{} is a citizen of", "subject": ..., "relation_id": "P27",
 "target_new": {"str": ..., "id": ...}, "target_true": {"str": ..., "id": ...}}."""

from __future__ import annotations

from dataclasses import dataclass

from editing.field_formats.records import Fields


@dataclass(frozen=True)
class Rewrite:
    """One requested rewrite: the edit prompt with its subject filled in, and the new and old answers."""

    prompt: str
    subject: str
    new: str  # target_new.str: the answer the edit teaches
    old: str  # target_true.str: the answer it replaces
    relation: str  # relation_id (Wikidata's P27...), "" where the record has none


def read_rewrite(fields: Fields, at: str) -> Rewrite:
    """The rewrite at `at` ("requested_rewrite", "requested_rewrite[1]" through `Fields.items`)."""
    prefix = f"{at}." if at else ""
    template = fields.text(f"{prefix}prompt")
    if template.count("{}") != 1:
        fields.fail(f"{prefix}prompt", f"must hold '{{}}' once, where the subject goes, got {template!r}")
    subject = fields.text(f"{prefix}subject")
    return Rewrite(
        prompt=template.replace("{}", subject),
        subject=subject,
        new=fields.text(f"{prefix}target_new.str", empty_ok=True),
        old=fields.text(f"{prefix}target_true.str", empty_ok=True),
        relation=fields.optional_text(f"{prefix}relation_id"),
    )
