"""Reading the field's benchmark files: the JSON they hold, and their records field by field.

Every reader goes through `Fields`, so a missing or ill-typed field fails the same way:
the file, the record, the field, what was found and the shape that was expected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from editing.errors import BadInput
from editing.jsonl import jsonl_records

# A file to read, or JSON already decoded (a list of records, or EasyEdit's one object).
FieldSource = str | Path | list[object] | Mapping[str, object]


class FieldFormatError(BadInput):
    """A benchmark file that cannot be read as the format it was given as; the message names
    the file, the record, the field and the shape expected."""


class WrongFieldFormat(FieldFormatError):
    """A benchmark file given as one format that looks like another; the message names the other."""


def decode_source(source: FieldSource, name: str | None = None) -> tuple[str, object, bool]:
    """(name for messages, decoded JSON, whether it came line by line) for a file or decoded JSON.

    A file is one JSON document (the published files are JSON arrays) or JSON Lines, one
    record a line (a .jsonl file always is); JSON Lines come back as a list of records.
    """
    if isinstance(source, (list, Mapping)):
        return name or "the records given", source, False
    path = Path(source).expanduser()
    shown = name or path.name
    if not path.is_file():
        raise FieldFormatError(f"{shown}: no such file ({path})")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise FieldFormatError(f"{shown} is empty; expected a JSON array of records or JSON Lines")
    if path.suffix != ".jsonl":
        try:
            return shown, json.loads(text), False
        except json.JSONDecodeError as whole:
            if whole.msg != "Extra data":  # "Extra data": more than one document, so JSON Lines
                raise FieldFormatError(f"{shown}: not valid JSON ({whole.msg}, line {whole.lineno})") from whole
    return shown, [record for _, record in jsonl_records(path, FieldFormatError)], True


def record_places(name: str, data: object, by_line: bool, shape: str) -> list[tuple[str, object]]:
    """(where, record) for each record of a list format: "file.json record 3" (counted from 0, as
    the JSON array's index) or "file.jsonl line 4" for JSON Lines."""
    if not isinstance(data, list):
        raise FieldFormatError(
            f"{name}: expected a JSON array of records (or JSON Lines), got a JSON {type(data).__name__}; "
            f"each record {shape}"
        )
    if not data:
        raise FieldFormatError(f"{name} holds no records")
    label = "line" if by_line else "record"
    offset = 1 if by_line else 0
    return [(f"{name} {label} {i + offset}", record) for i, record in enumerate(data)]


def first_answer(value: object) -> str | None:
    """The answer a ground-truth field names first: the string itself, or the first string inside
    nested lists (KnowEdit writes aliases as [["Berlin", "Berlin, Germany"]]). None if there is none."""
    while isinstance(value, list) and value:
        value = value[0]
    return value if isinstance(value, str) else None


class Fields:
    """One record, read field by field by dotted path ("requested_rewrite.target_new.str");
    every read that fails names the record, the field, what it found and the expected shape."""

    def __init__(self, record: object, where: str, shape: str) -> None:
        self.where = where
        self.shape = shape
        if not isinstance(record, dict):
            self._fail_at(f"the record is a JSON {type(record).__name__}, not an object")
        self.record: dict[str, object] = record

    def _fail_at(self, problem: str) -> NoReturn:
        raise FieldFormatError(f"{self.where}: {problem}; expected {self.shape}")

    def fail(self, field: str, problem: str) -> NoReturn:
        """Refuse the record because of `field`."""
        self._fail_at(f"{field} {problem}")

    def get(self, field: str) -> object:
        """The value at a dotted path; None where any step is missing."""
        value: object = self.record
        for step in field.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(step)
        return value

    def has(self, field: str) -> bool:
        return self.get(field) is not None

    def text(self, field: str, *, empty_ok: bool = False) -> str:
        """A string field; empty only where `empty_ok` (an answer nudge leaves out, rather than a broken record)."""
        value = self.get(field)
        if value is None:
            self.fail(field, "is missing")
        if not isinstance(value, str):
            self.fail(field, f"must be a string, got {_shown(value)}")
        if not empty_ok and not value.strip():
            self.fail(field, "is empty")
        return value

    def optional_text(self, field: str) -> str:
        """A string field that may be absent ("" then), but not of another type."""
        return "" if self.get(field) is None else self.text(field, empty_ok=True)

    def texts(self, field: str) -> list[str]:
        """A list of non-empty strings (the list itself may be empty)."""
        value = self.get(field)
        if value is None:
            self.fail(field, "is missing")
        if not isinstance(value, list):
            self.fail(field, f"must be a list of strings, got {_shown(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.fail(f"{field}[{i}]", f"must be a non-empty string, got {_shown(item)}")
        return list(value)

    def text_or_texts(self, field: str) -> list[str]:
        """A string or a list of strings, as a list; [] when absent."""
        value = self.get(field)
        if value is None:
            return []
        return [self.text(field)] if isinstance(value, str) else self.texts(field)

    def items(self, field: str) -> list[Fields]:
        """A list of objects, each read as its own `Fields` (its errors name "field[i]")."""
        value = self.get(field)
        if value is None:
            self.fail(field, "is missing")
        if not isinstance(value, list):
            self.fail(field, f"must be a list of objects, got {_shown(value)}")
        return [Fields(item, f"{self.where}: {field}[{i}]", self.shape) for i, item in enumerate(value)]

    def answer(self, field: str) -> str:
        """A ground-truth answer: a string, or nested lists whose first string is the answer."""
        value = self.get(field)
        if value is None:
            self.fail(field, "is missing")
        found = first_answer(value)
        if found is None:
            self.fail(field, f"must be a string or a list whose first item is one, got {_shown(value)}")
        return found

    def case_id(self, field: str = "case_id") -> str:
        """A record's own id (an int or a string), as the text probe ids are built from."""
        value = self.get(field)
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip():
            self.fail(field, f"must be an integer or a non-empty string (probe ids build on it), got {_shown(value)}")
        return str(value)


def _shown(value: object) -> str:
    """A value for a message: its JSON type and a short repr."""
    kind = "null" if value is None else type(value).__name__
    text = repr(value)
    return f"{kind} {text[:60] + '…' if len(text) > 60 else text}"
