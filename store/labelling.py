"""What annotators label next: the current model version (moved by promote and revert, see store.versions),
and prompts it has not answered."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, select

from store import models as m
from store.catalog import load_version, prompt_record, prompt_tags
from store.db import StoreBase
from store.records import ModelVersion, Prompt
from store.validation import check_tags


class Labelling(StoreBase):
    def current_model_version(self) -> ModelVersion | None:
        """The promoted version, or None while nobody has promoted one (the app then labels its base model)."""
        with self._read() as session:
            version_id = session.scalar(select(m.CurrentModelVersion.model_version_id))
            return None if version_id is None else load_version(session, version_id)

    def prompts_without_output(
        self, version_id: int, tags: Sequence[str] | None = None, limit: int | None = None
    ) -> list[Prompt]:
        """Prompts (with any of `tags`) that have no output of version `version_id` yet, oldest first."""
        scope = check_tags(tags)
        query = (
            select(m.Prompt)
            .where(~exists().where(m.Generation.prompt_id == m.Prompt.id, m.Generation.model_version_id == version_id))
            .order_by(m.Prompt.id)
            .limit(limit)
        )
        if scope:
            query = query.where(exists().where(m.PromptTag.prompt_id == m.Prompt.id, m.PromptTag.tag.in_(scope)))
        with self._read() as session:
            load_version(session, version_id)
            rows = list(session.scalars(query))
            tags_of = prompt_tags(session, [r.id for r in rows])
            return [prompt_record(r, tags_of.get(r.id, ())) for r in rows]
