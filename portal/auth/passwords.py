"""Password hashing (argon2id) and the password rules."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 12
MAX_LENGTH = 128
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified for unknown accounts: a wrong e-mail costs as much time as a wrong password.

    Made on first use, not at import: argon2 needs 64 MiB while hashing.
    """
    return _hasher.hash("not a real account password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def password_problem(password: str, email: str = "") -> str | None:
    """What is wrong with a new password, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return str(_l("Lösenordet måste ha minst %(n)d tecken.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        return str(_l("Lösenordet får ha högst %(n)d tecken.", n=MAX_LENGTH))
    lowered = password.lower()
    if lowered in _common_passwords() or (email and email.lower().split("@")[0] in lowered):
        return str(_l("Lösenordet är för vanligt eller lätt att gissa. Välj ett annat."))
    return None
