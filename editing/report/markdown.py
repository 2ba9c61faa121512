"""The report as Markdown, rendered from the same sections as the HTML (without the charts).

Every field is escaped, table cells and headings included, whether it came
from a user (prompts, completions) or from the report itself (split, kind,
method): HTML is written as text, Markdown markup characters are backslashed,
and line breaks become spaces so a cell stays in its row. The run record is a
fenced code block longer than any backtick run inside it, so it shows as text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from editing.report.comparison import build_comparison
from editing.report.sections import build_report
from editing.report.views import Cell, ComparedRun, ContaminationWarning, Subsection, SummaryList, Table, Verdict

_MARKUP = re.compile(r"([\\`*_\[\]|#~!])")
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_.:-]+")


def escape(text: Any) -> str:
    """Any text safe inside Markdown and inside a table cell: no live HTML, no markup, one line."""
    as_text = html.escape(str(text), quote=False)
    return _MARKUP.sub(r"\\\1", " ".join(as_text.splitlines()))


def code(text: Any) -> str:
    """A machine name as inline code when it is one plain word; escaped text otherwise (a code span
    cannot escape a backtick or a table's `|`)."""
    word = str(text)
    return f"`{word}`" if _PLAIN_WORD.fullmatch(word) else escape(word)


def fence(text: str, language: str = "") -> str:
    """`text` as a fenced code block whose fence is longer than any backtick run in it."""
    backtick_runs = [len(run) for run in re.findall(r"`+", text)]
    marker = "`" * max(3, max(backtick_runs, default=0) + 1)
    return f"{marker}{language}\n{text}\n{marker}\n"


def _cell(cell: Cell) -> str:
    parts = []
    if cell.badge:
        word = escape(cell.badge.word)
        parts.append(f"**{word}**" if cell.badge.alarming else word)
    if cell.text:
        shown = escape(cell.text)
        # a changed value in bold; Markdown emphasis cannot start or end with a space
        parts.append(f"**{shown.strip()}**" if cell.highlight and shown.strip() else shown)
    if cell.code_name:
        parts.append(f"({code(cell.code_name)})")
    if cell.after is not None:
        parts.append(f"→ {escape(cell.after)}")
    return " ".join(parts)


def _table(table: Table) -> str:
    lines = ["| " + " | ".join(escape(header) for header in table.headers) + " |", "|" + "---|" * len(table.headers)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in table.rows]
    return "\n".join(lines) + "\n"


def _verdict(verdict: Verdict, heading: str) -> str:
    return f"## {heading}: {escape(verdict.word)}\n\n{escape(verdict.line)}\n"


def _contamination(warning: ContaminationWarning | None) -> list[str]:
    if warning is None:
        return []
    lines = [f"> **{escape(warning.headline)}** {escape(warning.line)}", ">"]
    for probe in warning.probes:
        match = f", {escape(probe.match)}" if probe.match else ""
        lines.append(
            f"> - {code(probe.probe_id)} “{escape(probe.prompt)}” ≈ training “{escape(probe.training_prompt)}” "
            f"(similarity {probe.similarity:.2f}{match})"
        )
    if warning.unlisted:
        lines.append(f"> - and {warning.unlisted} more (see report.json)")
    return ["\n".join(lines) + "\n"]


def _summary(lists: Sequence[SummaryList], level: str) -> list[str]:
    parts = []
    for item in lists:
        bullets = "\n".join(f"- {escape(sentence)}" for sentence in item.sentences) or "- Nothing."
        parts.append(f"{level} {escape(item.title)}\n\n{bullets}\n")
    return parts


def _subsection(section: Subsection) -> list[str]:
    parts = [f"### {escape(section.title)}\n", _table(section.table)]
    if section.note:
        parts.append(escape(section.note) + "\n")
    return parts


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown: the HTML's content, without the charts."""
    sections = build_report(report)
    title = f" — {escape(sections.run_title)}" if sections.run_title else ""
    parts = [f"# Edit impact report{title}\n"]
    verdict = sections.verdict
    parts.append(_verdict(verdict, "Verdict"))
    parts += _contamination(sections.contamination)
    if verdict.gates:
        parts += [_table(verdict.gates), escape(verdict.note) + "\n"]
    parts += _summary(sections.summary, "##")
    if sections.earlier_edits:
        earlier = sections.earlier_edits
        parts += [f"## {escape(earlier.title)}\n", _table(earlier.table), escape(earlier.note) + "\n"]
    metrics = sections.metrics
    parts += [f"## {escape(metrics.title)}\n", _table(metrics.table), escape(metrics.note) + "\n"]
    for section in metrics.subsections:
        parts += _subsection(section)
    probes = sections.probes
    parts += [f"## {escape(probes.title)}\n", escape(probes.note) + "\n"]
    for group in probes.groups:
        parts += [f"### {escape(group.title)}\n", _table(group.table)]
    generations = sections.generations
    parts.append(f"## {escape(generations.title)}\n\n{escape(generations.note)}\n")
    if generations.table:
        parts.append(_table(generations.table))
    spectral = sections.spectral
    parts.append(f"## {escape(spectral.title)}\n")
    if spectral.computed:
        parts.append(f"*{escape(spectral.statement)}*\n")
    if spectral.note:
        parts.append(escape(spectral.note) + "\n")
    if spectral.modules:
        parts.append(_table(spectral.modules))
    for section in spectral.sweeps:
        parts += _subsection(section)
    parts += [f"## {escape(sections.run.title)}\n", fence(sections.run.json_text, "json")]
    return "\n".join(parts)


def _compared_run(run: ComparedRun) -> list[str]:
    return [_verdict(run.verdict, escape(run.label)), *_contamination(run.contamination), *_summary(run.summary, "###")]


def render_comparison_markdown(left: Mapping[str, Any], right: Mapping[str, Any]) -> str:
    """The comparison as Markdown, without the chart."""
    comparison = build_comparison(left, right)
    left_label, right_label = (escape(label) for label in comparison.labels)
    parts = [f"# Two edits compared — {left_label} · {right_label}\n"]
    for run in comparison.runs:
        parts += _compared_run(run)
    if comparison.gates:
        parts += ["## Gates\n", _table(comparison.gates)]
    parts += [f"## {escape(comparison.metrics_title)}\n", _table(comparison.metrics)]
    parts.append(f"## {escape(comparison.changes_title)}\n")
    parts.append(_table(comparison.changes) if comparison.changes else escape(comparison.no_changes_note) + "\n")
    return "\n".join(parts)
