"""argon2id password hashes, computed off the event loop."""
from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import ApiError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the account does not exist, so that timing does not reveal which emails do.
_DUMMY_HASH = _hasher.hash("no account has this password")

MIN_LENGTH = 10
MAX_LENGTH = 200


def check_strength(password: str, email: str) -> None:
    """Refuse passwords that are too short or merely the email address."""
    if len(password) < MIN_LENGTH:
        raise ApiError(422, "weak_password",
                       f"Use at least {MIN_LENGTH} characters.", field="password")
    if len(password) > MAX_LENGTH:
        raise ApiError(422, "too_long", f"Use at most {MAX_LENGTH} characters.", field="password")
    if password.strip().lower() in {email.lower(), email.split("@")[0].lower()}:
        raise ApiError(422, "weak_password",
                       "The password must not be your email address.", field="password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    return await asyncio.to_thread(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
