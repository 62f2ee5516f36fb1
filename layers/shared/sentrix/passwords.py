"""Password hashing (argon2id) and the password policy: length, not the email, not a very common password."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sentrix.errors import ValidationFailed

MIN_LENGTH = 8
MAX_LENGTH = 256  # argon2 takes any length; a cap stops megabyte "passwords" from burning CPU

# OWASP's argon2id profile (19 MiB, 2 passes, 1 lane): ~40 ms on one Lambda vCPU share, where the library's
# default (64 MiB, 3 passes, 4 lanes) costs several times more without more lanes to spread over.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)

# The most common passwords of public breach corpora that are at least 8 characters long (compared casefolded).
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password12",
        "password123",
        "password!",
        "passw0rd",
        "p@ssw0rd",
        "12345678",
        "123456789",
        "1234567890",
        "0123456789",
        "87654321",
        "11111111",
        "00000000",
        "12341234",
        "123123123",
        "qwertyuiop",
        "qwerty123",
        "qwerty12",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "1qaz2wsx",
        "zaq12wsx",
        "asdfghjkl",
        "asdfasdf",
        "iloveyou",
        "iloveyou1",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "superman",
        "starwars",
        "welcome1",
        "welcome123",
        "trustno1",
        "letmein1",
        "abc12345",
        "abcd1234",
        "abcdefgh",
        "aa123456",
        "changeme",
        "computer",
        "internet",
        "whatever",
        "dragon123",
        "michael1",
        "jennifer",
        "charlie1",
        "shadow12",
        "master123",
        "monkey123",
        "admin123",
        "administrator",
        "contraseña",
        "contrasena",
        "contraseña1",
        "contrasena1",
        "senha123",
        "sentrix123",
        "dengue123",
    }
)


def check_policy(password: str, *, email: str | None = None) -> None:
    """Raise ValidationFailed unless the password may be used (length, not the email, not common)."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(f"Password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(f"Password must be at most {MAX_LENGTH} characters long")
    folded = password.strip().casefold()
    if email and folded in {email.strip().casefold(), email.split("@", 1)[0].strip().casefold()}:
        raise ValidationFailed("Password must not be your email address")
    if folded in COMMON_PASSWORDS:
        raise ValidationFailed("This password is too common; choose another one")


def hash_password(password: str) -> str:
    """An argon2id hash (salt and parameters embedded)."""
    return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password-only-for-timing")


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if `password` matches; with no hash, burns the same time on a dummy so timing tells nothing."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the stored hash used weaker parameters than today's (rehash after a successful login)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
