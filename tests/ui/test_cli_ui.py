"""`nudge generate` fills the labelling queue ahead of time; `nudge ui` serves the app on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

from typer.testing import CliRunner

from editing.cli import app
from tests.ui.conftest import UiEnv, free_port


def test_generate_stores_one_output_per_prompt_and_fills_only_gaps(ui_env: UiEnv) -> None:
    env = {"NUDGE_HOME": str(ui_env.home), "NUDGE_DB": ui_env.db_url}
    first = CliRunner().invoke(app, ["generate", "--tag", "dog-cat"], env=env)
    assert first.exit_code == 0, first.output
    tagged = ui_env.store.prompts(["dog-cat"])
    base = ui_env.store.ensure_base_version("toyworld")
    outputs = {g.prompt_id: g for p in tagged for g in ui_env.store.generations_for(p.id)}
    assert set(outputs) == {p.id for p in tagged}
    assert all(g.model_version_id == base.id and g.decoding["do_sample"] is False for g in outputs.values())
    assert f"generated {len(tagged)} output(s)" in first.output
    # an annotator's next item is now one of these outputs, with no generation on demand
    item = ui_env.store.next_item_for("alice", tags=["dog-cat"])
    assert item is not None and item.generation_id in {g.id for g in outputs.values()}

    again = CliRunner().invoke(app, ["generate", "--tag", "dog-cat"], env=env)
    assert again.exit_code == 0, again.output
    assert "generated 0 output(s)" in again.output


def test_generate_names_a_missing_version(ui_env: UiEnv) -> None:
    env = {"NUDGE_HOME": str(ui_env.home), "NUDGE_DB": ui_env.db_url}
    result = CliRunner().invoke(app, ["generate", "--version", "999"], env=env)
    assert result.exit_code == 2, result.output
    assert "999" in result.output


def test_ui_serves_the_login_page_on_loopback(ui_env: UiEnv) -> None:
    port = free_port()
    env = {**os.environ, "NUDGE_HOME": str(ui_env.home), "NUDGE_DB": ui_env.db_url}
    server = subprocess.Popen(
        [sys.executable, "-c", "from editing.cli import app; app()", "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        page = ""
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    page = response.read().decode()
                break
            except OSError:
                time.sleep(1)
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        assert "Log in with your nudge account" in page or "login" in page.lower()
    finally:
        server.terminate()
        server.wait(timeout=30)
