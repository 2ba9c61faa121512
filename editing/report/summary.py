"""The report's plain-words summary: what the model now says, what leaked, what took, what else moved.

Every sentence follows the before/after numbers it stands on: "already held
before the edit" when nothing flipped, "still prefers" only for a probe that
preferred the same answer before, damage outside the gated split named as
context, and no contaminated probe called held out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from editing.impact.statistics import MIN_TESTABLE_PAIRS, SIGNIFICANCE, Estimate
from editing.report.formatting import bound_phrase, ci_phrase, count_phrase, p_phrase, percent_phrase

Row = dict[str, Any]


def _by_relation(rows: list[Row], finding: str) -> str:
    """ "toy 6 of 6, play 3 of 6": the relations where `finding` happened, most first."""
    totals = Counter(r["relation"] or "other" for r in rows)
    hits = Counter(r["relation"] or "other" for r in rows if r["finding"] == finding)
    return ", ".join(f"{rel} {hits[rel]} of {totals[rel]}" for rel in sorted(hits, key=lambda r: (-hits[r], r)))


def _prefers(row: Row, answer: str, other: str) -> str:
    """ "still prefers" when the probe preferred `answer` before the edit too, else "now prefers"; a margin
    of exactly 0 is a tie (counted against the target), said as one."""
    if row["margin_after"] == 0:
        return f'"{row["prompt"]}" scores "{row["target"]}" and "{row["foil"]}" alike (a tie counts against the target)'
    preferred_before = row["success_before"] == (answer == row["target"])
    when = "still" if preferred_before else "now"
    return f'"{row["prompt"]}" {when} prefers "{answer}" over "{other}"'


def _said(row: Row) -> str:
    continuation = row["continuation_after"].strip()
    return f'"{row["prompt"]}" → "{continuation}"' if continuation else f'"{row["prompt"]}" → nothing'


def _flips(rows: list[Row]) -> str:
    """ "no probe flipped by margin", or how many flipped to the target and how many away from it; then
    how many greedy answers began or stopped saying the target, when any did."""
    gained = sum(r["success_after"] and not r["success_before"] for r in rows)
    lost = sum(r["success_before"] and not r["success_after"] for r in rows)
    parts = [f"{gained} flipped to the target"] if gained else []
    parts += [f"{lost} flipped to the foil"] if lost else []
    text = f"{', '.join(parts)} by margin" if parts else "no probe flipped by margin"
    heard = [r for r in rows if r.get("says_before") is not None and r.get("says_after") is not None]
    began = sum(r["says_after"] == "target" != r["says_before"] for r in heard)
    stopped = sum(r["says_before"] == "target" != r["says_after"] for r in heard)
    said = [f"{began} began saying the target"] if began else []
    said += [f"{stopped} stopped saying it"] if stopped else []
    return f"{text}; by greedy answer {', '.join(said)}" if said else text


def _says_old(rows: list[Row]) -> str:
    """ "still says the old answer" when every one of `rows` said it before the edit too, "now says" when
    none did, else how many did."""
    before = sum(r.get("says_before") == "foil" for r in rows)
    unknown = sum(r.get("says_before") is None for r in rows)
    if unknown:
        return f"says the old answer ({before} said it before the edit too; {unknown} had no continuation before)"
    if before == len(rows):
        return "still says the old answer"
    if before == 0:
        return "now says the old answer"
    return f"says the old answer ({before} of them said it before the edit too)"


def _kind_noun(kind: str, rows: list[Row], contaminated: set[str] | None, split: str) -> str:
    """How the summary names a kind's probes; paraphrases are called unflagged only if none was flagged
    (`contaminated` None: contamination was flagged without naming the probes)."""
    if kind != "paraphrase":
        return f"{split} {kind} probes"
    if contaminated is None:
        return f"{split} paraphrase probes (contamination was flagged without naming probes: none is vouched for)"
    copied = sum(r["id"] in contaminated for r in rows)
    if copied:
        return f"{split} paraphrase probes ({copied} of them copy a training prompt, so they measure memory, not reach)"
    return f"{split} paraphrase probes (none flagged as a copy of a training prompt)"


# --- what the model now says -----------------------------------------------------------------------


def _says_sentences(rows: list[Row], split: str) -> list[str]:
    """Per kind, what the greedy continuations begin with after the edit (and before, for comparison)."""
    sentences = []
    for kind, new, old in (
        ("edit", "the new answer", "the old answer"),
        ("paraphrase", "the new answer", "the old answer"),
        ("leak", "the new answer", "the old answer"),
    ):
        heard = [r for r in rows if r["kind"] == kind and r.get("says_after") is not None]
        if not heard:
            continue
        after = Counter(r["says_after"] for r in heard)
        before = Counter(r["says_before"] for r in heard if r.get("says_before") is not None)
        unheard = len(heard) - sum(before.values())
        missing = f"; {unheard} had no continuation before the edit" if unheard else ""
        sentence = (
            f"Of {count_phrase(len(heard), f'{split} {kind} probe')}, the model's greedy answer now begins with "
            f"{new} on "
            f"{after['target']} (before the edit: {before['target']}), {old} on {after['foil']} "
            f"(before: {before['foil']}) and a third answer on {after['third']} (before: {before['third']}{missing})."
        )
        thirds = [r for r in heard if r["says_after"] == "third"]
        if thirds:
            sentence += " Third answers, e.g. " + "; ".join(_said(r) for r in thirds[:3]) + "."
        sentences.append(sentence)
    return sentences


# --- what leaked -----------------------------------------------------------------------------------


def _leak_sentences(
    rows: list[Row], metrics: Mapping[str, Estimate], split: str, thresholds: Mapping[str, float]
) -> list[str]:
    leaks = [r for r in rows if r["kind"] == "leak"]
    if not leaks:
        return [f"No leak probes in the {split} split: nothing gated here says whether the old behaviour comes back."]
    leaked = [r for r in leaks if r["finding"] == "leak"]
    leaked_before = sum(not r["success_before"] for r in leaks)
    rate = metrics["leak_rate"]
    said = Counter(r.get("says_after") for r in leaks)
    voiced_text = ""
    if len(leaks) > said[None]:
        voiced_text = (
            f"; greedy continuations give the old answer on {said['foil']}, "
            f"the new one on {said['target']} and a third answer on {said['third']}"
        )
    if not leaked:
        head = (
            "No leak probe prefers the old answer after the edit"
            if not said["foil"]
            else f"By margin no leak probe prefers the old answer after the edit, yet on {said['foil']} of "
            f"{len(leaks)} the model {_says_old([r for r in leaks if r.get('says_after') == 'foil'])}"
        )
        return [
            f"{head} (0 of {len(leaks)}{' by margin' if said['foil'] else ''}, "
            f"{leaked_before} of {len(leaks)} before{voiced_text}; "
            f"the leak rate could still be up to {bound_phrase(rate.ci_high, low=False)})."
        ]
    sentences = [
        f"{len(leaked)} of {count_phrase(len(leaks), f'{split} leak probe')} "
        f"{'prefers' if len(leaks) == 1 else 'prefer'} "
        "the old answer after the edit "
        f"({leaked_before} of {len(leaks)} before; {_by_relation(leaks, 'leak')}{voiced_text}); "
        f"leak rate {percent_phrase(rate.value)} ({ci_phrase(rate.to_dict(), '.0%', thresholds.get('leak_rate'))})."
    ]
    for relation in sorted({r["relation"] for r in leaked}):
        example = next(r for r in leaked if r["relation"] == relation)
        sentences.append(
            f"{relation or 'Other'}: {_prefers(example, example['foil'], example['target'])} "
            f"(margin {example['margin_before']:+.2f} → {example['margin_after']:+.2f})."
        )
    return sentences


# --- what took -------------------------------------------------------------------------------------


_NO_PROBES = {
    "edit": "nothing gated says whether the edit took",
    "paraphrase": "nothing gated says whether the edit reaches other phrasings",
}


def _took_sentences(
    rows: list[Row],
    metrics: Mapping[str, Estimate],
    contaminated: set[str] | None,
    split: str,
    margins: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    sentences = []
    for kind in ("edit", "paraphrase"):
        kind_rows = [r for r in rows if r["kind"] == kind]
        if not kind_rows:
            sentences.append(f"No {kind} probes in the {split} split: {_NO_PROBES[kind]}.")
            continue
        n = len(kind_rows)
        wins_after = sum(r["success_after"] for r in kind_rows)
        wins_before = sum(r["success_before"] for r in kind_rows)
        noun = _kind_noun(kind, kind_rows, contaminated, split)
        if wins_after == n and wins_before == n:
            sentence = (
                f"On the {noun} the target already beat the foil before the edit ({n} of {n} before and after); "
                f"{_flips(kind_rows)}."
            )
            change = margins.get(kind) or {}
            if change.get("value") is not None and change["value"] < 0 and (change.get("p_value") or 1) < SIGNIFICANCE:
                sentence += (
                    f" Yet the edit pushed their margins toward the foil by {-change['value']:.2f} nats on average "
                    f"({p_phrase(change['p_value'])})."
                )
        else:
            sentence = (
                f"On the {noun} the target beats the foil on {wins_after} of {n} after the edit "
                f"({wins_before} of {n} before; {_flips(kind_rows)}; {ci_phrase(metrics[kind].to_dict(), '.0%')})."
            )
        old_said = [r for r in kind_rows if r["finding"] == "says old"]
        if old_said:
            sentence += (
                f" Yet on {len(old_said)} of them the model {_says_old(old_said)}, "
                "so the margin's win is not what it says, e.g. " + "; ".join(_said(r) for r in old_said[:3]) + "."
            )
        thirds = [r for r in kind_rows if r["finding"] == "third answer"]
        if thirds:
            sentence += (
                f" {'And' if old_said else 'Yet'} on {len(thirds)} of them the model says neither answer (a third "
                "answer), so the margin's win is not what it says, e.g. "
                + "; ".join(_said(r) for r in thirds[:3])
                + "."
            )
        missed = [r for r in kind_rows if r["finding"] == "missed"]
        if missed:
            sentence += f" Missed, e.g. {_prefers(missed[0], missed[0]['foil'], missed[0]['target'])}."
            said_new = sum(r.get("says_after") == "target" for r in missed)
            if said_new:
                sentence += f" Yet on {said_new} of the missed the model's greedy answer is the new one."
        sentences.append(sentence)
    return sentences


# --- what else moved -------------------------------------------------------------------------------


def _control_sentences(controls: list[Row], unchanged: Estimate, split: str) -> list[str]:
    if not controls:
        return [f"No control probes in the {split} split: nothing gated here says what else changed."]
    damaged = [r for r in controls if r["finding"] == "damaged"]
    failing = [r for r in controls if r["finding"] == "failing"]
    noun = f"{split} control probe"
    if not damaged:
        sentences = [
            f"No {noun} changed (0 of {len(controls)}); the share held (`control_unchanged`: same continuation, "
            f"target ahead before and after) is at least {bound_phrase(unchanged.ci_low, low=True)} (95% CI)."
        ]
    else:
        sentences = [
            f"{len(damaged)} of {count_phrase(len(controls), noun)} changed ({_by_relation(controls, 'damaged')})."
        ]
        sentences += [_damage_example(row) for row in damaged[:3]]
    if failing:
        one = len(failing) == 1
        sentences.append(
            f"{count_phrase(len(failing), noun)} already failed before the edit (the foil beat or tied the target "
            "before "
            f"and after; {_by_relation(controls, 'failing')}) and kept {'its' if one else 'their'} continuation: "
            f"`control_unchanged` does not count {'it' if one else 'them'} as held, though the edit did not change "
            f"what {'it says' if one else 'they say'}; e.g. "
            + "; ".join(_prefers(r, r["foil"], r["target"]) for r in failing[:3])
            + "."
        )
    return sentences


def _damage_example(row: Row) -> str:
    if row["continuation_after"] != row["continuation_before"]:
        after, before = row["continuation_after"].strip(), row["continuation_before"].strip()
        if after == before:  # only whitespace changed: show it
            after, before = repr(row["continuation_after"])[1:-1], repr(row["continuation_before"])[1:-1]
        return f'"{row["prompt"]}" now continues "{after}" (was "{before}").'
    margins = f"margin {row['margin_before']:+.2f} → {row['margin_after']:+.2f}"
    if row["success_after"]:  # it flipped to the target: it moved the other way
        return f"{_prefers(row, row['target'], row['foil'])} ({margins})."
    return f"{_prefers(row, row['foil'], row['target'])} ({margins})."


def _outside_split_sentences(rows: Sequence[Row], split: str) -> list[str]:
    """Controls the other splits saw damaged: context a reader must see, though gates never read it."""
    sentences = []
    for other in sorted({r["split"] for r in rows} - {split}):
        of_split = [r for r in rows if r["split"] == other]
        controls = [r for r in of_split if r["kind"] == "control"]
        damaged = [r for r in controls if r["finding"] == "damaged"]
        if damaged:
            sentences.append(
                f"Outside the {split} split (context, not gated): {len(damaged)} of "
                f"{count_phrase(len(controls), f'{other} control probe')} changed. "
                + " ".join(_damage_example(r) for r in damaged[:3])
            )
    return sentences


def _outside_split_leaks(rows: Sequence[Row], split: str) -> list[str]:
    """Leaks the other splits saw (by margin, and said): context, never gated."""
    sentences = []
    for other in sorted({r["split"] for r in rows} - {split}):
        leaks = [r for r in rows if r["split"] == other and r["kind"] == "leak"]
        leaked = [r for r in leaks if r["finding"] == "leak"]
        said_old = [r for r in leaks if r.get("says_after") == "foil"]
        if leaked or said_old:
            sentences.append(
                f"Outside the {split} split (context, not gated): {len(leaked)} of "
                f"{count_phrase(len(leaks), f'{other} leak probe')} {'prefers' if len(leaks) == 1 else 'prefer'} "
                "the old "
                f"answer after the edit, and the model says it on {len(said_old)}."
            )
    return sentences


def _margin_sentence(control_margin: Mapping[str, Any] | None) -> list[str]:
    if not control_margin or control_margin.get("value") is None:
        return []
    if control_margin.get("p_value") is None:
        if control_margin["value"] == 0 and control_margin.get("p_min") == 1.0:  # no pair moved at all
            return ["No control margin moved."]
        return [
            f"Control margins moved by {control_margin['value']:+.2f} nats on average "
            f"({ci_phrase(control_margin)}): too few probes to test (fewer than {MIN_TESTABLE_PAIRS} moved)."
        ]
    if control_margin["p_value"] >= SIGNIFICANCE:
        return []
    direction = "fell" if control_margin["value"] < 0 else "rose"
    return [
        f"Control margins {direction} by {abs(control_margin['value']):.2f} nats on average "
        f"({ci_phrase(control_margin)}, {p_phrase(control_margin['p_value'])} over {control_margin['n']} probes, "
        f"where the smallest p the test can give is {control_margin['p_min']:.3g})."
    ]


def _fluency_sentences(metrics: Mapping[str, Mapping[str, Estimate]], controls_damaged: int, split: str) -> list[str]:
    sentences = []
    kl = metrics["after"]["kl"]
    if kl.value is not None:
        over = count_phrase(kl.n, "neutral text")
        sentences.append(f"Mean KL(base ‖ edited) over {over}: {kl.value:.4f} ({ci_phrase(kl.to_dict(), '.4f')}).")
    ppl = metrics["after"]["ppl_ratio"]
    if ppl.value is not None:
        sentences.append(
            f"Perplexity on the fluency text is {ppl.value:.3f}× what it was ({ci_phrase(ppl.to_dict(), '.3f')}); "
            "it measures how fluent the model is on that neutral text only, not whether facts it was not "
            "meant to change still hold."
        )
        if controls_damaged and ppl.ci_high is not None and ppl.ci_high <= 1.0:
            sentences.append(
                f"{count_phrase(controls_damaged, f'{split} control probe')} changed while perplexity did not rise "
                "(its whole interval is at or below 1): this damage is invisible to perplexity, and only the "
                "controls show it."
            )
        elif controls_damaged and ppl.ci_low is not None and ppl.ci_low <= 1.0:
            sentences.append(
                f"{count_phrase(controls_damaged, f'{split} control probe')} changed, and perplexity's interval "
                f"({ci_phrase(ppl.to_dict(), '.3f')}) cannot tell a rise from no change: perplexity cannot show this "
                "damage; "
                "only the controls do."
            )
    entropy_b, entropy_a = metrics["before"]["ngram_entropy"], metrics["after"]["ngram_entropy"]
    if entropy_a.value is not None and entropy_b.value is not None:
        sentences.append(
            f"Bigram entropy of the generations went from {entropy_b.value:.2f} to {entropy_a.value:.2f} bits."
        )
    return sentences


def _edit_of(row: Row, edit_labels: Mapping[str, str]) -> str:
    """The earlier edit a regression probe re-checks: its label when known (`swap (version 2)`), else read
    from its id (`v2:capital-test-1`: "version 2")."""
    if row["id"] in edit_labels:
        return edit_labels[row["id"]]
    prefix, _, _ = str(row["id"]).partition(":")
    return f"version {prefix[1:]}" if prefix.startswith("v") and prefix[1:].isdigit() else "an unnamed earlier edit"


def _regression_sentences(rows: list[Row], before_words: str, edit_labels: Mapping[str, str]) -> list[str]:
    """Earlier edits of the model version: per edit, how many of its regression probes this edit undid."""
    regressions = [r for r in rows if r["kind"] == "regression"]
    if not regressions:
        return []
    undone = [r for r in regressions if r["finding"] == "undone"]
    never = sum(r["finding"] not in ("kept", "undone") for r in regressions)  # did not hold before either
    never_text = f"; {never} did not hold before this edit either" if never else ""
    if not undone:
        kept = sum(r["finding"] == "kept" for r in regressions)
        return [f"Earlier edits: no regression probe was undone ({kept} of {len(regressions)} kept{never_text})."]
    edits = list(dict.fromkeys(_edit_of(r, edit_labels) for r in regressions))
    per_edit = []
    for edit in edits:
        of_edit = [r for r in regressions if _edit_of(r, edit_labels) == edit]
        lost = sum(r["finding"] == "undone" for r in of_edit)
        if lost:
            per_edit.append(f"{edit}: {lost} of {len(of_edit)}")
    example = undone[0]
    was = example["continuation_before"].strip()
    before = f' ({before_words}: "{was}")' if was else ""
    verb = "was" if len(regressions) == 1 else "were"
    return [
        f"Earlier edits: {len(undone)} of {count_phrase(len(regressions), 'regression probe')} {verb} undone, per "
        f"edit {'; '.join(per_edit)}{never_text}; e.g. {_said(example)}{before}."
    ]


def _moved_sentences(
    rows: list[Row],
    all_rows: Sequence[Row],
    metrics: Mapping[str, Any],
    split: str,
    before_words: str,
    edit_labels: Mapping[str, str],
) -> list[str]:
    controls = [r for r in rows if r["kind"] == "control"]
    damaged = sum(r["finding"] == "damaged" for r in controls)
    return [
        *_regression_sentences(rows, before_words, edit_labels),
        *_control_sentences(controls, metrics["after"]["control_unchanged"], split),
        *_outside_split_sentences(all_rows, split),
        *_margin_sentence(metrics["margin_change"].get("control")),
        *_fluency_sentences(metrics, damaged, split),
    ]


def summarize(
    rows: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, Any],
    split: str,
    contamination: Sequence[Mapping[str, Any]] = (),
    before_words: str = "before this edit",
    edit_labels: Mapping[str, str] | None = None,
    contaminated_unnamed: bool = False,
    thresholds: Mapping[str, float] | None = None,
) -> dict[str, list[str]]:
    """Plain-words sentences on the gated split: what the model now says (first), what leaked,
    what took, what else moved (with other splits' damage as context). `contamination`:
    `find_contamination`'s rows, whose probes are never called held out. `before_words`: what a
    regression probe's before phase is called ("before this edit"; the ledger: "when it was made").
    `edit_labels`: regression probe id -> the label of the earlier edit it re-checks.
    `contaminated_unnamed`: contamination was flagged without rows, so no paraphrase is called unflagged.
    `thresholds`: gated metric -> its gate's threshold, so a quoted interval gets the gate's digits."""
    all_rows = [dict(r) for r in rows]
    split_rows = [r for r in all_rows if r["split"] == split]
    contaminated = None if contaminated_unnamed else {str(r["probe_id"]) for r in contamination}
    return {
        "says": _says_sentences(split_rows, split),
        "leaked": [
            *_leak_sentences(split_rows, metrics["after"], split, thresholds or {}),
            *_outside_split_leaks(all_rows, split),
        ],
        "took": _took_sentences(split_rows, metrics["after"], contaminated, split, metrics["margin_change"]),
        "moved": _moved_sentences(split_rows, all_rows, metrics, split, before_words, edit_labels or {}),
    }
