"""Run every benchmark in bench/ and write their tables to bench/RESULTS.md (what `make bench` does).

    .venv/bin/python bench/run_all.py [--out bench/RESULTS.md] [--only edit_bench ...]

Each `*_bench.py` runs alone in its own process (`python bench/NAME.py`, from the
repository root, with the root on PYTHONPATH so it imports this checkout), as it
would by hand; its Markdown output becomes one section, under a header that says
on what machine and when.
A script that fails gets its exit code and the end of its error output in its
section, the others still run, and this exits non-zero. Each script's progress
and warnings go to this terminal, not into the file.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_line

BENCH = Path(__file__).parent
ROOT = BENCH.parent
# The order of the table: start-up, store, probes, training, app; scripts not named here follow by name.
ORDER = ("cli_bench", "store_bench", "probe_bench", "edit_bench", "ui_bench", "sequential_bench")
ERROR_LINES = 30  # of a failed script's stderr, kept in its section


def bench_scripts() -> list[str]:
    """The benchmark scripts present, as module names, in table order."""
    present = {path.stem for path in BENCH.glob("*_bench.py")}
    return [name for name in ORDER if name in present] + sorted(present - set(ORDER))


def demoted(markdown: str) -> str:
    """A script's own headings one level down, under its section heading."""
    return "\n".join(f"#{line}" if line.startswith("#") else line for line in markdown.splitlines())


def run_script(name: str) -> tuple[str, bool]:
    """One script's section of RESULTS.md, and whether it succeeded."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    print(f"running bench/{name}.py ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, str(BENCH / f"{name}.py")], cwd=ROOT, env=env, capture_output=True)
    seconds = time.perf_counter() - started
    stdout, stderr = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
    sys.stderr.write(stderr)
    lines = [f"## `bench/{name}.py`", "", f"Reproduce: `python bench/{name}.py` ({seconds:.0f} s here).", ""]
    if result.returncode == 0:
        return "\n".join([*lines, demoted(stdout.strip()), ""]), True
    tail = "\n".join(stderr.strip().splitlines()[-ERROR_LINES:])
    failure = [f"**Failed** with exit code {result.returncode}; the end of its error output:", "", "```", tail, "```"]
    return "\n".join([*lines, *failure, ""]), False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md", help="where to write the tables")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run these scripts only (e.g. edit_bench)")
    args = parser.parse_args()
    names = bench_scripts()
    unknown = sorted(set(args.only or []) - set(names))
    if unknown:
        parser.error(f"no bench/{unknown[0]}.py; the scripts are: {', '.join(names)}")
    sections, failed = [], []
    for name in args.only or names:
        section, ok = run_script(name)
        sections.append(section)
        if not ok:
            failed.append(name)
    header = [
        "# nudge benchmarks",
        "",
        f"Measured on: {machine_line()}.",
        "",
        "Every ratio in a table compares runs made in the same process, or the same run of its script, on "
        "this machine. Regenerate all of it with `make bench` (or `python bench/run_all.py`).",
        "",
    ]
    args.out.write_text("\n".join(header + sections))
    print(f"wrote {args.out}", file=sys.stderr)
    if failed:
        sys.exit(f"failed: {', '.join(failed)} (see their sections in {args.out})")


if __name__ == "__main__":
    main()
