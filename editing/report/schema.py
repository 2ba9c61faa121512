"""`report.json`'s contract: its JSON Schema (draft 2020-12), for the version `SCHEMA_VERSION` names.

The schema's enums (metric names, probe kinds, splits, findings, gate and
verdict statuses, tests) are read from `editing.vocab`, so they cannot drift
from what the rest of nudge writes; the tests validate every report they build
against it. A Python module rather than a .json file so code can import it;
`python -m editing.report.schema` prints it as JSON.
"""

from __future__ import annotations

import json
from typing import Any

from editing.impact.regressions import REGRESSION_METRICS
from editing.report.document import SCHEMA_VERSION
from editing.vocab import (
    FINDINGS,
    GATE_STATUSES,
    METRICS,
    PROBE_KINDS,
    RATE_METRICS,
    SPLITS,
    STATISTICAL_TESTS,
    VERDICT_STATUSES,
)

_NUMBER_OR_NULL = {"type": ["number", "null"]}
_P_VALUE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_METRIC_NAMES = list(METRICS)
_KINDS = list(PROBE_KINDS)
_FINDINGS = list(FINDINGS)
_GATE_STATUSES = list(GATE_STATUSES)
_VERDICT_STATUSES = list(VERDICT_STATUSES)  # a gate row's, and `none`: no gate row was judged
_ANSWERS = ["target", "foil", "third"]  # what a greedy continuation begins with

_ESTIMATE = {
    "type": "object",
    "description": "A point estimate with its 95% interval; value and interval are null when n is 0.",
    "required": ["value", "ci_low", "ci_high", "n"],
    "properties": {
        "value": _NUMBER_OR_NULL,
        "ci_low": _NUMBER_OR_NULL,
        "ci_high": _NUMBER_OR_NULL,
        "n": {"type": "integer", "minimum": 0},
    },
    "additionalProperties": False,
}

_PHASE = {
    "type": "object",
    "required": _METRIC_NAMES,
    "properties": {name: {"$ref": "#/$defs/estimate"} for name in _METRIC_NAMES},
    "additionalProperties": {"$ref": "#/$defs/estimate"},
}

_RATES = {
    "type": "object",
    "properties": {name: {"$ref": "#/$defs/estimate"} for name in RATE_METRICS},
    "additionalProperties": {"$ref": "#/$defs/estimate"},
}

_TEST = {
    "type": "object",
    "required": ["test", "p_value", "n"],
    "properties": {
        "test": {"enum": [*STATISTICAL_TESTS, None]},
        "p_value": _P_VALUE,
        "n": {"type": "integer", "minimum": 0},
        "up": {"type": "integer", "minimum": 0},
        "down": {"type": "integer", "minimum": 0},
    },
}

_MARGIN_CHANGE = {
    "type": "object",
    "required": ["value", "ci_low", "ci_high", "n", "p_value", "test"],
    "properties": {
        "value": _NUMBER_OR_NULL,
        "ci_low": _NUMBER_OR_NULL,
        "ci_high": _NUMBER_OR_NULL,
        "n": {"type": "integer", "minimum": 0},
        "p_value": _P_VALUE,
        "p_min": _P_VALUE,
        "test": {"enum": ["sign_flip_exact", "sign_flip_monte_carlo", "paired_bootstrap", None]},
    },
    "additionalProperties": False,
}

_GATE = {
    "type": "object",
    "required": ["name", "value", "ci_low", "ci_high", "threshold", "status"],
    "properties": {
        "name": {"enum": _METRIC_NAMES},
        "value": _NUMBER_OR_NULL,
        "ci_low": _NUMBER_OR_NULL,
        "ci_high": _NUMBER_OR_NULL,
        "n": {"type": "integer", "minimum": 0},
        "threshold": {"type": "string", "pattern": r"^(>=|<=|>|<) \S+$"},
        "status": {"enum": _GATE_STATUSES},
        "edit": {"type": "string", "description": "the earlier edit a regression gate row judges (its label)"},
    },
}

_REGRESSION_RATES = {
    "type": "object",
    "required": list(REGRESSION_METRICS),
    "properties": {name: {"$ref": "#/$defs/estimate"} for name in REGRESSION_METRICS},
    "additionalProperties": False,
}

_EARLIER_EDIT = {
    "type": "object",
    "description": "One edit in the ancestry of the version the run started from: its regression probes' "
    "success before and after this run, by margin (`regression`) and by what the model says (`regression_says`).",
    "required": ["name", "version_id", "run_id", "label", "before", "after", "tests", "margin_change"],
    "properties": {
        "name": {"type": "string"},
        "version_id": {"type": "integer"},
        "run_id": {"type": "integer"},
        "label": {"type": "string"},
        "before": _REGRESSION_RATES,
        "after": _REGRESSION_RATES,
        "tests": {
            "type": "object",
            "required": list(REGRESSION_METRICS),
            "additionalProperties": {"$ref": "#/$defs/test"},
        },
        "margin_change": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/margin_change"}]},
    },
    "additionalProperties": False,
}

_PROBE_ROW = {
    "type": "object",
    "required": [
        "id",
        "kind",
        "split",
        "prompt",
        "target",
        "foil",
        "margin_before",
        "margin_after",
        "success_before",
        "success_after",
        "flipped",
        "continuation_before",
        "continuation_after",
        "finding",
    ],
    "properties": {
        "id": {"type": "string"},
        "kind": {"enum": _KINDS},
        "split": {"enum": list(SPLITS)},
        "relation": {"type": "string"},
        "subject": {"type": "string"},
        "prompt": {"type": "string"},
        "target": {"type": "string"},
        "foil": {"type": "string"},
        "margin_before": {"type": "number"},
        "margin_after": {"type": "number"},
        "success_before": {"type": "boolean"},
        "success_after": {"type": "boolean"},
        "flipped": {"type": "boolean"},
        "continuation_before": {"type": "string"},
        "continuation_after": {"type": "string"},
        "says_before": {"enum": [*_ANSWERS, None]},
        "says_after": {"enum": [*_ANSWERS, None]},
        "finding": {"enum": _FINDINGS},
    },
}

_METRIC_VALUES = {"type": "object", "additionalProperties": _NUMBER_OR_NULL}

_SPECTRAL = {
    "type": "object",
    "required": ["modules", "truncation", "layers", "note"],
    "properties": {
        "modules": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "layer", "singular_values", "effective_rank", "relative_norm"],
                "properties": {
                    "name": {"type": "string"},
                    "layer": {"type": ["integer", "null"]},
                    "singular_values": {"type": "array", "items": {"type": "number", "minimum": 0}},
                    "effective_rank": _NUMBER_OR_NULL,
                    "relative_norm": _NUMBER_OR_NULL,
                },
            },
        },
        "truncation": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["k", "metrics"],
                "properties": {"k": {"type": "integer", "minimum": 0}, "metrics": _METRIC_VALUES},
            },
        },
        "layers": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["layer", "metrics"],
                "properties": {"layer": {"type": "integer"}, "metrics": _METRIC_VALUES},
            },
        },
        "note": {"type": "string"},
    },
}

REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": f"https://nudge.invalid/schemas/report-v{SCHEMA_VERSION}.json",
    "title": "nudge edit impact report",
    "type": "object",
    "required": [
        "schema_version",
        "verdict",
        "summary",
        "metrics",
        "probes",
        "contamination",
        "generations",
        "spectral",
        "run",
    ],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "verdict": {
            "type": "object",
            "required": ["passed", "status", "gates"],
            "properties": {
                "passed": {"type": "boolean"},
                "status": {"enum": _VERDICT_STATUSES},
                "strict": {"type": "boolean"},
                "split": {"type": "string"},
                "contaminated": {"type": "boolean"},
                "gates": {"type": "array", "items": {"$ref": "#/$defs/gate"}},
            },
        },
        "summary": {
            "type": "object",
            "required": ["leaked", "moved"],
            "properties": {
                "says": {"type": "array", "items": {"type": "string"}},
                "leaked": {"type": "array", "items": {"type": "string"}},
                "took": {"type": "array", "items": {"type": "string"}},
                "moved": {"type": "array", "items": {"type": "string"}},
            },
        },
        "metrics": {
            "type": "object",
            "required": ["before", "after", "tests", "margin_change"],
            "properties": {
                "split": {"type": "string"},
                "before": {"$ref": "#/$defs/phase"},
                "after": {"$ref": "#/$defs/phase"},
                "tests": {"type": "object", "additionalProperties": {"$ref": "#/$defs/test"}},
                "margin_change": {
                    "type": "object",
                    "propertyNames": {"enum": _KINDS},
                    "additionalProperties": {"$ref": "#/$defs/margin_change"},
                },
                "other_splits": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["before", "after"],
                        "properties": {"before": {"$ref": "#/$defs/rates"}, "after": {"$ref": "#/$defs/rates"}},
                    },
                },
            },
        },
        "probes": {"type": "array", "items": {"$ref": "#/$defs/probe_row"}},
        "earlier_edits": {"type": "array", "items": {"$ref": "#/$defs/earlier_edit"}},
        "contamination": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["probe_id", "prompt", "training_prompt", "similarity"],
                "properties": {
                    "probe_id": {"type": "string"},
                    "prompt": {"type": "string"},
                    "training_prompt": {"type": "string"},
                    "similarity": {"type": "number", "minimum": 0, "maximum": 1},
                    "match": {"enum": ["exact", "near", "contained"]},
                },
            },
        },
        "generations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["prompt", "before", "after"],
                "properties": {
                    "prompt": {"type": "string"},
                    "before": {"type": "string"},
                    "after": {"type": "string"},
                },
            },
        },
        "spectral": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/spectral"}]},
        "run": {"type": "object"},
    },
    "$defs": {
        "estimate": _ESTIMATE,
        "phase": _PHASE,
        "rates": _RATES,
        "test": _TEST,
        "margin_change": _MARGIN_CHANGE,
        "gate": _GATE,
        "probe_row": _PROBE_ROW,
        "earlier_edit": _EARLIER_EDIT,
        "spectral": _SPECTRAL,
    },
}


if __name__ == "__main__":
    print(json.dumps(REPORT_SCHEMA, indent=2, sort_keys=True))
