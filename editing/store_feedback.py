"""What the store keeps, in the editing side's shape: judgments selected as `nudge apply` selects them, and probes.

One selection for training and for `nudge export`: the same tags, status and annotators,
and the same rule for disabled accounts (their judgments are left out unless asked for).
A run reads the store's probe suites by reference, `store:NAME` (`register_store`).
"""

from __future__ import annotations

from collections.abc import Sequence

from editing.probes.suites import Probe, ProbeSuite, ProbeSuiteError, parse_probe
from editing.references import References
from editing.training_data import Feedback, JudgmentKind
from store import Store
from store import records as store_records

STORE = "store"  # `store:NAME`: a probe suite kept in the store (Store.add_probe_suite)


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


def probe_from_store(stored: store_records.Probe, where: str) -> Probe:
    """A stored probe in the editing side's shape; ProbeSuiteError, naming `where`, when it is not a valid probe."""
    record = {"id": stored.key, "prompt": stored.prompt, "target": stored.target, "foil": stored.foil}
    meta = {k: v for k, v in (stored.meta or {}).items() if k in ("relation", "subject")}
    return parse_probe(record | {"kind": stored.kind, "split": stored.split} | meta, where)


def suite_from_store(store: Store, name: str) -> ProbeSuite:
    """A probe suite kept in the store (`store:NAME` in a spec); LookupError when there is none by that name."""
    stored = store.probe_suite(name)
    probes = [probe_from_store(p, f"stored suite {name!r}, probe {p.key}") for p in stored.probes]
    return ProbeSuite(name=f"{STORE}:{name}", probes=probes)


def register_store(references: References, store: Store) -> None:
    """Add the probe suites kept in `store` to `references`, as `store:NAME`."""

    def read(name: str) -> ProbeSuite:
        try:
            return suite_from_store(store, name)
        except LookupError as exc:
            raise ProbeSuiteError(f"probes: {exc}") from exc

    references.add_suites(STORE, read)
