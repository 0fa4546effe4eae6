"""`/healthz`: is the app up, and can it reach its database?"""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from . import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the database answers and can be written, 503 when not (no details leak)."""
    database = db.get_db()
    try:
        with database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return jsonify(status="unavailable", database="unreachable"), 503
    if not writable(database):
        return jsonify(status="unavailable", database="read-only"), 503
    return jsonify(status="ok", database="ok"), 200


def writable(database: db.Database) -> bool:
    """Whether a write would succeed now: a write transaction that writes nothing and rolls back.

    SQLite: BEGIN IMMEDIATE takes the write lock, which a read-only file (or a full or
    read-only disk under it) refuses. PostgreSQL: a server in recovery or a read-only
    transaction default says so.
    """
    try:
        with database.write_engine.connect() as conn:
            if database.is_sqlite:
                conn.execute(text("PRAGMA user_version = 0"))  # a real write, rolled back
            elif conn.execute(text("SHOW transaction_read_only")).scalar() == "on":
                return False
            conn.rollback()
    except SQLAlchemyError:
        return False
    return True
