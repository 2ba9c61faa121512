"""KnowEdit (EasyEdit's benchmark files: ZsRE-test-all.json, test_cf.json, recent_test.json,
wikibio-test-all.json and their train files) as nudge probes.

A record, as EasyEdit's `KnowEditDataset` and examples/KnowEdit.md show it: {"subject": ...,
"prompt": ..., "target_new": ..., "ground_truth": ..., "rephrase_prompt": ...,
"portability": {"Reasoning": [{"prompt": ..., "ground_truth": ...}], "Subject_Aliasing": [...],
"Logical_Generalization": [...]}, "locality": {"Relation_Specificity": [...], "Forgetfulness": [...]}};
WikiBio names them "concept", "text" and "labels". An answer is a string or nested lists of aliases.
"""

from __future__ import annotations

from editing.field_formats.detect import refuse_other_format
from editing.field_formats.probes import MULTI_HOP_KIND, FieldImport, FieldProbe
from editing.field_formats.records import Fields, FieldSource, decode_source, first_answer, record_places

SHAPE = (
    "a KnowEdit record: subject, prompt, target_new and ground_truth (WikiBio: concept, text, labels), optional "
    "rephrase_prompt, locality and portability objects mapping a category to a list of {prompt, ground_truth}"
)
# the portability categories whose answer follows the edit with the old answer known: the edit's own
ALIASING = "Subject_Aliasing"


def read_knowedit(source: FieldSource, name: str | None = None) -> FieldImport:
    """KnowEdit records as probes:

    - prompt -> `edit` (target_new over ground_truth, the old answer);
    - rephrase_prompt (ZsRE's files) -> `paraphrase`;
    - locality, every category (Relation_Specificity, Forgetfulness) -> `control`: target its
      ground_truth, and, as the record has no foil for it, the edit's new answer as the foil;
    - portability's Subject_Aliasing (the edited fact, the subject under another name) ->
      MULTI_HOP_KIND (`ripple`): target its ground_truth, foil the edit's ground_truth.

    Probe ids are "knowedit-<index>-<part>" (the record's place in the file, counted from 0);
    KnowEdit has no relation ids, so `relation` is "". Left out, each with a line saying why: a
    record with no ground_truth (wiki_recent's insertions and WikiBio's passages carry no old answer,
    and nudge scores the new answer against the old one; add a "ground_truth" to import them), and
    the other portability categories (Reasoning, Logical_Generalization): they give the answer
    the edit implies but not the answer before it, the foil a `ripple` probe needs. Not read:
    answers' aliases past the first.
    """
    shown, data, by_line = decode_source(source, name)
    refuse_other_format(data, "knowedit", shown)
    found = FieldImport()
    for index, (where, record) in enumerate(record_places(shown, data, by_line, SHAPE)):
        fields = Fields(record, where, SHAPE)
        found.records += 1
        old = first_answer(fields.get("ground_truth"))
        if old is None or not old.strip():
            found.leave_out(
                where,
                "no ground_truth, the old answer an edit probe's foil needs (wiki_recent's and WikiBio's records "
                'carry none); add "ground_truth" to import it',
            )
            continue
        for probe in _record_probes(fields, f"knowedit-{index}", old):
            found.add(probe, where)
        for category in _categories(fields, "portability"):
            if category != ALIASING:
                found.leave_out(
                    where,
                    f"portability.{category}: KnowEdit gives the answer the edit implies but not the one before "
                    f"it, which a {MULTI_HOP_KIND} probe needs as its foil",
                )
    return found.finish(shown)


def _record_probes(fields: Fields, case: str, old: str) -> list[FieldProbe]:
    subject = _named(fields, "subject", "concept")
    prompt = _named(fields, "prompt", "text")
    new = _named(fields, "target_new", "labels")
    rephrases = fields.text_or_texts("rephrase_prompt") or fields.text_or_texts("rephrase")
    probes = [FieldProbe(f"{case}-edit", prompt, new, old, "edit", subject=subject)]
    probes += [
        FieldProbe(f"{case}-paraphrase-{i}", rephrase, new, old, "paraphrase", subject=subject)
        for i, rephrase in enumerate(rephrases)
    ]
    for category in _categories(fields, "locality"):
        for part, prompt_, answer in _answered(fields, f"locality.{category}"):
            probes.append(FieldProbe(f"{case}-control-{part}", prompt_, answer, new, "control", subject=subject))
    if ALIASING in _categories(fields, "portability"):
        for part, prompt_, answer in _answered(fields, f"portability.{ALIASING}"):
            probe_id = f"{case}-{MULTI_HOP_KIND}-{part}"
            probes.append(FieldProbe(probe_id, prompt_, answer, old, MULTI_HOP_KIND, subject=subject))
    return probes


def _named(fields: Fields, name: str, wikibio_name: str) -> str:
    """A field under its usual name, or under the name WikiBio's records give it."""
    return fields.text(wikibio_name if not fields.has(name) and fields.has(wikibio_name) else name)


def _categories(fields: Fields, field: str) -> list[str]:
    """The categories of `locality` or `portability` (an object; absent or null reads as none)."""
    value = fields.get(field)
    if value is None:
        return []
    if not isinstance(value, dict):
        fields.fail(field, "must be an object mapping a category (Relation_Specificity, Reasoning, ...) to a list")
    return list(value)


def _answered(fields: Fields, field: str) -> list[tuple[str, str, str]]:
    """(id part, prompt, answer) for each {prompt, ground_truth} of a category; a prompt given as a
    list of phrasings gives one probe each, all with the item's first answer."""
    category = field.split(".")[-1].lower()
    found = []
    for i, item in enumerate(fields.items(field)):
        answer = item.answer("ground_truth")
        prompts = item.text_or_texts("prompt")
        if not prompts:
            item.fail("prompt", "is missing or empty")
        for k, prompt in enumerate(prompts):
            part = f"{category}-{i}" if len(prompts) == 1 else f"{category}-{i}-{k}"
            found.append((part, prompt, answer))
    return found
