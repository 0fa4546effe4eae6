"""Translations of a questionnaire's texts: gettext catalogs keyed by id, never out of date.

A questionnaire file is written in one language (the clinic's, English by default). Each
translation is a gettext PO catalog with one entry per text a patient reads:

- `msgctxt` is the text's key, made of ids (`question.saddle_numbness.text`,
  `option.tummy_pain.yes_sudden_severe`, `section.warning_signs.title`, `advice.emergency`);
- `msgid` is the English text the translation was made from;
- `msgstr` is the translation.

A translation is used only while its `msgid` is exactly today's English text and it is not
marked fuzzy. When the English changes, the old entry no longer matches: that one text is
*stale*, the patient reads the English instead, and `stale()` names it, with the English the
translation was made from. The rules, flags, answer values and outcomes never come from a
catalog: `translated()` replaces texts only.

A translation that drops or changes a phone number, a `tel:` link or an emergency number
(999, 111, 112, the clinic's phone) is refused: `number_problems()` names it, and that text
is not used either.

The catalog's header says whether a qualified translator has reviewed it
(`X-Reviewed: yes` and `X-Reviewed-By: name, qualification`); an unreviewed catalog is
never offered to patients (the app decides that; see screening/i18n/).

Pure: no Flask, no database.
"""

from __future__ import annotations

import copy
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any, Literal

from babel.messages.catalog import Catalog as BabelCatalog
from babel.messages.catalog import Message as BabelMessage
from babel.messages.pofile import PoFileError, read_po, write_po

from .numbers import number_problem
from .problems import Path, Problem, QuestionnaireError
from .schema import Definition
from .texts import Text, texts

State = Literal["translated", "stale", "missing", "refused"]


@dataclass(frozen=True)
class Message:
    """One entry of a catalog."""

    key: str
    source: str  # the English it was translated from (msgid)
    text: str  # the translation (msgstr); empty when not translated yet
    fuzzy: bool = False
    line: int | None = None


@dataclass(frozen=True)
class Catalog:
    """One language's translation of one questionnaire."""

    language: str  # BCP 47, as in the file's Language header (`pl`, `pt-BR`)
    reviewed: bool  # X-Reviewed: yes, and someone named in X-Reviewed-By
    reviewed_by: str
    messages: Mapping[str, Message]  # by key; an obsolete entry only when no live one has its key
    source: str = ""  # the file, for messages


@dataclass(frozen=True)
class Status:
    """How one text stands in one catalog."""

    text: Text
    state: State
    translation: str | None  # what the patient reads instead of the English, if anything
    message: Message | None  # the catalog's entry for this key, if any
    why: str = ""  # for stale and refused texts: what is wrong


@dataclass(frozen=True)
class Counts:
    """How much of a questionnaire a catalog translates."""

    translated: int = 0
    stale: int = 0
    missing: int = 0
    refused: int = 0
    pages: dict[str, Counter[str]] = field(default_factory=dict)


# --- Reading and writing catalogs -----------------------------------------------------

_HEADER_RE = re.compile(r'^"([A-Za-z-]+):\s*(.*?)\\n"\s*$')


def read_catalog(path: str | FilePath) -> Catalog:
    """A catalog file; raise QuestionnaireError when it cannot be read as one."""
    path = FilePath(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionnaireError(str(path), [Problem((), f"cannot read the catalog: {exc}")]) from exc
    return parse_catalog(text, str(path), default_language=path.stem.replace("_", "-"))


def parse_catalog(text: str, source: str = "catalog.po", default_language: str = "") -> Catalog:
    """A catalog from PO text (an entry whose English is in two entries is an error)."""
    try:
        po = read_po(io.StringIO(text), abort_invalid=True)
    except (PoFileError, ValueError) as exc:
        raise QuestionnaireError(source, [Problem((), f"not a valid PO catalog: {exc}")]) from None
    headers = _headers(text)
    language = (headers.get("Language") or default_language).replace("_", "-")
    if not language:
        raise QuestionnaireError(source, [Problem((), "the catalog has no Language header")])
    messages: dict[str, Message] = {}
    problems: list[Problem] = []
    for message in po:
        if not message.id:
            continue
        if not message.context:
            problems.append(Problem((), f"line {message.lineno}: an entry without msgctxt (the text's key)"))
            continue
        messages[message.context] = Message(
            message.context, str(message.id), str(message.string or ""), message.fuzzy, message.lineno
        )
    for message in po.obsolete.values():
        if message.context and message.context not in messages:
            # Kept so that a translation whose key is back is reported stale, not missing.
            messages[message.context] = Message(
                message.context, str(message.id), str(message.string or ""), True, message.lineno
            )
    if problems:
        raise QuestionnaireError(source, problems)
    by = headers.get("X-Reviewed-By", "").strip()
    reviewed = headers.get("X-Reviewed", "").strip().lower() == "yes" and bool(by)
    return Catalog(language, reviewed, by, messages, source)


def _headers(text: str) -> dict[str, str]:
    """The header entry's fields, unknown ones (X-Reviewed) too: Babel keeps only its own."""
    headers: dict[str, str] = {}
    started = False
    for line in text.splitlines():
        stripped = line.strip()
        if not started:
            started = stripped == 'msgstr ""'
            continue
        if not stripped.startswith('"'):
            break
        match = _HEADER_RE.match(stripped)
        if match:
            headers[match.group(1)] = match.group(2)
    return headers


def template(defn: Definition, source: str = "questions.yaml") -> str:
    """The catalog template (.pot): every text's key and English, with a note for the translator."""
    return _write(_babel_catalog(defn, source, None), header=_header("", reviewed=False, by=""))


def update(defn: Definition, catalog_text: str, source: str = "questions.yaml") -> str:
    """A catalog brought up to today's questionnaire, its header (and review status) kept.

    A text whose English changed keeps its old translation marked fuzzy, with the English
    it was made from as `#| msgid`, for the translator to see what changed; it is not used
    until they have checked it. Texts no longer in the file become obsolete (`#~`).
    """
    old = parse_catalog(catalog_text)
    header = catalog_text[: _header_end(catalog_text)]
    return _write(_babel_catalog(defn, source, old), header=header)


def new_catalog(defn: Definition, language: str, source: str = "questions.yaml") -> str:
    """An empty catalog for a new language, marked unreviewed."""
    return _write(_babel_catalog(defn, source, None), header=_header(language, reviewed=False, by=""))


def _babel_catalog(defn: Definition, source: str, old: Catalog | None) -> BabelCatalog:
    """The entries, in the file's order, merged with an older catalog when given."""
    po = BabelCatalog(fuzzy=False)
    keys = set()
    for text in texts(defn):
        keys.add(text.key)
        line = defn.line_of(text.path)
        locations = [(source, line)] if line else []
        previous = old.messages.get(text.key) if old else None
        string, flags, previous_id = "", set(), []
        if previous is not None and previous.text:
            string = previous.text
            if previous.source != text.source or previous.fuzzy:
                flags = {"fuzzy"}
                previous_id = [previous.source]
        po.add(
            text.source,
            string,
            locations=locations,
            flags=flags,
            auto_comments=[text.note],
            previous_id=previous_id,
            context=text.key,
        )
    if old is not None:
        for key, message in old.messages.items():
            if key not in keys and message.text:
                po.obsolete[(message.source, key)] = BabelMessage(message.source, message.text, context=key)
    return po


def _write(po: BabelCatalog, header: str) -> str:
    """PO text: our own header (Babel drops X- fields), then the entries."""
    out = io.BytesIO()
    write_po(out, po, omit_header=True, include_previous=True, width=88, sort_output=False)
    return header.rstrip("\n") + "\n\n" + out.getvalue().decode("utf-8").strip("\n") + "\n"


def _header(language: str, reviewed: bool, by: str) -> str:
    """A catalog's header entry."""
    fields = [
        ("Project-Id-Version", "Screening questionnaire"),
        ("Language", language),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Transfer-Encoding", "8bit"),
        ("X-Reviewed", "yes" if reviewed else "no"),
        ("X-Reviewed-By", by),
    ]
    lines = ["# A translation of the questionnaire: msgctxt is the text's id, msgid its English."]
    lines += ['msgid ""', 'msgstr ""']
    lines += [f'"{name}: {value}\\n"' for name, value in fields]
    return "\n".join(lines) + "\n"


def _header_end(text: str) -> int:
    """Where the header entry ends (the first blank line after `msgstr ""`)."""
    start = text.find('msgstr ""')
    end = text.find("\n\n", max(start, 0))
    return len(text) if end < 0 else end + 1


# --- Using a catalog ------------------------------------------------------------------


def statuses(defn: Definition, catalog: Catalog, phones: Iterable[str] = ()) -> list[Status]:
    """Every text of the questionnaire and how it stands in `catalog`."""
    phones = tuple(phones) + ((defn.questionnaire.clinic.phone,) if defn.questionnaire.clinic.phone else ())
    return [_status(text, catalog.messages.get(text.key), phones) for text in texts(defn)]


def _status(text: Text, message: Message | None, phones: tuple[str, ...]) -> Status:
    """One text's status: translated only when made from exactly this English, and safe."""
    if message is None or not message.text.strip():
        if message is not None and message.source != text.source:
            return Status(text, "stale", None, message, _changed(message))
        return Status(text, "missing", None, message)
    if message.source != text.source:
        return Status(text, "stale", None, message, _changed(message))
    if message.fuzzy:
        why = "marked fuzzy: the translator has not checked it since the English changed"
        return Status(text, "stale", None, message, why)
    problem = number_problem(text.source, message.text, phones)
    if problem:
        return Status(text, "refused", None, message, problem)
    return Status(text, "translated", message.text, message)


def _changed(message: Message) -> str:
    """Why a translation is stale: its English is not today's."""
    before = message.source if len(message.source) <= 80 else message.source[:77] + "..."
    return f"the English has changed since it was translated (it was: {before!r})"


def counts(defn: Definition, catalog: Catalog, phones: Iterable[str] = ()) -> Counts:
    """How many texts are translated, stale, missing and refused, in all and per page."""
    total: Counter[str] = Counter()
    pages: dict[str, Counter[str]] = {}
    for status in statuses(defn, catalog, phones):
        total[status.state] += 1
        pages.setdefault(status.text.page, Counter())[status.state] += 1
    return Counts(total["translated"], total["stale"], total["missing"], total["refused"], pages)


def translated(defn: Definition, catalog: Catalog, phones: Iterable[str] = ()) -> Definition:
    """The questionnaire with every usable translation in place of its English.

    The same ids, answer values, conditions, flags, rules and cases: only texts change,
    so answers given in either language lead to the same outcome. Each text that is
    stale, missing or refused stays in the questionnaire's own language. The result has
    its own `version` (a hash of the words the patient reads).
    """
    data = copy.deepcopy(defn.raw)
    for status in statuses(defn, catalog, phones):
        if status.translation is not None:
            _set(data, status.text.path, status.translation)
    from . import from_data

    return from_data(data, source=f"{catalog.source or catalog.language} on {defn.questionnaire.id}", lines=None)


def _set(data: Any, path: Path, value: str) -> None:
    """Put `value` at `path` in plain data."""
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


# --- Checks ---------------------------------------------------------------------------


def number_problems(defn: Definition, catalog: Catalog, phones: Iterable[str] = ()) -> list[Problem]:
    """The translations refused for what they do to a phone or emergency number, each with
    the path and line of the English text in the questionnaire file."""
    return [
        Problem(
            s.text.path,
            f"the {catalog.language} translation of {s.text.key}"
            f" ({_where(catalog, s.message)}) {s.why}: a patient could call the wrong number",
            defn.line_of(s.text.path),
        )
        for s in statuses(defn, catalog, phones)
        if s.state == "refused"
    ]


def stale(defn: Definition, catalog: Catalog) -> list[Status]:
    """The translations made for English that has since changed: patients read the English."""
    return [s for s in statuses(defn, catalog) if s.state == "stale"]


def stale_report(defn: Definition, catalog: Catalog) -> list[str]:
    """One line per stale translation, naming its question (or other text) and its place."""
    return [
        f"{catalog.language}: {s.text.key} is out of date ({_where(catalog, s.message)}): {s.why};"
        f" patients read the {defn.questionnaire.id} English text until it is translated again"
        for s in stale(defn, catalog)
    ]


def _where(catalog: Catalog, message: Message | None) -> str:
    """`pl.po line 12`."""
    name = FilePath(catalog.source).name if catalog.source else catalog.language
    return f"{name} line {message.line}" if message is not None and message.line else name
