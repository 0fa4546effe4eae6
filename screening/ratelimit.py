"""Rate-limit counters kept in the app's own database, shared by every worker and server.

Flask-Limiter counts in memory by default, which is per process: with several gunicorn
workers each would allow the full limit. Redis is the usual shared store; this one
needs nothing beyond the database the app already has, so it is the default, and a
`redis://` (or any `limits`) URI can still be configured instead.

URIs: `sql+sqlite:///path/to.db`, `sql+postgresql+psycopg://...` (the app's own
database URL with `sql+` in front).
"""

from __future__ import annotations

import time

from limits.storage import Storage
from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .db import Database
from .models import RateLimitCounter


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
        """Add `amount` to the counter, starting a new window when the old one ended.

        One INSERT ... ON CONFLICT DO UPDATE, so two requests at once from a new address
        cannot both try to create the row.
        """
        now = time.time()
        with self.database.transaction() as s:
            insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
            table = RateLimitCounter.__table__
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
            return s.execute(statement).scalar_one()

    def _row(self, session: Session, key: str) -> RateLimitCounter | None:
        """The counter if its window is still open."""
        row = session.get(RateLimitCounter, key)
        return row if row is not None and row.expires_at > time.time() else None

    def get(self, key: str) -> int:
        """The current count (0 when no window is open)."""
        with self.database.sessions() as s:
            row = self._row(s, key)
            return row.count if row else 0

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
            return s.execute(delete(RateLimitCounter)).rowcount

    def clear(self, key: str) -> None:
        """Forget one counter."""
        with self.database.transaction() as s:
            s.execute(delete(RateLimitCounter).where(RateLimitCounter.key == key))
