# The README's two commands. Both set up .venv when needed, then run.
#   make demo   build the toy model (if missing), apply the three example edits, serve the app
#   make test   check the import layering (import-linter) and the types (mypy), then run the whole test suite
#   make bench  install the `bench` extra (lm_eval, trl), run every bench/*_bench.py, write bench/RESULTS.md
#   make screenshots  rerun the browser tests that take the README's screenshots, writing docs/screenshots/
.PHONY: demo test bench screenshots

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

demo: $(STAMP)
	$(VENV)/bin/nudge demo

test: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy
	$(PY) -m pytest

screenshots: $(STAMP)
	NUDGE_SCREENSHOTS=1 $(PY) -m pytest tests/ui/test_browser.py tests/ui/test_e2e_loop.py tests/ui/test_probes_tab.py

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) bench/run_all.py

# Reinstall only when the project's metadata changes, so a second run takes seconds.
# torch: take a local CPU build when pip's find-links has one (--no-index looks
# nowhere else; --no-deps because its dependencies come with the project below);
# anywhere else the project's own `torch>=2.4` resolves from the index as usual.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-index --no-deps "torch==2.13.0" 2>/dev/null \
		|| echo "no local torch 2.13.0 wheel: torch comes from the package index"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)
