"""A run of an edit, in three steps: plan it, execute it, record it.

`plan` checks everything a run needs and resolves the spec once (cheap: only the model's
config and tokenizer are read, no row is written); `execute` loads the model, scores the
probes before, trains, scores after and sweeps; `record` keeps the scores and the adapter in
the store and writes the report. Importable as `from editing.runs import plan_run, execute_run`.
"""

from editing.runs.execute import RunCallbacks, RunOutcome, chain_fingerprint, execute_run, load_version
from editing.runs.plan import RunInputError, RunPlan, plan_run

__all__ = [
    "RunCallbacks",
    "RunInputError",
    "RunOutcome",
    "RunPlan",
    "chain_fingerprint",
    "execute_run",
    "load_version",
    "plan_run",
]
