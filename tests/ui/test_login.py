"""Logging in: passwords checked against the store, disabled accounts refused, repeated failures throttle a name."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from gradio_client.exceptions import AppError

from store.logins import FIRST_BACKOFF, NAME_THRESHOLD
from store.models import utcnow
from tests.ui.conftest import LiveApp, UiEnv


def attempts(env: UiEnv, name: str) -> list[str]:
    with env.store.engine.connect() as connection:
        query = sa.text("SELECT outcome FROM login_attempts WHERE name = :n ORDER BY id")
        rows = connection.execute(query, {"n": name})
        return [r[0] for r in rows]


def test_right_password_logs_in_and_wrong_one_does_not(any_backend_env: UiEnv) -> None:
    store = any_backend_env.store
    assert store.log_in("alice", any_backend_env.passwords["alice"])
    assert not store.log_in("alice", "not-her-password")
    assert not store.log_in("nobody", "whatever-password")
    assert attempts(any_backend_env, "alice") == ["succeeded", "failed"]
    assert attempts(any_backend_env, "nobody") == ["failed"]


def test_a_disabled_account_cannot_log_in(any_backend_env: UiEnv) -> None:
    store = any_backend_env.store
    store.disable_annotator("bob")
    assert not store.log_in("bob", any_backend_env.passwords["bob"])
    store.enable_annotator("bob")
    assert store.log_in("bob", any_backend_env.passwords["bob"])


def test_repeated_failures_throttle_the_name_for_a_while_and_tries_meanwhile_are_recorded(
    any_backend_env: UiEnv,
) -> None:
    """Before Step 12 the 5th failure locked the name for 15 minutes from every address, and tries during the
    lock went unrecorded; now it throttles the name from that address for a minute (doubling with each
    further failure), and every try is recorded (store.logins has the policy)."""
    store, right = any_backend_env.store, any_backend_env.passwords["alice"]
    start = utcnow()
    for i in range(NAME_THRESHOLD):
        assert not store.log_in("alice", f"guess-number-{i}", now=start + timedelta(seconds=i))
    throttled_at = start + timedelta(seconds=NAME_THRESHOLD)
    throttle = store.login_throttle("alice", now=throttled_at)
    assert throttle is not None and throttle.until == start + timedelta(seconds=NAME_THRESHOLD - 1) + FIRST_BACKOFF
    assert not store.log_in("alice", right, now=throttled_at), "the right password must wait out the throttle"
    assert attempts(any_backend_env, "alice") == ["failed"] * NAME_THRESHOLD + ["throttled"]
    assert store.log_in("bob", any_backend_env.passwords["bob"], now=throttled_at), "other names are not throttled"
    assert store.log_in("alice", right, now=throttle.until)
    assert store.login_throttle("alice", now=throttle.until) is None


def test_the_server_refuses_a_wrong_password_and_lets_the_right_one_in(live_app: LiveApp) -> None:
    with pytest.raises(ValueError, match="Could not login"):
        live_app.client("alice", "wrong-password-123")
    client = live_app.client("alice")
    assert client.predict(api_name="/label_next")[1].strip()
    assert attempts(live_app.env, "alice") == ["failed", "succeeded"]


def test_an_annotator_calling_an_admin_endpoint_is_refused(live_app: LiveApp) -> None:
    client = live_app.client("alice")
    with pytest.raises(AppError, match="only an admin can do this"):
        client.predict("mallory", "admin", "sable orchid 123", api_name="/team_add")
    with pytest.raises(AppError, match="only an admin can do this"):
        client.predict("bob", "annotator", "", api_name="/team_disable")
    assert [a.name for a in live_app.store.list_annotators()] == ["admin", "alice", "bob"]
    assert live_app.store.annotator("bob").active
    admin = live_app.client("admin")
    admin.predict("carol", "annotator", "amber thistle 123", api_name="/team_add")
    assert live_app.store.annotator("carol").role == "annotator"
