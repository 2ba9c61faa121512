"""App fixtures: a fresh workspace with the toy model and three accounts, the app built in-process for
calling its handlers, the dog-cat edit launched once per session from the Edit tab, the app served on
a free loopback port with gradio_client sessions, and a headless Chromium driven by Playwright.

Most tests call the handlers (`ui`, `as_user`); browser and gradio_client tests cover what only a
server or a page shows. Browser tests skip only when Chromium is absent and CI is unset; under
CI=true they fail. Store-facing tests use `any_backend_env`, which runs on SQLite and on PostgreSQL
(NUDGE_TEST_PG).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import signal
import socket
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import pytest
import sqlalchemy as sa

from editing.generation import ModelCache
from editing.toyworld.paths import EXAMPLES
from editing.workspace import TOYWORLD_MODEL_NAME
from feedback_ui.app import Tabs, build
from feedback_ui.context import AppContext
from feedback_ui.tabs import edit
from store import Store
from store.workspace import using_workspace
from tests.store.conftest import pg_server_url, schema_url

DATA = Path(__file__).resolve().parents[2] / "editing" / "toyworld" / "data"
TOY_PROMPTS = DATA / "prompts.jsonl"
DEMO_FEEDBACK = DATA / "demo_feedback.jsonl"
EXAMPLE_SPEC = EXAMPLES / "dog-cat-swap.yaml"
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


def as_user(name: str | None) -> gr.Request:
    """The request of `name`'s logged-in session (None: nobody logged in), as Gradio hands it to a handler."""
    return gr.Request(username=name)


def value(update: object) -> object:
    """What a component shows: a handler's value, or the value of its gr.update."""
    return update["value"] if isinstance(update, dict) else update


@dataclass
class InProcessApp:
    """The app built in-process over `env`'s workspace; tests call its handlers with `ctx` and a tab of `tabs`."""

    env: UiEnv
    ctx: AppContext
    app: gr.Blocks
    tabs: Tabs

    @property
    def store(self) -> Store:
        return self.env.store


def built(env: UiEnv, models: ModelCache) -> InProcessApp:
    ctx = AppContext(env.store, env.home, models=models)
    app, tabs = build(ctx)
    return InProcessApp(env, ctx, app, tabs)


@pytest.fixture
def ui(ui_env: UiEnv, model_cache: ModelCache) -> InProcessApp:
    """The app over a fresh SQLite workspace, built in-process."""
    return built(ui_env, model_cache)


@pytest.fixture
def any_backend_ui(any_backend_env: UiEnv, model_cache: ModelCache) -> InProcessApp:
    """The app built in-process, on SQLite and on PostgreSQL."""
    return built(any_backend_env, model_cache)


EDIT_TIMEOUT_S = 900  # about 10 s on an idle machine; minutes when CI shares its cores


@dataclass(frozen=True)
class FinishedEdit:
    """The dog-cat example edit, launched from the Edit tab's handlers over the demo feedback and watched to its end.

    Its workspace keeps the adapter, the report and the job's files; tests that go on from the finished
    run (report, follow-up, promote) each work on a copy of the store (`store_copy`), so they can change it.
    """

    home: Path
    database: Path  # the store as the edit left it, never opened by a test
    run_id: int
    launched: str  # the Launch handler's message
    plan: str  # the dry run it showed
    second_launch: str  # what a second Launch said while the edit ran
    captions: list[str]  # the progress captions the timer's handler showed, in order

    def store_copy(self, folder: Path) -> str:
        """The URL of a fresh copy of the finished store in `folder` (the workspace's folders stay shared)."""
        path = folder / "nudge.db"
        with sqlite3.connect(self.database) as source, sqlite3.connect(path) as copy:
            source.backup(copy)
        return f"sqlite:///{path}"


def watch_edit(ctx: AppContext, view: edit.EditView) -> list[str]:
    """The captions of the Edit tab's progress bar until the edit ends; fails fast if it fails."""
    captions: list[str] = []
    deadline = time.monotonic() + EDIT_TIMEOUT_S
    while time.monotonic() < deadline:
        bar = edit.poll(ctx, view, as_user("admin"))[view.progress]
        state, caption = re.search(r'data-state="(\w+)"', bar), re.search(r"<p>(.*?)</p>", bar)
        assert state is not None and caption is not None, bar
        if not captions or captions[-1] != html.unescape(caption.group(1)):
            captions.append(html.unescape(caption.group(1)))
        assert state.group(1) not in ("failed", "interrupted"), bar
        if state.group(1) == "succeeded":
            return captions
        time.sleep(0.3)
    raise AssertionError(f"the edit did not finish in {EDIT_TIMEOUT_S} s; progress seen: {captions}")


@pytest.fixture(scope="session")
def finished_edit(
    tmp_path_factory: pytest.TempPathFactory, toyworld_dir: Path, model_cache: ModelCache
) -> FinishedEdit:
    """The one full edit of the UI tests, shared by every test that needs a finished run (about 10 s idle)."""
    home = tmp_path_factory.mktemp("finished-edit")
    (home / "models").mkdir()
    (home / "models" / TOYWORLD_MODEL_NAME).symlink_to(toyworld_dir, target_is_directory=True)
    url = f"sqlite:///{home / 'nudge.db'}"
    with using_workspace(home), Store.init_db(url) as store:
        seed(store)
        store.import_judgments(DEMO_FEEDBACK, create_annotators=True)
        ctx = AppContext(store, home, models=model_cache)
        _, tabs = build(ctx)
        view, spec = tabs.edit, EXAMPLE_SPEC.read_text(encoding="utf-8")
        launched = edit.launch(ctx, view, spec, str(EXAMPLES), as_user("admin"))
        finished = False
        try:
            with pytest.raises(gr.Error) as refused:
                edit.launch(ctx, view, spec, str(EXAMPLES), as_user("admin"))
            captions = watch_edit(ctx, view)
            finished = True
        finally:  # a failed or stuck edit must not leave its worker running after the tests
            holder = ctx.edits.holder()
            if not finished and holder is not None:
                os.kill(holder["pid"], signal.SIGKILL)
        [run] = store.runs()
    pristine = home / "finished.db"
    with sqlite3.connect(home / "nudge.db") as source, sqlite3.connect(pristine) as copy:
        source.backup(copy)
    message, plan = launched[view.message], launched[view.plan]
    return FinishedEdit(home, pristine, run.id, message, plan, str(refused.value), captions)


@pytest.fixture
def edited_env(finished_edit: FinishedEdit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UiEnv]:
    """The edit's workspace over a fresh copy of the store it left, for one test to change."""
    monkeypatch.setenv("NUDGE_HOME", str(finished_edit.home))
    monkeypatch.delenv("NUDGE_DB", raising=False)
    url = finished_edit.store_copy(tmp_path)
    with Store.open(url) as store:
        yield UiEnv(finished_edit.home, url, store)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveApp:
    """The app served by `feedback_ui.serve` on loopback, over `env`'s workspace."""

    url: str
    env: UiEnv
    browser_contexts: list = field(default_factory=list)  # playwright BrowserContexts logged in to it

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
    live = LiveApp(f"http://127.0.0.1:{port}/", env)
    try:
        yield live
    finally:
        for context in live.browser_contexts:  # an open page's event stream holds up the server's shutdown
            context.close()
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
    live.browser_contexts.append(context)
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
