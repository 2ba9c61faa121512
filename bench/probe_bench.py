"""How fast probes are scored: the batched runner against a one-probe-at-a-time loop.

    .venv/bin/python bench/probe_bench.py [--sizes 100 1000 10000]

Both score target and foil (teacher-forced mean log-prob) for every probe, in the
same process on the same model. The loop is what most editing toolkits do: one
forward pass per completion. At 10,000 probes the loop is timed on its first
1,000 probes and its rate extrapolated (marked *). Also times the full dog-cat
report (probes before and after, sweeps, report files). Targets (issue 5): at
least 10x the loop at 1,000 probes; the full report under 30 s on 2 cores.
Set NUDGE_TOYWORLD to a built toy model folder to skip building it.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel

sys.path.insert(0, str(Path(__file__).parent))
from _common import toy_workspace

from editing.probes import TOYWORLD_DATA, Probe, load_suite, score_completions
from editing.runs import execute_run, plan_run
from editing.spec import spec_from_dict
from store import Store

LOOP_CAP = 1000  # the loop is timed on at most this many probes


def probes_of_size(n: int) -> list[Probe]:
    """`n` probes drawn (with repeats) from the toy world's suites, in a fixed shuffle."""
    pool = load_suite("toyworld:dog-cat-swap").probes + load_suite("toyworld:capital-change").probes
    rng = random.Random(0)
    return [pool[rng.randrange(len(pool))] for _ in range(n)]


def batched(model, tokenizer, probes: list[Probe]) -> None:
    prompts = [p.prompt for p in probes]
    score_completions(model, tokenizer, prompts + prompts, [p.target for p in probes] + [p.foil for p in probes])


def one_at_a_time(model, tokenizer, probes: list[Probe]) -> None:
    for p in probes:
        for completion in (p.target, p.foil):
            score_completions(model, tokenizer, [p.prompt], [completion])


def rate(fn, model, tokenizer, probes: list[Probe]) -> float:
    started = time.perf_counter()
    fn(model, tokenizer, probes)
    return len(probes) / (time.perf_counter() - started)


def table(title: str, model, tokenizer, sizes: list[int]) -> None:
    print(f"## {title}\n")
    print("| probes | batched probes/s | one-at-a-time probes/s | speed-up |")
    print("|---:|---:|---:|---:|")
    batched(model, tokenizer, probes_of_size(64))  # warm-up
    for n in sizes:
        probes = probes_of_size(n)
        fast = rate(batched, model, tokenizer, probes)
        slow = rate(one_at_a_time, model, tokenizer, probes[:LOOP_CAP])
        mark = "*" if n > LOOP_CAP else ""
        print(f"| {n:,} | {fast:,.0f} | {slow:,.0f}{mark} | {fast / slow:.1f}x |")
    print()


def full_report_seconds(home: Path) -> tuple[float, dict]:
    spec = spec_from_dict(yaml.safe_load((Path(__file__).parent.parent / "examples" / "dog-cat-swap.yaml").read_text()))
    with Store.init_db() as store:
        store.import_judgments(TOYWORLD_DATA / "demo_feedback.jsonl", create_annotators=True)
        started = time.perf_counter()
        outcome = execute_run(plan_run(spec, store), store)
    return time.perf_counter() - started, outcome.report["run"]["timings"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        folder = toy_workspace(Path(tmp))
        model = AutoModelForCausalLM.from_pretrained(folder).eval()
        tokenizer = AutoTokenizer.from_pretrained(folder)
        tokenizer.pad_token = tokenizer.eos_token
        table("Toy-world model (0.9M parameters), CPU", model, tokenizer, args.sizes)
        torch.manual_seed(0)
        big = GPT2LMHeadModel(GPT2Config()).eval()  # 124M, random weights: the toy tokenizer's ids fit
        table("GPT-2-small-sized random model (124M), CPU", big, tokenizer, [n for n in args.sizes if n <= 1000])
        seconds, timings = full_report_seconds(Path(tmp))
        print("## Full dog-cat report (probes before and after, training, sweeps, report files)\n")
        print("| total s | " + " | ".join(f"{k} s" for k in timings) + " |")
        print("|---:|" + "---:|" * len(timings))
        print(f"| {seconds:.2f} | " + " | ".join(f"{v:.2f}" for v in timings.values()) + " |")


if __name__ == "__main__":
    main()
