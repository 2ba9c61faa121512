"""Impact metrics: statistics against scipy/statsmodels, gates, hand-worked probe sets, contamination."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

from editing.impact import (
    Estimate,
    Gate,
    bootstrap_mean,
    evaluate_gates,
    find_contamination,
    margin_changes,
    mcnemar_exact,
    ngram_entropy,
    normalise_prompt,
    paired_bootstrap,
    paired_entropy,
    parse_gate,
    perplexity_ratio,
    probe_rows,
    rate_metrics,
    wilson_interval,
)
from editing.impact.regressions import EarlierEdit
from editing.probes import Probe, ProbeScore
from editing.report.measure import measure_impact

DATA = Path(__file__).resolve().parents[1] / "editing" / "toyworld" / "data"


def score(probe: Probe, margin: float, continuation: str = "") -> ProbeScore:
    return ProbeScore(probe, target_logprob=margin - 2.0, foil_logprob=-2.0, continuation=continuation)


def probe(pid: str, kind: str, split: str = "test", relation: str = "", prompt: str = "", subject: str = "") -> Probe:
    return Probe(pid, prompt or f"prompt {pid}", "new", "old", kind, split, relation, subject)


# --- statistics --------------------------------------------------------------------------------


@pytest.mark.parametrize(("successes", "n"), [(0, 1), (0, 5), (3, 10), (17, 22), (20, 20), (44, 44), (500, 1000)])
def test_wilson_interval_matches_statsmodels(successes: int, n: int) -> None:
    estimate = wilson_interval(successes, n)
    low, high = proportion_confint(successes, n, alpha=0.05, method="wilson")
    assert estimate.value == successes / n
    assert estimate.ci_low == pytest.approx(low, abs=1e-12)
    assert estimate.ci_high == pytest.approx(high, abs=1e-12)
    assert estimate.n == n


def test_wilson_interval_other_confidence_and_no_data() -> None:
    low, high = proportion_confint(7, 9, alpha=0.1, method="wilson")
    estimate = wilson_interval(7, 9, confidence=0.9)
    assert (estimate.ci_low, estimate.ci_high) == pytest.approx((low, high))
    assert wilson_interval(0, 0) == Estimate(None, None, None, 0)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(5, 3)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ([True] * 10 + [False] * 5 + [True] * 3 + [False] * 7, [True] * 10 + [True] * 5 + [False] * 3 + [False] * 7),
        ([False] * 12, [True] * 12),
        ([True, False, True], [True, False, True]),
        ([True, True, False, False], [False, True, True, False]),
    ],
)
def test_mcnemar_exact_matches_statsmodels(before: list[bool], after: list[bool]) -> None:
    pairs = Counter(zip(before, after, strict=True))
    table = [[pairs[True, True], pairs[True, False]], [pairs[False, True], pairs[False, False]]]
    expected = mcnemar(table, exact=True).pvalue if table[0][1] + table[1][0] else 1.0
    assert mcnemar_exact(before, after) == pytest.approx(expected, abs=1e-12)


def test_mcnemar_twelve_flips_one_way_is_significant() -> None:
    assert mcnemar_exact([False] * 12, [True] * 12) == pytest.approx(2 * 0.5**12)


def test_bootstrap_mean_matches_scipy_percentile_bootstrap() -> None:
    values = np.random.default_rng(7).exponential(size=40)
    estimate = bootstrap_mean(values, seed=3)
    reference = stats.bootstrap(
        (values,), np.mean, method="percentile", n_resamples=10_000, random_state=np.random.default_rng(11)
    ).confidence_interval
    spread = values.std() / math.sqrt(len(values))
    assert estimate.value == pytest.approx(values.mean())
    assert estimate.ci_low == pytest.approx(reference.low, abs=0.1 * spread)
    assert estimate.ci_high == pytest.approx(reference.high, abs=0.1 * spread)
    assert bootstrap_mean(values, seed=3) == estimate  # seeded: the same interval every time
    assert bootstrap_mean([]) == Estimate(None, None, None, 0)


def test_paired_bootstrap_interval_and_p_value() -> None:
    rng = np.random.default_rng(0)
    before = rng.normal(size=50)
    shifted, p_shifted = paired_bootstrap(before, before + 1.0 + rng.normal(scale=0.5, size=50))
    assert shifted.ci_low > 0.7 and shifted.ci_high < 1.3
    assert p_shifted < 0.001
    noise, p_noise = paired_bootstrap(before, before + rng.normal(scale=0.5, size=50))
    assert noise.ci_low < 0 < noise.ci_high
    assert p_noise > 0.05
    same, p_same = paired_bootstrap([1.0, 2.0] * 3, [1.0, 2.0] * 3)
    assert (same.value, p_same) == (0.0, 1.0)
    few, p_few = paired_bootstrap([1.0, 2.0], [3.0, 4.0])  # two pairs once gave [2.00, 2.00], p < 0.001
    assert (few.value, few.ci_low, few.ci_high, p_few) == (2.0, None, None, None)
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap([1.0], [1.0, 2.0])


def test_paired_bootstrap_p_agrees_with_a_t_test_on_normal_data() -> None:
    rng = np.random.default_rng(5)
    before = rng.normal(size=200)
    after = before + 0.15 + rng.normal(size=200)
    _, p = paired_bootstrap(before, after)
    assert p == pytest.approx(stats.ttest_rel(after, before).pvalue, abs=0.02)


def test_perplexity_ratio_by_hand_and_by_sentence() -> None:
    before = [[1.0, 2.0], [3.0]] * 3
    after = [[1.5, 2.0], [3.1]] * 3
    estimate, p = perplexity_ratio(before, after)
    assert estimate.value == pytest.approx(math.exp((6.6 - 6.0) / 3))
    assert estimate.n == 6  # resampled per sentence
    assert estimate.ci_low <= estimate.value <= estimate.ci_high and p is not None
    flat, _ = perplexity_ratio([1.0, 2.0, 3.0] * 2, [1.5, 2.0, 3.1] * 2)
    assert flat.value == pytest.approx(estimate.value) and flat.n == 6
    unchanged, p_unchanged = perplexity_ratio([[1.0, 2.0]] * 6, [[1.0, 2.0]] * 6)
    assert (unchanged.value, p_unchanged) == (1.0, 1.0)


def test_too_few_units_give_a_value_but_no_interval_no_p_and_an_uncertain_gate() -> None:
    # one sentence once gave a zero-width interval, "p < 0.001" and a passing gate
    one, p = perplexity_ratio([[1.0, 2.0]], [[1.1, 2.0]])
    assert one.value == pytest.approx(math.exp(0.05)) and (one.ci_low, one.ci_high, p) == (None, None, None)
    kl = bootstrap_mean([0.01, 0.02, 0.01, 0.03, 0.02])
    assert kl.value == pytest.approx(0.018) and kl.ci_low is None
    assert parse_gate("kl", "< 0.05").status(kl) == "uncertain"
    assert parse_gate("ppl_ratio", "<= 1.1").status(one) == "uncertain"
    assert bootstrap_mean([0.01, 0.02, 0.01, 0.03, 0.02, 0.01]).ci_low is not None
    with pytest.raises(ValueError, match="same tokens"):
        perplexity_ratio([[1.0, 2.0]], [[1.0]])


def test_ngram_entropy_by_hand() -> None:
    # bigrams: (the, cat) twice, (cat, sat), (cat, ran): probabilities 1/2, 1/4, 1/4 -> 1.5 bits
    assert ngram_entropy(["The cat sat", "the cat ran"]) == pytest.approx(1.5)
    assert ngram_entropy(["meow meow meow meow"]) == 0.0
    assert ngram_entropy(["a b c d"], n=1) == pytest.approx(2.0)
    assert ngram_entropy([]) == 0.0


def test_paired_entropy_jackknife_by_hand() -> None:
    before = ["the dog says woof", "the cat says meow", "a cow says moo", "the owl says hoot"]
    before += ["the pig says oink", "a duck says quack"]
    after = ["the dog says meow", "the cat says meow", "the dog says meow", "the owl says hoot"]
    after += ["the dog says meow", "a duck says quack"]
    estimate_b, estimate_a, p = paired_entropy(before, after)
    k = len(before)

    def jackknife_se(texts: list[str]) -> float:
        leave_one_out = np.array([ngram_entropy(texts[:i] + texts[i + 1 :]) for i in range(k)])
        return math.sqrt((k - 1) / k * np.sum((leave_one_out - leave_one_out.mean()) ** 2))

    z = stats.norm.ppf(0.975)
    assert estimate_b.value == pytest.approx(ngram_entropy(before))
    assert estimate_b.ci_high == pytest.approx(estimate_b.value + z * jackknife_se(before))
    assert estimate_a.ci_low == pytest.approx(max(0.0, estimate_a.value - z * jackknife_se(after)))
    assert estimate_a.value < estimate_b.value  # the edited model repeats itself
    assert 0 < p < 1
    same_b, same_a, p_same = paired_entropy(before, before)
    assert same_b == same_a and p_same == 1.0
    few_b, few_a, p_few = paired_entropy(before[:2], after[:2])  # two prompts: values, no intervals, no p
    assert few_b.ci_low is None and few_a.ci_high is None and p_few is None and few_b.value > 0


# --- gates -------------------------------------------------------------------------------------


def test_parse_gate_forms_and_errors() -> None:
    assert parse_gate("paraphrase", ">= 0.8") == Gate("paraphrase", ">=", 0.8)
    assert parse_gate("leak", "<=0.2") == Gate("leak_rate", "<=", 0.2)
    assert parse_gate("ppl_ratio", " < 1.1 ") == Gate("ppl_ratio", "<", 1.1)
    assert parse_gate("kl", "> 1e-3") == Gate("kl", ">", 0.001)
    with pytest.raises(ValueError, match=r"gate 'edit' has threshold '0.9'.*>= 0.95"):
        parse_gate("edit", "0.9")
    with pytest.raises(ValueError, match="gate 'edit'"):
        parse_gate("edit", "=> 0.9")
    with pytest.raises(ValueError, match=r"unknown gate 'accuracy'.*leak_rate.*ppl_ratio"):
        parse_gate("accuracy", ">= 0.9")


@pytest.mark.parametrize(
    ("spec", "low", "high", "status"),
    [
        (">= 0.8", 0.85, 0.99, "pass"),
        (">= 0.8", 0.80, 0.99, "pass"),  # the whole interval is at or above the threshold
        (">= 0.8", 0.75, 0.95, "uncertain"),
        (">= 0.8", 0.40, 0.70, "fail"),
        ("> 0.8", 0.80, 0.95, "uncertain"),
        ("<= 0.2", 0.00, 0.15, "pass"),
        ("<= 0.2", 0.10, 0.45, "uncertain"),
        ("<= 0.2", 0.55, 0.95, "fail"),
        ("< 1.1", 1.00, 1.12, "uncertain"),
        ("< 1.1", 1.10, 1.30, "fail"),
    ],
)
def test_gate_status_follows_the_whole_interval(spec: str, low: float, high: float, status: str) -> None:
    gate = parse_gate("edit", spec)
    assert gate.status(Estimate((low + high) / 2, low, high, 30)) == status


def test_gate_without_data_is_uncertain() -> None:
    assert parse_gate("edit", ">= 0.5").status(Estimate(None, None, None, 0)) == "uncertain"


def test_verdict_fails_on_a_failed_gate_and_on_uncertainty_only_when_strict() -> None:
    metrics = {
        "edit": Estimate(1.0, 0.84, 1.0, 20),  # >= 0.95: uncertain
        "leak_rate": Estimate(0.05, 0.01, 0.2, 20),  # <= 0.3: pass
        "ppl_ratio": Estimate(1.3, 1.2, 1.4, 30),  # <= 1.1: fail
    }
    lenient = evaluate_gates({"edit": ">= 0.95", "leak": "<= 0.3"}, metrics)
    assert (lenient["passed"], lenient["status"]) == (True, "uncertain")
    assert [g["status"] for g in lenient["gates"]] == ["uncertain", "pass"]
    assert lenient["gates"][1] == {
        "name": "leak_rate",
        "value": 0.05,
        "ci_low": 0.01,
        "ci_high": 0.2,
        "n": 20,
        "threshold": "<= 0.3",
        "status": "pass",
    }
    strict = evaluate_gates({"edit": ">= 0.95", "leak": "<= 0.3"}, metrics, strict=True)
    assert (strict["passed"], strict["status"]) == (False, "uncertain")
    failed = evaluate_gates({"leak": "<= 0.3", "ppl_ratio": "<= 1.1"}, metrics)
    assert (failed["passed"], failed["status"]) == (False, "fail")
    assert evaluate_gates({}, metrics)["passed"] is True


def test_a_verdict_that_judged_no_gate_has_its_own_status() -> None:
    metrics = {"edit": Estimate(1.0, 0.9, 1.0, 40)}
    for strict in (False, True):
        unjudged = evaluate_gates({}, metrics, strict=strict)
        assert (unjudged["status"], unjudged["passed"], unjudged["gates"]) == ("none", True, [])  # nothing failed
    assert evaluate_gates({}, metrics, contaminated=True)["status"] == "uncertain"  # contamination was checked


def test_contamination_makes_a_passing_verdict_uncertain_like_any_uncertain_gate() -> None:
    metrics = {"edit": Estimate(1.0, 0.9, 1.0, 40), "leak_rate": Estimate(0.5, 0.3, 0.7, 20)}
    for strict in (False, True):
        contaminated = evaluate_gates({"edit": ">= 0.8"}, metrics, strict=strict, contaminated=True)
        straddling = evaluate_gates({"edit": ">= 0.95"}, metrics, strict=strict)
        assert contaminated["status"] == straddling["status"] == "uncertain"
        assert contaminated["passed"] == straddling["passed"] == (not strict)  # one rule for every uncertainty
        assert contaminated["contaminated"] is True and straddling["contaminated"] is False
    clean = evaluate_gates({"edit": ">= 0.8"}, metrics, contaminated=True)
    assert clean["gates"][0]["status"] == "pass"  # each gate still says what its interval shows
    failed = evaluate_gates({"leak": "<= 0.2"}, metrics, contaminated=True)
    assert (failed["passed"], failed["status"]) == (False, "fail")  # a failure stays a failure
    before, after = hand_built()
    assert measure_impact(before, after, gates={"edit": ">= 0.01"})["verdict"]["status"] == "pass"
    row = {"probe_id": "e1", "prompt": "prompt e1", "training_prompt": "prompt e1", "similarity": 1.0}
    verdict = measure_impact(before, after, gates={"edit": ">= 0.01"}, strict=True, contamination=[row])["verdict"]
    assert (verdict["passed"], verdict["status"]) == (False, "uncertain")


# --- metrics on hand-built probe sets ----------------------------------------------------------


def hand_built() -> tuple[list[ProbeScore], list[ProbeScore]]:
    """Eight test probes, two of each kind, whose outcomes are worked out by hand."""
    e1, e2 = probe("e1", "edit"), probe("e2", "edit")
    p1, p2 = probe("p1", "paraphrase"), probe("p2", "paraphrase")
    l1, l2 = probe("l1", "leak", relation="young"), probe("l2", "leak", relation="play")
    c1, c2 = probe("c1", "control", relation="sound"), probe("c2", "control", relation="sound")
    t1 = probe("t1", "edit", split="train")
    before = [
        score(e1, -1.0),
        score(e2, -2.0),
        score(p1, -1.0),
        score(p2, -1.0),
        score(l1, -1.0),
        score(l2, -1.0),
        score(c1, 2.0, " moo"),
        score(c2, 2.0, " quack"),
        score(t1, -1.0),
    ]
    after = [
        score(e1, 1.0),  # took
        score(e2, 0.5),  # took
        score(p1, 0.5),  # took
        score(p2, -0.5),  # missed
        score(l1, -0.5),  # the foil still wins: leak
        score(l2, 0.25),  # took
        score(c1, 1.5, " moo"),  # held: same continuation, target still ahead
        score(c2, 1.0, " meow"),  # damaged: its continuation changed
        score(t1, 3.0),
    ]
    return before, after


def test_rate_metrics_by_hand() -> None:
    before, after = hand_built()
    b = rate_metrics(before)
    a = rate_metrics(after, before=before)
    assert (b["edit"].value, b["paraphrase"].value, b["leak_rate"].value, b["control_unchanged"].value) == (
        0.0,
        0.0,
        1.0,
        1.0,
    )
    assert (a["edit"].value, a["paraphrase"].value, a["leak_rate"].value, a["control_unchanged"].value) == (
        1.0,
        0.5,
        0.5,
        0.5,
    )
    assert all(a[name].n == 2 for name in ("edit", "paraphrase", "leak_rate", "control_unchanged"))  # not t1
    assert a["edit_says"].n == 0  # built without continuations: nothing says what the model said
    assert rate_metrics(after, before=before, split="train")["edit"].value == 1.0


def test_control_that_keeps_its_continuation_but_loses_its_margin_is_damaged() -> None:
    control = probe("c", "control")
    before, after = [score(control, 1.0, " moo")], [score(control, -0.1, " moo")]
    assert rate_metrics(after, before=before)["control_unchanged"].value == 0.0
    assert probe_rows(before, after)[0]["finding"] == "damaged"


def test_margin_changes_by_hand() -> None:
    before, after = hand_built()
    changes = margin_changes(before, after)
    assert changes["edit"]["value"] == pytest.approx((2.0 + 2.5) / 2)
    assert changes["leak"]["value"] == pytest.approx((0.5 + 1.25) / 2)
    assert changes["control"]["value"] == pytest.approx((-0.5 - 1.0) / 2)
    assert list(changes) == ["leak", "control", "edit", "paraphrase"]
    # two probes per kind: even both moving one way could give p = 0.5 at best, so there is no test
    assert all(c["test"] is None and c["p_value"] is None and c["p_min"] == 0.5 for c in changes.values())


def test_probe_rows_put_leaks_and_damage_first_with_findings() -> None:
    before, after = hand_built()
    rows = probe_rows(before, after)
    assert [(r["id"], r["finding"]) for r in rows] == [
        ("l1", "leak"),
        ("l2", "took"),
        ("c2", "damaged"),
        ("c1", "held"),
        ("e1", "took"),
        ("e2", "took"),
        ("t1", "took"),
        ("p2", "missed"),
        ("p1", "took"),
    ]
    row = next(r for r in rows if r["id"] == "c2")
    assert row["continuation_before"] == " moo" or row["continuation_before"] == " quack"
    assert (row["margin_before"], row["margin_after"], row["flipped"]) == (2.0, 1.0, False)
    assert next(r for r in rows if r["id"] == "e1")["flipped"] is True


def test_unpaired_phases_are_refused() -> None:
    before, after = hand_built()
    with pytest.raises(ValueError, match="'t1' is scored before the edit but not after"):
        measure_impact(before, after[:-1])
    with pytest.raises(ValueError, match="twice"):
        measure_impact(before + before[:1], after)


def test_measure_impact_sections() -> None:
    before, after = hand_built()
    generations = [{"prompt": "The dog says", "before": " woof woof", "after": " meow meow"}] * 3
    sections = measure_impact(
        before,
        after,
        kl=[0.01, 0.02, 0.03],
        nll_before=[[1.0, 2.0], [3.0]],
        nll_after=[[1.1, 2.0], [3.0]],
        generations=generations,
        gates={"edit": ">= 0.1", "leak": "<= 0.01", "control_unchanged": ">= 0.5"},
    )
    metrics = sections["metrics"]
    assert metrics["after"]["edit"]["value"] == 1.0
    assert metrics["before"]["kl"] == {"value": 0.0, "ci_low": None, "ci_high": None, "n": 3}  # after has none
    assert metrics["after"]["kl"]["value"] == pytest.approx(0.02)
    assert metrics["before"]["ppl_ratio"]["value"] == 1.0
    assert metrics["after"]["ppl_ratio"]["value"] == pytest.approx(math.exp(0.1 / 3))
    assert metrics["tests"]["edit"] == {"test": "mcnemar_exact", "p_value": 0.5, "n": 2, "up": 2, "down": 0}
    assert metrics["tests"]["leak_rate"]["down"] == 1  # l2: the old answer no longer wins
    assert set(metrics["other_splits"]) == {"train"}
    assert [g["status"] for g in sections["verdict"]["gates"]] == ["pass", "fail", "uncertain"]
    assert sections["verdict"]["passed"] is False
    summary = sections["summary"]
    assert summary["leaked"][0].startswith(
        "1 of 2 test leak probes prefer the old answer after the edit (2 of 2 before; young 1 of 1"
    )
    assert any('"prompt c2" now continues "meow" (was "quack")' in s for s in summary["moved"])
    json.dumps(sections, allow_nan=False)  # plain JSON all the way down


def test_summary_of_a_clean_edit_says_nothing_leaked_with_the_remaining_uncertainty() -> None:
    leak, control = probe("l", "leak", relation="young"), probe("c", "control")
    before = [score(leak, -1.0), score(control, 1.0, " moo")]
    after = [score(leak, 1.0), score(control, 1.0, " moo")]
    summary = measure_impact(before, after)["summary"]
    assert summary["leaked"] == [
        "No leak probe prefers the old answer after the edit (0 of 1, 1 of 1 before; "
        "the leak rate could still be up to 80%)."  # Wilson's 0.7935, rounded outward
    ]
    assert summary["moved"][0].startswith("No test control probe changed (0 of 1)")


def test_a_control_that_already_failed_and_did_not_move_is_not_called_changed() -> None:
    failing, moved = probe("c1", "control", relation="sound"), probe("c2", "control", relation="sound")
    before = [score(failing, -2.0, " rome"), score(moved, 1.0, " moo")]
    after = [score(failing, -2.0, " rome"), score(moved, 1.0, " meow")]
    sections = measure_impact(before, after)
    assert {row["id"]: row["finding"] for row in sections["probes"]} == {"c1": "failing", "c2": "damaged"}
    assert sections["metrics"]["after"]["control_unchanged"]["value"] == 0.0  # the metric as defined
    moved_text = " ".join(sections["summary"]["moved"])
    assert "1 of 2 test control probes changed" in moved_text
    assert "1 test control probe already failed before the edit (the foil beat or tied the target before" in moved_text
    quiet = measure_impact(before[:1], after[:1])["summary"]["moved"]
    assert quiet[0].startswith("No test control probe changed (0 of 1)") and "already failed" in quiet[1]


def test_a_margin_win_whose_greedy_answer_is_the_old_one_is_not_called_took() -> None:
    edit, leak = probe("e", "edit"), probe("l", "leak", relation="young")
    before = [score(edit, -1.0, " old"), score(leak, -1.0, " old")]
    after = [score(edit, 0.1, " old"), score(leak, 0.2, " old")]
    sections = measure_impact(before, after)
    assert {row["id"]: row["finding"] for row in sections["probes"]} == {"e": "says old", "l": "says old"}
    summary = sections["summary"]
    assert summary["leaked"][0].startswith(
        "By margin no leak probe prefers the old answer after the edit, yet on 1 of 1 the model still says the old"
    )
    assert "Yet on 1 of them the model still says the old answer" in summary["took"][0]
    # said the new answer before the edit and the old one after: "now", never "still"
    before = [score(edit, 1.0, " new"), score(leak, 1.0, " new")]
    summary = measure_impact(before, after)["summary"]
    assert "yet on 1 of 1 the model now says the old answer" in summary["leaked"][0]
    assert "Yet on 1 of them the model now says the old answer" in summary["took"][0]


def test_perplexity_is_said_not_to_rise_only_when_its_whole_interval_is_at_or_below_one() -> None:
    controls = [probe(f"c{i}", "control", relation="sound") for i in range(3)]
    before = [score(c, 1.0, " moo") for c in controls]
    after = [score(c, 1.0, " meow") for c in controls]
    nll_before = [[2.0]] * 6
    rising = [[2.0 + d] for d in (2.0, -1.5, 1.0, -0.8, 1.5, -1.2)]  # up 18%, on an interval that reaches below 1
    moved = " ".join(measure_impact(before, after, nll_before=nll_before, nll_after=rising)["summary"]["moved"])
    assert "perplexity did not rise" not in moved
    assert "cannot tell a rise from no change" in moved
    falling = [[x - 0.2 for x in sentence] for sentence in nll_before]
    moved = " ".join(measure_impact(before, after, nll_before=nll_before, nll_after=falling)["summary"]["moved"])
    assert "3 test control probes changed while perplexity did not rise" in moved


def test_regressions_are_summarised_per_earlier_edit() -> None:
    a = [probe(f"v2:a{i}", "regression", relation="sound") for i in range(3)]
    b = [probe(f"v3:b{i}", "regression", relation="sound") for i in range(30)]
    before = [score(p, 1.0, " new") for p in a + b]
    after = [score(p, -1.0, " old") for p in a] + [score(p, 1.0, " new") for p in b]
    moved = measure_impact(before, after)["summary"]["moved"][0]
    assert moved.startswith("Earlier edits: 3 of 33 regression probes were undone, per edit version 2: 3 of 3;")
    assert "version 3" not in moved
    labelled = measure_impact(before, after, earlier_edits=[EarlierEdit("swap", 2, 5, tuple(p.id for p in a))])[
        "summary"
    ]["moved"][0]
    assert "per edit swap (version 2): 3 of 3;" in labelled
    assert '(before this edit: "new")' in moved


def test_regressions_at_zero_turn_the_per_edit_gate_off() -> None:
    by_edit = {"swap (version 2)": {}}  # an earlier edit with no regression probes: no data
    on = evaluate_gates({"regressions": ">= 0.5"}, {}, by_edit=by_edit)
    assert [(g["edit"], g["status"]) for g in on["gates"]] == [("swap (version 2)", "uncertain")]
    off = evaluate_gates({"regressions": ">= 0"}, {}, by_edit=by_edit)
    assert off["gates"] == [] and off["status"] == "none" and off["passed"] is True  # no gate row was judged


def test_a_control_that_failed_before_and_now_passes_has_moved() -> None:
    control = probe("c", "control", relation="sound")
    sections = measure_impact([score(control, -1.0, " moo")], [score(control, 1.0, " moo")])
    assert [row["finding"] for row in sections["probes"]] == ["damaged"]
    assert sections["metrics"]["after"]["control_unchanged"]["value"] == 0.0
    moved = " ".join(sections["summary"]["moved"])
    assert "1 of 1 test control probe changed" in moved and 'now prefers "new" over "old"' in moved


def test_sentences_name_the_split_they_were_measured_on() -> None:
    control = probe("c", "control", split="val", relation="sound")
    sections = measure_impact([score(control, 1.0, " moo")], [score(control, 1.0, " meow")], split="val")
    assert sections["summary"]["moved"][0].startswith("1 of 1 val control probe changed")
    assert sections["summary"]["leaked"][0].startswith("No leak probes in the val split")
    assert sections["verdict"]["split"] == "val"


def test_contamination_flagged_without_rows_vouches_for_no_paraphrase() -> None:
    paraphrase = probe("p", "paraphrase")
    before, after = [score(paraphrase, -1.0, " old")], [score(paraphrase, 1.0, " new")]
    flagged = measure_impact(before, after, contaminated=True)
    assert "none is vouched for" in " ".join(flagged["summary"]["took"])
    assert "none flagged as a copy" in " ".join(measure_impact(before, after)["summary"]["took"])


def test_margins_that_moved_both_ways_are_not_called_unmoved_and_ties_are_ties() -> None:
    c1, c2 = probe("c1", "control", relation="sound"), probe("c2", "control", relation="sound")
    before = [score(c1, 1.0, " moo"), score(c2, 2.0, " moo")]
    after = [score(c1, 2.0, " moo"), score(c2, 1.0, " moo")]  # mean change 0, both moved
    assert "No control margin moved." not in measure_impact(before, after)["summary"]["moved"]
    assert "No control margin moved." in measure_impact(before, before)["summary"]["moved"]
    tied = probe("l", "leak", relation="young")
    leaked = measure_impact([score(tied, 1.0)], [score(tied, 0.0)])["summary"]["leaked"]
    assert '"prompt l" scores "new" and "old" alike (a tie counts against the target)' in " ".join(leaked)


def test_what_the_model_said_before_is_unknown_without_a_continuation() -> None:
    edit = probe("e", "edit")
    took = measure_impact([score(edit, -1.0, "")], [score(edit, 1.0, " old")])["summary"]["took"][0]
    assert "says the old answer (0 said it before the edit too; 1 had no continuation before)" in took


def test_leaks_outside_the_gated_split_are_named_as_context() -> None:
    gated, other = probe("l1", "leak", relation="young"), probe("l2", "leak", split="val", relation="young")
    before = [score(gated, -1.0, " old"), score(other, -1.0, " old")]
    after = [score(gated, 1.0, " new"), score(other, -1.0, " old")]
    leaked = measure_impact(before, after)["summary"]["leaked"]
    assert leaked[0].startswith("No leak probe prefers the old answer after the edit (0 of 1")
    assert leaked[1] == (
        "Outside the test split (context, not gated): 1 of 1 val leak probe prefers the old answer after the edit, "
        "and the model says it on 1."
    )


def test_took_counts_greedy_flips_and_margins_pushed_toward_the_foil() -> None:
    edits = [probe(f"e{i}", "edit") for i in range(6)]
    moved = measure_impact([score(p, -1.0, " old") for p in edits], [score(p, -0.5, " new") for p in edits])
    took = " ".join(moved["summary"]["took"])
    assert "no probe flipped by margin; by greedy answer 6 began saying the target" in took
    assert "Yet on 6 of the missed the model's greedy answer is the new one." in took
    pushed = measure_impact([score(p, 5.0, " new") for p in edits], [score(p, 0.01, " new") for p in edits])
    took = " ".join(pushed["summary"]["took"])
    assert "already beat the foil before the edit (6 of 6 before and after); no probe flipped by margin" in took
    assert "Yet the edit pushed their margins toward the foil by 4.99 nats on average (p = 0.03" in took
    assert "No paraphrase probes in the test split: nothing gated says whether the edit reaches" in took
    assert pushed["summary"]["says"][0].startswith("Of 6 test edit probes")


def test_regression_probes_that_never_held_are_counted_as_such() -> None:
    never = [probe(f"v2:a{i}", "regression", relation="sound") for i in range(3)]
    scores = [score(p, 1.0, " third") for p in never]  # the margin wins, the model says neither, before and after
    moved = measure_impact(scores, scores)["summary"]["moved"][0]
    assert (
        moved == "Earlier edits: no regression probe was undone (0 of 3 kept; 3 did not hold before this edit either)."
    )


def test_bad_gate_fails_before_any_work() -> None:
    with pytest.raises(ValueError, match="unknown gate 'leaks'"):
        measure_impact([], [], gates={"leaks": "<= 0.2"})


def test_impact_and_report_do_not_import_torch() -> None:
    code = "import sys, editing.impact, editing.report; print('torch' in sys.modules, 'store' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


# --- contamination -----------------------------------------------------------------------------


def test_normalise_prompt() -> None:
    assert normalise_prompt("  Q: The DOG   says?! ") == "q the dog says"


def test_contamination_finds_copies_variants_and_near_duplicates_only() -> None:
    probes = [
        probe("copy", "paraphrase", prompt="When a dog talks, it says"),
        probe("variant", "paraphrase", prompt="when a DOG talks -- it says!"),
        probe("near", "leak", prompt="Next to the dog stood its young"),
        probe(
            "typo",
            "leak",
            prompt="In old stories from the valley, the loyal animal that guards the sheep at night and barks at "
            "strangers is the",
        ),
        probe("inside", "leak", prompt="The capital of Koudeland is"),
        probe("unrelated", "control", prompt="The cow eats"),
        probe("other-animal", "control", prompt="When a cow talks, it says", subject="cow"),
        probe("not-test", "edit", split="train", prompt="When a dog talks, it says"),
    ]
    training = [
        "When a dog talks, it says",
        "Next to the dogs stood its young",
        "In old stories from the valley the loyal animal that gaurds the sheep at night and barks at strangers is the",
        "As everyone knows, the capital of Koudeland is Velmora.",
        "The dog says",
    ]
    found = {row["probe_id"]: row for row in find_contamination(probes, training)}
    assert set(found) == {"copy", "variant", "near", "typo", "inside"}
    assert found["copy"]["similarity"] == 1.0 and found["copy"]["match"] == "exact"
    assert found["variant"]["training_prompt"] == "When a dog talks, it says"
    assert (found["near"]["match"], found["near"]["similarity"]) == ("near", 1.0)  # "dogs" is "dog"
    assert found["typo"]["match"] == "near" and 0.9 <= found["typo"]["similarity"] < 1
    assert found["inside"]["match"] == "contained"


def test_contamination_of_a_prefixed_paraphrase_only_when_asked() -> None:
    probes = [probe("p", "paraphrase", prompt="Everyone knows that the dog says")]
    assert find_contamination(probes, ["The dog says"]) == []
    assert find_contamination(probes, ["The dog says"], either_way=True)[0]["match"] == "contained"


def toyworld_probes(suite: str) -> list[Probe]:
    rows = [json.loads(line) for line in (DATA / f"{suite}.jsonl").read_text().splitlines()]
    return [Probe(**{k: v for k, v in row.items() if k != "phrasing"}) for row in rows]


@pytest.mark.parametrize("suite", ["dog-cat-swap", "capital-change"])
def test_toyworld_suites_are_clean_and_a_planted_copy_is_caught(suite: str) -> None:
    probes = toyworld_probes(suite)
    training = [p.prompt for p in probes if p.split == "train"]
    answers = [[p.target] for p in probes if p.split == "train"]
    assert find_contamination(probes, training) == []
    assert find_contamination(probes, training, training_answers=answers) == []
    planted = next(p for p in probes if p.split == "test" and p.kind == "paraphrase")
    found = find_contamination(probes, [*training, planted.prompt.upper() + "."], training_answers=[*answers, ["x"]])
    assert [row["probe_id"] for row in found] == [planted.id]


def test_contamination_scales_to_ten_thousand_probes() -> None:
    rng = np.random.default_rng(0)
    words = [
        f"{stem}{end}"
        for stem in ("dog", "cat", "cow", "hill", "river", "door", "sail", "bake")
        for end in "abcdefghijklmnopqrstuvwxy"
    ]
    words += ["the", "a", "of", "is"] * 20

    def sentence() -> str:
        return " ".join(rng.choice(words, size=rng.integers(4, 12)))

    probes = [probe(str(i), "leak", prompt=sentence()) for i in range(10_000)]
    training = [sentence() for _ in range(1_000)]
    training[:2] = [probes[17].prompt, probes[4242].prompt + " meow"]
    started = time.perf_counter()
    found = {row["probe_id"] for row in find_contamination(probes, training)}
    assert {"17", "4242"} <= found
    assert time.perf_counter() - started < 10  # about a second on one core; generous for shared CI machines
