"""The rules for who may sign up: email shape, username grammar, password length."""

from __future__ import annotations

import re

from pixvault.domain.errors import InvalidInput

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_USERNAME = re.compile(r"[a-z0-9_.-]{3,30}")
_DOUBLE_SPECIAL = re.compile(r"[_.-]{2}")
MIN_PASSWORD = 6
MAX_PASSWORD = 4096


def normalise_email(email: object) -> str:
    if not isinstance(email, str) or len(email) > 254 or not _EMAIL.fullmatch(email.strip()):
        raise InvalidInput("Enter a valid email address, like name@example.com", param="email")
    return email.strip().lower()


def validate_username(username: object, email: str) -> str:
    if not isinstance(username, str) or not _USERNAME.fullmatch(username):
        raise InvalidInput(
            "A username is 3-30 lowercase letters, digits, '_', '.' or '-'", param="username"
        )
    if _DOUBLE_SPECIAL.search(username):
        raise InvalidInput(
            "A username may not have two of '_', '.' or '-' in a row", param="username"
        )
    if username == "anonymous" or username == email:
        raise InvalidInput(f"The username {username!r} is not allowed", param="username")
    return username


def validate_password(password: object) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"A password is {MIN_PASSWORD} to {MAX_PASSWORD} characters long", param="password"
        )
    return password


def username_from_email(email: str) -> str:
    """A username for a user created without one (command line): the email's local part,
    reduced to the username grammar."""
    local = re.sub(r"[^a-z0-9_.-]", "-", email.split("@", 1)[0].lower())
    local = _DOUBLE_SPECIAL.sub("-", local).strip("_.-")
    return (local + "-user")[:30] if len(local) < 3 else local[:30]
