"""Annotator accounts: add, list, disable, set and verify passwords."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from store import models as m
from store.db import StoreBase
from store.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from store.passwords import check_new_password, hash_password, needs_rehash, verify_password
from store.records import Annotator
from store.validation import ROLES, check_choice, check_name


def as_record(row: m.Annotator) -> Annotator:
    return Annotator(
        id=row.id,
        name=row.name,
        role=row.role,
        active=row.active,
        has_password=row.password_hash is not None,
        created_at=row.created_at,
    )


def find_annotator(session: Session, name: str) -> m.Annotator:
    row = session.scalar(select(m.Annotator).where(m.Annotator.name == name))
    if row is None:
        raise NotFound(f"no annotator named {name!r}; add one with `nudge user add {name}`")
    return row


_ACCOUNT = select(m.Annotator.id, m.Annotator.active).where(m.Annotator.name == bindparam("name"))


def active_annotator_id(session: Session, name: str) -> int:
    """The id of an active account (checked on every submit)."""
    row = session.connection().execute(_ACCOUNT, {"name": name}).one_or_none()
    if row is None:
        raise NotFound(f"no annotator named {name!r}; add one with `nudge user add {name}`")
    if not row.active:
        raise PermissionDenied(f"annotator {name!r} is disabled; an admin can re-enable the account")
    return row.id


class Annotators(StoreBase):
    def add_annotator(self, name: str, role: str = "annotator", password: str | None = None) -> Annotator:
        """Create an account. Without a password it exists for attribution but cannot log in."""
        check_name(name)
        check_choice(role, "role", ROLES)
        password_hash = hash_password(check_new_password(password, name)) if password is not None else None
        with self._write() as session:
            if session.scalar(select(m.Annotator.id).where(m.Annotator.name == name)) is not None:
                raise AlreadyExists(f"annotator {name!r} already exists; pick another name")
            row = m.Annotator(name=name, role=role, password_hash=password_hash, active=True)
            session.add(row)
            session.flush()
            return as_record(row)

    def annotator(self, name: str) -> Annotator:
        """One account by name; NotFound if there is none."""
        with self._read() as session:
            return as_record(find_annotator(session, name))

    def list_annotators(self) -> list[Annotator]:
        """Every account, by name."""
        with self._read() as session:
            return [as_record(r) for r in session.scalars(select(m.Annotator).order_by(m.Annotator.name))]

    def set_password(self, name: str, password: str) -> None:
        """Set or replace an annotator's password; InvalidInput says why a weak one is refused."""
        password_hash = hash_password(check_new_password(password, name))
        with self._write() as session:
            find_annotator(session, name).password_hash = password_hash

    def disable_annotator(self, name: str) -> Annotator:
        """Stop an account from logging in and judging; its judgments stay. The last admin stays."""
        with self._write() as session:
            row = find_annotator(session, name)
            if row.role == "admin" and row.active:
                admins = session.scalar(
                    select(func.count()).where(m.Annotator.role == "admin", m.Annotator.active.is_(True))
                )
                if admins == 1:
                    raise InvalidInput(f"{name!r} is the last active admin; add another admin first")
            row.active = False
            return as_record(row)

    def enable_annotator(self, name: str) -> Annotator:
        """Let a disabled account log in and judge again."""
        with self._write() as session:
            row = find_annotator(session, name)
            row.active = True
            return as_record(row)

    def verify_password(self, name: str, password: str) -> bool:
        """True when `name` is an active account and `password` is its password (constant time).

        A match against a hash made at an older, lower scrypt cost stores a new hash at today's cost.
        """
        with self._read() as session:
            row = session.scalar(select(m.Annotator).where(m.Annotator.name == name))
        stored = row.password_hash if row is not None and row.active else None
        if not verify_password(password, stored):
            return False
        if stored is not None and needs_rehash(stored):
            self._rehash(name, stored, hash_password(password))
        return True

    def _rehash(self, name: str, old_hash: str, new_hash: str) -> None:
        """Replace `old_hash`, unless the password changed meanwhile (then the new one stays)."""
        with self._write() as session:
            session.execute(
                update(m.Annotator)
                .where(m.Annotator.name == name, m.Annotator.password_hash == old_hash)
                .values(password_hash=new_hash)
            )
