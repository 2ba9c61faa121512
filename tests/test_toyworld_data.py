"""The toy world's shipped data: the world, the probe suites, prompts and demo feedback."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from editing.probes import score_completions
from editing.toyworld import suites
from editing.toyworld.corpus import corpus_sentences
from editing.toyworld.world import (
    ANIMAL_PHRASINGS,
    ANIMALS,
    COUNTRIES,
    COUNTRY_PHRASINGS,
    MULTI_HOP_PHRASINGS,
    REVERSE_PHRASINGS,
    multi_hop_facts,
    single_hop_facts,
)

DATA = suites.DATA_DIR
SUITES = ["dog-cat-swap", "capital-change"]
PROBE_FIELDS = {"id", "prompt", "target", "foil", "kind", "split"}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_shipped_files_match_the_world() -> None:
    for name, text in suites.shipped_files().items():
        assert (DATA / name).read_text() == text, (
            f"{name} drifted from editing/toyworld/suites.py; run `python -m editing.toyworld.suites`"
        )


def test_world_size() -> None:
    assert {"dog", "cat"} <= set(ANIMALS) and len(ANIMALS) >= 6
    assert all(len(features) >= 5 for features in ANIMALS.values())
    assert len(COUNTRIES) >= 30
    for column in range(4):  # names, capitals, languages, currencies are all unique
        assert len({row[column] for row in COUNTRIES}) == len(COUNTRIES)
    for relation in ANIMALS["dog"]:  # one answer per prompt
        assert len({f[relation] for f in ANIMALS.values()}) == len(ANIMALS), relation
    for phrasings in (ANIMAL_PHRASINGS, REVERSE_PHRASINGS, COUNTRY_PHRASINGS, MULTI_HOP_PHRASINGS):
        assert all(len(templates) >= 4 for templates in phrasings.values())


def test_every_phrasing_appears_for_every_entity() -> None:
    corpus = set(corpus_sentences())
    facts = single_hop_facts() + multi_hop_facts()
    assert all(fact.sentence in corpus for fact in facts)
    per_phrasing = Counter((f.relation, f.phrasing) for f in facts)
    assert min(per_phrasing.values()) >= 8


@pytest.mark.parametrize("suite", SUITES)
def test_suite_shape(suite: str) -> None:
    probes = read_jsonl(DATA / f"{suite}.jsonl")
    assert len(probes) >= 40
    assert all(set(p) >= PROBE_FIELDS for p in probes)
    assert all(p["prompt"] and p["target"] and p["foil"] and p["target"] != p["foil"] for p in probes)
    assert len({p["id"] for p in probes}) == len(probes)
    assert {p["split"] for p in probes} == {"train", "val", "test"}
    assert {p["kind"] for p in probes} == {"edit", "paraphrase", "leak", "control"}
    test_kinds = {p["kind"] for p in probes if p["split"] == "test"}
    assert test_kinds == {"edit", "paraphrase", "leak", "control"}


@pytest.mark.parametrize("suite", SUITES)
def test_test_split_is_held_out(suite: str) -> None:
    probes = read_jsonl(DATA / f"{suite}.jsonl")
    train = [p for p in probes if p["split"] == "train"]
    test = [p for p in probes if p["split"] == "test"]
    train_phrasings = {(p["relation"], p["phrasing"]) for p in train}
    assert not train_phrasings & {(p["relation"], p["phrasing"]) for p in test}
    assert not {p["prompt"] for p in train} & {p["prompt"] for p in test}
    leak_relations = {p["relation"] for p in test if p["kind"] == "leak"}
    assert not leak_relations & {p["relation"] for p in train}


def test_demo_feedback_covers_train_prompts_only() -> None:
    feedback = read_jsonl(DATA / "demo_feedback.jsonl")
    swap = read_jsonl(DATA / "dog-cat-swap.jsonl")
    train_prompts = {p["prompt"] for p in swap if p["split"] == "train"}
    held_out = {p["prompt"] for p in swap if p["split"] != "train"}
    dog_cat = [r for r in feedback if "dog-cat" in r["tags"]]
    assert {r["prompt"] for r in dog_cat} == train_prompts
    assert not {r["prompt"] for r in feedback} & held_out
    assert {r["annotator"] for r in feedback} == {"alice", "bob"}
    assert {r["kind"] for r in feedback} == {"rating", "correction", "preference"}
    assert any(r["kind"] == "rating" and r["verdict"] == "down" for r in dog_cat)


def test_demo_feedback_has_disagreements() -> None:
    feedback = read_jsonl(DATA / "demo_feedback.jsonl")
    old_answer = {p["prompt"]: p["foil"] for p in read_jsonl(DATA / "dog-cat-swap.jsonl")}

    def wants_change(r: dict) -> bool:
        if r["kind"] == "preference":
            preferred = r["output_a"] if r["verdict"] == "a" else r["output_b"]
            return preferred != old_answer[r["prompt"]]
        return r["verdict"] == "down"

    views: dict[str, set[bool]] = {}
    for r in feedback:
        views.setdefault(r["prompt"], set()).add(wants_change(r))
    disagreements = [prompt for prompt, seen in views.items() if len(seen) == 2]
    assert sorted(disagreements) == ["The cat eats", "The dog lives in a"]


def test_annotator_prompts() -> None:
    prompts = read_jsonl(DATA / "prompts.jsonl")
    assert len(prompts) >= 50
    assert all(p["text"] and p["tags"] for p in prompts)
    assert {"animals", "dog-cat", "geography", "multi-hop"} <= {t for p in prompts for t in p["tags"]}


def test_retain_and_fluency_do_not_touch_the_edits() -> None:
    retain = [r["text"] for r in read_jsonl(DATA / "retain.jsonl")]
    assert len(retain) >= 50
    assert not [t for t in retain if " dog " in f" {t} " or " cat " in f" {t} "]
    assert not [t for t in retain if suites.CHANGED_COUNTRY in t]
    fluency = (DATA / "fluency.txt").read_text().splitlines()
    assert len(fluency) >= 20 and not set(fluency) & set(corpus_sentences())


@pytest.mark.parametrize("suite", SUITES)
def test_known_answers_on_the_unedited_model(toyworld_dir: Path, suite: str) -> None:
    """Before any edit, the old answer wins every edit-side probe and every control holds."""
    model = AutoModelForCausalLM.from_pretrained(toyworld_dir)
    tokenizer = AutoTokenizer.from_pretrained(toyworld_dir)
    tokenizer.pad_token = tokenizer.eos_token
    probes = read_jsonl(DATA / f"{suite}.jsonl")
    prompts = [p["prompt"] for p in probes]
    target = score_completions(model, tokenizer, prompts, [p["target"] for p in probes])
    foil = score_completions(model, tokenizer, prompts, [p["foil"] for p in probes])
    for probe, t, f in zip(probes, target, foil, strict=True):
        target_wins = t.mean_logprob > f.mean_logprob
        assert target_wins == (probe["kind"] == "control"), probe
