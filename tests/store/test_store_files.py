"""Files on disk: the workspace folder is 0700, the database and its WAL files 0600, whatever the umask."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from store import Store
from store.private_files import make_private_dir, restrict_to_owner, write_private_text

REPO = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 0: a file that comes out owner-only does so because nudge asked, not by the umask's luck."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A NUDGE_HOME that does not exist yet, two levels below an existing folder."""
    home = tmp_path / "project" / ".nudge"
    monkeypatch.setenv("NUDGE_HOME", str(home))
    monkeypatch.delenv("NUDGE_DB", raising=False)
    return home


def test_init_creates_the_workspace_0700_and_the_database_and_its_wal_0600(fresh_home: Path, open_umask: None) -> None:
    with Store.init_db() as store:
        store.add_prompt("The dog says")  # a write: SQLite makes the -wal and -shm files
        database = fresh_home / "nudge.db"
        assert {path.name: mode(path) for path in fresh_home.iterdir()} == {
            "nudge.db": 0o600,
            "nudge.db-wal": 0o600,
            "nudge.db-shm": 0o600,
        }
        assert mode(fresh_home) == 0o700 and mode(fresh_home.parent) == 0o700
        assert database.stat().st_size > 0


def test_init_tightens_a_database_an_older_nudge_left_readable(fresh_home: Path) -> None:
    Store.init_db().close()
    database = fresh_home / "nudge.db"
    os.chmod(database, 0o644)
    Store.open().close()  # opening leaves the mode alone
    assert mode(database) == 0o644
    Store.init_db().close()
    assert mode(database) == 0o600


def test_an_existing_workspace_folder_keeps_its_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "shared"
    home.mkdir(mode=0o750)
    os.chmod(home, 0o750)
    monkeypatch.setenv("NUDGE_HOME", str(home))
    monkeypatch.delenv("NUDGE_DB", raising=False)
    Store.init_db().close()
    assert mode(home) == 0o750 and mode(home / "nudge.db") == 0o600


def test_the_helpers_for_adapters_and_reports_make_owner_only_files(tmp_path: Path, open_umask: None) -> None:
    reports = make_private_dir(tmp_path / "reports" / "7")
    assert mode(reports) == 0o700 and mode(reports.parent) == 0o700
    report = reports / "report.html"
    report.write_text("old", encoding="utf-8")
    os.chmod(report, 0o644)
    write_private_text(report, "<p>é</p>")
    assert mode(report) == 0o600 and report.read_text(encoding="utf-8") == "<p>é</p>"

    adapter = tmp_path / "adapters" / "7"  # as a library (peft) writes it: modes from the umask
    (adapter / "sub").mkdir(parents=True)
    (adapter / "adapter_model.safetensors").write_bytes(b"weights")
    (adapter / "sub" / "config.json").write_text("{}", encoding="utf-8")
    outside = tmp_path / "outside.txt"
    outside.write_text("not the adapter's", encoding="utf-8")
    (adapter / "link").symlink_to(outside)
    restrict_to_owner(adapter)
    assert [mode(p) for p in (adapter, adapter / "sub")] == [0o700, 0o700]
    assert [mode(p) for p in (adapter / "adapter_model.safetensors", adapter / "sub" / "config.json")] == [0o600] * 2
    assert mode(outside) == 0o666  # a link's target is not the adapter's to change


def python_for_nobody() -> list[str] | None:
    """A Python interpreter the `nobody` account can run with this environment's packages, if any."""
    packages = sysconfig.get_paths()["purelib"]
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for interpreter in (sys.executable, f"/usr/bin/python{version}"):
        probe = ["runuser", "-u", "nobody", "--", "env", f"PYTHONPATH={REPO}:{packages}", interpreter]
        check = subprocess.run([*probe, "-c", "import sqlalchemy, store"], capture_output=True, timeout=60)
        if check.returncode == 0:
            return probe
    return None


@pytest.fixture
def nobody_python() -> list[str]:
    if os.geteuid() != 0:
        pytest.skip("needs root to run a command as another user (runuser)")
    if shutil.which("runuser") is None:
        pytest.skip("runuser is not installed")
    command = python_for_nobody()
    if command is None:
        pytest.skip("no Python interpreter with this environment's packages is executable by nobody")
    return command


@pytest.fixture
def world_writable_dir() -> Iterator[Path]:
    """A folder outside root's private pytest tree that another account can write in."""
    folder = Path(tempfile.mkdtemp(prefix="nudge-nobody-"))
    os.chmod(folder, 0o777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


WRITE_AND_REPORT_MODES = """
import json, os, stat
from store import Store
os.umask(0)
home = os.environ["NUDGE_HOME"]
with Store.init_db() as store:
    store.add_prompt("The dog says")
    names = sorted(os.listdir(home))
    modes = {name: stat.S_IMODE(os.stat(os.path.join(home, name)).st_mode) for name in ["."] + names}
print(json.dumps(modes))
"""


def test_as_a_non_root_user_with_umask_0_the_workspace_is_private(
    nobody_python: list[str], world_writable_dir: Path
) -> None:
    home = world_writable_dir / ".nudge"
    result = subprocess.run(
        [*nobody_python, "-c", WRITE_AND_REPORT_MODES],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NUDGE_HOME": str(home)},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {".": 0o700, "nudge.db": 0o600, "nudge.db-shm": 0o600, "nudge.db-wal": 0o600}
    owner = home.stat().st_uid
    assert owner != 0 and (home / "nudge.db").stat().st_uid == owner
    other_user = subprocess.run(
        ["runuser", "-u", "daemon", "--", "cat", str(home / "nudge.db")], capture_output=True, timeout=60
    )
    assert other_user.returncode != 0 and b"Permission denied" in other_user.stderr
