"""An annotator's queue: the next output to judge, and how far each annotator has got.

Everyone walks the outputs in the same order (by generation id), so items collect
judgments from several annotators, which is what agreement needs. An annotator
resumes after the furthest output they judged and wraps around to any they skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, exists, func, select
from sqlalchemy.orm import Session

from store import models as m
from store.catalog import prompt_tags
from store.db import StoreBase
from store.errors import NotFound, PermissionDenied
from store.records import Progress, QueueItem
from store.validation import LIVE_STATUSES, check_tags


def not_judged_by(annotator_id: int) -> ColumnElement[bool]:
    """The output has no live judgment by the annotator, alone or as either side of a pair.

    Two NOT EXISTS joined by AND, not NOT (EXISTS OR EXISTS): PostgreSQL turns each into an
    anti-join that probes an index, instead of hashing all of the annotator's judgments.
    """
    live = m.Judgment.status.in_(LIVE_STATUSES)
    mine = m.Judgment.annotator_id == annotator_id
    return ~exists().where(mine, live, m.Judgment.generation_id == m.Generation.id) & ~exists().where(
        mine, live, m.Judgment.generation_b_id == m.Generation.id
    )


def in_scope(query: Select, tags: tuple[str, ...], model_version_id: int | None) -> Select:
    if tags:
        query = query.where(exists().where(m.PromptTag.prompt_id == m.Generation.prompt_id, m.PromptTag.tag.in_(tags)))
    if model_version_id is not None:
        query = query.where(m.Generation.model_version_id == model_version_id)
    return query


# The annotator, and where they are: the furthest output they have judged (0 for none).
_ANNOTATOR_AND_CURSOR = select(
    m.Annotator.id,
    m.Annotator.active,
    select(func.coalesce(func.max(m.Judgment.generation_id), 0))
    .where(m.Judgment.annotator_id == m.Annotator.id)
    .scalar_subquery(),
).where(m.Annotator.name == bindparam("name"))

# An output with all a queue item shows, so finding it and fetching it is one round trip.
_ITEM_COLUMNS = select(
    m.Generation.id,
    m.Generation.prompt_id,
    m.Generation.text,
    m.Generation.model_version_id,
    m.Generation.decoding,
    m.Prompt.text.label("prompt"),
    m.ModelVersion.ref,
).select_from(m.Generation)


def with_item_columns(query: Select[Any]) -> Select[Any]:
    return query.join(m.Prompt, m.Prompt.id == m.Generation.prompt_id).join(
        m.ModelVersion, m.ModelVersion.id == m.Generation.model_version_id
    )


def first_unjudged(session: Session, query: Select[Any], after: int) -> Row[Any] | None:
    """The first output after `after`, else the first from the start (the wrap-around)."""
    connection = session.connection()
    found = connection.execute(query.where(m.Generation.id > after).order_by(m.Generation.id).limit(1)).first()
    if found is None and after > 0:
        found = connection.execute(query.where(m.Generation.id <= after).order_by(m.Generation.id).limit(1)).first()
    return found


class Queue(StoreBase):
    def next_item_for(
        self,
        annotator: str,
        tags: Sequence[str] | None = None,
        *,
        model_version_id: int | None = None,
        after: int | None = None,
    ) -> QueueItem | None:
        """The next output `annotator` has no live judgment on, or None when they are done.

        `tags`: only prompts with any of them; `model_version_id`: only that version's outputs;
        `after`: a generation id to continue after (to skip an item), by default the furthest
        output the annotator has judged.
        """
        scope = check_tags(tags)
        with self._read() as session:
            person = session.connection().execute(_ANNOTATOR_AND_CURSOR, {"name": annotator}).one_or_none()
            if person is None:
                raise NotFound(f"no annotator named {annotator!r}; add one with `nudge user add {annotator}`")
            annotator_id, active, furthest = person
            if not active:
                raise PermissionDenied(f"annotator {annotator!r} is disabled; an admin can re-enable the account")
            query = in_scope(
                with_item_columns(_ITEM_COLUMNS.where(not_judged_by(annotator_id))), scope, model_version_id
            )
            found = first_unjudged(session, query, furthest if after is None else after)
            if found is None:
                return None
            return QueueItem(
                generation_id=found.id,
                prompt_id=found.prompt_id,
                prompt=found.prompt,
                output=found.text,
                prompt_tags=prompt_tags(session, [found.prompt_id]).get(found.prompt_id, ()),
                model_version_id=found.model_version_id,
                model_ref=found.ref,
                decoding=found.decoding,
            )

    def progress_by_annotator(self, tags: Sequence[str] | None = None) -> list[Progress]:
        """Per annotator: judgments by status, outputs left to judge, and the last activity."""
        scope = check_tags(tags)
        with self._read() as session:
            counts = select(
                m.Judgment.annotator_id,
                func.count().filter(m.Judgment.status == "submitted"),
                func.count().filter(m.Judgment.status == "draft"),
                func.count().filter(m.Judgment.status == "discarded"),
                func.max(m.Judgment.updated_at),
            ).group_by(m.Judgment.annotator_id)
            if scope:
                tagged = select(m.JudgmentTag.judgment_id).where(m.JudgmentTag.tag.in_(scope))
                counts = counts.where(m.Judgment.id.in_(tagged))
            by_annotator = {row[0]: row[1:] for row in session.execute(counts)}
            total = session.scalar(in_scope(select(func.count(m.Generation.id)), scope, None)) or 0
            done_query = in_scope(
                select(m.Judgment.annotator_id, func.count(func.distinct(m.Generation.id)))
                .join(
                    m.Generation,
                    and_(
                        m.Judgment.status.in_(LIVE_STATUSES),
                        (m.Generation.id == m.Judgment.generation_id) | (m.Generation.id == m.Judgment.generation_b_id),
                    ),
                )
                .group_by(m.Judgment.annotator_id),
                scope,
                None,
            )
            done = {aid: n for aid, n in session.execute(done_query)}
            people = session.scalars(select(m.Annotator).order_by(m.Annotator.name))
            result = []
            for person in people:
                submitted, drafts, discarded, last = by_annotator.get(person.id, (0, 0, 0, None))
                result.append(
                    Progress(
                        annotator=person.name,
                        active=person.active,
                        submitted=submitted,
                        drafts=drafts,
                        discarded=discarded,
                        remaining=total - done.get(person.id, 0),
                        last_activity=last,
                    )
                )
            return result
