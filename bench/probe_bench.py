"""How fast probes are scored: nudge's scorer beside lm-evaluation-harness and beside a one-at-a-time loop.

    .venv/bin/python bench/probe_bench.py [--repeats 3] [--batch-size 64] [--device cpu]

Every row scores target and foil (teacher-forced log-probs) of every probe, with
nudge's `score_completions` and with lm-evaluation-harness 0.4.13's
`HFLM.loglikelihood` wrapping the same in-memory model and tokenizer, in the same
process, at the same batch size; times are medians of `--repeats` runs. Rows: 1,000
unique toy-world probes (made from the world's facts), the shipped suites as they
are, and a random-weight GPT-2 of GPT2Config's default shape (124M) on 200 probes.
The delta column is the largest |difference| between the two of a completion's
summed log-prob. Then nudge against the loop most editing toolkits run (one
forward pass per completion) and the full dog-cat report.

Targets (issue 12): nudge >= 1.5x lm_eval on every row; >= 10x the loop on the toy
model; the full report under 30 s on 2 cores (issue 5). lm_eval comes with the
`bench` extra (`pip install -e ".[bench]"`). Set NUDGE_TOYWORLD to a built toy
model folder to skip building it.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
import yaml
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel

sys.path.insert(0, str(Path(__file__).parent))
from _common import toy_workspace

from editing.completions import join_completion
from editing.loading import load_suite
from editing.probes import Probe, score_completions
from editing.runs import execute_run, plan_run
from editing.spec_reader import spec_from_dict
from editing.toyworld.paths import TOYWORLD_DATA
from editing.toyworld.world import multi_hop_facts, single_hop_facts
from store import Store

LOOP_PROBES = 200  # the one-at-a-time loop is timed on this many probes
WARM_UP = 32  # probes scored once by each scorer before its timed runs
T = TypeVar("T")


def unique_toy_probes(n: int) -> list[Probe]:
    """`n` probes with distinct prompts: each a fact of the toy world against another answer of its relation."""
    facts = single_hop_facts() + multi_hop_facts()
    answers: dict[str, list[str]] = {}
    for fact in facts:
        answers.setdefault(fact.relation, []).append(fact.answer)
    rng = random.Random(0)
    picked = rng.sample(facts, n)
    return [
        Probe(
            id=f"fact-{i}",
            prompt=fact.prompt,
            target=fact.answer,
            foil=rng.choice([a for a in answers[fact.relation] if a != fact.answer]),
            kind="edit",
            split="test",
        )
        for i, fact in enumerate(picked)
    ]


def shipped_probes() -> list[Probe]:
    return load_suite("toyworld:dog-cat-swap").probes + load_suite("toyworld:capital-change").probes


def nudge_sums(model, tokenizer, probes: list[Probe], batch_size: int) -> list[float]:
    """Summed log-probs of every target, then every foil, as `score_probes` asks for them."""
    prompts = [p.prompt for p in probes]
    completions = [p.target for p in probes] + [p.foil for p in probes]
    return [s.sum_logprob for s in score_completions(model, tokenizer, prompts + prompts, completions, batch_size)]


def lm_eval_sums(harness: HFLM, probes: list[Probe]) -> list[float]:
    """The same completions as lm_eval's loglikelihood requests, joined to their prompts as nudge joins them."""
    prompts = [p.prompt for p in probes] * 2
    completions = [p.target for p in probes] + [p.foil for p in probes]
    requests = [
        Instance(request_type="loglikelihood", doc={}, arguments=(prompt, join_completion(completion)), idx=i)
        for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True))
    ]
    return [logprob for logprob, _ in harness.loglikelihood(requests, disable_tqdm=True)]


def timed(fn: Callable[[], T], repeats: int) -> tuple[T, float]:
    """The last call's result and the median wall time of `repeats` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return result, statistics.median(times)


def comparison_row(name: str, model, tokenizer, probes: list[Probe], batch_size: int, repeats: int) -> str:
    harness = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)
    nudge_sums(model, tokenizer, probes[:WARM_UP], batch_size)
    lm_eval_sums(harness, probes[:WARM_UP])
    ours, nudge_seconds = timed(lambda: nudge_sums(model, tokenizer, probes, batch_size), repeats)
    theirs, lm_eval_seconds = timed(lambda: lm_eval_sums(harness, probes), repeats)
    delta = max(abs(a - b) for a, b in zip(ours, theirs, strict=True))
    nudge_rate, lm_eval_rate = len(probes) / nudge_seconds, len(probes) / lm_eval_seconds
    ratio = nudge_rate / lm_eval_rate
    return f"| {name} | {len(probes):,} | {nudge_rate:,.0f} | {lm_eval_rate:,.0f} | {ratio:.2f}x | {delta:.1e} |"


def one_at_a_time(model, tokenizer, probes: list[Probe]) -> None:
    for p in probes:
        for completion in (p.target, p.foil):
            score_completions(model, tokenizer, [p.prompt], [completion])


def loop_row(model, tokenizer, probes: list[Probe], batch_size: int, repeats: int) -> str:
    batched = len(probes) / timed(lambda: nudge_sums(model, tokenizer, probes, batch_size), repeats)[1]
    loop = LOOP_PROBES / timed(lambda: one_at_a_time(model, tokenizer, probes[:LOOP_PROBES]), 1)[1]
    return f"| toy world, unique | {len(probes):,} | {batched:,.0f} | {loop:,.0f} | {batched / loop:.1f}x |"


def full_report_seconds() -> tuple[float, dict]:
    spec = spec_from_dict(yaml.safe_load((Path(__file__).parent.parent / "examples" / "dog-cat-swap.yaml").read_text()))
    with Store.init_db() as store:
        store.import_judgments(TOYWORLD_DATA / "demo_feedback.jsonl", create_annotators=True)
        started = time.perf_counter()
        outcome = execute_run(plan_run(spec, store), store)
    return time.perf_counter() - started, outcome.report["run"]["timings"]


def machine_line(device: torch.device) -> str:
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    return (
        f"Machine: {os.cpu_count()} cores ({torch.get_num_threads()} torch threads), torch {torch.__version__}, "
        f"device {device.type} ({where}), {datetime.date.today().isoformat()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement; the median is shown")
    parser.add_argument("--batch-size", type=int, default=64, help="rows per forward pass, the same for both scorers")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cpu or cuda")
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    logging.getLogger("lm_eval").setLevel(logging.ERROR)  # its per-model notices are not results
    device = torch.device(args.device)
    print(machine_line(device) + "\n")
    with tempfile.TemporaryDirectory() as tmp:
        folder = toy_workspace(Path(tmp))
        toy = AutoModelForCausalLM.from_pretrained(folder).eval().to(device)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        tokenizer.pad_token = tokenizer.eos_token
        torch.manual_seed(0)
        gpt2 = GPT2LMHeadModel(GPT2Config()).eval().to(device)  # 124M, random weights: the toy tokenizer's ids fit
        unique = unique_toy_probes(1000)

        print("## nudge beside lm-evaluation-harness 0.4.13 (target and foil of every probe)\n")
        print("| model, probes | probes | nudge probes/s | lm_eval probes/s | nudge / lm_eval | max abs delta |")
        print("|---|---:|---:|---:|---:|---:|")
        rows = [
            ("toy world (0.9M), unique", toy, unique),
            ("toy world, shipped suites", toy, shipped_probes()),
            ("random GPT-2 (124M)", gpt2, unique[:200]),
        ]
        for name, model, probes in rows:
            print(comparison_row(name, model, tokenizer, probes, args.batch_size, args.repeats))
        print()

        print("## nudge beside a one-probe-at-a-time loop\n")
        print("| model, probes | probes | nudge probes/s | one-at-a-time probes/s | speed-up |")
        print("|---|---:|---:|---:|---:|")
        print(loop_row(toy, tokenizer, unique, args.batch_size, args.repeats))
        print()

        seconds, timings = full_report_seconds()
        print("## Full dog-cat report (probes before and after, training, sweeps, report files)\n")
        print("| total s | " + " | ".join(f"{k} s" for k in timings) + " |")
        print("|---:|" + "---:|" * len(timings))
        print(f"| {seconds:.2f} | " + " | ".join(f"{v:.2f}" for v in timings.values()) + " |")


if __name__ == "__main__":
    main()
