"""nudge's one vocabulary: metrics, probe kinds, splits, findings and verdict statuses, each named once.

Everything that shows, checks or gates these names reads them from here: the
report (labels, help, number formats), `report.json`'s schema (enums), the
gates and the spec's validation (which metrics can be gated), the probe
loader (kinds and splits), and every list and console line that shows a
verdict (its label and colour). The store's CHECK constraints keep their own copy
(`store/validation.py`: the store imports nothing of editing/), and a test
checks that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """One number the report shows and a gate can test."""

    name: str  # the key in report.json's `metrics` and in a spec's `gates`
    label: str  # how the report titles it
    help: str  # one sentence: what it measures, and which way is better
    fmt: str  # format spec for the value and its interval ends
    higher_is_better: bool
    gateable: bool  # whether a spec may set a threshold on it
    rate: bool  # a proportion of probes, with a Wilson interval; else a mean with a bootstrap interval
    probe_kind: str | None = None  # the probe kind a rate counts, when it is a rate
    counts: str | None = None  # which probes of that kind a rate counts: one of OUTCOMES

    def format(self, value: float | None) -> str:
        """The value in the metric's format; `n/a` when there is none."""
        return "n/a" if value is None else format(value, self.fmt)


# What a rate metric counts, per probe. "wins" compares teacher-forced log-probs (the margin); "says"
# reads the greedy continuation: does it begin with the target, the foil, or neither (a third answer)?
OUTCOMES: dict[str, str] = {
    "target_wins": "the target's log-prob beats the foil's",
    "foil_wins": "the foil's log-prob beats (or ties) the target's",
    "control_held": "same greedy continuation as before, and the target still beats the foil",
    "says_target": "the greedy continuation begins with the target, as whole tokens",
    "says_foil": "the greedy continuation begins with the foil, as whole tokens",
    "says_third": "the greedy continuation begins with neither the target nor the foil",
}

METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "edit",
            "Edit success",
            "share of edit probes where the new answer (target) beats the old one (foil); higher is better",
            ".2f",
            higher_is_better=True,
            gateable=True,
            rate=True,
            probe_kind="edit",
            counts="target_wins",
        ),
        Metric(
            "edit_says",
            "Edit probes saying the target",
            "share of edit probes whose greedy continuation begins with the new answer (target): "
            "what the model now says; higher is better",
            ".2f",
            higher_is_better=True,
            gateable=True,
            rate=True,
            probe_kind="edit",
            counts="says_target",
        ),
        Metric(
            "paraphrase",
            "Paraphrase success",
            "the same on paraphrase probes, phrasings meant to be held out of training; higher is better",
            ".2f",
            higher_is_better=True,
            gateable=True,
            rate=True,
            probe_kind="paraphrase",
            counts="target_wins",
        ),
        Metric(
            "paraphrase_says",
            "Paraphrases saying the target",
            "the same on paraphrase probes; higher is better",
            ".2f",
            higher_is_better=True,
            gateable=True,
            rate=True,
            probe_kind="paraphrase",
            counts="says_target",
        ),
        Metric(
            "leak_rate",
            "Leak rate",
            "share of leak probes where the old answer still wins; lower is better",
            ".2f",
            higher_is_better=False,
            gateable=True,
            rate=True,
            probe_kind="leak",
            counts="foil_wins",
        ),
        Metric(
            "leak_says_new",
            "Leak probes saying the new answer",
            "share of leak probes whose greedy continuation begins with the new answer (target); higher is better",
            ".2f",
            higher_is_better=True,
            gateable=True,
            rate=True,
            probe_kind="leak",
            counts="says_target",
        ),
        Metric(
            "leak_says_old",
            "Leak probes saying the old answer",
            "share of leak probes whose greedy continuation begins with the old answer (foil): "
            "leaks the model voices; lower is better",
            ".2f",
            higher_is_better=False,
            gateable=True,
            rate=True,
            probe_kind="leak",
            counts="says_foil",
        ),
        Metric(
            "leak_says_third",
            "Leak probes saying a third answer",
            "share of leak probes whose greedy continuation begins with neither answer; lower is better",
            ".2f",
            higher_is_better=False,
            gateable=True,
            rate=True,
            probe_kind="leak",
            counts="says_third",
        ),
        Metric(
            "regression",
            "Earlier edits kept",
            "share of regression probes (earlier edits' test edit and paraphrase probes) where the earlier "
            "edit's answer (target) still beats what it replaced (foil); higher is better",
            ".2f",
            higher_is_better=True,
            gateable=True,
            rate=True,
            probe_kind="regression",
            counts="target_wins",
        ),
        Metric(
            "regression_says",
            "Earlier edits still said",
            "share of regression probes whose greedy continuation still begins with the earlier edit's answer "
            "(target); the `regressions` gate judges it per earlier edit; higher is better",
            ".2f",
            higher_is_better=True,
            gateable=True,
            rate=True,
            probe_kind="regression",
            counts="says_target",
        ),
        Metric(
            "control_unchanged",
            "Controls unchanged",
            "share of control probes with the same greedy continuation and the old answer still winning; "
            "higher is better",
            ".2f",
            higher_is_better=True,
            gateable=True,
            rate=True,
            probe_kind="control",
            counts="control_held",
        ),
        Metric(
            "kl",
            "KL(base ‖ edited)",
            "mean KL divergence of the edited model from the base on neutral text "
            "(the fluency text, which training never saw); lower is better",
            ".4f",
            higher_is_better=False,
            gateable=True,
            rate=False,
        ),
        Metric(
            "ppl_ratio",
            "Perplexity ratio",
            "perplexity on the fluency text after / before; 1 is unchanged, lower is better",
            ".3f",
            higher_is_better=False,
            gateable=True,
            rate=False,
        ),
        Metric(
            "ngram_entropy",
            "Bigram entropy (bits)",
            "entropy of the bigrams in the generations; a drop means repetitive text",
            ".2f",
            higher_is_better=True,
            gateable=True,
            rate=False,
        ),
    )
}
RATE_METRICS: tuple[str, ...] = tuple(name for name, m in METRICS.items() if m.rate)
FLUENCY_METRICS: tuple[str, ...] = tuple(name for name, m in METRICS.items() if not m.rate)
GATEABLE_METRICS: tuple[str, ...] = tuple(name for name, m in METRICS.items() if m.gateable)
# DESIGN.md writes `leak <= 0.2`; a spec's `regressions` gate is on `regression_says`, judged per earlier edit
GATE_ALIASES = {"leak": "leak_rate", "regressions": "regression_says"}


@dataclass(frozen=True)
class ProbeKind:
    """What a kind of probe asks, and what its target and foil mean."""

    name: str
    title: str  # the report's heading for the kind's section
    question: str
    authored: bool = True  # written in probe suites; False for kinds nudge derives (a suite may not use them)


PROBE_KINDS: dict[str, ProbeKind] = {
    k.name: k
    for k in (
        ProbeKind("edit", "Edit probes: did the edit take?", "did the edit take where it was trained?"),
        ProbeKind(
            "paraphrase",
            "Paraphrase probes: does it hold for other phrasings?",
            "does it hold for phrasings meant to be held out of training?",
        ),
        ProbeKind(
            "leak",
            "Leak probes: does the old behaviour come back through a side door?",
            "does the old behaviour come back through a side door?",
        ),
        ProbeKind(
            "control",
            "Control probes: did anything it should not touch move?",
            "did anything it should not touch move?",
        ),
        ProbeKind(
            "regression",
            "Regression probes: do earlier edits still hold?",
            "does every earlier edit of the model version still say what it taught?",
            authored=False,  # an earlier edit's test edit and paraphrase probes, re-scored by a later run
        ),
    )
}
AUTHORED_PROBE_KINDS: tuple[str, ...] = tuple(name for name, k in PROBE_KINDS.items() if k.authored)
# the report's order: worst news first
KIND_ORDER: tuple[str, ...] = ("leak", "regression", "control", "edit", "paraphrase")

SPLITS: tuple[str, ...] = ("train", "val", "test")  # gates are judged on `test` only
SPLIT_ORDER: tuple[str, ...] = ("test", "val", "train")  # the report's order: what gates read first


@dataclass(frozen=True)
class Finding:
    """What happened to one probe, in a word."""

    name: str
    bad: bool  # whether the report lists it first, as news a reader must see
    meaning: str


FINDINGS: dict[str, Finding] = {
    f.name: f
    for f in (
        Finding(
            "took",
            False,
            "edit, paraphrase or leak probe: the target beats the foil after the edit, "
            "and the greedy continuation begins with neither the foil nor a third answer",
        ),
        Finding(
            "says old",
            True,
            "edit, paraphrase, leak or regression probe: the target beats the foil after the edit, "
            "but the greedy continuation begins with the foil: the model still says the old answer",
        ),
        Finding(
            "third answer",
            True,
            "edit, paraphrase, leak or regression probe: the target beats the foil after the edit, "
            "but the greedy continuation begins with neither: the model says something else",
        ),
        Finding("missed", True, "edit, paraphrase or regression probe: the foil still wins after the edit"),
        Finding("leak", True, "leak probe: the old answer (foil) still wins after the edit"),
        Finding("held", False, "control probe: same greedy continuation, and the old answer still wins"),
        Finding(
            "kept",
            False,
            "regression probe: the earlier edit's answer (target) still wins, and the greedy continuation "
            "begins with it",
        ),
        Finding(
            "undone",
            True,
            "regression probe: the earlier edit held before (its answer won, and was said where a continuation was "
            "recorded) and no longer does",
        ),
        Finding(
            "damaged",
            True,
            "control probe: its continuation changed (to anything), or its margin flipped either way "
            "(the old answer lost, or a control that failed before now passes)",
        ),
        Finding(
            "failing",
            True,
            "control probe: the foil already beat the target before the edit and still does, and the continuation "
            "did not change; `control_unchanged` does not count it as held",
        ),
    )
}
BAD_FINDINGS: frozenset[str] = frozenset(name for name, f in FINDINGS.items() if f.bad)



@dataclass(frozen=True)
class Status:
    """What a gate or a whole verdict came to, and how every reader shows it."""

    name: str  # report.json's `verdict.status`, and a gate row's `status` (never NO_GATES)
    label: str  # how lists write it: `nudge runs list`, `versions list`, the app's runs, the demo's table
    colour: str  # how the console colours it (a rich colour name)

    @property
    def word(self) -> str:
        """How the report's verdict and `nudge apply` headline it: the label in capitals (NO GATES)."""
        return self.label.upper()


# The verdict's status when no gate row was judged (none was set, or only a `regressions` gate on a model
# with no earlier edits) and no test probe is contaminated: nothing was checked against a threshold.
NO_GATES = "none"
VERDICT_STATUSES: dict[str, Status] = {
    s.name: s
    for s in (
        Status("pass", "pass", "green"),  # every gate's whole 95% interval is on its passing side
        Status("fail", "fail", "red"),  # some gate's whole interval is on its failing side
        Status("uncertain", "uncertain", "yellow"),  # else an interval straddles, or a test probe is contaminated
        Status(NO_GATES, "no gates", "white"),
    )
}
GATE_STATUSES: tuple[str, ...] = tuple(name for name in VERDICT_STATUSES if name != NO_GATES)


def status_label(status: str | None) -> str:
    """A recorded status as lists write it ("no gates"); one this vocabulary does not know as it is; "" for none."""
    if status is None:
        return ""
    return VERDICT_STATUSES[status].label if status in VERDICT_STATUSES else status

# The paired tests behind the report's p-values (report.json's `metrics.tests[*].test`), by how the report names them.
STATISTICAL_TESTS: dict[str, str] = {
    "mcnemar_exact": "McNemar exact",
    "paired_bootstrap": "paired bootstrap",
    "sign_flip_exact": "exact sign-flip",
    "sign_flip_monte_carlo": "sign-flip (Monte Carlo)",
    "jackknife": "paired jackknife",
}
