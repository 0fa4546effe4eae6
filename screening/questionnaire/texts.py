"""Every text a patient reads in a questionnaire, in the order they meet it, each with
the key its translations are filed under (translations.py): `question.<id>.text`,
`option.<question>.<value>`, `section.<id>.title`, `advice.<key>` and so on.

A flag's `patient_reason` and `next_step` are texts; its `reason` and `source`, written
for clinicians in the clinic's language, are not. Nor are ids, answer values, rules and
outcomes: translations never reach them.

Pure: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .problems import Path
from .schema import Definition, FlagDef

# Pages of the questionnaire a text belongs to, besides its sections (for the admin's preview).
START, OUTCOME, INFORMATION = "start", "outcome", "information"


@dataclass(frozen=True)
class Text:
    """One text a patient reads, in the questionnaire's own language."""

    key: str  # the catalog's msgctxt
    path: Path  # where it is in the questionnaire's data
    source: str  # the text as the file says it today
    page: str  # the section id, or START, OUTCOME or INFORMATION
    note: str  # for the translator: what it is and where it is shown


def texts(defn: Definition) -> list[Text]:
    """Every text a patient can read, in the order they meet it, with its key."""
    return list(_texts(defn))


def _texts(defn: Definition) -> Iterator[Text]:
    about = defn.questionnaire
    for name in ("title", "intro", "privacy", "help_now"):
        value = getattr(about, name)
        if value:
            yield Text(f"questionnaire.{name}", ("questionnaire", name), value, START, f"The form's {name}")
    for si, section in enumerate(defn.sections):
        at: Path = ("sections", si)
        yield Text(f"section.{section.id}.title", (*at, "title"), section.title, section.id, "Page title")
        if section.intro:
            yield Text(f"section.{section.id}.intro", (*at, "intro"), section.intro, section.id, "Page introduction")
        for qi, q in enumerate(section.questions):
            qat: Path = (*at, "questions", qi)
            for name, note in (
                ("text", "Question"),
                ("short", "Short name of the question (check page)"),
                ("hint", "Hint under the question"),
                ("min_label", "Label of the scale's lowest value"),
                ("max_label", "Label of the scale's highest value"),
                ("error", "Error shown when the question is not answered"),
            ):
                value = getattr(q, name)
                if isinstance(value, str) and value:
                    yield Text(f"question.{q.id}.{name}", (*qat, name), value, section.id, f"{note}: {q.id}")
            for oi, option in enumerate(q.options or []):
                oat: Path = (*qat, "options", oi)
                note = f"Answer '{option.value}' of {q.id}"
                yield Text(f"option.{q.id}.{option.value}", (*oat, "label"), option.label, section.id, note)
                if option.hint:
                    yield Text(f"option.{q.id}.{option.value}.hint", (*oat, "hint"), option.hint, section.id, note)
            yield from _flag_texts(f"flag.{q.id}", (*qat, "flags"), q.flags)
    for name, derived in defn.derived.items():
        yield from _flag_texts(f"flag.{name}", ("derived", name, "flags"), derived.flags)
    for ri, rule in enumerate(defn.rules):
        yield from _flag_text_pair(f"rule.{rule.id}", ("rules", ri), rule)
    for outcome in ("urgent", "not_suitable", "review", "suitable"):
        text = getattr(defn.outcomes, outcome)
        for name in ("title", "message"):
            yield Text(
                f"outcome.{outcome}.{name}",
                ("outcomes", outcome, name),
                getattr(text, name),
                OUTCOME,
                f"Outcome page ({outcome}): {name}",
            )
    for key, advice in defn.outcomes.urgent.advice.items():
        note = f"Urgent advice '{key}': what to do now"
        yield Text(f"advice.{key}", ("outcomes", "urgent", "advice", key), advice, OUTCOME, note)
    info = defn.information
    yield Text("info.before_session", ("information", "before_session"), info.before_session, INFORMATION, "Page")
    yield Text("info.aftercare", ("information", "aftercare"), info.aftercare, INFORMATION, "Page")
    for n, item in enumerate(info.faq):
        for name in ("question", "answer"):
            at = ("information", "faq", n, name)
            yield Text(f"faq.{n}.{name}", at, getattr(item, name), INFORMATION, f"Frequent question {n + 1}")


def _flag_texts(prefix: str, at: Path, flags: Iterable[FlagDef]) -> Iterator[Text]:
    """The patient's texts of a question's or derived value's flags (by their place in the list)."""
    for fi, flag in enumerate(flags):
        yield from _flag_text_pair(f"{prefix}.{fi}", (*at, fi), flag)


def _flag_text_pair(prefix: str, at: Path, flag: FlagDef) -> Iterator[Text]:
    """A flag's `patient_reason` and `next_step`. Its `reason` and `source` are for
    clinicians, who read the clinic's language: they are never translated."""
    if flag.patient_reason:
        note = f"Outcome page, under 'Why' ({flag.level})"
        yield Text(f"{prefix}.patient_reason", (*at, "patient_reason"), flag.patient_reason, OUTCOME, note)
    if flag.next_step:
        note = f"Outcome page: what happens next ({flag.level})"
        yield Text(f"{prefix}.next_step", (*at, "next_step"), flag.next_step, OUTCOME, note)
