"""`report.json` as a document: assembled from what a run measured, written in every format, read back.

`report.json` is the source: every number the HTML and Markdown show is in it
(`editing.report.schema` describes it; it is not imported here, so that
`python -m editing.report.schema` runs without the package having loaded it first).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from editing.report.html import render_html
from editing.report.markdown import render_markdown
from editing.vocab import NO_GATES

SCHEMA_VERSION = 4  # of report.json: what this nudge writes
# Versions 2 and 3 only added fields (2: generation-level rates, `says`, sign-flip tests; 3: the `regression`
# probe kind, its metrics and findings, `earlier_edits`, a gate row's `edit`), so older versions read too.
# Version 4 gave the verdict the status `none` (NO_GATES), which older versions wrote as `pass`.
READABLE_VERSIONS = (1, 2, 3, 4)


def _finite(value: Any) -> Any:
    """The same data with NaN and infinities as None (JSON has no NaN) and tuples as lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
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
    """The report as one JSON-ready dict (schema version SCHEMA_VERSION).

    `impact_sections` is what `measure_impact` (`editing.report.measure`) returns (`earlier_edits`
    may be left out: none); the rest are
    `find_contamination`'s rows, `{prompt, before, after}` generations, the spectral
    sections (or None) and the run record.
    """
    missing = [key for key in ("metrics", "verdict", "probes", "summary") if key not in impact_sections]
    if missing:
        raise ValueError(f"impact_sections lacks {', '.join(missing)}; pass what measure_impact returns")
    for index, generation in enumerate(generations):
        absent = [key for key in ("prompt", "before", "after") if key not in generation]
        if absent:
            raise ValueError(f"generation {index} lacks {', '.join(absent)}; each needs prompt, before and after")
    return _finite(
        {
            "schema_version": SCHEMA_VERSION,
            "verdict": impact_sections["verdict"],
            "summary": impact_sections["summary"],
            "metrics": impact_sections["metrics"],
            "probes": impact_sections["probes"],
            "earlier_edits": list(impact_sections.get("earlier_edits", [])),
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
    """Load a report.json (or the folder holding one), upgraded to this version; other versions are refused."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    version = report.get("schema_version") if isinstance(report, dict) else None
    if version not in READABLE_VERSIONS:
        versions = ", ".join(str(v) for v in READABLE_VERSIONS)
        raise ValueError(f"{path} has report schema version {version!r}; this nudge reads versions {versions}")
    return _upgraded(report)


def _upgraded(report: dict[str, Any]) -> dict[str, Any]:
    """An older version's report as this version writes it: a verdict that judged no gate row and no
    contaminated probe, written `pass` before version 4, is `none`."""
    if report["schema_version"] == SCHEMA_VERSION:
        return report
    upgraded = {**report, "schema_version": SCHEMA_VERSION}
    verdict = report.get("verdict")
    if isinstance(verdict, dict) and not verdict.get("gates") and not verdict.get("contaminated"):
        upgraded["verdict"] = {**verdict, "status": NO_GATES}
    return upgraded
