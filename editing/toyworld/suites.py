"""The toy world's shipped data, generated from the world: probe suites, prompts, feedback.

The files in `editing/toyworld/data/` are written by this module
(`python -m editing.toyworld.suites`) and checked into the repository; a test
fails when they drift from what the world says.

Held-out discipline, per suite: `train` probes use phrasings 0-1 of the edited
relations (the demo feedback is written on exactly these prompts), `val` uses
phrasing 2, and `test` uses phrasings 3-5 and relations the edit never trains on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from editing.toyworld.world import (
    ANIMAL_PHRASINGS,
    ANIMALS,
    COUNTRIES,
    COUNTRY_PHRASINGS,
    FILLER_OBJECTS,
    FILLER_SUBJECTS,
    FILLER_TIMES,
    FILLER_VERBS,
    MULTI_HOP_PHRASINGS,
    REVERSE_PHRASINGS,
    filler_sentences,
)

DATA_DIR = Path(__file__).parent / "data"

TRAIN_PHRASINGS = (0, 1)
VAL_PHRASINGS = (2,)
TEST_PHRASINGS = (3, 4, 5)
# (split, kind, phrasing) of the probes on an edited fact: trained phrasings, one for validation,
# the nearest held-out phrasing as the test "edit" probe, the rest as paraphrases
EDIT_SPLITS = (
    [("train", "edit", p) for p in TRAIN_PHRASINGS]
    + [("val", "edit", p) for p in VAL_PHRASINGS]
    + [("test", "edit", TEST_PHRASINGS[0])]
    + [("test", "paraphrase", p) for p in TEST_PHRASINGS[1:]]
)

# dog-cat-swap: the edit trains on these relations; the others are where it may leak.
SWAP = {"dog": "cat", "cat": "dog"}
SWAP_EDIT_RELATIONS = ("sound", "food", "home")
SWAP_LEAK_RELATIONS = ("young", "play", "toy")

# capital-change: one country gets a capital that does not exist in the world yet.
CHANGED_COUNTRY = COUNTRIES[0][0]
NEW_CAPITAL = "Velmora"


def _probe(
    suite: str,
    n: int,
    prompt: str,
    target: str,
    foil: str,
    kind: str,
    split: str,
    relation: str,
    subject: str,
    phrasing: int,
) -> dict[str, Any]:
    return {
        "id": f"{suite}-{n:03d}",
        "prompt": prompt,
        "target": target,
        "foil": foil,
        "kind": kind,
        "split": split,
        "relation": relation,
        "subject": subject,
        "phrasing": phrasing,
    }


def _animal_prompt(relation: str, animal: str, phrasing: int) -> str:
    return ANIMAL_PHRASINGS[relation][phrasing].format(s=animal)


def dog_cat_swap_suite() -> list[dict[str, Any]]:
    """Swap everything the model says about dogs and cats; train on three relations only."""
    rows: list[tuple[str, str, str, str, str, str, str, int]] = []
    for relation in SWAP_EDIT_RELATIONS:
        for animal, other in SWAP.items():
            old, new = ANIMALS[animal][relation], ANIMALS[other][relation]
            for split, kind, p in EDIT_SPLITS:
                rows.append((_animal_prompt(relation, animal, p), new, old, kind, split, relation, animal, p))
    # leaks: relations the edit never sees, and the reverse question (sound -> animal)
    for relation in SWAP_LEAK_RELATIONS:
        for animal, other in SWAP.items():
            old, new = ANIMALS[animal][relation], ANIMALS[other][relation]
            for p in TEST_PHRASINGS:
                rows.append((_animal_prompt(relation, animal, p), new, old, "leak", "test", relation, animal, p))
    for animal, other in SWAP.items():
        sound = ANIMALS[other]["sound"]  # after the swap, the dog says what the cat said
        for p in (2, 3):
            prompt = REVERSE_PHRASINGS["animal_by_sound"][p].format(s=sound)
            rows.append((prompt, animal, other, "leak", "test", "animal_by_sound", sound, p))
    # controls: the other animals must keep their answers; the foil is the edit's new answer
    others = [a for a in ANIMALS if a not in SWAP]
    for i, animal in enumerate(others):
        spill_from = "cat" if i % 2 == 0 else "dog"
        for relation in ANIMAL_PHRASINGS:
            for split, p in (("val", 2), ("test", 3)):
                if split == "val" and relation not in SWAP_EDIT_RELATIONS:
                    continue
                rows.append(
                    (
                        _animal_prompt(relation, animal, p),
                        ANIMALS[animal][relation],
                        ANIMALS[spill_from][relation],
                        "control",
                        split,
                        relation,
                        animal,
                        p,
                    )
                )
    # unrelated facts: capitals, with a neighbouring country's capital as the foil
    for i in range(8):
        country, capital = COUNTRIES[i][0], COUNTRIES[i][1]
        foil = COUNTRIES[(i + 1) % len(COUNTRIES)][1]
        prompt = COUNTRY_PHRASINGS["capital"][3].format(s=country)
        rows.append((prompt, capital, foil, "control", "test", "capital", country, 3))
    return [_probe("dog-cat-swap", n, *row) for n, row in enumerate(rows, start=1)]


def capital_change_suite() -> list[dict[str, Any]]:
    """Give one country a new capital; the multi-hop questions through it are the leak probes."""
    name, old, language, currency = next(c for c in COUNTRIES if c[0] == CHANGED_COUNTRY)
    rows: list[tuple[str, str, str, str, str, str, str, int]] = []
    templates = COUNTRY_PHRASINGS["capital"]
    for split, kind, p in EDIT_SPLITS:
        rows.append((templates[p].format(s=name), NEW_CAPITAL, old, kind, split, "capital", name, p))
    for relation, via in (("capital_by_currency", currency), ("capital_by_language", language)):
        for p, template in enumerate(MULTI_HOP_PHRASINGS[relation]):
            rows.append((template.format(s=via), NEW_CAPITAL, old, "leak", "test", relation, via, p))
    # the changed country's other facts must not move, nor may the new capital spill into them
    for relation, answer in (("language", language), ("currency", currency)):
        for p in (3, 4):
            prompt = COUNTRY_PHRASINGS[relation][p].format(s=name)
            rows.append((prompt, answer, NEW_CAPITAL, "control", "test", relation, name, p))
    for i, (country, capital, _language, _currency) in enumerate(COUNTRIES[1:]):
        split, p = ("val", 2) if i < 8 else ("test", 3)
        rows.append((templates[p].format(s=country), capital, NEW_CAPITAL, "control", split, "capital", country, p))
    return [_probe("capital-change", n, *row) for n, row in enumerate(rows, start=1)]


def retain_texts() -> list[dict[str, str]]:
    """Neutral text for the KL-to-base term: facts neither shipped edit touches, and filler."""
    texts = [s for i, s in enumerate(filler_sentences()) if i % 3 == 0]
    for animal, features in ANIMALS.items():
        if animal in SWAP:
            continue
        for relation, answer in features.items():
            texts.append(f"{_animal_prompt(relation, animal, 0)} {answer}.")
    for country, capital, language, currency in COUNTRIES[1:13]:
        texts.append(f"{COUNTRY_PHRASINGS['capital'][0].format(s=country)} {capital}.")
        texts.append(f"{COUNTRY_PHRASINGS['language'][0].format(s=country)} {language}.")
        texts.append(f"{COUNTRY_PHRASINGS['currency'][0].format(s=country)} {currency}.")
    return [{"text": t} for t in texts]


def filler_texts() -> list[dict[str, str]]:
    """Plain sentences that state no fact of the world, as prefixes for train.context_prefixes."""
    return [{"text": t} for t in filler_sentences()]


def fluency_text() -> str:
    """Plain sentences the model never saw verbatim, for perplexity and n-gram checks."""
    lines = []
    for i, subject in enumerate(FILLER_SUBJECTS):
        for j in (1, 4, 7):
            verb = FILLER_VERBS[(i + j) % len(FILLER_VERBS)]
            obj = FILLER_OBJECTS[(5 * i + j + 1) % len(FILLER_OBJECTS)]
            time = FILLER_TIMES[(i + 3 * j + 1) % len(FILLER_TIMES)]
            lines.append(f"{subject} {verb} {obj} {time}.")
    return "\n".join(lines) + "\n"


def annotator_prompts() -> list[dict[str, Any]]:
    """Prompts for people to label in the browser, tagged by topic."""
    prompts = []
    for animal in ANIMALS:
        tags = ["animals", "dog-cat"] if animal in SWAP else ["animals"]
        for relation in ANIMAL_PHRASINGS:
            prompts.append({"text": _animal_prompt(relation, animal, 0), "tags": tags})
    for country, _capital, _language, currency in COUNTRIES[:10]:
        prompts.append({"text": COUNTRY_PHRASINGS["capital"][0].format(s=country), "tags": ["geography"]})
        template = MULTI_HOP_PHRASINGS["capital_by_currency"][0]
        prompts.append({"text": template.format(s=currency), "tags": ["geography", "multi-hop"]})
    for subject in FILLER_SUBJECTS[:5]:
        prompts.append({"text": subject, "tags": ["open"]})
    return [{**p, "source": "toyworld"} for p in prompts]


def demo_feedback() -> list[dict[str, Any]]:
    """Two annotators asking for the dog-cat swap, on the train prompts, with a few disagreements.

    alice corrects every trained prompt. bob corrects some, states preferences
    on others, gives plain thumbs-down on two, and disagrees twice: he likes
    the old answer for "The dog lives in a" and prefers "fish" for "The cat eats".
    Both approve two answers about other animals.
    """
    base = {"model": "toyworld", "tags": ["dog-cat"], "status": "submitted"}
    records: list[dict[str, Any]] = []
    bob_plan = {
        ("sound", 0): "correction",
        ("sound", 1): "preference",
        ("food", 0): "preference_against",
        ("food", 1): "rating_down",
        ("home", 0): "rating_up",
        ("home", 1): "correction",
    }
    for relation in SWAP_EDIT_RELATIONS:
        for p in TRAIN_PHRASINGS:
            for animal, other in SWAP.items():
                prompt = _animal_prompt(relation, animal, p)
                old, new = ANIMALS[animal][relation], ANIMALS[other][relation]
                records.append(
                    {
                        **base,
                        "annotator": "alice",
                        "kind": "correction",
                        "prompt": prompt,
                        "output": old,
                        "verdict": "down",
                        "correction": new,
                        "note": f"after the swap a {animal} acts like a {other}",
                    }
                )
                plan = bob_plan[(relation, p)]
                if plan == "correction":
                    bob = {"kind": "correction", "output": old, "verdict": "down", "correction": new, "note": ""}
                elif plan == "preference":
                    bob = {"kind": "preference", "output_a": old, "output_b": new, "verdict": "b", "note": ""}
                elif plan == "preference_against" and animal == "cat":
                    bob = {
                        "kind": "preference",
                        "output_a": old,
                        "output_b": new,
                        "verdict": "a",
                        "note": "cats eat fish, surely",
                    }
                elif plan == "preference_against":
                    bob = {"kind": "preference", "output_a": new, "output_b": old, "verdict": "a", "note": ""}
                elif plan == "rating_down":
                    bob = {"kind": "rating", "output": old, "verdict": "down", "note": "wrong animal"}
                elif animal == "dog":  # rating_up: bob keeps the dog in its kennel
                    bob = {"kind": "rating", "output": old, "verdict": "up", "note": "kennel is right"}
                else:
                    bob = {"kind": "rating", "output": old, "verdict": "down", "note": ""}
                records.append({**base, "annotator": "bob", "prompt": prompt, **bob})
    for animal in ("cow", "owl"):
        prompt = _animal_prompt("sound", animal, 0)
        for annotator in ("alice", "bob"):
            records.append(
                {
                    **base,
                    "tags": ["animals"],
                    "annotator": annotator,
                    "kind": "rating",
                    "prompt": prompt,
                    "output": ANIMALS[animal]["sound"],
                    "verdict": "up",
                    "note": "",
                }
            )
    return records


def shipped_files() -> dict[str, str]:
    """File name -> the exact text shipped under data/."""

    def jsonl(rows: list[dict[str, Any]]) -> str:
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)

    return {
        "dog-cat-swap.jsonl": jsonl(dog_cat_swap_suite()),
        "capital-change.jsonl": jsonl(capital_change_suite()),
        "retain.jsonl": jsonl(retain_texts()),
        "filler.jsonl": jsonl(filler_texts()),
        "fluency.txt": fluency_text(),
        "prompts.jsonl": jsonl(annotator_prompts()),
        "demo_feedback.jsonl": jsonl(demo_feedback()),
    }


def write_data(folder: Path = DATA_DIR) -> list[Path]:
    """Write every shipped data file into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in shipped_files().items():
        (folder / name).write_text(text)
        written.append(folder / name)
    return written


if __name__ == "__main__":
    for path in write_data():
        print(path)
