"""The app's overhead: submit-a-judgment and load-next-item through gradio_client vs the same store calls.

    NUDGE_TOYWORLD=/path/to/toyworld-v1 python -m bench.ui_bench [--items 40]

Runs 1 and 8 simulated annotators at once (one thread and one gradio_client session each) against
the app served on loopback over a fresh SQLite workspace, then the same number of annotators
calling `store.next_item_for` + `store.submit_judgment` directly. Outputs are generated before
timing starts, so the numbers are the app's and the store's, not the model's. Prints p50/p95 in
milliseconds and the ratio app / store. Targets: p95 submit < 150 ms with 8 annotators; ratio < 5.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench._common import toy_workspace

PASSWORD = "bench-password-1"
PROMPTS = Path(__file__).resolve().parents[1] / "editing" / "toyworld" / "data" / "prompts.jsonl"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_annotators(n: int, work: Callable[[int, dict[str, list[float]]], None]) -> dict[str, list[float]]:
    """Run `work(i, times)` in n threads at once; the timings of all threads, in seconds."""
    times: dict[str, list[float]] = {"next": [], "submit": []}
    start = threading.Barrier(n)

    def one(i: int) -> None:
        start.wait()
        work(i, times)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def timed(times: list[float], fn: Callable[[], object]) -> object:
    started = time.perf_counter()
    result = fn()
    times.append(time.perf_counter() - started)
    return result


def prepared_store(home: Path, annotators: int):  # -> Store
    from editing.generation import generate_outputs
    from store import Store

    store = Store.init_db(f"sqlite:///{home / 'nudge.db'}")
    store.import_prompts(PROMPTS)
    for i in range(annotators):
        store.add_annotator(f"a{i}", "annotator", PASSWORD)
    generate_outputs(store, store.ensure_base_version("toyworld").id)
    return store


def through_app(home: Path, n: int, items: int) -> dict[str, list[float]]:
    from gradio_client import Client

    from feedback_ui.serve import serve

    prepared_store(home, n).close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = serve(home, port=port, block=False)
    clients = [Client(f"http://127.0.0.1:{port}/", auth=(f"a{i}", PASSWORD), verbose=False) for i in range(n)]

    def work(i: int, times: dict[str, list[float]]) -> None:
        for _ in range(items):
            timed(times["next"], lambda: clients[i].predict(api_name="/label_next"))
            timed(times["submit"], lambda: clients[i].predict("up", "", [], "", api_name="/label_submit"))

    try:
        return run_annotators(n, work)
    finally:
        app.close()


def through_store(home: Path, n: int, items: int) -> dict[str, list[float]]:
    store = prepared_store(home, n)
    version = store.ensure_base_version("toyworld").id

    def work(i: int, times: dict[str, list[float]]) -> None:
        for _ in range(items):
            item = timed(times["next"], lambda: store.next_item_for(f"a{i}", model_version_id=version))
            timed(times["submit"], lambda item=item: store.submit_judgment(f"a{i}", item.generation_id, "rating", "up"))

    try:
        return run_annotators(n, work)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=40, help="items each annotator judges (at most 73)")
    args = parser.parse_args()
    rows = []
    for n in (1, 8):
        results = {}
        for name, run in (("app", through_app), ("store", through_store)):
            with tempfile.TemporaryDirectory() as tmp:
                toy_workspace(Path(tmp))
                results[name] = run(Path(tmp), n, args.items)
        for op in ("submit", "next"):
            app_ms = [1000 * t for t in results["app"][op]]
            store_ms = [1000 * t for t in results["store"][op]]
            rows.append((n, op, app_ms, store_ms))
    print("| annotators | operation | app p50 ms | app p95 ms | store p50 ms | store p95 ms | p50 ratio |")
    print("|---|---|---|---|---|---|---|")
    for n, op, app_ms, store_ms in rows:
        ratio = statistics.median(app_ms) / statistics.median(store_ms)
        print(
            f"| {n} | {op} | {statistics.median(app_ms):.1f} | {percentile(app_ms, 0.95):.1f} "
            f"| {statistics.median(store_ms):.1f} | {percentile(store_ms, 0.95):.1f} | {ratio:.1f}x |"
        )


if __name__ == "__main__":
    main()
