"""Dependencies point one way (feedback_ui -> editing -> store), with no cycle, and the model side stands alone.

The contracts live in pyproject.toml under [tool.importlinter]; `make test` runs
them too. A violation names the importing module and line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([lint_imports, "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_module_imports_itself_through_others() -> None:
    """No import cycle anywhere in editing/, store/ or feedback_ui/, counting imports inside functions too."""
    graph = grimp.build_graph("editing", "store", "feedback_ui", cache_dir=None)
    cycles = sorted(
        " -> ".join([importer, *chain])
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if (chain := graph.find_shortest_chain(importer=imported, imported=importer))
    )
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_scoring_probes_imports_neither_the_store_nor_the_toy_world(toyworld_dir: Path) -> None:
    """The model side is a library of its own: loading a model from its folder, reading a suite file and
    scoring it import no database library (SQLAlchemy), no store and no toy world."""
    suite = REPO / "editing" / "toyworld" / "data" / "dog-cat-swap.jsonl"
    code = f"""
import sys
from pathlib import Path
from editing.models import load_pretrained
from editing.probes import read_suite, score_probes
from editing.references import ModelSource
loaded = load_pretrained(ModelSource("toy", Path({str(toyworld_dir)!r})), device="cpu")
scores = score_probes(loaded.model, loaded.tokenizer, read_suite(Path({str(suite)!r}), "dog-cat-swap").probes[:4])
assert len(scores) == 4
print(sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "store") or m.startswith("editing.toyworld")))
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[]"], result.stdout
