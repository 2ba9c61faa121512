"""Accounts and passwords: scrypt hashes, constant-time checks, disabled accounts, the last admin."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from store import AlreadyExists, InvalidInput, NotFound, Store
from store.passwords import SCRYPT_N, hash_password, verify_password


def test_passwords_are_salted_scrypt_hashes_never_the_password() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith(f"scrypt${SCRYPT_N}$8$1$")
    assert first != second  # a fresh salt each time
    assert "correct horse" not in first
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horsf", first)
    assert not verify_password("correct horse", "md5$whatever")  # a malformed hash matches nothing
    assert not verify_password("correct horse", None)


def test_short_passwords_are_refused() -> None:
    with pytest.raises(InvalidInput, match="8 to 1024 characters"):
        hash_password("short")


def test_add_list_and_verify(store: Store) -> None:
    admin = store.add_annotator("root", role="admin", password="password-1")
    store.add_annotator("alice", password="password-2")
    store.add_annotator("bob")  # no password: attribution only
    assert admin.role == "admin" and admin.active and admin.has_password
    assert [(a.name, a.role, a.has_password) for a in store.list_annotators()] == [
        ("alice", "annotator", True),
        ("bob", "annotator", False),
        ("root", "admin", True),
    ]
    assert store.verify_password("alice", "password-2")
    assert not store.verify_password("alice", "password-1")
    assert not store.verify_password("bob", "anything-at-all")
    assert not store.verify_password("nobody", "password-2")
    with store.engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT password_hash FROM annotators WHERE name = 'alice'")).scalar()
    assert stored.startswith("scrypt$") and "password-2" not in stored


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
    store.add_annotator("root", role="admin", password="password-1")
    store.add_annotator("alice", password="password-2")
    assert not store.disable_annotator("alice").active
    assert not store.verify_password("alice", "password-2")
    store.enable_annotator("alice")
    assert store.verify_password("alice", "password-2")


def test_the_last_active_admin_cannot_be_disabled(store: Store) -> None:
    store.add_annotator("root", role="admin", password="password-1")
    with pytest.raises(InvalidInput, match="last active admin"):
        store.disable_annotator("root")
    store.add_annotator("second", role="admin", password="password-1")
    store.disable_annotator("root")
    assert not store.annotator("root").active


def test_set_password_and_unknown_names(store: Store) -> None:
    store.add_annotator("bob")
    store.set_password("bob", "a new password")
    assert store.verify_password("bob", "a new password")
    with pytest.raises(NotFound, match="no annotator named 'carol'"):
        store.set_password("carol", "a new password")
    with pytest.raises(NotFound):
        store.annotator("carol")
