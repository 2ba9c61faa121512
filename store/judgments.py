"""Judgments: submit, update and discard them with full history, and select them for an edit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, delete, exc, func, insert, select
from sqlalchemy.orm import Session, aliased

from store import models as m
from store.annotators import active_annotator_id
from store.catalog import chunks, prompt_tags
from store.db import StoreBase
from store.errors import DuplicateJudgment, InvalidInput, NotFound, PermissionDenied
from store.records import Judgment, JudgmentVersion
from store.validation import (
    KINDS,
    LIVE_STATUSES,
    STATUSES,
    check_choice,
    check_note,
    check_tags,
    check_text,
    check_verdict,
)


@dataclass(frozen=True)
class JudgmentFields:
    """A judgment's content, checked: what a new row or a new version holds."""

    kind: str
    verdict: str
    correction: str | None
    note: str
    status: str
    tags: tuple[str, ...]

    @classmethod
    def checked(
        cls, kind: object, verdict: object, correction: object, note: object, status: object, tags: object
    ) -> JudgmentFields:
        kind = check_choice(kind, "kind", KINDS)
        if kind == "correction":
            correction = check_text(correction, "correction")
        elif correction is not None:
            raise InvalidInput(f"a {kind} carries no correction text; use kind 'correction' to give one")
        return cls(
            kind=kind,
            verdict=check_verdict(kind, verdict),
            correction=correction,
            note=check_note(note),
            status=check_choice(status, "status", STATUSES),
            tags=check_tags(tags),
        )


@dataclass(frozen=True)
class NewJudgment:
    annotator_id: int
    generation_id: int
    generation_b_id: int | None
    fields: JudgmentFields
    created_at: datetime


_LIVE = m.Judgment.status.in_(LIVE_STATUSES)
_LIVE_ON_OUTPUT = select(m.Judgment.id).where(
    m.Judgment.annotator_id == bindparam("annotator_id"),
    m.Judgment.generation_id == bindparam("a"),
    m.Judgment.generation_b_id.is_(None),
    _LIVE,
)
_LIVE_ON_PAIR = select(m.Judgment.id).where(
    m.Judgment.annotator_id == bindparam("annotator_id"),
    m.Judgment.generation_id == bindparam("a"),
    m.Judgment.generation_b_id == bindparam("b"),
    _LIVE,
)
# An output with what the judgment record needs: its prompt and its model's reference.
_OUTPUT = (
    select(m.Generation.prompt_id, m.Generation.text, m.Generation.model_version_id, m.Generation.decoding,
           m.Prompt.text.label("prompt"), m.ModelVersion.ref)
    .join(m.Prompt, m.Prompt.id == m.Generation.prompt_id)
    .join(m.ModelVersion, m.ModelVersion.id == m.Generation.model_version_id)
    .where(m.Generation.id == bindparam("id"))
)  # fmt: skip


def live_judgment_id(
    session: Session, annotator_id: int, generation_id: int, generation_b_id: int | None
) -> int | None:
    """The annotator's live (draft or submitted) judgment on this item, if any."""
    query = _LIVE_ON_OUTPUT if generation_b_id is None else _LIVE_ON_PAIR
    params = {"annotator_id": annotator_id, "a": generation_id, "b": generation_b_id}
    return session.connection().execute(query, params).scalar()


def history_row(judgment_id: int, version: int, fields: JudgmentFields, at: datetime) -> dict[str, object]:
    return {
        "judgment_id": judgment_id,
        "version": version,
        "kind": fields.kind,
        "verdict": fields.verdict,
        "correction": fields.correction,
        "note": fields.note,
        "tags": list(fields.tags),
        "status": fields.status,
        "recorded_at": at,
    }


_INSERT_JUDGMENT = insert(m.Judgment).returning(m.Judgment.id, sort_by_parameter_order=True)


def insert_judgments(session: Session, rows: Sequence[NewJudgment]) -> list[int]:
    """Insert judgments with their tags and their first history version; return their ids."""
    if not rows:
        return []
    values = [
        {
            "annotator_id": r.annotator_id,
            "kind": r.fields.kind,
            "generation_id": r.generation_id,
            "generation_b_id": r.generation_b_id,
            "verdict": r.fields.verdict,
            "correction": r.fields.correction,
            "note": r.fields.note,
            "status": r.fields.status,
            "version": 1,
            "created_at": r.created_at,
            "updated_at": r.created_at,
        }
        for r in rows
    ]
    connection = session.connection()  # Core, not the ORM: this is the hot path of every submit
    ids: list[int] = []
    for chunk in chunks(values):
        result = connection.execute(_INSERT_JUDGMENT, list(chunk))
        ids.extend(result.scalars())
    tag_rows = [{"judgment_id": jid, "tag": t} for jid, r in zip(ids, rows, strict=True) for t in r.fields.tags]
    history = [history_row(jid, 1, r.fields, r.created_at) for jid, r in zip(ids, rows, strict=True)]
    for chunk in chunks(tag_rows):
        connection.execute(insert(m.JudgmentTag), list(chunk))
    for chunk in chunks(history):
        connection.execute(insert(m.JudgmentVersion), list(chunk))
    return ids


def is_live_conflict(error: exc.IntegrityError) -> bool:
    """Did a concurrent writer take the item first? (The partial unique index says so.)"""
    message = str(error.orig)
    return "uq_judgments_live" in message or "UNIQUE constraint failed: judgments." in message


_A, _B = aliased(m.Generation), aliased(m.Generation)
JUDGMENT_QUERY = (
    select(m.Judgment, m.Annotator.name, _A, _B.text, m.Prompt, m.ModelVersion.ref)
    .join(m.Annotator, m.Annotator.id == m.Judgment.annotator_id)
    .join(_A, _A.id == m.Judgment.generation_id)
    .outerjoin(_B, _B.id == m.Judgment.generation_b_id)
    .join(m.Prompt, m.Prompt.id == _A.prompt_id)
    .join(m.ModelVersion, m.ModelVersion.id == _A.model_version_id)
    .order_by(m.Judgment.id)
)


# SQLAlchemy types the outer-joined B text as str; it is None for every judgment but a preference.
JudgmentQuery = Select[m.Judgment, str, m.Generation, str, m.Prompt, str | None]


def load_judgments(session: Session, query: JudgmentQuery) -> list[Judgment]:
    rows = session.execute(query).all()
    tags = judgment_tags(session, [r[0].id for r in rows])
    return [
        Judgment(
            id=j.id,
            annotator=name,
            kind=j.kind,
            verdict=j.verdict,
            status=j.status,
            prompt_id=prompt.id,
            prompt=prompt.text,
            generation_id=j.generation_id,
            output=gen.text,
            generation_b_id=j.generation_b_id,
            output_b=output_b,
            correction=j.correction,
            note=j.note,
            tags=tags.get(j.id, ()),
            model_version_id=gen.model_version_id,
            model_ref=ref,
            decoding=gen.decoding,
            version=j.version,
            created_at=j.created_at,
            updated_at=j.updated_at,
        )
        for j, name, gen, output_b, prompt, ref in rows
    ]


def judgment_tags(session: Session, ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    tags: dict[int, list[str]] = defaultdict(list)
    for chunk in chunks(sorted(set(ids))):
        query = select(m.JudgmentTag.judgment_id, m.JudgmentTag.tag).where(m.JudgmentTag.judgment_id.in_(chunk))
        for jid, tag in session.execute(query):
            tags[jid].append(tag)
    return {jid: tuple(sorted(t)) for jid, t in tags.items()}


def load_judgment(session: Session, judgment_id: int) -> Judgment:
    found = load_judgments(session, JUDGMENT_QUERY.where(m.Judgment.id == judgment_id))
    if not found:
        raise NotFound(f"no judgment {judgment_id}")
    return found[0]


def as_statuses(status: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if status is None:
        return None
    statuses = (status,) if isinstance(status, str) else tuple(status)
    for s in statuses:
        check_choice(s, "status", STATUSES)
    return statuses


def selected(
    query: Select,
    tags: Sequence[str] | None,
    status: str | Sequence[str] | None,
    kinds: Sequence[str] | None,
    annotators: Sequence[str] | None,
    model_version_id: int | None,
) -> Select:
    """`query` (over judgments joined to their annotators) narrowed to an edit spec's selection."""
    statuses = as_statuses(status)
    if statuses is not None:
        query = query.where(m.Judgment.status.in_(statuses))
    if tags:
        tagged = select(m.JudgmentTag.judgment_id).where(m.JudgmentTag.tag.in_(check_tags(tags)))
        query = query.where(m.Judgment.id.in_(tagged))
    if kinds:
        query = query.where(m.Judgment.kind.in_([check_choice(k, "kind", KINDS) for k in kinds]))
    if annotators:
        query = query.where(m.Annotator.name.in_(list(annotators)))
    if model_version_id is not None:
        generations = select(m.Generation.id).where(m.Generation.model_version_id == model_version_id)
        query = query.where(m.Judgment.generation_id.in_(generations))
    return query


class Judgments(StoreBase):
    def submit_judgment(
        self,
        annotator: str,
        generation_id: int,
        kind: str,
        verdict: str,
        *,
        generation_b_id: int | None = None,
        correction: str | None = None,
        note: str = "",
        tags: Sequence[str] | None = None,
        status: str = "submitted",
    ) -> Judgment:
        """Record a new judgment by `annotator` on a generation (or on the pair A, B for a preference).

        `tags` default to the prompt's tags. Raises DuplicateJudgment when the annotator already
        has a live judgment on the item (change that one with `update_judgment` instead).
        """
        if (kind == "preference") != (generation_b_id is not None):
            raise InvalidInput("a preference needs generation_b_id (the B output); other kinds take none")
        with self._write() as session:
            connection = session.connection()
            annotator_id = active_annotator_id(session, annotator)
            first = connection.execute(_OUTPUT, {"id": generation_id}).one_or_none()
            if first is None:
                raise NotFound(f"no generation {generation_id}; judge an output the queue offered")
            second = None
            if generation_b_id is not None:
                second = connection.execute(_OUTPUT, {"id": generation_b_id}).one_or_none()
                if second is None:
                    raise NotFound(f"no generation {generation_b_id}; judge an output the queue offered")
                if second.prompt_id != first.prompt_id or generation_b_id == generation_id:
                    raise InvalidInput(
                        f"generations {generation_id} and {generation_b_id} must be two outputs of one prompt"
                    )
            if tags is None:
                tags = prompt_tags(session, [first.prompt_id]).get(first.prompt_id, ())
            fields = JudgmentFields.checked(kind, verdict, correction, note, status, tags)
            if fields.status in LIVE_STATUSES:
                existing = live_judgment_id(session, annotator_id, generation_id, generation_b_id)
                if existing is not None:
                    raise DuplicateJudgment(
                        f"{annotator} already has judgment {existing} on this item; "
                        "update or discard it instead of adding a second one"
                    )
            now = m.utcnow()
            try:
                (jid,) = insert_judgments(
                    session, [NewJudgment(annotator_id, generation_id, generation_b_id, fields, now)]
                )
            except exc.IntegrityError as error:
                if is_live_conflict(error):
                    raise DuplicateJudgment(
                        f"{annotator} already has a live judgment on this item; update it instead"
                    ) from error
                raise
        return Judgment(
            id=jid, annotator=annotator, kind=fields.kind, verdict=fields.verdict, status=fields.status,
            prompt_id=first.prompt_id, prompt=first.prompt, generation_id=generation_id, output=first.text,
            generation_b_id=generation_b_id, output_b=None if second is None else second.text,
            correction=fields.correction, note=fields.note, tags=fields.tags,
            model_version_id=first.model_version_id, model_ref=first.ref, decoding=first.decoding,
            version=1, created_at=now, updated_at=now,
        )  # fmt: skip

    def update_judgment(
        self,
        annotator: str,
        judgment_id: int,
        *,
        kind: str | None = None,
        verdict: str | None = None,
        correction: str | None = None,
        note: str | None = None,
        tags: Sequence[str] | None = None,
        status: str | None = None,
    ) -> Judgment:
        """Change the annotator's own judgment in place; the earlier state stays in its history.

        Arguments left as None keep their value. Switching a correction to a rating drops its
        correction text. Preferences stay preferences (the item is a pair).
        """
        with self._write() as session:
            annotator_id = active_annotator_id(session, annotator)
            row = session.scalar(select(m.Judgment).where(m.Judgment.id == judgment_id).with_for_update())
            if row is None:
                raise NotFound(f"no judgment {judgment_id}")
            if row.annotator_id != annotator_id:
                raise PermissionDenied(f"judgment {judgment_id} is not {annotator}'s; only its author can change it")
            new_kind = kind or row.kind
            if (new_kind == "preference") != (row.kind == "preference"):
                raise InvalidInput("a preference cannot become a rating or correction; discard it and add a new one")
            if new_kind == "correction":
                correction = correction if correction is not None else row.correction
            current = JudgmentFields.checked(
                row.kind,
                row.verdict,
                row.correction,
                row.note,
                row.status,
                judgment_tags(session, [row.id]).get(row.id, ()),
            )
            fields = JudgmentFields.checked(
                new_kind,
                verdict or row.verdict,
                correction,
                row.note if note is None else note,
                status or row.status,
                current.tags if tags is None else tags,
            )
            if fields == current:
                return load_judgment(session, row.id)
            if fields.status in LIVE_STATUSES and row.status not in LIVE_STATUSES:
                existing = live_judgment_id(session, annotator_id, row.generation_id, row.generation_b_id)
                if existing is not None:
                    raise DuplicateJudgment(
                        f"{annotator} already has judgment {existing} live on this item; "
                        f"discard it before bringing back judgment {judgment_id}"
                    )
            now = m.utcnow()
            row.kind, row.verdict, row.correction = fields.kind, fields.verdict, fields.correction
            row.note, row.status = fields.note, fields.status
            row.version += 1
            row.updated_at = now
            if fields.tags != current.tags:
                session.execute(delete(m.JudgmentTag).where(m.JudgmentTag.judgment_id == row.id))
                session.add_all(m.JudgmentTag(judgment_id=row.id, tag=t) for t in fields.tags)
            session.execute(insert(m.JudgmentVersion), [history_row(row.id, row.version, fields, now)])
            session.flush()
            return load_judgment(session, row.id)

    def discard_judgment(self, annotator: str, judgment_id: int) -> Judgment:
        """Withdraw a judgment: its status becomes `discarded`; nothing is deleted."""
        return self.update_judgment(annotator, judgment_id, status="discarded")

    def judgment(self, judgment_id: int) -> Judgment:
        """One judgment by id; NotFound if absent."""
        with self._read() as session:
            return load_judgment(session, judgment_id)

    def judgment_history(self, judgment_id: int) -> list[JudgmentVersion]:
        """Every state the judgment has had, version 1 first."""
        with self._read() as session:
            rows = list(
                session.scalars(
                    select(m.JudgmentVersion)
                    .where(m.JudgmentVersion.judgment_id == judgment_id)
                    .order_by(m.JudgmentVersion.version)
                )
            )
            if not rows:
                raise NotFound(f"no judgment {judgment_id}")
            return [
                JudgmentVersion(
                    judgment_id=r.judgment_id,
                    version=r.version,
                    kind=r.kind,
                    verdict=r.verdict,
                    correction=r.correction,
                    note=r.note,
                    tags=tuple(r.tags),
                    status=r.status,
                    recorded_at=r.recorded_at,
                )
                for r in rows
            ]

    def live_judgment(self, annotator: str, generation_id: int, generation_b_id: int | None = None) -> Judgment | None:
        """The annotator's live judgment on an item, to show it again when they come back to it."""
        with self._read() as session:
            person_id = session.scalar(select(m.Annotator.id).where(m.Annotator.name == annotator))
            if person_id is None:
                raise NotFound(f"no annotator named {annotator!r}")
            jid = live_judgment_id(session, person_id, generation_id, generation_b_id)
            return None if jid is None else load_judgment(session, jid)

    def judgments_for(
        self,
        *,
        tags: Sequence[str] | None = None,
        status: str | Sequence[str] | None = "submitted",
        kinds: Sequence[str] | None = None,
        annotators: Sequence[str] | None = None,
        model_version_id: int | None = None,
        include_disabled: bool = False,
    ) -> list[Judgment]:
        """The judgments an edit spec selects, oldest first.

        `tags`: judgments carrying any of them; `status`: one status, several, or None for all;
        `kinds`: rating, correction, preference; `annotators`: by name. Judgments by disabled
        accounts are left out unless `include_disabled` (`count_disabled_judgments` says how many).
        Each judgment names its annotator and item, so agreement can be resolved by the caller.
        """
        query = selected(JUDGMENT_QUERY, tags, status, kinds, annotators, model_version_id)
        if not include_disabled:
            query = query.where(m.Annotator.active.is_(True))
        with self._read() as session:
            return load_judgments(session, query)

    def count_disabled_judgments(
        self,
        *,
        tags: Sequence[str] | None = None,
        status: str | Sequence[str] | None = "submitted",
        kinds: Sequence[str] | None = None,
        annotators: Sequence[str] | None = None,
        model_version_id: int | None = None,
    ) -> int:
        """How many judgments the same selection leaves out because their annotators are disabled."""
        by_annotator = (
            select(func.count()).select_from(m.Judgment).join(m.Annotator, m.Annotator.id == m.Judgment.annotator_id)
        )
        query = selected(by_annotator, tags, status, kinds, annotators, model_version_id)
        with self._read() as session:
            return session.scalar(query.where(m.Annotator.active.is_(False))) or 0

    def count_judgments(self) -> dict[tuple[str, str], int]:
        """(kind, status) -> how many judgments."""
        with self._read() as session:
            rows = session.execute(
                select(m.Judgment.kind, m.Judgment.status, func.count()).group_by(m.Judgment.kind, m.Judgment.status)
            )
            return {(kind, status): n for kind, status, n in rows}
