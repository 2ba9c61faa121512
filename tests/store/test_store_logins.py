"""Login throttling on both backends: per name from an address, per address, recorded tries, unlocks.

The clock is injected (`now=`), so back-offs of minutes and hours are tested without sleeping.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from store import InvalidInput, NotFound, Store, migrate
from store.db import create_engine
from store.logins import ADDRESS_THRESHOLD, FIRST_BACKOFF, MAX_BACKOFF, NAME_THRESHOLD, OBSERVATION_WINDOW
from store.models import utcnow

PASSWORDS = {"root": "violet kettle orbit", "alice": "maple thunder quarry"}
ATTACKER = "203.0.113.9"  # documentation addresses (RFC 5737)
ADMIN_DESK = "198.51.100.7"
ALICE_DESK = "192.0.2.44"


@pytest.fixture
def accounts(store: Store) -> Store:
    store.add_annotator("root", role="admin", password=PASSWORDS["root"])
    store.add_annotator("alice", password=PASSWORDS["alice"])
    return store


def fail(store: Store, name: str, address: str | None, at: datetime, times: int = 1) -> datetime:
    """`times` wrong passwords a second apart from `at`; returns the moment of the last."""
    for i in range(times):
        assert store.try_login(name, f"wrong guess {i}", address, now=at + timedelta(seconds=i)).outcome == "failed"
    return at + timedelta(seconds=times - 1)


def test_the_fifth_failure_throttles_the_name_from_that_address_and_says_until_when(accounts: Store) -> None:
    start = utcnow()
    last = fail(accounts, "alice", ALICE_DESK, start, NAME_THRESHOLD - 1)
    assert accounts.login_throttle("alice", ALICE_DESK, now=last) is None, "four typos cost nothing"
    result = accounts.try_login("alice", "one more wrong guess", ALICE_DESK, now=last + timedelta(seconds=1))
    assert result.outcome == "failed" and result.throttle is not None
    fifth = last + timedelta(seconds=1)
    assert (result.throttle.scope, result.throttle.name, result.throttle.address) == ("name", "alice", ALICE_DESK)
    assert (result.throttle.failures, result.throttle.until) == (NAME_THRESHOLD, fifth + FIRST_BACKOFF)
    assert accounts.login_throttle("alice", ALICE_DESK, now=fifth + timedelta(seconds=30)) == result.throttle

    early = accounts.try_login("alice", PASSWORDS["alice"], ALICE_DESK, now=fifth + timedelta(seconds=30))
    assert (early.outcome, early.succeeded, early.throttle) == ("throttled", False, result.throttle)
    assert accounts.log_in("alice", PASSWORDS["alice"], address=ALICE_DESK, now=fifth + FIRST_BACKOFF)


def test_every_try_is_recorded_with_name_address_and_outcome_also_while_throttled(accounts: Store) -> None:
    start = utcnow()
    last = fail(accounts, "alice", ALICE_DESK, start, NAME_THRESHOLD)
    accounts.try_login("alice", PASSWORDS["alice"], ALICE_DESK, now=last + timedelta(seconds=10))
    accounts.try_login("nobody-" + "x" * 300, "a guess", ATTACKER, now=last + timedelta(seconds=11))
    accounts.try_login("alice", PASSWORDS["alice"], ALICE_DESK, now=last + FIRST_BACKOFF)
    tries = accounts.login_attempts(name="alice")
    assert [t.outcome for t in tries] == ["succeeded", "throttled"] + ["failed"] * NAME_THRESHOLD  # newest first
    assert {t.address for t in tries} == {ALICE_DESK} and tries[0].at == last + FIRST_BACKOFF
    unknown = accounts.login_attempts(address=ATTACKER)
    assert [(len(t.name), t.outcome) for t in unknown] == [(255, "failed")], "names as typed, cut to 255"
    assert len(accounts.login_attempts()) == NAME_THRESHOLD + 3
    assert len(accounts.login_attempts(limit=2)) == 2


def test_the_throttle_doubles_with_each_further_failure_up_to_an_hour_and_never_locks_for_good(
    accounts: Store,
) -> None:
    now = fail(accounts, "alice", ALICE_DESK, utcnow(), NAME_THRESHOLD)
    waits = []
    for _ in range(8):
        throttle = accounts.login_throttle("alice", ALICE_DESK, now=now)
        assert throttle is not None
        waits.append(throttle.until - now)
        now = throttle.until  # the first moment a try is let through: it fails again
        assert accounts.try_login("alice", "still guessing", ALICE_DESK, now=now).outcome == "failed"
    assert [w // timedelta(minutes=1) for w in waits] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert max(waits) == MAX_BACKOFF
    assert accounts.log_in("alice", PASSWORDS["alice"], address=ALICE_DESK, now=now + MAX_BACKOFF)


def test_tries_while_throttled_do_not_lengthen_it_and_a_success_starts_the_count_again(accounts: Store) -> None:
    last = fail(accounts, "alice", ALICE_DESK, utcnow(), NAME_THRESHOLD)
    for seconds in range(5, 60, 5):
        assert accounts.try_login("alice", "guess", ALICE_DESK, now=last + timedelta(seconds=seconds)).outcome == (
            "throttled"
        )
    assert accounts.login_throttle("alice", ALICE_DESK, now=last).until == last + FIRST_BACKOFF
    back = last + FIRST_BACKOFF
    assert accounts.log_in("alice", PASSWORDS["alice"], address=ALICE_DESK, now=back)
    assert accounts.failed_logins("alice", address=ALICE_DESK, now=back) == 0
    again = fail(accounts, "alice", ALICE_DESK, back + timedelta(seconds=1), NAME_THRESHOLD - 1)
    assert accounts.login_throttle("alice", ALICE_DESK, now=again) is None


def test_failures_older_than_the_observation_window_no_longer_count(accounts: Store) -> None:
    start = utcnow()
    fail(accounts, "alice", ALICE_DESK, start, NAME_THRESHOLD - 1)
    later = start + OBSERVATION_WINDOW + timedelta(minutes=1)
    assert accounts.failed_logins("alice", address=ALICE_DESK, now=later) == 0
    result = accounts.try_login("alice", "a new typo", ALICE_DESK, now=later)
    assert result.outcome == "failed" and result.throttle is None


def test_an_admin_unlock_lifts_the_throttle_from_every_address_and_is_recorded(accounts: Store) -> None:
    start = utcnow()
    fail(accounts, "alice", ALICE_DESK, start, NAME_THRESHOLD)
    last = fail(accounts, "alice", ATTACKER, start, NAME_THRESHOLD)
    unlocked_at = last + timedelta(seconds=5)
    assert accounts.login_throttle("alice", ALICE_DESK, now=unlocked_at) is not None
    unlock = accounts.unlock_login("alice", by="root", now=unlocked_at)
    assert (unlock.name, unlock.unlocked_by, unlock.at) == ("alice", "root", unlocked_at)
    assert accounts.login_throttle("alice", ALICE_DESK, now=unlocked_at) is None
    assert accounts.login_throttle("alice", ATTACKER, now=unlocked_at) is None
    assert accounts.login_unlocks("alice") == [unlock] and accounts.login_unlocks() == [unlock]
    assert accounts.log_in("alice", PASSWORDS["alice"], address=ALICE_DESK, now=unlocked_at + timedelta(seconds=1))
    relocked = fail(accounts, "alice", ATTACKER, unlocked_at + timedelta(seconds=2), NAME_THRESHOLD)
    assert accounts.login_throttle("alice", ATTACKER, now=relocked) is not None, "new failures throttle again"
    with pytest.raises(NotFound, match="no annotator named 'carol'"):
        accounts.unlock_login("carol", by="root")
    with pytest.raises(InvalidInput, match="who unlocks"):
        accounts.unlock_login("alice", by="")
    assert accounts.login_unlocks() == [unlock]


def test_an_attacker_hammering_the_admin_name_does_not_keep_the_admin_out(accounts: Store) -> None:
    start = utcnow()
    for minute in range(0, 24 * 60, 5):  # a day of guessing, a try every five minutes
        now = start + timedelta(minutes=minute)
        assert not accounts.try_login("root", "a guess", ATTACKER, now=now).succeeded
        if minute % 60 == 0:
            assert accounts.log_in("root", PASSWORDS["root"], address=ADMIN_DESK, now=now), "the admin still logs in"
    outcomes = [t.outcome for t in accounts.login_attempts(address=ATTACKER, limit=1000)]
    assert len(outcomes) == 24 * 12, "every try is recorded, the throttled ones too"
    assert outcomes.count("failed") < 40, "about 33 passwords checked in a day, the rest refused unchecked"
    assert accounts.login_throttle("root", ATTACKER, now=now) is not None
    assert accounts.login_throttle("root", ADMIN_DESK, now=now) is None


def test_an_address_spraying_many_names_is_throttled_for_every_name_but_others_are_not(accounts: Store) -> None:
    start = utcnow()
    for i in range(ADDRESS_THRESHOLD):
        assert accounts.try_login(f"user{i}", "Password1!", ATTACKER, now=start + timedelta(seconds=i)).outcome == (
            "failed"
        )
    then = start + timedelta(seconds=ADDRESS_THRESHOLD)
    throttle = accounts.login_throttle("alice", ATTACKER, now=then)
    assert throttle is not None and (throttle.scope, throttle.name, throttle.address) == ("address", None, ATTACKER)
    assert throttle.until == start + timedelta(seconds=ADDRESS_THRESHOLD - 1) + FIRST_BACKOFF
    assert accounts.try_login("alice", PASSWORDS["alice"], ATTACKER, now=then).outcome == "throttled"
    assert accounts.log_in("alice", PASSWORDS["alice"], address=ALICE_DESK, now=then)
    accounts.unlock_login("alice", by="root", now=then)
    assert accounts.log_in("alice", PASSWORDS["alice"], address=ATTACKER, now=then + timedelta(seconds=1)), (
        "an unlock lifts the address's throttle for that name"
    )
    assert accounts.login_throttle("root", ATTACKER, now=then + timedelta(seconds=1)) is not None


def test_unknown_names_are_throttled_like_known_ones(accounts: Store) -> None:
    start = utcnow()
    known = fail(accounts, "alice", ATTACKER, start, NAME_THRESHOLD)
    unknown = fail(accounts, "mallory", ATTACKER, start, NAME_THRESHOLD)
    assert accounts.login_throttle("alice", ATTACKER, now=known).until == accounts.login_throttle(
        "mallory", ATTACKER, now=unknown
    ).until


def test_login_throttles_lists_every_throttle_in_force(accounts: Store) -> None:
    start = utcnow()
    fail(accounts, "alice", ALICE_DESK, start, NAME_THRESHOLD)
    fail(accounts, "mallory", ATTACKER, start, NAME_THRESHOLD)
    for i in range(ADDRESS_THRESHOLD - NAME_THRESHOLD):
        fail(accounts, f"user{i}", ATTACKER, start + timedelta(seconds=NAME_THRESHOLD + i))
    now = start + timedelta(seconds=ADDRESS_THRESHOLD)
    listed = {(t.scope, t.name, t.address) for t in accounts.login_throttles(now=now)}
    assert listed == {("name", "alice", ALICE_DESK), ("name", "mallory", ATTACKER), ("address", None, ATTACKER)}
    assert accounts.login_throttles(now=now + MAX_BACKOFF) == [], "every throttle ends by itself"


def test_a_try_without_an_address_is_throttled_by_name_only(accounts: Store) -> None:
    last = fail(accounts, "alice", None, utcnow(), NAME_THRESHOLD)
    throttle = accounts.login_throttle("alice", now=last)
    assert throttle is not None and (throttle.scope, throttle.address) == ("name", None)
    assert accounts.login_throttle("alice", ALICE_DESK, now=last) is None
    assert [t.address for t in accounts.login_attempts(name="alice")] == [None] * NAME_THRESHOLD


def test_a_login_name_must_be_text(accounts: Store) -> None:
    with pytest.raises(InvalidInput, match="login name must be a string, got int"):
        accounts.try_login(42, "a guess", ATTACKER)  # type: ignore[arg-type]
    assert accounts.login_attempts() == []


def test_migration_0005_keeps_earlier_tries_as_failed_or_succeeded_and_steps_back(empty_url: str) -> None:
    engine = create_engine(empty_url)
    migrate.upgrade(engine, "0004")
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO login_attempts (name, succeeded, at) VALUES (:name, :ok, CURRENT_TIMESTAMP)"),
            [{"name": "alice", "ok": True}, {"name": "alice", "ok": False}],
        )
    migrate.upgrade(engine)
    with Store.open(empty_url) as store:
        assert [(t.outcome, t.address) for t in store.login_attempts()] == [("failed", None), ("succeeded", None)]
        store.try_login("alice", "a guess", ATTACKER)
        store.try_login("bob", "a guess", ATTACKER)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE login_attempts SET outcome = 'throttled' WHERE name = 'bob'"))
    migrate.downgrade(engine, "0004")
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT name, succeeded FROM login_attempts ORDER BY id")).all()
    assert [(name, bool(ok)) for name, ok in rows] == [("alice", True), ("alice", False), ("alice", False)]
    engine.dispose()
