"""API keys for a practice-management system: made once, kept only as a hash.

A key reads `scr_<prefix>_<secret>`: the prefix (shown to admins to tell keys apart)
finds the row, and the SHA-256 of the whole key is compared in constant time. Keys
carry scopes and can be revoked; the caller audits every use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ApiKey

SCOPES = {
    "visits:write": "Add and update visits, issue links",
    "visits:read": "Read a visit's screening and link state",
}
PREFIX = "scr_"


def key_hash(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class NewKey:
    """A key just made: `key` exists only here, to be shown once."""

    row: ApiKey
    key: str


def create(s: Session, name: str, scopes: list[str], created_by: int | None, now: dt.datetime) -> NewKey:
    """Make a key with these scopes (each one of SCOPES)."""
    unknown = set(scopes) - set(SCOPES)
    if unknown or not scopes:
        raise ValueError(f"unknown or no scopes: {sorted(unknown)}")
    prefix = PREFIX + secrets.token_hex(4)
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name, prefix=prefix, key_hash=key_hash(key), scopes=sorted(scopes), created_by=created_by, created_at=now
    )
    s.add(row)
    s.flush()
    return NewKey(row, key)


def find(s: Session, key: str) -> ApiKey | None:
    """The key's row if the key is exactly right (revoked or not), else None."""
    if not key.startswith(PREFIX) or len(key) > 200 or key.count("_") < 2:
        return None
    prefix = "_".join(key.split("_", 2)[:2])
    row = s.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()
    if row is None or not hmac.compare_digest(row.key_hash, key_hash(key)):
        return None
    return row
