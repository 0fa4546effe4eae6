"""Admins' page for API keys: make one (shown once), see when each was last used, revoke."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectMultipleField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from .. import audit, clock, db
from ..models import ApiKey
from ..visits import apikeys
from .accounts import admin_required
from .blueprint import ActionForm, bp


class NewKeyForm(FlaskForm):
    """A name for the key (what uses it) and what it may do."""

    name = StringField(
        "What will use this key?",
        validators=[DataRequired("Enter a name, for example the booking system's name"), Length(max=120)],
    )
    scopes = SelectMultipleField(
        "What may it do?",
        choices=[SelectChoice(scope, f"{scope}: {words}") for scope, words in apikeys.SCOPES.items()],
        default=["visits:write", "visits:read"],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validators=[DataRequired("Choose at least one thing the key may do")],
    )


def _keys() -> list[ApiKey]:
    return list(db.session().scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())))


@bp.route("/api-keys", methods=["GET", "POST"])
@admin_required
def api_keys() -> Any:
    """The keys, and a form to make one; a new key is shown once, on the page that made it."""
    form = NewKeyForm()
    new_key = None
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("review/api_keys.html", form=form, keys=_keys(), new_key=None), 400
        with db.get_db().transaction() as s:
            made = apikeys.create(s, form.name.data.strip(), form.scopes.data, current_user.id, clock.now())
            detail = {"key": made.row.prefix, "name": made.row.name, "scopes": made.row.scopes}
            audit.record(s, "api_key_created", detail=detail)
        new_key = made.key
        form = NewKeyForm(formdata=None)
    return render_template("review/api_keys.html", form=form, keys=_keys(), new_key=new_key)


@bp.post("/api-keys/<int:key_id>/revoke")
@admin_required
def revoke_api_key(key_id: int) -> Response:
    """Revoke a key: every later call with it is refused (and audited)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    with db.get_db().transaction() as s:
        row = s.get(ApiKey, key_id, with_for_update=True)
        if row is None:
            abort(404)
        if row.revoked_at is None:
            row.revoked_at = clock.now()
            audit.record(s, "api_key_revoked", detail={"key": row.prefix, "name": row.name})
    flash(f"The key {row.prefix} ({row.name}) is revoked.")
    return redirect(url_for("review.api_keys"))
