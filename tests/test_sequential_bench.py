"""The sequential bench's own inputs: what its KL retain set holds, and its one-token diagnostic names."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from editing.toyworld.world import COUNTRIES
from editing.training_data import read_feedback_file, select_examples

BENCH = Path(__file__).parent.parent / "bench" / "sequential_bench.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sequential_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sequential_bench"] = module
    spec.loader.exec_module(module)
    return module


def _retain(bench: ModuleType, tmp_path: Path, source: str, count: int = 3) -> tuple[list[str], set[str]]:
    edits = bench.capital_edits(count)
    prompts = {row["prompt"] for e in edits for row in bench.edit_probes(e, COUNTRIES[count:])}
    path = bench.retain_file(tmp_path, edits, source, prompts)
    return [json.loads(line)["text"] for line in path.read_text().splitlines()], prompts


def test_corpus_retain_set_holds_no_old_capital_and_no_probe_sentence(bench: ModuleType, tmp_path: Path) -> None:
    texts, prompts = _retain(bench, tmp_path, "corpus")
    old = [c[1] for c in COUNTRIES[:3]]
    assert not [t for t in texts if any(f" {o}" in t for o in old)]
    assert not [t for t in texts if any(t.startswith(p + " ") for p in prompts)]
    # what the KL term must hold stays: the edited country's language in phrasings no probe uses,
    # and the untouched countries' capitals in more than one phrasing
    country, _, language, _ = COUNTRIES[0]
    assert f"The people of {country} speak {language}." in texts
    untouched, capital = COUNTRIES[5][0], COUNTRIES[5][1]
    assert len([t for t in texts if untouched in t and capital in t]) >= 3
    assert len(texts) == len(set(texts))


def test_toy_retain_set_is_the_shipped_one_less_old_capitals(bench: ModuleType, tmp_path: Path) -> None:
    texts, _ = _retain(bench, tmp_path, "toy")
    assert texts and all(COUNTRIES[1][1] not in t for t in texts)
    assert any(COUNTRIES[4][1] in t for t in texts)  # an unedited country's capital stays


def test_rotated_names_move_every_capital_to_another_edited_country(bench: ModuleType) -> None:
    edits = bench.capital_edits(5, "rotated")
    assert sorted(e.new for e in edits) == sorted(e.old for e in edits)
    assert all(e.new != e.old for e in edits)


def test_keep_adds_thumbs_up_on_what_must_not_move_and_they_train_with_positive_sft(
    bench: ModuleType, tmp_path: Path
) -> None:
    edit = bench.capital_edits(1)[0]
    country, _, language, currency = COUNTRIES[0]
    path = bench.write_jsonl(tmp_path / "feedback.jsonl", bench.edit_feedback(edit, keep=True))
    judgments = read_feedback_file(path)
    trained = {(e.kind, e.prompt, e.completion) for e in select_examples(judgments, positive_sft=True).examples}
    assert ("sft", f"The people of {country} speak", language) in trained
    assert ("sft", f"The currency of {country} is the", currency) in trained
    assert ("sft", f"The capital of {country} is", edit.new) in trained
    without = {(e.prompt, e.completion) for e in select_examples(judgments, positive_sft=False).examples}
    assert (f"The people of {country} speak", language) not in without  # ratings up train only with it
    assert len(bench.edit_feedback(edit)) == 2  # no --keep: the two corrections alone


def test_untouched_controls_name_their_own_country_and_ask_every_relation(bench: ModuleType) -> None:
    edit = bench.capital_edits(2)[0]
    rows = bench.edit_probes(edit, COUNTRIES[2:])
    untouched = [r for r in rows if r["subject"] != edit.country]
    assert {r["subject"] for r in untouched} == {c[0] for c in COUNTRIES[2:8]}
    assert all(r["kind"] == "control" and r["foil"] == edit.new for r in untouched)
    for country, capital, language, currency in COUNTRIES[2:8]:
        asked = [(r["relation"], r["target"], r["split"]) for r in untouched if r["subject"] == country]
        held_out = [("capital", capital, "test")] * 3 + [("language", language, "test"), ("currency", currency, "test")]
        early_stopping = [("capital", capital, "val")] if country in {COUNTRIES[2][0], COUNTRIES[3][0]} else []
        assert sorted(asked) == sorted(held_out + early_stopping)


def test_the_table_gives_each_seed_and_their_median(bench: ModuleType) -> None:
    def result(seed: int, paraphrase: float, junk: float) -> dict:
        side = {key: 0.5 for _, key in bench.ROWS} | {"paraphrase_says": paraphrase, "junk": junk, "base_junk": 0.0}
        side["verdicts"] = f"{seed} fail"
        common = {"edits": 30, "names": "shared", "method": "replay", "steps": 150, "retain": "corpus", "keep": True}
        return common | {
            "seed": seed,
            "settings": {"train.seed": seed},
            "sequential": side,
            "batched": side | {"seconds": 35.0, "verdicts": "fail"},
        }

    table = bench.markdown([result(0, 0.53, 0.010), result(1, 0.90, 0.0), result(2, 0.72, 0.003)])
    assert "| measure | seed 0 | seed 1 | seed 2 | median | one batched edit, median |" in table
    assert "| paraphrase, greedy | 0.53 | 0.90 | 0.72 | 0.72 | 0.72 |" in table
    junk = "| trailing junk: a name run on, or text after its sentence (base model's in brackets) |"
    assert f"{junk} 0.010 | 0.000 | 0.003 | 0.003 (0.00) |" in table
    assert "train.seed 0, 1, 2" in table and "train.seed=" not in table


@pytest.mark.parametrize(
    ("continuation", "stopped", "junk"),
    [
        (" Velmora.", True, False),  # the answer and its full stop
        (" Velmora", True, False),  # stopped without the stop: an ending lost, not junk
        (" a sheep.", True, False),  # a wrong answer that ends: the control rate counts it
        (" Oruvik.", True, False),
        (" Velmoramoramora", True, True),  # the run-on name
        (" Mirdunneish.", True, True),  # a language's ending glued on
        (" Pepogradmoram.", True, True),  # an untouched capital with an edit's syllables after it
        (" Velmora. The capital of", False, True),  # text after the answer's sentence
        (" the capital of the country whose", False, True),  # never ends
    ],
)
def test_trailing_junk_is_what_runs_on_past_the_answer_not_a_wrong_answer(
    bench: ModuleType, continuation: str, stopped: bool, junk: bool
) -> None:
    names = {"Velmora", "Mirdunne", "Oruvik", "Pepograd"}
    assert bench.trailing_junk(continuation, names, stopped) is junk
