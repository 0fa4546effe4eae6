"""The catalogs on disk, read and compiled in memory when the app starts: each
questionnaire's by language, and the pages' (Flask-Babel's `messages`), with the
entries that would break a page or change a phone number left out."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from ..questionnaire import Definition, QuestionnaireError
from ..questionnaire import translations as qt
from ..questionnaire.numbers import number_problem


@dataclass
class PagesCatalog:
    """One language's catalog of the pages' words, compiled."""

    language: str
    reviewed: bool
    translations: Translations
    refused: list[str] = field(default_factory=list)  # entries that change a number: not used


@dataclass
class Languages:
    """Every catalog the app has, read once at start-up."""

    default: str
    questionnaires: dict[str, dict[str, qt.Catalog]] = field(default_factory=dict)  # id -> lang -> catalog
    pages: dict[str, PagesCatalog] = field(default_factory=dict)
    broken: list[str] = field(default_factory=list)  # catalogs that cannot be read, for the admin page
    _offered: dict[str, tuple[str, ...]] = field(default_factory=dict)  # by definition version
    _translated: dict[tuple[str, str], Definition] = field(default_factory=dict)


def load_catalogs(directory: str | Path, default: str) -> Languages:
    """Read every catalog under `directory`; one that cannot be read is left out and named."""
    root = Path(directory)
    found = Languages(default=default)
    for path in sorted((root / "questionnaires").glob("*/*.po")):
        try:
            catalog = qt.read_catalog(path)
        except QuestionnaireError as exc:
            found.broken.append(exc.report())
            continue
        found.questionnaires.setdefault(path.parent.name, {})[catalog.language] = catalog
    for path in sorted((root / "pages").glob("*/LC_MESSAGES/messages.po")):
        language = path.parent.parent.name.replace("_", "-")
        try:
            found.pages[language] = compile_pages(path, language)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            found.broken.append(f"{path}: cannot be read: {exc}")
    return found


def compile_pages(path: Path, language: str) -> PagesCatalog:
    """A pages catalog compiled in memory (no .mo file needed); fuzzy entries are left out."""
    text = path.read_text(encoding="utf-8")
    po = read_po(io.StringIO(text), abort_invalid=True)
    refused = []
    broken = []  # a placeholder lost or renamed would break the page: the English is shown
    for message in po:
        if not message.id or not message.string:
            continue
        if isinstance(message.id, str) != isinstance(message.string, str) or any(
            _placeholders(text) != _placeholders(message.id) for text in _forms(message.string)
        ):
            broken.append(message)
            continue
        if not isinstance(message.id, str) or not isinstance(message.string, str):
            continue
        problem = number_problem(message.id, message.string) if message.string else None
        if problem:
            refused.append(f"{path.name} line {message.lineno}: the translation of {message.id!r} {problem}")
            message.string = ""  # the English is shown instead
    for message in broken:
        po.delete(message.id, context=message.context)
    buffer = io.BytesIO()
    write_mo(buffer, po, use_fuzzy=False)
    buffer.seek(0)
    reviewed = qt.parse_catalog(header_only(text), str(path), language).reviewed
    return PagesCatalog(language, reviewed, Translations(buffer, domain="messages"), refused)


_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _forms(text: str | tuple | list) -> list[str]:
    """A text, or each of its plural forms."""
    return [text] if isinstance(text, str) else [t for t in text if t]


def _placeholders(text: str | tuple | list) -> set[str]:
    """The named placeholders (`%(name)s`) of a text (of every plural form together)."""
    return {name for t in _forms(text) for name in _PLACEHOLDER.findall(t)}


def header_only(text: str) -> str:
    """The header entry of a PO file (for its X-Reviewed fields)."""
    end = text.find("\n\n", text.find('msgstr ""'))
    return text if end < 0 else text[:end]
