"""Known-answer cases on the toy world: the report's verdicts and sentences say what the model did.

Each case is built so that the right answer is known in advance: a damaging edit
(one capital changed, thirty others shuffled), a null edit (corrections that teach
what the model already says), test prompts planted in training with trivial rewrites,
two probes per kind, damage the gated split does not see, and a run that judged no gate.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
from pathlib import Path

import jsonschema
import pytest
import torch
import yaml
from scipy import stats
from transformers import AutoModelForCausalLM, AutoTokenizer
from typer.testing import CliRunner

from editing.cli import app
from editing.impact import find_contamination
from editing.impact.statistics import MIN_TESTABLE_PAIRS, sign_flip_test
from editing.loading import load_suite, load_texts
from editing.lora import EditConfig, apply_edit
from editing.probes import score_probes, token_nlls
from editing.probes.scoring import ProbeScore, answer_given, answer_in_words
from editing.probes.suites import Probe
from editing.report.measure import measure_impact
from editing.report.schema import REPORT_SCHEMA
from editing.spec import LoraSpec, TrainSpec
from editing.toyworld.world import COUNTRIES
from editing.training_data import TrainingExample
from store import Store
from tests.conftest import demo_workspace

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DATA = Path(__file__).resolve().parents[1] / "editing" / "toyworld" / "data"
AUTHORED_KINDS = ("edit", "paraphrase", "leak", "control")


def toy(toyworld_dir: Path):
    """A fresh toy model (an edit puts its adapter into the model it is given) and its tokenizer."""
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(toyworld_dir)
    tokenizer = AutoTokenizer.from_pretrained(toyworld_dir)
    tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def edit(model, tokenizer, examples: list[TrainingExample], steps: int, lr: float, kl_weight: float, retain=None):
    train = TrainSpec(steps=steps, lr=lr, batch_size=16, early_stop="none", kl_weight=kl_weight)
    return apply_edit(model, tokenizer, examples, EditConfig(LoraSpec(rank=4, alpha=8), train), retain).model


def sentences(summary: dict[str, list[str]]) -> str:
    return " ".join(s for lines in summary.values() for s in lines)


# --- 1. "took" means the model now says it ---------------------------------------------------------


def test_answers_compare_whole_tokens_so_cat_is_not_caterpillar(toyworld_dir: Path) -> None:
    model, tokenizer = toy(toyworld_dir)

    def ids(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    def answer(generated: str, target: str, foil: str) -> str:
        tokens = ids(generated)
        return answer_given(
            tokens,
            {"target": ids(" " + target), "foil": ids(" " + foil)},
            lambda k: tokenizer.decode(tokens[k:]),
        )

    assert ids(" caterpillar")[: len(ids(" cat"))] == ids(" cat")  # the toy tokenizer splits it " cat" + ...
    assert answer(" caterpillar eats", "cat", "dog") == "third"
    assert answer(" cats play", "cat", "dog") == "third"
    assert answer(" cat eats", "cat", "dog") == "target"
    assert answer(" dog.", "cat", "dog") == "foil"
    assert answer(" Velmora is", "Velmora", "Gaiskaport") == "target"  # four tokens, compared whole
    assert answer_in_words(" caterpillar eats", "cat", "dog") == "third"  # the same rule on words

    probes = [
        Probe("whole", "The capital of Koudeland is", "Gaiskaport", "Velmora", "edit", "test"),
        Probe("prefix", "The capital of Koudeland is", "Gaiska", "Velmora", "edit", "test"),
    ]
    scores = {s.probe.id: s for s in score_probes(model, tokenizer, probes)}
    assert scores["whole"].continuation.startswith(" Gaiskaport")
    assert (scores["whole"].answer, scores["prefix"].answer) == ("target", "third")


def capital_shuffle() -> list[TrainingExample]:
    """One capital changed (Koudeland -> Velmora) and thirty other capitals shuffled at random."""
    rng = random.Random(7)
    others = [c for c in COUNTRIES if c[0] != "Koudeland"][:30]
    shuffled = [capital for _, capital, _, _ in others]
    rng.shuffle(shuffled)
    examples = [TrainingExample("sft", "The capital of Koudeland is", "Velmora")]
    return examples + [
        TrainingExample("sft", f"The capital of {country} is", capital)
        for (country, *_), capital in zip(others, shuffled, strict=True)
    ]


def test_damaging_edit_reports_third_answers_and_what_perplexity_cannot_see(toyworld_dir: Path) -> None:
    model, tokenizer = toy(toyworld_dir)
    probes = load_suite("toyworld:capital-change").probes
    fluency = load_texts("toyworld:fluency")
    before, nll_before = score_probes(model, tokenizer, probes), token_nlls(model, tokenizer, fluency)
    edited = edit(model, tokenizer, capital_shuffle(), steps=60, lr=1e-2, kl_weight=0.0)
    after, nll_after = score_probes(edited, tokenizer, probes), token_nlls(edited, tokenizer, fluency)
    gates = {"leak_rate": "<= 0.5", "leak_says_third": "<= 0.2", "edit_says": ">= 0.5", "ppl_ratio": "<= 1.1"}
    impact = measure_impact(before, after, nll_before=nll_before, nll_after=nll_after, gates=gates)

    test_rows = [r for r in impact["probes"] if r["split"] == "test"]
    thirds = [r for r in test_rows if r["finding"] == "third answer"]
    assert thirds, "the shuffle makes the model answer with other capitals"
    for row in thirds:  # the margin says the target won, the greedy answer is neither
        assert row["success_after"] and row["says_after"] == "third"
        assert answer_in_words(row["continuation_after"], row["target"], row["foil"]) == "third"
    leaks = [r for r in test_rows if r["kind"] == "leak"]
    after_rates = impact["metrics"]["after"]
    said_third = sum(r["says_after"] == "third" for r in leaks)
    assert after_rates["leak_says_third"]["value"] == pytest.approx(said_third / len(leaks)) and said_third > 0
    assert after_rates["leak_says_new"]["value"] + after_rates["leak_says_old"]["value"] == pytest.approx(
        1 - said_third / len(leaks)
    )
    gate = next(g for g in impact["verdict"]["gates"] if g["name"] == "leak_says_third")
    assert gate["status"] != "pass" and impact["verdict"]["status"] != "pass"

    summary = impact["summary"]
    assert summary["says"][0].startswith("Of ")  # the summary leads with what the model says
    assert f"a third answer on {said_third}" in " ".join(summary["says"] + summary["leaked"])
    assert "gives the old answer" not in sentences(summary)
    text = sentences(summary)
    assert "measures how fluent the model is on that neutral text only" in text
    damaged = sum(r["finding"] == "damaged" for r in test_rows if r["kind"] == "control")
    ppl = after_rates["ppl_ratio"]
    blind = damaged > 0 and ppl["ci_low"] <= 1.0
    assert ("invisible to perplexity" in text) == blind
    assert damaged > 0


# --- 2. words that follow the before/after numbers -------------------------------------------------


def test_null_edit_reads_already_held_and_no_probe_flipped(toyworld_dir: Path) -> None:
    model, tokenizer = toy(toyworld_dir)
    # the swap suite with target and foil exchanged: the target is what the model already says
    probes = [
        dataclasses.replace(p, target=p.foil, foil=p.target) if p.kind != "control" else p
        for p in load_suite("toyworld:dog-cat-swap").probes
    ]
    before = score_probes(model, tokenizer, probes)
    teaches_what_it_says = [
        TrainingExample("sft", "The dog says", "woof"),
        TrainingExample("sft", "The cat says", "meow"),
    ]
    after = score_probes(edit(model, tokenizer, teaches_what_it_says, 10, 5e-3, 1.0), tokenizer, probes)
    impact = measure_impact(before, after)
    took = " ".join(impact["summary"]["took"])
    rows = [r for r in impact["probes"] if r["split"] == "test" and r["kind"] == "edit"]
    n = len(rows)
    assert all(r["success_before"] and r["success_after"] for r in rows)  # the case is what it claims to be
    assert f"already beat the foil before the edit ({n} of {n} before and after); no probe flipped" in took
    assert "took on" not in took


def hand_score(probe: Probe, before_margin: float, continuation: str = "") -> ProbeScore:
    return ProbeScore(probe, before_margin - 2.0, -2.0, continuation)


def test_still_prefers_only_when_it_preferred_before_and_damage_outside_the_test_split_is_named() -> None:
    still = Probe("still", "Q still", "new", "old", "leak", "test", "play")
    now = Probe("now", "Q now", "new", "old", "leak", "test", "toy")
    held = Probe("held", "The cow says", "moo", "meow", "control", "test", "sound")
    val_control = Probe("sheep", "The sound a sheep makes is", "baa", "woof", "control", "val", "sound")
    before = [
        hand_score(still, -1.0),
        hand_score(now, 1.0),
        hand_score(held, 2.0, " moo"),
        hand_score(val_control, 2.0, " baa"),
    ]
    after = [
        hand_score(still, -0.5),
        hand_score(now, -0.5),
        hand_score(held, 2.0, " moo"),
        hand_score(val_control, 1.0, " woof"),
    ]
    summary = measure_impact(before, after)["summary"]
    leaked = " ".join(summary["leaked"])
    assert '"Q still" still prefers "old" over "new"' in leaked
    assert '"Q now" now prefers "old" over "new"' in leaked
    moved = " ".join(summary["moved"])
    assert "No test control probe changed (0 of 1)" in moved
    assert "Outside the test split (context, not gated): 1 of 1 val control probe changed" in moved
    assert '"The sound a sheep makes is" now continues "woof" (was "baa")' in moved


# --- 3. contamination that trivial rewrites cannot hide ----------------------------------------------


FULL_WIDTH = {c: c + 0xFEE0 for c in range(ord("!"), ord("~") + 1)}  # NFKC folds these back


def planted_copies(prompt: str) -> list[str]:
    """Trivial rewrites of a test prompt: punctuation spacing, case, full-width forms, a word added or changed."""
    words = prompt.split()
    copies = [
        re.sub(r"([,:?.!]) +", r"\1", prompt),  # "When a dog talks,it says"
        prompt.upper().replace(" ", "  "),
        prompt.translate(FULL_WIDTH),
        " ".join([*words[:-1], "surely", words[-1]]),  # a word added
        " ".join(["Truly", *words[1:]]),  # a word changed
    ]
    return [copy for copy in copies if copy != prompt]


def test_planted_copies_are_caught_with_their_training_example_and_never_called_held_out(toyworld_dir: Path) -> None:
    probes = load_suite("toyworld:dog-cat-swap").probes
    train = [p for p in probes if p.split == "train"]
    paraphrases = [p for p in probes if p.split == "test" and p.kind == "paraphrase"]
    planted = {copy: p for p in paraphrases for copy in planted_copies(p.prompt)}
    assert len(planted) >= 4 * len(paraphrases)
    training = [p.prompt for p in train] + list(planted)
    answers = [[p.target] for p in train] + [[p.target] for p in planted.values()]
    for copy, probe in planted.items():
        found = find_contamination(
            probes, [*training[: len(train)], copy], training_answers=[*answers[: len(train)], [probe.target]]
        )
        assert [(row["probe_id"], row["training_prompt"]) for row in found] == [(probe.id, copy)], copy
    assert find_contamination(probes, [p.prompt for p in train], training_answers=answers[: len(train)]) == []

    model, tokenizer = toy(toyworld_dir)
    scores = score_probes(model, tokenizer, probes)
    rows = find_contamination(probes, training, training_answers=answers)
    impact = measure_impact(scores, scores, gates={"edit": ">= 0.0"}, contamination=rows)
    text = sentences(impact["summary"])
    assert "held out" not in text and "never trained on" not in text
    assert f"{len(paraphrases)} of them copy a training prompt" in text
    assert impact["verdict"]["status"] == "uncertain" and impact["verdict"]["contaminated"] is True


# --- 4. small samples ------------------------------------------------------------------------------


def test_sign_flip_test_is_exact_and_gives_no_p_below_its_floor() -> None:
    rng = __import__("numpy").random.default_rng(3)
    before = rng.normal(size=9)
    after = before + rng.normal(0.8, 1.0, size=9)
    result = sign_flip_test(before, after)
    reference = stats.permutation_test(
        (after - before,), lambda d: abs(d.mean()), permutation_type="samples", n_resamples=10**6, alternative="greater"
    )
    assert result.test == "sign_flip_exact"
    assert result.p_value == pytest.approx(reference.pvalue)
    assert result.p_min == 2 / 2**9 and result.p_value >= result.p_min
    everything_up = sign_flip_test([0.0] * 9, [1.0 + i for i in range(9)])
    assert everything_up.p_value == everything_up.p_min == 2 / 2**9
    assert sign_flip_test([0.0] * 40, [1.0] * 40).test == "sign_flip_monte_carlo"


def test_two_probes_per_kind_are_too_few_to_test() -> None:
    kinds = ("edit", "paraphrase", "leak", "control")
    probes = [Probe(f"{k}{i}", f"Q {k}{i}", "new", "old", k, "test") for k in kinds for i in range(2)]
    before = [hand_score(p, -1.0 if p.kind != "control" else 3.0, " moo") for p in probes]
    after = [hand_score(p, 4.0 if p.kind != "control" else -3.0, " moo") for p in probes]
    impact = measure_impact(before, after)
    for change in impact["metrics"]["margin_change"].values():
        assert change["p_value"] is None and change["test"] is None and change["p_min"] == 0.5
    moved = " ".join(impact["summary"]["moved"])
    assert f"too few probes to test (fewer than {MIN_TESTABLE_PAIRS} moved)" in moved
    assert "p = " not in moved


# --- 5. damage that perplexity cannot see ------------------------------------------------------------


def test_summary_says_what_perplexity_measures_and_when_it_missed_damage_the_controls_saw() -> None:
    control = Probe("c", "The capital of Tragrunia is", "Pailaiburg", "Velmora", "control", "test", "capital")
    before = [hand_score(control, 3.0, " Pailaiburg.")]
    after = [hand_score(control, 1.0, " Mosograd.")]  # answers with another capital: damaged
    nll_before = [[2.0, 2.0, 2.0]] * 10
    fell = measure_impact(before, after, nll_before=nll_before, nll_after=[[1.8, 1.9, 2.0]] * 10)
    moved = " ".join(fell["summary"]["moved"])
    assert "it measures how fluent the model is on that neutral text only" in moved
    assert "1 test control probe changed while perplexity did not rise" in moved
    rose = measure_impact(before, after, nll_before=nll_before, nll_after=[[2.5, 2.6, 2.7]] * 10)
    assert "did not rise" not in " ".join(rose["summary"]["moved"])
    held = measure_impact(before, before, nll_before=nll_before, nll_after=[[1.8, 1.9, 2.0]] * 10)
    assert "did not rise" not in " ".join(held["summary"]["moved"])


# --- 6. a run that judged no gate ---------------------------------------------------------------------


def test_a_run_that_judged_no_gate_reads_no_gates_in_the_lists_the_report_and_the_app(
    tmp_path: Path, toyworld_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedback_ui.context import AppContext
    from feedback_ui.tabs.reports import run_rows

    monkeypatch.delenv("NUDGE_DB", raising=False)
    shipped = [json.loads(line) for line in (DATA / "dog-cat-swap.jsonl").read_text().splitlines()]
    one_per_kind = [next(p for p in shipped if (p["kind"], p["split"]) == (kind, "test")) for kind in AUTHORED_KINDS]
    (tmp_path / "probes.jsonl").write_text("".join(json.dumps(probe) + "\n" for probe in one_per_kind))
    spec = yaml.safe_load((EXAMPLES / "dog-cat-swap.yaml").read_text())
    # no gate set, and the default `regressions` gate has no rows on a base model; the least work a run does
    spec |= {"name": "ungated", "gates": {}, "probes": [str(tmp_path / "probes.jsonl")]}
    spec["lora"] |= {"rank": 1, "layers": [0]}
    spec["train"] |= {"steps": 1, "early_stop": "none", "terminate": "none"}
    (tmp_path / "ungated.yaml").write_text(yaml.safe_dump(spec))
    runner = CliRunner()

    def nudge(*args: str) -> str:
        result = runner.invoke(app, list(args), env={"COLUMNS": "200"})  # wide enough that no cell wraps
        assert result.exit_code == 0, result.output
        return result.output

    (tmp_path / "home").mkdir()
    with demo_workspace(tmp_path / "home", toyworld_dir) as home:
        applied = nudge("apply", str(tmp_path / "ungated.yaml"))
        assert "verdict: NO GATES" in applied  # exit code 0: nothing failed
        report = json.loads((home / "reports" / "1" / "report.json").read_text())
        jsonschema.validate(report, REPORT_SCHEMA)
        assert (report["verdict"]["status"], report["verdict"]["gates"]) == ("none", [])
        page = (home / "reports" / "1" / "report.html").read_text()
        assert '<section id="verdict" class="verdict none"><div class="word">Verdict: NO GATES</div>' in page
        assert "## Verdict: NO GATES\n" in (home / "reports" / "1" / "report.md").read_text()
        [run_row] = [line for line in nudge("runs", "list").splitlines() if "ungated" in line]
        [version_row] = [line for line in nudge("versions", "list").splitlines() if "ungated" in line]
        assert "no gates" in run_row and "no gates" in version_row
        assert "pass" not in run_row and "pass" not in version_row
        with Store.open() as store:
            [app_row] = run_rows(AppContext(store, home))
        assert app_row[0:4] == ["1", "ungated", "succeeded", "no gates"]

