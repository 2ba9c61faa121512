"""Logging in to the app: check a password, record the try, and lock a name after repeated failures.

Every try is a row in `login_attempts`, so a lock holds across app restarts and across
app processes sharing one database. A name is locked for LOCKOUT after MAX_FAILURES
failed tries within LOCKOUT with no success in between; tries while locked are refused
without checking the password and are not recorded, so the lock ends LOCKOUT after
the last counted failure.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from store import models as m
from store.db import StoreBase
from store.passwords import verify_password

MAX_FAILURES = 5  # enough for typos, too few to guess a password
LOCKOUT = timedelta(minutes=15)
MAX_RECORDED_NAME = 255  # a typed name is cut to the column's width before it is stored


class Logins(StoreBase):
    def login_locked_until(self, name: str, *, now: datetime | None = None) -> datetime | None:
        """When the lock on `name` ends, or None when it may try to log in."""
        now = now or m.utcnow()
        name = name[:MAX_RECORDED_NAME]
        with self._read() as session:
            last_success = session.scalar(
                select(func.max(m.LoginAttempt.at)).where(m.LoginAttempt.name == name, m.LoginAttempt.succeeded)
            )
            since = now - LOCKOUT if last_success is None else max(now - LOCKOUT, last_success)
            failures = session.execute(
                select(m.LoginAttempt.at)
                .where(m.LoginAttempt.name == name, m.LoginAttempt.succeeded.is_(False), m.LoginAttempt.at > since)
                .order_by(m.LoginAttempt.at.desc())
                .limit(MAX_FAILURES)
            ).scalars()
            recent = list(failures)
        if len(recent) < MAX_FAILURES:
            return None
        return recent[0] + LOCKOUT

    def failed_logins(self, name: str, *, now: datetime | None = None) -> int:
        """Failed tries for `name` in the last LOCKOUT since its last success (to slow the next one)."""
        now = now or m.utcnow()
        name = name[:MAX_RECORDED_NAME]
        with self._read() as session:
            last_success = session.scalar(
                select(func.max(m.LoginAttempt.at)).where(m.LoginAttempt.name == name, m.LoginAttempt.succeeded)
            )
            since = now - LOCKOUT if last_success is None else max(now - LOCKOUT, last_success)
            return session.execute(
                select(func.count()).where(
                    m.LoginAttempt.name == name, m.LoginAttempt.succeeded.is_(False), m.LoginAttempt.at > since
                )
            ).scalar_one()

    def log_in(self, name: str, password: str, *, now: datetime | None = None) -> bool:
        """True when `name` is an active account, not locked, and `password` is its password.

        The try is recorded (unless the name is locked), so failures can lock the name.
        """
        now = now or m.utcnow()
        if not isinstance(name, str) or self.login_locked_until(name, now=now) is not None:
            return False
        with self._read() as session:
            row = session.scalar(select(m.Annotator).where(m.Annotator.name == name))
        stored = row.password_hash if row is not None and row.active else None
        succeeded = verify_password(password, stored)
        with self._write() as session:
            session.add(m.LoginAttempt(name=name[:MAX_RECORDED_NAME], succeeded=succeeded, at=now))
        return succeeded
