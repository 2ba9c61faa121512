"""CLI start-up benchmark: how long `nudge` takes to answer, against a bare Python start.

    .venv/bin/python bench/cli_bench.py [--repeats 7]

Each command runs as a fresh process in a fresh workspace (`nudge init` first, so
`user list` and `runs list` read a real, empty database). Prints a Markdown table of
medians with each as a multiple of `python -c pass` measured in the same run, then the
machine. Target: `nudge --help` under 1 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import median_seconds

NUDGE = Path(sys.executable).with_name("nudge")
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "nudge --help": [NUDGE, "--help"],
    "nudge user list": [NUDGE, "user", "list"],
    "nudge init": [NUDGE, "init"],
    "nudge runs list": [NUDGE, "runs", "list"],
}


def run(command: list, env: dict[str, str]) -> None:
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per command; the median is shown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if k != "NUDGE_DB"} | {"NUDGE_HOME": home}
        run([NUDGE, "init"], env)  # the first init creates the database; the timed ones find it at head
        medians = {
            name: median_seconds(lambda c=command: run(c, env), args.repeats) for name, command in COMMANDS.items()
        }
    base = medians["python -c pass"]
    print(f"## `nudge` start-up, median of {args.repeats} fresh processes\n")
    print("| command | median s | x `python -c pass` |")
    print("|---|---:|---:|")
    for name, seconds in medians.items():
        print(f"| `{name}` | {seconds:.3f} | {seconds / base:.1f} |")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\n{platform.python_implementation()} {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load}, {time.strftime('%Y-%m-%d')}"
    )


if __name__ == "__main__":
    main()
