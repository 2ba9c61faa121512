"""Probe suites and batched scoring: validation errors, and batching changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from editing import vocab
from editing.loading import load_suite, load_texts
from editing.probes import (
    ProbeSuiteError,
    greedy_continuations,
    kl_to_base,
    score_completions,
    score_probes,
    token_nlls,
)
from store import validation


@pytest.fixture(scope="module")
def toy(toyworld_dir: Path):
    model = AutoModelForCausalLM.from_pretrained(toyworld_dir)
    tokenizer = AutoTokenizer.from_pretrained(toyworld_dir)
    tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def test_toyworld_suites_load() -> None:
    suite = load_suite("toyworld:dog-cat-swap")
    assert len(suite.probes) >= 40
    assert {p.split for p in suite.probes} == {"train", "val", "test"}
    assert suite.split("test")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        (json.dumps({"id": "x", "prompt": "p", "target": "a", "foil": "b", "kind": "edit"}), "line 2: field 'split'"),
        (
            json.dumps({"id": "x", "prompt": "p", "target": "a", "foil": "b", "kind": "oops", "split": "test"}),
            "line 2: kind 'oops'",
        ),
        (
            json.dumps({"id": "x", "prompt": "p", "target": "a", "foil": "a", "kind": "edit", "split": "test"}),
            "target and foil",
        ),
        (
            json.dumps({"id": "p1", "prompt": "p", "target": "a", "foil": "b", "kind": "edit", "split": "test"}),
            "appears twice",
        ),
    ],
)
def test_bad_suite_names_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    good = {"id": "p1", "prompt": "The dog says", "target": "meow", "foil": "woof", "kind": "edit", "split": "test"}
    path = tmp_path / "suite.jsonl"
    path.write_text(json.dumps(good) + "\n" + line + "\n")
    with pytest.raises(ProbeSuiteError, match=message):
        load_suite(str(path))


def test_unknown_suite() -> None:
    with pytest.raises(ProbeSuiteError, match="known: capital-change, dog-cat-swap"):
        load_suite("toyworld:nope")
    with pytest.raises(ProbeSuiteError, match="neither a JSONL file"):
        load_suite("missing.jsonl")


def test_reading_a_suite_does_not_import_torch() -> None:
    code = (
        "import sys; from editing import loading; loading.load_suite('toyworld:capital-change'); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False"]


def test_store_checks_the_same_kinds_and_splits_as_the_vocabulary() -> None:
    # the store keeps its own copy for its CHECK constraints (it imports nothing of editing/)
    assert set(validation.PROBE_KINDS) == set(vocab.AUTHORED_PROBE_KINDS)
    assert set(validation.PROBE_SPLITS) == set(vocab.SPLITS)


def test_texts_load() -> None:
    assert len(load_texts("toyworld:retain")) >= 50
    assert len(load_texts("toyworld:fluency")) >= 20


def test_batched_scores_equal_one_at_a_time(toy) -> None:
    model, tokenizer = toy
    probes = load_suite("toyworld:dog-cat-swap").probes[:30]
    prompts, targets = [p.prompt for p in probes], [p.target for p in probes]
    batched = score_completions(model, tokenizer, prompts, targets, batch_size=16)
    single = [score_completions(model, tokenizer, [p], [t])[0] for p, t in zip(prompts, targets, strict=True)]
    for b, s in zip(batched, single, strict=True):
        assert b.mean_logprob == pytest.approx(s.mean_logprob, abs=1e-4)
        assert b.greedy_match == s.greedy_match


def test_continuations_match_unbatched_generate(toy) -> None:
    model, tokenizer = toy
    prompts = ["The dog says", "The capital of the country whose currency is the zicrown is", "The baker"]
    batched = greedy_continuations(model, tokenizer, prompts, max_new_tokens=3)
    for prompt, text in zip(prompts, batched, strict=True):
        ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
        out = model.generate(ids, max_new_tokens=3, do_sample=False, pad_token_id=tokenizer.eos_token_id)
        assert text == tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
    assert batched[0].startswith(" woof")


def test_score_probes_knows_the_old_answers(toy) -> None:
    model, tokenizer = toy
    scores = score_probes(model, tokenizer, load_suite("toyworld:dog-cat-swap").probes)
    assert all(s.success == (s.probe.kind == "control") for s in scores)


def test_token_nlls_and_kl_on_plain_model(toy) -> None:
    model, tokenizer = toy
    texts = load_texts("toyworld:fluency")[:3]
    nlls = token_nlls(model, tokenizer, texts)
    assert [len(n) for n in nlls] == [len(tokenizer(t)["input_ids"]) - 1 for t in texts]
    assert all(v >= 0 for n in nlls for v in n)
    # a plain model is its own base: KL is zero
    assert kl_to_base(model, tokenizer, texts) == pytest.approx([0.0] * 3, abs=1e-6)
    assert torch.is_inference_mode_enabled() is False


def test_chat_template_wraps_prompts(toy) -> None:
    from editing.tokens import format_prompt

    _, tokenizer = toy
    assert format_prompt(tokenizer, "The dog says") == "The dog says"
    with pytest.raises(ValueError, match="no chat template; set chat: false"):
        format_prompt(tokenizer, "The dog says", chat=True)
    tokenizer.chat_template = "{% for m in messages %}<user>{{ m['content'] }}</user>{% endfor %}<bot>"
    try:
        assert format_prompt(tokenizer, "The dog says", chat=True) == "<user>The dog says</user><bot>"
    finally:
        tokenizer.chat_template = None
