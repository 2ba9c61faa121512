"""JSONL import and export: the toy world's files, round trips, TRL's shapes, and bad lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from store import MAX_TEXT_CHARS, BadInputFile, BadLine, Store
from tests.store.helpers import DEMO_FEEDBACK, TOY_PROMPTS, table_counts, write_lines


def canonical(records: list[dict[str, object]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in records)


def read_records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


RATING = {
    "annotator": "alice",
    "kind": "rating",
    "prompt": "The dog says",
    "model": "toyworld",
    "output": "woof",
    "verdict": "down",
    "tags": ["dog-cat"],
    "note": "",
    "status": "submitted",
}


def line(**changes: object) -> str:
    record = {**RATING, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not None})


def test_the_toy_worlds_prompts_import_with_their_tags(store: Store) -> None:
    report = store.import_prompts(TOY_PROMPTS, tags=["demo"])
    shipped = read_records(TOY_PROMPTS)
    assert (report.added, report.existing, report.skipped) == (len(shipped), 0, ())
    assert [p.text for p in store.prompts()] == [r["text"] for r in shipped]  # file order: the queue's order
    prompts = {p.text: p for p in store.prompts()}
    dog = prompts["The dog says"]
    assert dog.tags == ("animals", "demo", "dog-cat") and dog.source == "toyworld"
    assert len(store.prompts(tags=["dog-cat"])) == sum("dog-cat" in r["tags"] for r in shipped)


def test_prompts_are_deduplicated_by_text_and_gain_new_tags(store: Store, tmp_path: Path) -> None:
    store.import_prompts(write_lines(tmp_path / "a.jsonl", ['{"text": "The dog says", "tags": ["a"]}']))
    report = store.import_prompts(
        write_lines(tmp_path / "b.jsonl", ['{"text": "The dog says", "tags": ["b"]}', '{"text": "The cat says"}'])
    )
    assert (report.added, report.existing) == (1, 1)
    assert [(p.text, p.tags) for p in store.prompts()] == [("The dog says", ("a", "b")), ("The cat says", ())]


def test_the_demo_feedback_imports_and_exports_back_identically(store: Store, tmp_path: Path) -> None:
    store.import_prompts(TOY_PROMPTS)
    report = store.import_judgments(DEMO_FEEDBACK, create_annotators=True)
    original = read_records(DEMO_FEEDBACK)
    assert report.added == len(original) and report.created_annotators == ("alice", "bob")
    exported = store.export_records("jsonl")
    assert canonical([{k: v for k, v in r.items() if k != "created_at"} for r in exported]) == canonical(original)
    # and a second trip through a fresh database changes nothing at all, timestamps included
    out = tmp_path / "backup.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in exported), encoding="utf-8")
    with Store.init_db(f"sqlite:///{tmp_path / 'second.db'}") as second:
        second.import_judgments(out, create_annotators=True)
        assert second.export_records("jsonl") == exported


def test_export_keeps_drafts_discards_and_decoding(store: Store, tmp_path: Path) -> None:
    store.add_annotator("alice")
    decoding = {"strategy": "greedy", "max_new_tokens": 8}
    source = write_lines(
        tmp_path / "j.jsonl",
        [
            line(status="draft", decoding=decoding, created_at="2025-01-31T12:00:00+00:00"),
            line(output="bark", status="discarded"),
            line(output="bark", verdict="up", created_at="2025-02-01T08:30:00"),  # no offset: UTC
        ],
    )
    store.import_judgments(source)
    exported = store.export_records("jsonl")
    assert [(r["output"], r["status"], r.get("decoding"), r["created_at"]) for r in exported] == [
        ("woof", "draft", decoding, "2025-01-31T12:00:00+00:00"),
        ("bark", "discarded", None, exported[1]["created_at"]),
        ("bark", "submitted", None, "2025-02-01T08:30:00+00:00"),
    ]
    assert store.export_records("jsonl", status="draft") == exported[:1]


def test_sft_and_dpo_exports_are_trls_shapes(demo_store: Store) -> None:
    sft = demo_store.export_records("sft")
    dpo = demo_store.export_records("dpo")
    assert all(set(r) == {"prompt", "completion"} for r in sft)
    assert all(set(r) == {"prompt", "chosen", "rejected"} for r in dpo)
    assert {"prompt": "The dog says", "completion": "meow"} in sft  # a correction
    assert {"prompt": "The cow says", "completion": "moo"} in sft  # an approved output, as stored
    assert {"prompt": "The dog lives in a", "completion": "kennel"} in sft  # bob's thumbs-up
    assert {"prompt": "The dog says", "chosen": "meow", "rejected": "woof"} in dpo  # a correction
    assert {"prompt": "A dog makes the sound", "chosen": "meow", "rejected": "woof"} in dpo  # a preference, b
    assert {"prompt": "The cat eats", "chosen": "fish", "rejected": "bones"} in dpo  # a preference, a
    corrections = [j for j in demo_store.judgments_for() if j.kind == "correction"]
    ups = [j for j in demo_store.judgments_for() if j.kind == "rating" and j.verdict == "up"]
    preferences = [j for j in demo_store.judgments_for() if j.kind == "preference"]
    assert len(sft) == len(corrections) + len(ups)
    assert len(dpo) == len(corrections) + len(preferences)
    assert demo_store.export_records("dpo", tags=["animals"]) == []


def test_ties_give_no_dpo_pair(store: Store, tmp_path: Path) -> None:
    store.add_annotator("alice")
    tie = line(kind="preference", output=None, output_a="woof", output_b="meow", verdict="tie")
    store.import_judgments(write_lines(tmp_path / "t.jsonl", [tie]))
    assert store.export_records("dpo") == [] and len(store.export_records("jsonl")) == 1


def test_malformed_lines_are_reported_by_number_and_nothing_is_imported(store: Store, tmp_path: Path) -> None:
    store.add_annotator("alice")
    before = table_counts(store)
    source = write_lines(
        tmp_path / "bad.jsonl",
        [
            line(),
            "{not json",
            "",  # blank lines are fine
            "[1, 2]",
            line(kind="opinion"),
            line(output=""),
            line(verdict="b"),
            line(output="x" * (MAX_TEXT_CHARS + 1)),
            line(colour="blue"),
            line(kind="correction"),
            line(output="bark", annotator="carol"),
        ],
    )
    with pytest.raises(BadInputFile) as caught:
        store.import_judgments(source)
    problems = caught.value.problems
    assert [p.line for p in problems] == [2, 4, 5, 6, 7, 8, 9, 10, 11]
    assert "not valid JSON" in problems[0].message and "expected a JSON object" in problems[1].message
    assert "over the limit of 20,000" in problems[5].message
    assert "unknown field(s) colour" in problems[6].message and "missing field(s) correction" in problems[7].message
    assert "unknown annotator 'carol'" in problems[8].message
    assert "line 2: not valid JSON" in str(caught.value) and "--skip-bad" in str(caught.value)
    assert table_counts(store) == before


def test_unknown_annotators_are_named_or_created_on_request(store: Store, tmp_path: Path) -> None:
    store.add_annotator("alice")
    source = write_lines(tmp_path / "j.jsonl", [line(), line(annotator="carol"), line(annotator="dave")])
    before = table_counts(store)
    with pytest.raises(BadInputFile) as caught:
        store.import_judgments(source)
    assert caught.value.problems == [
        BadLine(
            2, "unknown annotator 'carol'; add them with `nudge user add carol` or import with --create-annotators"
        ),
        BadLine(3, "unknown annotator 'dave'; add them with `nudge user add dave` or import with --create-annotators"),
    ]
    assert table_counts(store) == before
    report = store.import_judgments(source, create_annotators=True)
    assert report.created_annotators == ("carol", "dave") and report.added == 3
    carol = store.annotator("carol")
    assert carol.role == "annotator" and not carol.has_password
    assert not store.verify_password("carol", "")


def test_skip_bad_imports_the_good_lines_and_reports_the_rest(store: Store, tmp_path: Path) -> None:
    store.add_annotator("alice")
    source = write_lines(tmp_path / "j.jsonl", ["oops", line(), line(annotator="carol"), line(note=7)])
    report = store.import_judgments(source, skip_bad=True)
    assert report.added == 1
    assert [p.line for p in report.skipped] == [1, 3, 4]
    assert len(store.judgments_for()) == 1


def test_second_live_judgments_in_the_file_or_the_database_are_refused(store: Store, tmp_path: Path) -> None:
    store.add_annotator("alice")
    twice = write_lines(tmp_path / "twice.jsonl", [line(), line(verdict="up")])
    with pytest.raises(BadInputFile, match=r"line 2: a second live judgment by alice on this item \(the first is"):
        store.import_judgments(twice)
    assert store.judgments_for(status=None) == []
    once = write_lines(tmp_path / "once.jsonl", [line()])
    store.import_judgments(once)
    before = table_counts(store)
    with pytest.raises(BadInputFile, match="alice already has a live judgment on this item in the database"):
        store.import_judgments(once)
    assert table_counts(store) == before
    discarded = write_lines(tmp_path / "gone.jsonl", [line(status="discarded"), line(status="discarded")])
    assert store.import_judgments(discarded).added == 2  # history is not a live judgment


def test_imports_create_versions_prompts_and_generations_once(store: Store, tmp_path: Path) -> None:
    store.add_annotator("alice")
    store.add_annotator("bob")
    source = write_lines(
        tmp_path / "j.jsonl",
        [
            line(),
            line(annotator="bob"),
            line(kind="preference", output=None, output_a="woof", output_b="meow", verdict="b"),
        ],
    )
    store.import_judgments(source)
    version = store.find_model_version("toyworld")
    assert version is not None and version.is_base
    (prompt,) = store.prompts()
    assert prompt.tags == ("dog-cat",)  # a prompt made by a judgment import gets its tags
    assert [g.text for g in store.generations_for(prompt.id)] == ["woof", "meow"]


def test_prompt_files_report_bad_lines_too(store: Store, tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "p.jsonl", ['{"text": "ok"}', '{"text": ""}', '{"txt": "typo"}', '{"text": "also ok"}']
    )
    with pytest.raises(BadInputFile) as caught:
        store.import_prompts(source)
    assert [p.line for p in caught.value.problems] == [2, 3]
    assert store.prompts() == []
    report = store.import_prompts(source, skip_bad=True)
    assert report.added == 2 and [p.line for p in report.skipped] == [2, 3]


def test_non_utf8_lines_are_reported(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
    with pytest.raises(BadInputFile, match="line 2: not UTF-8"):
        store.import_prompts(path)
