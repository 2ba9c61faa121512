"""`nudge --help` and the store's commands answer without loading a model library.

Each case runs in one fresh interpreter, so what a command imported is exactly
what `sys.modules` gained while it ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL_LIBRARIES = ("torch", "transformers", "peft")
STORE_ONLY = ["init", "user", "prompts", "judgments", "export"]

# Runs every command in order in one process and prints, per command, its exit
# code and the model libraries that were imported by the time it finished.
PROBE = """
import json, sys
from typer.testing import CliRunner
from editing.cli import app
runner = CliRunner()
seen = {}
for args in json.loads(sys.argv[1]):
    result = runner.invoke(app, args)
    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
    seen[" ".join(args)] = [result.exit_code, loaded, result.output[-400:]]
print(json.dumps(seen))
"""


def _imports_per_command(commands: list[list[str]], home: Path) -> dict[str, list]:
    env = {k: v for k, v in os.environ.items() if k != "NUDGE_DB"} | {"NUDGE_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(commands), json.dumps(MODEL_LIBRARIES)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_help_and_store_commands_load_no_model_library(tmp_path: Path) -> None:
    commands = [["--help"], *([name, "--help"] for name in STORE_ONLY)]
    commands += [["init"], ["user", "list"], ["export"], ["runs", "list"]]
    seen = _imports_per_command(commands, tmp_path / "home")
    assert list(seen) == [" ".join(c) for c in commands]
    for command, (exit_code, loaded, output) in seen.items():
        assert exit_code == 0, f"nudge {command}: {output}"
        assert loaded == [], f"nudge {command} imported {loaded}"
    assert (tmp_path / "home" / "nudge.db").exists()  # `init` really made the workspace


def test_the_probe_sees_a_command_that_loads_a_model(tmp_path: Path) -> None:
    seen = _imports_per_command([["--help"], ["model", "info", str(tmp_path / "no-such-model")]], tmp_path)
    assert seen["--help"][1] == []
    exit_code, loaded, output = seen[f"model info {tmp_path / 'no-such-model'}"]
    assert exit_code == 2, output
    assert "torch" in loaded and "transformers" in loaded


def test_importing_editing_loads_no_model_library() -> None:
    code = "import json, sys, editing; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert set(json.loads(result.stdout)) & set(MODEL_LIBRARIES) == set()


def test_every_public_name_of_editing_resolves() -> None:
    import editing

    assert editing.__all__ == sorted(editing.__all__)
    for name in editing.__all__:
        assert getattr(editing, name).__name__ == name
