"""The app's overhead: submit-a-judgment and load-next-item through gradio_client vs the same store calls.

    NUDGE_TOYWORLD=/path/to/toyworld-v2 python -m bench.ui_bench [--items 40]

Runs 1 and 8 simulated annotators at once (one thread and one gradio_client session each) against
`nudge ui` served on loopback in its own process over a fresh SQLite workspace, then the same number
of annotators making the same store calls directly: `next_item_for` for "next", and for "submit"
what the app's submit does, `submit_judgment` then `next_item_for` (its answer is the next item).
Outputs are generated before timing starts, so the numbers are the app's and the store's, not the
model's. The clients pass `ssl_verify=False`: the URL is plain http, and otherwise gradio_client
builds a CA store for every request (tens to hundreds of ms) that no TLS uses.

gradio_client has a floor of its own: each call is a fresh HTTP POST plus a wait on a server-sent
event stream that its reader polls every 50 ms. So the same clients also call a no-op endpoint of an
empty Gradio app served the same way, and the table prints it as its own row: "ratio" is app / store,
"over floor" is (app - no-op) / store, the app's own work measured against the store's.
Targets: p95 submit < 150 ms with 8 annotators; ratio < 5.

Where the time goes: the last column is the CPU each call costs, the server process's (read from
/proc, less what it burns idle over the same wall time: Gradio's queue polls every millisecond) plus
the clients' (this process). With n annotators on c cores no call can come back faster, on average,
than about n x that CPU / c, whatever the app does; the bench prints that bound for the no-op.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench._common import toy_workspace

PASSWORD = "bench-password-1"
PROMPTS = Path(__file__).resolve().parents[1] / "editing" / "toyworld" / "data" / "prompts.jsonl"
ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_S = 120.0

Timings = dict[str, list[float]]
IDLE_SAMPLE_S = 3.0  # how long the server's idle CPU is read before timing


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuPerCall:
    """CPU milliseconds per call: the server's (less its idle rate) and the clients'."""

    server_ms: float
    client_ms: float

    @property
    def total_ms(self) -> float:
        return self.server_ms + self.client_ms


def cpu_per_call(pid: int, calls: Callable[[], Timings]) -> tuple[Timings, CpuPerCall]:
    """Run `calls` (which times its calls) and charge the CPU spent meanwhile to each call."""
    idle_start = process_cpu_s(pid)
    time.sleep(IDLE_SAMPLE_S)
    idle_per_s = (process_cpu_s(pid) - idle_start) / IDLE_SAMPLE_S
    server_start, client_start, wall_start = process_cpu_s(pid), time.process_time(), time.perf_counter()
    times = calls()
    wall = time.perf_counter() - wall_start
    count = sum(len(samples) for samples in times.values())
    server = max(0.0, process_cpu_s(pid) - server_start - idle_per_s * wall)
    return times, CpuPerCall(1000 * server / count, 1000 * (time.process_time() - client_start) / count)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_annotators(n: int, work: Callable[[int, Timings], None]) -> Timings:
    """Run `work(i, times)` in n threads at once; the timings of all threads, in seconds."""
    times: Timings = {"next": [], "submit": [], "no-op": []}
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(command: list[str], port: int) -> Iterator[tuple[str, int]]:
    """Run a server `command` in its own process (as `nudge ui` runs), until it answers on `port`;
    its URL and process id."""
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(command)} exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    seconds = f"{STARTUP_TIMEOUT_S:.0f} s"
                    raise RuntimeError(f"{' '.join(command)} did not answer on {url} in {seconds}") from None
                time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def clients(url: str, n: int) -> list:  # -> list[gradio_client.Client]
    from gradio_client import Client

    # the URL is plain http on loopback: skip building a CA store per request that no TLS would use
    return [Client(url, auth=(f"a{i}", PASSWORD), verbose=False, ssl_verify=False) for i in range(n)]


def through_app(home: Path, n: int, items: int) -> tuple[Timings, CpuPerCall]:
    prepared_store(home, n).close()
    port = free_port()
    with served([sys.executable, "-m", "editing.cli", "ui", "--port", str(port)], port) as (url, pid):
        sessions = clients(url, n)

        def work(i: int, times: Timings) -> None:
            for _ in range(items):
                timed(times["next"], lambda: sessions[i].predict(api_name="/label_next"))
                timed(times["submit"], lambda: sessions[i].predict("up", "", [], "", api_name="/label_submit"))

        return cpu_per_call(pid, lambda: run_annotators(n, work))


def serve_floor(port: int, annotators: int) -> None:
    """An app with one no-op event, served with the app's queue and a login: gradio_client's own cost."""
    import gradio as gr

    from feedback_ui.concurrency import DEFAULT_CONCURRENCY

    with gr.Blocks() as app:
        answer = gr.Textbox()
        gr.Button().click(lambda: "", [], [answer], api_name="noop")
    app.queue(default_concurrency_limit=DEFAULT_CONCURRENCY)
    app.launch(server_port=port, auth=[(f"a{i}", PASSWORD) for i in range(annotators)], quiet=True)


def through_floor(n: int, items: int) -> tuple[Timings, CpuPerCall]:
    port = free_port()
    code = f"from bench.ui_bench import serve_floor; serve_floor({port}, {n})"
    with served([sys.executable, "-c", code], port) as (url, pid):
        sessions = clients(url, n)

        def work(i: int, times: Timings) -> None:
            for _ in range(2 * items):
                timed(times["no-op"], lambda: sessions[i].predict(api_name="/noop"))

        return cpu_per_call(pid, lambda: run_annotators(n, work))


def through_store(home: Path, n: int, items: int) -> Timings:
    store = prepared_store(home, n)
    version = store.ensure_base_version("toyworld").id

    def submit_and_next(i: int, generation_id: int) -> None:
        store.submit_judgment(f"a{i}", generation_id, "rating", "up")
        store.next_item_for(f"a{i}", model_version_id=version)

    def work(i: int, times: Timings) -> None:
        for _ in range(items):
            item = timed(times["next"], lambda: store.next_item_for(f"a{i}", model_version_id=version))
            timed(times["submit"], partial(submit_and_next, i, item.generation_id))

    try:
        return run_annotators(n, work)
    finally:
        store.close()


def ms(samples: list[float]) -> list[float]:
    return [1000 * t for t in samples]


def cpu_text(cpu: CpuPerCall) -> str:
    return f"{cpu.server_ms:.1f} + {cpu.client_ms:.1f}"


def table(n: int, app: tuple[Timings, CpuPerCall], store: Timings, floor: tuple[Timings, CpuPerCall]) -> list[str]:
    """This many annotators' rows: the no-op floor, then submit and next against the store."""
    (app_times, app_cpu), (floor_times, floor_cpu) = app, floor
    floor_ms = ms(floor_times["no-op"])
    floor_p50 = statistics.median(floor_ms)
    rows = [
        f"| {n} | no-op (gradio_client floor) | {floor_p50:.1f} | {percentile(floor_ms, 0.95):.1f} "
        f"| | | | | {cpu_text(floor_cpu)} |"
    ]
    for op in ("submit", "next"):
        app_ms, store_ms = ms(app_times[op]), ms(store[op])
        app_p50, store_p50 = statistics.median(app_ms), statistics.median(store_ms)
        rows.append(
            f"| {n} | {op} | {app_p50:.1f} | {percentile(app_ms, 0.95):.1f} | {store_p50:.1f} "
            f"| {percentile(store_ms, 0.95):.1f} | {app_p50 / store_p50:.1f}x "
            f"| {max(0.0, app_p50 - floor_p50) / store_p50:.1f}x | {cpu_text(app_cpu)} (next and submit) |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=40, help="items each annotator judges (at most 73)")
    args = parser.parse_args()
    rows, bounds = [], []
    for n in (1, 8):
        with tempfile.TemporaryDirectory() as tmp:
            toy_workspace(Path(tmp))
            app = through_app(Path(tmp), n, args.items)
        with tempfile.TemporaryDirectory() as tmp:
            toy_workspace(Path(tmp))
            store = through_store(Path(tmp), n, args.items)
        floor = through_floor(n, args.items)
        rows += table(n, app, store, floor)
        cores = os.cpu_count() or 1
        bounds.append(
            f"{n} annotator(s) on {cores} cores: a no-op call costs {floor[1].total_ms:.1f} ms of CPU, so calls "
            f"cannot average under {n * floor[1].total_ms / min(n, cores):.0f} ms, before any polling wait"
        )
    print(f"## The app through gradio_client vs the store, {args.items} items per annotator\n")
    print(
        "| annotators | operation | app p50 ms | app p95 ms | store p50 ms | store p95 ms | p50 ratio | over floor "
        "| CPU ms per call (server + clients) |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print("\n" + ".\n".join(bounds) + ".")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\n{platform.python_implementation()} {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load}, {time.strftime('%Y-%m-%d')}"
    )


if __name__ == "__main__":
    main()
