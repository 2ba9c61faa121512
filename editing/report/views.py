"""The report's views: dataclasses that hold what a page shows, as plain, unescaped text and numbers.

`sections.py` (one report) and `comparison.py` (two runs) fill them in; `html.py`
and `markdown.py` only lay them out and escape them, so a sentence or a figure is
written in one place and every format agrees.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#8C6D31")
BEFORE_COLOUR, AFTER_COLOUR = "#9AA5B1", "#0072B2"


# --- building blocks: cells, tables, charts -------------------------------------------------------


@dataclass(frozen=True)
class Badge:
    """A coloured word: a gate's status (PASS) or a probe's finding (leak)."""

    status: str  # the colour's class: a gate status (pass, fail, uncertain), or a finding
    word: str
    alarming: bool  # news a reader must not miss; Markdown writes it in bold


@dataclass(frozen=True)
class Cell:
    """One table cell: its text and how it wants to be shown."""

    text: str = ""
    numeric: bool = False  # a figure: right-aligned
    identifier: bool = False  # an id: never wrapped
    hint: str = ""  # what the value means, shown on hover
    code_name: str = ""  # a machine name shown beside the text (`leak_rate`)
    badge: Badge | None = None  # shown before the text
    after: str | None = None  # when set, the cell shows a change: text → after
    stress_after: bool = False  # the `after` side is news (a continuation that changed)
    highlight: bool = False  # the cell's value changed
    tone: str = ""  # "good" or "bad": a difference better or worse for the run on the right
    sort_key: str | None = None  # what a sortable column sorts by, when not the text


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[Cell]]
    sortable: bool = False


@dataclass(frozen=True)
class IntervalSeries:
    name: str
    colour: str
    estimates: list[Mapping[str, Any] | None]  # one per category: {value, ci_low, ci_high, n} or None


@dataclass(frozen=True)
class IntervalChart:
    """Bars with 95% interval whiskers: one group per category, one bar per series."""

    title: str
    categories: list[str]
    series: list[IntervalSeries]
    y_label: str
    y_range: tuple[float, float] | None = None  # None: fitted to the data, with zero in view


@dataclass(frozen=True)
class LineSeries:
    name: str
    points: list[tuple[float, float | None]]


@dataclass(frozen=True)
class LineChart:
    """Lines with points, one per series, and dashed horizontal references (name, y)."""

    title: str
    series: list[LineSeries]
    x_label: str
    y_label: str
    references: list[tuple[str, float]] = field(default_factory=list)
    y_range: tuple[float, float] | None = None  # None: fitted, on a log scale when the values span 100×


# --- the sections ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContaminatedProbe:
    probe_id: str
    prompt: str
    training_prompt: str
    similarity: float
    match: str  # exact, near, contained; empty when the row does not say


@dataclass(frozen=True)
class ContaminationWarning:
    headline: str
    line: str
    probes: list[ContaminatedProbe]  # the first CONTAMINATION_LISTED
    unlisted: int  # how many more report.json holds


@dataclass(frozen=True)
class Verdict:
    status: str  # report.json's verdict status: pass, fail, uncertain or none (editing.vocab.VERDICT_STATUSES)
    word: str
    line: str
    gates: Table | None
    note: str


@dataclass(frozen=True)
class SummaryList:
    key: str  # leaked, moved, took
    title: str
    sentences: list[str]


@dataclass(frozen=True)
class Subsection:
    """A table under a heading, with an optional chart and note."""

    title: str
    table: Table
    chart: IntervalChart | LineChart | None = None
    note: str = ""
    folded: bool = False  # context a reader may skip: HTML shows it collapsed
    chart_first: bool = True  # the chart above the table (a sweep) or below it (the margin changes)


@dataclass(frozen=True)
class Metrics:
    title: str
    table: Table
    note: str
    rates_chart: IntervalChart | None
    subsections: list[Subsection]


@dataclass(frozen=True)
class ProbeGroup:
    kind: str
    title: str  # e.g. "Leak probes: ... (12 probes, 9 leaked)"
    table: Table


@dataclass(frozen=True)
class Probes:
    title: str
    note: str
    groups: list[ProbeGroup]


@dataclass(frozen=True)
class Generations:
    title: str
    note: str
    table: Table | None  # None when none were recorded


@dataclass(frozen=True)
class Spectral:
    title: str
    computed: bool
    statement: str
    note: str
    spectrum_chart: LineChart | None
    modules: Table | None
    sweeps: list[Subsection]


@dataclass(frozen=True)
class RunEntry:
    key: str
    value: str  # JSON when `structured`
    structured: bool


@dataclass(frozen=True)
class RunRecord:
    title: str
    entries: list[RunEntry]
    json_text: str  # the whole record, for formats that show it as one block


@dataclass(frozen=True)
class Report:
    """Everything one report shows, in reading order."""

    run_title: str
    schema_version: Any
    verdict: Verdict
    contamination: ContaminationWarning | None
    summary: list[SummaryList]
    metrics: Metrics
    probes: Probes
    generations: Generations
    spectral: Spectral
    run: RunRecord
    earlier_edits: Subsection | None = None  # None when the run's model had no earlier edits


@dataclass(frozen=True)
class ComparedRun:
    label: str
    verdict: Verdict
    contamination: ContaminationWarning | None
    summary: list[SummaryList]


@dataclass(frozen=True)
class Comparison:
    """Two runs side by side: verdicts, gates and metrics with deltas (right − left), probes that differ."""

    labels: tuple[str, str]
    runs: tuple[ComparedRun, ComparedRun]
    gates: Table | None
    metrics_title: str
    metrics: Table
    rates_chart: IntervalChart | None
    changes_title: str
    changes: Table | None
    no_changes_note: str
