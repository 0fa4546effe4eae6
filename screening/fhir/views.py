"""The clinicians' FHIR downloads: a questionnaire version, a submission's Bundle.

On the review blueprint, so its sign-in check guards them; each download is audited
before anything is sent.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort

from ..review.blueprint import bp, same_origin_only
from . import records

FHIR_JSON = "application/fhir+json"


def _json(resource: dict[str, Any], filename: str) -> Response:
    """A FHIR resource as a JSON download."""
    response = Response(json.dumps(resource, indent=2, ensure_ascii=False), mimetype=FHIR_JSON)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/fhir/Questionnaire/<version>")
@same_origin_only
def fhir_questionnaire(version: str) -> Response:
    """A questionnaire version as a FHIR Questionnaire."""
    try:
        resource = records.questionnaire_resource(version)
    except records.NotFound:
        abort(404)
    return _json(resource, f"{resource['id']}-{resource['version'][:12]}.json")


@bp.get("/submissions/<reference>/fhir")
@same_origin_only
def fhir_submission(reference: str) -> Response:
    """A submission as a FHIR Bundle: its QuestionnaireResponse and a DetectedIssue per flag."""
    try:
        bundle = records.submission_bundle(reference)
    except records.NotFound:
        abort(404)
    return _json(bundle, f"{bundle['identifier']['value']}.json")
