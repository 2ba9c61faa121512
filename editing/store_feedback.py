"""Judgments from the store in the editing side's shape, selected as `nudge apply` selects them.

One selection for training and for `nudge export`: the same tags, status and annotators,
and the same rule for disabled accounts (their judgments are left out unless asked for).
"""

from __future__ import annotations

from collections.abc import Sequence

from editing.training_data import Feedback, JudgmentKind
from store import Store
from store import records as store_records


def feedback_from_store(judgment: store_records.Judgment) -> Feedback:
    """A stored judgment in the editing side's shape."""
    if judgment.kind == "preference":
        return Feedback(
            judgment.annotator,
            "preference",
            judgment.prompt,
            judgment.verdict,
            output_a=judgment.output,
            output_b=judgment.output_b or "",
            tags=judgment.tags,
            id=f"judgment:{judgment.id}",
        )
    # the store's CHECK allows only these two kinds besides preference
    kind: JudgmentKind = "correction" if judgment.kind == "correction" else "rating"
    return Feedback(
        judgment.annotator,
        kind,
        judgment.prompt,
        judgment.verdict,
        output=judgment.output,
        correction=judgment.correction or "",
        tags=judgment.tags,
        id=f"judgment:{judgment.id}",
    )


def store_feedback(
    store: Store,
    *,
    tags: Sequence[str] = (),
    status: str | None = "submitted",
    annotators: Sequence[str] = (),
    include_disabled: bool = False,
) -> tuple[list[Feedback], int]:
    """The selected judgments, and how many more disabled accounts made (left out unless `include_disabled`)."""
    tag_list, annotator_list = list(tags) or None, list(annotators) or None
    stored = store.judgments_for(
        tags=tag_list, status=status, annotators=annotator_list, include_disabled=include_disabled
    )
    excluded = (
        0
        if include_disabled
        else store.count_disabled_judgments(tags=tag_list, status=status, annotators=annotator_list)
    )
    return [feedback_from_store(j) for j in stored], excluded
