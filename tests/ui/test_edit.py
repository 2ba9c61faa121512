"""The background edit worker: the dog-cat edit on the toy model launched from the Edit tab and run to the end
(the session's one full edit), and long edits cancelled and killed."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from editing.toyworld.paths import EXAMPLES, TOYWORLD_DATA
from feedback_ui.edit_jobs import EditBusy, EditJobs, EditProgress
from feedback_ui.tabs.edit import validation_message
from store import Store
from tests.ui.conftest import FinishedEdit

SPEC = (EXAMPLES / "dog-cat-swap.yaml").read_text(encoding="utf-8")
# The same edit, training long enough that a cancel or a kill always lands mid-training:
# the example's 200 steps with early stopping can end before the test acts on an idle machine.
_long = yaml.safe_load(SPEC)
_long["train"].update(steps=5000, early_stop="none")
LONG_SPEC = yaml.safe_dump(_long, sort_keys=False)


@pytest.fixture
def jobs(toyworld_workspace: Path) -> Iterator[EditJobs]:
    store = Store.init_db()
    store.import_judgments(TOYWORLD_DATA / "demo_feedback.jsonl", create_annotators=True)
    jobs = EditJobs(toyworld_workspace, store)
    yield jobs
    holder = jobs.holder()
    if holder is not None:  # a failed test must not leave its worker running
        os.kill(holder["pid"], signal.SIGKILL)
    store.close()


def wait_for(jobs: EditJobs, done: Callable[[EditProgress], bool], timeout: float = 240) -> EditProgress:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = jobs.progress()
        if done(progress):
            return progress
        time.sleep(0.2)
    log = next((jobs.folder).glob("*/worker.log")).read_text()
    raise AssertionError(f"timed out; last progress {jobs.progress()}; worker log:\n{log}")


def test_an_edit_launched_from_the_edit_tab_runs_to_the_end_and_frees_the_slot(
    finished_edit: FinishedEdit, tmp_path: Path
) -> None:
    home, captions = finished_edit.home, finished_edit.captions
    assert finished_edit.launched.startswith("Launched job") and "training examples" in finished_edit.plan
    assert "already running" in finished_edit.second_launch
    assert any(caption.startswith("running: training the adapter, step ") for caption in captions), captions
    assert captions[-1].startswith(f"succeeded (run {finished_edit.run_id}, job ")
    with Store.open(finished_edit.store_copy(tmp_path)) as store:
        run = store.run(finished_edit.run_id)
        jobs = EditJobs(home, store)
        assert jobs.holder() is None and not jobs.lock_path.exists()
    assert run.status == "succeeded" and run.result_version_id is not None
    assert (home / "adapters" / str(run.id) / "adapter_config.json").is_file()
    assert (home / "reports" / str(run.id) / "report.html").is_file()


def test_cancel_ends_the_run_interrupted_without_an_adapter(jobs: EditJobs) -> None:
    # launched as from an app started in the background (`nohup nudge ui &`): the worker inherits SIGINT ignored
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        jobs.launch(LONG_SPEC, EXAMPLES, "admin")
    finally:
        signal.signal(signal.SIGINT, previous)
    wait_for(jobs, lambda p: p.phase == "training the adapter" or p.finished)
    jobs.cancel()
    done = wait_for(jobs, lambda p: p.finished)
    assert done.state == "interrupted", done
    run = jobs.store.run(done.run_id)
    assert run.status == "interrupted" and run.result_version_id is None
    assert not (jobs.home / "adapters" / str(run.id)).exists()
    with pytest.raises(EditBusy, match="nothing to cancel"):
        jobs.cancel()


def test_a_killed_worker_reads_as_interrupted_and_a_new_edit_can_start(jobs: EditJobs) -> None:
    jobs.launch(LONG_SPEC, EXAMPLES, "admin")
    wait_for(jobs, lambda p: p.run_id is not None or p.finished)
    os.kill(jobs.holder()["pid"], signal.SIGKILL)
    done = wait_for(jobs, lambda p: p.finished, timeout=20)
    assert done.state == "interrupted"
    assert jobs.store.run(done.run_id).status == "interrupted"
    assert "ended while the run was running" in done.error
    assert not (jobs.home / "adapters" / str(done.run_id)).exists()
    # the dead worker's lock does not block the next edit; cancelled at once, while its worker is still starting
    # with SIGINT ignored (an app started in the background), it still ends: the cancel is also written down
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        jobs.launch(LONG_SPEC, EXAMPLES, "admin")
    finally:
        signal.signal(signal.SIGINT, previous)
    jobs.cancel()
    assert wait_for(jobs, lambda p: p.finished, timeout=60).state == "interrupted"


def test_a_spec_with_an_error_is_named_as_it_is_typed(toyworld_workspace: Path) -> None:
    assert validation_message(SPEC, EXAMPLES).startswith("✅ valid spec `swap-dog-cat`")
    broken = SPEC.replace("rank: 8", "rank: eight")
    assert "lora.rank" in validation_message(broken, EXAMPLES)
    assert "not valid YAML" in validation_message("name: [unclosed", EXAMPLES)
