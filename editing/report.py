"""One edit's impact report in three formats: a self-contained HTML page, Markdown and JSON.

`report.json` is the source: every number the HTML and Markdown show is in it
(`editing.report_schema` describes it). The HTML is one file that opens with no
network: inline CSS, hand-drawn inline SVG plots, a few lines of inline script to
sort tables, and a Content-Security-Policy that forbids fetching anything. Every
piece of user text (prompts, completions, names in the run record) is escaped.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from editing.impact import KIND_ORDER, METRICS, RATE_METRICS
from editing.report_schema import SCHEMA_VERSION

METRIC_LABELS = {
    "edit": "Edit success",
    "paraphrase": "Paraphrase success",
    "leak_rate": "Leak rate",
    "control_unchanged": "Controls unchanged",
    "kl": "KL(base ‖ edited)",
    "ppl_ratio": "Perplexity ratio",
    "ngram_entropy": "Bigram entropy (bits)",
}
METRIC_HELP = {
    "edit": "share of edit probes where the new answer (target) beats the old one (foil); higher is better",
    "paraphrase": "the same on phrasings the edit never trained on; higher is better",
    "leak_rate": "share of leak probes where the old answer still wins; lower is better",
    "control_unchanged": "share of control probes with the same greedy continuation and the old answer still "
    "winning; higher is better",
    "kl": "mean KL divergence of the edited model from the base on neutral text "
    "(the fluency text, which training never saw); lower is better",
    "ppl_ratio": "perplexity on the fluency text after / before; 1 is unchanged, lower is better",
    "ngram_entropy": "entropy of the bigrams in the generations; a drop means repetitive text",
}
_FORMATS = {"kl": ".4f", "ppl_ratio": ".3f"}
_KIND_TITLES = {
    "leak": "Leak probes: does the old behaviour come back through a side door?",
    "control": "Control probes: did anything it should not touch move?",
    "edit": "Edit probes: did the edit take?",
    "paraphrase": "Paraphrase probes: does it hold for phrasings it never saw?",
}
_TEST_NAMES = {
    "mcnemar_exact": "McNemar exact",
    "paired_bootstrap": "paired bootstrap",
    "jackknife": "paired jackknife",
}
_STATUS_WORDS = {"pass": "PASS", "fail": "FAIL", "uncertain": "UNCERTAIN"}
_BAD_FINDINGS = {"leak", "damaged", "missed"}
LOCATION_STATEMENT = (
    "These sweeps are evidence about where the effect lives (in which directions of the weight change, "
    "in which layers), not an explanation of how it works."
)
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#8C6D31")
_BEFORE_COLOUR, _AFTER_COLOUR = "#9AA5B1", "#0072B2"


# --- assembling and writing -------------------------------------------------------------------


def _finite(value: Any) -> Any:
    """The same data with NaN and infinities as None (JSON has no NaN) and tuples as lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _finite(value.item())
    return value


def assemble_report(
    impact_sections: Mapping[str, Any],
    contamination: Sequence[Mapping[str, Any]],
    generations: Sequence[Mapping[str, str]],
    spectral: Mapping[str, Any] | None,
    run: Mapping[str, Any],
) -> dict[str, Any]:
    """The report as one JSON-ready dict (schema version 1).

    `impact_sections` is what `editing.impact.measure_impact` returns; the rest are
    `find_contamination`'s rows, `{prompt, before, after}` generations, the spectral
    sections (or None) and the run record.
    """
    missing = [key for key in ("metrics", "verdict", "probes", "summary") if key not in impact_sections]
    if missing:
        raise ValueError(f"impact_sections lacks {', '.join(missing)}; pass what measure_impact returns")
    for i, generation in enumerate(generations):
        absent = [key for key in ("prompt", "before", "after") if key not in generation]
        if absent:
            raise ValueError(f"generation {i} lacks {', '.join(absent)}; each needs prompt, before and after")
    return _finite(
        {
            "schema_version": SCHEMA_VERSION,
            "verdict": impact_sections["verdict"],
            "summary": impact_sections["summary"],
            "metrics": impact_sections["metrics"],
            "probes": impact_sections["probes"],
            "contamination": list(contamination),
            "generations": [
                {"prompt": str(g["prompt"]), "before": str(g["before"]), "after": str(g["after"])} for g in generations
            ],
            "spectral": spectral,
            "run": dict(run),
        }
    )


def report_json(report: Mapping[str, Any]) -> str:
    """`report.json`'s text: sorted keys, indent 2, no NaN."""
    return json.dumps(report, sort_keys=True, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def write_report(report: Mapping[str, Any], folder: Path) -> dict[str, Path]:
    """Write report.html, report.md and report.json into `folder`; return their paths by format."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    texts = {"html": render_html(report), "md": render_markdown(report), "json": report_json(report)}
    paths = {}
    for extension, text in texts.items():
        paths[extension] = folder / f"report.{extension}"
        paths[extension].write_text(text, encoding="utf-8")
    return paths


def read_report(path: Path) -> dict[str, Any]:
    """Load a report.json (or the folder holding one), refusing other schema versions."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    version = report.get("schema_version") if isinstance(report, dict) else None
    if version != SCHEMA_VERSION:
        raise ValueError(f"{path} has report schema version {version!r}; this nudge reads version {SCHEMA_VERSION}")
    return report


# --- formatting helpers -----------------------------------------------------------------------


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _num(value: float | None, metric: str = "", fmt: str | None = None) -> str:
    if value is None:
        return "—"
    return format(value, fmt or _FORMATS.get(metric, ".2f"))


def _estimate_text(estimate: Mapping[str, Any] | None, metric: str = "", fmt: str | None = None) -> str:
    if not estimate or estimate.get("value") is None:
        return "no data"
    low, high = estimate.get("ci_low"), estimate.get("ci_high")
    interval = f" [{_num(low, metric, fmt)}, {_num(high, metric, fmt)}]" if low is not None else ""
    return f"{_num(estimate['value'], metric, fmt)}{interval}"


def _p_text(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _test_text(test: Mapping[str, Any] | None) -> str:
    if not test or test.get("test") is None:
        return "—"
    name = _TEST_NAMES.get(test["test"], test["test"])
    if "up" in test:
        return f"{name}; {test['up']} up, {test['down']} down"
    return name


def _change(before: Mapping[str, Any], after: Mapping[str, Any], metric: str) -> str:
    if before.get("value") is None or after.get("value") is None:
        return "—"
    return format(after["value"] - before["value"], "+" + _FORMATS.get(metric, ".2f"))


def _run_title(report: Mapping[str, Any], fallback: str = "") -> str:
    """ "run 7 · dog-cat-swap" from the run record's id and name, whichever it has."""
    run = report.get("run") or {}
    run_id = next((str(run[k]) for k in ("id", "run_id") if run.get(k) not in (None, "")), "")
    if run_id and not run_id.lower().startswith("run"):
        run_id = f"run {run_id}"
    name = str(run["name"]) if run.get("name") not in (None, "") else ""
    return " · ".join(part for part in (run_id, name) if part) or fallback


def _verdict_line(verdict: Mapping[str, Any]) -> str:
    gates = verdict.get("gates", [])
    if not gates:
        return "No gates set: nothing was checked against a threshold."
    counts = {status: sum(g["status"] == status for g in gates) for status in ("pass", "fail", "uncertain")}
    parts = [f"{counts[s]} {word}" for s, word in (("fail", "failed"), ("uncertain", "uncertain"), ("pass", "passed"))]
    strict = " (strict: uncertain gates count as failures)" if verdict.get("strict") else ""
    accepted = "The edit is accepted" if verdict.get("passed") else "The edit is rejected"
    return f"{accepted}: of {len(gates)} gates, {', '.join(parts)}{strict}. Judged on the test split only."


def _contamination_line(rows: Sequence[Mapping[str, Any]]) -> str:
    probes = "1 test probe appears" if len(rows) == 1 else f"{len(rows)} test probes appear"
    return f"{probes} in the training data (equal or nearly equal prompts): the edit was trained on what they test."


# --- inline SVG plots -------------------------------------------------------------------------


def _nice_step(span: float, count: int) -> float:
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
    first = math.ceil(low / step - 1e-9) * step
    ticks, tick = [], first
    while tick <= high + 1e-9 * step:
        ticks.append(round(tick, 12))
        tick += step
    return ticks


def _tick_label(value: float) -> str:
    return f"{value:g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.0e}"


class _Canvas:
    """Pixel mapping and SVG pieces for one plot: a left axis, a bottom axis, a legend on the right."""

    def __init__(self, title: str, x_range: tuple[float, float], y_range: tuple[float, float], log_y: bool = False):
        self.title, self.log_y = title, log_y
        self.width, self.height = 720, 300
        self.left, self.right, self.top, self.bottom = 60, 520, 30, 250
        self.x_range, self.y_range = x_range, y_range
        self.parts: list[str] = []

    def _y_unit(self, value: float) -> float:
        return math.log10(value) if self.log_y else value

    def x(self, value: float) -> float:
        low, high = self.x_range
        return self.left + (value - low) / ((high - low) or 1) * (self.right - self.left)

    def y(self, value: float) -> float:
        low, high = (self._y_unit(v) for v in self.y_range)
        return self.bottom - (self._y_unit(value) - low) / ((high - low) or 1) * (self.bottom - self.top)

    def y_axis(self, label: str) -> None:
        low, high = self.y_range
        if self.log_y:
            ticks = [10.0**p for p in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)]
            ticks = [t for t in ticks if low <= t <= high] or [low, high]
        else:
            ticks = _ticks(low, high)
        for tick in ticks:
            y = self.y(tick)
            self.parts.append(
                f'<line x1="{self.left}" x2="{self.right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                f'<text x="{self.left - 6}" y="{y + 4:.1f}" text-anchor="end">{_tick_label(tick)}</text>'
            )
        middle = (self.top + self.bottom) / 2
        self.parts.append(
            f'<text transform="translate(14 {middle:.0f}) rotate(-90)" text-anchor="middle">{_e(label)}</text>'
        )

    def x_axis(self, ticks: Sequence[tuple[float, str]], label: str) -> None:
        self.parts.append(
            f'<line x1="{self.left}" x2="{self.right}" y1="{self.bottom}" y2="{self.bottom}" class="axis"/>'
        )
        for value, text in ticks:
            self.parts.append(
                f'<text x="{self.x(value):.1f}" y="{self.bottom + 16}" text-anchor="middle">{_e(text)}</text>'
            )
        if label:
            centre = (self.left + self.right) / 2
            self.parts.append(f'<text x="{centre:.0f}" y="{self.bottom + 36}" text-anchor="middle">{_e(label)}</text>')

    def legend(self, entries: Sequence[tuple[str, str, bool]]) -> None:
        """Entries of (label, colour, dashed), at most 12 shown."""
        for i, (label, colour, dashed) in enumerate(entries[:12]):
            y = self.top + 6 + 18 * i
            dash = ' stroke-dasharray="5 3"' if dashed else ""
            short = label if len(label) <= 26 else label[:25] + "…"
            self.parts.append(
                f'<line x1="{self.right + 16}" x2="{self.right + 36}" y1="{y}" y2="{y}" stroke="{colour}" '
                f'stroke-width="3"{dash}/><text x="{self.right + 42}" y="{y + 4}"><title>{_e(label)}</title>'
                f"{_e(short)}</text>"
            )
        if len(entries) > 12:
            y = self.top + 6 + 18 * 12
            self.parts.append(f'<text x="{self.right + 16}" y="{y + 4}">and {len(entries) - 12} more</text>')

    def svg(self) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" role="img" '
            f'aria-label="{_e(self.title)}" class="plot"><title>{_e(self.title)}</title>'
            f'<text x="{self.left}" y="16" class="plot-title">{_e(self.title)}</text>' + "".join(self.parts) + "</svg>"
        )


def _interval_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[Mapping[str, Any] | None]]],
    y_label: str,
    y_range: tuple[float, float] | None = None,
) -> str:
    """Bars with 95% interval whiskers: one group per category, one bar per series (name, colour, estimates)."""
    values = [
        v
        for _, _, estimates in series
        for e in estimates
        if e and e.get("value") is not None
        for v in (e["value"], e.get("ci_low"), e.get("ci_high"))
        if v is not None
    ]
    if y_range is None:
        low, high = min([0.0, *values]), max([0.0, *values])
        pad = 0.1 * ((high - low) or 1)
        y_range = (low - pad if low < 0 else 0.0, high + pad)
    canvas = _Canvas(title, (0, len(categories)), y_range)
    canvas.y_axis(y_label)
    zero = canvas.y(min(max(0.0, y_range[0]), y_range[1]))
    slot = (canvas.right - canvas.left) / max(1, len(categories))
    bar = slot * 0.7 / max(1, len(series))
    for c, category in enumerate(categories):
        for s, (name, colour, estimates) in enumerate(series):
            estimate = estimates[c]
            if not estimate or estimate.get("value") is None:
                continue
            x = canvas.left + slot * c + slot * 0.15 + bar * s
            y = canvas.y(estimate["value"])
            tip = f"{category}, {name}: {_estimate_text(estimate)} (n = {estimate.get('n')})"
            canvas.parts.append(
                f'<rect x="{x:.1f}" y="{min(y, zero):.1f}" width="{bar * 0.9:.1f}" height="{abs(zero - y):.1f}" '
                f'fill="{colour}"><title>{_e(tip)}</title></rect>'
            )
            if estimate.get("ci_low") is not None:
                centre, y_low, y_high = x + bar * 0.45, canvas.y(estimate["ci_low"]), canvas.y(estimate["ci_high"])
                canvas.parts.append(
                    f'<path d="M{centre:.1f} {y_low:.1f}V{y_high:.1f}M{centre - 5:.1f} {y_low:.1f}h10'
                    f'M{centre - 5:.1f} {y_high:.1f}h10" class="whisker"/>'
                )
    canvas.parts.append(f'<line x1="{canvas.left}" x2="{canvas.right}" y1="{zero:.1f}" y2="{zero:.1f}" class="axis"/>')
    canvas.x_axis([(c + 0.5, category) for c, category in enumerate(categories)], "")
    canvas.legend([(name, colour, False) for name, colour, _ in series])
    return canvas.svg()


def _line_chart(
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float | None]]]],
    x_label: str,
    y_label: str,
    references: Sequence[tuple[str, float]] = (),
    y_range: tuple[float, float] | None = None,
) -> str:
    """Lines with points, one per series (name, [(x, y)]), and dashed horizontal references (name, y)."""
    points = [(x, y) for _, pts in series for x, y in pts if y is not None]
    if not points:
        return ""
    xs = [x for x, _ in points]
    ys = [y for _, y in points] + [y for _, y in references]
    positive = all(y > 0 for y in ys)
    log_y = y_range is None and positive and max(ys) / min(ys) > 100
    if y_range is None:
        if log_y:
            y_range = (10 ** math.floor(math.log10(min(ys))), 10 ** math.ceil(math.log10(max(ys))))
        else:
            low, high = min([0.0, *ys]), max(ys)
            y_range = (low, high + 0.05 * ((high - low) or 1))
    x_low, x_high = min(xs), max(xs)
    pad = 0.5 if x_high == x_low else 0.03 * (x_high - x_low)
    canvas = _Canvas(title, (x_low - pad, x_high + pad), y_range, log_y=log_y)
    canvas.y_axis(y_label)
    integer_xs = sorted({x for x in xs})
    step = max(1, math.ceil(len(integer_xs) / 16))
    canvas.x_axis([(x, _tick_label(x)) for x in integer_xs[::step]], x_label)
    legend = []
    for i, (name, pts) in enumerate(series):
        colour = _PALETTE[i % len(_PALETTE)]
        kept = [(x, y) for x, y in pts if y is not None]
        path = " ".join(f"{'M' if j == 0 else 'L'}{canvas.x(x):.1f} {canvas.y(y):.1f}" for j, (x, y) in enumerate(kept))
        canvas.parts.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in kept:
            canvas.parts.append(
                f'<circle cx="{canvas.x(x):.1f}" cy="{canvas.y(y):.1f}" r="3" fill="{colour}">'
                f"<title>{_e(name)}: {_e(_tick_label(x))} → {y:.4g}</title></circle>"
            )
        legend.append((name, colour, False))
    for name, y in references:
        colour = _PALETTE[[n for n, _ in series].index(name) % len(_PALETTE)] if name in dict(series) else "#555"
        canvas.parts.append(
            f'<line x1="{canvas.left}" x2="{canvas.right}" y1="{canvas.y(y):.1f}" y2="{canvas.y(y):.1f}" '
            f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="5 3"><title>{_e(name)}, full edit: '
            f"{y:.4g}</title></line>"
        )
    if references:
        legend.append(("dashed: the full edit", "#555", True))
    canvas.legend(legend)
    return canvas.svg()


# --- HTML -------------------------------------------------------------------------------------

_CSS = """
:root { --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9;
  --unc: #9a6700; --unc-bg: #fff8c5; --line: #d0d7de; --muted: #57606a; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #1f2328; margin: 0; background: #f6f8fa; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 36px 0 10px;
  border-bottom: 1px solid var(--line); padding-bottom: 4px; } h3 { font-size: 16px; margin: 24px 0 8px; }
.sub { color: var(--muted); margin: 0 0 16px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; white-space: nowrap; } td.id { white-space: nowrap; font-size: 13px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.sortable th { cursor: pointer; user-select: none; } table.sortable th::after { content: " ⇅"; color: #999; }
.verdict { border: 2px solid; border-radius: 8px; padding: 12px 16px; margin: 12px 0; }
.verdict.pass { border-color: var(--pass); background: var(--pass-bg); }
.verdict.fail { border-color: var(--fail); background: var(--fail-bg); }
.verdict.uncertain, .verdict.none { border-color: var(--unc); background: var(--unc-bg); }
.verdict .word { font-size: 22px; font-weight: 700; letter-spacing: .04em; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-weight: 600; font-size: 13px; }
.badge.pass, .badge.took, .badge.held { color: var(--pass); background: var(--pass-bg); }
.badge.fail, .badge.leak, .badge.damaged, .badge.missed { color: var(--fail); background: var(--fail-bg); }
.badge.uncertain { color: var(--unc); background: var(--unc-bg); }
.warning { border: 3px solid var(--fail); background: var(--fail-bg); color: #82071e; border-radius: 8px;
  padding: 12px 16px; margin: 12px 0; }
.warning strong { font-size: 18px; }
.wide { overflow-x: auto; } .wide table { margin: 0; } .wide { margin: 8px 0 16px; }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
.columns ul { margin: 4px 0; padding-left: 20px; }
.plot { width: 100%; max-width: 720px; height: auto; display: block; margin: 8px 0 16px; }
.plot text { font-size: 12px; fill: #1f2328; } .plot .plot-title { font-size: 13px; font-weight: 600; }
.plot .grid { stroke: #eaeef2; } .plot .axis { stroke: #57606a; } .plot .whisker { stroke: #1f2328; stroke-width: 1.5; }
.note { color: var(--muted); font-size: 14px; } .statement { font-style: italic; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; margin: 0; white-space: pre-wrap; word-break: break-word; }
td.changed { background: #fff8c5; } .arrow { color: var(--muted); }
details > summary { cursor: pointer; font-weight: 600; margin: 8px 0; }
.delta-good { color: var(--pass); } .delta-bad { color: var(--fail); }
"""

# Click a header to sort by that column; numbers sort as numbers (cells may carry data-sort).
_SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var ascending = th.getAttribute("data-order") !== "asc";
      th.setAttribute("data-order", ascending ? "asc" : "desc");
      function key(row) {
        var cell = row.cells[column], text = cell.getAttribute("data-sort") || cell.textContent;
        var number = parseFloat(text);
        return isNaN(number) ? text.toLowerCase() : number;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b), order = x < y ? -1 : x > y ? 1 : 0;
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main><script>{_SORT_SCRIPT}</script></body></html>\n"
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], sortable: bool = False, raw: bool = False) -> str:
    """An HTML table; cells are escaped unless `raw` (then they are already HTML)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(c if raw else f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    cls = ' class="sortable"' if sortable else ""
    return f'<div class="wide"><table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _td(text: Any, cls: str = "", sort: Any = None) -> str:
    attributes = f' class="{cls}"' if cls else ""
    if sort is not None:
        attributes += f' data-sort="{_e(sort)}"'
    return f"<td{attributes}>{_e(text)}</td>"


def _badge(status: str, text: str | None = None) -> str:
    return f'<span class="badge {_e(status)}">{_e(text or _STATUS_WORDS.get(status, status))}</span>'


def _html_verdict(report: Mapping[str, Any]) -> str:
    verdict = report["verdict"]
    gates = verdict.get("gates", [])
    status = verdict["status"] if gates else "none"
    word = _STATUS_WORDS.get(status, "NO GATES")
    parts = [
        f'<section id="verdict" class="verdict {status}"><div class="word">Verdict: {word}</div>'
        f"<p>{_e(_verdict_line(verdict))}</p></section>"
    ]
    if report.get("contamination"):
        parts.append(_html_contamination_warning(report["contamination"]))
    if gates:
        rows = []
        for gate in gates:
            rows.append(
                [
                    f'<td title="{_e(METRIC_HELP.get(gate["name"], ""))}">'
                    f"{_e(METRIC_LABELS.get(gate['name'], gate['name']))} <code>{_e(gate['name'])}</code></td>",
                    _td(_num(gate["value"], gate["name"]), "num"),
                    _td(_estimate_text(gate, gate["name"]).partition(" ")[2] or "no data", "num"),
                    _td(gate["threshold"], "num"),
                    f"<td>{_badge(gate['status'])}</td>",
                ]
            )
        parts.append(_table(["Gate", "Value", "95% interval", "Threshold", "Status"], rows, raw=True))
        parts.append(
            '<p class="note">A gate passes only when its whole 95% interval is on the passing side; when the '
            "interval straddles the threshold it is <em>uncertain</em> (more test probes would settle it).</p>"
        )
    return "".join(parts)


def _html_contamination_warning(rows: Sequence[Mapping[str, Any]]) -> str:
    items = "".join(
        f"<li><code>{_e(r['probe_id'])}</code> “{_e(r['prompt'])}” ≈ training “{_e(r['training_prompt'])}” "
        f"(similarity {r['similarity']:.2f}{', ' + _e(r['match']) if r.get('match') else ''})</li>"
        for r in rows[:20]
    )
    more = f"<li>and {len(rows) - 20} more (see report.json)</li>" if len(rows) > 20 else ""
    return (
        f'<section id="contamination" class="warning" role="alert"><strong>Contamination: '
        f"these gates are not trustworthy.</strong><p>{_e(_contamination_line(rows))}</p><ul>{items}{more}</ul>"
        "</section>"
    )


def _html_summary(report: Mapping[str, Any]) -> str:
    summary = report.get("summary") or {}

    def block(key: str, title: str) -> str:
        items = "".join(f"<li>{_e(sentence)}</li>" for sentence in summary.get(key, [])) or "<li>Nothing.</li>"
        return f'<div id="summary-{key}"><h2>{title}</h2><ul>{items}</ul></div>'

    took = block("took", "What took") if summary.get("took") else ""
    return (
        f'<section class="columns">{block("leaked", "What leaked")}{block("moved", "What else moved")}</section>{took}'
    )


def _html_metrics(report: Mapping[str, Any]) -> str:
    metrics = report["metrics"]
    before, after, tests = metrics["before"], metrics["after"], metrics.get("tests", {})
    rows = []
    for name in METRICS:
        if name not in after:
            continue
        rows.append(
            [
                f'<td title="{_e(METRIC_HELP.get(name, ""))}">{_e(METRIC_LABELS.get(name, name))}</td>',
                _td(_estimate_text(before.get(name), name), "num"),
                _td(_estimate_text(after.get(name), name), "num"),
                _td(_change(before.get(name, {}), after[name], name), "num"),
                _td(_p_text(tests.get(name, {}).get("p_value")), "num"),
                _td(_test_text(tests.get(name))),
                _td(after[name].get("n", 0), "num"),
            ]
        )
    split = metrics.get("split", "test")
    parts = [
        f'<h2 id="metrics">Metrics, before and after ({_e(split)} split)</h2>',
        _table(["Metric", "Before [95% CI]", "After [95% CI]", "Change", "p", "Test", "n"], rows, raw=True),
        '<p class="note">Rates carry Wilson intervals, means bootstrap intervals (seeded). p tests the change '
        "per probe, paired: McNemar's exact test on success flips, a paired bootstrap for means. "
        "Hover a metric for what it measures.</p>",
    ]
    categories = [m for m in RATE_METRICS if after.get(m, {}).get("n") or before.get(m, {}).get("n")]
    if categories:
        parts.append(
            _interval_chart(
                "Rates before and after the edit, with 95% intervals",
                [METRIC_LABELS[m] for m in categories],
                [
                    ("before", _BEFORE_COLOUR, [before.get(m) for m in categories]),
                    ("after", _AFTER_COLOUR, [after.get(m) for m in categories]),
                ],
                "share of probes",
                (0.0, 1.0),
            )
        )
    margins = metrics.get("margin_change") or {}
    if margins:
        kinds = [k for k in KIND_ORDER if k in margins]
        rows = [
            [
                _td(kind),
                _td(_estimate_text(margins[kind], fmt="+.3f"), "num"),
                _td(_p_text(margins[kind].get("p_value")), "num"),
                _td(margins[kind].get("n", 0), "num"),
            ]
            for kind in kinds
        ]
        parts += [
            "<h3>Margin change: how far the log-prob margin (target − foil) moved, per kind</h3>",
            _table(["Kind", "Mean change [95% CI] (nats)", "p (paired bootstrap)", "n"], rows, raw=True),
            _interval_chart(
                "Mean margin change per kind (after − before), 95% intervals",
                kinds,
                [("after − before", _AFTER_COLOUR, [margins[k] for k in kinds])],
                "nats",
            ),
        ]
    other = metrics.get("other_splits") or {}
    if other:
        rows = []
        for split_name, phases in other.items():
            for name in RATE_METRICS:
                b, a = phases["before"].get(name, {}), phases["after"].get(name, {})
                if a.get("n"):
                    rows.append([split_name, METRIC_LABELS[name], _estimate_text(b), _estimate_text(a), str(a["n"])])
        if rows:
            parts += [
                "<details><summary>Other splits (context only, never gated)</summary>",
                _table(["Split", "Metric", "Before", "After", "n"], rows),
                "</details>",
            ]
    return "".join(parts)


def _margin_cell(row: Mapping[str, Any]) -> str:
    change = row["margin_after"] - row["margin_before"]
    return (
        f'<td class="num" data-sort="{change:.6f}">{row["margin_before"]:+.2f} <span class="arrow">→</span> '
        f"{row['margin_after']:+.2f}</td>"
    )


def _continuation_cell(row: Mapping[str, Any]) -> str:
    before, after = row["continuation_before"], row["continuation_after"]
    if before == after:
        return f"<td>{_e(before)}</td>"
    return f'<td>{_e(before)} <span class="arrow">→</span> <strong>{_e(after)}</strong></td>'


def _html_probes(report: Mapping[str, Any]) -> str:
    rows = report.get("probes") or []
    parts = [
        '<h2 id="probes">Probes</h2><p class="note">Grouped by kind; leaks, damaged controls and misses first. '
        "Margin = mean log-prob of the target minus that of the foil (nats per token); above 0 the target wins. "
        "Click a column header to sort.</p>"
    ]
    for kind in [*KIND_ORDER, *sorted({r["kind"] for r in rows} - set(KIND_ORDER))]:
        kind_rows = [r for r in rows if r["kind"] == kind]
        if not kind_rows:
            continue
        bad = sum(r["finding"] in _BAD_FINDINGS for r in kind_rows)
        body = [
            [
                f'<td data-sort="{int(r["finding"] not in _BAD_FINDINGS)}">{_badge(r["finding"], r["finding"])}</td>',
                _td(r["id"], "id"),
                _td(r["split"]),
                _td(r.get("relation", "")),
                _td(r["prompt"]),
                _td(r["target"]),
                _td(r["foil"]),
                _margin_cell(r),
                _td("yes" if r["flipped"] else "", sort=int(r["flipped"])),
                _continuation_cell(r),
            ]
            for r in kind_rows
        ]
        title = _KIND_TITLES.get(kind, kind)
        parts.append(
            f'<details open id="probes-{_e(kind)}"><summary>{_e(title)} ({len(kind_rows)} probes, {bad} '
            f"{'leaked' if kind == 'leak' else 'damaged' if kind == 'control' else 'missed'})</summary>"
            + _table(
                ["Finding", "Id", "Split", "Relation", "Prompt", "Target", "Foil", "Margin", "Flipped", "Continuation"],
                body,
                sortable=True,
                raw=True,
            )
            + "</details>"
        )
    return "".join(parts)


def _html_generations(report: Mapping[str, Any]) -> str:
    generations = report.get("generations") or []
    if not generations:
        return '<h2 id="generations">Generations</h2><p class="note">No generations were recorded.</p>'
    body = "".join(
        f"<tr><td>{_e(g['prompt'])}</td><td>{_e(g['before'])}</td>"
        + _td(g["after"], "changed" if g["before"] != g["after"] else "")
        + "</tr>"
        for g in generations
    )
    changed = sum(g["before"] != g["after"] for g in generations)
    return (
        f'<h2 id="generations">Generations, side by side</h2><p class="note">Greedy continuations; '
        f"{changed} of {len(generations)} changed (highlighted).</p>"
        f"<table><thead><tr><th>Prompt</th><th>Before</th><th>After</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _short_names(names: Sequence[str]) -> list[str]:
    """Module names without the dotted prefix they all share: "transformer.h.0.attn" -> "0.attn"."""
    if len(names) < 2:
        return list(names)
    prefix = names[0]
    for name in names[1:]:
        while not name.startswith(prefix):
            prefix = prefix[: prefix.rstrip(".").rfind(".") + 1] if "." in prefix.rstrip(".") else ""
    return [name[len(prefix) :] or name for name in names]


def _sweep_series(entries: Sequence[Mapping[str, Any]], x_key: str) -> list[tuple[str, list[tuple[float, Any]]]]:
    names = [m for m in RATE_METRICS if any(m in e.get("metrics", {}) for e in entries)]
    return [(name, [(e[x_key], e.get("metrics", {}).get(name)) for e in entries]) for name in names]


def _sweep_table_rows(entries: Sequence[Mapping[str, Any]], x_key: str) -> tuple[list[str], list[list[str]]]:
    names = sorted(
        {m for e in entries for m in e.get("metrics", {})},
        key=lambda m: (METRICS.index(m) if m in METRICS else len(METRICS), m),
    )
    rows = [[str(e[x_key]), *(_num(e.get("metrics", {}).get(m), m) for m in names)] for e in entries]
    return names, rows


def _html_spectral(report: Mapping[str, Any]) -> str:
    spectral = report.get("spectral")
    head = '<h2 id="spectral">Where the effect lives</h2>'
    if not spectral:
        return head + '<p class="note">The spectral view was not computed for this run.</p>'
    parts = [head, f'<p class="statement">{_e(LOCATION_STATEMENT)}</p>']
    if spectral.get("note"):
        parts.append(f'<p class="note">{_e(spectral["note"])}</p>')
    modules = spectral.get("modules") or []
    if modules:
        parts.append(
            _line_chart(
                "Singular values of each module's ΔW = (alpha/r)·B·A",
                [
                    (label, list(enumerate(m["singular_values"], start=1)))
                    for label, m in zip(_short_names([m["name"] for m in modules]), modules, strict=True)
                ],
                "direction (by size)",
                "singular value",
            )
        )
        rows = [
            [
                m["name"],
                "—" if m.get("layer") is None else str(m["layer"]),
                _num(m.get("effective_rank"), fmt=".2f"),
                _num(m.get("relative_norm"), fmt=".3g"),
                ", ".join(f"{s:.3g}" for s in m["singular_values"][:8]),
            ]
            for m in modules
        ]
        parts.append(
            _table(["Module", "Layer", "Effective rank", "‖ΔW‖ / ‖W‖", "Singular values (largest first)"], rows)
        )
    after = report["metrics"]["after"]
    for key, x_key, title, plot_title, x_label in (
        (
            "truncation",
            "k",
            "Truncation sweep: every ΔW cut to its top k directions",
            "Test-split metrics as more directions are kept",
            "k (directions kept)",
        ),
        (
            "layers",
            "layer",
            "Layer sweep: the edit with one layer's adapter switched off",
            "Test-split metrics with one layer's adapter off",
            "Layer switched off",
        ),
    ):
        entries = spectral.get(key) or []
        if not entries:
            continue
        series = _sweep_series(entries, x_key)
        references = (
            [(name, after[name]["value"]) for name, _ in series if after.get(name, {}).get("value") is not None]
            if key == "layers"
            else []
        )
        parts.append(f"<h3>{_e(title)}</h3>")
        parts.append(
            _line_chart(
                plot_title,
                [(METRIC_LABELS[name], points) for name, points in series],
                x_label,
                "metric value",
                [(METRIC_LABELS[name], value) for name, value in references],
                (0.0, 1.0),
            )
        )
        names, rows = _sweep_table_rows(entries, x_key)
        parts.append(_table([x_label, *(METRIC_LABELS.get(n, n) for n in names)], rows))
    return "".join(parts)


def _run_value(value: Any) -> str:
    if isinstance(value, Mapping | list | tuple):
        return f"<td><pre>{_e(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))}</pre></td>"
    return f"<td>{_e(value)}</td>"


def _html_run(report: Mapping[str, Any]) -> str:
    run = report.get("run") or {}
    rows = [[f"<th>{_e(key)}</th>", _run_value(value)] for key, value in sorted(run.items())]
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return f'<h2 id="run">Run record</h2><table class="run"><tbody>{body}</tbody></table>'


def render_html(report: Mapping[str, Any]) -> str:
    """The whole report as one self-contained HTML page."""
    title = _run_title(report)
    body = (
        f'<header><h1>Edit impact report</h1><p class="sub">{_e(title or "nudge")} · '
        f"report schema v{_e(report.get('schema_version'))}</p></header>"
        + _html_verdict(report)
        + _html_summary(report)
        + _html_metrics(report)
        + _html_probes(report)
        + _html_generations(report)
        + _html_spectral(report)
        + _html_run(report)
    )
    return _page(f"nudge · edit impact report{' · ' + title if title else ''}", body)


# --- Markdown ---------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~!])")


def _md(text: Any) -> str:
    """User text safe inside Markdown (and a Markdown table cell): no live HTML, no markup, one line."""
    escaped = html.escape(str(text), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", " ".join(escaped.splitlines()))


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _md_fence(text: str, language: str = "") -> str:
    runs = [len(m) for m in re.findall(r"`+", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}{language}\n{text}\n{fence}\n"


def _md_verdict(report: Mapping[str, Any]) -> str:
    verdict = report["verdict"]
    gates = verdict.get("gates", [])
    word = _STATUS_WORDS.get(verdict["status"], "") if gates else "NO GATES"
    parts = [f"## Verdict: {word}\n\n{_verdict_line(verdict)}\n"]
    if report.get("contamination"):
        rows = report["contamination"]
        lines = [
            f"> **Contamination: these gates are not trustworthy.** {_contamination_line(rows)}",
            ">",
            *(
                f"> - `{_md(r['probe_id'])}` {_md(r['prompt'])} ≈ training: {_md(r['training_prompt'])} "
                f"(similarity {r['similarity']:.2f})"
                for r in rows[:20]
            ),
        ]
        if len(rows) > 20:
            lines.append(f"> - and {len(rows) - 20} more (see report.json)")
        parts.append("\n".join(lines) + "\n")
    if gates:
        rows = [
            [
                f"{METRIC_LABELS.get(g['name'], g['name'])} (`{g['name']}`)",
                _num(g["value"], g["name"]),
                _estimate_text(g, g["name"]).partition(" ")[2] or "no data",
                g["threshold"],
                f"**{_STATUS_WORDS[g['status']]}**",
            ]
            for g in gates
        ]
        parts.append(_md_table(["Gate", "Value", "95% interval", "Threshold", "Status"], rows))
    return "\n".join(parts)


def _md_summary(report: Mapping[str, Any]) -> str:
    summary = report.get("summary") or {}
    parts = []
    for key, title in (("leaked", "What leaked"), ("took", "What took"), ("moved", "What else moved")):
        if key in summary:
            items = "\n".join(f"- {_md(s)}" for s in summary[key]) or "- Nothing."
            parts.append(f"## {title}\n\n{items}\n")
    return "\n".join(parts)


def _md_metrics(report: Mapping[str, Any]) -> str:
    metrics = report["metrics"]
    before, after, tests = metrics["before"], metrics["after"], metrics.get("tests", {})
    rows = [
        [
            METRIC_LABELS.get(name, name),
            _estimate_text(before.get(name), name),
            _estimate_text(after[name], name),
            _change(before.get(name, {}), after[name], name),
            _p_text(tests.get(name, {}).get("p_value")),
            _test_text(tests.get(name)),
            str(after[name].get("n", 0)),
        ]
        for name in METRICS
        if name in after
    ]
    parts = [
        f"## Metrics, before and after ({metrics.get('split', 'test')} split)\n",
        _md_table(["Metric", "Before [95% CI]", "After [95% CI]", "Change", "p", "Test", "n"], rows),
    ]
    margins = metrics.get("margin_change") or {}
    if margins:
        rows = [
            [
                kind,
                _estimate_text(margins[kind], fmt="+.3f"),
                _p_text(margins[kind].get("p_value")),
                str(margins[kind]["n"]),
            ]
            for kind in KIND_ORDER
            if kind in margins
        ]
        parts += [
            "### Margin change (target − foil, nats), per kind\n",
            _md_table(["Kind", "Mean change [95% CI]", "p", "n"], rows),
        ]
    other = metrics.get("other_splits") or {}
    rows = [
        [
            split,
            METRIC_LABELS[name],
            _estimate_text(p["before"].get(name)),
            _estimate_text(p["after"].get(name)),
            str(p["after"][name]["n"]),
        ]
        for split, p in other.items()
        for name in RATE_METRICS
        if p["after"].get(name, {}).get("n")
    ]
    if rows:
        parts += [
            "### Other splits (context only, never gated)\n",
            _md_table(["Split", "Metric", "Before", "After", "n"], rows),
        ]
    return "\n".join(parts)


def _md_probes(report: Mapping[str, Any]) -> str:
    rows = report.get("probes") or []
    parts = ["## Probes\n"]
    for kind in [*KIND_ORDER, *sorted({r["kind"] for r in rows} - set(KIND_ORDER))]:
        kind_rows = [r for r in rows if r["kind"] == kind]
        if not kind_rows:
            continue
        table_rows = [
            [
                f"**{r['finding']}**" if r["finding"] in _BAD_FINDINGS else r["finding"],
                _md(r["id"]),
                r["split"],
                _md(r.get("relation", "")),
                _md(r["prompt"]),
                _md(r["target"]),
                _md(r["foil"]),
                f"{r['margin_before']:+.2f} → {r['margin_after']:+.2f}",
                "yes" if r["flipped"] else "",
                _md(r["continuation_before"])
                if r["continuation_before"] == r["continuation_after"]
                else f"{_md(r['continuation_before'])} → {_md(r['continuation_after'])}",
            ]
            for r in kind_rows
        ]
        parts.append(f"### {_KIND_TITLES.get(kind, kind)}\n")
        parts.append(
            _md_table(
                ["Finding", "Id", "Split", "Relation", "Prompt", "Target", "Foil", "Margin", "Flipped", "Continuation"],
                table_rows,
            )
        )
    return "\n".join(parts)


def _md_generations(report: Mapping[str, Any]) -> str:
    generations = report.get("generations") or []
    if not generations:
        return "## Generations\n\nNo generations were recorded.\n"
    rows = [
        [_md(g["prompt"]), _md(g["before"]), _md(g["after"]), "yes" if g["before"] != g["after"] else ""]
        for g in generations
    ]
    return "## Generations, side by side\n\n" + _md_table(["Prompt", "Before", "After", "Changed"], rows)


def _md_spectral(report: Mapping[str, Any]) -> str:
    spectral = report.get("spectral")
    if not spectral:
        return "## Where the effect lives\n\nThe spectral view was not computed for this run.\n"
    parts = [f"## Where the effect lives\n\n*{LOCATION_STATEMENT}*\n"]
    if spectral.get("note"):
        parts.append(_md(spectral["note"]) + "\n")
    if spectral.get("modules"):
        rows = [
            [
                _md(m["name"]),
                "—" if m.get("layer") is None else str(m["layer"]),
                _num(m.get("effective_rank"), fmt=".2f"),
                _num(m.get("relative_norm"), fmt=".3g"),
                ", ".join(f"{s:.3g}" for s in m["singular_values"][:8]),
            ]
            for m in spectral["modules"]
        ]
        parts.append(_md_table(["Module", "Layer", "Effective rank", "‖ΔW‖ / ‖W‖", "Singular values"], rows))
    for key, x_key, title in (
        ("truncation", "k", "Truncation sweep (top k directions kept)"),
        ("layers", "layer", "Layer sweep (this layer's adapter off)"),
    ):
        if spectral.get(key):
            names, rows = _sweep_table_rows(spectral[key], x_key)
            parts.append(f"### {title}\n")
            parts.append(_md_table([x_key, *(_md(METRIC_LABELS.get(n, n)) for n in names)], rows))
    return "\n".join(parts)


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown: the HTML's content, without the plots."""
    title = _run_title(report)
    run = json.dumps(report.get("run") or {}, indent=2, sort_keys=True, ensure_ascii=False)
    return "\n".join(
        [
            f"# Edit impact report{' — ' + _md(title) if title else ''}\n",
            _md_verdict(report),
            _md_summary(report),
            _md_metrics(report),
            _md_probes(report),
            _md_generations(report),
            _md_spectral(report),
            "## Run record\n",
            _md_fence(run, "json"),
        ]
    )


# --- two runs side by side --------------------------------------------------------------------


def _labels(report_a: Mapping[str, Any], report_b: Mapping[str, Any]) -> tuple[str, str]:
    a, b = _run_title(report_a, "run A"), _run_title(report_b, "run B")
    return (f"A: {a}", f"B: {b}") if a != b else ("A", "B")


def _delta(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None, metric: str) -> str:
    if not a or not b or a.get("value") is None or b.get("value") is None:
        return "—"
    return format(b["value"] - a["value"], "+" + _FORMATS.get(metric, ".2f"))


_HIGHER_IS_BETTER = {
    "edit": True,
    "paraphrase": True,
    "control_unchanged": True,
    "leak_rate": False,
    "kl": False,
    "ppl_ratio": False,
}


def _delta_cell(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None, metric: str) -> str:
    """A Δ cell, green when B is better than A on this metric and red when worse."""
    text = _delta(a, b, metric)
    if text == "—" or metric not in _HIGHER_IS_BETTER or float(text) == 0:
        return _td(text, "num")
    better = (float(text) > 0) == _HIGHER_IS_BETTER[metric]
    return _td(text, "num " + ("delta-good" if better else "delta-bad"))


def _gate_pairs(report_a: Mapping[str, Any], report_b: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    gates_a = {g["name"]: g for g in report_a["verdict"].get("gates", [])}
    gates_b = {g["name"]: g for g in report_b["verdict"].get("gates", [])}
    names = list(gates_a) + [n for n in gates_b if n not in gates_a]
    return [(name, gates_a.get(name), gates_b.get(name)) for name in names]


def _gate_text(gate: Mapping[str, Any] | None) -> str:
    if gate is None:
        return "not gated"
    return f"{_estimate_text(gate, gate['name'])} {gate['threshold']}"


def _finding_changes(report_a: Mapping[str, Any], report_b: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    rows_b = {r["id"]: r for r in report_b.get("probes") or []}
    return [
        (r, rows_b[r["id"]])
        for r in report_a.get("probes") or []
        if r["id"] in rows_b and r["finding"] != rows_b[r["id"]]["finding"]
    ]


def render_comparison_html(report_a: Mapping[str, Any], report_b: Mapping[str, Any]) -> str:
    """Two runs side by side: verdicts, gates and metrics with deltas (B − A), and probes that differ."""
    label_a, label_b = _labels(report_a, report_b)
    parts = [f'<header><h1>Two edits compared</h1><p class="sub">{_e(label_a)} · {_e(label_b)}</p></header>']
    columns = []
    for label, report in ((label_a, report_a), (label_b, report_b)):
        verdict = report["verdict"]
        status = verdict["status"] if verdict.get("gates") else "none"
        block = (
            f'<div><div class="verdict {status}"><div class="word">{_e(label)}: '
            f"{_STATUS_WORDS.get(status, 'NO GATES')}</div><p>{_e(_verdict_line(verdict))}</p></div>"
        )
        if report.get("contamination"):
            block += _html_contamination_warning(report["contamination"])
        leaked = "".join(f"<li>{_e(s)}</li>" for s in (report.get("summary") or {}).get("leaked", []))
        moved = "".join(f"<li>{_e(s)}</li>" for s in (report.get("summary") or {}).get("moved", []))
        block += f"<h3>What leaked</h3><ul>{leaked}</ul><h3>What else moved</h3><ul>{moved}</ul></div>"
        columns.append(block)
    parts.append(f'<section class="columns">{"".join(columns)}</section>')
    gate_rows = [
        [
            f"<td>{_e(METRIC_LABELS.get(name, name))}</td>",
            _td(_gate_text(a), "num"),
            f"<td>{_badge(a['status']) if a else ''}</td>",
            _td(_gate_text(b), "num"),
            f"<td>{_badge(b['status']) if b else ''}</td>",
            _delta_cell(a, b, name),
        ]
        for name, a, b in _gate_pairs(report_a, report_b)
    ]
    if gate_rows:
        parts += [
            "<h2>Gates</h2>",
            _table(["Gate", label_a, "", label_b, "", "Δ (B − A)"], gate_rows, raw=True),
        ]
    after_a, after_b = report_a["metrics"]["after"], report_b["metrics"]["after"]
    metric_rows = [
        [
            _td(METRIC_LABELS.get(name, name)),
            _td(_estimate_text(after_a.get(name), name), "num"),
            _td(_estimate_text(after_b.get(name), name), "num"),
            _delta_cell(after_a.get(name), after_b.get(name), name),
        ]
        for name in METRICS
        if name in after_a or name in after_b
    ]
    parts += [
        "<h2>Metrics after the edit (test split)</h2>",
        _table(["Metric", label_a, label_b, "Δ (B − A)"], metric_rows, raw=True),
    ]
    categories = [m for m in RATE_METRICS if after_a.get(m, {}).get("n") or after_b.get(m, {}).get("n")]
    if categories:
        parts.append(
            _interval_chart(
                "Rates after each edit, with 95% intervals",
                [METRIC_LABELS[m] for m in categories],
                [
                    (label_a, _PALETTE[1], [after_a.get(m) for m in categories]),
                    (label_b, _PALETTE[0], [after_b.get(m) for m in categories]),
                ],
                "share of probes",
                (0.0, 1.0),
            )
        )
    changes = _finding_changes(report_a, report_b)
    parts.append(f"<h2>Probes whose finding differs ({len(changes)})</h2>")
    if changes:
        rows = [
            [
                _td(a["id"], "id"),
                _td(a["kind"]),
                _td(a["prompt"]),
                f"<td>{_badge(a['finding'], a['finding'])} {a['margin_after']:+.2f}</td>",
                f"<td>{_badge(b['finding'], b['finding'])} {b['margin_after']:+.2f}</td>",
            ]
            for a, b in changes
        ]
        parts.append(
            _table(
                ["Id", "Kind", "Prompt", f"{label_a} (margin after)", f"{label_b} (margin after)"],
                rows,
                sortable=True,
                raw=True,
            )
        )
    else:
        parts.append('<p class="note">Every probe the two runs share has the same finding.</p>')
    return _page(f"nudge · {label_a} vs {label_b}", "".join(parts))


def render_comparison_markdown(report_a: Mapping[str, Any], report_b: Mapping[str, Any]) -> str:
    """The comparison as Markdown, without the plot."""
    label_a, label_b = _labels(report_a, report_b)
    parts = [f"# Two edits compared — {_md(label_a)} · {_md(label_b)}\n"]
    for label, report in ((label_a, report_a), (label_b, report_b)):
        verdict = report["verdict"]
        word = _STATUS_WORDS.get(verdict["status"], "") if verdict.get("gates") else "NO GATES"
        parts.append(f"## {_md(label)}: {word}\n\n{_verdict_line(verdict)}\n")
        if report.get("contamination"):
            parts.append(
                "> **Contamination: these gates are not trustworthy.** "
                f"{_contamination_line(report['contamination'])}\n"
            )
        for sentence in (report.get("summary") or {}).get("leaked", []):
            parts.append(f"- {_md(sentence)}")
        parts.append("")
    gate_rows = [
        [
            METRIC_LABELS.get(name, name),
            _gate_text(a) + (f" **{_STATUS_WORDS[a['status']]}**" if a else ""),
            _gate_text(b) + (f" **{_STATUS_WORDS[b['status']]}**" if b else ""),
            _delta(a, b, name),
        ]
        for name, a, b in _gate_pairs(report_a, report_b)
    ]
    if gate_rows:
        parts += ["## Gates\n", _md_table(["Gate", _md(label_a), _md(label_b), "Δ (B − A)"], gate_rows)]
    after_a, after_b = report_a["metrics"]["after"], report_b["metrics"]["after"]
    metric_rows = [
        [
            METRIC_LABELS.get(name, name),
            _estimate_text(after_a.get(name), name),
            _estimate_text(after_b.get(name), name),
            _delta(after_a.get(name), after_b.get(name), name),
        ]
        for name in METRICS
        if name in after_a or name in after_b
    ]
    parts += [
        "## Metrics after the edit (test split)\n",
        _md_table(["Metric", _md(label_a), _md(label_b), "Δ (B − A)"], metric_rows),
    ]
    changes = _finding_changes(report_a, report_b)
    parts.append(f"## Probes whose finding differs ({len(changes)})\n")
    if changes:
        rows = [
            [
                _md(a["id"]),
                a["kind"],
                _md(a["prompt"]),
                f"{a['finding']} {a['margin_after']:+.2f}",
                f"{b['finding']} {b['margin_after']:+.2f}",
            ]
            for a, b in changes
        ]
        parts.append(_md_table(["Id", "Kind", "Prompt", _md(label_a), _md(label_b)], rows))
    return "\n".join(parts)
