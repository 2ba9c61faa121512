"""Shared fixtures: an isolated workspace per test and one toy-model build per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from editing.workspace import TOYWORLD_MODEL_NAME
from store.passwords import SCRYPT_N_ENV

# Tests never reach for the network: a hub id must fail at once, not after retries.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Passwords hash at a low scrypt cost in tests (the real 2**17 takes over a second per hash and the
# tests make hundreds); set here, before any fixture, so session fixtures and subprocesses see it too.
TEST_SCRYPT_N = 2**10
os.environ[SCRYPT_N_ENV] = str(TEST_SCRYPT_N)


@pytest.fixture(scope="session")
def toyworld_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy model, built once per test session by `nudge toyworld build` (about a minute).

    Set NUDGE_TEST_TOYWORLD to a folder built by `nudge toyworld build` to reuse
    it while iterating locally; CI always builds from scratch.
    """
    prebuilt = os.environ.get("NUDGE_TEST_TOYWORLD")
    if prebuilt and not os.environ.get("CI"):
        return Path(prebuilt)
    from typer.testing import CliRunner

    from editing.cli import app

    home = tmp_path_factory.mktemp("toyworld-home")
    result = CliRunner().invoke(app, ["toyworld", "build"], env={"NUDGE_HOME": str(home)})
    assert result.exit_code == 0, result.output
    return home / "models" / TOYWORLD_MODEL_NAME


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty NUDGE_HOME for one test."""
    home = tmp_path / "nudge-home"
    home.mkdir()
    monkeypatch.setenv("NUDGE_HOME", str(home))
    monkeypatch.delenv("NUDGE_DB", raising=False)
    return home


@pytest.fixture
def toyworld_workspace(workspace: Path, toyworld_dir: Path) -> Path:
    """A NUDGE_HOME whose models/toyworld-v2 (TOYWORLD_MODEL_NAME) is the session's toy model."""
    (workspace / "models").mkdir()
    (workspace / "models" / TOYWORLD_MODEL_NAME).symlink_to(toyworld_dir, target_is_directory=True)
    return workspace


@contextmanager
def demo_workspace(home: Path, toyworld_dir: Path | None = None) -> Iterator[Path]:
    """`home` as NUDGE_HOME (SQLite) holding the toy world's prompts and demo feedback, for a module's tests.

    With `toyworld_dir`, the workspace also has the session's toy model. The environment is restored after.
    """
    from editing.toyworld.paths import TOYWORLD_DATA
    from store import Store
    from store.workspace import using_workspace

    if toyworld_dir is not None:
        (home / "models").mkdir()
        (home / "models" / TOYWORLD_MODEL_NAME).symlink_to(toyworld_dir, target_is_directory=True)
    with using_workspace(home):
        with Store.init_db() as store:
            store.import_prompts(TOYWORLD_DATA / "prompts.jsonl")
            store.import_judgments(TOYWORLD_DATA / "demo_feedback.jsonl", create_annotators=True)
        yield home
