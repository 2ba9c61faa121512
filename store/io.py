"""JSONL in and out: prompts and judgments in, judgments out as jsonl, sft or dpo records.

Imports are all-or-nothing: every line is checked first, and the writes happen in
one transaction, so a bad line, a crash or a kill leaves the database as it was.
With skip_bad the good lines go in and the report lists the skipped ones.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from store import models as m
from store.catalog import (
    MAX_REF_CHARS,
    add_prompt_tags,
    chunks,
    ensure_base_version,
    existing_prompts,
    generation_ids,
    prompt_ids,
)
from store.db import StoreBase
from store.errors import BadInputFile, BadLine, InvalidInput
from store.judgments import JudgmentFields, Judgments, NewJudgment, insert_judgments
from store.records import ImportReport, Judgment
from store.validation import LIVE_STATUSES, check_decoding, check_name, check_storable, check_tags, check_text

ProgressCallback = Callable[[int, int], None]  # (rows written so far, rows to write)
WRITE_BATCH = 1000  # rows per progress step

PROMPT_FIELDS = ("text", "tags", "source")
COMMON_FIELDS = ("annotator", "kind", "prompt", "model", "verdict", "tags", "note", "status", "decoding", "created_at")
OUTPUT_FIELDS = {"rating": ("output",), "correction": ("output", "correction"), "preference": ("output_a", "output_b")}
EXPORT_FORMATS = ("jsonl", "sft", "dpo")


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    """(line number, object) for each non-blank line; a BadLine where the line is not a JSON object."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                yield number, BadLine(number, f"not UTF-8 text ({error.reason} at byte {error.start})")
                continue
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                yield number, BadLine(number, f"not valid JSON: {error.msg} at column {error.colno}")
                continue
            except RecursionError:  # json's own guard against nesting deeper than the interpreter's stack
                yield number, BadLine(number, "JSON nested too deeply to read; a line is one flat object")
                continue
            if not isinstance(value, dict):
                yield number, BadLine(number, f"expected a JSON object, got {type(value).__name__}")
                continue
            yield number, value


def check_fields(row: dict[str, Any], allowed: Sequence[str], required: Sequence[str]) -> None:
    for name in row:
        check_storable(name, "a field name")  # it may be quoted in the message below
    unknown = sorted(set(row) - set(allowed))
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)}; expected only {', '.join(allowed)}")
    missing = [f for f in required if f not in row]
    if missing:
        raise InvalidInput(f"missing field(s) {', '.join(missing)}")


@dataclass(frozen=True)
class PromptLine:
    line: int
    text: str
    tags: tuple[str, ...]
    source: str | None


def parse_prompt(line: int, row: dict[str, Any]) -> PromptLine:
    check_fields(row, PROMPT_FIELDS, ("text",))
    source = row.get("source")
    if source is not None:
        source = check_text(source, "source", max_chars=200)
    return PromptLine(line, check_text(row["text"], "text"), check_tags(row.get("tags")), source)


@dataclass(frozen=True)
class JudgmentLine:
    line: int
    annotator: str
    model: str
    prompt: str
    output: str
    output_b: str | None
    fields: JudgmentFields
    decoding: dict[str, Any] | None
    created_at: datetime | None


def parse_created_at(value: object) -> datetime:
    if not isinstance(value, str):
        raise InvalidInput(f"created_at must be an ISO 8601 string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise InvalidInput(f"created_at {value!r} is not an ISO 8601 time (e.g. 2025-01-31T12:00:00+00:00)") from error
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)  # no offset: UTC
    try:
        return parsed.astimezone(timezone.utc)  # as the database stores it
    except OverflowError:
        raise InvalidInput(f"created_at {value!r} falls outside years 1-9999 in UTC; give a time within them") from None


def parse_judgment(line: int, row: dict[str, Any]) -> JudgmentLine:
    kind = row.get("kind")
    if kind not in OUTPUT_FIELDS:
        raise InvalidInput(f"kind {kind!r} is not one of {', '.join(OUTPUT_FIELDS)}")
    outputs = OUTPUT_FIELDS[kind]
    check_fields(row, COMMON_FIELDS + outputs, ("annotator", "prompt", "model", "verdict", *outputs))
    fields = JudgmentFields.checked(
        kind,
        row["verdict"],
        row.get("correction"),
        row.get("note", ""),
        row.get("status", "submitted"),
        row.get("tags"),
    )
    decoding = check_decoding(row.get("decoding"))
    if kind == "preference":
        output = check_text(row["output_a"], "output_a")
        output_b: str | None = check_text(row["output_b"], "output_b")
        if output == output_b:
            raise InvalidInput("output_a and output_b are the same text; a preference needs two different outputs")
    else:
        output, output_b = check_text(row["output"], "output"), None
    return JudgmentLine(
        line=line,
        annotator=check_name(row["annotator"]),
        model=check_text(row["model"], "model", max_chars=MAX_REF_CHARS),
        prompt=check_text(row["prompt"], "prompt"),
        output=output,
        output_b=output_b,
        fields=fields,
        decoding=decoding,
        created_at=parse_created_at(row["created_at"]) if "created_at" in row else None,
    )


def parse_file(
    path: str | os.PathLike[str], parse: Callable[[int, dict[str, Any]], Any]
) -> tuple[list[Any], list[BadLine]]:
    parsed, problems = [], []
    for number, row in read_jsonl(path):
        if isinstance(row, BadLine):
            problems.append(row)
            continue
        try:
            parsed.append(parse(number, row))
        except InvalidInput as error:
            problems.append(BadLine(number, str(error)))
    return parsed, problems


def export_record(judgment: Judgment) -> dict[str, Any]:
    """A judgment in the import shape, so that exporting and importing it again changes nothing."""
    record: dict[str, Any] = {
        "annotator": judgment.annotator,
        "kind": judgment.kind,
        "prompt": judgment.prompt,
        "model": judgment.model_ref,
    }
    if judgment.kind == "preference":
        record["output_a"], record["output_b"] = judgment.output, judgment.output_b
    else:
        record["output"] = judgment.output
    record["verdict"] = judgment.verdict
    if judgment.kind == "correction":
        record["correction"] = judgment.correction
    record.update(tags=list(judgment.tags), note=judgment.note, status=judgment.status)
    if judgment.decoding is not None:
        record["decoding"] = judgment.decoding
    record["created_at"] = judgment.created_at.isoformat()
    return record


def sft_record(judgment: Judgment) -> dict[str, str] | None:
    """TRL's prompt/completion: a correction's text, or an output rated thumbs-up."""
    if judgment.kind == "correction":
        return {"prompt": judgment.prompt, "completion": judgment.correction or ""}
    if judgment.kind == "rating" and judgment.verdict == "up":
        return {"prompt": judgment.prompt, "completion": judgment.output}
    return None


def dpo_record(judgment: Judgment) -> dict[str, str] | None:
    """TRL's prompt/chosen/rejected: a decided preference, or a correction over its output."""
    if judgment.kind == "preference" and judgment.verdict in ("a", "b"):
        output_a, output_b = judgment.output, judgment.output_b or ""
        chosen, rejected = (output_a, output_b) if judgment.verdict == "a" else (output_b, output_a)
        return {"prompt": judgment.prompt, "chosen": chosen, "rejected": rejected}
    if judgment.kind == "correction" and judgment.correction != judgment.output:
        return {"prompt": judgment.prompt, "chosen": judgment.correction or "", "rejected": judgment.output}
    return None


ItemKey = tuple[int, int, int | None]  # (annotator id, generation id, B generation id or None)


def live_items(session: Session, keys: set[ItemKey]) -> dict[ItemKey, int]:
    """(annotator, A, B) -> the id of its live judgment, for the items among `keys` that have one."""
    found: dict[ItemKey, int] = {}
    pairs = sorted({(annotator_id, generation_id) for annotator_id, generation_id, _ in keys})
    for chunk in chunks(pairs):
        query = select(
            m.Judgment.annotator_id, m.Judgment.generation_id, m.Judgment.generation_b_id, m.Judgment.id
        ).where(
            tuple_(m.Judgment.annotator_id, m.Judgment.generation_id).in_(list(chunk)),
            m.Judgment.status.in_(LIVE_STATUSES),
        )
        for annotator_id, generation_id, generation_b_id, judgment_id in session.execute(query):
            key = (annotator_id, generation_id, generation_b_id)
            if key in keys:
                found[key] = judgment_id
    return found


class Transfer(Judgments, StoreBase):
    def import_prompts(
        self,
        path: str | os.PathLike[str],
        *,
        tags: Sequence[str] = (),
        skip_bad: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> ImportReport:
        """Import prompts from JSONL (`{"text", "tags"?, "source"?}` per line), adding `tags` to each.

        Prompts are deduplicated by text; a prompt already present gains the new tags.
        """
        extra = check_tags(tags)
        lines, problems = parse_file(path, parse_prompt)
        if problems and not skip_bad:
            raise BadInputFile(str(path), problems)
        merged: dict[str, tuple[set[str], str | None]] = {}
        for line in lines:
            tag_set, _ = merged.setdefault(line.text, (set(), line.source))
            tag_set.update(line.tags, extra)
        texts = list(merged)
        with self._write() as session:
            existing = existing_prompts(session, texts)
            for done, chunk in enumerate(chunks(texts, WRITE_BATCH), start=1):
                ids = prompt_ids(session, self.engine, {t: merged[t][1] for t in chunk})
                add_prompt_tags(session, self.engine, [(ids[t], tag) for t in chunk for tag in merged[t][0]])
                if on_progress is not None:
                    on_progress(min(done * WRITE_BATCH, len(texts)), len(texts))
        return ImportReport(str(path), len(texts) - len(existing), len(existing), tuple(problems), ())

    def import_judgments(
        self,
        path: str | os.PathLike[str],
        *,
        skip_bad: bool = False,
        create_annotators: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> ImportReport:
        """Import judgments from JSONL in the export shape (see docs/store.md).

        Creates the model versions, prompts and generations they name. Unknown annotators are
        an error unless `create_annotators`, which adds them as annotators without a password.
        """
        lines, problems = parse_file(path, parse_judgment)
        with self._write() as session:
            people, created = self._annotator_ids(session, {line.annotator for line in lines}, create_annotators)
            for line in lines:
                if line.annotator not in people:
                    problems.append(
                        BadLine(
                            line.line,
                            f"unknown annotator {line.annotator!r}; add them with "
                            f"`nudge user add {line.annotator}` or import with --create-annotators",
                        )
                    )
            problems.sort(key=lambda p: p.line)
            if problems and not skip_bad:
                raise BadInputFile(str(path), problems)
            lines = [line for line in lines if line.annotator in people]
            rows = self._judgment_rows(session, lines, people, problems)
            problems.sort(key=lambda p: p.line)
            if problems and not skip_bad:
                raise BadInputFile(str(path), problems)
            written = 0
            for chunk in chunks(rows, WRITE_BATCH):
                written += len(insert_judgments(session, list(chunk)))
                if on_progress is not None:
                    on_progress(written, len(rows))
        return ImportReport(str(path), written, 0, tuple(problems), tuple(created))

    def _annotator_ids(self, session: Session, names: set[str], create: bool) -> tuple[dict[str, int], list[str]]:
        query = select(m.Annotator.name, m.Annotator.id).where(m.Annotator.name.in_(names))
        people = {name: annotator_id for name, annotator_id in session.execute(query)}
        created = sorted(names - set(people)) if create else []
        for name in created:
            row = m.Annotator(name=name, role="annotator", password_hash=None, active=True)
            session.add(row)
            session.flush()
            people[name] = row.id
        return people, created

    def _judgment_rows(
        self, session: Session, lines: list[JudgmentLine], people: dict[str, int], problems: list[BadLine]
    ) -> list[NewJudgment]:
        """Create what the lines refer to; return their rows, leaving out second live judgments."""
        versions = {ref: ensure_base_version(session, ref) for ref in sorted({line.model for line in lines})}
        texts = {line.prompt for line in lines}
        new_prompts = texts - existing_prompts(session, texts)
        prompts = prompt_ids(session, self.engine, dict.fromkeys(line.prompt for line in lines))  # in file order
        add_prompt_tags(
            session,
            self.engine,
            [(prompts[line.prompt], tag) for line in lines if line.prompt in new_prompts for tag in line.fields.tags],
        )
        outputs = [
            (prompts[line.prompt], versions[line.model], text, line.decoding)
            for line in lines
            for text in (line.output, line.output_b)
            if text is not None
        ]
        generations = generation_ids(session, self.engine, outputs)
        now = m.utcnow()
        rows, numbers = [], []
        first_line: dict[ItemKey, int] = {}
        for line in lines:
            prompt_id, version_id = prompts[line.prompt], versions[line.model]
            generation_id = generations[(prompt_id, version_id, line.output)]
            generation_b_id = generations[(prompt_id, version_id, line.output_b)] if line.output_b is not None else None
            if line.fields.status in LIVE_STATUSES:
                item = (people[line.annotator], generation_id, generation_b_id)
                if item in first_line:
                    problems.append(
                        BadLine(
                            line.line,
                            f"a second live judgment by {line.annotator} on this item "
                            f"(the first is on line {first_line[item]}); keep one",
                        )
                    )
                    continue
                first_line[item] = line.line
            row = NewJudgment(
                people[line.annotator], generation_id, generation_b_id, line.fields, line.created_at or now
            )
            rows.append(row)
            numbers.append(line.line)
        taken = live_items(session, set(first_line))
        names = {annotator_id: name for name, annotator_id in people.items()}
        keep = []
        for row, number in zip(rows, numbers, strict=True):
            item = (row.annotator_id, row.generation_id, row.generation_b_id)
            if item in taken and row.fields.status in LIVE_STATUSES:
                problems.append(
                    BadLine(
                        number,
                        f"{names[row.annotator_id]} already has a live judgment on this item in the database "
                        f"(judgment {taken[item]}); discard it first or leave this line out",
                    )
                )
            else:
                keep.append(row)
        return keep

    def export_records(
        self,
        fmt: str = "jsonl",
        *,
        tags: Sequence[str] | None = None,
        status: str | Sequence[str] | None = None,
        include_disabled: bool = False,
    ) -> list[dict[str, Any]]:
        """Judgments as records: `jsonl` (the import shape), `sft` (prompt/completion) or `dpo`.

        `status` None means the format's default: every status for `jsonl` (a full backup that
        imports back identically), `submitted` for the training formats. In judgment order.
        Judgments by disabled accounts are left out unless `include_disabled`, as in `judgments_for`.
        """
        if fmt not in EXPORT_FORMATS:
            raise InvalidInput(f"export format {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
        if status is None and fmt != "jsonl":
            status = "submitted"
        judgments = self.judgments_for(tags=tags, status=status, include_disabled=include_disabled)
        convert = {"jsonl": export_record, "sft": sft_record, "dpo": dpo_record}[fmt]
        return [r for r in map(convert, judgments) if r is not None]


def write_jsonl(records: Sequence[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """Write records one per line, atomically: the file appears complete or not at all."""
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    with open(partial, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(partial, target)
