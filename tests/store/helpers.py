"""Helpers shared by the store tests: the toy world's files, seeding, and row counts."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from store import Store
from store.models import Base

DATA = Path(__file__).resolve().parents[2] / "editing" / "toyworld" / "data"
DEMO_FEEDBACK = DATA / "demo_feedback.jsonl"
TOY_PROMPTS = DATA / "prompts.jsonl"


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def table_counts(store: Store) -> dict[str, int]:
    """Rows per table: compare before and after to prove a failed write changed nothing."""
    with store.engine.connect() as connection:
        return {
            name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for name, table in Base.metadata.tables.items()
        }


def seed_outputs(store: Store, n: int, tags: tuple[str, ...] = ("t",), ref: str = "toyworld") -> list[int]:
    """`n` prompts with one output each from base model `ref`; returns the generation ids."""
    version = store.ensure_base_version(ref)
    prompts = [store.add_prompt(f"prompt {i}", tags=tags) for i in range(n)]
    generations = store.add_generations(version.id, [(p.id, f"output {i}") for i, p in enumerate(prompts)])
    return [g.id for g in generations]
