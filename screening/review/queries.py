"""The queue's queries, without Flask: filters, the keyset cursor, the triage-order walk,
the name and reference search, and the counts.

Paging is by keyset, never OFFSET, so page 20,000 costs what page 1 costs. The order
mixes ascending rank with descending time, which no single scan of the all-ascending
index (outcome_rank, created_at, id) can produce; rank has only four values, so each
rank is read as its own backwards range of that index and the ranges are concatenated.
The queue page and the CSV export both read through here.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, or_, select
from sqlalchemy.orm import Session

from ..models import REFERENCE_ALPHABET, QuestionnaireVersion, QueueCount, Submission
from ..questionnaire.vocabulary import OUTCOME_OF_RANK, OUTCOME_RANK

REFERENCE_RE = re.compile(f"[{REFERENCE_ALPHABET}]{{12}}")
# Spaces and any kind of dash, as a reference copied from an email or a letter may have.
REFERENCE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]")
MAX_CURSOR_LENGTH = 200
MAX_ID = 2**63 - 1  # a bigger id would overflow PostgreSQL's bigint: refuse it, don't crash


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the (outcome_rank, created_at, id) of its last row."""

    rank: int
    created_at: dt.datetime
    id: int

    @classmethod
    def after(cls, row: Any) -> Cursor:
        """The cursor just past this row."""
        return cls(row.outcome_rank, row.created_at, row.id)

    def encode(self) -> str:
        """Opaque, URL-safe text for the `after` parameter."""
        data = [self.rank, self.created_at.astimezone(dt.UTC).isoformat(), self.id]
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse an `after` parameter; ValueError if it was not made by `encode`."""
        if len(text) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            rank, stamp, row_id = json.loads(raw)
            created_at = dt.datetime.fromisoformat(stamp).astimezone(dt.UTC) if isinstance(stamp, str) else None
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, OverflowError):
            raise ValueError("not a cursor") from None
        # bool is an int to Python; a cursor never holds one.
        if type(rank) is not int or rank not in OUTCOME_OF_RANK or type(row_id) is not int or not 0 < row_id <= MAX_ID:
            raise ValueError("not a cursor")
        if created_at is None or dt.datetime.fromisoformat(stamp).tzinfo is None:
            raise ValueError("not a cursor")
        return cls(rank, created_at, row_id)


@dataclass(frozen=True)
class Filters:
    """Which submissions to list: every field None means all but the erased."""

    outcome: str | None = None
    state: str | None = None
    start: dt.date | None = None  # `from`, inclusive
    end: dt.date | None = None  # `to`, inclusive
    search: str | None = None  # the name or reference as typed (never put in a URL)
    search_key: str | None = None  # `s`: which of the session's kept searches (for links)
    name_prefix: str | None = None  # casefolded, like name_key: each word starts a word of the name
    reference: str | None = None  # XXXX-XXXX-XXXX
    until: dt.datetime | None = None  # exports: nothing submitted after the export began

    def conditions(self, with_outcome: bool = True, with_search: bool = True) -> list[ColumnElement[bool]]:
        """The WHERE clauses, optionally without the outcome (for the counts) or the search
        (when the matching ids are already known)."""
        where: list[ColumnElement[bool]] = []
        if with_outcome and self.outcome:
            where.append(Submission.outcome_rank == OUTCOME_RANK[self.outcome])
        # Erased rows stay out unless asked for; != keeps the plain queue index usable.
        where.append(Submission.review_state == self.state if self.state else Submission.review_state != "erased")
        if self.start:
            where.append(Submission.created_at >= day_start(self.start))
        if self.end and self.end < dt.date.max:
            where.append(Submission.created_at < day_start(self.end + dt.timedelta(days=1)))
        if self.until:
            where.append(Submission.created_at <= self.until)
        if with_search and (self.name_prefix or self.reference):
            where.append(self.search_condition())
        return where

    def search_condition(self) -> ColumnElement[bool]:
        """The name or reference search alone."""
        return or_(*self._search())

    def _search(self) -> list[ColumnElement[bool]]:
        """A name search; a reference-shaped search also matches the reference.

        Every word typed must start one of the words of the name, in any order: "smith",
        "mar smi" and "Smith Maria" all find Maria Smith. (Matching only the start of the
        whole name, as an index range, found nobody by surname.)
        """
        found: list[ColumnElement[bool]] = []
        if self.reference:
            found.append(Submission.reference == self.reference)
        if self.name_prefix:
            found.append(and_(*(_starts_a_word(word) for word in self.name_prefix.split())))
        return found

    def ranks(self, after: Cursor | None = None) -> list[int]:
        """The outcome ranks still to read, in order."""
        ranks = [OUTCOME_RANK[self.outcome]] if self.outcome else sorted(OUTCOME_OF_RANK)
        return [rank for rank in ranks if after is None or rank >= after.rank]

    def params(self, **changes: str | None) -> dict[str, str]:
        """The query-string parameters that reproduce these filters (for links): a search
        is named by its key in the session, so a patient's name is never in a URL."""
        values = {
            "outcome": self.outcome,
            "state": self.state,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "s": self.search_key,
        }
        values.update(changes)
        return {key: value for key, value in values.items() if value}

    def audit_detail(self) -> dict[str, Any]:
        """The filters for the audit log: a reference is an id, a name is personal data."""
        detail: dict[str, Any] = self.params(s=None)
        if self.reference:
            detail["reference"] = self.reference
        if self.name_prefix:
            detail["name_search"] = True
        return detail


def _like_escaped(text: str) -> str:
    """Text matched literally by LIKE ... ESCAPE '\\' (a typed % or _ is not a wildcard)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _starts_a_word(word: str) -> ColumnElement[bool]:
    """The casefolded name has a word starting with `word` (words split by spaces or hyphens)."""
    text = _like_escaped(word)
    return or_(
        *(Submission.name_key.like(pattern, escape="\\") for pattern in (f"{text}%", f"% {text}%", f"%-{text}%"))
    )


def day_start(day: dt.date) -> dt.datetime:
    """Midnight UTC at the start of a day."""
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def normalise_reference(text: str) -> str | None:
    """K7QM-4XR2-PD9H from 'k7qm 4xr2 pd9h', 'K7QM4XR2PD9H' and the like; None if not one."""
    compact = REFERENCE_SEPARATORS.sub("", text).upper()
    if not REFERENCE_RE.fullmatch(compact):
        return None
    return f"{compact[:4]}-{compact[4:8]}-{compact[8:]}"


# A name or reference search matches few rows: read them through the name and reference
# indexes and sort them here, rather than walk the whole queue index looking for them.
SEARCH_SORT_LIMIT = 2000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def walk(s: Session, filters: Filters, after: Cursor | None, size: int, columns: Sequence[Any]) -> list[Row]:
    """Up to `size` rows just past `after`, in triage order (columns must include
    outcome_rank, created_at and id)."""
    if filters.name_prefix or filters.reference:
        found = _search_rows(s, filters, after, size, columns)
        if found is not None:
            return found
    return _walk_ranks(s, filters, after, size, columns)


def _micros(moment: dt.datetime) -> int:
    """A timestamp as whole microseconds (exact, unlike a float)."""
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


def _triage_key(row: Any) -> tuple:
    """Triage order as a sort key: rank up, then newest first."""
    return (row.outcome_rank, -_micros(row.created_at), -row.id)


def matching_ids(s: Session, filters: Filters) -> list[int] | None:
    """The ids of the submissions the name or reference search matches (whatever the other
    filters); None when there are more than SEARCH_SORT_LIMIT.

    A reference is found through its unique index. A name is matched word by word, which
    no B-tree index can answer as a range: the words are read from the name index alone
    (name_key and the row id), never from the table with its answers.
    """
    ids: set[int] = set()
    if filters.reference:
        ids.update(s.scalars(select(Submission.id).where(Submission.reference == filters.reference)))
    if filters.name_prefix:
        words = and_(*(_starts_a_word(word) for word in filters.name_prefix.split()))
        stmt = select(Submission.id).where(Submission.name_key.is_not(None), words).limit(SEARCH_SORT_LIMIT + 1)
        ids.update(s.scalars(stmt))
    return sorted(ids) if len(ids) <= SEARCH_SORT_LIMIT else None


def _search_rows(s: Session, filters: Filters, after: Cursor | None, size: int, columns: Sequence[Any]) -> list | None:
    """A search's rows past `after` in triage order; None when it matches too many to sort.

    Only the sort keys of the matches are read and sorted; the page's rows are then
    fetched by id.
    """
    ids = matching_ids(s, filters)
    if ids is None:
        return None  # a common prefix: the ordered walk finds matches quickly anyway
    if not ids:
        return []
    where = [Submission.id.in_(ids), *filters.conditions(with_search=False)]
    keys = s.execute(select(Submission.outcome_rank, Submission.created_at, Submission.id).where(*where)).all()
    if after is not None:
        edge = (after.rank, -_micros(after.created_at), -after.id)
        keys = [key for key in keys if _triage_key(key) > edge]
    page = sorted(keys, key=_triage_key)[:size]
    if not page:
        return []
    rows = s.execute(select(*columns).where(Submission.id.in_([key.id for key in page]))).all()
    return sorted(rows, key=_triage_key)


def _walk_ranks(s: Session, filters: Filters, after: Cursor | None, size: int, columns: Sequence[Any]) -> list[Row]:
    """Up to `size` rows just past `after`, in triage order: one index range per outcome."""
    rows: list[Row] = []
    for rank in filters.ranks(after):
        stmt = select(*columns).where(*filters.conditions(with_outcome=False), Submission.outcome_rank == rank)
        if after is not None and rank == after.rank:
            # `created_at <= c` is the index range; the OR only trims ties on the boundary.
            stmt = stmt.where(
                Submission.created_at <= after.created_at,
                or_(Submission.created_at < after.created_at, Submission.id < after.id),
            )
        stmt = stmt.order_by(Submission.created_at.desc(), Submission.id.desc()).limit(size - len(rows))
        rows.extend(s.execute(stmt).all())
        if len(rows) >= size:
            break
    return rows


def count(s: Session, filters: Filters) -> int:
    """How many submissions match the filters."""
    return s.scalar(select(func.count()).select_from(Submission).where(*filters.conditions())) or 0


def versions_in(s: Session, filters: Filters) -> list[str]:
    """The questionnaire versions the matching submissions answered, oldest version first.

    One probe per stored version (there are few) through the (version, created_at) index.
    """
    stored = s.scalars(select(QuestionnaireVersion.version).order_by(QuestionnaireVersion.created_at, "version"))
    found = []
    for version in stored:
        probe = select(Submission.id).where(Submission.version == version, *filters.conditions()).limit(1)
        if s.scalar(probe) is not None:
            found.append(version)
    return found


# The counts per outcome come from queue_counts (kept by triggers in the same transaction
# as every write, so always exact) when the filters are whole days and a review state;
# only a name or reference search counts its matching rows, which are few. They may
# still be kept a few seconds per process and filter (QUEUE_COUNTS_CACHE_SECONDS).
_COUNTS: dict[tuple, tuple[float, dict[tuple[str, str], int]]] = {}


def counts_by_state(s: Session, filters: Filters, seconds: float = 5) -> dict[tuple[str, str], int]:
    """(review state, outcome) -> how many, for the filters other than outcome (kept `seconds`)."""
    params = tuple(sorted(filters.params(outcome=None, s=None).items()))
    key = (str(s.get_bind().engine.url), params, filters.reference, filters.name_prefix)
    now = time.monotonic()
    cached = _COUNTS.get(key)
    if cached and cached[0] > now:
        return cached[1]
    counts = _count(s, filters)
    if seconds > 0:
        if len(_COUNTS) > 1000:  # many different filters: start again rather than grow
            _COUNTS.clear()
        _COUNTS[key] = (now + seconds, counts)
    return counts


def _count(s: Session, filters: Filters) -> dict[tuple[str, str], int]:
    """(review state, outcome) -> how many: from the kept counts, or by counting a search's rows."""
    if filters.name_prefix or filters.reference or filters.until:
        return _count_rows(s, filters)
    where = [QueueCount.review_state == filters.state if filters.state else QueueCount.review_state != "erased"]
    if filters.start:
        where.append(QueueCount.day >= filters.start.isoformat())
    if filters.end:
        where.append(QueueCount.day <= filters.end.isoformat())
    stmt = (
        select(QueueCount.review_state, QueueCount.outcome_rank, func.sum(QueueCount.n))
        .where(*where)
        .group_by(QueueCount.review_state, QueueCount.outcome_rank)
    )
    return {(state, OUTCOME_OF_RANK[rank]): int(n) for state, rank, n in s.execute(stmt) if n}


def _count_rows(s: Session, filters: Filters) -> dict[tuple[str, str], int]:
    """(review state, outcome) -> how many, by counting the matching submissions."""
    where = filters.conditions(with_outcome=False)
    if filters.name_prefix or filters.reference:
        ids = matching_ids(s, filters)
        if ids is not None:  # few: count them by id rather than match every name again
            where = [Submission.id.in_(ids), *filters.conditions(with_outcome=False, with_search=False)]
    stmt = (
        select(Submission.review_state, Submission.outcome_rank, func.count())
        .where(*where)
        .group_by(Submission.review_state, Submission.outcome_rank)
    )
    return {(state, OUTCOME_OF_RANK[rank]): n for state, rank, n in s.execute(stmt)}
