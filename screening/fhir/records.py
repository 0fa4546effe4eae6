"""The app's side of FHIR export: stored versions and submissions, read and audited.

Not pure like the rest of the package: this is where the database and the audit log
come in, shared by the commands and the clinicians' routes.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from .. import audit, db, versions
from ..models import QuestionnaireVersion, Submission
from ..questionnaire import Definition
from ..questionnaire.vocabulary import stored_flags
from ..review.queries import normalise_reference
from ..versions import current_definition, definition_for
from .questionnaire import export_questionnaire
from .response import export_bundle


class NotFound(LookupError):
    """No such questionnaire version or submission (or nothing left to export)."""


def base_url() -> str | None:
    """Where this clinic publishes its questionnaires (None: the project's canonical base)."""
    value = current_app.config.get("FHIR_BASE_URL")
    return str(value) if value else None


def definition_by_version(version: str) -> Definition:
    """The questionnaire as a version asked it: the full hash, a prefix of 8 or more
    characters, or a current questionnaire's id (the follow-up check's `follow-up`)."""
    for current in [current_definition(), *(versions.definition(i) for i in versions.questionnaire_ids())]:
        if version in (current.version, current.questionnaire.id) or (
            len(version) >= 8 and current.version.startswith(version)
        ):
            return current
    if len(version) < 8:
        raise NotFound(f"no questionnaire version {version!r}")
    found = (
        db.session()
        .scalars(
            select(QuestionnaireVersion.version).where(
                QuestionnaireVersion.version.startswith(version, autoescape=True)
            )
        )
        .all()
    )
    if len(found) != 1:
        raise NotFound(f"no questionnaire version {version!r}" if not found else f"{version!r} names several versions")
    defn = definition_for(found[0])
    if defn is None:
        raise NotFound(f"questionnaire version {found[0][:12]} cannot be rebuilt")
    return defn


def questionnaire_resource(version: str, actor: str | None = None) -> dict[str, Any]:
    """A stored or current version as a Questionnaire; the download is audited."""
    defn = definition_by_version(version)
    with db.get_db().transaction() as s:
        audit.record(s, "fhir_questionnaire", detail={"version": defn.version}, actor=actor)
    return export_questionnaire(defn, base_url())


def submission_bundle(reference: str, actor: str | None = None) -> dict[str, Any]:
    """One submission as a Bundle (its QuestionnaireResponse and a DetectedIssue per flag),
    audited like a view of the record, before anything is returned."""
    query = select(Submission).where(Submission.reference == (normalise_reference(reference) or reference))
    submission = db.session().scalars(query).one_or_none()
    if submission is None:
        raise NotFound(f"no submission {reference!r}")
    if submission.review_state == "erased":
        raise NotFound(f"submission {submission.reference} was erased")
    defn = definition_for(submission.version)
    if defn is None:
        raise NotFound(f"the questionnaire version of {submission.reference} cannot be rebuilt")
    with db.get_db().transaction() as s:
        audit.record(s, "fhir_export", reference=submission.reference, actor=actor)
    return export_bundle(
        defn,
        submission.answers,
        stored_flags(submission.flags),
        reference=submission.reference,
        authored=submission.created_at,
        complete=submission.complete,
        base_url=base_url(),
        language=submission.language,
    )
