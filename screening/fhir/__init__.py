"""FHIR R4 (with the SDC extensions): questionnaires and answers in the language of health records.

Pure, like the questionnaire package: plain data in, plain JSON-ready dicts out. One job
per module: `codes` (URLs, codes and the question-type mapping), `fhirpath` (conditions
as FHIRPath and enableWhen), `questionnaire` (a definition as a Questionnaire),
`response` (answers as a QuestionnaireResponse and a Bundle, and back), `importer`
(a Questionnaire back into questions.yaml data), `validate` (structure and invariant
checks). The commands are in `commands`, the clinicians' routes in `views`.
"""

from __future__ import annotations

from .codes import CANONICAL, questionnaire_url
from .questionnaire import export_questionnaire
from .response import ResponseError, answers_from_response, export_bundle, questionnaire_response

__all__ = [
    "CANONICAL",
    "ResponseError",
    "answers_from_response",
    "export_bundle",
    "export_questionnaire",
    "questionnaire_response",
    "questionnaire_url",
]
