"""Sign-in throttling that slows a guesser down without locking the real person out.

Three counters, each a row of `sign_in_throttle` under a hashed key:

- the account *from one address, or from one known device*: the first few failures are
  free, then each one doubles the wait before the next try (1 s, 2 s, 4 s, ... up to
  LOGIN_MAX_DELAY_SECONDS). Someone guessing from their own address slows only
  themselves: the clinician on the clinic's network, or on a device they signed in
  from before, is not held up by it.
- the *account* from unknown devices: after LOGIN_LOCK_FAILURES failures in
  LOGIN_LOCK_HOURS it is locked for everything but its known devices, and the lock is
  audited so that admins see it on the accounts page.
- the *address*: at most LOGIN_ADDRESS_FAILURES failures per LOGIN_ADDRESS_MINUTES,
  whichever accounts were tried.

An attempt is counted *before* its password is checked, in one write transaction that
also reads the counters (SQLite's BEGIN IMMEDIATE; on PostgreSQL row locks), so requests
in flight at once cannot all slip under a limit: the password check only runs for an
attempt the counters allowed. A correct sign-in clears its own counters.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .. import audit, clock, db
from ..models import SignInThrottle, User

EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _key(kind: str, *parts: str) -> str:
    """A fixed-length key: any typed email fits, and no address is stored in the clear."""
    return hashlib.sha256("\x00".join((kind, *parts)).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Keys:
    """The three counters one sign-in attempt touches."""

    pair: str
    account: str | None  # None: from a known device, which the account lock does not hold up
    address: str

    @classmethod
    def of(cls, email: str, address: str, device: str | None) -> Keys:
        """The counters for an attempt on `email` from `address`, on a known `device` if given."""
        if device:
            return cls(_key("device", device, email), None, _key("address", address))
        return cls(_key("pair", address, email), _key("account", email), _key("address", address))


@dataclass(frozen=True)
class Refusal:
    """Why an attempt was not let through, and how many seconds until one will be."""

    reason: str  # "slow-down" | "account-locked" | "address"
    wait: int

    def message(self) -> str:
        """What the sign-in page says: the true wait."""
        return f"Too many attempts. Please wait {wait_text(self.wait)}, then try again."


def wait_text(seconds: int) -> str:
    """'40 seconds', '1 minute', '15 minutes'."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _locked_row(s: Session, key: str, now: float) -> SignInThrottle:
    """The counter row for `key`, created if missing, locked for this transaction."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(
        insert(SignInThrottle)
        .values(key=key, failures=0, since=now, wait_until=0.0)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = s.scalars(select(SignInThrottle).where(SignInThrottle.key == key).with_for_update()).one()
    s.refresh(row)
    return row


def _window(row: SignInThrottle, now: float, seconds: float) -> None:
    """Start counting afresh once the row's window has passed."""
    if now - row.since >= seconds:
        row.failures, row.since = 0, now


def delay(failures: int) -> float:
    """Seconds to wait after this many failures in a row: none for the first few, then doubling."""
    free = current_app.config["LOGIN_FREE_FAILURES"]
    if failures < free:
        return 0.0
    return float(min(2 ** (failures - free), current_app.config["LOGIN_MAX_DELAY_SECONDS"]))


def reserve(s: Session, keys: Keys, email: str) -> Refusal | None:
    """Count an attempt before its password is checked; a Refusal (audited) if it may not go ahead.

    Runs in the caller's write transaction, so the counts and the decision are one step.
    """
    config = current_app.config
    now = clock.now().timestamp()
    pair = _locked_row(s, keys.pair, now)
    address = _locked_row(s, keys.address, now)
    account = _locked_row(s, keys.account, now) if keys.account else None
    _window(pair, now, 24 * 3600)
    _window(address, now, config["LOGIN_ADDRESS_MINUTES"] * 60)
    refusal = None
    if account is not None:
        _window(account, now, config["LOGIN_LOCK_HOURS"] * 3600)
        if account.failures >= config["LOGIN_LOCK_FAILURES"]:
            refusal = Refusal("account-locked", math.ceil(account.since + config["LOGIN_LOCK_HOURS"] * 3600 - now))
    if refusal is None and pair.wait_until > now:
        refusal = Refusal("slow-down", math.ceil(pair.wait_until - now))
    if refusal is None and address.failures >= config["LOGIN_ADDRESS_FAILURES"]:
        refusal = Refusal("address", math.ceil(address.since + config["LOGIN_ADDRESS_MINUTES"] * 60 - now))
    if refusal is not None:
        audit.record(s, "login_refused", actor=_typed(email), detail={"reason": refusal.reason, "wait": refusal.wait})
        return refusal
    pair.failures += 1
    pair.wait_until = now + delay(pair.failures)
    address.failures += 1
    if account is not None:
        account.failures += 1
        if account.failures == config["LOGIN_LOCK_FAILURES"]:
            user = s.scalars(select(User).where(User.email == email)).one_or_none()
            if user is not None:
                audit.record(
                    s, "account_locked", target=user, actor=_typed(email), detail={"failures": account.failures}
                )
    return None


def succeeded(s: Session, keys: Keys) -> None:
    """A right password: this device's or address's own slow-down ends (the others stay counted
    but the attempt is taken back from them)."""
    s.execute(delete(SignInThrottle).where(SignInThrottle.key == keys.pair))
    for key in (keys.account, keys.address):
        if key:
            row = s.get(SignInThrottle, key, with_for_update=True)
            if row is not None and row.failures > 0:
                row.failures -= 1


def locked_accounts(emails: list[str]) -> set[str]:
    """Which of these accounts are locked against unknown devices right now."""
    config = current_app.config
    now = clock.now().timestamp()
    keys = {_key("account", email): email for email in emails}
    rows = db.session().scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys)))
    return {
        keys[row.key]
        for row in rows
        if row.failures >= config["LOGIN_LOCK_FAILURES"] and now - row.since < config["LOGIN_LOCK_HOURS"] * 3600
    }


def unlock(s: Session, email: str) -> None:
    """An admin lifts an account's lock (audited by the caller)."""
    s.execute(delete(SignInThrottle).where(SignInThrottle.key == _key("account", email)))


def _typed(email: str) -> str | None:
    """The typed email for the audit log, only if shaped like one (never a password typed in the wrong box)."""
    return email[:254] if EMAIL_SHAPE.fullmatch(email) else None
