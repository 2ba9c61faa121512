"""Which model version annotators label next: set when an admin promotes an edited version."""

from __future__ import annotations

from sqlalchemy import select

from store import models as m
from store.annotators import find_annotator
from store.catalog import load_version
from store.db import StoreBase, insert
from store.records import ModelVersion


class CurrentVersion(StoreBase):
    def current_model_version(self) -> ModelVersion | None:
        """The promoted version, or None while nobody has promoted one (the app then labels its base model)."""
        with self._read() as session:
            version_id = session.scalar(select(m.CurrentModelVersion.model_version_id))
            return None if version_id is None else load_version(session, version_id)

    def set_current_model_version(self, version_id: int, by: str) -> ModelVersion:
        """Make `version_id` the version annotators label next; `by` names the account that promoted it."""
        with self._write() as session:
            version = load_version(session, version_id)
            find_annotator(session, by)
            row = {"id": 1, "model_version_id": version_id, "set_by": by, "set_at": m.utcnow()}
            statement = insert(self.engine, m.CurrentModelVersion).values(row)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["id"],
                    set_={k: statement.excluded[k] for k in ("model_version_id", "set_by", "set_at")},
                )
            )
            return version
