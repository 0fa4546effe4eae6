"""Admins: the questionnaire's translations, and a preview of each one beside the English.

An unreviewed translation is never shown to patients; here an admin (and the translator
sitting with them) can read it page by page next to the clinic's text, with each text
that is out of date, missing or refused marked, before a qualified translator signs it off.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, render_template, request

from .. import i18n
from ..questionnaire import Definition
from ..questionnaire import translations as qt
from ..questionnaire.texts import INFORMATION, OUTCOME, START, texts
from ..versions import current_definition
from .accounts import admin_required
from .blueprint import bp

STATE_WORDS = {
    "translated": "Translated",
    "stale": "Out of date: the English shown",
    "missing": "Not translated: the English shown",
    "refused": "Refused: the English shown",
}


@dataclass(frozen=True)
class Page:
    """One page of the questionnaire, as the preview walks it."""

    id: str
    title: str


def pages(defn: Definition) -> list[Page]:
    """The start page, each section, the outcome page and the information pages, in order."""
    return [
        Page(START, "Start page"),
        *(Page(s.id, s.title) for s in defn.sections),
        Page(OUTCOME, "Outcome page"),
        Page(INFORMATION, "Information pages"),
    ]


@bp.get("/translations")
@admin_required
def translations() -> str:
    """Every catalog of the questionnaire: its language, whether reviewed, and how much is translated."""
    defn = current_definition()
    rows = [
        {
            "language": language,
            "name": i18n.language_name(language),
            "catalog": catalog,
            "counts": qt.counts(defn, catalog, i18n.phones()),
            "offered": language in i18n.reviewed_languages(defn),
        }
        for language, catalog in sorted(i18n.catalogs_for(defn).items())
    ]
    return render_template(
        "review/translations.html", defn=defn, rows=rows, broken=i18n.state().broken, total=len(texts(defn))
    )


@bp.get("/translations/<language>")
@admin_required
def translation_preview(language: str) -> str:
    """One page of the questionnaire in `language`, each text beside the English."""
    defn = current_definition()
    catalog = i18n.catalogs_for(defn).get(language) or abort(404)
    walk = pages(defn)
    ids = [p.id for p in walk]
    page_id = request.args.get("page", walk[0].id)
    if page_id not in ids:
        abort(404)
    at = ids.index(page_id)
    return render_template(
        "review/translations_preview.html",
        defn=defn,
        catalog=catalog,
        language=language,
        name=i18n.language_name(language),
        direction=i18n.direction(language),
        page=walk[at],
        pages=walk,
        previous=walk[at - 1] if at > 0 else None,
        next=walk[at + 1] if at + 1 < len(walk) else None,
        statuses=i18n.texts_beside(defn, catalog, page_id),
        words=STATE_WORDS,
    )
