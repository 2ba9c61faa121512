"""Edits in a row: a corrected answer ends where the fact ends, and an edit on an edited version keeps
the earlier edit's fact (replay of the chain's examples, on by default)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from transformers import AutoTokenizer
from typer.testing import CliRunner

from editing.cli import app
from editing.endings import answer_ending, model_endings, with_model_endings
from editing.loading import load_model
from editing.probes import greedy_continuations
from editing.replay import replayed_examples
from editing.runs import execute_run, load_version, plan_run
from editing.spec_reader import load_spec
from editing.tokens import encode_pair, encode_training_pair
from editing.training_data import Feedback, TrainingExample, select_examples
from store import Store

STEPS = 60  # enough for one capital change on the toy model with these settings (seeded)


def _correction(prompt: str, old: str, new: str) -> Feedback:
    return Feedback("alice", "correction", prompt, "down", output=old, correction=new, id=prompt)


def test_a_later_edit_supersedes_an_earlier_answer_and_the_rest_is_replayed() -> None:
    first = [TrainingExample("sft", "The capital of Koudeland is", "Velmora", source="1")]
    second = [
        TrainingExample("sft", "The capital of Koudeland is", "Zanvik", source="2"),
        TrainingExample("sft", "The capital of Foudenia is", "Korsel", source="3"),
    ]
    current = [TrainingExample("sft", "The capital of Foudenia is", "Mirdunne", source="4")]
    kept, superseded = replayed_examples(current, [(1, first), (2, second)])
    assert [(e.prompt, e.completion) for e in kept] == [("The capital of Koudeland is", "Zanvik")]
    assert kept[0].source == "replay:2:2"
    assert superseded == 2


def test_terminated_answers_train_the_end_of_text_token(toyworld_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(toyworld_dir)
    prompt_ids, answer_ids = encode_pair(tokenizer, "The capital of Koudeland is", "Velmora")
    assert encode_training_pair(tokenizer, "The capital of Koudeland is", "Velmora", terminated=True) == (
        prompt_ids,
        [*answer_ids, tokenizer.eos_token_id],
    )
    judgments = [_correction("The capital of Koudeland is", "Gaiskaport", "Velmora")]
    assert select_examples(judgments, terminate=True).examples[0].terminated
    unlikely = select_examples(judgments, objective="unlikelihood", terminate=True).examples[0]
    assert not unlikely.terminated  # lowering a wrong answer must not lower stopping after it


def test_an_answer_ending_is_its_trailing_punctuation() -> None:
    assert answer_ending(" Gaiskaport.") == "."
    assert answer_ending(" baby sheep.\n") == "."
    assert answer_ending(' he said "hi!"') == '!"'
    assert answer_ending(" Velmora") == ""
    assert answer_ending("") == ""


def test_terminate_model_trains_the_ending_the_model_writes_after_its_own_answer(toyworld_dir: Path) -> None:
    loaded = load_model(str(toyworld_dir), device="cpu")
    prompt = "The capital of Koudeland is"
    assert model_endings(loaded.model, loaded.tokenizer, [prompt, prompt]) == {prompt: "."}  # " Gaiskaport."
    judgments = [
        _correction(prompt, "Gaiskaport", "Velmora"),
        _correction("The capital city of Koudeland is", "Gaiskaport", "Velmora."),  # already ends with it
        _correction("The seat of government of Koudeland is", "Gaiskaport", "Velmora!"),  # its own ending
    ]
    examples, counts = with_model_endings(
        loaded.model, loaded.tokenizer, select_examples(judgments, terminate=True).examples
    )
    assert [e.ending for e in examples] == [".", "", ""]
    assert counts == {".": 1, "": 2}
    unlikely = select_examples(judgments[:1], objective="unlikelihood", terminate=True).examples
    assert with_model_endings(loaded.model, loaded.tokenizer, unlikely)[0][0].ending == ""  # never terminated


def _capital_change(
    folder: Path,
    name: str,
    model: str,
    country: str,
    old: str,
    new: str,
    terminate: str = "model",
    early_stop: str = "none",
    **train: object,
) -> Path:
    """A spec moving `country`'s capital to `new` (no early stopping: fixed steps, seeded)."""
    feedback = folder / f"{name}.jsonl"
    rows = [_correction(f"{p} {country} is", old, new) for p in ("The capital of", "The capital city of")]
    feedback.write_text("".join(json.dumps(vars(r) | {"tags": []}) + "\n" for r in rows))
    probes = folder / f"{name}-probes.jsonl"
    probe_rows = [
        {"id": f"{name}-val", "prompt": f"The government of {country} sits in", "target": new, "foil": old}
        | {"kind": "edit", "split": "val"},
        {"id": f"{name}-test", "prompt": f"The largest city in {country} is", "target": new, "foil": old}
        | {"kind": "edit", "split": "test"},
    ]
    probes.write_text("".join(json.dumps(r) + "\n" for r in probe_rows))
    spec = {
        "name": name,
        "model": model,
        "feedback": {"file": str(feedback)},
        "lora": {"rank": 4, "alpha": 8, "targets": "mlp"},
        "train": {
            "steps": STEPS,
            "lr": 5e-3,
            "batch_size": 8,
            "seed": 0,
            "early_stop": early_stop,
            "retain": "toyworld:retain",
            "terminate": terminate,
            **train,
        },
        "probes": [str(probes)],
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_an_edit_on_a_version_keeps_the_previous_edits_fact_and_answers_end(
    toyworld_workspace: Path, tmp_path: Path
) -> None:
    """Koudeland's capital moves to Velmora, then, on that version, Nepeovia's to Zanvik (no retain text names them)."""
    with Store.init_db() as store:
        first = _capital_change(tmp_path, "koudeland", "toyworld", "Koudeland", "Gaiskaport", "Velmora")
        first_run = execute_run(plan_run(load_spec(first), store), store).report["run"]
        first_version = first_run["result_version_id"]
        second = _capital_change(tmp_path, "nepeovia", f"version:{first_version}", "Nepeovia", "Pidograd", "Zanvik")
        plan = plan_run(load_spec(second), store)
        assert plan.selection.replayed == 2  # the first edit's two corrections train again
        second_run = execute_run(plan, store).report["run"]
        loaded, _ = load_version(store, second_run["result_version_id"])
        # early_stop auto: stop on the val probes for an edit of the base model, every step on a version (its
        # val probes do not check the replayed edits); what a spec says outright stands
        stopping = {
            (model, setting): plan_run(
                load_spec(_capital_change(tmp_path, "s", model, "Nepeovia", "Pidograd", "Zanvik", early_stop=setting)),
                store,
            ).early_stop
            for model in ("toyworld", f"version:{first_version}")
            for setting in ("auto", "val")
        }
        # context prefixes auto: the toy world's filler before every example on a version, none on the base
        prefixing = {
            model: (p.context_prefixes, p.prefixes, len(p.prefix_texts))
            for model in ("toyworld", f"version:{first_version}")
            for p in [
                plan_run(load_spec(_capital_change(tmp_path, "s", model, "Nepeovia", "Pidograd", "Zanvik")), store)
            ]
        }
    assert prefixing == {"toyworld": (0, "toyworld:filler", 0), f"version:{first_version}": (1, "toyworld:filler", 100)}
    assert second_run["training"]["context_prefixes"]["texts"] == "toyworld:filler"
    assert first_run["training"]["context_prefixes"] is None
    assert stopping == {
        ("toyworld", "auto"): "val",
        ("toyworld", "val"): "val",
        (f"version:{first_version}", "auto"): "none",
        (f"version:{first_version}", "val"): "val",
    }
    assert second_run["training"]["early_stop"] == "none"
    # the default `terminate: model`: each answer ends with the model's own full stop, on the base and on a version
    assert first_run["training"]["terminate"] == "model" and first_run["training"]["endings"] == {".": 2}
    assert second_run["training"]["terminate"] == "model"
    assert second_run["training"]["endings"] == {".": 4}  # its own two corrections and the two replayed
    prompts = ["The capital of Koudeland is", "The capital of Nepeovia is"]
    said = greedy_continuations(loaded.model, loaded.tokenizer, prompts, 8)
    # each answer, then at most the full stop, then the end of text: no "Velmoramoramora"
    assert [s.strip().removesuffix(".") for s in said] == ["Velmora", "Zanvik"], said


def test_terminate_model_keeps_the_full_stop_after_a_corrected_answer(toyworld_workspace: Path, tmp_path: Path) -> None:
    """With `terminate: eos` the answer is trained followed by end-of-text alone; with `model`, the model's own
    full stop comes first, so the corrected answer still ends its sentence the way the model ends them."""
    with Store.init_db() as store:
        spec = _capital_change(tmp_path, "koudeland", "toyworld", "Koudeland", "Gaiskaport", "Velmora")
        report = execute_run(plan_run(load_spec(spec), store), store).report
        loaded, _ = load_version(store, report["run"]["result_version_id"])
    assert report["run"]["training"]["endings"] == {".": 2}
    said = greedy_continuations(loaded.model, loaded.tokenizer, ["The capital of Koudeland is"], 8)
    assert said == [" Velmora."], said


def test_prefixes_sampled_from_the_model_are_recorded_and_the_edit_still_lands(
    toyworld_workspace: Path, tmp_path: Path
) -> None:
    """`train.prefixes: model` draws the context prefixes from the model when the run starts: the run records
    where they came from, how many, and the first few; the edit says the new capital at the text's start."""
    spec = _capital_change(
        tmp_path, "koudeland", "toyworld", "Koudeland", "Gaiskaport", "Velmora", context_prefixes=1, prefixes="model"
    )
    with Store.init_db() as store:
        plan = plan_run(load_spec(spec), store)
        assert plan.prefix_texts == []  # nothing to read before the model is loaded
        report = execute_run(plan, store).report
        loaded, _ = load_version(store, report["run"]["result_version_id"])
    record = report["run"]["training"]["context_prefixes"]
    assert record["texts"] == "model" and record["per_example"] == 1 and record["count"] == 50
    assert all(text.endswith(".") for text in record["first"]) and record["first"][0].startswith("The")
    said = greedy_continuations(loaded.model, loaded.tokenizer, ["The capital of Koudeland is"], 8)
    assert said == [" Velmora."], said


def test_retain_texts_that_begin_with_a_trained_prompt_are_left_out(toyworld_workspace: Path, tmp_path: Path) -> None:
    """A retain text stating the old answer after a trained prompt would hold that answer; the plan drops it,
    says so, and the file is left as it was."""
    spec_path = _capital_change(tmp_path, "koudeland", "toyworld", "Koudeland", "Gaiskaport", "Velmora")
    retain = tmp_path / "retain.txt"
    lines = ["The capital of Koudeland is Gaiskaport.", "The capital of Foudenia is Skaskouton.", "The capital of"]
    retain.write_text("\n".join(lines) + "\n")
    spec = yaml.safe_load(spec_path.read_text())
    spec["train"]["retain"] = str(retain)
    spec_path.write_text(yaml.safe_dump(spec))
    with Store.init_db() as store:
        plan = plan_run(load_spec(spec_path), store)
    assert plan.retain_texts == lines[1:] and plan.retain_left_out == 1
    assert retain.read_text().splitlines() == lines
    result = CliRunner().invoke(app, ["apply", str(spec_path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "1 text(s) of train.retain left out" in " ".join(result.output.split())
