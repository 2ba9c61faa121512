"""Concurrent writers lose nothing; a process killed mid-import leaves the database as it was."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from store import Store
from tests.store.helpers import seed_outputs, table_counts

WRITERS = 8
ITEMS = 25  # per writer, per thread
PROCESS_ITEMS = 10  # per writer process: each process pays for its own start-up
REPO = Path(__file__).resolve().parents[2]


def test_eight_threads_submitting_and_updating_at_once_lose_nothing(store: Store) -> None:
    names = [f"writer{i}" for i in range(WRITERS)]
    for name in names:
        store.add_annotator(name)
    items = seed_outputs(store, ITEMS, tags=("dog-cat",))
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            start.wait()
            for generation_id in items:  # everyone judges the same outputs, at the same time
                judgment = store.submit_judgment(name, generation_id, "rating", "down", status="draft")
                store.update_judgment(name, judgment.id, status="submitted")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    counts = table_counts(store)
    assert counts["judgments"] == WRITERS * ITEMS
    assert counts["judgment_history"] == 2 * WRITERS * ITEMS
    assert counts["judgment_tags"] == WRITERS * ITEMS
    assert all(p.submitted == ITEMS and p.remaining == 0 for p in store.progress_by_annotator())


SUBMIT = """
import sys
from store import Store
url, name, ids = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3].split(",")]
with Store.open(url) as store:
    for generation_id in ids:
        store.submit_judgment(name, generation_id, "correction", "down", correction="meow")
"""


def test_eight_processes_submitting_at_once_on_sqlite_lose_nothing(tmp_path: Path) -> None:
    """Processes share only the file and its locks (PostgreSQL's writers are covered by threads)."""
    empty_url = f"sqlite:///{tmp_path / 'nudge.db'}"
    with Store.init_db(empty_url) as store:
        for i in range(WRITERS):
            store.add_annotator(f"writer{i}")
        items = seed_outputs(store, PROCESS_ITEMS)
    ids = ",".join(map(str, items))
    processes = [
        subprocess.Popen([sys.executable, "-c", SUBMIT, empty_url, f"writer{i}", ids], cwd=REPO, stderr=subprocess.PIPE)
        for i in range(WRITERS)
    ]
    failures = [p.stderr.read().decode() for p in processes if p.wait() != 0]  # type: ignore[union-attr]
    assert failures == []
    with Store.open(empty_url) as store:
        counts = table_counts(store)
        assert counts["judgments"] == counts["judgment_history"] == WRITERS * PROCESS_ITEMS
        assert len(store.export_records("sft")) == WRITERS * PROCESS_ITEMS


IMPORT = """
import sys
from store import Store
url, kind, path = sys.argv[1:4]
with Store.open(url) as store:
    load = store.import_prompts if kind == "prompts" else store.import_judgments
    load(path, on_progress=lambda done, total: print(done, total, flush=True))
print("finished", flush=True)
"""


def big_file(path: Path, kind: str, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            if kind == "prompts":
                record: dict[str, object] = {"text": f"prompt number {i}", "tags": ["bulk", f"t{i % 7}"]}
            else:
                record = {
                    "annotator": "alice",
                    "kind": "rating",
                    "prompt": f"prompt number {i}",
                    "model": "toyworld",
                    "output": f"output {i}",
                    "verdict": "up",
                }
            handle.write(json.dumps(record) + "\n")
    return path


@pytest.mark.parametrize(("kind", "lines"), [("prompts", 20_000), ("judgments", 5_000)])
def test_killing_a_process_mid_import_leaves_the_database_as_it_was(
    empty_url: str, tmp_path: Path, kind: str, lines: int
) -> None:
    with Store.init_db(empty_url) as store:
        store.add_annotator("alice")
        seed_outputs(store, 3)
        before = table_counts(store)
    source = big_file(tmp_path / f"{kind}.jsonl", kind, lines)
    child = subprocess.Popen(
        [sys.executable, "-c", IMPORT, empty_url, kind, str(source)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    progress = child.stdout.readline().split()  # rows are being written, inside the transaction
    assert progress and int(progress[0]) < int(progress[1]), progress
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    assert "finished" not in child.stdout.read()
    with Store.open(empty_url) as store:
        assert table_counts(store) == before
        if store.engine.dialect.name == "sqlite":
            with store.engine.connect() as connection:
                assert connection.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
        small = big_file(tmp_path / "small.jsonl", kind, 10)
        report = (store.import_prompts if kind == "prompts" else store.import_judgments)(small)  # no lock left behind
        assert report.added == 10
