"""Passwords: the rules a new one must meet, scrypt hashing, and constant-time checks.

A hash reads `scrypt$<n>$<r>$<p>$<salt b64>$<key b64>`: it carries its own cost, so
the cost can be raised without breaking stored hashes, and a hash made at an older,
lower cost is replaced on the next successful login (see `needs_rehash`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from store.errors import InvalidInput
from store.validation import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS

SALT_BYTES = 16
KEY_BYTES = 32
MIN_GUESS_SCORE = 3  # zxcvbn's 0-4 scale; 3 is "safely unguessable: moderate protection from offline attacks"
ZXCVBN_MAX_CHARS = 72  # zxcvbn's own cap; its matching grows steeply with length (minutes at 1,000)
SCRYPT_N_ENV = "NUDGE_SCRYPT_N"  # tests only: a lower cost keeps a suite that makes many accounts fast


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's parameters; memory per hash is 128 * n * r bytes."""

    n: int
    r: int
    p: int

    @property
    def maxmem(self) -> int:
        """hashlib refuses more than 32 MiB by default; allow the 128 * n * r bytes this cost needs, and slack."""
        return 2 * 128 * self.n * self.r

    def weaker_than(self, other: ScryptCost) -> bool:
        return self.n * self.r < other.n * other.r or self.p < other.p


# OWASP's current guidance: 128 MiB of memory per hash; about 0.5 s on one core of a laptop.
SCRYPT_COST = ScryptCost(n=2**17, r=8, p=1)


def current_cost() -> ScryptCost:
    """SCRYPT_COST, or a test suite's lower n from $NUDGE_SCRYPT_N (a power of two)."""
    override = os.environ.get(SCRYPT_N_ENV)
    if not override:
        return SCRYPT_COST
    if not override.isdigit() or int(override) < 2 or int(override) & (int(override) - 1):
        raise InvalidInput(f"{SCRYPT_N_ENV}={override!r} must be a power of two; unset it to use 2**17")
    return ScryptCost(n=int(override), r=SCRYPT_COST.r, p=SCRYPT_COST.p)


def _scrypt(password: str, salt: bytes, cost: ScryptCost) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=cost.n, r=cost.r, p=cost.p, maxmem=cost.maxmem, dklen=KEY_BYTES
    )


def check_new_password(password: object, name: str) -> str:
    """`password` if it may be set for account `name`, else InvalidInput saying in one line why not.

    Refused: outside the length limits, only whitespace, the account name inside it (any
    case), or easy to guess by zxcvbn's estimate (common passwords, words, dates, keyboard
    runs, repeats; only its first 72 characters are scored).
    """
    if not isinstance(password, str) or not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InvalidInput(
            f"a password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters; choose a longer one"
        )
    if not password.strip():
        raise InvalidInput("a password of only spaces is refused; choose one with words or other characters")
    if name.casefold() in password.casefold():
        raise InvalidInput(f"the password contains the account name {name!r}; choose one without it")
    import zxcvbn  # 60 ms of word lists, needed only when a password is set

    estimate = zxcvbn.zxcvbn(password[:ZXCVBN_MAX_CHARS], user_inputs=[name])
    if estimate["score"] < MIN_GUESS_SCORE:
        feedback = estimate["feedback"]
        reasons = " ".join(filter(None, [feedback["warning"], *feedback["suggestions"]]))
        raise InvalidInput(f"the password is too easy to guess ({reasons or 'a common pattern'}); choose another")
    return password


def hash_password(password: str) -> str:
    """A salted scrypt hash of `password` at the current cost, safe to store."""
    cost = current_cost()
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, cost)
    b64 = base64.b64encode
    return f"scrypt${cost.n}${cost.r}${cost.p}${b64(salt).decode()}${b64(key).decode()}"


@functools.cache
def _dummy_hash() -> str:
    """Checked against when there is no hash, so a wrong name costs as much as a wrong password."""
    return hash_password("not-a-real-password")


def verify_password(password: str, stored: str | None) -> bool:
    """True when `password` matches `stored`; the comparison takes constant time."""
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_CHARS:
        return False
    if stored is None:
        _check(password, _dummy_hash())
        return False
    return _check(password, stored)


def _parse(stored: str) -> tuple[ScryptCost, bytes, bytes]:
    """(cost, salt, key) of a stored hash; ValueError when it is not one of ours."""
    scheme, n, r, p, salt, key = stored.split("$")
    if scheme != "scrypt":
        raise ValueError(f"unknown hash scheme {scheme!r}")
    return ScryptCost(int(n), int(r), int(p)), base64.b64decode(salt), base64.b64decode(key)


def _check(password: str, stored: str) -> bool:
    try:
        cost, salt, expected = _parse(stored)
        actual = _scrypt(password, salt, cost)
    except ValueError:
        return False  # a malformed stored hash matches nothing
    return hmac.compare_digest(actual, expected)


def needs_rehash(stored: str) -> bool:
    """True when `stored` was made at a lower cost than the current one (rehash it at the next login)."""
    try:
        cost, _, _ = _parse(stored)
    except ValueError:
        return False
    return cost.weaker_than(current_cost())
