"""EasyEdit's edit requests (the keyword arguments of `BaseEditor.edit`, as `easyedit_export` writes
them or a user gathers them) read back as nudge probes."""

from __future__ import annotations

from editing.field_formats.detect import refuse_other_format
from editing.field_formats.probes import MULTI_HOP_KIND, FieldImport, FieldProbe
from editing.field_formats.records import Fields, FieldSource, decode_source, first_answer

SHAPE = (
    "EasyEdit's edit requests: one JSON object with BaseEditor.edit's keyword arguments, prompts, target_new and "
    "ground_truth (one each per request), optional subject and rephrase_prompts (one per request, null where none), "
    "locality_inputs and portability_inputs ({key: {prompt, ground_truth, foil}}, one entry per request)"
)

Answer = tuple[str, str, str | None]  # (prompt, ground truth, foil or None where the file gives none)


def read_easyedit(source: FieldSource, name: str | None = None) -> FieldImport:
    """Each request as probes: prompts[i] -> `edit` (target target_new[i], foil ground_truth[i],
    subject subject[i]); rephrase_prompts[i] -> `paraphrase`; every locality key -> `control`
    (target its ground_truth, foil its "foil" where given, else the request's target_new);
    portability's "leak" key -> `leak` and every other key -> MULTI_HOP_KIND (`ripple`) (target
    its ground_truth, foil its "foil"; an entry without one is left out: EasyEdit keeps no old
    answer for portability). Probe ids are "easyedit-<request>-<part>". EasyEdit's requests carry
    no relation, so `relation` is "", nor the subject of a locality or portability prompt, so
    theirs is "" too.
    """
    shown, data, _ = decode_source(source, name)
    refuse_other_format(data, "easyedit", shown)
    fields = Fields(data, shown, SHAPE)
    prompts = fields.text_or_texts("prompts")
    if not prompts:
        fields.fail("prompts", "is missing")
    count = len(prompts)
    if not fields.has("ground_truth"):
        fields.fail("ground_truth", "is missing: nudge scores each edit's new answer against its old one")
    new, old = _per_request(fields, "target_new", count), _per_request(fields, "ground_truth", count)
    subjects = _per_request(fields, "subject", count) if fields.has("subject") else [""] * count
    rephrases = _per_request(fields, "rephrase_prompts", count, nulls=True) if fields.has("rephrase_prompts") else []
    answers = {argument: _keyed(fields, argument, count) for argument in ("locality_inputs", "portability_inputs")}
    found = FieldImport(records=count)
    for i, prompt in enumerate(prompts):
        where, case, subject = f"{shown} request {i}", f"easyedit-{i}", subjects[i]
        found.add(FieldProbe(f"{case}-edit", prompt, new[i], old[i], "edit", subject=subject), where)
        if rephrases and rephrases[i]:
            paraphrase = FieldProbe(f"{case}-paraphrase", rephrases[i], new[i], old[i], "paraphrase", subject=subject)
            found.add(paraphrase, where)
        for argument, keyed in answers.items():
            for key, per_request in keyed.items():
                _add_answers(found, where, f"{argument}.{key}", per_request[i], case, new[i])
    return found.finish(shown)


def _add_answers(found: FieldImport, where: str, at: str, answers: list[Answer], case: str, new: str) -> None:
    """One request's entries under one locality or portability key, as probes of the kind the key names.
    EasyEdit does not say which subject such a prompt asks about, so their `subject` is ""."""
    argument, key = at.split(".", 1)
    kind = "control" if argument == "locality_inputs" else "leak" if key == "leak" else MULTI_HOP_KIND
    for j, (prompt, target, foil) in enumerate(answers):
        part = f"{kind}-{j}" if key == kind else f"{kind}-{key.lower()}-{j}"
        if foil is None and kind != "control":
            found.leave_out(where, f"{at} entry {j}: no foil (the answer before the edit) to score it against")
        else:
            foil = new if foil is None else foil  # a control's foil is the edit's new answer, as in every reader
            found.add(FieldProbe(f"{case}-{part}", prompt, target, foil, kind), where)


def _per_request(fields: Fields, field: str, count: int, *, nulls: bool = False) -> list[str]:
    """A top-level argument, one string per request ("" for a null, where `nulls`); a lone string is one request's."""
    value = fields.get(field)
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or len(items) != count:
        fields.fail(field, f"must be a list of {count} strings, one per prompt, got {str(value)[:80]!r}")
    for i, item in enumerate(items):
        if not (isinstance(item, str) or (nulls and item is None)):
            fields.fail(f"{field}[{i}]", f"must be a string{' or null' if nulls else ''}, got {str(item)[:80]!r}")
    return [item or "" for item in items]


def _keyed(fields: Fields, argument: str, count: int) -> dict[str, list[list[Answer]]]:
    """locality_inputs or portability_inputs: for each key, each request's (prompt, ground truth, foil)s."""
    value = fields.get(argument)
    if value is None:
        return {}
    if not isinstance(value, dict):
        fields.fail(argument, "must be an object mapping a key to {prompt, ground_truth} lists")
    keyed = {}
    for key in value:
        at = f"{argument}.{key}"
        prompts, truths = _column(fields, f"{at}.prompt", count), _column(fields, f"{at}.ground_truth", count)
        foils = _column(fields, f"{at}.foil", count) if fields.has(f"{at}.foil") else [None] * count
        keyed[key] = [_entry(fields, at, i, prompts[i], truths[i], foils[i]) for i in range(count)]
    return keyed


def _column(fields: Fields, field: str, count: int) -> list[object]:
    value = fields.get(field)
    if not isinstance(value, list) or len(value) != count:
        fields.fail(field, f"must be a list with one entry per request ({count}), null where a request has none")
    return value


def _entry(fields: Fields, at: str, i: int, prompt: object, truth: object, foil: object) -> list[Answer]:
    """One request's entry: a prompt and its answer, a list of prompts and their answers, or null."""
    if prompt is None:
        return []
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not (isinstance(prompts, list) and prompts and all(isinstance(p, str) and p.strip() for p in prompts)):
        fields.fail(f"{at}.prompt[{i}]", "must be a non-empty string, a list of them, or null")
    truths = _aligned(fields, f"{at}.ground_truth[{i}]", truth, len(prompts))
    foils = _aligned(fields, f"{at}.foil[{i}]", foil, len(prompts)) if foil is not None else [None] * len(prompts)
    return list(zip(prompts, truths, foils, strict=True))


def _aligned(fields: Fields, field: str, value: object, count: int) -> list[str]:
    """The answers for `count` prompts: a list of `count` answers, or one answer (aliases allowed) for all."""
    if isinstance(value, list) and count > 1 and len(value) == count:
        answers = [first_answer(v) for v in value]
    else:
        answers = [first_answer(value)] * count
    found = [a for a in answers if a is not None]
    if len(found) != count:
        fields.fail(field, f"must be a string or a list of {count} answers, one per prompt, got {str(value)[:80]!r}")
    return found
