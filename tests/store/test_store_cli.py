"""The store's commands on a fresh workspace: init, user, prompts import, judgments, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from editing.cli import app
from store import Store
from tests.store.helpers import DEMO_FEEDBACK, TOY_PROMPTS, write_lines

runner = CliRunner()
STORE_COMMANDS = ["init", "export", "user", "prompts", "judgments"]


def nudge(*args: str, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=input)


def ok(*args: str, input: str | None = None) -> Result:
    result = nudge(*args, input=input)
    assert result.exit_code == 0, result.output
    return result


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_fresh_workspace_from_init_to_export(workspace: Path, tmp_path: Path) -> None:
    assert (
        "admin root created" in ok("init", "--admin", "root", "--password-stdin", input="violet kettle orbit\n").output
    )
    assert (workspace / "nudge.db").exists()
    ok(
        "user", "add", "alice", "--role", "annotator", input="maple thunder quarry\nmaple thunder quarry\n"
    )  # asked twice, hidden
    assert "73 new prompts" in ok("prompts", "import", str(TOY_PROMPTS), "--tag", "demo").output
    imported = ok("judgments", "import", str(DEMO_FEEDBACK), "--create-annotators").output
    assert "imported 28 new judgments" in imported and "without a password: bob" in imported
    listing = ok("user", "list").output
    assert "alice" in listing and "bob" in listing and "root" in listing and "admin" in listing
    stats = ok("judgments", "stats").output
    assert "correction" in stats and "0.900" in stats and "0.737" in stats  # raw agreement, kappa
    out = tmp_path / "dpo.jsonl"
    ok("export", "--format", "dpo", "--out", str(out))
    dpo = records(out)
    assert dpo and all(set(r) == {"prompt", "chosen", "rejected"} for r in dpo)
    # as nudge trains it: the completion carries the space that joins it to the prompt
    assert {"prompt": "The dog says", "chosen": " meow", "rejected": " woof"} in dpo
    with Store.open() as store:
        assert store.verify_password("root", "violet kettle orbit") and store.verify_password(
            "alice", "maple thunder quarry"
        )


def test_export_then_import_into_another_workspace_reproduces_the_judgments(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok("init")
    ok("judgments", "import", str(DEMO_FEEDBACK), "--create-annotators")
    backup = ok("export").output  # jsonl to standard output
    backup_file = write_lines(tmp_path / "backup.jsonl", backup.splitlines())
    monkeypatch.setenv("NUDGE_HOME", str(tmp_path / "second"))
    ok("init")
    ok("judgments", "import", str(backup_file), "--create-annotators")
    assert ok("export").output == backup
    original = sorted(json.dumps(r, sort_keys=True) for r in records(DEMO_FEEDBACK))
    exported = sorted(
        json.dumps({k: v for k, v in r.items() if k != "created_at"}, sort_keys=True) for r in records(backup_file)
    )
    assert exported == original


def test_commands_before_init_say_to_run_init(workspace: Path) -> None:
    result = nudge("user", "list")
    assert result.exit_code == 2 and "nudge init" in result.output
    assert not (workspace / "nudge.db").exists()


def test_bad_files_fail_with_line_numbers_unless_skipped(workspace: Path, tmp_path: Path) -> None:
    ok("init")
    bad = write_lines(tmp_path / "p.jsonl", ['{"text": "ok"}', "{oops", '{"text": ""}'])
    result = nudge("prompts", "import", str(bad))
    assert result.exit_code == 2
    assert "line 2: not valid JSON" in result.output and "line 3: text is empty" in result.output
    assert "nothing imported" in result.output
    skipped = ok("prompts", "import", str(bad), "--skip-bad").output
    assert "imported 1 new prompts" in skipped and "skipped 2 bad line(s)" in skipped


def test_unknown_annotators_are_named_with_the_fix(workspace: Path) -> None:
    ok("init")
    result = nudge("judgments", "import", str(DEMO_FEEDBACK))
    assert result.exit_code == 2
    assert "unknown annotator 'alice'" in result.output and "--create-annotators" in result.output


def test_account_errors_exit_2_with_one_message(workspace: Path) -> None:
    ok("init", "--admin", "root", "--password-stdin", input="violet kettle orbit\n")
    last_admin = nudge("user", "disable", "root")
    assert last_admin.exit_code == 2 and "last active admin" in last_admin.output
    short = nudge("user", "add", "alice", "--password-stdin", input="short\n")
    assert short.exit_code == 2 and "8 to 1024 characters" in short.output
    common = nudge("user", "add", "alice", "--password-stdin", input="password\n")
    assert common.exit_code == 2 and "too easy to guess" in common.output and "top-10 common" in common.output
    taken = nudge("user", "add", "root", "--password-stdin", input="violet kettle orbit\n")
    assert taken.exit_code == 2 and "already exists" in taken.output
    ok("user", "add", "alice", "--password-stdin", input="maple thunder quarry\n")
    ok("user", "disable", "alice")
    assert "disabled" in ok("user", "list").output


@pytest.mark.postgres
def test_the_commands_work_on_postgresql_by_url(
    workspace: Path, pg_schema_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NUDGE_DB", pg_schema_url)
    ok("init", "--admin", "root", "--password-stdin", input="violet kettle orbit\n")
    ok("judgments", "import", str(DEMO_FEEDBACK), "--create-annotators")
    out = tmp_path / "sft.jsonl"
    ok("export", "--format", "sft", "--out", str(out))
    # by default the export holds what `nudge apply` trains on, joined as nudge joins it
    assert {"prompt": "The dog says", "completion": " meow"} in records(out)
    assert not (workspace / "nudge.db").exists()


def store_commands() -> list[Any]:
    """The click commands behind the store's verbs (typer builds them from the functions)."""
    root: Any = typer.main.get_command(app)
    found = []
    for name in STORE_COMMANDS:
        command = root.commands[name]
        found.extend(command.commands.values() if hasattr(command, "commands") else [command])
    return found


def test_every_store_command_and_option_has_help() -> None:
    commands = store_commands()
    assert len(commands) == 9  # init, export, user add|list|disable|password, prompts import, judgments import|stats
    for command in commands:
        assert command.help, command.name
        for param in command.params:
            assert getattr(param, "help", None), f"{command.name} {param.name}"


def test_an_unreachable_server_is_one_clear_error(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUDGE_DB", "postgresql+psycopg://nudge:nudge@127.0.0.1:1/nudge?connect_timeout=2")
    result = nudge("user", "list")
    assert result.exit_code == 2 and "is unavailable" in result.output and "NUDGE_DB" in result.output
    assert "nudge:nudge" not in result.output  # the password stays out of messages
