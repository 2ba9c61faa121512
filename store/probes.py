"""Probe suites (prompt, target, foil, kind, split) and the per-run probe results."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from store import models as m
from store.catalog import chunks
from store.db import StoreBase
from store.errors import AlreadyExists, InvalidInput, NotFound
from store.records import Probe, ProbeResult, ProbeScore, ProbeSuite
from store.validation import PHASES, PROBE_KINDS, PROBE_SPLITS, check_choice, check_json, check_storable, check_text

PROBE_FIELDS = ("id", "prompt", "target", "foil", "kind", "split")  # everything else goes to `meta`


def checked_probe(row: Mapping[str, Any], position: int) -> dict[str, Any]:
    """A probe from the JSONL shape (`id`, prompt, target, foil, kind, split, any extras)."""
    where = f"probe {position + 1}"
    key = row.get("id", str(position + 1))
    if not isinstance(key, str | int) or isinstance(key, bool) or not str(key).strip():
        raise InvalidInput(f"{where}: id {key!r} must be a non-empty string")
    meta = {k: v for k, v in row.items() if k not in PROBE_FIELDS}
    return {
        "position": position,
        "key": check_storable(str(key), f"{where}: id"),
        "prompt": check_text(row.get("prompt"), f"{where}: prompt"),
        "target": check_text(row.get("target"), f"{where}: target"),
        "foil": check_text(row.get("foil"), f"{where}: foil"),
        "kind": check_choice(row.get("kind"), f"{where}: kind", PROBE_KINDS),
        "split": check_choice(row.get("split"), f"{where}: split", PROBE_SPLITS),
        "meta": check_json(meta, f"{where}: meta") or None,
    }


def probe_record(row: m.Probe) -> Probe:
    return Probe(
        id=row.id,
        key=row.key,
        prompt=row.prompt,
        target=row.target,
        foil=row.foil,
        kind=row.kind,
        split=row.split,
        meta=row.meta,
    )


def load_suite(session: Session, name: str) -> ProbeSuite:
    suite = session.scalar(select(m.ProbeSuite).where(m.ProbeSuite.name == name))
    if suite is None:
        raise NotFound(f"no probe suite named {name!r}; add it with add_probe_suite or list them with probe_suites()")
    probes = session.scalars(select(m.Probe).where(m.Probe.suite_id == suite.id).order_by(m.Probe.position))
    return ProbeSuite(
        id=suite.id,
        name=suite.name,
        probes=tuple(probe_record(p) for p in probes),
        content_sha256=suite.content_sha256,
        created_at=suite.created_at,
    )


class Probes(StoreBase):
    def add_probe_suite(self, name: str, probes: Sequence[Mapping[str, Any]]) -> ProbeSuite:
        """Store a suite of probes (dicts in the JSONL shape). Adding the same content again is a no-op.

        A suite is immutable once stored, since runs refer to its probes: different content under
        an existing name raises AlreadyExists; store it under a new name instead.
        """
        check_text(name, "suite name", max_chars=200)
        if not probes:
            raise InvalidInput(f"probe suite {name!r} has no probes; give at least one")
        rows = [checked_probe(p, i) for i, p in enumerate(probes)]
        keys = [r["key"] for r in rows]
        if len(set(keys)) != len(keys):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            raise InvalidInput(f"probe suite {name!r} repeats probe ids {dupes}; give each probe its own id")
        digest = hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        with self._write() as session:
            existing = session.scalar(select(m.ProbeSuite).where(m.ProbeSuite.name == name))
            if existing is not None:
                if existing.content_sha256 != digest:
                    raise AlreadyExists(
                        f"probe suite {name!r} exists with other probes; a stored suite never changes, "
                        "so add this one under a new name (e.g. with a version suffix)"
                    )
                return load_suite(session, name)
            suite = m.ProbeSuite(name=name, content_sha256=digest)
            session.add(suite)
            session.flush()
            session.execute(insert(m.Probe), [{**r, "suite_id": suite.id} for r in rows])
            return load_suite(session, name)

    def probe_suite(self, name: str) -> ProbeSuite:
        """A stored suite with its probes in their original order."""
        with self._read() as session:
            return load_suite(session, name)

    def probe_suites(self) -> list[str]:
        """The names of the stored suites."""
        with self._read() as session:
            return list(session.scalars(select(m.ProbeSuite.name).order_by(m.ProbeSuite.name)))

    def record_probe_results(self, run_id: int, rows: Sequence[ProbeScore]) -> int:
        """Store a run's probe scores (one per probe per phase) in one transaction; return the count."""
        for row in rows:
            check_choice(row.phase, "phase", PHASES)
        with self._write() as session:
            if session.get(m.EditRun, run_id) is None:
                raise NotFound(f"no edit run {run_id}")
            probe_ids = {r.probe_id for r in rows}
            known: set[int] = set()
            for chunk in chunks(sorted(probe_ids)):
                known.update(session.scalars(select(m.Probe.id).where(m.Probe.id.in_(chunk))))
            if probe_ids - known:
                raise NotFound(f"no probes with ids {sorted(probe_ids - known)}; store their suite first")
            seen = set()
            for row in rows:
                if (row.probe_id, row.phase) in seen:
                    raise InvalidInput(f"probe {row.probe_id} is scored twice in phase {row.phase!r}")
                seen.add((row.probe_id, row.phase))
            query = select(m.ProbeResult.probe_id, m.ProbeResult.phase).where(m.ProbeResult.run_id == run_id)
            recorded = {(probe_id, phase) for probe_id, phase in session.execute(query)}
            if recorded & seen:
                probe_id, phase = min(recorded & seen)
                raise AlreadyExists(
                    f"run {run_id} already has a {phase!r} score for probe {probe_id}; scores are final"
                )
            values = [{"run_id": run_id, **{f: getattr(r, f) for f in ProbeScore.__dataclass_fields__}} for r in rows]
            for chunk in chunks(values):
                session.execute(insert(m.ProbeResult), list(chunk))
            return len(rows)

    def probe_results(self, run_id: int, phase: str | None = None) -> list[ProbeResult]:
        """A run's probe scores, by probe then phase (before first)."""
        query = (
            select(m.ProbeResult, m.Probe.key)
            .join(m.Probe, m.Probe.id == m.ProbeResult.probe_id)
            .where(m.ProbeResult.run_id == run_id)
            .order_by(m.ProbeResult.probe_id, m.ProbeResult.phase.desc())
        )
        if phase is not None:
            query = query.where(m.ProbeResult.phase == check_choice(phase, "phase", PHASES))
        with self._read() as session:
            return [
                ProbeResult(
                    run_id=r.run_id,
                    probe_id=r.probe_id,
                    probe_key=key,
                    phase=r.phase,
                    target_logprob=r.target_logprob,
                    foil_logprob=r.foil_logprob,
                    target_greedy=r.target_greedy,
                    continuation=r.continuation,
                )
                for r, key in session.execute(query)
            ]
