"""Training data for TRL's trainers, exactly as `nudge apply` would train on it.

The same selection as a run (submitted judgments, disabled accounts left out, disagreements
resolved by majority), and the same text: nudge joins prompt and completion with a space,
and TRL concatenates the strings, so each completion (and chosen/rejected) carries its
leading space. `prompt + completion` is then the text nudge trains on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from editing.completions import join_completion
from editing.spec import FeedbackSpec
from editing.store_feedback import store_feedback
from editing.training_data import Selection, select_examples
from store import Store

TRAINING_FORMATS = ("sft", "dpo")


@dataclass
class TrainingExport:
    """The records to write, and what the selection left out (for the user to hear about)."""

    records: list[dict[str, str]]
    selection: Selection
    disabled_excluded: int


def training_records(store: Store, fmt: str, tags: Sequence[str] = ()) -> TrainingExport:
    """`sft` (prompt/completion) or `dpo` (prompt/chosen/rejected) records of what `nudge apply` trains on.

    Selected with a spec's defaults (`feedback:` in docs/spec.md): `sft` is what the `sft`
    objective trains (corrections, the chosen side of preferences), `dpo` what the `dpo` one does.
    """
    if fmt not in TRAINING_FORMATS:
        raise ValueError(f"training export format must be one of {', '.join(TRAINING_FORMATS)}, got {fmt!r}")
    defaults = FeedbackSpec()
    judgments, excluded = store_feedback(store, tags=tags, status=defaults.status)
    selection = select_examples(judgments, defaults.min_agreement, fmt, defaults.positive_sft)
    examples = [e for e in selection.examples if e.kind == fmt]
    if fmt == "sft":
        records = [{"prompt": e.prompt, "completion": join_completion(e.completion)} for e in examples]
    else:
        records = [
            {"prompt": e.prompt, "chosen": join_completion(e.completion), "rejected": join_completion(e.rejected)}
            for e in examples
        ]
    return TrainingExport(records, selection, excluded)
