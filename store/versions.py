"""The edit ledger's rules: which versions may be built on or promoted, and how the current version moves.

A version made by a run whose verdict failed is `rejected`: it stays listed and its adapter is
kept for study, but `check_standing` refuses to build on it or promote it unless the caller says
`accept_failed` explicitly; then it becomes accepted, recorded as `accepted_failed`. Promote and
revert move the current version (what annotators label); every move is kept, nothing is deleted.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import models as m
from store.catalog import load_version, version_row
from store.db import StoreBase, insert
from store.errors import InvalidInput, InvalidTransition, VersionRejected
from store.records import CurrentVersionChange, ModelVersion
from store.validation import MAX_NAME_CHARS, check_text


def new_standing(passed: bool, accept_failed: bool) -> tuple[str, bool]:
    """(standing, accepted_failed) of a version its run just made, from the run's verdict."""
    if passed:
        return "accepted", False
    return ("accepted", True) if accept_failed else ("rejected", False)


def check_standing(version: ModelVersion, accept_failed: bool, use: str) -> None:
    """Refuse to `use` (build on, promote) a rejected version unless `accept_failed` says so explicitly.

    The one rule, for `nudge apply`, `nudge promote` and the app's promote alike.
    """
    if version.rejected and not accept_failed:
        made_by = f"its run {version.run_id} " if version.run_id is not None else ""
        raise VersionRejected(
            f"model version {version.id} is rejected: {made_by}failed its gates (verdict {version.verdict or 'fail'}); "
            f"to {use} it anyway, say so explicitly with --accept-failed (in a spec: accept_failed: true)"
        )


def accept_if_allowed(session: Session, version_id: int, accept_failed: bool, use: str) -> m.ModelVersion:
    """The version's row after `check_standing`; a rejected one accepted explicitly is marked accepted_failed."""
    check_standing(load_version(session, version_id), accept_failed, use)
    row = version_row(session, version_id)
    if row.standing == "rejected":
        row.standing, row.accepted_failed = "accepted", True
    return row


def ancestry(session: Session, version_id: int) -> list[ModelVersion]:
    """The version's chain from its base model, base first."""
    chain = [load_version(session, version_id)]
    while chain[-1].parent_id is not None:
        chain.append(load_version(session, chain[-1].parent_id))
    return chain[::-1]


def change_record(row: m.CurrentVersionChange) -> CurrentVersionChange:
    return CurrentVersionChange(
        action=row.action,
        model_version_id=row.model_version_id,
        previous_version_id=row.previous_version_id,
        accepted_failed=row.accepted_failed,
        set_by=row.set_by,
        set_at=row.set_at,
    )


class Versions(StoreBase):
    def version_chain(self, version_id: int) -> list[ModelVersion]:
        """Version `version_id` and its ancestors, base first; NotFound if it is absent."""
        with self._read() as session:
            return ancestry(session, version_id)

    def promote_version(self, version_id: int, by: str, accept_failed: bool = False) -> ModelVersion:
        """Make `version_id` the version annotators label next; `by` names who did it.

        A rejected version is refused unless `accept_failed`, which accepts it (recorded).
        """
        return self._move("promote", version_id, by, accept_failed)

    def revert_to(self, version_id: int, by: str) -> ModelVersion:
        """Move the current version back to one of its ancestors; nothing is deleted, the move is recorded."""
        return self._move("revert", version_id, by, accept_failed=False)

    def current_version_changes(self) -> list[CurrentVersionChange]:
        """Every promote and revert, oldest first."""
        with self._read() as session:
            rows = session.scalars(select(m.CurrentVersionChange).order_by(m.CurrentVersionChange.id))
            return [change_record(r) for r in rows]

    def _move(self, action: str, version_id: int, by: str, accept_failed: bool) -> ModelVersion:
        check_text(by, "who moves the current version", max_chars=MAX_NAME_CHARS)
        with self._write() as session:
            previous = session.scalar(select(m.CurrentModelVersion.model_version_id).with_for_update())
            if action == "revert":
                _check_revert(session, previous, version_id)
            was_rejected = load_version(session, version_id).rejected
            accept_if_allowed(session, version_id, accept_failed, "promote")
            now = m.utcnow()
            row = {"id": 1, "model_version_id": version_id, "set_by": by, "set_at": now}
            statement = insert(self.engine, m.CurrentModelVersion).values(row)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["id"],
                    set_={k: statement.excluded[k] for k in ("model_version_id", "set_by", "set_at")},
                )
            )
            session.add(
                m.CurrentVersionChange(
                    action=action,
                    model_version_id=version_id,
                    previous_version_id=previous,
                    accepted_failed=was_rejected,
                    set_by=by,
                    set_at=now,
                )
            )
            session.flush()
            return load_version(session, version_id)


def _check_revert(session: Session, current: int | None, version_id: int) -> None:
    """A revert goes back along the current version's chain, to a strict ancestor."""
    if current is None:
        raise InvalidTransition("no version has been promoted yet, so there is nothing to revert; use `nudge promote`")
    chain = [v.id for v in ancestry(session, current)]
    if version_id == current:
        raise InvalidInput(f"model version {version_id} is already the current version")
    if version_id not in chain:
        path = " -> ".join(str(v) for v in chain)
        raise InvalidInput(
            f"model version {version_id} is not an ancestor of the current version {current} (its chain: {path}); "
            f"revert goes back along that chain; use `nudge promote {version_id}` to move elsewhere"
        )
