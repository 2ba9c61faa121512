"""Scoring that shares work gives the same numbers as scoring every pair alone, and shares it.

The reference below is the plainest teacher-forced scorer there is: one unpadded
forward pass over prompt + completion per pair. The shared scorer (repeats merged,
one pass per distinct prompt, longer completions from the prompt's KV cache) must
agree with it to 1e-5 on the toy model, on a random-weight GPT-2 and under a LoRA adapter.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel

from editing.loading import load_suite
from editing.probes import CompletionScore, score_completions
from editing.tokens import encode_pair, group_by_prompt


@pytest.fixture(scope="module")
def tokenizer(toyworld_dir: Path):
    tokenizer = AutoTokenizer.from_pretrained(toyworld_dir)
    tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


@pytest.fixture(scope="module")
def toy_model(toyworld_dir: Path):
    return AutoModelForCausalLM.from_pretrained(toyworld_dir).eval()


def random_gpt2() -> GPT2LMHeadModel:
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=1024, n_positions=64, n_embd=64, n_layer=2, n_head=4)).eval()


@torch.inference_mode()
def scored_alone(model, tokenizer, prompt: str, completion: str) -> CompletionScore:
    prompt_ids, completion_ids = encode_pair(tokenizer, prompt, completion)
    logits = model(input_ids=torch.tensor([prompt_ids + completion_ids])).logits[0]  # (T, V)
    predicting = logits[len(prompt_ids) - 1 : -1].float()  # the positions that predict the completion
    target = torch.tensor(completion_ids)
    total = torch.log_softmax(predicting, dim=-1).gather(-1, target[:, None]).sum().item()
    return CompletionScore(
        mean_logprob=total / len(completion_ids),
        sum_logprob=total,
        n_tokens=len(completion_ids),
        greedy_match=bool((predicting.argmax(-1) == target).all()),
    )


def mixed_requests() -> tuple[list[str], list[str]]:
    """Every shape the sharing handles: one-token and multi-token targets and foils on one
    prompt, a completion that begins another, and the same pair asked several times."""
    probes = load_suite("toyworld:dog-cat-swap").probes[:40] + load_suite("toyworld:capital-change").probes[:20]
    prompts = [p.prompt for p in probes] * 2
    completions = [p.target for p in probes] + [p.foil for p in probes]
    prompts += ["The capital of Koudeland is"] * 4 + ["The dog says"] * 3
    completions += ["Gaiskaport", "Gaiskaport is", "Velmora", "Gaiskaport", "woof", "woof woof", "woof"]
    return prompts, completions


def assert_same_scores(shared: list[CompletionScore], alone: list[CompletionScore]) -> None:
    for got, want in zip(shared, alone, strict=True):
        assert got.mean_logprob == pytest.approx(want.mean_logprob, abs=1e-5)
        assert got.sum_logprob == pytest.approx(want.sum_logprob, abs=1e-5 * want.n_tokens)
        assert (got.n_tokens, got.greedy_match) == (want.n_tokens, want.greedy_match)


@pytest.mark.parametrize("batch_size", [128, 5])
def test_shared_scores_equal_scoring_each_pair_alone_on_the_toy_model(toy_model, tokenizer, batch_size) -> None:
    prompts, completions = mixed_requests()
    shared = score_completions(toy_model, tokenizer, prompts, completions, batch_size=batch_size)
    alone = [scored_alone(toy_model, tokenizer, p, c) for p, c in zip(prompts, completions, strict=True)]
    assert_same_scores(shared, alone)
    # the toy model knows its world: some completions are its greedy answer, the swapped ones are not
    assert {s.greedy_match for s in alone} == {True, False}
    assert {s.n_tokens for s in alone} >= {1, 2, 4}


def test_shared_scores_equal_scoring_each_pair_alone_on_a_random_gpt2(tokenizer) -> None:
    model = random_gpt2()
    prompts, completions = mixed_requests()
    shared = score_completions(model, tokenizer, prompts, completions, batch_size=16)
    assert_same_scores(
        shared, [scored_alone(model, tokenizer, p, c) for p, c in zip(prompts, completions, strict=True)]
    )


def test_shared_scores_follow_a_lora_adapter(tokenizer) -> None:
    base = random_gpt2()
    config = LoraConfig(r=4, target_modules=["c_attn"], init_lora_weights=False, fan_in_fan_out=True)
    edited = get_peft_model(base, config).eval()
    prompts, completions = mixed_requests()
    shared = score_completions(edited, tokenizer, prompts, completions)
    alone = [scored_alone(edited, tokenizer, p, c) for p, c in zip(prompts, completions, strict=True)]
    assert_same_scores(shared, alone)
    with edited.disable_adapter():
        base_scores = score_completions(edited, tokenizer, prompts, completions)
    assert max(abs(a.mean_logprob - b.mean_logprob) for a, b in zip(shared, base_scores, strict=True)) > 1e-3


def test_each_distinct_prompt_runs_once(toy_model, tokenizer) -> None:
    probes = load_suite("toyworld:dog-cat-swap").probes
    prompts = [p.prompt for p in probes] * 2
    completions = [p.target for p in probes] + [p.foil for p in probes]
    fed: list[int] = []
    hook = toy_model.get_input_embeddings().register_forward_hook(lambda _m, args, _o: fed.append(args[0].numel()))
    try:
        score_completions(toy_model, tokenizer, prompts * 3, completions * 3)  # each probe asked three times
    finally:
        hook.remove()
    pairs = {tuple(map(tuple, encode_pair(tokenizer, p, c))) for p, c in zip(prompts, completions, strict=True)}
    distinct_prompts = {p for p, _ in pairs}
    longer = [c for _, c in pairs if len(c) > 1]
    # one pass over every distinct prompt once, padded to the longest; one pass that feeds only
    # the longer completions' own tokens (all but their last), after their prompt's cached keys
    assert len(fed) == 2
    assert fed[0] == len(distinct_prompts) * max(len(p) for p in distinct_prompts)
    assert fed[1] <= len(longer) * (max(len(c) for c in longer) - 1)


def test_one_token_answers_need_the_prompt_alone() -> None:
    meow, woof, velmora = (784,), (812,), (775, 77, 79, 283)
    groups = group_by_prompt([((1, 2), meow), ((1, 2), woof), ((1, 2), meow), ((5,), velmora), ((5,), velmora[:2])])
    assert [g.prompt for g in groups] == [(5,), (1, 2)]  # shortest first
    short, cats = groups
    assert cats.completions == (meow, woof) and cats.extensions == ()
    # " Velm" is read off the positions of " Velmora": one extension serves both
    assert short.extensions == (velmora[:-1],)
    assert short.extension_of == (0, 0)


def test_a_prompt_of_no_tokens_is_refused(toy_model, tokenizer) -> None:
    with pytest.raises(ValueError, match="prompt encodes to no tokens"):
        score_completions(toy_model, tokenizer, [""], ["woof"])
