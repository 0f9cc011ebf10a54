"""API users' roles and tokens, without the web framework (the CLI imports this)."""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

__all__ = ["Role", "hash_token", "new_token"]


class Role(StrEnum):
    SAFETY_OFFICER = "safety_officer"
    OPERATOR = "operator"
    ENGINEER = "engineer"
    VIEWER = "viewer"


def new_token() -> str:
    """A new API token: 32 random bytes, URL-safe base64 (43 characters), never starting
    with ``-``: people paste it after ``--token`` on a command line, where argparse would
    read a leading ``-`` as an option ("expected one argument").  Drawing again when it
    does costs log2(64/63), about 0.02 bits of the 256."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def hash_token(token: str) -> str:
    """What the store keeps of a token: its SHA-256 as 64 hex digits."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
