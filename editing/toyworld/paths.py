"""Where the toy world's shipped data lives, and which file a `toyworld:NAME` reference names."""

from __future__ import annotations

from pathlib import Path

TOYWORLD_PREFIX = "toyworld:"  # a spec's or the CLI's reference to shipped data: `toyworld:dog-cat-swap`
TOYWORLD_DATA = Path(__file__).parent / "data"
TOYWORLD_SUITES = ("capital-change", "dog-cat-swap")
# the example specs of a source checkout (the demo applies them; the app's Edit tab offers them)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def toyworld_suite_file(ref: str) -> Path | None:
    """The JSONL file of a toy-world probe suite (`toyworld:dog-cat-swap`); None when there is no such suite."""
    name = ref.removeprefix(TOYWORLD_PREFIX)
    return TOYWORLD_DATA / f"{name}.jsonl" if name in TOYWORLD_SUITES else None


def toyworld_text_file(ref: str) -> Path | None:
    """The file of a toy-world text set (`toyworld:retain`, `toyworld:filler`, `toyworld:fluency`); None if none."""
    name = ref.removeprefix(TOYWORLD_PREFIX)
    candidates = [TOYWORLD_DATA / f"{name}.jsonl", TOYWORLD_DATA / f"{name}.txt"]
    return next((p for p in candidates if p.exists()), None)
