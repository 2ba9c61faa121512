"""Agreement statistics, checked against sklearn, the `krippendorff` package and a worked example."""

from __future__ import annotations

import random

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from store import Store
from store.agreement import agreement_report, cohen_kappa, krippendorff_alpha, raw_agreement

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example:
# four observers, twelve units, missing values; alpha = 0.743.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def as_units(matrix: list[list[object]]) -> dict[int, dict[str, str]]:
    """Rows are annotators, columns are items; None is a missing value."""
    units: dict[int, dict[str, str]] = {}
    for coder, row in enumerate(matrix):
        for item, value in enumerate(row):
            if value is not None:
                units.setdefault(item, {})[f"coder{coder}"] = str(value)
    return units


def reference_alpha(matrix: list[list[object]]) -> float:
    data = np.array([[np.nan if v is None else float(v) for v in row] for row in matrix])
    return krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")


def test_alpha_reproduces_krippendorffs_worked_example() -> None:
    alpha = krippendorff_alpha(as_units(KRIPPENDORFF_2011))
    assert alpha == pytest.approx(0.743, abs=5e-4)
    assert alpha == pytest.approx(reference_alpha(KRIPPENDORFF_2011), abs=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_alpha_matches_the_krippendorff_package_with_missing_values(seed: int) -> None:
    rng = random.Random(seed)
    n_coders, n_items, labels = rng.randint(2, 5), rng.randint(5, 40), rng.randint(2, 4)
    truth = [rng.randrange(labels) for _ in range(n_items)]
    matrix = [
        [None if rng.random() < 0.3 else (t if rng.random() < 0.7 else rng.randrange(labels)) for t in truth]
        for _ in range(n_coders)
    ]
    units = as_units(matrix)
    values = {v for unit in units.values() if len(unit) > 1 for v in unit.values()}
    if len(values) < 2:
        assert krippendorff_alpha(units) is None
        return
    assert krippendorff_alpha(units) == pytest.approx(reference_alpha(matrix), abs=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_kappa_matches_sklearn(seed: int) -> None:
    rng = random.Random(seed)
    n, labels = rng.randint(3, 50), ["up", "down", "meh"][: rng.randint(2, 3)]
    a = [rng.choice(labels) for _ in range(n)]
    b = [x if rng.random() < 0.6 else rng.choice(labels) for x in a]
    if len(set(a) | set(b)) == 1:
        assert cohen_kappa(a, b) is None
        return
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_undefined_statistics_are_none_not_numbers() -> None:
    assert cohen_kappa(["up", "up"], ["up", "up"]) is None  # one label throughout
    assert cohen_kappa([], []) is None
    assert krippendorff_alpha({1: {"a": "up"}, 2: {"b": "down"}}) is None  # nothing judged twice
    assert raw_agreement({1: {"a": "up"}}) is None
    with pytest.raises(ValueError, match="one label each"):
        cohen_kappa(["up"], ["up", "down"])


def test_raw_agreement_is_the_share_of_agreeing_pairs() -> None:
    units = {1: {"a": "up", "b": "up", "c": "down"}, 2: {"a": "down", "b": "down"}}
    # ordered pairs weighted 1/(m-1), as in alpha: unit 1 has 1.0 agreeing of 3.0, unit 2 has 2.0 of 2.0
    assert raw_agreement(units) == pytest.approx(3 / 5)
    report = agreement_report("rating", units)
    assert report.n_items == 2 and report.n_judgments == 5 and report.kappa is None
    assert [(p.annotator_a, p.annotator_b, p.n_items) for p in report.pairs] == [
        ("a", "b", 2),
        ("a", "c", 1),
        ("b", "c", 1),
    ]


def test_the_demo_feedback_agreement_matches_sklearn(demo_store: Store) -> None:
    report = demo_store.agreement("rating")
    by_item: dict[int, dict[str, str]] = {}
    for j in demo_store.judgments_for(kinds=["rating", "correction"]):
        by_item.setdefault(j.generation_id, {})[j.annotator] = j.verdict
    shared = [labels for labels in by_item.values() if {"alice", "bob"} <= set(labels)]
    alice, bob = [x["alice"] for x in shared], [x["bob"] for x in shared]
    assert report.annotators == ("alice", "bob") and report.n_items == len(shared) == 10
    assert report.kappa == pytest.approx(cohen_kappa_score(alice, bob))
    assert report.raw_agreement == pytest.approx(0.9)  # bob keeps the dog in its kennel
    data = np.array([[1.0 if v == "up" else 0.0 for v in alice], [1.0 if v == "up" else 0.0 for v in bob]])
    assert report.alpha == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def test_preferences_agree_whichever_way_round_the_pair_was_shown(store: Store) -> None:
    for name in ("alice", "bob", "carol"):
        store.add_annotator(name)
    version = store.ensure_base_version("toyworld")
    prompt = store.add_prompt("The dog says")
    woof, meow = store.add_generations(version.id, [(prompt.id, "woof"), (prompt.id, "meow")])
    store.submit_judgment("alice", woof.id, "preference", "b", generation_b_id=meow.id)
    store.submit_judgment("bob", meow.id, "preference", "a", generation_b_id=woof.id)  # same opinion
    store.submit_judgment("carol", meow.id, "preference", "b", generation_b_id=woof.id)  # the other one
    report = store.agreement("preference")
    assert report.n_items == 1 and report.n_judgments == 3
    pairs = {(p.annotator_a, p.annotator_b): p.raw_agreement for p in report.pairs}
    assert pairs == {("alice", "bob"): 1.0, ("alice", "carol"): 0.0, ("bob", "carol"): 0.0}
    assert store.agreement("rating").n_items == 0
