"""Where the toy world's shipped data lives, and which file a `toyworld:NAME` reference names."""

from __future__ import annotations

from pathlib import Path

TOYWORLD = "toyworld"  # the toy world's model goes by this name, and its shipped data by `toyworld:NAME`
TOYWORLD_DATA = Path(__file__).parent / "data"
TOYWORLD_SUITES = ("capital-change", "dog-cat-swap")
TOYWORLD_TEXTS = ("retain", "filler", "fluency")
# the example specs of a source checkout (the demo applies them; the app's Edit tab offers them)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def toyworld_suite_file(name: str) -> Path | None:
    """The JSONL file of a toy-world probe suite (`dog-cat-swap`); None when there is no such suite."""
    return TOYWORLD_DATA / f"{name}.jsonl" if name in TOYWORLD_SUITES else None


def toyworld_text_file(name: str) -> Path | None:
    """The file of a toy-world text set (`retain`, `filler`, `fluency`); None when there is none."""
    candidates = [TOYWORLD_DATA / f"{name}.jsonl", TOYWORLD_DATA / f"{name}.txt"]
    return next((p for p in candidates if p.exists()), None)
