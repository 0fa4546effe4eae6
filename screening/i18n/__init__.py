"""Languages: which one a patient reads, the pages' catalogs (Flask-Babel) and the
questionnaires' catalogs, and only reviewed translations offered to patients.

Catalogs live in TRANSLATIONS_PATH (default `translations/`):

    translations/pages/<lang>/LC_MESSAGES/messages.po     the pages' words (Flask-Babel)
    translations/questionnaires/<questionnaire id>/<lang>.po   one questionnaire's texts

Both are read as PO text when the app starts and compiled in memory, so there is no
build step and a clinic's edited catalog is used as it is (fuzzy entries never are).

A language is offered to patients when its questionnaire catalog says a qualified
translator reviewed it (`X-Reviewed: yes`, `X-Reviewed-By: ...`), changes no phone or
emergency number, and the pages' catalog for it (if there is one) is reviewed too.
Admins may also see the languages in PREVIEW_LANGUAGES, to check a translation on the
real pages before it is reviewed. The clinicians' pages are always in DEFAULT_LANGUAGE.

The language of a patient's page is the first of: their own choice (a `?lang=` link,
kept in their session), the visit's language (`visit_language()`), their browser's
Accept-Language, and DEFAULT_LANGUAGE; each only if offered to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations
from flask import Flask, current_app, g, has_app_context, has_request_context, request, session
from flask_babel import Babel, Domain, force_locale, get_locale  # type: ignore[import-untyped]
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.utils import cached_property

from .. import versions
from ..config import ROOT
from ..questionnaire import Definition
from ..questionnaire import translations as qt
from ..versions import current_definition
from .catalogs import Languages, load_catalogs

STATE = "screening.i18n"  # the app.extensions key
PAGE_LOCALE = "screening_page_locale"  # the g key of words.py's locale, once per request
CHOICE = "lang"  # the session key (and the query parameter) of the patient's own choice
# The clinicians' side is read in the clinic's language, whatever the browser says.
CLINICIAN_BLUEPRINTS = frozenset({"review", "setup"})
DEFAULTS = {
    # The clinic's language: the questionnaire's own, and every page's when no other is chosen.
    "DEFAULT_LANGUAGE": "en",
    # Languages admins may see on the patient's pages before a translator has reviewed them.
    "PREVIEW_LANGUAGES": [],
    "TRANSLATIONS_PATH": str(ROOT / "translations"),
    # `<html lang>` of a page in the clinic's language: its regional form (British English).
    "DEFAULT_LANGUAGE_TAG": "en-GB",
}


def state() -> Languages:
    """The app's catalogs."""
    return current_app.extensions[STATE]


def phones() -> tuple[str, ...]:
    """The clinic's phone numbers a translation must keep, besides 999, 111 and 112."""
    phone = current_app.config.get("CLINIC_PHONE")
    return (phone,) if phone else ()


def catalogs_for(defn: Definition) -> dict[str, qt.Catalog]:
    """The catalogs of this questionnaire, by language."""
    return state().questionnaires.get(defn.questionnaire.id, {})


# --- Which languages, and which one ---------------------------------------------------


def reviewed_languages(defn: Definition) -> tuple[str, ...]:
    """The languages patients may read `defn` in: the clinic's, and every reviewed,
    safe translation (computed once per questionnaire version)."""
    langs = state()
    if defn.version not in langs._offered:
        offered = [langs.default]
        for language, catalog in sorted(catalogs_for(defn).items()):
            pages = langs.pages.get(language)
            if not catalog.reviewed or (pages is not None and (not pages.reviewed or pages.refused)):
                continue
            if qt.number_problems(defn, catalog, phones()):
                current_app.logger.error("the %s translation changes a phone number: not offered", language)
                continue
            offered.append(language)
        langs._offered[defn.version] = tuple(dict.fromkeys(offered))
    return langs._offered[defn.version]


def is_admin() -> bool:
    """Whether an admin is signed in in this browser."""
    return bool(current_user and current_user.is_authenticated and getattr(current_user, "is_admin", False))


def offered_languages(defn: Definition | None = None) -> tuple[str, ...]:
    """The languages this visitor may read `defn` (default: the current questionnaire) in:
    the reviewed ones, and for an admin the preview languages that have a catalog.
    Outside a request (a command, a job) only the reviewed ones."""
    defn = defn or current_definition()
    offered = reviewed_languages(defn)
    if has_request_context() and is_admin():
        have = set(catalogs_for(defn)) | set(state().pages)
        offered += tuple(lang for lang in current_app.config["PREVIEW_LANGUAGES"] if lang in have)
    return tuple(dict.fromkeys(offered))


def choose(
    offered: Sequence[str],
    explicit: str | None,
    visit: str | None,
    accept: LanguageAccept | None,
    default: str,
) -> str:
    """The language of a page: the patient's choice, the visit's language, the browser's
    preference, then the clinic's; each only if offered."""
    for wanted in (explicit, visit):
        if wanted and wanted in offered:
            return wanted
    if accept is not None:
        best = best_match(accept, offered)
        if best:
            return best
    return default


def best_match(accept: LanguageAccept, offered: Sequence[str]) -> str | None:
    """The browser's most wanted language that is offered, a region's language counting
    as the language (`pl-PL` is `pl`). Werkzeug's own best_match would pick `en;q=0.5`
    over `pl-PL` when only `en` and `pl` are offered."""
    by_tag = {tag.lower(): tag for tag in offered}
    for wanted, quality in sorted(accept, key=lambda item: -item[1]):
        if quality <= 0:
            continue
        wanted = wanted.lower().replace("_", "-")
        for candidate in (wanted, wanted.split("-")[0]):
            if candidate in by_tag:
                return by_tag[candidate]
    return None


def visit_language() -> str | None:
    """The language the clinic set for this patient's visit, if any.

    The hook for visits (appointments with an invitation): a view that knows the visit sets
    `g.visit_language` (a BCP 47 tag such as "pl") before the page is drawn.
    """
    return g.get("visit_language")


def select_locale() -> str:
    """Flask-Babel's locale selector (see `choose`); the clinicians' pages are in the clinic's language."""
    default = current_app.config["DEFAULT_LANGUAGE"]
    if not has_request_context() or request.blueprint in CLINICIAN_BLUEPRINTS:
        return _locale_name(default)
    offered = offered_languages(g.get("page_questionnaire"))  # set by the patient's pages for their draft
    language = choose(offered, session.get(CHOICE), visit_language(), request.accept_languages, default)
    return _locale_name(language)


def remember_choice() -> None:
    """A `?lang=` link: keep the patient's choice for the rest of their visit (an unknown
    or unoffered language is ignored, and the page is read as before)."""
    wanted = request.args.get(CHOICE)
    if wanted and request.blueprint not in CLINICIAN_BLUEPRINTS and wanted in offered_languages():
        session[CHOICE] = wanted


def _locale_name(tag: str) -> str:
    """BCP 47 (`pt-BR`) to Babel's form (`pt_BR`)."""
    return tag.replace("-", "_")


def language() -> str:
    """The language of this page, as a BCP 47 tag (`pl`, `pt-BR`)."""
    locale = get_locale()
    if locale is None:
        return current_app.config["DEFAULT_LANGUAGE"]
    return str(locale).replace("_", "-")


def page_lang() -> str:
    """For `<html lang="...">`."""
    return language()


def html_lang() -> str:
    """For `<html lang="...">`: the page's language, the clinic's in its regional form
    (DEFAULT_LANGUAGE_TAG, "en-GB") when the page is in the clinic's language."""
    tag = language()
    regional = current_app.config.get("DEFAULT_LANGUAGE_TAG") or ""
    if tag == current_app.config["DEFAULT_LANGUAGE"] and regional.split("-")[0] == tag:
        return regional
    return tag


def page_dir() -> str:
    """For `<html dir="...">`: "rtl" for a right-to-left language, else "ltr"."""
    locale = get_locale()
    return "rtl" if locale is not None and locale.text_direction == "rtl" else "ltr"


def direction(tag: str) -> str:
    """ "rtl" or "ltr" for a language tag (for a part of a page in another language)."""
    try:
        return "rtl" if Locale.parse(_locale_name(tag)).text_direction == "rtl" else "ltr"
    except (ValueError, UnknownLocaleError):
        return "ltr"


def language_name(tag: str) -> str:
    """A language's name in that language ("polski"), for the language switch."""
    try:
        locale = Locale.parse(_locale_name(tag))
    except (ValueError, UnknownLocaleError):
        return tag
    return locale.get_display_name(locale) or tag


def page_languages() -> list[dict[str, Any]]:
    """The language switch: each language offered, its own name, a link to this page in
    it (a plain link: no script needed), and whether it is this page's language."""
    if not has_request_context() or request.blueprint in CLINICIAN_BLUEPRINTS:
        return []
    current = language()
    args = request.args.to_dict()
    return [
        {
            "code": tag,
            "name": language_name(tag),
            "url": request.path + "?" + urlencode(args | {CHOICE: tag}),
            "current": tag == current,
        }
        for tag in offered_languages()
    ]


# --- Messages to patients (emails, texts) -------------------------------------------------


def message_language(questionnaire_id: str | None, *wanted: str | None) -> str:
    """The language to write a patient's message in: the first of `wanted` (the language
    they answered in, the visit's) that patients are offered for the questionnaire the
    message links to, else the clinic's. An unreviewed translation never reaches a
    patient, on a page or in a message; the clinicians' alerts are always in the clinic's."""
    default = state().default
    if questionnaire_id is None:
        return default
    try:
        offered = reviewed_languages(versions.definition(questionnaire_id))
    except LookupError:
        return default
    return next((tag for tag in wanted if tag and tag in offered), default)


@contextmanager
def writing_in(tag: str) -> Iterator[None]:
    """The pages' catalog and dates of `tag` (a BCP 47 tag) for what is written inside,
    in a request or not (a message built by the outbox relay)."""
    if has_app_context():
        g.pop(PAGE_LOCALE, None)  # the page's locale, worked out for the page (words.py)
    try:
        with force_locale(_locale_name(tag)):
            yield
    finally:
        if has_app_context():
            g.pop(PAGE_LOCALE, None)


# --- The questionnaire in a language --------------------------------------------------


def translated(defn: Definition, lang: str | None = None) -> Definition:
    """`defn` in `lang` (default: this page's language), for the patient's pages.

    The same questions, answers, rules, flags and outcomes; only the texts differ, each
    one that is stale, missing or unsafe left in the clinic's language. A language not
    offered to this visitor (an unreviewed one, unless an admin is previewing it; outside a
    request, any unreviewed one) gives the questionnaire as it is. Store and evaluate answers with either: they agree.
    """
    lang = lang or language()
    if lang == state().default or lang not in offered_languages(defn):
        return defn
    catalog = catalogs_for(defn).get(lang)
    return defn if catalog is None else _in_catalog(defn, catalog)


def in_language(defn: Definition, lang: str) -> Definition | None:
    """`defn` in the words a patient read it in `lang`, whether or not that language is
    offered today (for the clinicians' record); None for the clinic's language or a
    language with no catalog."""
    catalog = catalogs_for(defn).get(lang)
    if lang == state().default or catalog is None:
        return None
    return _in_catalog(defn, catalog)


def _in_catalog(defn: Definition, catalog: qt.Catalog) -> Definition:
    """`defn` in `catalog`'s words, made once per questionnaire version and language."""
    cache = state()._translated
    key = (defn.version, catalog.language)
    if key not in cache:
        cache[key] = qt.translated(defn, catalog, phones())
    return cache[key]


# --- The app --------------------------------------------------------------------------


class _PoDomain(Domain):
    """Flask-Babel's domain, reading the catalogs compiled at start-up instead of .mo files."""

    def get_translations(self) -> Translations | NullTranslations:
        """This page's (or message's, see `writing_in`) language's catalog, or none (the
        words as written); outside a request and a `writing_in`, the clinic's language."""
        if not has_app_context():
            return NullTranslations()
        pages = current_app.extensions[STATE].pages.get(language())
        return pages.translations if pages is not None else NullTranslations()


class _Babel(Babel):
    """Flask-Babel, with the in-memory catalogs."""

    @cached_property
    def domain_instance(self) -> Domain:
        """The one domain: `messages`."""
        return _PoDomain(domain="messages")


def init_app(app: Flask) -> None:
    """Read the catalogs, set up Flask-Babel, and give the templates `page_lang()`,
    `page_dir()` and `page_languages()`; add the `translations` commands."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.extensions[STATE] = load_catalogs(app.config["TRANSLATIONS_PATH"], app.config["DEFAULT_LANGUAGE"])
    for problem in app.extensions[STATE].broken:
        app.logger.error("translation catalog not used: %s", problem)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", _locale_name(app.config["DEFAULT_LANGUAGE"]))
    _Babel(app, locale_selector=select_locale)
    app.before_request(remember_choice)
    from .words import code_words, localise_code

    localise_code()
    app.jinja_env.globals.update(
        page_lang=page_lang,
        html_lang=html_lang,
        page_dir=page_dir,
        page_languages=page_languages,
        language_name=language_name,
        text_direction=direction,
    )
    app.jinja_env.filters["code_words"] = code_words
    from .commands import translations_group

    app.cli.add_command(translations_group)


def texts_beside(defn: Definition, catalog: qt.Catalog, page: str) -> Iterable[qt.Status]:
    """The statuses of one page's texts (for the admin's preview)."""
    return [s for s in qt.statuses(defn, catalog, phones()) if s.text.page == page]
