"""Store fixtures: a fresh database per test, on SQLite always and on PostgreSQL when reachable.

PostgreSQL comes from NUDGE_TEST_PG (an SQLAlchemy URL). Unset, its tests skip, except
under CI=true, where they fail: CI must prove the PostgreSQL path. Each PostgreSQL test
works in its own schema (via search_path), so the shared test database stays clean.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from store import Store
from store.db import describe
from store.models import Base
from tests.store.helpers import DEMO_FEEDBACK, TOY_PROMPTS

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pg_server_url() -> str:
    """NUDGE_TEST_PG if it answers; skip (or fail under CI) otherwise."""
    url = os.environ.get("NUDGE_TEST_PG")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but NUDGE_TEST_PG is unset: .ci/run must start PostgreSQL and set it")
        pytest.skip("NUDGE_TEST_PG is not set; PostgreSQL tests skipped")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        pytest.fail(f"NUDGE_TEST_PG={describe(url)} is set but unreachable: {error}")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def pg_url() -> str:
    return pg_server_url()


def schema_url(server_url: str, schema: str) -> str:
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture
def pg_schema_url(pg_url: str) -> Iterator[str]:
    """A URL whose tables land in a new, empty schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield schema_url(pg_url, schema)
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nudge.db'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated once; each test gets a copy (cheaper than migrating again)."""
    path = tmp_path_factory.mktemp("template") / "nudge.db"
    Store.init_db(f"sqlite:///{path}").close()
    return path


@pytest.fixture(scope="session")
def pg_shared_url(pg_url: str) -> Iterator[str]:
    """One migrated schema for the session; tests empty it (TRUNCATE) instead of migrating."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = schema_url(pg_url, schema)
    Store.init_db(url).close()
    try:
        yield url
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty database at the newest schema, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "nudge.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_shared_url")
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            tables = ", ".join(Base.metadata.tables)
            connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        engine.dispose()
    with Store.open(url) as opened:
        yield opened


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with Store.init_db(f"sqlite:///{tmp_path / 'nudge.db'}") as opened:
        yield opened


@pytest.fixture
def demo_store(store: Store) -> Store:
    """The toy world's prompts and demo feedback, as `make demo` loads them."""
    store.import_prompts(TOY_PROMPTS)
    store.import_judgments(DEMO_FEEDBACK, create_annotators=True)
    return store
