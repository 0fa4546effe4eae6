"""What the record of one submission shows, worked out as plain data for the templates.

The record is built from the questionnaire version the patient answered (stored with
the submission), never from today's questions.yaml, so an old record shows the
questions exactly as they were asked. Nothing here touches Flask or the database:
a stored submission and its definition go in, a RecordView comes out.

`display` (an answer as the patient would say it) comes from the question-type registry
in the core; the CSV export uses it through this module, so the record and the export
always show an answer the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..models import Submission
from ..questionnaire import SOURCE_REF_RE, Definition, Question, display
from ..questionnaire.vocabulary import LEVEL_WORDS, OUTCOME_WORDS, StoredFlag, advice_words, level_rank


@dataclass
class FlagView:
    """One flag: its level, reason, source with citations, and the answers behind it."""

    level: str
    level_words: str
    reason: str
    source: str
    citations: list[tuple[str, str]]
    advice: str | None
    about: list[tuple[str, str]]  # (question id, question label)


@dataclass
class AnswerRow:
    """One question as the patient saw it, and their answer as they would say it."""

    qid: str
    text: str
    answer: str | None  # None: shown but left blank
    flags: list[FlagView] = field(default_factory=list)  # highest level first
    regions: list[str] | None = None  # a body map's marked regions, drawn as a picture
    # In the patient's language, when it is not the clinic's: the question and the answer
    # as they read them (None: the same words, or no translation).
    patient_text: str | None = None
    patient_answer: str | None = None


@dataclass
class SectionView:
    """A page of the questionnaire with the questions the patient was shown."""

    title: str
    rows: list[AnswerRow]


@dataclass
class RecordView:
    """Everything the record page shows about one (not erased) submission."""

    outcome: str
    outcome_words: str
    advice: str | None
    details: list[tuple[str, str]]
    flags: list[FlagView]
    flagged: list[AnswerRow]
    sections: list[SectionView]
    derived: list[tuple[str, str]]
    readable: bool  # False: the stored questionnaire could not be rebuilt
    language: str | None = None  # the language the patient answered in (a BCP 47 tag)
    # The patient's language when it is not the clinic's (the record shows both side by side).
    patient_language: str | None = None
    patient_advice: str | None = None  # the urgent advice in the patient's words


def record_view(
    submission: Submission,
    defn: Definition | None,
    name_question: str | None = None,
    patient_defn: Definition | None = None,
    default_language: str | None = None,
) -> RecordView:
    """The record of a submission, worked out from the definition it was answered on
    (`name_question`: the id of the question whose answer is the patient's name).
    `patient_defn`: the same definition in the language the patient answered in, when that
    is not the clinic's (`default_language`): each answer is shown in both."""
    flags = sorted((flag_view(f, defn) for f in submission.flags), key=lambda f: level_rank(f.level))
    sections = answer_sections(submission, defn, flags)
    other = submission.language if submission.language and submission.language != default_language else None
    if other and defn is not None and patient_defn is not None:
        _patient_words(sections, submission.answers, patient_defn)
    rows = [row for sec in sections for row in sec.rows]
    flagged = sorted((row for row in rows if row.flags), key=lambda row: level_rank(row.flags[0].level))
    advice = None
    if defn is not None and submission.outcome == "urgent":
        advice = defn.outcomes.urgent.advice.get(submission.urgent_advice or "")
    return RecordView(
        outcome=submission.outcome,
        outcome_words=OUTCOME_WORDS.get(submission.outcome, submission.outcome),
        advice=advice,
        details=patient_details(submission, defn, name_question),
        flags=flags,
        flagged=flagged,
        sections=sections,
        derived=derived_values(submission, defn),
        readable=defn is not None,
        language=submission.language,
        patient_language=other,
        patient_advice=_patient_advice(submission, patient_defn, advice) if other else None,
    )


def _patient_words(sections: list[SectionView], answers: dict[str, Any], patient_defn: Definition) -> None:
    """Put each question and answer as the patient read them beside the clinic's words."""
    for sec in sections:
        for row in sec.rows:
            q = patient_defn.questions.get(row.qid)
            if q is None:
                continue
            row.patient_text = q.text
            if row.qid in answers:
                row.patient_answer = display(q, answers[row.qid])


def _patient_advice(submission: Submission, patient_defn: Definition | None, advice: str | None) -> str | None:
    """The urgent advice the patient read, in their language (None: none, or the same words)."""
    if patient_defn is None or advice is None:
        return None
    theirs = patient_defn.outcomes.urgent.advice.get(submission.urgent_advice or "")
    return theirs if theirs != advice else None


def earlier_label(name: str) -> str:
    """An earlier answer a rule named, in words: `first_visit.cancer_history` -> `cancer_history (first visit)`."""
    scope, dot, qid = name.partition(".")
    return f"{qid} ({scope.replace('_', ' ')})" if dot else name


def flag_view(stored: dict[str, Any], defn: Definition | None) -> FlagView:
    """A stored flag with its S-numbers expanded into citations and its questions named."""
    flag = StoredFlag.from_dict(stored)
    sources = defn.sources if defn is not None else {}
    refs = dict.fromkeys(SOURCE_REF_RE.findall(flag.source))
    citations = [(ref, sources[ref]) for ref in refs if ref in sources]
    questions = defn.questions if defn is not None else {}
    about = [(qid, questions[qid].label if qid in questions else earlier_label(qid)) for qid in flag.about]
    advice = advice_words(flag.advice)
    return FlagView(
        level=flag.level,
        level_words=LEVEL_WORDS.get(flag.level, flag.level),
        reason=flag.reason,
        source=flag.source,
        citations=citations,
        advice=advice.capitalize() if advice else None,
        about=about,
    )


def answer_sections(submission: Submission, defn: Definition | None, flags: list[FlagView]) -> list[SectionView]:
    """Each section with the questions the patient was shown; questions not asked are left out."""
    by_question: dict[str, list[FlagView]] = {}
    for flag in flags:
        for qid, _ in flag.about:
            by_question.setdefault(qid, []).append(flag)
    answers = submission.answers
    if defn is None:
        rows = [AnswerRow(qid, qid, str(value), by_question.get(qid, [])) for qid, value in answers.items()]
        return [SectionView("Answers, by question id", rows)] if rows else []
    values = {**answers, **submission.derived}
    # The questions the patient was shown, as stored with the submission; older ones are worked out.
    shown = set(submission.shown) if submission.shown is not None else None
    sections = []
    for sec in defn.sections:
        rows = [
            AnswerRow(
                q.id,
                q.text,
                display(q, answers[q.id]) if q.id in answers else None,
                by_question.get(q.id, []),
                answers.get(q.id, []) if q.type == "body_map" else None,
            )
            for q in sec.questions
            if q.id in answers or (q.id in shown if shown is not None else _was_shown(q, values))
        ]
        if rows:
            sections.append(SectionView(sec.title, rows))
    unknown = [
        AnswerRow(qid, qid, str(value), by_question.get(qid, []))
        for qid, value in answers.items()
        if qid not in defn.questions
    ]
    if unknown:  # should never happen; shown rather than silently dropped
        sections.append(SectionView("Other stored answers", unknown))
    return sections


def _was_shown(q: Question, values: dict[str, Any]) -> bool:
    """Whether the patient was shown this question (judged on the stored answers and derived values)."""
    return q.condition is None or q.condition.test(values)


def _question(defn: Definition, *tests: Any) -> Question | None:
    """The first question passing the first test that any question passes."""
    for test in tests:
        found = next((q for q in defn.questions.values() if test(q)), None)
        if found is not None:
            return found
    return None


def patient_details(
    submission: Submission, defn: Definition | None, name_id: str | None = None
) -> list[tuple[str, str]]:
    """Name, date of birth with age, phone and email, as the patient gave them."""
    if defn is None:
        return [("Name", submission.patient_name or "Not given")]
    answers = submission.answers
    born_from = {d.years_since for d in defn.derived.values()}
    questions = {
        "Name": _question(defn, lambda q: q.id == name_id, lambda q: q.autocomplete == "name"),
        "Date of birth": _question(defn, lambda q: q.autocomplete == "bday", lambda q: q.id in born_from),
        "Phone": _question(defn, lambda q: q.type == "phone"),
        "Email": _question(defn, lambda q: q.type == "email"),
    }
    details = (
        [] if submission.complete else [("Sent early", "Yes: an urgent answer, so the patient sent it unfinished")]
    )
    for label, q in questions.items():
        value = display(q, answers[q.id]) if q is not None and q.id in answers else "Not given"
        age = _age_from(submission, defn, q.id) if label == "Date of birth" and q is not None else None
        details.append((label, value + (f" (aged {age} when submitted)" if age is not None else "")))
    return details


def _age_from(submission: Submission, defn: Definition, qid: str) -> Any:
    """The derived value (an age) worked out from this date question, if stored."""
    names = [name for name, d in defn.derived.items() if d.years_since == qid and name in submission.derived]
    return submission.derived[names[0]] if names else None


def derived_values(submission: Submission, defn: Definition | None) -> list[tuple[str, str]]:
    """Values worked out from the answers (an age), each with the question it came from."""
    derived = defn.derived if defn is not None else {}
    questions = defn.questions if defn is not None else {}
    out = []
    for name, value in submission.derived.items():
        label = name.replace("_", " ").capitalize()
        source = derived[name].years_since if name in derived else None
        if source is not None and source in questions:
            label += f" (from “{questions[source].label}”)"
        out.append((label, str(value)))
    return out
