"""The database: one engine per app, a session per request, and write transactions.

SQLite (the embedded default) runs in WAL mode with synchronous=FULL, foreign keys on
and a busy timeout, and write transactions start with BEGIN IMMEDIATE: a deferred BEGIN
that reads and then writes can fail with "database is locked" under concurrent
submissions, while IMMEDIATE takes the write lock up front and simply waits its turn.
Reads use a plain (deferred) BEGIN so they never queue behind writers.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

IMMEDIATE = "screening_begin_immediate"

# Every engine of this process. A forked worker (gunicorn preloads the app) must not
# share the parent's open connections: two processes on one socket corrupt each other's
# conversations. One fork hook serves them all (weak: an engine no app uses goes away).
_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _drop_inherited_connections() -> None:
    """In a forked child: forget the parent's pooled connections without closing them."""
    for engine in list(_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_drop_inherited_connections)


class Database:
    """The engine and session factories of one app."""

    def __init__(self, url: str, busy_timeout: float = 30) -> None:
        self.url = url
        self.busy_timeout = busy_timeout
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            owner_only(url)
        connect_args = {"timeout": busy_timeout} if self.is_sqlite else {}
        self.engine = create_engine(url, connect_args=connect_args, pool_pre_ping=not self.is_sqlite)
        if self.is_sqlite:
            _tune_sqlite(self.engine)
        elif self.engine.dialect.name == "postgresql":
            _tune_postgresql(self.engine)
        self.write_engine = self.engine.execution_options(**{IMMEDIATE: True})
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        _ENGINES.add(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on any error."""
        with self.write_sessions() as session, session.begin():
            yield session


def owner_only(url: str) -> None:
    """Make the SQLite file (and its -wal and -shm) readable by this user alone: 0600.

    The file is created here, before SQLite opens it, because SQLite gives its -wal and
    -shm files the database file's own permissions; a folder made for it is 0700.
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if each.exists() and each.stat().st_mode & 0o077:
            each.chmod(0o600)


def _tune_postgresql(engine: Engine) -> None:
    """No JIT compilation: this app's queries are short, and PostgreSQL compiles any whose
    estimated cost is high (a misestimated join on the million-row submissions table was
    enough), which took 20 ms to save a fraction of one."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.commit()


def _tune_sqlite(engine: Engine) -> None:
    """WAL, full sync, foreign keys, and BEGIN IMMEDIATE for write transactions."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted answers (a submitted draft, an erased or purged submission) are
        # overwritten with zeros rather than left readable in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "handle_error")
    def on_error(context) -> None:
        # A connection opened while the file could not be written stays read-only for
        # good, even once the file is writable again: treat it like a dropped
        # connection, so the pool opens fresh ones and writes recover without a restart.
        if "readonly database" in str(context.original_exception):
            context.is_disconnect = True

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def init_app(app: Flask) -> None:
    """Attach a Database to the app and close each request's session afterwards."""
    app.extensions["screening.db"] = Database(app.config["DATABASE_URL"], app.config["SQLITE_BUSY_TIMEOUT"])
    app.teardown_appcontext(_close_session)


def get_db() -> Database:
    """The current app's Database."""
    return get_db_of(current_app)


def get_db_of(app: Flask) -> Database:
    """An app's Database (outside a request)."""
    return app.extensions["screening.db"]


def session() -> Session:
    """The request's read session (created on first use, closed at teardown)."""
    if "db_session" not in g:
        g.db_session = get_db().sessions()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    """Close the request's session, if one was opened."""
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()
