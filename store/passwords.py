"""Password hashing with scrypt (memory-hard, in the standard library) and constant-time checks.

A hash reads `scrypt$<n>$<r>$<p>$<salt b64>$<key b64>`, so the cost can be raised
later without breaking stored hashes.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

from store.errors import InvalidInput
from store.validation import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS

SCRYPT_N = 2**14  # 16 MiB of memory per hash (128 * n * r bytes); about 50 ms on one core
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r, dklen=KEY_BYTES)


def check_password_strength(password: object) -> str:
    """`password` if it is long enough to hash, else InvalidInput saying the rule."""
    if not isinstance(password, str) or not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InvalidInput(
            f"a password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters; choose a longer one"
        )
    return password


def hash_password(password: str) -> str:
    """A salted scrypt hash of `password`, safe to store."""
    check_password_strength(password)
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(key).decode()}"


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


def _check(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False  # a malformed stored hash matches nothing
    return hmac.compare_digest(actual, expected)
