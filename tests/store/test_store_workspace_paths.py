"""A workspace that moves: the store keeps adapter and report paths relative to the workspace, on both backends.

A store-level test; the end-to-end one (open every report, score version:N, build on it) drives the CLI.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from store import InvalidInput, Store, migrate
from store.db import create_engine
from store.models import Base
from store.paths import kept_path

SHA = "ab" * 32
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class Workspace:
    home: Path
    backend: str
    pg_url: str | None

    @property
    def url(self) -> str:
        return self.pg_url or f"sqlite:///{self.home / 'nudge.db'}"


@pytest.fixture(params=BACKENDS)
def workspace(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """An empty workspace folder as NUDGE_HOME; its database is the SQLite file in it, or a PostgreSQL schema."""
    home = tmp_path / "old-place" / "ws"
    home.mkdir(parents=True)
    monkeypatch.setenv("NUDGE_HOME", str(home))
    monkeypatch.delenv("NUDGE_DB", raising=False)
    pg_url = request.getfixturevalue("pg_schema_url") if request.param == "postgres" else None
    yield Workspace(home, request.param, pg_url)


def write_run_files(home: Path, run_id: int) -> tuple[Path, Path]:
    """A fake adapter folder and report.json for run `run_id`, where nudge apply writes them."""
    adapter = home / "adapters" / str(run_id)
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text("{}", encoding="utf-8")
    report = home / "reports" / str(run_id) / "report.json"
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"run": {"id": run_id}}), encoding="utf-8")
    return adapter, report


def finished_run(store: Store, parent_id: int) -> tuple[int, int]:
    """A run on `parent_id` that finished, its adapter and report written; (run id, version id)."""
    run_id = store.create_run({}, "spec", "data", 0, base_version_id=parent_id)
    store.mark_run(run_id, "running")
    adapter, report = write_run_files(store.workspace, run_id)
    metrics = {"verdict": {"status": "pass", "passed": True}, "report": str(report)}
    version = store.finish_run(run_id, parent_id, str(adapter), SHA, metrics, passed=True)
    return run_id, version.id


def stored_paths(url: str) -> tuple[list[str], list[str]]:
    """The adapter paths and report paths as the database holds them."""
    engine = create_engine(url)
    with engine.connect() as connection:
        adapters = connection.execute(
            sa.text("SELECT adapter_path FROM model_versions WHERE parent_id IS NOT NULL ORDER BY id")
        )
        runs = Base.metadata.tables["edit_runs"]
        metrics = connection.execute(sa.select(runs.c.metrics).order_by(runs.c.id))
        found = [r[0] for r in adapters], [m["report"] for (m,) in metrics if m and "report" in m]
    engine.dispose()
    return found


def test_a_moved_workspace_hands_back_paths_under_its_new_folder(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store.init_db(workspace.url) as store:
        assert store.workspace == workspace.home
        base = store.ensure_base_version("toyworld")
        first_run, first = finished_run(store, base.id)
        second_run, second = finished_run(store, first)
        hand_made = store.add_adapter_version(second, str(workspace.home / "adapters" / str(second_run)), SHA)
        store.promote_version(second, by="admin")
    assert stored_paths(workspace.url) == (
        [f"adapters/{first_run}", f"adapters/{second_run}", f"adapters/{second_run}"],
        [f"reports/{first_run}/report.json", f"reports/{second_run}/report.json"],
    )

    moved = tmp_path / "new-place" / "ws"
    moved.parent.mkdir()
    shutil.move(workspace.home, moved)
    assert not workspace.home.exists()
    monkeypatch.setenv("NUDGE_HOME", str(moved))
    url = workspace.pg_url or f"sqlite:///{moved / 'nudge.db'}"
    with Store.open(url) as store:
        chain = store.version_chain(hand_made.id)
        assert [v.adapter_path for v in chain] == [
            None,
            str(moved / "adapters" / str(first_run)),
            str(moved / "adapters" / str(second_run)),
            str(moved / "adapters" / str(second_run)),
        ]
        every = [v.adapter_path for v in store.model_versions() if v.adapter_path is not None]
        assert every and all((Path(p) / "adapter_config.json").is_file() for p in every)
        current = store.current_model_version()
        assert current is not None and current.adapter_path == str(moved / "adapters" / str(second_run))
        reports = [run.metrics["report"] for run in store.runs() if run.metrics]
        assert reports == [str(moved / "reports" / str(r) / "report.json") for r in (second_run, first_run)]
        assert all(Path(report).is_file() for report in reports)
        assert store.run(first_run).metrics["verdict"] == {"status": "pass", "passed": True}
        third_run, third = finished_run(store, second)  # the next edit builds on the moved version
        assert store.model_version(third).adapter_path == str(moved / "adapters" / str(third_run))


def test_a_store_opened_for_another_workspace_resolves_against_it(workspace: Workspace, tmp_path: Path) -> None:
    with Store.init_db(workspace.url) as store:
        run_id, version = finished_run(store, store.ensure_base_version("toyworld").id)
    elsewhere = tmp_path / "a-copy"
    with Store.open(workspace.url, workspace=elsewhere) as store:
        assert store.workspace == elsewhere
        assert store.model_version(version).adapter_path == str(elsewhere / "adapters" / str(run_id))
        assert store.run(run_id).metrics["report"] == str(elsewhere / "reports" / str(run_id) / "report.json")


def test_a_path_outside_the_workspace_is_refused_naming_it_and_the_workspace(
    workspace: Workspace, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere" / "adapters" / "1"
    with Store.init_db(workspace.url) as store:
        base = store.ensure_base_version("toyworld")
        run_id = store.create_run({}, "spec", "data", 0, base_version_id=base.id)
        store.mark_run(run_id, "running")
        message = f"adapter path {outside} is outside the workspace {workspace.home}; .*NUDGE_HOME"
        with pytest.raises(InvalidInput, match=message):
            store.finish_run(run_id, base.id, str(outside), SHA, {}, passed=True)
        with pytest.raises(InvalidInput, match="adapter path ../adapters/1 is outside the workspace"):
            store.add_adapter_version(base.id, "../adapters/1", SHA)
        with pytest.raises(InvalidInput, match=f"report path {tmp_path / 'r.json'} is outside the workspace"):
            store.finish_run(run_id, base.id, "adapters/1", SHA, {"report": str(tmp_path / "r.json")}, passed=True)
        with pytest.raises(InvalidInput, match="report path .* is outside the workspace"):
            store.mark_run(run_id, "failed", metrics={"report": "/srv/reports/1/report.json"})
        assert store.run(run_id).status == "running" and [v.id for v in store.model_versions()] == [base.id]


def test_kept_paths_are_relative_with_slashes_and_a_link_inside_the_workspace_counts_as_inside(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    (home / "models").mkdir(parents=True)
    (tmp_path / "shared-model").mkdir()
    (home / "models" / "toy").symlink_to(tmp_path / "shared-model", target_is_directory=True)
    assert kept_path(home / "adapters" / "3", home, "adapter path") == "adapters/3"
    assert kept_path("adapters/./3/", home, "adapter path") == "adapters/3"
    assert kept_path(str(home / "models" / "toy" / "x"), home, "adapter path") == "models/toy/x"
    (tmp_path / "link-to-ws").symlink_to(home, target_is_directory=True)
    assert kept_path(tmp_path / "link-to-ws" / "reports" / "1", home, "report path") == "reports/1"
    with pytest.raises(InvalidInput, match="outside the workspace"):
        kept_path("adapters/../../x", home, "adapter path")


def insert_pre_0006_rows(url: str, home: Path) -> None:
    """Rows as a nudge before revision 0006 wrote them: absolute paths, inside the workspace and outside."""
    tables = Base.metadata.tables
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.insert(tables["model_versions"]), [{"id": 1, "ref": "toyworld"}])
        connection.execute(
            sa.insert(tables["model_versions"]),
            [
                {"id": 2, "parent_id": 1, "adapter_path": str(home / "adapters" / "1"), "adapter_sha256": SHA},
                {"id": 3, "parent_id": 1, "adapter_path": "/srv/old-workspace/adapters/2", "adapter_sha256": SHA},
            ],
        )
        run = {"spec": {}, "spec_hash": "s", "data_hash": "d", "seed": 0, "status": "succeeded", "host": "h", "pid": 1}
        connection.execute(
            sa.insert(tables["edit_runs"]),
            [
                {**run, "id": 1, "result_version_id": 2, "metrics": {"report": str(home / "reports/1/report.json")}},
                {**run, "id": 2, "result_version_id": 3, "metrics": {"report": "/srv/old-workspace/r/2.json"}},
                {**run, "id": 3, "result_version_id": None, "metrics": {"verdict": {"status": "fail"}}},
            ],
        )
    engine.dispose()


def test_the_migration_makes_paths_under_the_workspace_relative_and_leaves_the_rest(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(workspace.url)
    migrate.upgrade(engine, "0005")
    insert_pre_0006_rows(workspace.url, workspace.home)
    if workspace.backend == "sqlite":  # the SQLite file's folder is its workspace, whatever NUDGE_HOME says
        monkeypatch.setenv("NUDGE_HOME", str(tmp_path / "not-this-one"))
    migrate.upgrade(engine)
    assert stored_paths(workspace.url) == (
        ["adapters/1", "/srv/old-workspace/adapters/2"],
        ["reports/1/report.json", "/srv/old-workspace/r/2.json"],
    )
    with Store.open(workspace.url, workspace=workspace.home) as store:
        assert store.model_version(2).adapter_path == str(workspace.home / "adapters" / "1")
        assert store.model_version(3).adapter_path == "/srv/old-workspace/adapters/2"
        assert store.run(1).metrics["report"] == str(workspace.home / "reports" / "1" / "report.json")
        assert store.run(2).metrics["report"] == "/srv/old-workspace/r/2.json"
        assert store.run(3).metrics == {"verdict": {"status": "fail"}}
    migrate.downgrade(engine, "0005")
    assert stored_paths(workspace.url) == (
        [str(workspace.home / "adapters" / "1"), "/srv/old-workspace/adapters/2"],
        [str(workspace.home / "reports" / "1" / "report.json"), "/srv/old-workspace/r/2.json"],
    )
    engine.dispose()
