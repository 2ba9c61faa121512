"""The report's charts, drawn by hand as inline SVG (no plotting library: the page must stay self-contained
under its Content-Security-Policy, which forbids fetching anything).

The SVG is built here, not in a template, by a small builder: `_Canvas` maps
data to pixels and collects elements. Every piece of text that reaches the
markup (titles, labels, tooltips, which may hold user text) goes through
`markupsafe.escape`, and numbers are formatted, so the result is safe to mark as
`Markup` and drop into an autoescaped template.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from editing.report.formatting import estimate_text
from editing.report.views import PALETTE, IntervalChart, LineChart

LEGEND_ENTRIES = 12  # more would run off the plot's height
LEGEND_LABEL_CHARS = 26


def _nice_step(span: float, count: int) -> float:
    """A 1-2-2.5-5 step that cuts `span` into about `count` intervals."""
    raw = span / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = _nice_step(high - low, count)
    tick = math.ceil(low / step - 1e-9) * step
    ticks = []
    while tick <= high + 1e-9 * step:
        ticks.append(round(tick, 12))
        tick += step
    return ticks


def _tick_label(value: float) -> str:
    return f"{value:g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.0e}"


class _Canvas:
    """Pixel mapping and SVG elements for one plot: a left axis, a bottom axis, a legend on the right."""

    def __init__(
        self, title: str, x_range: tuple[float, float], y_range: tuple[float, float], log_y: bool = False
    ) -> None:
        self.title, self.log_y = title, log_y
        self.width, self.height = 720, 300
        self.left, self.right, self.top, self.bottom = 60, 520, 30, 250
        self.x_range, self.y_range = x_range, y_range
        self.elements: list[str] = []

    def _y_unit(self, value: float) -> float:
        return math.log10(value) if self.log_y else value

    def x_pixel(self, value: float) -> float:
        low, high = self.x_range
        return self.left + (value - low) / ((high - low) or 1) * (self.right - self.left)

    def y_pixel(self, value: float) -> float:
        low, high = (self._y_unit(v) for v in self.y_range)
        return self.bottom - (self._y_unit(value) - low) / ((high - low) or 1) * (self.bottom - self.top)

    def y_axis(self, label: str) -> None:
        low, high = self.y_range
        if self.log_y:
            ticks = [10.0**power for power in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)]
            ticks = [tick for tick in ticks if low <= tick <= high] or [low, high]
        else:
            ticks = _ticks(low, high)
        for tick in ticks:
            y = self.y_pixel(tick)
            self.elements.append(
                f'<line x1="{self.left}" x2="{self.right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                f'<text x="{self.left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(_tick_label(tick))}</text>'
            )
        middle = (self.top + self.bottom) / 2
        self.elements.append(
            f'<text transform="translate(14 {middle:.0f}) rotate(-90)" text-anchor="middle">{escape(label)}</text>'
        )

    def x_axis(self, ticks: Sequence[tuple[float, str]], label: str) -> None:
        self.elements.append(
            f'<line x1="{self.left}" x2="{self.right}" y1="{self.bottom}" y2="{self.bottom}" class="axis"/>'
        )
        for value, tick_text in ticks:
            self.elements.append(
                f'<text x="{self.x_pixel(value):.1f}" y="{self.bottom + 16}" text-anchor="middle">'
                f"{escape(tick_text)}</text>"
            )
        if label:
            centre = (self.left + self.right) / 2
            self.elements.append(
                f'<text x="{centre:.0f}" y="{self.bottom + 36}" text-anchor="middle">{escape(label)}</text>'
            )

    def legend(self, entries: Sequence[tuple[str, str, bool]]) -> None:
        """Entries of (label, colour, dashed); the first LEGEND_ENTRIES are shown."""
        for i, (label, colour, dashed) in enumerate(entries[:LEGEND_ENTRIES]):
            y = self.top + 6 + 18 * i
            dash = ' stroke-dasharray="5 3"' if dashed else ""
            short = label if len(label) <= LEGEND_LABEL_CHARS else label[: LEGEND_LABEL_CHARS - 1] + "…"
            self.elements.append(
                f'<line x1="{self.right + 16}" x2="{self.right + 36}" y1="{y}" y2="{y}" stroke="{escape(colour)}" '
                f'stroke-width="3"{dash}/><text x="{self.right + 42}" y="{y + 4}"><title>{escape(label)}</title>'
                f"{escape(short)}</text>"
            )
        if len(entries) > LEGEND_ENTRIES:
            y = self.top + 6 + 18 * LEGEND_ENTRIES
            self.elements.append(
                f'<text x="{self.right + 16}" y="{y + 4}">and {len(entries) - LEGEND_ENTRIES} more</text>'
            )

    def svg(self) -> Markup:
        title = escape(self.title)
        return Markup(
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" role="img" '
            f'aria-label="{title}" class="plot"><title>{title}</title>'
            f'<text x="{self.left}" y="16" class="plot-title">{title}</text>' + "".join(self.elements) + "</svg>"
        )


def interval_chart_svg(chart: IntervalChart) -> Markup:
    """Bars with 95% interval whiskers: one group per category, one bar per series."""
    values = [
        bound
        for series in chart.series
        for estimate in series.estimates
        if estimate and estimate.get("value") is not None
        for bound in (estimate["value"], estimate.get("ci_low"), estimate.get("ci_high"))
        if bound is not None
    ]
    y_range = chart.y_range
    if y_range is None:
        low, high = min([0.0, *values]), max([0.0, *values])
        pad = 0.1 * ((high - low) or 1)
        y_range = (low - pad if low < 0 else 0.0, high + pad)
    canvas = _Canvas(chart.title, (0, len(chart.categories)), y_range)
    canvas.y_axis(chart.y_label)
    zero = canvas.y_pixel(min(max(0.0, y_range[0]), y_range[1]))
    slot = (canvas.right - canvas.left) / max(1, len(chart.categories))
    bar_width = slot * 0.7 / max(1, len(chart.series))
    for category_index, category in enumerate(chart.categories):
        for series_index, series in enumerate(chart.series):
            estimate = series.estimates[category_index]
            if not estimate or estimate.get("value") is None:
                continue
            left = canvas.left + slot * category_index + slot * 0.15 + bar_width * series_index
            top = canvas.y_pixel(estimate["value"])
            tip = f"{category}, {series.name}: {estimate_text(estimate)} (n = {estimate.get('n')})"
            canvas.elements.append(
                f'<rect x="{left:.1f}" y="{min(top, zero):.1f}" width="{bar_width * 0.9:.1f}" '
                f'height="{abs(zero - top):.1f}" fill="{escape(series.colour)}"><title>{escape(tip)}</title></rect>'
            )
            if estimate.get("ci_low") is not None:
                centre = left + bar_width * 0.45
                y_low, y_high = canvas.y_pixel(estimate["ci_low"]), canvas.y_pixel(estimate["ci_high"])
                canvas.elements.append(
                    f'<path d="M{centre:.1f} {y_low:.1f}V{y_high:.1f}M{centre - 5:.1f} {y_low:.1f}h10'
                    f'M{centre - 5:.1f} {y_high:.1f}h10" class="whisker"/>'
                )
    canvas.elements.append(
        f'<line x1="{canvas.left}" x2="{canvas.right}" y1="{zero:.1f}" y2="{zero:.1f}" class="axis"/>'
    )
    canvas.x_axis([(index + 0.5, category) for index, category in enumerate(chart.categories)], "")
    canvas.legend([(series.name, series.colour, False) for series in chart.series])
    return canvas.svg()


def line_chart_svg(chart: LineChart) -> Markup:
    """Lines with points, one per series, and dashed horizontal references; empty when nothing has a value."""
    points = [(x, y) for series in chart.series for x, y in series.points if y is not None]
    if not points:
        return Markup("")
    xs = [x for x, _ in points]
    ys = [y for _, y in points] + [y for _, y in chart.references]
    log_y = chart.y_range is None and all(y > 0 for y in ys) and max(ys) / min(ys) > 100
    y_range = chart.y_range
    if y_range is None:
        if log_y:
            y_range = (10 ** math.floor(math.log10(min(ys))), 10 ** math.ceil(math.log10(max(ys))))
        else:
            low, high = min([0.0, *ys]), max(ys)
            y_range = (low, high + 0.05 * ((high - low) or 1))
    x_low, x_high = min(xs), max(xs)
    pad = 0.5 if x_high == x_low else 0.03 * (x_high - x_low)
    canvas = _Canvas(chart.title, (x_low - pad, x_high + pad), y_range, log_y=log_y)
    canvas.y_axis(chart.y_label)
    positions = sorted(set(xs))
    step = max(1, math.ceil(len(positions) / 16))  # at most 16 tick labels
    canvas.x_axis([(x, _tick_label(x)) for x in positions[::step]], chart.x_label)
    legend = []
    colours: dict[str, str] = {}  # a reference line takes the colour of the first series of its name
    for index, series in enumerate(chart.series):
        colour = PALETTE[index % len(PALETTE)]
        colours.setdefault(series.name, colour)
        kept = [(x, y) for x, y in series.points if y is not None]
        path = " ".join(
            f"{'M' if j == 0 else 'L'}{canvas.x_pixel(x):.1f} {canvas.y_pixel(y):.1f}" for j, (x, y) in enumerate(kept)
        )
        canvas.elements.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in kept:
            canvas.elements.append(
                f'<circle cx="{canvas.x_pixel(x):.1f}" cy="{canvas.y_pixel(y):.1f}" r="3" fill="{colour}">'
                f"<title>{escape(series.name)}: {escape(_tick_label(x))} → {y:.4g}</title></circle>"
            )
        legend.append((series.name, colour, False))
    for name, y in chart.references:
        colour = colours.get(name, "#555")
        y_pixel = canvas.y_pixel(y)
        canvas.elements.append(
            f'<line x1="{canvas.left}" x2="{canvas.right}" y1="{y_pixel:.1f}" y2="{y_pixel:.1f}" '
            f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="5 3"><title>{escape(name)}, full edit: '
            f"{y:.4g}</title></line>"
        )
    if chart.references:
        legend.append(("dashed: the full edit", "#555", True))
    canvas.legend(legend)
    return canvas.svg()


def chart_svg(chart: IntervalChart | LineChart | None) -> Markup:
    """Either kind of chart as SVG markup; empty for no chart."""
    if chart is None:
        return Markup("")
    if isinstance(chart, IntervalChart):
        return interval_chart_svg(chart)
    return line_chart_svg(chart)
