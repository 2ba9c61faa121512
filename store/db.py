"""Connecting to the database: the URL, the engine with SQLite's pragmas, and transactions."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session

from store.errors import DatabaseDamaged, DatabaseUnavailable
from store.paths import WORKSPACE_INFO, workspace_folder
from store.private_files import create_private_file, make_private_dir, restrict_to_owner
from store.workspace import nudge_home

SQLITE_BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for another's lock before failing
SQLITE_CHECKPOINT_EVERY = 200  # commits per WAL checkpoint: about SQLite's default of 1,000 pages
_WRITE_OPTION = "nudge_write"


def database_url(home: Path | None = None) -> str:
    """The store's URL: $NUDGE_DB, else an SQLite file in the workspace `home` (by default `nudge_home()`)."""
    return os.environ.get("NUDGE_DB") or f"sqlite:///{(home or nudge_home()) / 'nudge.db'}"


def describe(url: str | URL) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def create_engine(url: str | URL) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE writes."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        # SQLite gives the -wal and -shm files the database file's mode, so all three stay 0600
        make_private_dir(Path(url.database).absolute().parent)
        create_private_file(url.database)
    engine = sa.create_engine(url)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defer BEGIN; we issue it ourselves below
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL keeps commits atomic; fsync per checkpoint
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # StoreBase checkpoints, outside the write lock
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        # A write takes the lock up front: a deferred transaction that read first could not
        # wait for the lock (SQLITE_BUSY_SNAPSHOT), while BEGIN IMMEDIATE honours busy_timeout.
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


# What SQLite says of a file that is not (or no longer) a whole database.
SQLITE_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def restrict_database_files(url: str | URL) -> None:
    """Make an SQLite database and its -wal and -shm files owner-only (0600), e.g. one an older nudge made."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    for suffix in ("", "-wal", "-shm"):
        path = url.database + suffix
        if os.path.exists(path) and os.stat(path).st_uid == os.getuid():  # another owner's file is theirs
            restrict_to_owner(path)


@contextmanager
def driver_errors_as_store_errors(url: URL) -> Iterator[None]:
    """A database that cannot be reached (or stays locked) becomes DatabaseUnavailable; a damaged
    SQLite file becomes DatabaseDamaged. Both name the database and what to do."""
    try:
        yield
    except sa.exc.OperationalError as error:
        raise DatabaseUnavailable(
            f"the database at {describe(url)} is unavailable: {error.orig}; check that it is running "
            "and that NUDGE_DB points at it"
        ) from error
    except sa.exc.DatabaseError as error:
        if getattr(error.orig, "sqlite_errorname", None) not in SQLITE_DAMAGED:
            raise
        raise DatabaseDamaged(
            f"the database file {url.database} is damaged or is not a nudge database ({error.orig}); "
            "restore it from a backup, or move it aside and run `nudge init` to start a new one"
        ) from error


def insert(bind: Engine | sa.Connection, table: Any) -> Any:
    """The backend's INSERT, which knows ON CONFLICT DO NOTHING."""
    return (postgresql if bind.dialect.name == "postgresql" else sqlite).insert(table)


class FairLock:
    """A lock handed to waiters in the order they asked, so no writer waits behind a lucky one.

    (threading.Lock makes no such promise: under 8 busy writers its slowest waits are several
    times the average.)
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Event] = deque()

    def __enter__(self) -> None:
        with self._mutex:
            if not self._held:
                self._held = True
                return
            turn = threading.Event()
            self._waiters.append(turn)
        try:
            turn.wait()  # the releasing thread hands the lock over by setting it
        except BaseException:
            with self._mutex:
                handed_over = turn not in self._waiters
                if not handed_over:
                    self._waiters.remove(turn)
            if handed_over:
                self.__exit__()
            raise

    def __exit__(self, *exc_info: object) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()
            else:
                self._held = False


class StoreBase:
    """An engine and the two ways to use it: a read session and a write transaction."""

    def __init__(self, engine: Engine, workspace: Path | None = None) -> None:
        self.engine = engine
        self.url = engine.url
        # the folder the paths the store keeps are relative to (store.paths): given, else $NUDGE_HOME's rule
        self.workspace = workspace_folder(workspace if workspace is not None else nudge_home())
        self._session_info = {WORKSPACE_INFO: self.workspace}
        self._write_engine = engine.execution_options(**{_WRITE_OPTION: True})
        # SQLite has one writer at a time; queueing this process's writers on a first-come lock is
        # fairer and faster than letting them poll the file lock (busy_timeout still covers other
        # processes). PostgreSQL locks rows, so its writers run in parallel.
        self._write_lock = FairLock() if engine.dialect.name == "sqlite" else None
        self._commits = 0  # SQLite: commits since the last WAL checkpoint

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with (
            driver_errors_as_store_errors(self.url),
            Session(self.engine, expire_on_commit=False, info=self._session_info) as session,
            session.begin(),
        ):
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        if self._write_lock is None:
            with (
                driver_errors_as_store_errors(self.url),
                Session(self._write_engine, expire_on_commit=False, info=self._session_info) as session,
                session.begin(),
            ):
                yield session
            return
        with driver_errors_as_store_errors(self.url):
            with self._write_lock:
                with (
                    Session(self._write_engine, expire_on_commit=False, info=self._session_info) as session,
                    session.begin(),
                ):
                    yield session
                self._commits += 1
                checkpoint_due = self._commits >= SQLITE_CHECKPOINT_EVERY
                if checkpoint_due:
                    self._commits = 0
            if checkpoint_due:
                self._checkpoint()

    def _checkpoint(self) -> None:
        """Copy the WAL back into the database file, without blocking writers (PASSIVE).

        Done here, after the write lock is released, instead of inside some writer's COMMIT
        (SQLite's auto-checkpoint), where its fsync would hold up every writer queued behind.
        """
        connection = self.engine.raw_connection()
        try:
            connection.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            connection.close()

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()
