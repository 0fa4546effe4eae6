"""Schema changes go through Alembic; the migrations build exactly the models' schema."""

from __future__ import annotations

from sqlalchemy import inspect

from screening import db, migrate
from screening.models import Base

from .conftest import make_app


def test_migrations_produce_the_models_schema(app):
    """After `db upgrade` there is nothing between the database and the models."""
    with app.app_context():
        assert migrate.differences() == []
        tables = set(inspect(db.get_db().engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"} == tables


def test_downgrade_and_upgrade_again(tmp_path, runner):
    """Every migration can be undone and redone."""
    assert runner.invoke(args=["db", "downgrade", "base"]).exit_code == 0
    with runner.app.app_context():
        assert set(inspect(db.get_db().engine).get_table_names()) <= {"alembic_version"}
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with runner.app.app_context():
        assert migrate.differences() == []


def test_init_db_is_upgrade_and_safe_to_repeat(tmp_path):
    """`init-db` (what `make run` does first) migrates, and running it again changes nothing."""
    app = make_app(tmp_path)
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        assert migrate.differences() == []
