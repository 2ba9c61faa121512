"""Store benchmark: judgment submits (1 and 8 writers) and next-item latency at 100,000 prompts.

    .venv/bin/python bench/store_bench.py [--pg URL] [--judgments 10000] [--prompts 100000]

Runs on a fresh SQLite file, and on PostgreSQL when --pg (or NUDGE_TEST_PG) gives a server
URL (it works in a throwaway schema, dropped afterwards). Prints a Markdown table of medians
(p50) and 95th percentiles. Targets: p95 submit under 20 ms on SQLite with 8 writers;
next item under 10 ms at 100,000 prompts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from store import Store

TAGGED_SHARE = 10  # one prompt in ten carries the `rare` tag, for the filtered queue
NEXT_ITEM_CALLS = 300


@dataclass(frozen=True)
class Row:
    backend: str
    measure: str
    writers: int
    n: int
    per_second: float | None
    p50_ms: float
    p95_ms: float


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextmanager
def fresh_database(backend: str, pg_url: str | None) -> Iterator[str]:
    """A URL of a new, empty database; removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    assert pg_url is not None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        url = make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


def seed(store: Store, n_prompts: int, folder: Path) -> list[int]:
    """`n_prompts` prompts (every tenth tagged `rare`), one output each; returns generation ids."""
    path = folder / "prompts.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n_prompts):
            tags = ["bench", "rare"] if i % TAGGED_SHARE == 0 else ["bench"]
            handle.write(json.dumps({"text": f"Benchmark prompt number {i}", "tags": tags}) + "\n")
    store.import_prompts(path)
    version = store.ensure_base_version("bench-model")
    prompts = store.prompts()
    generations = store.add_generations(version.id, [(p.id, f"output {i}") for i, p in enumerate(prompts)])
    analyze(store)
    return [g.id for g in generations]


def analyze(store: Store) -> None:
    """Fresh planner statistics after a bulk load, as autovacuum would soon provide on a server."""
    with store.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


def bulk_judge(store: Store, annotator: str, indices: Iterable[int], folder: Path) -> None:
    """Judgments on the outputs `seed` made, through a bulk import (much faster than submits)."""
    path = folder / f"{annotator}.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for i in indices:
            record = {
                "annotator": annotator,
                "kind": "rating",
                "prompt": f"Benchmark prompt number {i}",
                "model": "bench-model",
                "output": f"output {i}",
                "verdict": "up",
            }
            handle.write(json.dumps(record) + "\n")
    store.import_judgments(path)


def run_writers(store: Store, writers: int, items: list[int]) -> tuple[list[float], float]:
    """Each writer is its own annotator judging every output in `items`; latencies in seconds."""
    names = [f"writer{w}-{uuid.uuid4().hex[:6]}" for w in range(writers)]
    for name in names:
        store.add_annotator(name)
    latencies: list[list[float]] = [[] for _ in range(writers)]
    start = threading.Barrier(writers + 1)

    def work(w: int) -> None:
        start.wait()
        for generation_id in items:  # all writers walk the same outputs, as annotators do
            began = time.perf_counter()
            store.submit_judgment(names[w], generation_id, "rating", "down", note="bench")
            latencies[w].append(time.perf_counter() - began)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return [x for per_writer in latencies for x in per_writer], time.perf_counter() - began


def bench_submits(backend: str, url: str, writers: int, n: int, folder: Path) -> Row:
    with Store.init_db(url) as store:
        items = seed(store, n // writers, folder)
        samples, wall = run_writers(store, writers, items)
    return Row(
        backend,
        "submit judgment",
        writers,
        len(samples),
        len(samples) / wall,
        1000 * statistics.median(samples),
        1000 * percentile(samples, 0.95),
    )


def timed(call: Callable[[], object], repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return samples


def bench_next_item(backend: str, url: str, n_prompts: int, folder: Path) -> list[Row]:
    rows = []
    with Store.init_db(url) as store:
        seed(store, n_prompts, folder)
        for name in ("fresh", "busy", "skipper"):
            store.add_annotator(name)
        busy_judged = min(2_000, n_prompts // 10)
        bulk_judge(store, "busy", range(busy_judged), folder)  # some way into a session
        # judged the first fifth, then jumped to the last output: the wrap-around scans that fifth
        wrap_judged = n_prompts // 5
        bulk_judge(store, "skipper", [*range(wrap_judged), n_prompts - 1], folder)
        analyze(store)
        cases: list[tuple[str, Callable[[], object]]] = [
            ("next item, new annotator", lambda: store.next_item_for("fresh")),
            (f"next item, {busy_judged:,} judged", lambda: store.next_item_for("busy")),
            ("next item, tag filter (10%)", lambda: store.next_item_for("busy", tags=["rare"])),
        ]
        for name, call in cases:
            samples = timed(call, NEXT_ITEM_CALLS)
            rows.append(
                Row(
                    backend,
                    name,
                    1,
                    n_prompts,
                    None,
                    1000 * statistics.median(samples),
                    1000 * percentile(samples, 0.95),
                )
            )
        walk = []
        for _ in range(NEXT_ITEM_CALLS):  # the labelling loop: fetch, judge, fetch the next
            began = time.perf_counter()
            item = store.next_item_for("busy")
            walk.append(time.perf_counter() - began)
            assert item is not None
            store.submit_judgment("busy", item.generation_id, "rating", "up")
        rows.append(
            Row(
                backend,
                "next item, while labelling",
                1,
                n_prompts,
                None,
                1000 * statistics.median(walk),
                1000 * percentile(walk, 0.95),
            )
        )
        wrap = timed(lambda: store.next_item_for("skipper"), 20)
        rows.append(
            Row(
                backend,
                f"next item, wrap-around past {wrap_judged:,} judged",
                1,
                n_prompts,
                None,
                1000 * statistics.median(wrap),
                1000 * percentile(wrap, 0.95),
            )
        )
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| backend | measure | writers | n | per second | p50 ms | p95 ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        rate = f"{r.per_second:,.0f}" if r.per_second is not None else "-"
        lines.append(
            f"| {r.backend} | {r.measure} | {r.writers} | {r.n:,} | {rate} | {r.p50_ms:.2f} | {r.p95_ms:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg", default=os.environ.get("NUDGE_TEST_PG"), help="PostgreSQL URL (default: $NUDGE_TEST_PG)"
    )
    parser.add_argument("--judgments", type=int, default=10_000, help="judgments per submit benchmark")
    parser.add_argument("--prompts", type=int, default=100_000, help="prompts for the next-item benchmark")
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if args.pg else [])
    rows: list[Row] = []
    for backend in backends:
        for writers in (1, 8):
            with fresh_database(backend, args.pg) as url, tempfile.TemporaryDirectory() as folder:
                rows.append(bench_submits(backend, url, writers, args.judgments, Path(folder)))
                print(f"done: {backend} submits, {writers} writer(s)", file=sys.stderr)
        with fresh_database(backend, args.pg) as url, tempfile.TemporaryDirectory() as folder:
            rows.extend(bench_next_item(backend, url, args.prompts, Path(folder)))
            print(f"done: {backend} next item", file=sys.stderr)
    print(table(rows))


if __name__ == "__main__":
    main()
