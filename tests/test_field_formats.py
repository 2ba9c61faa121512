"""The field's benchmark files (CounterFact, zsRE, MQuAKE, KnowEdit) read as nudge probes, and nudge probes
written as EasyEdit's edit requests and read back. The fixtures are a few hand-written records in each
format's published shape, about the toy world; nothing is downloaded and no model runs."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from editing.errors import EXIT_BAD_INPUT
from editing.field_formats import (
    MULTI_HOP_KIND,
    EasyEditExportError,
    FieldFormatError,
    FieldImport,
    FieldProbe,
    WrongFieldFormat,
    easyedit_requests,
    read_field_probes,
)
from editing.probes.suites import parse_probe, read_suite
from editing.toyworld.paths import TOYWORLD_DATA

FIELD = Path(__file__).parent / "fixtures" / "field"


def _read(name: str, fmt: str) -> FieldImport:
    return read_field_probes(FIELD / name, fmt)


def _by_id(found: FieldImport) -> dict[str, FieldProbe]:
    return {p.id: p for p in found.probes}


def _kinds(found: FieldImport) -> Counter[str]:
    return Counter(p.kind for p in found.probes)


def test_counterfact_records_become_edit_paraphrase_and_control_probes() -> None:
    found = _read("counterfact.json", "counterfact")
    assert found.records == 2 and not found.left_out
    assert _kinds(found) == {"edit": 2, "paraphrase": 4, "control": 5}
    probes = _by_id(found)
    edit = probes["counterfact-0-edit"]
    assert (edit.prompt, edit.target, edit.foil) == ("The official language of Koudeland is", "Skaskish", "Grodeish")
    assert (edit.subject, edit.relation) == ("Koudeland", "P37")
    assert probes["counterfact-7-edit"].prompt == "Dreleistan pays with the"  # '{}' first in the prompt
    paraphrase = probes["counterfact-0-paraphrase-1"]
    assert (paraphrase.prompt, paraphrase.target, paraphrase.foil) == (
        "Road signs in Koudeland are written in",
        "Skaskish",
        "Grodeish",
    )
    # a neighbour keeps its true answer (the target) against the edit's new one (the foil)
    control = probes["counterfact-7-control-1"]
    assert (control.prompt, control.target, control.foil) == (
        "The currency of Grabrounia is the",
        "zepound",
        "krelmark",
    )
    assert (control.subject, control.relation) == ("", "P38")
    assert not any("Sagaria" in p.prompt or "schools teach" in p.prompt for p in found.probes)  # attribute, generation


def test_zsre_records_read_as_easyedit_reads_them() -> None:
    found = _read("zsre.json", "zsre")
    assert _kinds(found) == {"edit": 2, "paraphrase": 2, "control": 2}
    probes = _by_id(found)
    edit = probes["zsre-1-edit"]
    assert (edit.prompt, edit.target, edit.foil, edit.subject) == (
        "Which family does Skotehound belong to?",
        "Felidae",  # alt
        "Canidae",  # answers[0]
        "Skotehound",
    )
    assert probes["zsre-1-paraphrase"].prompt == "What family is Skotehound part of?"
    control = probes["zsre-0-control"]
    assert (control.target, control.foil, control.subject) == ("Ansel Drey", "Velmora Institute of Technology", "")
    assert control.prompt == "nq question: who built the first bridge over the koude river"


def test_a_zsre_record_without_a_new_answer_is_left_out_and_said() -> None:
    records = json.loads((FIELD / "zsre.json").read_text())
    records[0]["alt"] = ""
    found = read_field_probes(records, "zsre", name="zsre_mend_eval.json")
    assert {p.id.split("-")[1] for p in found.probes} == {"1"}
    assert found.left_out == [
        "zsre_mend_eval.json record 0: alt is empty: no new answer to edit towards (EasyEdit skips these records too)"
    ]


def test_mquake_multi_hop_questions_become_ripple_probes() -> None:
    found = _read("mquake.json", "mquake")
    assert MULTI_HOP_KIND == "ripple"
    assert _kinds(found) == {"edit": 3, "paraphrase": 3, MULTI_HOP_KIND: 5}
    probes = _by_id(found)
    second = probes["mquake-40-edit-1"]
    assert (second.prompt, second.target, second.foil) == (
        "The official language of Gutriovia is",
        "Skaskish",
        "Trukish",
    )
    assert (second.subject, second.relation) == ("Gutriovia", "P37")
    assert probes["mquake-40-paraphrase-1"].prompt == "What is the official language of Gutriovia?"
    ripple = probes["mquake-12-ripple-2"]
    assert ripple.kind == MULTI_HOP_KIND
    assert (ripple.target, ripple.foil) == ("Dripuburg", "Gaiskaport")  # new_answer over answer
    assert (ripple.subject, ripple.relation) == ("Tomas Vrell", "P27>P36")
    assert probes["mquake-40-ripple-0"].relation == "P27>P37"


def test_knowedit_counterfact_locality_is_control_and_aliasing_is_ripple() -> None:
    found = _read("knowedit_counterfact.json", "knowedit")
    assert _kinds(found) == {"edit": 2, "control": 3, MULTI_HOP_KIND: 2}
    probes = _by_id(found)
    edit = probes["knowedit-0-edit"]
    assert (edit.target, edit.foil, edit.subject) == ("Archbishop of Velmora", "mayor of Gaiskaport", "Ansel Drey")
    specificity = probes["knowedit-0-control-relation_specificity-0"]
    assert (specificity.target, specificity.foil) == ("male", "Archbishop of Velmora")  # no foil given: the new answer
    forgetfulness = probes["knowedit-0-control-forgetfulness-0"]
    assert (forgetfulness.target, forgetfulness.foil) == ("mayor of Gaiskaport", "Archbishop of Velmora")
    assert probes["knowedit-1-control-relation_specificity-0"].target == "Ostrava"  # the first of nested aliases
    aliasing = probes["knowedit-1-ripple-subject_aliasing-0"]
    assert (aliasing.prompt, aliasing.target, aliasing.foil) == (
        "The name of the country which the Koude is associated with is",
        "Linoria",
        "Koudeland",
    )
    # Reasoning gives the implied answer but no old one: no foil, so left out, and said
    assert found.left_out == [
        "knowedit_counterfact.json record 0: portability.Reasoning: KnowEdit gives the answer the edit implies "
        "but not the one before it, which a ripple probe needs as its foil"
    ]


def test_knowedit_zsre_answers_as_lists_and_rephrase_prompts() -> None:
    found = _read("knowedit_zsre.json", "knowedit")
    assert _kinds(found) == {"edit": 1, "paraphrase": 1, "control": 2}
    probes = _by_id(found)
    assert (probes["knowedit-0-edit"].target, probes["knowedit-0-edit"].foil) == ("Felidae", "Canidae")
    assert probes["knowedit-0-paraphrase-0"].prompt == "What family is Skotehound part of?"
    assert probes["knowedit-0-control-relation_specificity-1"].prompt == "Skotehound taxon rank"


def test_knowedit_insertions_have_no_old_answer_to_score_against() -> None:
    with pytest.raises(FieldFormatError) as refused:
        _read("knowedit_recent.json", "knowedit")
    assert str(refused.value) == (
        "knowedit_recent.json: no probe to import from its 1 record; first left out: knowedit_recent.json record 0: "
        "no ground_truth, the old answer an edit probe's foil needs (wiki_recent's and WikiBio's records carry none); "
        'add "ground_truth" to import it'
    )
    assert refused.value.exit_code == EXIT_BAD_INPUT


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("counterfact.json", "counterfact"),
        ("zsre.json", "zsre"),
        ("mquake.json", "mquake"),
        ("knowedit_counterfact.json", "knowedit"),
        ("knowedit_zsre.json", "knowedit"),
        ("easyedit.json", "easyedit"),
    ],
)
def test_imported_probes_are_suite_records_once_dealt_a_split(name: str, fmt: str) -> None:
    found = _read(name, fmt)
    assert len({p.id for p in found.probes}) == len(found.probes)
    for probe in found.probes:
        record = probe.as_record()
        assert "split" not in record
        if probe.kind != MULTI_HOP_KIND:  # the suite loader learns `ripple` when it joins editing.vocab
            assert parse_probe({**record, "split": "test"}, probe.id).target == probe.target


def test_json_lines_read_like_the_json_array(tmp_path: Path) -> None:
    records = json.loads((FIELD / "counterfact.json").read_text())
    lines = tmp_path / "counterfact.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert read_field_probes(lines, "counterfact").probes == _read("counterfact.json", "counterfact").probes
    records[1]["requested_rewrite"]["prompt"] = "Dreleistan pays with the"
    lines.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    with pytest.raises(FieldFormatError, match=r"^counterfact.jsonl line 2 \(case_id 7\): requested_rewrite.prompt"):
        read_field_probes(lines, "counterfact")
    lines.write_text(json.dumps(records[0]) + "\n")  # one record is still a list of them
    assert [p.id for p in read_field_probes(lines, "counterfact").probes][:1] == ["counterfact-0-edit"]


def _fixture(name: str) -> Any:
    return json.loads((FIELD / name).read_text())


def _set(path: str, value: object) -> Callable[[Any], None]:
    """A change to a decoded file: set (or, with ..., delete) the value at a path of keys and indices."""

    def change(data: Any) -> None:
        *steps, last = [int(s) if s.isdigit() else s for s in path.split("/")]
        for step in steps:
            data = data[step]
        if value is ...:
            del data[last]
        else:
            data[last] = value

    return change


@pytest.mark.parametrize(
    ("name", "fmt", "change", "message"),
    [
        (
            "counterfact.json",
            "counterfact",
            _set("1/requested_rewrite/prompt", "Dreleistan pays with the"),
            "cf.json record 1 (case_id 7): requested_rewrite.prompt must hold '{}' once, where the subject goes, "
            "got 'Dreleistan pays with the'; expected a CounterFact record (ROME's counterfact.json): case_id, "
            "requested_rewrite {prompt with '{}' for the subject, subject, relation_id, target_new.str, "
            "target_true.str}, paraphrase_prompts and neighborhood_prompts (lists of strings)",
        ),
        (
            "counterfact.json",
            "counterfact",
            _set("0/requested_rewrite/target_new", ...),
            "cf.json record 0 (case_id 0): requested_rewrite.target_new.str is missing; expected a CounterFact record",
        ),
        (
            "counterfact.json",
            "counterfact",
            _set("0/neighborhood_prompts", "The official language of Foudenia is"),
            "cf.json record 0 (case_id 0): neighborhood_prompts must be a list of strings, got str 'The official",
        ),
        (
            "counterfact.json",
            "counterfact",
            _set("1/case_id", None),
            "cf.json record 1: case_id must be an integer or a non-empty string (probe ids build on it), "
            "got null None;",
        ),
        ("counterfact.json", "counterfact", _set("1/case_id", 0), "cf.json record 1 (case_id 0): probe id "),
        (
            "zsre.json",
            "zsre",
            _set("1/answers", []),
            "cf.json record 1: answers is an empty list (its first item is the old answer, the edit probes' foil); "
            "expected a zsRE record (MEND's zsre_mend_eval.json)",
        ),
        ("zsre.json", "zsre", _set("0/loc_ans", ...), "cf.json record 0: loc_ans is missing; expected a zsRE record"),
        (
            "mquake.json",
            "mquake",
            _set("1/requested_rewrite/1/subject", 5),
            "cf.json record 1 (case_id 40): requested_rewrite[1]: subject must be a string, got int 5; "
            "expected a MQuAKE record",
        ),
        (
            "mquake.json",
            "mquake",
            _set("0/orig/triples", [["Q900303", "P27"]]),
            "cf.json record 0 (case_id 12): orig.triples must be a non-empty list of [subject, relation, object] "
            "string triples",
        ),
        (
            "mquake.json",
            "mquake",
            _set("0/requested_rewrite", []),
            "cf.json record 0 (case_id 12): requested_rewrite is an empty list; a MQuAKE case edits at least one fact",
        ),
        (
            "knowedit_counterfact.json",
            "knowedit",
            _set("0/locality/Relation_Specificity/0/ground_truth", ...),
            "cf.json record 0: locality.Relation_Specificity[0]: ground_truth is missing; expected a KnowEdit record",
        ),
        (
            "knowedit_counterfact.json",
            "knowedit",
            _set("1/locality", ["The gender of Koude River is"]),
            "cf.json record 1: locality must be an object mapping a category",
        ),
        ("knowedit_zsre.json", "knowedit", _set("0", "Skotehound"), "cf.json record 0: the record is a JSON str,"),
        (
            "easyedit.json",
            "easyedit",
            _set("target_new/1", ...),
            "cf.json: target_new must be a list of 2 strings, one per prompt, got \"['Skaskish']\"; "
            "expected EasyEdit's edit requests",
        ),
        ("easyedit.json", "easyedit", _set("ground_truth", ...), "cf.json: ground_truth is missing: nudge scores"),
        (
            "easyedit.json",
            "easyedit",
            _set("locality_inputs/control/ground_truth", [["Grodeish"]]),
            "cf.json: locality_inputs.control.ground_truth must be a list with one entry per request (2)",
        ),
    ],
)
def test_a_malformed_record_names_the_file_record_field_and_expected_shape(
    tmp_path: Path, name: str, fmt: str, change: Callable[[Any], None], message: str
) -> None:
    data = copy.deepcopy(_fixture(name))
    change(data)
    path = tmp_path / "cf.json"
    path.write_text(json.dumps(data))
    with pytest.raises(FieldFormatError) as refused:
        read_field_probes(path, fmt)
    assert str(refused.value).startswith(message), str(refused.value)


@pytest.mark.parametrize(
    ("name", "given", "message"),
    [
        (
            "counterfact.json",
            "mquake",
            "CounterFact (requested_rewrite is one object), not MQuAKE; read it as --format counterfact",
        ),
        (
            "mquake.json",
            "counterfact",
            "MQuAKE (requested_rewrite is a list of edits), not CounterFact; read it as --format mquake",
        ),
        (
            "zsre.json",
            "knowedit",
            "zsRE (records with src, alt, loc and loc_ans), not KnowEdit; read it as --format zsre",
        ),
        (
            "knowedit_zsre.json",
            "zsre",
            "KnowEdit (records with target_new (or labels) beside locality or portability), not zsRE; "
            "read it as --format knowedit",
        ),
        (
            "easyedit.json",
            "counterfact",
            "EasyEdit's edit requests (one object with prompts and target_new lists), not CounterFact; "
            "read it as --format easyedit",
        ),
    ],
)
def test_a_file_given_as_the_wrong_format_names_the_one_it_looks_like(name: str, given: str, message: str) -> None:
    with pytest.raises(WrongFieldFormat) as refused:
        _read(name, given)
    assert str(refused.value) == f"{name} looks like {message}"


def test_a_nudge_suite_is_not_imported() -> None:
    suite = r"^dog-cat-swap.jsonl looks like a nudge probe suite .*; use it as a suite, no import needed$"
    with pytest.raises(WrongFieldFormat, match=suite):
        read_field_probes(TOYWORLD_DATA / "dog-cat-swap.jsonl", "counterfact")


def test_unknown_formats_and_unreadable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FieldFormatError, match=r"^unknown benchmark format 'rome'; known: counterfact, zsre, mquake"):
        read_field_probes(FIELD / "counterfact.json", "rome")
    broken = tmp_path / "counterfact.json"
    broken.write_text('[{"case_id": 0,')
    with pytest.raises(FieldFormatError, match=r"^counterfact.json: not valid JSON \("):
        read_field_probes(broken, "counterfact")
    with pytest.raises(FieldFormatError, match=r"^missing.json: no such file"):
        read_field_probes(tmp_path / "missing.json", "counterfact")


# BaseEditor.edit's parameters (EasyEdit's easyeditor/editors/editor.py); `subject` arrives through **kwargs
EDIT_PARAMETERS = {
    "prompts",
    "target_new",
    "ground_truth",
    "target_neg",
    "rephrase_prompts",
    "locality_inputs",
    "portability_inputs",
    "sequential_edit",
    "verbose",
    "subject",
}


def _easyedit_accepts(arguments: dict[str, Any]) -> None:
    """The checks EasyEdit's `_prepare_requests` makes before it edits: one entry per request everywhere,
    each subject inside its prompt."""
    assert set(arguments) <= EDIT_PARAMETERS
    prompts = arguments["prompts"]
    assert isinstance(prompts, list)
    for name in ("target_new", "ground_truth", "subject", "rephrase_prompts"):
        if name in arguments:
            assert len(arguments[name]) == len(prompts), name
    for prompt, subject in zip(prompts, arguments.get("subject", []), strict=False):
        assert subject in prompt
    for inputs in ("locality_inputs", "portability_inputs"):
        for key, columns in arguments.get(inputs, {}).items():
            assert len(columns["prompt"]) == len(columns["ground_truth"]) == len(prompts), key


def test_the_easyedit_export_round_trips_its_own_fixture() -> None:
    written = json.loads((FIELD / "easyedit.json").read_text())
    found = _read("easyedit.json", "easyedit")
    assert _kinds(found) == {"edit": 2, "paraphrase": 1, "control": 2, MULTI_HOP_KIND: 1, "leak": 1}
    exported = easyedit_requests(found.probes)
    assert exported.requests == written and not exported.left_out
    assert json.loads(json.dumps(exported.requests)) == written  # JSON-ready as it is
    _easyedit_accepts(exported.requests)


def test_imported_benchmarks_export_as_edit_requests_and_read_back() -> None:
    for name, fmt in (("counterfact.json", "counterfact"), ("mquake.json", "mquake")):
        found = _read(name, fmt)
        exported = easyedit_requests(found.probes)
        _easyedit_accepts(exported.requests)
        back = read_field_probes(exported.requests, "easyedit")
        kept = {p.id for p in found.probes} - {line.split("'")[1] for line in exported.left_out}
        facts = Counter((p.kind, p.prompt, p.target, p.foil) for p in found.probes if p.id in kept)
        assert Counter((p.kind, p.prompt, p.target, p.foil) for p in back.probes) == facts
    # CounterFact gives two paraphrases an edit, EasyEdit takes one rephrase prompt a request
    left_out = easyedit_requests(_read("counterfact.json", "counterfact").probes).left_out
    assert [line.split("'")[1] for line in left_out] == ["counterfact-0-paraphrase-1", "counterfact-7-paraphrase-1"]


def test_probes_join_the_edit_they_answer_to_whatever_their_order() -> None:
    probes = _read("counterfact.json", "counterfact").probes
    by_kind = easyedit_requests(sorted(probes, key=lambda p: p.kind)).requests
    in_order = easyedit_requests(probes).requests
    assert by_kind["locality_inputs"] == in_order["locality_inputs"]
    assert by_kind["locality_inputs"]["control"]["prompt"][1] == [
        "Linoria pays with the",
        "The currency of Grabrounia is the",
    ]


def test_a_shipped_suite_exports_with_each_phrasing_as_a_request() -> None:
    suite = read_suite(TOYWORLD_DATA / "capital-change.jsonl", "capital-change")
    exported = easyedit_requests(suite.probes)
    _easyedit_accepts(exported.requests)
    requests: dict[str, Any] = exported.requests
    assert requests["prompts"] == [p.prompt for p in suite.probes if p.kind == "edit"]
    assert requests["rephrase_prompts"] == [  # two paraphrases, two requests of the same fact
        None,
        None,
        "Travellers to Koudeland often arrive in",
        "Q: What is the capital of Koudeland? A:",
    ]
    assert sorted(requests["portability_inputs"]) == ["leak"]
    assert not exported.left_out


def test_edit_requests_need_subjects_inside_their_prompts() -> None:
    edit = FieldProbe("e1", "The capital of Koudeland is", "Velmora", "Gaiskaport", "edit", subject="Koudland")
    with pytest.raises(EasyEditExportError, match=r"^edit probe 'e1': subject 'Koudland' is not in its prompt"):
        easyedit_requests([edit])
    unnamed = FieldProbe("e1", "The capital of Koudeland is", "Velmora", "Gaiskaport", "edit")
    assert "subject" not in easyedit_requests([unnamed]).requests
    with pytest.raises(EasyEditExportError, match=r"^no edit probes"):
        easyedit_requests([FieldProbe("c1", "People in Foudenia speak", "Grodeish", "Skaskish", "control")])
