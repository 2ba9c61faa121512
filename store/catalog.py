"""What gets judged: prompts, model versions, and the generations of a version for a prompt."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session

from store import models as m
from store.db import StoreBase, insert
from store.errors import InvalidInput, NotFound
from store.paths import kept_path, resolved_path, workspace_of
from store.records import Generation, ModelVersion, Prompt
from store.validation import check_decoding, check_tags, check_text

CHUNK = 500  # rows per IN (...) lookup: well under every backend's bound-parameter limit
MAX_REF_CHARS = 500


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def existing_prompts(session: Session, texts: Iterable[str]) -> set[str]:
    """The texts among `texts` that are already prompts."""
    by_hash = {sha256_text(t): t for t in texts}
    found: set[str] = set()
    for chunk in chunks(sorted(by_hash)):
        found.update(
            by_hash[h] for h in session.scalars(select(m.Prompt.text_sha256).where(m.Prompt.text_sha256.in_(chunk)))
        )
    return found


def run_verdict(metrics: Mapping[str, Any] | None) -> str | None:
    """The verdict status a finished run recorded in its metrics (pass | fail | uncertain | none: no gate
    judged), if any."""
    verdict = (metrics or {}).get("verdict")
    if not isinstance(verdict, Mapping):
        return None
    return verdict.get("status")


def version_record(row: m.ModelVersion, run_id: int | None, verdict: str | None = None) -> ModelVersion:
    return ModelVersion(
        id=row.id,
        ref=row.ref,
        fingerprint=row.fingerprint,
        parent_id=row.parent_id,
        adapter_path=None if row.adapter_path is None else resolved_path(row.adapter_path, workspace_of(row)),
        adapter_sha256=row.adapter_sha256,
        run_id=run_id,
        created_at=row.created_at,
        standing=row.standing,
        accepted_failed=row.accepted_failed,
        verdict=verdict,
    )


def version_row(session: Session, version_id: int) -> m.ModelVersion:
    row = session.get(m.ModelVersion, version_id)
    if row is None:
        raise NotFound(f"no model version {version_id}; `nudge versions list` shows the versions")
    return row


def load_version(session: Session, version_id: int) -> ModelVersion:
    row = version_row(session, version_id)
    made_by = session.execute(
        select(m.EditRun.id, m.EditRun.metrics).where(m.EditRun.result_version_id == version_id)
    ).first()
    if made_by is None:
        return version_record(row, None)
    return version_record(row, made_by.id, run_verdict(made_by.metrics))


def ensure_base_version(session: Session, ref: str, fingerprint: str | None = None) -> int:
    """The id of the base version named `ref`, created if missing."""
    check_text(ref, "model reference", max_chars=MAX_REF_CHARS)
    engine = session.get_bind()
    # ON CONFLICT: two imports naming a new model at once must not collide on the unique ref
    session.execute(insert(engine, m.ModelVersion).on_conflict_do_nothing(), [{"ref": ref, "fingerprint": fingerprint}])
    row = session.scalars(select(m.ModelVersion).where(m.ModelVersion.ref == ref)).one()
    if fingerprint is not None and row.fingerprint is None:
        row.fingerprint = fingerprint
    elif fingerprint is not None and row.fingerprint != fingerprint:
        raise InvalidInput(
            f"model {ref!r} is recorded with fingerprint {row.fingerprint}, but these weights have "
            f"{fingerprint}: the judgments were made on other weights. Load the model under a new "
            "reference (another folder or name) to keep both"
        )
    return row.id


def prompt_ids(session: Session, engine: Engine, sources: Mapping[str, str | None]) -> dict[str, int]:
    """text -> prompt id for every text in `sources` (text -> source), inserting the missing ones."""
    by_hash = {sha256_text(t): t for t in sources}
    # in the given order, so that new prompts (and the queue after them) follow the file
    rows = [{"text": t, "text_sha256": h, "source": sources[t]} for h, t in by_hash.items()]
    for chunk in chunks(rows):
        session.execute(insert(engine, m.Prompt).on_conflict_do_nothing(), list(chunk))
    ids: dict[str, int] = {}
    for chunk in chunks(sorted(by_hash)):
        for pid, digest in session.execute(
            select(m.Prompt.id, m.Prompt.text_sha256).where(m.Prompt.text_sha256.in_(chunk))
        ):
            ids[by_hash[digest]] = pid
    return ids


def add_prompt_tags(session: Session, engine: Engine, pairs: Iterable[tuple[int, str]]) -> None:
    rows = [{"prompt_id": p, "tag": t} for p, t in sorted(set(pairs))]
    for chunk in chunks(rows):
        session.execute(insert(engine, m.PromptTag).on_conflict_do_nothing(), list(chunk))


_TAGS_OF = select(m.PromptTag.prompt_id, m.PromptTag.tag).where(
    m.PromptTag.prompt_id.in_(bindparam("ids", expanding=True))
)


def prompt_tags(session: Session, ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """prompt id -> its tags, sorted; prompts without tags are absent."""
    tags: dict[int, list[str]] = defaultdict(list)
    for chunk in chunks(sorted(set(ids))):
        for pid, tag in session.connection().execute(_TAGS_OF, {"ids": list(chunk)}):
            tags[pid].append(tag)
    return {pid: tuple(sorted(t)) for pid, t in tags.items()}


def generation_ids(
    session: Session, engine: Engine, outputs: Iterable[tuple[int, int, str, dict[str, Any] | None]]
) -> dict[tuple[int, int, str], int]:
    """(prompt id, version id, text) -> generation id, inserting the missing ones.

    A generation is deduplicated by (prompt, version, text); the first decoding settings stay.
    """
    wanted: dict[tuple[int, int, str], dict[str, Any]] = {}
    for prompt_id, version_id, text, decoding in outputs:
        key = (prompt_id, version_id, sha256_text(text))
        wanted.setdefault(
            key,
            {
                "prompt_id": prompt_id,
                "model_version_id": version_id,
                "text": text,
                "text_sha256": key[2],
                "decoding": decoding,
            },
        )
    rows = list(wanted.values())  # in the given order: the queue serves outputs by id
    for chunk in chunks(rows):
        session.execute(insert(engine, m.Generation).on_conflict_do_nothing(), list(chunk))
    ids: dict[tuple[int, int, str], int] = {}
    for chunk in chunks(sorted({k[0] for k in wanted})):
        for gid, pid, vid, digest in session.execute(
            select(
                m.Generation.id, m.Generation.prompt_id, m.Generation.model_version_id, m.Generation.text_sha256
            ).where(m.Generation.prompt_id.in_(chunk))
        ):
            if (pid, vid, digest) in wanted:
                ids[(pid, vid, wanted[(pid, vid, digest)]["text"])] = gid
    return ids


def prompt_record(row: m.Prompt, tags: tuple[str, ...]) -> Prompt:
    return Prompt(id=row.id, text=row.text, source=row.source, tags=tags, created_at=row.created_at)


def generation_record(row: m.Generation) -> Generation:
    return Generation(
        id=row.id,
        prompt_id=row.prompt_id,
        model_version_id=row.model_version_id,
        text=row.text,
        decoding=row.decoding,
        created_at=row.created_at,
    )


class Catalog(StoreBase):
    def add_prompt(self, text: str, tags: Sequence[str] = (), source: str | None = None) -> Prompt:
        """Add a prompt, or merge `tags` into the existing prompt with the same text."""
        check_text(text, "prompt")
        tags = check_tags(tags)
        with self._write() as session:
            pid = prompt_ids(session, self.engine, {text: source})[text]
            add_prompt_tags(session, self.engine, [(pid, t) for t in tags])
            row = session.get_one(m.Prompt, pid)
            return prompt_record(row, prompt_tags(session, [pid]).get(pid, ()))

    def prompts(self, tags: Sequence[str] | None = None) -> list[Prompt]:
        """Every prompt (with any of `tags`, when given), oldest first."""
        with self._read() as session:
            query = select(m.Prompt).order_by(m.Prompt.id)
            if tags:
                query = query.where(
                    m.Prompt.id.in_(select(m.PromptTag.prompt_id).where(m.PromptTag.tag.in_(check_tags(tags))))
                )
            rows = list(session.scalars(query))
            tag_map = prompt_tags(session, [r.id for r in rows])
            return [prompt_record(r, tag_map.get(r.id, ())) for r in rows]

    def ensure_base_version(self, ref: str, fingerprint: str | None = None) -> ModelVersion:
        """The base model version named `ref` (a path, hub id or `toyworld`), created if missing.

        A fingerprint is filled in when the version has none; a different one is an error,
        since judgments made on other weights must not be mixed up with these.
        """
        with self._write() as session:
            return load_version(session, ensure_base_version(session, ref, fingerprint))

    def add_adapter_version(
        self, parent_id: int, adapter_path: str, adapter_sha256: str, run_id: int | None = None
    ) -> ModelVersion:
        """A new version: `parent_id` plus a LoRA adapter, optionally made by edit run `run_id`."""
        if len(adapter_sha256) != 64 or any(c not in "0123456789abcdef" for c in adapter_sha256):
            raise InvalidInput(f"adapter_sha256 {adapter_sha256!r} must be 64 lowercase hex digits")
        check_text(adapter_path, "adapter path")
        adapter_path = kept_path(adapter_path, self.workspace, "adapter path")
        with self._write() as session:
            load_version(session, parent_id)
            row = m.ModelVersion(parent_id=parent_id, adapter_path=adapter_path, adapter_sha256=adapter_sha256)
            session.add(row)
            session.flush()
            if run_id is not None:
                run = session.get(m.EditRun, run_id)
                if run is None:
                    raise NotFound(f"no edit run {run_id}; `nudge runs list` shows the runs")
                if run.result_version_id is not None:
                    raise InvalidInput(f"edit run {run_id} already produced model version {run.result_version_id}")
                run.result_version_id = row.id
                session.flush()
            return load_version(session, row.id)

    def model_version(self, version_id: int) -> ModelVersion:
        """One model version by id; NotFound if absent."""
        with self._read() as session:
            return load_version(session, version_id)

    def find_model_version(self, ref: str) -> ModelVersion | None:
        """The base version named `ref`, or None."""
        with self._read() as session:
            vid = session.scalar(select(m.ModelVersion.id).where(m.ModelVersion.ref == ref))
            return None if vid is None else load_version(session, vid)

    def model_versions(self) -> list[ModelVersion]:
        """Every model version, oldest first."""
        with self._read() as session:
            made_by = select(m.EditRun.result_version_id, m.EditRun.id, m.EditRun.metrics).where(
                m.EditRun.result_version_id.isnot(None)
            )
            runs = {vid: (rid, run_verdict(metrics)) for vid, rid, metrics in session.execute(made_by)}
            rows = session.scalars(select(m.ModelVersion).order_by(m.ModelVersion.id))
            return [version_record(r, *runs.get(r.id, (None, None))) for r in rows]

    def add_generations(
        self, model_version_id: int, outputs: Sequence[tuple[int, str]], decoding: dict[str, Any] | None = None
    ) -> list[Generation]:
        """Record a version's outputs, one (prompt id, text) each, so annotators can judge them."""
        for _, text in outputs:
            check_text(text, "output")
        decoding = check_decoding(decoding)
        with self._write() as session:
            load_version(session, model_version_id)
            wanted = sorted({p for p, _ in outputs})
            known: set[int] = set()
            for chunk in chunks(wanted):
                known.update(session.scalars(select(m.Prompt.id).where(m.Prompt.id.in_(chunk))))
            missing = sorted(set(wanted) - known)
            if missing:
                raise NotFound(f"no prompts with ids {missing}; add them first")
            ids = generation_ids(session, self.engine, [(p, model_version_id, t, decoding) for p, t in outputs])
            rows: dict[int, m.Generation] = {}
            for chunk in chunks(sorted(set(ids.values()))):
                rows.update((r.id, r) for r in session.scalars(select(m.Generation).where(m.Generation.id.in_(chunk))))
            return [generation_record(rows[ids[(p, model_version_id, t)]]) for p, t in outputs]

    def generations_for(self, prompt_id: int) -> list[Generation]:
        """Every output recorded for a prompt (to offer two of them as a preference pair)."""
        with self._read() as session:
            rows = session.scalars(
                select(m.Generation).where(m.Generation.prompt_id == prompt_id).order_by(m.Generation.id)
            )
            return [generation_record(r) for r in rows]
