"""How long an edit takes: nudge's training loop beside TRL's SFTTrainer, `nudge apply`, and a 124M model.

    .venv/bin/python bench/edit_bench.py [--repeats 3] [--steps 60] [--gpt2-steps 8]

Prints Markdown tables. Targets: nudge's loop without the KL term at most 1.0x TRL's
seconds per step, with it at most 1.6x (issue 12); the toy-world dog-cat edit with
probes before and after in under 15 s on 2 cores; peak memory during training under
1.5x the weights plus activations (no deep copy of the model) (issue 4).
Set NUDGE_TOYWORLD to a built toy model folder to skip building it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import yaml
from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainerCallback

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_line, toy_workspace

from editing.loading import load_model
from editing.lora import EditConfig, apply_edit, attach_lora
from editing.probes import score_probes
from editing.runs import RunPlan, execute_run, plan_run
from editing.spec import LoraSpec, TrainSpec
from editing.spec_reader import spec_from_dict
from editing.tokens import encode_pairs, format_prompt
from editing.toyworld.paths import TOYWORLD_DATA
from editing.training_data import TrainingExample
from store import Store

EXAMPLE = Path(__file__).parent.parent / "examples" / "dog-cat-swap.yaml"


def feedback_file(folder: Path, n_examples: int) -> Path:
    """The demo's agreed corrections, repeated to `n_examples` lines (alice only: no disagreements)."""
    lines = [
        ln
        for ln in (TOYWORLD_DATA / "demo_feedback.jsonl").read_text().splitlines()
        if '"alice"' in ln and '"correction"' in ln
    ]
    path = folder / f"feedback-{n_examples}.jsonl"
    path.write_text("\n".join(lines[i % len(lines)] for i in range(n_examples)) + "\n")
    return path


WARMUP_STEPS = 3  # the first steps pay for allocator growth and lazy initialisation; not counted


def dog_cat_plan() -> RunPlan:
    """The dog-cat swap spec as `nudge apply` resolves it (retain texts, LoRA and train settings), keeping
    its SFT examples only: TRL's SFTTrainer trains on nothing else, and both loops get the same examples."""
    spec_data = yaml.safe_load(EXAMPLE.read_text())
    spec_data["feedback"] = {"file": str(TOYWORLD_DATA / "demo_feedback.jsonl")} | {
        k: spec_data["feedback"][k] for k in ("tags", "min_agreement")
    }
    with Store.init_db() as store:
        plan = plan_run(spec_from_dict(spec_data), store)
    sft = [e for e in plan.selection.examples if e.kind == "sft"]
    return dataclasses.replace(plan, selection=dataclasses.replace(plan.selection, examples=sft))


def seconds_per_step(step_ends: list[float]) -> float:
    """Median time between consecutive step ends, after the warm-up."""
    gaps = [b - a for a, b in itertools.pairwise(step_ends)]
    return statistics.median(gaps[WARMUP_STEPS:])


def edit_success(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, plan: RunPlan) -> float:
    """nudge's scorer on the test split's edit probes: the share where the target beats the foil."""
    probes = [p for p in plan.probes if p.split == "test" and p.kind == "edit"]
    model.eval()
    scores = score_probes(model, tokenizer, probes, continue_kinds=())
    return sum(s.success for s in scores) / len(scores)


def nudge_loop(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, plan: RunPlan, steps: int, kl: bool
) -> tuple[float, PreTrainedModel]:
    """nudge's `apply_edit` for `steps` steps (no early stop), the KL term on or off: (s/step, edited model)."""
    train = dataclasses.replace(
        plan.spec.train, steps=steps, early_stop="none", kl_weight=plan.spec.train.kl_weight if kl else 0.0
    )
    ends: list[float] = []
    result = apply_edit(
        model,
        tokenizer,
        plan.selection.examples,
        EditConfig(lora=plan.spec.lora, train=train, chat=plan.spec.chat),
        plan.retain_texts,
        on_step=lambda *_: ends.append(time.perf_counter()),
    )
    return seconds_per_step(ends), result.model


class StepClock(TrainerCallback):
    """Notes when each of the Trainer's optimiser steps ends."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def on_step_end(self, args, state, control, **kwargs) -> None:
        self.ends.append(time.perf_counter())


def trl_loop(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, plan: RunPlan, steps: int, folder: Path
) -> tuple[float, PreTrainedModel]:
    """TRL's SFTTrainer on the same LoRA (nudge attaches it, same seed), tokens, batch size, lr and clipping:
    fp32, no gradient checkpointing, constant lr, no eval, no saving, no logging. (s/step, edited model)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    train = plan.spec.train
    examples = plan.selection.examples
    prompts = [format_prompt(tokenizer, e.prompt, plan.spec.chat) for e in examples]
    pairs = encode_pairs(tokenizer, prompts, [e.completion for e in examples])  # nudge's tokens, no EOS added
    rows = [{"input_ids": p + c, "completion_mask": [0] * len(p) + [1] * len(c)} for p, c in pairs]
    peft_model, _ = attach_lora(model, plan.spec.lora, train.seed)
    config = SFTConfig(
        output_dir=str(folder),
        max_steps=steps,
        per_device_train_batch_size=min(train.batch_size, len(examples)),  # nudge's batch: never above the set
        dataloader_drop_last=True,  # every step a full batch, as nudge's endless shuffled stream gives
        learning_rate=train.lr,
        lr_scheduler_type="constant",
        weight_decay=0.0,
        max_grad_norm=train.max_grad_norm,
        optim="adamw_torch",
        bf16=False,
        fp16=False,
        gradient_checkpointing=False,
        completion_only_loss=True,
        max_length=None,
        seed=train.seed,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        eval_strategy="no",
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    clock = StepClock()
    trainer = SFTTrainer(
        model=peft_model,
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        callbacks=[clock],
    )
    with contextlib.redirect_stdout(sys.stderr):  # the Trainer prints its run summary; stdout is the table
        trainer.train()
    return seconds_per_step(clock.ends), trainer.model


def training_table(
    plan: RunPlan,
    tokenizer: PreTrainedTokenizerBase,
    steps: int,
    fresh_model: Callable[[], PreTrainedModel],
    score: bool,
) -> list[str]:
    """One row per loop, each on a fresh copy of the model, in this process: s/step, ratios, edit success."""
    with tempfile.TemporaryDirectory() as folder:
        runs = {
            "TRL 1.16 `SFTTrainer`": trl_loop(fresh_model(), tokenizer, plan, steps, Path(folder)),
            "nudge `apply_edit`, KL off": nudge_loop(fresh_model(), tokenizer, plan, steps, kl=False),
            "nudge `apply_edit`, KL on": nudge_loop(fresh_model(), tokenizer, plan, steps, kl=True),
        }
    trl_step = runs["TRL 1.16 `SFTTrainer`"][0]
    nudge_step = runs["nudge `apply_edit`, KL off"][0]
    lines = [
        "| loop | median s/step | x TRL | x nudge KL off | edit success after (test) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (step, model) in runs.items():
        success = f"{edit_success(model, tokenizer, plan):.2f}" if score else "n/a (random weights)"
        lines.append(f"| {name} | {step:.4f} | {step / trl_step:.2f} | {step / nudge_step:.2f} | {success} |")
    return lines


def _random_gpt2(vocab_size: int) -> PreTrainedModel:
    """A GPT-2-small shape (124M parameters at GPT-2's vocabulary), random: nothing downloaded."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return GPT2LMHeadModel(GPT2Config(vocab_size=max(vocab_size, 50257))).to(device)


def print_training_comparison(steps: int, gpt2_steps: int) -> None:
    plan = dog_cat_plan()
    train = plan.spec.train
    toy = load_model(plan.spec.model)
    n_modules = len(attach_lora(toy.model, plan.spec.lora, train.seed)[1])
    print("## Training loop: nudge beside TRL's SFTTrainer (same run, same LoRA, same examples)\n")
    print(
        f"The dog-cat swap spec: {len(plan.selection.examples)} SFT examples, batch {train.batch_size}, "
        f"lr {train.lr:g}, LoRA rank {plan.spec.lora.rank} alpha {plan.spec.lora.alpha:g} on "
        f"{n_modules} modules ({plan.spec.lora.targets}, layers {plan.spec.lora.layers}); KL on means "
        f"weight {train.kl_weight:g} over {train.retain_batch_size} retain texts per step. fp32, "
        f"{torch.get_num_threads()} torch threads, no gradient "
        f"checkpointing. Seconds per step: the median gap between step ends after {WARMUP_STEPS} warm-up "
        "steps. Edit success: nudge's scorer, test-split edit probes, target beats foil. Targets: nudge "
        "KL off <= 1.0x TRL; KL on <= 1.6x.\n"
    )
    print(f"### Toy world model, {steps} steps\n")
    fresh_toy = lambda: load_model(plan.spec.model).model  # noqa: E731
    print("\n".join(training_table(plan, toy.tokenizer, steps, fresh_toy, score=True)))
    if gpt2_steps:
        print(f"\n### Random GPT-2-small shape (124M), same token ids, {gpt2_steps} steps\n")
        gpt2 = lambda: _random_gpt2(len(toy.tokenizer))  # noqa: E731
        print("\n".join(training_table(plan, toy.tokenizer, gpt2_steps, gpt2, score=False)))
    print(f"\n{machine_line()}\n")


def apply_seconds(home: Path, n_examples: int, rank: int, repeats: int) -> tuple[float, int, dict]:
    spec_data = yaml.safe_load(EXAMPLE.read_text())
    spec_data["feedback"] = {"file": str(feedback_file(home, n_examples))}
    spec_data["lora"]["rank"] = rank
    spec_data["lora"]["alpha"] = 2 * rank
    times, steps, phases = [], 0, {}
    for _ in range(repeats):
        spec = spec_from_dict(spec_data)
        with Store.init_db() as store:
            plan = plan_run(spec, store)
            started = time.perf_counter()
            outcome = execute_run(plan, store)
            times.append(time.perf_counter() - started)
        steps = outcome.report["run"]["training"]["steps"]
        phases = outcome.report["run"]["timings"]
    return statistics.median(times), steps, phases


class ByteTokens:
    """A byte tokenizer for the random GPT-2: every id below 256 is a byte; nothing to download."""

    pad_token_id = eos_token_id = 0
    chat_template = None

    def __call__(self, text, add_special_tokens=True):
        if isinstance(text, list):
            return {"input_ids": [list(t.encode())[:48] for t in text]}
        return {"input_ids": list(text.encode())[:48]}


GPT2_EXAMPLES = [TrainingExample("sft", f"Prompt number {i} says", "something else") for i in range(8)]
GPT2_RETAIN = ["Some neutral text to keep in place."] * 8


def _gpt2_small():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config())  # 124M parameters, random: nothing downloaded


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure_edit(queue) -> None:
    """In a fresh process: the LoRA edit loop, seconds per step and peak memory."""
    torch.set_num_threads(2)
    model = _gpt2_small()
    config = EditConfig(
        lora=LoraSpec(rank=4, alpha=8),
        train=TrainSpec(steps=5, batch_size=8, retain_batch_size=8, early_stop="none"),
    )
    times, last = [], [time.perf_counter()]

    def on_step(step: int, total: int, record: dict) -> None:
        times.append(time.perf_counter() - last[0])
        last[0] = time.perf_counter()

    last[0] = time.perf_counter()
    apply_edit(model, ByteTokens(), GPT2_EXAMPLES, config, GPT2_RETAIN, on_step=on_step)
    queue.put((statistics.median(times[1:]), _peak_rss_mb()))


def _measure_plain(queue) -> None:
    """In a fresh process: weights plus activations, i.e. the same sequences through the plain model,
    forward and backward (into a single trainable tensor), twice as the edit's two passes do."""
    from editing.tokens import collate_pairs, encode_pair

    torch.set_num_threads(2)
    model = _gpt2_small()
    for p in model.parameters():
        p.requires_grad_(False)
    model.lm_head.weight.requires_grad_(True)  # tied to the embeddings: gradients flow through every layer
    tokens = ByteTokens()
    pairs = [encode_pair(tokens, e.prompt, e.completion) for e in GPT2_EXAMPLES]
    pairs += [(ids[:1], ids[1:]) for ids in (tokens(t)["input_ids"] for t in GPT2_RETAIN)]
    input_ids, attention_mask, _ = collate_pairs(pairs, 0)
    with torch.no_grad():
        model(input_ids=input_ids[len(GPT2_EXAMPLES) :], attention_mask=attention_mask[len(GPT2_EXAMPLES) :])
    model(input_ids=input_ids, attention_mask=attention_mask, labels=input_ids).loss.backward()
    queue.put(_peak_rss_mb())


def gpt2_small_step() -> tuple[float, float, float, float]:
    """Seconds per step, weights MB, peak RSS of the edit, peak RSS of weights + plain activations."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    results = []
    for target in (_measure_edit, _measure_plain):
        queue = context.Queue()
        process = context.Process(target=target, args=(queue,))
        process.start()
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"{target.__name__} failed in its process (exit code {process.exitcode})")
        results.append(queue.get())
    (step, edit_peak), plain_peak = results
    weights_mb = sum(p.numel() * p.element_size() for p in _gpt2_small().parameters()) / 2**20
    return step, weights_mb, edit_peak, plain_peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="`nudge apply` runs per row; the median is shown")
    parser.add_argument("--steps", type=int, default=60, help="training steps per loop on the toy model")
    parser.add_argument("--gpt2-steps", type=int, default=8, help="training steps per loop on the 124M shape; 0: skip")
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        toy_workspace(home)
        print_training_comparison(args.steps, args.gpt2_steps)
        print("## `nudge apply` on the toy world (dog-cat swap spec, early stop on val)\n")
        print("| examples | rank | steps | median wall s (whole run) | train s | probes s | sweeps s |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for n_examples in (20, 200):
            for rank in (1, 4, 16):
                seconds, steps, phases = apply_seconds(home, n_examples, rank, args.repeats)
                probes = phases["probes_before"] + phases["probes_after"]
                print(
                    f"| {n_examples} | {rank} | {steps} | {seconds:.2f} | {phases['train']:.2f} | "
                    f"{probes:.2f} | {phases['sweeps']:.2f} |"
                )
    step, weights_mb, edit_peak, plain_peak = gpt2_small_step()
    print("\n## GPT-2-small-sized random model (124M), CPU: one training step and peak memory\n")
    print("8 SFT examples + 8 retain texts (KL term), rank 4 on the MLPs. Each column of memory is the peak")
    print("RSS of a fresh process; the reference runs the same sequences through the plain model, forward")
    print("and backward, so it holds the weights and the activations and nothing else.\n")
    print("| median s/step | weights MB | edit peak MB | weights + activations peak MB | edit / reference |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {step:.2f} | {weights_mb:.0f} | {edit_peak:.0f} | {plain_peak:.0f} | {edit_peak / plain_peak:.2f} |")
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
