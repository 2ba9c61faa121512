"""Hostile or absurd input: refused with one message that names the line, field or file and the fix.

Whatever one backend accepts, the other stores alike, so an export always imports into either.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from store import BadInputFile, InvalidInput, Store
from tests.store.helpers import DEMO_FEEDBACK, TOY_PROMPTS, seed_outputs, table_counts, write_lines

REPO = Path(__file__).resolve().parents[2]
RATING = {
    "annotator": "alice",
    "kind": "rating",
    "prompt": "The dog says",
    "model": "toyworld",
    "output": "woof",
    "verdict": "down",
}


def judgment_line(**changes: object) -> str:
    return json.dumps({**RATING, **changes})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (judgment_line(note="\ud800"), "note has a lone surrogate '\\ud800' at position 0"),
        (judgment_line(prompt="The dog\ud83d says"), "prompt has a lone surrogate '\\ud83d' at position 7"),
        (judgment_line(**{"\udc00": 1}), "a field name has a lone surrogate"),
        ("[" * 100_000 + "]" * 100_000, "JSON nested too deeply to read"),
        (judgment_line(created_at="9999-12-31T23:00:00-05:00"), "created_at '9999-12-31T23:00:00-05:00' falls outside"),
        (judgment_line(created_at="0001-01-01T00:30:00+01:00"), "falls outside years 1-9999 in UTC"),
        (judgment_line(note="a\x00b"), "note has a NUL character (\\u0000) at position 1; remove it"),
        (judgment_line(output="wo\x00of"), "output has a NUL character"),
        (judgment_line(tags=["dog\x00cat"]), "has a NUL character"),
        (judgment_line(decoding={"strategy": "greedy\x00"}), "decoding.strategy has a NUL character"),
        (judgment_line(decoding={"temperature": float("nan")}), "decoding.temperature is nan, which JSON cannot hold"),
        (judgment_line(decoding={"top_p": [1, float("inf")]}), "decoding.top_p[1] is inf"),
        (judgment_line(decoding={"temperature": -float("inf")}), "give a finite number"),
        (judgment_line(decoding={"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}), "nested deeper"),
    ],
)
def test_a_hostile_judgment_line_is_named_and_nothing_is_written(
    store: Store, tmp_path: Path, text: str, expected: str
) -> None:
    store.add_annotator("alice")
    before = table_counts(store)
    source = tmp_path / "hostile.jsonl"
    source.write_text(judgment_line(output="meow") + "\n" + text + "\n", encoding="utf-8", errors="surrogatepass")
    with pytest.raises(BadInputFile) as caught:
        store.import_judgments(source)
    (problem,) = caught.value.problems
    assert problem.line == 2 and expected in problem.message
    assert "\n" not in str(caught.value)
    str(caught.value).encode("utf-8")  # printable: the surrogate is quoted, not carried
    assert table_counts(store) == before


def test_the_api_refuses_what_postgresql_cannot_store_on_both_backends(store: Store) -> None:
    store.add_annotator("alice")
    (generation_id,) = seed_outputs(store, 1)
    before = table_counts(store)
    with pytest.raises(InvalidInput, match="NUL character"):
        store.add_prompt("The dog\x00 says")
    with pytest.raises(InvalidInput, match="lone surrogate"):
        store.submit_judgment("alice", generation_id, "correction", "down", correction="me\udfffow")
    with pytest.raises(InvalidInput, match=r"decoding\.temperature is inf"):
        store.add_generations(store.ensure_base_version("toyworld").id, [(1, "bark")], {"temperature": float("inf")})
    assert table_counts(store) == before


def test_an_export_from_sqlite_imports_into_either_backend_unchanged(store: Store, tmp_path: Path) -> None:
    with Store.init_db(f"sqlite:///{tmp_path / 'first.db'}") as first:
        first.import_prompts(TOY_PROMPTS)
        first.import_judgments(DEMO_FEEDBACK, create_annotators=True)
        first.add_annotator("carol")
        odd = write_lines(
            tmp_path / "odd.jsonl",
            [
                judgment_line(annotator="carol", note="tab\there, emoji 🐕, é", decoding={"temperature": 1e-300}),
                judgment_line(annotator="carol", output="bark", created_at="9999-12-31T18:59:59-05:00"),
            ],
        )
        first.import_judgments(odd)
        exported = first.export_records("jsonl")
    backup = tmp_path / "backup.jsonl"
    backup.write_text("".join(json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n" for r in exported), "utf-8")
    store.import_judgments(backup, create_annotators=True)
    assert store.export_records("jsonl") == exported


def nudge_in_a_process(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """The real `nudge` command in its own process."""
    env = {**os.environ, "NUDGE_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("NUDGE_DB", None)
    code = "from editing.cli import app; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("damage", ["truncated to half", "random bytes"])
def test_a_damaged_database_file_is_one_line_with_exit_2(tmp_path: Path, damage: str) -> None:
    home = tmp_path / "home"
    database = home / "nudge.db"
    with Store.init_db(f"sqlite:///{database}") as store:
        store.import_prompts(TOY_PROMPTS)
        store.import_judgments(DEMO_FEEDBACK, create_annotators=True)
    size = database.stat().st_size
    if damage == "truncated to half":
        os.truncate(database, size // 2)
    else:
        database.write_bytes(os.urandom(size))
    result = nudge_in_a_process("judgments", "stats", home=home)
    assert result.returncode == 2, result.stderr
    message = (result.stdout + result.stderr).strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert f"the database file {database} is damaged" in message
    assert "restore it from a backup" in message and "nudge init" in message
