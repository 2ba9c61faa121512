"""App fixtures: a fresh workspace with the toy model and three accounts, the app served on a free
loopback port, gradio_client sessions, and a headless Chromium driven by Playwright.

Browser tests skip only when Chromium is absent and CI is unset; under CI=true they fail.
Store-facing tests use `any_backend_env`, which runs on SQLite and on PostgreSQL (NUDGE_TEST_PG).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from editing.generation import ModelCache
from store import Store
from tests.store.conftest import pg_server_url, schema_url

DATA = Path(__file__).resolve().parents[2] / "editing" / "toyworld" / "data"
TOY_PROMPTS = DATA / "prompts.jsonl"
PASSWORDS = {"admin": "quartz lantern 9f3kq", "alice": "copper meadow 4k2mz", "bob": "velvet harbor 7q1zx"}
ROLES = {"admin": "admin", "alice": "annotator", "bob": "annotator"}


@dataclass
class UiEnv:
    """A workspace ready for the app: store at head, toy prompts, admin/alice/bob with PASSWORDS."""

    home: Path
    db_url: str
    store: Store
    passwords: dict[str, str] = field(default_factory=lambda: dict(PASSWORDS))


@pytest.fixture(scope="session")
def model_cache() -> ModelCache:
    """One toy model in memory for the whole session, shared by every app built in-process."""
    return ModelCache(device="cpu")


def seed(store: Store) -> None:
    store.import_prompts(TOY_PROMPTS)
    for name, role in ROLES.items():
        store.add_annotator(name, role, PASSWORDS[name])


@pytest.fixture
def ui_env(toyworld_workspace: Path) -> Iterator[UiEnv]:
    """SQLite in the workspace (the default deployment)."""
    url = f"sqlite:///{toyworld_workspace / 'nudge.db'}"
    with Store.init_db(url) as store:
        seed(store)
        yield UiEnv(toyworld_workspace, url, store)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_backend_env(request: pytest.FixtureRequest, toyworld_workspace: Path) -> Iterator[UiEnv]:
    """The same workspace on SQLite and on PostgreSQL (a fresh schema per test)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("ui_env")
        return
    server = pg_server_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(server)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = schema_url(server, schema)
    try:
        with Store.init_db(url) as store:
            seed(store)
            yield UiEnv(toyworld_workspace, url, store)
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveApp:
    """The app served by `feedback_ui.serve` on loopback, over `env`'s workspace."""

    url: str
    env: UiEnv

    @property
    def store(self) -> Store:
        return self.env.store

    def client(self, name: str, password: str | None = None):  # -> gradio_client.Client
        from gradio_client import Client

        return Client(self.url, auth=(name, password or self.env.passwords[name]), verbose=False)


def launch(env: UiEnv, models: ModelCache) -> Iterator[LiveApp]:
    from feedback_ui.serve import serve

    port = free_port()
    app = serve(env.home, port=port, db_url=env.db_url, block=False, models=models)
    try:
        yield LiveApp(f"http://127.0.0.1:{port}/", env)
    finally:
        app.close()


@pytest.fixture
def live_app(ui_env: UiEnv, model_cache: ModelCache) -> Iterator[LiveApp]:
    """The app on SQLite, served for one test."""
    yield from launch(ui_env, model_cache)


@pytest.fixture
def any_backend_app(any_backend_env: UiEnv, model_cache: ModelCache) -> Iterator[LiveApp]:
    """The app served for one test, on SQLite and on PostgreSQL."""
    yield from launch(any_backend_env, model_cache)


def chromium_path() -> str:
    path = os.environ.get("NUDGE_CHROMIUM", "/usr/bin/chromium")
    if shutil.which(path) is None and not Path(path).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but there is no Chromium at {path}; .ci/run must install it")
        pytest.skip(f"no Chromium at {path} (set NUDGE_CHROMIUM); browser tests skipped")
    return path


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium for the session; each test opens its own contexts (one per user)."""
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def login(browser, live: LiveApp, name: str, password: str | None = None):  # -> playwright Page
    """A new browser context logged in as `name`, on the app's first page (the Label tab)."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(live.url)
    page.get_by_label("username").fill(name)
    page.get_by_label("password").fill(password or live.env.passwords[name])
    page.get_by_role("button", name="Login").click()
    return page


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def save_screenshot(page, name: str) -> None:  # page: playwright Page
    """The README's screenshot `name` of this page: taken by the browser test that reaches the screen,
    written to docs/screenshots only under `make screenshots` (NUDGE_SCREENSHOTS=1) so that a test run
    leaves the checkout as it found it; otherwise into the temp folder (the page must still render)."""
    folder = (
        SCREENSHOTS if os.environ.get("NUDGE_SCREENSHOTS") == "1" else Path(tempfile.gettempdir()) / "nudge-screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)
