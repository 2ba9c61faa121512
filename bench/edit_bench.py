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

from editing.examples import TrainingExample
from editing.lora import EditConfig, apply_edit
from editing.probes import TOYWORLD_DATA
from editing.runs import execute_run, plan_run
from editing.spec import LoraSpec, TrainSpec, spec_from_dict
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


def gpt2_small_step(steps: int) -> tuple[float, float, float]:
    """Median seconds per training step of a random 124M GPT-2, weights MB, peak RSS growth MB."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config())  # 124M parameters, random: nothing downloaded
    weights_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20

    class Tokens:  # a byte tokenizer: every GPT-2 id below 256 is a byte
        pad_token_id = eos_token_id = 0
        chat_template = None

        def __call__(self, text, add_special_tokens=True):
            if isinstance(text, list):
                return {"input_ids": [list(t.encode())[:48] for t in text]}
            return {"input_ids": list(text.encode())[:48]}

    examples = [TrainingExample("sft", f"Prompt number {i} says", "something else") for i in range(8)]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    config = EditConfig(lora=LoraSpec(rank=4, alpha=8), train=TrainSpec(steps=steps, batch_size=8, early_stop="none"))
    times: list[float] = []
    last = [time.perf_counter()]

    def on_step(step: int, total: int, record: dict) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    last[0] = time.perf_counter()
    apply_edit(model, Tokens(), examples, config, retain_texts=["Some neutral text to keep."] * 4, on_step=on_step)
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss_before
    return statistics.median(times[1:] or times), weights_mb, rss_growth


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
    step, weights_mb, rss_growth = gpt2_small_step(steps=6)
    print("\n## One training step, GPT-2-small-sized random model (124M), CPU\n")
    print("| batch | rank | median s/step | weights MB | peak RSS growth during edit MB | growth / weights |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| 8 | 4 | {step:.2f} | {weights_mb:.0f} | {rss_growth:.0f} | {rss_growth / weights_mb:.2f} |")
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
