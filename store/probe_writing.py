"""Growing a probe suite one probe (or one batch) at a time, as people write them in the app.

`add_probe_suite` stores whole suites; here a named suite gains probes at its end. Existing
probes never change, and runs score content-named copies of the suites they use, so what a
past run measured stays as it was. The split of each new probe is chosen by the caller's
`choose_splits`, inside the same transaction that counts the suite's probes, so two
writers appending at once cannot both take the same place in the deal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, insert, select

from store import models as m
from store.api import Store
from store.errors import InvalidInput
from store.probes import checked_probe, load_suite, probe_record
from store.records import Probe, ProbeSuite
from store.validation import check_text

SplitChooser = Callable[[Sequence[Probe], Sequence[Mapping[str, Any]]], Sequence[str]]


def _content_row(probe: Probe, position: int) -> dict[str, Any]:
    """A stored probe in the shape `add_probe_suite` hashes, so both agree on a suite's digest."""
    return {
        "position": position,
        "key": probe.key,
        "prompt": probe.prompt,
        "target": probe.target,
        "foil": probe.foil,
        "kind": probe.kind,
        "split": probe.split,
        "meta": probe.meta,
    }


def append_probes(
    store: Store, name: str, probes: Sequence[Mapping[str, Any]], choose_splits: SplitChooser
) -> ProbeSuite:
    """Add `probes` (JSONL shape, without `split`) to the end of suite `name`, creating it if needed.

    A probe without an `id` gets `<name>-<position>`. Returns the whole suite.
    """
    check_text(name, "suite name", max_chars=200)
    if not probes:
        raise InvalidInput(f"no probes to add to suite {name!r}; give at least one")
    if any("split" in p for p in probes):
        raise InvalidInput("probes written in the app get their split from the app; drop the `split` field")
    with store._write() as session:
        suite = session.scalar(select(m.ProbeSuite).where(m.ProbeSuite.name == name).with_for_update())
        if suite is None:
            suite = m.ProbeSuite(name=name, content_sha256="")
            session.add(suite)
            session.flush()
        existing = [
            probe_record(p)
            for p in session.scalars(select(m.Probe).where(m.Probe.suite_id == suite.id).order_by(m.Probe.position))
        ]
        start = (session.scalar(select(func.max(m.Probe.position)).where(m.Probe.suite_id == suite.id)) or -1) + 1
        splits = list(choose_splits(existing, probes))
        rows = [
            checked_probe({"id": f"{name}-{start + i + 1}", **p, "split": split}, start + i)
            for i, (p, split) in enumerate(zip(probes, splits, strict=True))
        ]
        taken = {p.key for p in existing}
        clashes = sorted({r["key"] for r in rows} & taken) or sorted(
            {r["key"] for r in rows if [x["key"] for x in rows].count(r["key"]) > 1}
        )
        if clashes:
            raise InvalidInput(f"suite {name!r} already has probes with ids {clashes}; leave `id` out or pick new ids")
        session.execute(insert(m.Probe), [{**r, "suite_id": suite.id} for r in rows])
        content = [_content_row(p, i) for i, p in enumerate(existing)] + rows
        suite.content_sha256 = hashlib.sha256(
            json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        session.flush()
        return load_suite(session, name)
