"""One edit's impact report: `report.json`, and the same content as a self-contained HTML page and Markdown.

- `measure`: `measure_impact`, the report's measured sections from one run's scores (the numbers come
  from `editing.impact`); `summary`: the plain-words sentences about those numbers
- `document`: assemble `report.json` from what a run measured, write every format, read it back
- `schema`: the JSON Schema of `report.json` (enums from `editing.vocab`); import it from `editing.report.schema`
- `views`: the dataclasses a page shows (cells, tables, charts, sections)
- `sections`: one report's views, built once as data; `comparison`: two runs side by side
- `html` (Jinja2 templates in `templates/`, autoescaped), `markdown` (escaped), `svg` (hand-drawn charts)
- `formatting`: how every figure is written (intervals rounded outward, p-values, changes), shared with the
  console and the demo; `text`: labels and the fixed sentences (the verdict line, the console summary)
"""

from editing.report.document import SCHEMA_VERSION, assemble_report, read_report, report_json, write_report
from editing.report.html import render_comparison_html, render_html
from editing.report.markdown import render_comparison_markdown, render_markdown
from editing.report.sections import LOCATION_STATEMENT
from editing.report.text import console_gate_rows, summary_lines

__all__ = [
    "LOCATION_STATEMENT",
    "SCHEMA_VERSION",
    "assemble_report",
    "console_gate_rows",
    "read_report",
    "render_comparison_html",
    "render_comparison_markdown",
    "render_html",
    "render_markdown",
    "report_json",
    "summary_lines",
    "write_report",
]
