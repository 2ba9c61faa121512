"""The report as one self-contained HTML page, rendered from its sections by Jinja2 templates.

One `Environment(autoescape=True)` holds the templates (`templates/*.html.j2`)
and the `svg` filter, so every piece of user text is escaped by the template
engine, never by hand. The page opens with no network: inline CSS, inline SVG
charts (`svg.py`), and one inline script that sorts tables. Its
Content-Security-Policy forbids fetching anything and allows that one script
by its sha256 hash, computed here from the exact text the page carries.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from editing.report.comparison import build_comparison
from editing.report.sections import build_report
from editing.report.svg import chart_svg


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("editing.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["svg"] = chart_svg
    return environment


TEMPLATES = _environment()
SORT_SCRIPT = resources.files("editing.report").joinpath("templates/sort.js").read_text(encoding="utf-8")


def script_hash(script: str) -> str:
    """A CSP source that allows exactly this inline script: 'sha256-<base64 digest>'."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'unsafe-inline'; script-src {script_hash(SORT_SCRIPT)}; img-src data:"
)


def _render(template: str, **context: Any) -> str:
    return TEMPLATES.get_template(template).render(
        content_security_policy=CONTENT_SECURITY_POLICY, sort_script=Markup(SORT_SCRIPT), **context
    )


def render_html(report: Mapping[str, Any]) -> str:
    """The whole report as one self-contained HTML page."""
    return _render("report.html.j2", report=build_report(report))


def render_comparison_html(left: Mapping[str, Any], right: Mapping[str, Any]) -> str:
    """Two runs side by side: verdicts, gates and metrics with deltas (B − A), and probes that differ."""
    return _render("comparison.html.j2", comparison=build_comparison(left, right))
