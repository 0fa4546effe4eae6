"""Personal links: an opaque signed token per visit, checked against a stored hash.

The token carries only the link's id and a random nonce, signed with itsdangerous
(HMAC-SHA256) under the app's secret keys: the newest signs, every key still listed
verifies, so links survive a key rotation. The nonce is stored only as its SHA-256
hash: reissue (a new nonce) and revoke are one write, and the database alone cannot
make a working link. Nothing here knows Flask; the caller passes keys and times.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Visit, VisitLink

if TYPE_CHECKING:
    from .state import LinkFacts

SALT = "screening.visit-link.v1"
PURPOSES = ("screening", "aftercare")

# The identity check (the app's sign-in lockout and REDCap's Survey Login): this many
# wrong dates of birth lock the link for LOCK_MINUTES; REVOKE_AFTER revokes it.
LOCK_AFTER = 5
LOCK_MINUTES = 15
REVOKE_AFTER = 10


def _serializer(keys: list[str | bytes]) -> URLSafeSerializer:
    return URLSafeSerializer(cast(Any, keys), salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})


def nonce_hash(nonce: str) -> str:
    """The stored form of a nonce."""
    return hashlib.sha256(nonce.encode()).hexdigest()


def make_token(keys: list[str | bytes], link_id: int, nonce: str) -> str:
    """The token for a link: its id and nonce, signed with the newest key."""
    return _serializer(keys).dumps({"i": link_id, "n": nonce})


def read_token(keys: list[str | bytes], token: str) -> tuple[int, str] | None:
    """The link id and nonce in a token, if any of the keys signed it; else None."""
    if not token or len(token) > 512:
        return None
    try:
        data = _serializer(keys).loads(token)
    except (BadSignature, UnicodeError, ValueError):
        return None
    if not isinstance(data, dict) or set(data) != {"i", "n"}:
        return None
    link_id, nonce = data["i"], data["n"]
    if not isinstance(link_id, int) or isinstance(link_id, bool) or not isinstance(nonce, str):
        return None
    return link_id, nonce


def default_expiry(visit_start: dt.datetime, zone: Any, now: dt.datetime) -> dt.datetime:
    """The end of the day after the visit, in the clinic's time zone (Phorest), and at
    least a day from now (a link made for a visit today still works tomorrow)."""
    day_after = visit_start.astimezone(zone).date() + dt.timedelta(days=2)
    end = dt.datetime.combine(day_after, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    return max(end, now + dt.timedelta(days=1))


@dataclass(frozen=True)
class Issued:
    """A new link and its token (the token exists only here: it is never stored)."""

    link: VisitLink
    token: str


def issue(
    s: Session,
    visit: Visit,
    keys: list[str | bytes],
    now: dt.datetime,
    expires_at: dt.datetime,
    purpose: str = "screening",
    keep_others: bool = False,
) -> Issued:
    """A new link to the visit; any earlier live link of the same purpose stops working
    (unless `keep_others`: a reminder's link, beside the one the patient may be using)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    for old in [] if keep_others else live_links(s, visit.id, purpose):
        old.revoked_at = now
    nonce = secrets.token_urlsafe(16)
    link = VisitLink(
        visit_id=visit.id,
        purpose=purpose,
        nonce_hash=nonce_hash(nonce),
        created_at=now,
        expires_at=expires_at,
        failures=0,
    )
    s.add(link)
    s.flush()
    return Issued(link, make_token(keys, link.id, nonce))


def live_links(s: Session, visit_id: int, purpose: str | None = None) -> list[VisitLink]:
    """The visit's links that are not revoked (expired ones included), oldest first."""
    query = select(VisitLink).where(VisitLink.visit_id == visit_id, VisitLink.revoked_at.is_(None))
    if purpose is not None:
        query = query.where(VisitLink.purpose == purpose)
    return list(s.scalars(query.order_by(VisitLink.id)))


def revoke(s: Session, visit_id: int, now: dt.datetime) -> int:
    """Stop every live link of the visit; how many there were."""
    links = live_links(s, visit_id)
    for link in links:
        link.revoked_at = now
    return len(links)


def find(s: Session, link_id: int, nonce: str, lock: bool = False) -> VisitLink | None:
    """The link a token names, if its nonce is the current one and it is not revoked."""
    link = s.get(VisitLink, link_id, with_for_update=lock)
    if link is None or link.revoked_at is not None:
        return None
    if not hmac.compare_digest(link.nonce_hash, nonce_hash(nonce)):
        return None
    return link


def link_state(link: VisitLink | LinkFacts | None, now: dt.datetime) -> str:
    """A link as staff and the API see it: none, revoked, expired, locked, sent, opened, identified."""
    if link is None:
        return "none"
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at <= now:
        return "expired"
    if link.locked_until is not None and link.locked_until > now:
        return "locked"
    if link.identified_at is not None:
        return "identified"
    if link.opened_at is not None:
        return "opened"
    return "sent"


def current_link(links: Iterable[VisitLink | LinkFacts], purpose: str = "screening") -> VisitLink | LinkFacts | None:
    """The newest link of a purpose (revoked or not), to say where it stands."""
    matching = [link for link in links if link.purpose == purpose]
    return max(matching, key=lambda link: link.id) if matching else None


@dataclass(frozen=True)
class Attempt:
    """The result of one date-of-birth check: `ok`, or refused (and whether locked, revoked)."""

    ok: bool
    locked: bool = False
    just_locked: bool = False
    revoked: bool = False


def is_locked(link: VisitLink, now: dt.datetime) -> bool:
    """Whether the link refuses every date of birth for now."""
    return link.locked_until is not None and link.locked_until > now


def check_birth_date(link: VisitLink, expected: dt.date, given: dt.date | None, now: dt.datetime) -> Attempt:
    """Check a typed date of birth against the patient's, counting failures on the link
    (the caller holds it locked for update and commits). A locked link refuses even the
    right date; the lock lifts after LOCK_MINUTES; REVOKE_AFTER failures revoke it."""
    if is_locked(link, now):
        return Attempt(ok=False, locked=True)
    if given is not None and given == expected:
        link.failures = 0
        link.locked_until = None
        link.identified_at = now
        return Attempt(ok=True)
    link.failures += 1
    if link.failures >= REVOKE_AFTER:
        link.revoked_at = now
        return Attempt(ok=False, revoked=True)
    if link.failures % LOCK_AFTER == 0:
        link.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
        return Attempt(ok=False, locked=True, just_locked=True)
    return Attempt(ok=False)
