"""Staff pages for visits: the list, add one, upload a CSV file, issue and revoke links.

Every visit is added through screening/visits (the same checks as the command line
and the API). A link's address is shown once, when it is made: only its hash is kept.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import SelectField, StringField
from wtforms.fields import SelectChoice

from .. import audit, clinic, clock, db, i18n
from ..models import Visit
from ..visits import csvimport, links, records, state
from ..visits.app import NewVisit, add_visit, issue_link, link_url, revoke_links, signing_keys
from ..visits.message import invitation
from .blueprint import ActionForm, bp

MAX_UPLOAD = 2 * 1024 * 1024  # a CSV file of a few thousand visits


class VisitForm(FlaskForm):
    """A visit, typed by a receptionist or clinician (checked by records.check)."""

    given_name = StringField("Given name")
    family_name = StringField("Family name")
    birth_date = StringField("Date of birth")
    starts_at = StringField("Date and time of the visit")
    clinician = StringField("Clinician")
    treatment = StringField("Treatment", default="acupuncture")
    kind = SelectField(
        "First or later session",
        choices=[
            SelectChoice("", "Work it out from the patient's visits"),
            SelectChoice("first", "First session"),
            SelectChoice("later", "Later session"),
        ],
        default="",
    )
    clinic_ref = StringField("Clinic reference (optional)")
    external_id = StringField("Booking id (optional)")
    phone = StringField("Phone")
    email = StringField("Email (optional)")
    language = StringField("Language (optional)")


@bp.get("/visits")
def visits() -> str:
    """Visits from today on, in the clinic's time zone, with each link's state; or the one
    visit `?visit=ID` names, whenever it is (an alert about its link links here)."""
    start, _ = clinic.day_bounds(clinic.today())
    s = db.session()
    only = request.args.get("visit", type=int)
    query = (
        select(Visit)
        .where(Visit.id == only if only is not None else Visit.starts_at >= start)
        .options(selectinload(Visit.patient))
        .order_by(Visit.starts_at, Visit.id)
        .limit(200)
    )
    rows = list(s.scalars(query))
    loaded = state.load_rows(s, [v.id for v in rows])
    now = clock.now()
    items = [
        {
            "visit": v,
            "state": state.screening_state(loaded[v.id].links, loaded[v.id].draft, loaded[v.id].submission),
            "link": links.link_state(links.current_link(loaded[v.id].links), now),
        }
        for v in rows
    ]
    return render_template("review/visits.html", items=items, form=ActionForm(), only=only)


@bp.route("/visits/new", methods=["GET", "POST"])
def new_visit() -> Any:
    """Add a visit (and the patient, if new); show its personal link once."""
    form = VisitForm()
    if not form.validate_on_submit():
        return render_template("review/visits_new.html", form=form), 400 if request.method == "POST" else 200
    raw = {name: form[name].data for name in records.FIELDS if name in form}
    result = add_visit(raw, how="form", user=current_user)
    if not isinstance(result, NewVisit):
        for name, message in result.items():
            if name in form:
                form[name].errors = [f"{records.LABELS.get(name, name)} {message}"]
        return render_template("review/visits_new.html", form=form), 400
    return _link_page(result.visit, result.url, result.expires_at, created=True)


def _link_page(visit: Visit, url: str | None, expires_at: dt.datetime | None, created: bool) -> str:
    """A new link, shown once, with the message to send the patient."""
    message = None
    if url and expires_at:
        here = clinic.current()
        local = clinic.local
        language = i18n.message_language(visit.questionnaire_id, visit.patient.language)
        message = invitation(here.name, here.phone, local(visit.starts_at), url, local(expires_at), language)
    return render_template(
        "review/visits_link.html", visit=visit, url=url, expires_at=expires_at, created=created, message=message
    )


@bp.post("/visits/<int:visit_id>/link")
def visit_link(visit_id: int) -> Any:
    """Issue a new personal link (the old one stops working) and show it once."""
    if not ActionForm().validate_on_submit():
        abort(400)
    made = issue_link(visit_id, how="page", user=current_user)
    if made is None:
        abort(404)
    visit = db.session().get(Visit, visit_id)
    assert visit is not None  # the link was just made for it
    return _link_page(visit, made[0], made[1], created=False)


@bp.post("/visits/<int:visit_id>/revoke")
def visit_revoke(visit_id: int) -> Response:
    """Stop the visit's links at once."""
    if not ActionForm().validate_on_submit():
        abort(400)
    n = revoke_links(visit_id, how="page", user=current_user)
    if n is None:
        abort(404)
    flash("The link was revoked: it no longer opens." if n else "The visit had no link to revoke.")
    return redirect(url_for("review.visits"))


@bp.route("/visits/import", methods=["GET", "POST"])
def visits_import() -> Any:
    """Upload a CSV file of visits: every row is checked first, and all are added or none."""
    form = ActionForm()
    if request.method == "GET":
        return render_template("review/visits_import.html", form=form, problems=[], fields=records.FIELDS)
    if not form.validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        problems = ["Choose a CSV file to upload."]
        return render_template("review/visits_import.html", form=form, problems=problems, fields=records.FIELDS), 400
    data = upload.stream.read(MAX_UPLOAD + 1)
    text = csvimport.decode(data) if len(data) <= MAX_UPLOAD else None
    if text is None:
        problems = ["The file is not UTF-8 text, or is too large. Save it from your spreadsheet as CSV UTF-8."]
        return render_template("review/visits_import.html", form=form, problems=problems, fields=records.FIELDS), 400
    made: list[tuple[Visit, str]] = []
    with db.get_db().transaction() as s:
        checked = csvimport.check_text(text, clinic.zone(), clinic.today(), s)
        if not checked.problems:
            now = clock.now()
            for added in csvimport.add_all(s, checked):
                if added.created:
                    expires = links.default_expiry(added.visit.starts_at, clinic.zone(), now)
                    issued = links.issue(s, added.visit, signing_keys(), now, expires)
                    made.append((added.visit, link_url(issued.token)))
            detail = {"rows": len(checked.rows), "file": (upload.filename or "")[:100]}
            audit.record(s, "visits_imported", detail=detail)
            for visit, _ in made:
                _ = visit.patient  # loaded for the page, inside the transaction
    if checked.problems:
        problems = [str(p) for p in checked.problems]
        return render_template(
            "review/visits_import.html", form=form, problems=problems, fields=records.FIELDS, refused=True
        ), 400
    return render_template("review/visits_imported.html", made=made, rows=len(checked.rows))


def local_time(at: dt.datetime) -> str:
    """A time as the clinic reads it."""
    return clinic.local(at).strftime("%a %-d %b %Y, %H:%M")


@bp.app_template_filter("visit_time")
def visit_time(at: dt.datetime) -> str:
    """Jinja: a visit's time in the clinic's time zone."""
    return local_time(at)
