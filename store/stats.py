"""Agreement over stored judgments: which judgments are comparable, and on which item."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence

from store.agreement import AgreementReport, agreement_report
from store.db import StoreBase
from store.judgments import Judgments
from store.records import Judgment
from store.validation import check_choice

FAMILIES = ("rating", "preference")
_SWAPPED = {"a": "b", "b": "a", "tie": "tie"}


def unit_and_label(judgment: Judgment) -> tuple[Hashable, str]:
    """Ratings and corrections say up/down about one output; preferences compare a pair.

    A pair is compared whichever way round it was shown: (B, A) with verdict `a` is
    the same opinion as (A, B) with verdict `b`.
    """
    if judgment.kind != "preference":
        return judgment.generation_id, judgment.verdict
    a, b = judgment.generation_id, judgment.generation_b_id
    assert b is not None
    return ((a, b), judgment.verdict) if a < b else ((b, a), _SWAPPED[judgment.verdict])


def agreement_units(judgments: Sequence[Judgment], family: str) -> dict[Hashable, dict[str, str]]:
    """item -> {annotator: label} for the judgments of one family."""
    units: dict[Hashable, dict[str, str]] = defaultdict(dict)
    for judgment in judgments:
        if (judgment.kind == "preference") != (family == "preference"):
            continue
        unit, label = unit_and_label(judgment)
        units[unit][judgment.annotator] = label
    return dict(units)


class Stats(Judgments, StoreBase):
    def agreement(
        self,
        family: str = "rating",
        *,
        tags: Sequence[str] | None = None,
        status: str | Sequence[str] | None = "submitted",
        annotators: Sequence[str] | None = None,
    ) -> AgreementReport:
        """Agreement between annotators on items several of them judged.

        `family`: `rating` (ratings and corrections, up/down on one output) or `preference`
        (a/b/tie on a pair). Filters as in `judgments_for`.
        """
        check_choice(family, "family", FAMILIES)
        kinds = ["preference"] if family == "preference" else ["rating", "correction"]
        selected = self.judgments_for(tags=tags, status=status, kinds=kinds, annotators=annotators)
        return agreement_report(family, agreement_units(selected, family))
