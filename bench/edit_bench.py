"""How long an edit takes: `nudge apply` on the toy world, and a training step on a 124M model.

    .venv/bin/python bench/edit_bench.py [--repeats 3]

Prints Markdown tables. Targets (issue 4): the toy-world dog-cat edit with probes
before and after in under 15 s on 2 cores; peak memory during training under
1.5x the weights plus activations (no deep copy of the model).
Set NUDGE_TOYWORLD to a built toy model folder to skip building it.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from _common import toy_workspace

from editing.lora import EditConfig, apply_edit
from editing.probes import TOYWORLD_DATA
from editing.runs import execute_run, plan_run
from editing.spec import LoraSpec, TrainSpec, spec_from_dict
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
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        toy_workspace(home)
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
