"""Many capital changes in a row: do the earlier edits hold, and does anything else move?

    .venv/bin/python bench/sequential_bench.py [--edits 30] [--seeds 0 1 2] [--method replay] [--no-keep]

Makes T distinct single-fact edits on the toy world (country i's capital moves to a
new made-up city), each with its own feedback file, probe suite and spec in a temp
workspace, and applies them one after another through the CLI (`nudge apply`, run
in-process with typer's CliRunner so torch starts once), each spec naming the
version the previous edit made. Then it scores all T facts on the final version,
and does the same for one batched edit of all T facts from the base. Prints a
Markdown table and a machine line (`sequential-bench: {...}`).

Methods (`--method`): `plain` trains each answer alone on the newest version (the
issue's measurement); `terminate` adds the end-of-text token after each answer;
`replay` (nudge's default) puts the model's own ending (a full stop) before that
token (`train.terminate: model`) and retrains the chain's earlier edits' examples;
`--set train.terminate=eos` gives `replay` as it was until 2026-11-29 night.
The KL term's retain set (`--retain`) is the toy model's own training corpus less
the old capitals and every probe's sentence (`corpus`), or the toy world's
one-phrasing retain set (`toy`). `--names rotated` (a diagnostic) gives each
country the next edited country's capital, a name the model already spells, instead of a made-up
one; `--keep` (on unless `--no-keep`) adds to each edit's feedback thumbs-up on
its country's language and currency (trained with `feedback.positive_sft`);
`--show-misses` prints every probe a final version gets wrong or ends in junk
(`trailing_junk`: a known name with letters glued on, or text after the answer's
sentence). The edits take nudge's defaults unless `--set` says otherwise: on a
version, context prefixes (`train.context_prefixes: auto`) from the toy world's
filler (`train.prefixes: auto`); `--set train.prefixes=model` samples them from
the model instead. Each seed of
`--seeds` is a whole run (the chain and the batched edit); the table gives each
seed's final version and the medians.
Set NUDGE_TOYWORLD to a built toy model folder to skip building it.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from _common import toy_workspace

from editing.cli import app
from editing.errors import EXIT_GATE_FAILED, EXIT_PASSED
from editing.impact.fluency import perplexity_ratio
from editing.loading import load_model, load_texts
from editing.models import LoadedModel
from editing.probes import Probe, greedy_continuations, parse_probe, score_probes, token_nlls
from editing.runs import load_version
from editing.toyworld.corpus import corpus_sentences
from editing.toyworld.suites import EDIT_SPLITS
from editing.toyworld.world import COUNTRIES, COUNTRY_PHRASINGS
from store import Store

EXAMPLE = Path(__file__).parent.parent / "examples" / "capital-change.yaml"
METHODS = {  # what each method sets in the edit specs
    "plain": {"train": {"terminate": "none"}, "feedback": {"replay": False}},
    "terminate": {"train": {"terminate": "eos"}, "feedback": {"replay": False}},
    "replay": {"train": {"terminate": "model"}, "feedback": {"replay": True}},
}
FIRST, LAST = ("Vel", "Zan", "Kor", "Mir", "Tal", "Qua", "Bex", "Oru"), ("mora", "vik", "dunne", "sel")
CONTINUATION_TOKENS = 12
UNTOUCHED_AT_LEAST = 2  # countries no edit touches: their capitals are the controls
_FIRST_WORD = re.compile(r"\s*(\w+)")
_SENTENCE_END = re.compile(r"[.!?]")


@dataclass(frozen=True)
class CapitalEdit:
    country: str
    old: str
    new: str


def capital_edits(count: int, names: str = "shared") -> list[CapitalEdit]:
    """`count` countries, each given a new capital that no fact of the world names.

    `shared`: names in runs of four with one first syllable (Velmora, Velvik, Veldunne, Velsel, Zanmora, ...),
    so neighbouring edits' answers begin with the same token and only the second tells them apart;
    `varied`: the first syllable changes from one edit to the next (Velmora, Zanmora, ..., Velvik, ...);
    `rotated`: a diagnostic, not a new city: country i gets country i+1's capital (the last edited gets the
    first's), a name the model has already learnt to spell, where a made-up one is new to it."""
    if names == "shared":
        new_names = [first + last for first in FIRST for last in LAST]
    elif names == "varied":
        new_names = [first + last for last in LAST for first in FIRST]
    else:
        new_names = [COUNTRIES[(i + 1) % count][1] for i in range(count)]
    most = len(COUNTRIES) - UNTOUCHED_AT_LEAST
    if not 1 <= count <= most:
        raise SystemExit(f"--edits must be between 1 and {most}: the rest of the countries are the controls")
    return [CapitalEdit(country, capital, new_names[i]) for i, (country, capital, _, _) in enumerate(COUNTRIES[:count])]


def _row(
    edit: CapitalEdit, n: int, prompt: str, target: str, foil: str, kind: str, split: str, rel: str, subject: str = ""
) -> dict:
    return {
        "id": f"{edit.new}-{n:02d}",
        "prompt": prompt,
        "target": target,
        "foil": foil,
        "kind": kind,
        "split": split,
        "relation": rel,
        "subject": subject or edit.country,
    }


def edit_probes(edit: CapitalEdit, untouched: list[tuple[str, str, str, str]]) -> list[dict[str, Any]]:
    """The edited fact's phrasings (as the capital-change suite splits them), the country's other
    relations as controls, and a few untouched countries' capitals as controls."""
    capital = COUNTRY_PHRASINGS["capital"]
    rows = [
        _row(edit, i, capital[p].format(s=edit.country), edit.new, edit.old, kind, split, "capital")
        for i, (split, kind, p) in enumerate(EDIT_SPLITS)
    ]
    _, _, language, currency = next(c for c in COUNTRIES if c[0] == edit.country)
    for relation, answer in (("language", language), ("currency", currency)):
        for p in (3, 4):
            prompt = COUNTRY_PHRASINGS[relation][p].format(s=edit.country)
            rows.append(_row(edit, len(rows), prompt, answer, edit.new, "control", "test", relation))
    for i, (country, old_capital, language, currency) in enumerate(untouched[:6]):
        if i < 2:  # what early stopping checks, as before the test controls below were added
            prompt = capital[2].format(s=country)
            rows.append(_row(edit, len(rows), prompt, old_capital, edit.new, "control", "val", "capital", country))
        held_out = [("capital", p, old_capital) for p in (3, 4, 5)]
        held_out += [("language", 3, language), ("currency", 3, currency)]
        for relation, p, answer in held_out:
            prompt = COUNTRY_PHRASINGS[relation][p].format(s=country)
            rows.append(_row(edit, len(rows), prompt, answer, edit.new, "control", "test", relation, country))
    return rows


def edit_feedback(edit: CapitalEdit, keep: bool = False) -> list[dict[str, Any]]:
    """Corrections on the two trained phrasings, as in examples/capital-change-feedback.jsonl. With `keep`,
    also thumbs-up on the country's language and currency in those two phrasings (trained with
    `feedback.positive_sft`): what a team that knows what must not move would label beside the change."""
    rows = [
        {"annotator": "alice", "kind": "correction", "prompt": COUNTRY_PHRASINGS["capital"][p].format(s=edit.country)}
        | {"output": edit.old, "verdict": "down", "correction": edit.new, "tags": [edit.country]}
        for p in (0, 1)
    ]
    if keep:
        _, _, language, currency = next(c for c in COUNTRIES if c[0] == edit.country)
        rows += [
            {"annotator": "alice", "kind": "rating", "prompt": COUNTRY_PHRASINGS[relation][p].format(s=edit.country)}
            | {"output": answer, "verdict": "up", "tags": [edit.country]}
            for relation, answer in (("language", language), ("currency", currency))
            for p in (0, 1)
        ]
    return rows


def retain_file(
    folder: Path, edits: list[CapitalEdit], source: str = "corpus", held_out: set[str] | None = None
) -> Path:
    """The KL term's retain texts without the capitals the edits change: a retain set must not hold
    the old answer of a fact being edited. What else it says about the edited countries (their language,
    their currency) stays: that is what the KL term must hold in place.

    `toy`: the toy world's retain set (one phrasing per fact, 12 countries). `corpus`: the toy model's
    own training corpus (every fact in every phrasing, as a sample of pre-training text would be), less
    every sentence that is one of the probes' prompts (`held_out`), so that no probe is scored on a
    sentence the KL term held in place."""
    old_answers = {e.old for e in edits}
    texts = load_texts("toyworld:retain") if source == "toy" else list(dict.fromkeys(corpus_sentences()))
    held = tuple(held_out or ())
    texts = [
        t for t in texts if not any(f" {a}" in t for a in old_answers) and not any(t.startswith(p + " ") for p in held)
    ]
    path = folder / "retain.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def write_spec(
    folder: Path,
    name: str,
    model: str,
    feedback: Path,
    probes: list[Path],
    method: str,
    steps: int,
    settings: dict[str, Any] | None = None,
) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text())
    data.update(name=name, model=model, probes=[str(p) for p in probes])
    data["feedback"] = {"file": str(feedback), "min_agreement": 0.5, **METHODS[method]["feedback"]}
    data["train"] |= {"steps": steps, "retain": str(folder / "retain.jsonl"), **METHODS[method]["train"]}
    data["gates"] = {k: v for k, v in data["gates"].items() if not k.startswith("leak")}  # no leak probes here
    # the chain goes on as the team did: a run that fails its own gates is accepted on purpose
    # (recorded as accepted_failed) so the next edit builds on it; the table counts those runs
    data["accept_failed"] = True
    for key, value in (settings or {}).items():  # `train.kl_weight` -> data["train"]["kl_weight"]
        *parents, leaf = key.split(".")
        target = data
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def apply_spec(runner: CliRunner, spec: Path) -> tuple[int, float, str, float]:
    """`nudge apply SPEC` in-process; the version it made, its wall time, its verdict, and what its own
    paraphrase_says gate measured (its suite's held-out phrasings, right after the edit)."""
    started = time.perf_counter()
    result = runner.invoke(app, ["apply", str(spec)])
    seconds = time.perf_counter() - started
    if result.exit_code not in (EXIT_PASSED, EXIT_GATE_FAILED):  # a failed gate still makes a version
        raise SystemExit(f"nudge apply {spec} exited {result.exit_code}:\n{result.output}")
    with Store.init_db() as store:
        newest = store.runs(limit=1)[0]
    assert newest.result_version_id is not None, newest.error
    verdict = (newest.metrics or {}).get("verdict", {})
    own = [g["value"] for g in verdict.get("gates", []) if g["name"] == "paraphrase_says" and g["value"] is not None]
    return newest.result_version_id, seconds, verdict.get("status", "?"), own[0] if own else math.nan


def trailing_junk(continuation: str, names: set[str], stopped: bool) -> bool:
    """Whether a greedy continuation runs on past where its answer ends: a known name with letters glued on
    (` Velmoramoramora`, ` Mirdunneish.`, ` Pepogradmoram.`), more text after the answer's sentence ends
    (` Velmora. The capital`), or no end at all (`stopped`: the end-of-text token came within the tokens
    generated). A wrong answer that ends cleanly (` a sheep.`, ` Oruvik.`) is not junk: the retention,
    paraphrase and control rates count it."""
    first = _FIRST_WORD.match(continuation)
    if first and first.group(1) not in names and any(first.group(1).startswith(n) for n in names):
        return True
    end = _SENTENCE_END.search(continuation)
    if end is not None:
        return bool(continuation[end.end() :].strip())
    return not stopped


def _rate(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else math.nan


def _junk(continuation: str, names: set[str], tokenizer: Any) -> bool:
    """`trailing_junk`, with whether the continuation stopped read off its length in tokens."""
    stopped = len(tokenizer(continuation)["input_ids"]) < CONTINUATION_TOKENS
    return trailing_junk(continuation, names, stopped)


def score_version(
    loaded: LoadedModel,
    base: LoadedModel,
    probes: list[Probe],
    fluency: list[str],
    names: set[str],
    label: str = "",
    show: bool = False,
) -> dict[str, float]:
    """Every edit's retention and paraphrases, the controls, perplexity and trailing junk on one version
    (`names`: every city name of the world and the edits, for the junk of a name with letters glued on).
    `show` prints each probe the version gets wrong (what greedy says against what it should) or
    continues past its answer (trailing junk)."""
    tok = loaded.tokenizer
    after = score_probes(loaded.model, tok, probes, max_new_tokens=CONTINUATION_TOKENS)
    before = score_probes(base.model, tok, probes, continue_kinds=("control",), max_new_tokens=CONTINUATION_TOKENS)
    for b, a in zip(before, after, strict=True) if show else ():
        wrong = a.says != "target" if a.probe.kind != "control" else b.continuation != a.continuation or not a.success
        if wrong or _junk(a.continuation, names, tok):
            print(
                f"{label} {a.probe.kind}: {a.probe.prompt!r} -> {a.continuation!r} (wants {a.probe.target!r})",
                file=sys.stderr,
            )
    edited = [s for s in after if s.probe.kind == "edit"]
    paraphrase = [s for s in after if s.probe.kind == "paraphrase"]
    controls = [(b, a) for b, a in zip(before, after, strict=True) if a.probe.kind == "control"]
    subjects = {s.probe.subject for s in edited}
    held = {id(a): b.continuation == a.continuation and a.success for b, a in controls}
    texts = [s.continuation for s in edited + paraphrase] + [a.continuation for _, a in controls]
    base_texts = greedy_continuations(base.model, tok, [s.probe.prompt for s in after], CONTINUATION_TOKENS)
    ppl, _ = perplexity_ratio(token_nlls(base.model, tok, fluency), token_nlls(loaded.model, tok, fluency))
    return {
        "retention": _rate([s.success for s in edited]),
        "retention_says": _rate([s.says == "target" for s in edited]),
        "paraphrase": _rate([s.success for s in paraphrase]),
        "paraphrase_says": _rate([s.says == "target" for s in paraphrase]),
        "controls_unchanged": _rate(list(held.values())),
        "controls_edited_subjects": _rate([held[id(a)] for _, a in controls if a.probe.subject in subjects]),
        "controls_untouched": _rate([held[id(a)] for _, a in controls if a.probe.subject not in subjects]),
        "ppl_ratio": ppl.value if ppl.value is not None else math.nan,
        "junk": _rate([_junk(t, names, tok) for t in texts]),
        "base_junk": _rate([_junk(t, names, tok) for t in base_texts]),
    }


def run(
    count: int,
    method: str,
    steps: int,
    folder: Path,
    names: str = "shared",
    settings: dict[str, Any] | None = None,
    retain: str = "corpus",
    show: bool = False,
    keep: bool = False,
) -> dict[str, Any]:
    if keep:  # the thumbs-up on what must not move train only with positive_sft
        settings = {**(settings or {}), "feedback.positive_sft": True}
    toy_workspace(folder / "home")
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    edits = capital_edits(count, names)
    untouched = COUNTRIES[count:]  # the chain never edits these countries
    prompts = {row["prompt"] for edit in edits for row in edit_probes(edit, untouched)}
    retain_file(folder, edits, retain, prompts)
    suites, feedback, seconds, verdicts, own_paraphrase = [], [], [], [], []
    model = "toyworld"
    for i, edit in enumerate(edits):
        rows = edit_probes(edit, untouched)
        suites.append(write_jsonl(folder / f"probes-{i:02d}.jsonl", rows))
        feedback.append(write_jsonl(folder / f"feedback-{i:02d}.jsonl", edit_feedback(edit, keep)))
        spec = write_spec(folder, f"capital-{i:02d}", model, feedback[-1], [suites[-1]], method, steps, settings)
        version, took, verdict, own = apply_spec(runner, spec)
        seconds.append(took)
        verdicts.append(verdict)
        own_paraphrase.append(own)
        model = f"version:{version}"
        print(f"edit {i + 1}/{count}: {edit.country} -> {edit.new}, {took:.0f} s, version {version}", file=sys.stderr)
    batched_feedback = write_jsonl(folder / "feedback-all.jsonl", [r for e in edits for r in edit_feedback(e, keep)])
    batched_spec = write_spec(folder, "capital-batched", "toyworld", batched_feedback, suites, method, steps, settings)
    batched_version, batched_seconds, batched_verdict, _ = apply_spec(runner, batched_spec)

    # every distinct probe once: each suite repeats the untouched countries' controls, which would
    # otherwise count T times over
    distinct: dict[str, Probe] = {}
    for path in suites:
        for n, row in enumerate(map(json.loads, path.open())):
            distinct.setdefault(row["prompt"], parse_probe(row, f"{path}:{n}"))
    probes = list(distinct.values())
    fluency = load_texts("toyworld:fluency")
    city_names = {capital for _, capital, _, _ in COUNTRIES} | {edit.new for edit in edits}
    base = load_model("toyworld")
    with Store.init_db() as store:
        sequential, _ = load_version(store, int(model.removeprefix("version:")))
        batched, _ = load_version(store, batched_version)
    return {
        "edits": count,
        "names": names,
        "retain": retain,
        "keep": keep,
        "settings": settings or {},
        "method": method,
        "steps": steps,
        "sequential": score_version(sequential, base, probes, fluency, city_names, "sequential", show)
        | {
            "seconds_per_edit": sum(seconds) / count,
            "paraphrase_says_when_made": sum(own_paraphrase) / count,
            "verdicts": ", ".join(f"{n} {v}" for v, n in sorted(Counter(verdicts).items())),
        },
        "batched": score_version(batched, base, probes, fluency, city_names, "batched", show)
        | {"seconds": batched_seconds, "verdicts": batched_verdict},
    }


ROWS = [
    ("greedy retention (edit probes say the new city)", "retention_says"),
    ("retention margin (new city beats old)", "retention"),
    ("paraphrase, greedy", "paraphrase_says"),
    ("paraphrase, margin", "paraphrase"),
    ("controls unchanged (distinct probes)", "controls_unchanged"),
    ("  on the edited countries' language and currency", "controls_edited_subjects"),
    ("  on untouched countries (capital, language, currency)", "controls_untouched"),
    ("perplexity ratio (fluency text)", "ppl_ratio"),
    ("trailing junk: a name run on, or text after its sentence (base model's in brackets)", "junk"),
    ("paraphrase, greedy, each run's own right after its edit", "paraphrase_says_when_made"),
    ("seconds per edit (the batched edit: its one run)", "seconds_per_edit"),
]


def medians(results: list[dict[str, Any]], side: str) -> dict[str, float]:
    """Per measure, the median over the seeds' runs of one side (`sequential` or `batched`)."""
    keys = {k for r in results for k, v in r[side].items() if isinstance(v, int | float)}
    return {k: statistics.median(r[side][k] for r in results if k in r[side]) for k in keys}


def markdown(results: list[dict[str, Any]]) -> str:
    """One column per seed (the final version of its chain), their median, and the batched edits' median."""
    first = results[0]
    seeds = [r["seed"] for r in results]
    settings = {k: v for k, v in first["settings"].items() if k != "train.seed"}
    lines = [
        f"T = {first['edits']} capital changes ({first['names']} first syllables), method "
        f"`{first['method']}`{''.join(f', {k}={v}' for k, v in settings.items())}, "
        f"at most {first['steps']} steps each, retain set `{first['retain']}`"
        f"{', thumbs-up on what must not move (`--keep`)' if first.get('keep') else ''}, "
        f"train.seed {', '.join(map(str, seeds))}",
        "",
        "| measure | " + " | ".join(f"seed {s}" for s in seeds) + " | median | one batched edit, median |",
        "|---|" + "---:|" * (len(seeds) + 2),
    ]
    seq, bat = medians(results, "sequential"), medians(results, "batched")
    bat["seconds_per_edit"] = bat["seconds"]
    for label, key in ROWS:
        digits = 0 if key.startswith("seconds") else 3 if key == "junk" else 2
        cells = [f"{r['sequential'][key]:.{digits}f}" for r in results] + [f"{seq[key]:.{digits}f}"]
        if key == "junk":
            cells[-1] += f" ({seq['base_junk']:.2f})"
        lines.append(f"| {label} | {' | '.join(cells)} | {'' if key.endswith('_made') else f'{bat[key]:.{digits}f}'} |")
    verdicts = [r["sequential"]["verdicts"] for r in results]
    lines.append(f"| verdicts of the runs' own gates | {' | '.join(verdicts)} | | {first['batched']['verdicts']} |")
    return "\n".join(lines)


def spec_setting(text: str) -> tuple[str, Any]:
    """`--set KEY=VALUE`: a dotted spec field and its YAML value."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE; write e.g. --set train.kl_weight=3")
    return key.strip(), yaml.safe_load(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=30, help="how many capital changes in a row (T)")
    parser.add_argument("--method", choices=sorted(METHODS), default="replay", help="what the edit specs set")
    parser.add_argument("--steps", type=int, default=150, help="train.steps of each edit (the example's 150)")
    parser.add_argument(
        "--names",
        choices=("shared", "varied", "rotated"),
        default="shared",
        help="new capitals in runs of one first syllable (shared), a new first syllable each edit (varied), "
        "or each country takes the next edited one's capital, a name the model already spells (rotated, a diagnostic)",
    )
    parser.add_argument(
        "--set",
        action="append",
        type=spec_setting,
        default=[],
        metavar="KEY=VALUE",
        help="a spec setting on top of the method's, e.g. train.kl_weight=3 or lora.rank=8 (repeatable)",
    )
    parser.add_argument(
        "--retain",
        choices=("corpus", "toy"),
        default="corpus",
        help="KL retain texts: the toy model's training corpus less the probes' sentences (corpus), or the toy "
        "world's retain set, one phrasing per fact (toy, what the bench used until 2026-11-29 night)",
    )
    parser.add_argument(
        "--keep",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="each edit's feedback also gives thumbs-up to its country's language and currency (positive_sft); "
        "--no-keep: corrections alone",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help="train.seed of each whole run (chain and batched edit), in turn; the table gives each and their "
        "median (default 0 1 2, or the one --set train.seed=N names)",
    )
    parser.add_argument(
        "--show-misses", action="store_true", help="print every probe a final version gets wrong or ends in junk"
    )
    args = parser.parse_args()
    settings = dict(args.set)
    if args.seeds is not None and "train.seed" in settings:
        parser.error("give the seeds with --seeds alone, not also --set train.seed")
    seeds = args.seeds or ([settings["train.seed"]] if "train.seed" in settings else [0, 1, 2])
    results = []
    for seed in seeds:
        with tempfile.TemporaryDirectory(prefix="nudge-sequential-") as tmp:
            result = run(
                args.edits,
                args.method,
                args.steps,
                Path(tmp),
                names=args.names,
                settings=settings | {"train.seed": seed},
                retain=args.retain,
                show=args.show_misses,
                keep=args.keep,
            )
        results.append(result | {"seed": seed})
        print(f"seed {seed}: " + json.dumps(result, sort_keys=True), file=sys.stderr)
    print(markdown(results))
    medianed = {"sequential": medians(results, "sequential"), "batched": medians(results, "batched")}
    print("sequential-bench: " + json.dumps({"seeds": results, "median": medianed}, sort_keys=True))


if __name__ == "__main__":
    main()
