"""Reading JSONL files line by line, with errors that name the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path


def jsonl_records(path: Path, error: type[ValueError] = ValueError) -> Iterator[tuple[str, object]]:
    """(where, record) for each non-blank line; `where` reads "file.jsonl line 7".

    A line that is not JSON raises `error` naming its line.
    """
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{where}: not valid JSON ({exc.msg})") from exc
