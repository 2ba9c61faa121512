"""Accounts and passwords: strength rules, scrypt hashes and their upgrade, disabled accounts, the last admin."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from store import AlreadyExists, InvalidInput, NotFound, Store
from store.passwords import SCRYPT_N_ENV, hash_password, verify_password
from tests.conftest import TEST_SCRYPT_N

STRONG = "violet kettle orbit"  # zxcvbn score 4
OTHER_STRONG = "maple thunder quarry"


def test_passwords_are_salted_scrypt_hashes_never_the_password() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith(f"scrypt${TEST_SCRYPT_N}$8$1$")
    assert first != second  # a fresh salt each time
    assert "correct horse" not in first
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horsf", first)
    assert not verify_password("correct horse", "md5$whatever")  # a malformed hash matches nothing
    assert not verify_password("correct horse", None)


def test_the_default_cost_is_n_2_17_r_8_p_1_and_is_written_into_the_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCRYPT_N_ENV)
    stored = hash_password(STRONG)
    assert stored.startswith("scrypt$131072$8$1$")
    assert verify_password(STRONG, stored) and not verify_password(OTHER_STRONG, stored)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short", "8 to 1024 characters"),
        (" " * 8, "only spaces"),
        ("\t \n \t \n ", "only spaces"),
        ("alice", "8 to 1024 characters"),
        ("xx-ALICE-violet-kettle", "contains the account name 'alice'"),
        ("password", "too easy to guess (This is a top-10 common password"),
        ("qwertyuiop", "too easy to guess"),
        ("s3cret-pass", "too easy to guess"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(store: Store, password: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=f"^[^\n]*{re.escape(why)}[^\n]*$"):
        store.add_annotator("alice", password=password)
    store.add_annotator("bob")
    with pytest.raises(InvalidInput, match=re.escape(why.replace("alice", "bob"))):
        store.set_password("bob", password.replace("ALICE", "BOB"))
    assert [a.name for a in store.list_annotators()] == ["bob"] and not store.annotator("bob").has_password


def test_a_hash_at_the_old_cost_verifies_and_is_upgraded_at_login(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCRYPT_N_ENV, str(TEST_SCRYPT_N // 2))  # the "old" parameters, as nudge 0.1 stored them
    store.add_annotator("alice", password=STRONG)
    old = stored_hash(store, "alice")
    assert old.startswith(f"scrypt${TEST_SCRYPT_N // 2}$8$1$")
    monkeypatch.setenv(SCRYPT_N_ENV, str(TEST_SCRYPT_N))  # today's cost is higher
    assert not store.verify_password("alice", OTHER_STRONG)
    assert stored_hash(store, "alice") == old  # a wrong password changes nothing
    assert store.verify_password("alice", STRONG)
    upgraded = stored_hash(store, "alice")
    assert upgraded.startswith(f"scrypt${TEST_SCRYPT_N}$8$1$") and upgraded != old
    assert store.verify_password("alice", STRONG) and stored_hash(store, "alice") == upgraded  # once only


def stored_hash(store: Store, name: str) -> str:
    with store.engine.connect() as connection:
        query = sa.text("SELECT password_hash FROM annotators WHERE name = :name")
        return connection.execute(query, {"name": name}).scalar_one()


def test_add_list_and_verify(store: Store) -> None:
    admin = store.add_annotator("root", role="admin", password=STRONG)
    store.add_annotator("alice", password=OTHER_STRONG)
    store.add_annotator("bob")  # no password: attribution only
    assert admin.role == "admin" and admin.active and admin.has_password
    assert [(a.name, a.role, a.has_password) for a in store.list_annotators()] == [
        ("alice", "annotator", True),
        ("bob", "annotator", False),
        ("root", "admin", True),
    ]
    assert store.verify_password("alice", OTHER_STRONG)
    assert not store.verify_password("alice", STRONG)
    assert not store.verify_password("bob", "anything-at-all")
    assert not store.verify_password("nobody", OTHER_STRONG)
    with store.engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT password_hash FROM annotators WHERE name = 'alice'")).scalar()
    assert stored.startswith("scrypt$") and OTHER_STRONG not in stored


def test_duplicate_names_and_bad_values_are_refused(store: Store) -> None:
    store.add_annotator("alice")
    with pytest.raises(AlreadyExists, match="'alice' already exists"):
        store.add_annotator("alice")
    with pytest.raises(InvalidInput, match="role 'root'"):
        store.add_annotator("carol", role="root")
    with pytest.raises(InvalidInput, match="annotator name"):
        store.add_annotator("no spaces please")
    assert [a.name for a in store.list_annotators()] == ["alice"]


def test_disabled_accounts_cannot_log_in_and_come_back_enabled(store: Store) -> None:
    store.add_annotator("root", role="admin", password=STRONG)
    store.add_annotator("alice", password=OTHER_STRONG)
    assert not store.disable_annotator("alice").active
    assert not store.verify_password("alice", OTHER_STRONG)
    store.enable_annotator("alice")
    assert store.verify_password("alice", OTHER_STRONG)


def test_the_last_active_admin_cannot_be_disabled(store: Store) -> None:
    store.add_annotator("root", role="admin", password=STRONG)
    with pytest.raises(InvalidInput, match="last active admin"):
        store.disable_annotator("root")
    store.add_annotator("second", role="admin", password=STRONG)
    store.disable_annotator("root")
    assert not store.annotator("root").active


def test_set_password_and_unknown_names(store: Store) -> None:
    store.add_annotator("bob")
    store.set_password("bob", "plum harbor lantern")
    assert store.verify_password("bob", "plum harbor lantern")
    with pytest.raises(NotFound, match="no annotator named 'carol'"):
        store.set_password("carol", "plum harbor lantern")
    with pytest.raises(NotFound):
        store.annotator("carol")
