"""Rate-limit counters kept in the app's own database, shared by every worker and server.

Flask-Limiter counts in memory by default, which is per process: with several gunicorn
workers each would allow the full limit. Redis is the usual shared store; this one
needs nothing beyond the database the app already has, so it is the default, and a
`redis://` (or any `limits`) URI can still be configured instead.

URIs: `sql+sqlite:///path/to.db`, `sql+postgresql+psycopg://...` (the app's own
database URL with `sql+` in front).

When the counters live in the app's own database (the default), a request's hits are
not written in a transaction of their own: the limit is checked with one read, and the
increment is written in the request's own write transaction (a patient's saved page,
a sign-in's audit row), just before it commits. A request that writes nothing (a
refused form, a 429) has its hits written once at its end. So a patient's POST costs
one write transaction, not two. Requests in flight at the same moment do not see each
other's hits until they commit: a burst can pass the limit by the number of requests
running at once, which for limits of dozens a minute does not matter.
"""

from __future__ import annotations

import threading
import time
from typing import Any, cast

from flask import Flask, current_app, g, has_app_context
from limits.storage import MemoryStorage, Storage
from sqlalchemy import CursorResult, Table, case, delete, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .db import Database, get_db, get_db_of
from .models import RateLimitCounter

# app.extensions key: the database URL whose counters ride on the app's own transactions.
DEFERRED = "screening.ratelimit.deferred"
PENDING = "screening_ratelimit_pending"  # attribute of flask.g: [(key, expiry, amount)]


def _upsert(session: Session, key: str, expiry: int, amount: int) -> int:
    """Add `amount` to the counter, starting a new window when the old one ended; the new count.

    One INSERT ... ON CONFLICT DO UPDATE, so two requests at once from a new address
    cannot both try to create the row.
    """
    now = time.time()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = cast(Table, RateLimitCounter.__table__)
    ended = table.c.expires_at <= now
    statement = (
        insert(table)
        .values(key=key, count=amount, expires_at=now + expiry)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": case((ended, amount), else_=table.c.count + amount),
                "expires_at": case((ended, now + expiry), else_=table.c.expires_at),
            },
        )
        .returning(table.c.count)
    )
    return session.execute(statement).scalar_one()


def _pending(url: str) -> list[tuple[str, int, int]] | None:
    """This request's hits not yet written, when counters in `url` ride on its transactions."""
    if not has_app_context() or current_app.extensions.get(DEFERRED) != url:
        return None
    return g.setdefault(PENDING, [])


def _write_pending(session: Session) -> None:
    """Before a write transaction of the app commits: add this request's hits to it."""
    pending = g.pop(PENDING, None) if has_app_context() else None
    for key, expiry, amount in pending or ():
        _upsert(session, key, expiry, amount)


def _flush_pending(_exc: BaseException | None) -> None:
    """At the end of a request that wrote nothing: its hits in one transaction of their own."""
    if g.get(PENDING):
        with get_db().transaction() as s:
            _write_pending(s)


def write_with_requests(app: Flask) -> None:
    """Write the counters in each request's own write transaction (the app's database only)."""
    database = get_db_of(app)
    app.extensions[DEFERRED] = database.url
    event.listen(database.write_sessions, "before_commit", _write_pending)
    app.teardown_request(_flush_pending)


class DatabaseStorage(Storage):
    """Fixed-window counters in the `rate_limits` table."""

    STORAGE_SCHEME = ["sql+sqlite", "sql+postgresql", "sql+postgresql+psycopg"]  # noqa: RUF012 - the base class's API

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.database = Database(str(uri).removeprefix("sql+"))

    @property
    def base_exceptions(self) -> type[Exception]:
        """Errors that mean the store is unavailable."""
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the counter; the count including it.

        Inside a request on the app's own database: read the count and leave the write to
        the request's own transaction. Elsewhere: one upsert in a transaction of its own.
        """
        pending = _pending(self.database.url)
        if pending is None:
            with self.database.transaction() as s:
                return _upsert(s, key, expiry, amount)
        count = self.get(key) + amount
        pending.append((key, expiry, amount))
        return count

    def _row(self, session: Session, key: str) -> RateLimitCounter | None:
        """The counter if its window is still open."""
        row = session.get(RateLimitCounter, key)
        return row if row is not None and row.expires_at > time.time() else None

    def get(self, key: str) -> int:
        """The current count (0 when no window is open), with this request's hits not yet written."""
        with self.database.sessions() as s:
            row = self._row(s, key)
            count = row.count if row else 0
        return count + sum(amount for hit, _, amount in _pending(self.database.url) or () if hit == key)

    def get_expiry(self, key: str) -> float:
        """When the current window ends (now when none is open)."""
        with self.database.sessions() as s:
            row = self._row(s, key)
            return row.expires_at if row else time.time()

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with self.database.sessions() as s:
                s.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter."""
        with self.database.transaction() as s:
            return cast(CursorResult[Any], s.execute(delete(RateLimitCounter))).rowcount

    def clear(self, key: str) -> None:
        """Forget one counter."""
        with self.database.transaction() as s:
            s.execute(delete(RateLimitCounter).where(RateLimitCounter.key == key))


class ThreadSafeMemoryStorage(MemoryStorage):
    """`memory://` counters that threads can share.

    limits' own memory store starts its expiry timer without a lock: two threads of one
    gunicorn gthread worker can both try to start the same timer, and the request fails
    with "threads can only be started once". Registered under the same scheme, so
    `memory://` means this one.
    """

    STORAGE_SCHEME = ["memory"]  # noqa: RUF012 - the base class's API

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._lock = threading.RLock()

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add to a counter, one thread at a time."""
        with self._lock:
            return super().incr(key, expiry, amount)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """A moving-window entry, one thread at a time."""
        with self._lock:
            return super().acquire_entry(key, limit, expiry, amount)

    def acquire_sliding_window_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """A sliding-window entry, one thread at a time."""
        with self._lock:
            return super().acquire_sliding_window_entry(key, limit, expiry, amount)
