"""Logging in to the app: check a password, record every try, and throttle repeated failures.

The policy follows OWASP's authentication cheat sheet (a lockout threshold, an observation window,
a lockout that grows with each failure and ends by itself, every try logged), scoped so that no one
can use it to keep someone else out:

- Per name from one client address: the NAME_THRESHOLD-th (5th) failure within OBSERVATION_WINDOW
  (24 hours) throttles that name from that address for FIRST_BACKOFF (1 minute) after it, and each
  further failure doubles the throttle (2, 4, 8, 16, 32 minutes), up to MAX_BACKOFF (1 hour). A
  success from that address starts the count again.
- Per client address, whatever names it tries (password spraying): the ADDRESS_THRESHOLD-th (30th)
  failure within the window throttles every name from that address, on the same back-off.
- A throttled try is refused without checking the password, recorded as `throttled`, and not counted
  as a failure, so trying again early does not lengthen a throttle.
- An admin lifts the throttles on a name (`unlock_login`, recorded): its failures before the unlock no
  longer count, from any address, towards either throttle of a try at that name.
- Failures count per (name, address), not per name alone: an attacker who knows the admin's name
  throttles only their own address, and the admin, from theirs, still logs in. (OWASP counts per
  account, against guessing from many addresses; here one address gets about 33 passwords checked in
  its first day at one name, 24 a day after, and about 60 at all names, and every password must pass
  zxcvbn's score 3, so guessing spread over many addresses stays slow.)
- Unknown names are counted and throttled like known ones, so a throttle says nothing about which
  accounts exist.

A try whose client address is not known (None) is counted with that name's other unknown-address
tries, and only the name's throttle applies: the app should pass the client's address. Every try is
a row in `login_attempts`, so throttles hold across app restarts and app processes sharing a database.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store import models as m
from store.annotators import Annotators, find_annotator
from store.errors import InvalidInput
from store.models import MAX_ADDRESS_CHARS, MAX_LOGIN_NAME_CHARS
from store.records import LoginAttempt, LoginResult, LoginThrottle, LoginUnlock
from store.validation import MAX_NAME_CHARS, check_text

NAME_THRESHOLD = 5  # the failure of a name from one address that starts its throttle: room for typos
ADDRESS_THRESHOLD = 30  # the failure from one address, any names, that starts its throttle: a team behind one NAT
OBSERVATION_WINDOW = timedelta(hours=24)  # failures older than this no longer count
FIRST_BACKOFF = timedelta(minutes=1)  # the throttle the threshold failure starts; each further failure doubles it
MAX_BACKOFF = timedelta(hours=1)  # the longest throttle after one failure: nothing locks for good


def backoff(failures: int, threshold: int) -> timedelta | None:
    """How long `failures` counted failures throttle after the last of them; None below `threshold`."""
    if failures < threshold:
        return None
    return min(FIRST_BACKOFF * 2 ** min(failures - threshold, 16), MAX_BACKOFF)


def _latest(*moments: datetime | None) -> datetime:
    return max(moment for moment in moments if moment is not None)


def _failures(session: Session, since: datetime, now: datetime, *where: Any) -> tuple[int, datetime | None]:
    """(how many, the last) failed tries matching `where` after `since`, up to `now`."""
    attempt = m.LoginAttempt
    count, last = session.execute(
        select(func.count(), func.max(attempt.at)).where(
            *where, attempt.outcome == "failed", attempt.at > since, attempt.at <= now
        )
    ).one()
    return count, last


def _throttle(
    scope: str, name: str | None, address: str | None, counted: tuple[int, datetime | None], now: datetime
) -> LoginThrottle | None:
    failures, last = counted
    wait = backoff(failures, NAME_THRESHOLD if scope == "name" else ADDRESS_THRESHOLD)
    if wait is None or last is None or last + wait <= now:
        return None
    return LoginThrottle(name=name, address=address, scope=scope, failures=failures, until=last + wait)


def _unlocked_at(session: Session, name: str, now: datetime) -> datetime | None:
    unlock = m.LoginUnlock
    return session.scalar(select(func.max(unlock.at)).where(unlock.name == name, unlock.at <= now))


def _name_failures(session: Session, name: str, address: str | None, now: datetime) -> tuple[int, datetime | None]:
    """The failures of `name` from `address` that count: in the window, since its last success there and
    since the name's last unlock."""
    attempt = m.LoginAttempt
    pair = (attempt.name == name, attempt.address == address)  # address None compares as IS NULL
    last_success = session.scalar(
        select(func.max(attempt.at)).where(*pair, attempt.outcome == "succeeded", attempt.at <= now)
    )
    since = _latest(now - OBSERVATION_WINDOW, last_success, _unlocked_at(session, name, now))
    return _failures(session, since, now, *pair)


def name_throttle(session: Session, name: str, address: str | None, now: datetime) -> LoginThrottle | None:
    """The throttle on `name` from `address` at `now`, or None."""
    return _throttle("name", name, address, _name_failures(session, name, address, now), now)


def address_throttle(session: Session, address: str, now: datetime, tried: str | None) -> LoginThrottle | None:
    """The throttle on every name from `address` at `now`, or None; for a try at name `tried`, its failures
    before that name's last unlock do not count."""
    unlocked = None if tried is None else _unlocked_at(session, tried, now)
    since = _latest(now - OBSERVATION_WINDOW, unlocked)
    return _throttle("address", None, address, _failures(session, since, now, m.LoginAttempt.address == address), now)


def throttle_for(session: Session, name: str, address: str | None, now: datetime) -> LoginThrottle | None:
    """The throttle in force on a try at `name` from `address` at `now` (the longer one, if both), or None."""
    throttles = [name_throttle(session, name, address, now)]
    if address is not None:
        throttles.append(address_throttle(session, address, now, tried=name))
    return max((t for t in throttles if t is not None), key=lambda t: t.until, default=None)


def _as_typed(name: str, address: str | None) -> tuple[str, str | None]:
    """A typed name and an address as they are recorded: cut to their columns' widths."""
    if not isinstance(name, str):
        raise InvalidInput(f"a login name must be a string, got {type(name).__name__}")
    return name[:MAX_LOGIN_NAME_CHARS], None if address is None else str(address)[:MAX_ADDRESS_CHARS]


class Logins(Annotators):
    def try_login(
        self, name: str, password: str, address: str | None = None, *, now: datetime | None = None
    ) -> LoginResult:
        """Log `name` in from client `address` (None: not known), and record the try.

        Throttled: refused without checking the password. Otherwise `succeeded` when `name` is an
        active account and `password` is its password, else `failed`, with the throttle that this
        failure started, if it did (so the login page can say until when).
        """
        now = now or m.utcnow()
        name, address = _as_typed(name, address)
        throttle = self.login_throttle(name, address, now=now)
        if throttle is not None:
            self._record_try(name, address, "throttled", now)
            return LoginResult("throttled", throttle)
        if self.verify_password(name, password):
            self._record_try(name, address, "succeeded", now)
            return LoginResult("succeeded", None)
        self._record_try(name, address, "failed", now)
        return LoginResult("failed", self.login_throttle(name, address, now=now))

    def log_in(self, name: str, password: str, *, address: str | None = None, now: datetime | None = None) -> bool:
        """True when `try_login` lets `name` in."""
        return self.try_login(name, password, address, now=now).succeeded

    def login_throttle(
        self, name: str, address: str | None = None, *, now: datetime | None = None
    ) -> LoginThrottle | None:
        """Whether a try at `name` from `address` would be refused now, and until when; None when it may try."""
        now = now or m.utcnow()
        name, address = _as_typed(name, address)
        with self._read() as session:
            return throttle_for(session, name, address, now)

    def failed_logins(self, name: str, *, address: str | None = None, now: datetime | None = None) -> int:
        """The failures of `name` from `address` that count towards its throttle (to slow the next try)."""
        now = now or m.utcnow()
        name, address = _as_typed(name, address)
        with self._read() as session:
            failures, _ = _name_failures(session, name, address, now)
            return failures

    def login_throttles(self, *, now: datetime | None = None) -> list[LoginThrottle]:
        """Every throttle in force now: names from an address (scope `name`), then addresses (scope `address`).

        An address's throttle is listed as it holds for names never unlocked; `unlock_login` lifts it for one name.
        """
        now = now or m.utcnow()
        attempt = m.LoginAttempt
        recent = (attempt.outcome == "failed", attempt.at > now - OBSERVATION_WINDOW, attempt.at <= now)
        with self._read() as session:
            pairs = session.execute(
                select(attempt.name, attempt.address)
                .where(*recent)
                .group_by(attempt.name, attempt.address)
                .having(func.count() >= NAME_THRESHOLD)
                .order_by(attempt.name, attempt.address)
            ).all()
            addresses = session.scalars(
                select(attempt.address)
                .where(*recent)
                .group_by(attempt.address)
                .having(func.count() >= ADDRESS_THRESHOLD)
                .order_by(attempt.address)
            ).all()
            found = [name_throttle(session, name, address, now) for name, address in pairs]
            found += [address_throttle(session, a, now, tried=None) for a in addresses if a is not None]
        return [t for t in found if t is not None]

    def unlock_login(self, name: str, *, by: str, now: datetime | None = None) -> LoginUnlock:
        """Lift the throttles on account `name`, from every address; `by` names who did it (recorded).

        Its failed tries before now no longer count; a new run of failures throttles it again.
        """
        check_text(by, "who unlocks the account", max_chars=MAX_NAME_CHARS)
        now = now or m.utcnow()
        with self._write() as session:
            find_annotator(session, name)
            session.add(m.LoginUnlock(name=name, unlocked_by=by, at=now))
        return LoginUnlock(name=name, unlocked_by=by, at=now)

    def login_attempts(
        self, *, name: str | None = None, address: str | None = None, limit: int = 100
    ) -> list[LoginAttempt]:
        """The newest `limit` tries at logging in (at `name`, from `address`, when given), newest first."""
        attempt = m.LoginAttempt
        query = select(attempt).order_by(attempt.at.desc(), attempt.id.desc()).limit(limit)
        if name is not None:
            query = query.where(attempt.name == name)
        if address is not None:
            query = query.where(attempt.address == address)
        with self._read() as session:
            return [
                LoginAttempt(name=r.name, address=r.address, outcome=r.outcome, at=r.at) for r in session.scalars(query)
            ]

    def login_unlocks(self, name: str | None = None) -> list[LoginUnlock]:
        """Every unlock (of `name`, when given), newest first."""
        unlock = m.LoginUnlock
        query = select(unlock).order_by(unlock.at.desc(), unlock.id.desc())
        if name is not None:
            query = query.where(unlock.name == name)
        with self._read() as session:
            return [LoginUnlock(name=r.name, unlocked_by=r.unlocked_by, at=r.at) for r in session.scalars(query)]

    def _record_try(self, name: str, address: str | None, outcome: str, now: datetime) -> None:
        with self._write() as session:
            session.add(m.LoginAttempt(name=name, address=address, outcome=outcome, at=now))
