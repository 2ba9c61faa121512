"""The edit loop: objectives move what they should, adapters reload and reproduce, many architectures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

import editing.lora
from editing.lora import (
    EditConfig,
    EditError,
    adapter_sha256,
    apply_edit,
    resolve_target_modules,
    save_adapter,
)
from editing.prefixes import behind_prefixes, resolve_prefixes
from editing.probes import kl_to_base, score_completions
from editing.spec import LoraSpec, SpecError, TrainSpec
from editing.training_data import TrainingExample


def toy(toyworld_dir: Path):
    model = AutoModelForCausalLM.from_pretrained(toyworld_dir)
    tokenizer = AutoTokenizer.from_pretrained(toyworld_dir)
    tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def config(steps: int = 20, lr: float = 1e-2, **train) -> EditConfig:
    return EditConfig(lora=LoraSpec(rank=4, alpha=8), train=TrainSpec(steps=steps, lr=lr, early_stop="none", **train))


def logprob(model, tokenizer, prompt: str, completion: str) -> float:
    return score_completions(model, tokenizer, [prompt], [completion])[0].mean_logprob


@pytest.mark.parametrize(
    ("example", "direction"),
    [
        (TrainingExample("sft", "The dog says", "meow"), ("meow", +1)),
        (TrainingExample("unlikelihood", "The dog says", "woof"), ("woof", -1)),
        (TrainingExample("dpo", "The dog says", "meow", rejected="woof"), None),
    ],
)
def test_each_objective_moves_what_it_should(toyworld_dir: Path, example: TrainingExample, direction) -> None:
    model, tokenizer = toy(toyworld_dir)
    before = {c: logprob(model, tokenizer, "The dog says", c) for c in ("meow", "woof")}
    edited = apply_edit(model, tokenizer, [example], config(steps=15)).model
    after = {c: logprob(edited, tokenizer, "The dog says", c) for c in ("meow", "woof")}
    if direction is None:  # DPO: the chosen-over-rejected margin widens
        assert after["meow"] - after["woof"] > before["meow"] - before["woof"] + 1.0
    else:
        completion, sign = direction
        assert sign * (after[completion] - before[completion]) > 1.0


def test_kl_term_holds_the_retain_text(toyworld_dir: Path) -> None:
    retain = ["The cow says moo.", "The capital of Linoria is Dripuburg.", "The baker cleaned the stone wall."]
    spill = {}
    for kl_weight in (0.0, 5.0):
        model, tokenizer = toy(toyworld_dir)
        config_ = config(steps=25, lr=3e-2, kl_weight=kl_weight)
        edited = apply_edit(model, tokenizer, [TrainingExample("sft", "The dog says", "moo")], config_, retain).model
        assert logprob(edited, tokenizer, "The dog says", "moo") > -1.0  # the edit took either way
        spill[kl_weight] = sum(kl_to_base(edited, tokenizer, retain))
    assert spill[5.0] < 0.5 * spill[0.0]


def test_adapter_reloads_with_plain_peft_and_gives_same_logits(toyworld_dir: Path, tmp_path: Path) -> None:
    model, tokenizer = toy(toyworld_dir)
    result = apply_edit(model, tokenizer, [TrainingExample("sft", "The dog says", "meow")], config(steps=5))
    sha = save_adapter(result.model, tmp_path / "adapter")
    assert sha == adapter_sha256(tmp_path / "adapter")
    assert json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())["r"] == 4
    ids = tokenizer("The dog says", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        expected = result.model(input_ids=ids).logits
        reloaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(toyworld_dir), tmp_path / "adapter")
        assert torch.allclose(reloaded(input_ids=ids).logits, expected, atol=1e-5)
    with pytest.raises(FileExistsError):
        save_adapter(result.model, tmp_path / "adapter")


def test_same_seed_same_adapter_hash(toyworld_dir: Path, tmp_path: Path) -> None:
    hashes = []
    for i in range(2):
        model, tokenizer = toy(toyworld_dir)
        examples = [
            TrainingExample("sft", "The dog says", "meow"),
            TrainingExample("dpo", "The cat says", "woof", "meow"),
        ]
        result = apply_edit(
            model, tokenizer, examples, config(steps=6, kl_weight=1.0), retain_texts=["The cow says moo."]
        )
        hashes.append(save_adapter(result.model, tmp_path / f"a{i}"))
    assert hashes[0] == hashes[1]


def test_diverging_loss_is_caught(toyworld_dir: Path) -> None:
    model, tokenizer = toy(toyworld_dir)
    with pytest.raises(EditError, match="Lower train.lr"):
        apply_edit(model, tokenizer, [TrainingExample("sft", "The dog says", "meow")], config(steps=30, lr=1e6))


def test_target_modules_resolve_and_bad_names_explain(toyworld_dir: Path) -> None:
    model, _ = toy(toyworld_dir)
    mlp = resolve_target_modules(model, "mlp", "all")
    assert mlp == [f"transformer.h.{i}.mlp.{m}" for i in range(4) for m in ("c_fc", "c_proj")]
    assert resolve_target_modules(model, "attention", [0]) == [
        "transformer.h.0.attn.c_attn",
        "transformer.h.0.attn.c_proj",
    ]
    with pytest.raises(EditError, match="no linear module named 'q_proj'"):
        resolve_target_modules(model, ["q_proj"], "all")
    with pytest.raises(EditError, match="has no layer 9"):
        resolve_target_modules(model, "mlp", [9])


def test_rank_below_one_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="lora.rank must be an integer >= 1, got 0"):
        LoraSpec(rank=0)


def _tiny(model_type: str):
    from transformers import AutoConfig

    common = {
        "vocab_size": 128,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "max_position_embeddings": 64,
    }
    if model_type == "gpt_neox":
        common |= {"rotary_pct": 0.5}
    else:
        common |= {"num_key_value_heads": 4}
    cfg = AutoConfig.for_model(model_type, **common)
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(cfg)


@pytest.mark.parametrize(
    ("model_type", "first_mlp"),
    [
        ("llama", "model.layers.0.mlp.gate_proj"),
        ("qwen2", "model.layers.0.mlp.gate_proj"),
        ("gpt_neox", "gpt_neox.layers.0.mlp.dense_h_to_4h"),
    ],
)
def test_architectures(toyworld_dir: Path, model_type: str, first_mlp: str) -> None:
    model = _tiny(model_type)
    _, tokenizer = toy(toyworld_dir)  # any tokenizer whose ids fit: the toy one, ids taken mod 128
    assert resolve_target_modules(model, "mlp", "all")[0] == first_mlp
    assert resolve_target_modules(model, "attention", "all")

    class SmallVocab:  # maps the toy tokenizer's ids into the tiny model's vocabulary
        def __init__(self, inner):
            self.inner, self.pad_token_id, self.eos_token_id, self.chat_template = inner, 0, 0, None

        def __call__(self, text, add_special_tokens=True):
            ids = self.inner(text, add_special_tokens=add_special_tokens)["input_ids"]
            if isinstance(text, list):
                return {"input_ids": [[i % 128 for i in row] for row in ids]}
            return {"input_ids": [i % 128 for i in ids]}

    small = SmallVocab(tokenizer)
    before = score_completions(model, small, ["The dog says"], ["meow"])[0].mean_logprob
    result = apply_edit(model, small, [TrainingExample("sft", "The dog says", "meow")], config(steps=8, lr=3e-2))
    after = score_completions(result.model, small, ["The dog says"], ["meow"])[0].mean_logprob
    assert after > before


def test_the_base_models_reference_is_computed_once_per_sequence(
    toyworld_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cached reference outputs give the same losses as a fresh base pass, and spare the pass next time."""
    from contextlib import contextmanager

    import editing.objectives as objectives
    from editing.lora import attach_lora

    model, tokenizer = toy(toyworld_dir)
    peft_model, _ = attach_lora(model, LoraSpec(rank=4, alpha=8), seed=0)
    with torch.no_grad():  # a non-zero adapter, so the edited and base outputs differ
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.05)
    peft_model.eval()
    base_passes = []
    real_disabled = objectives.adapter_disabled

    @contextmanager
    def counted(m):
        base_passes.append(1)
        with real_disabled(m):
            yield

    monkeypatch.setattr(objectives, "adapter_disabled", counted)
    examples = [TrainingExample("sft", "The dog says", "moo"), TrainingExample("dpo", "The cat says", "woof", "meow")]
    retain = ["The cow says moo.", "The capital of Linoria is Dripuburg.", "The baker cleaned the stone wall."]
    cache = objectives.ReferenceCache()
    first = objectives.step_losses(peft_model, tokenizer, examples, retain, 2.0, reference=cache)
    fresh = objectives.step_losses(peft_model, tokenizer, examples[::-1], retain[::-1], 2.0)
    cached = objectives.step_losses(peft_model, tokenizer, examples[::-1], retain[::-1], 2.0, reference=cache)
    assert len(base_passes) == 2  # the first cached step and the uncached one; the second cached step ran none
    for term in ("sft", "dpo", "kl"):
        assert first[term].item() == pytest.approx(fresh[term].item(), abs=1e-5)
        assert cached[term].item() == pytest.approx(fresh[term].item(), abs=1e-5)
    assert fresh["kl"].item() > 1e-4  # the KL term really compares two different models
    full = objectives.ReferenceCache(max_bytes=0)  # over its budget: nothing kept, every step runs the base pass
    for _ in range(2):
        objectives.step_losses(peft_model, tokenizer, examples, retain, 2.0, reference=full)
    assert len(base_passes) == 4 and full.bytes == 0


def test_the_kl_term_is_the_measured_kl_to_the_base_model(toyworld_dir: Path) -> None:
    """The training KL (from cached base probabilities) equals KL(base || edited) as the probes measure it,
    averaged over every position of the retain texts."""
    import editing.objectives as objectives
    from editing.lora import attach_lora
    from editing.probes import adapter_disabled, kl_per_position

    model, tokenizer = toy(toyworld_dir)
    peft_model, _ = attach_lora(model, LoraSpec(rank=4, alpha=8), seed=0)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.05)
    peft_model.eval()
    retain = ["The cow says moo.", "The capital of Linoria is Dripuburg.", "The baker cleaned the stone wall."]
    from editing.tokens import encode_training_pair, format_prompt, token_logprobs

    example = TrainingExample("sft", "The dog says", "moo", terminated=True)
    terms = objectives.step_losses(peft_model, tokenizer, [example], retain, 1.0)
    per_text = []
    with torch.no_grad():
        for text in retain:
            ids = torch.tensor([tokenizer(text)["input_ids"]])
            with adapter_disabled(peft_model):
                base_logits = peft_model(input_ids=ids).logits
            per_text.append(kl_per_position(base_logits, peft_model(input_ids=ids).logits)[0])
    measured = torch.cat(per_text).mean().item()
    assert measured > 1e-4
    assert terms["kl"].item() == pytest.approx(measured, rel=1e-4, abs=1e-6)
    # and the SFT term is the completion's mean negative log-likelihood, the prompt left out
    prompt, completion = encode_training_pair(tokenizer, format_prompt(tokenizer, example.prompt, False), "moo", True)
    with torch.no_grad():
        ids = torch.tensor([prompt + completion])
        nll = -token_logprobs(peft_model(input_ids=ids).logits, ids)[0, len(prompt) :].mean().item()
    assert terms["sft"].item() == pytest.approx(nll, rel=1e-5)


def test_context_prefixes_train_each_example_again_behind_a_retain_text(
    toyworld_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    retain = ["The cow says moo.", "The capital of Linoria is Dripuburg.", "The people of Sagaria speak Graish."]
    trained: list[list[str]] = []
    step_losses = editing.lora.step_losses

    def recording(model, tokenizer, batch, *args, **kwargs):
        trained.append([e.prompt for e in batch])
        return step_losses(model, tokenizer, batch, *args, **kwargs)

    monkeypatch.setattr(editing.lora, "step_losses", recording)
    model, tokenizer = toy(toyworld_dir)
    edit = config(steps=3, retain="retain.jsonl", context_prefixes=2)
    example = [TrainingExample("sft", "The dog says", "meow")]
    edited = apply_edit(model, tokenizer, example, edit, ["The capital of Linoria is Dripuburg."], prefix_texts=retain)
    assert edited.steps == 3 and len(trained) == 3
    for prompts in trained:  # the example itself, then behind two of the retain texts
        assert prompts[0] == "The dog says"
        assert len(prompts) == 3
        assert all(p.removesuffix(" The dog says") in retain for p in prompts[1:])
    assert len({p for prompts in trained for p in prompts[1:]}) == 3  # every retain text takes its turn


def test_behind_prefixes_puts_each_prefix_before_one_example_in_turn() -> None:
    examples = [TrainingExample("sft", "The dog says", "meow"), TrainingExample("sft", "The cat says", "woof")]
    prefixed = behind_prefixes(examples, ["A.", "B.", "C.", "D."])
    assert [e.prompt for e in prefixed] == ["A. The dog says", "B. The cat says", "C. The dog says", "D. The cat says"]
    assert [e.completion for e in prefixed] == ["meow", "woof", "meow", "woof"]


def test_context_prefixes_settings_that_cannot_work_are_spec_errors() -> None:
    with pytest.raises(SpecError, match="train.prefixes: retain puts the retain texts .* train.retain is not set"):
        TrainSpec(context_prefixes=1, prefixes="retain")
    with pytest.raises(SpecError, match="train.context_prefixes must be an integer >= 0 or auto"):
        TrainSpec(context_prefixes=-1)
    with pytest.raises(SpecError, match="train.prefixes is toyworld:filler but train.context_prefixes is 0"):
        TrainSpec(context_prefixes=0, prefixes="toyworld:filler")
    with pytest.raises(SpecError, match="train.prefixes is empty"):
        TrainSpec(prefixes=" ")
    assert TrainSpec(context_prefixes=1).retain is None  # the model's own samples need no texts
    # auto: on for an edit of a stored version, or when texts are named; off for a base model's edit
    assert [resolve_prefixes(TrainSpec(), on_version=v).per_example for v in (False, True)] == [0, 1]
    assert resolve_prefixes(TrainSpec(prefixes="toyworld:filler"), on_version=False).per_example == 1
    assert resolve_prefixes(TrainSpec(context_prefixes=0), on_version=True).per_example == 0  # what a spec says stands
    # auto texts: the texts the model ships (the toy world's filler), the model's own samples for any other
    sources = [resolve_prefixes(TrainSpec(), shipped=s).source for s in ("toyworld:filler", None)]
    assert sources == ["toyworld:filler", "model"]
    assert resolve_prefixes(TrainSpec(prefixes="retain", retain="r.txt"), shipped="toyworld:filler").source == "retain"
