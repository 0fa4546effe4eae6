"""The JSON API for a practice-management system: push bookings, read their state.

    POST /api/v1/visits               add a visit (idempotent on external_id); 201 with its link
    GET  /api/v1/visits/<id>          the visit's screening and link state
    POST /api/v1/visits/<id>/link     a new link (the old one stops working)
    POST /api/v1/visits/<id>/revoke   stop the visit's links

The key goes in `Authorization: Bearer <key>`; keys are scoped, revocable and kept only
as a hash (visits/apikeys.py). Every call, accepted or refused, is in the audit log.
No cookies, so no CSRF token. Bad input gets a 400 naming each field, never a 500.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from . import audit, clock, db
from .extensions import csrf
from .models import ApiKey, Visit
from .visits import apikeys, links, state
from .visits.app import NewVisit, add_visit, issue_link, revoke_links

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


class Refused(Exception):
    """The call is refused: the status, and the error to send."""

    def __init__(
        self, status: int, error: str, fields: dict[str, str] | None = None, key: ApiKey | None = None
    ) -> None:
        super().__init__(error)
        self.status, self.error, self.fields, self.key = status, error, fields, key


def _iso(at: dt.datetime | None) -> str | None:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if at else None


def _audit_refusal(status: int, error: str, key: ApiKey | None) -> None:
    """A refused call, in a transaction of its own (the call itself changed nothing)."""
    try:
        with db.get_db().transaction() as s:
            detail = {"method": request.method, "path": request.path[:200], "status": status, "error": error[:200]}
            if key is not None:
                detail["key"] = key.prefix
            audit.record(s, "api_refused", actor=f"api key {key.prefix}" if key else "api", detail=detail)
    except SQLAlchemyError:
        current_app.logger.exception("Could not record a refused API call in the audit log")


def _key(scope: str) -> ApiKey:
    """The calling key, if it is right, not revoked and has the scope."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Refused(401, "Send the API key as: Authorization: Bearer <key>")
    row = apikeys.find(db.session(), key.strip())
    if row is None:
        raise Refused(401, "The API key is not recognised")
    if row.revoked_at is not None:
        raise Refused(401, "The API key was revoked", key=row)
    if scope not in (row.scopes or []):
        raise Refused(403, f"The API key may not do this (it needs the scope {scope})", key=row)
    return row


def _used(s: Any, row: ApiKey, status: int, **detail: Any) -> None:
    """Audit an accepted call in the caller's transaction, and note the key's last use."""
    key = s.get(ApiKey, row.id)
    if key is not None:
        key.last_used_at = clock.now()
    info = {"method": request.method, "path": request.path[:200], "status": status, "key": row.prefix} | detail
    audit.record(s, "api_call", actor=f"api key {row.prefix}", detail=info)


@bp.errorhandler(Refused)
def refused(error: Refused) -> tuple[Response, int]:
    """A refused call: audited, and answered in JSON."""
    _audit_refusal(error.status, error.error, error.key)
    body: dict[str, Any] = {"error": error.error}
    if error.fields:
        body["fields"] = error.fields
    return jsonify(body), error.status


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[Response, int]:
    """Any other HTTP error of the API (405, 413, a bad body) in JSON, audited."""
    status = error.code or 400
    _audit_refusal(status, error.name, None)
    return jsonify({"error": error.name}), status


def _json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 saying what is wrong with the body."""
    if not request.is_json:
        raise Refused(400, "Send a JSON object with Content-Type: application/json", {"body": "is not JSON"})
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Refused(400, "The body must be a JSON object", {"body": "is not a JSON object"})
    return data


def _visit_json(visit: Visit) -> dict[str, Any]:
    """A visit as the API shows it: no clinical content, only states."""
    s = db.session()
    rows = state.load_rows(s, [visit.id])[visit.id]
    link = links.current_link(rows.links)
    return {
        "id": visit.id,
        "external_id": visit.external_id,
        "patient_id": visit.patient_id,
        "starts_at": _iso(visit.starts_at),
        "kind": visit.kind,
        "questionnaire_id": visit.questionnaire_id,
        "status": visit.status,
        "screening_state": state.screening_state(rows.links, rows.draft, rows.submission),
        "link": {"state": links.link_state(link, clock.now()), "expires_at": _iso(link.expires_at) if link else None},
    }


@bp.post("/visits")
def create_visit() -> tuple[Response, int]:
    """Add a visit (and its patient, if new), with a new link; the same booking again is a 200."""
    row = _key("visits:write")
    data = _json_body()
    result = add_visit(data, how="api", actor=f"api key {row.prefix}")
    if not isinstance(result, NewVisit):
        raise Refused(400, "Some fields are wrong: see fields", dict(result))
    status = 201 if result.created else 200
    with db.get_db().transaction() as s:
        _used(s, row, status, visit=result.visit.id)
    body = _visit_json(_visit_or_404(result.visit.id))
    body["created"] = result.created
    if result.url:
        body["link"] |= {"url": result.url}
    return jsonify(body), status


def _visit_or_404(visit_id: int) -> Visit:
    """The visit, read afresh (the request's read session may hold a snapshot from
    before this call's own writes)."""
    db.session().commit()
    visit = db.session().get(Visit, visit_id)
    if visit is None:
        raise Refused(404, f"There is no visit {visit_id}")
    return visit


@bp.get("/visits/<int:visit_id>")
def get_visit(visit_id: int) -> tuple[Response, int]:
    """The visit's screening state and its link's state."""
    row = _key("visits:read")
    _visit_or_404(visit_id)
    with db.get_db().transaction() as s:
        _used(s, row, 200, visit=visit_id)
    return jsonify(_visit_json(_visit_or_404(visit_id))), 200


@bp.post("/visits/<int:visit_id>/link")
def reissue_link(visit_id: int) -> tuple[Response, int]:
    """A new link for the visit (the old one stops working); its address is in this answer only."""
    row = _key("visits:write")
    _visit_or_404(visit_id)
    made = issue_link(visit_id, how="api", actor=f"api key {row.prefix}")
    if made is None:
        raise Refused(404, f"There is no visit {visit_id}")
    with db.get_db().transaction() as s:
        _used(s, row, 201, visit=visit_id)
    body = _visit_json(_visit_or_404(visit_id))
    body["link"] |= {"url": made[0]}
    return jsonify(body), 201


@bp.post("/visits/<int:visit_id>/revoke")
def revoke_link(visit_id: int) -> tuple[Response, int]:
    """Stop the visit's links."""
    row = _key("visits:write")
    _visit_or_404(visit_id)
    revoke_links(visit_id, how="api", actor=f"api key {row.prefix}")
    with db.get_db().transaction() as s:
        _used(s, row, 200, visit=visit_id)
    return jsonify(_visit_json(_visit_or_404(visit_id))), 200
