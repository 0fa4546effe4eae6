"""Schema changes through Alembic: `flask --app screening db upgrade` and friends.

Alembic is imported by the functions that use it, not with the app: a served app never
migrates, and importing Alembic (with Mako) would add a tenth of a second to every start.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask.cli import with_appcontext
from sqlalchemy import Connection

from . import db
from .models import Base

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection: Connection) -> Config:
    """An Alembic configuration bound to an open connection of the app's engine."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(revision: str = "head") -> None:
    """Bring the database schema up to `revision` (default: the newest)."""
    from alembic import command

    with db.get_db().engine.connect() as connection:
        command.upgrade(_config(connection), revision)
        connection.commit()


def differences() -> list[Any]:
    """What the models have that the database schema lacks (or the other way round)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.get_db().engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)


@click.group("db")
def db_group() -> None:
    """Database schema: upgrade, downgrade, current, revision."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def upgrade_command(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    upgrade(revision)
    click.echo(f"Database upgraded to {revision}.")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def downgrade_command(revision: str) -> None:
    """Undo migrations down to REVISION (for example -1, or base)."""
    from alembic import command

    with db.get_db().engine.connect() as connection:
        command.downgrade(_config(connection), revision)
        connection.commit()
    click.echo(f"Database downgraded to {revision}.")


@db_group.command("current")
@with_appcontext
def current_command() -> None:
    """Show the database's current revision."""
    from alembic import command

    with db.get_db().engine.connect() as connection:
        command.current(_config(connection))


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the change does.")
@with_appcontext
def revision_command(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    from alembic import command

    with db.get_db().engine.connect() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)
