"""`flask --app screening seed --count N`: realistic demo and benchmark submissions, fast.

Answer sets are made by varying the questionnaire's own fullest "suitable" test case
and run through the real rules, so every seeded row's flags and outcome are what the
app would have worked out. A pool of them is sampled to a clinic-like spread of
outcomes (mostly suitable or review, a few urgent), spread over the last two years,
with names, review states and unique references, and inserted with executemany in
batches, each in its own write transaction.

Seeded rows have a draft token starting `seed-`, so they can be told apart (and
deleted) later.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Connection, Table, insert, select

from . import db, rules
from .models import OUTCOME_RANK, REFERENCE_ALPHABET, QuestionnaireVersion, Submission, User, utcnow
from .questionnaire import AnswerError, Definition, InvalidAnswer, Question, UnknownQuestion, coerce_answers, sample
from .questionnaire.samples import sample_date

BATCH_SIZE = 10_000
SQLITE_CACHE_KB = 256 * 1024  # page cache while seeding
POOL_SIZE = 3_000  # candidate answer sets evaluated before sampling
# A clinic's spread of outcomes; an outcome the questionnaire can never give is skipped.
OUTCOME_SHARE = {"suitable": 0.52, "review": 0.36, "not_suitable": 0.08, "urgent": 0.04}
REVIEW_OUTCOME_SHARE = {"cleared": 0.80, "contacted": 0.12, "referred": 0.05, "other": 0.03}


def _words(text: str) -> tuple[str, ...]:
    """The words of a long string (a name list reads better as text)."""
    return tuple(text.split())


FIRST_NAMES = _words(
    "Aaliyah Aaron Abdul Ada Adam Aditi Agnieszka Ahmed Aisha Alan Alex Alice Amara Amelia Amir Ana Andrew Angela "
    "Anil Ann Anna Arjun Ava Ben Beth Bilal Bridget Callum Carla Carlos Chen Chloe Chris Ciara Claire Daniel David "
    "Deborah Deepa Dylan Eilidh Elena Eleanor Eli Emily Emma Eoin Erin Ewa Fatima Finn Fiona Freya Gareth Grace "
    "Hamza Hannah Harry Hassan Helen Ian Imran Isla Ivan Jack Jade James Jane Jasmine Jenny John Jordan Joseph "
    "Julia Kate Kavya Kemi Khadija Kieran Laura Leah Liam Lily Lucy Łukasz Maria Mark Martha Mary Matthew Mei "
    "Mohammed Nadia Naomi Niamh Ngozi Noah Nora Oliver Olivia Omar Oscar Paul Peter Priya Rachel Rahul Rebecca Rhys "
    "Rosa Ruth Ryan Sam Sara Sean Siân Simon Sofia Sophie Stephen Sunita Susan Thomas Tom Una Victoria Wei Yusuf Zoë"
)
LAST_NAMES = _words(
    "Abbott Adams Adeyemi Ahmed Ali Allen Anderson Bailey Baker Banerjee Bell Bennett Brown Campbell Carter Chan "
    "Chowdhury Clark Clarke Collins Cook Cooper Davies Davis Doherty Edwards Evans Fernández Fisher Fitzgerald "
    "Foster Gallagher García Gill Graham Green Griffiths Hall Harris Hughes Hussain Jackson James Jenkins Johnson "
    "Jones Kaur Kelly Khan King Kowalski Lee Lewis Li Lloyd Lopez MacDonald Martin Mason McCarthy Mitchell Moore "
    "Morgan Morris Murphy Murray Nguyen Nowak O'Brien O'Connor Okafor Owen Parker Patel Phillips Price Reid "
    "Richards Roberts Robinson Rogers Rossi Russell Scott Shah Singh Smith Stewart Taylor Thomas Thompson Turner "
    "Walker Walsh Ward Watson White Williams Wilson Wood Wright Young Zhang"
)


def reference_factory() -> Callable[[], str]:
    """A fast maker of unique-enough references (60 random bits from os.urandom, like new_reference)."""
    alphabet = REFERENCE_ALPHABET
    buffer: list[int] = []

    def make() -> str:
        """One reference, XXXX-XXXX-XXXX."""
        if not buffer:
            # One system call per 4,096 references: os.urandom per row would dominate.
            data = os.urandom(8 * 4096)
            buffer.extend(int.from_bytes(data[i : i + 8], "big") for i in range(0, len(data), 8))
        bits = buffer.pop()
        chars = [alphabet[(bits >> (5 * i)) & 31] for i in range(12)]
        return "".join(chars[:4]) + "-" + "".join(chars[4:8]) + "-" + "".join(chars[8:])

    return make


def random_name(rng: random.Random) -> str:
    """A patient's full name."""
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def random_answer(q: Question, rng: random.Random, today: dt.date, name_question: str) -> Any:
    """A valid answer of the question's type (checked again by coerce_answers afterwards)."""
    if q.id == name_question and q.type in ("text", "textarea"):
        return random_name(rng)  # the name question reads like a name in the queue
    return sample(q, rng, today)


def base_answers(defn: Definition, rng: random.Random, today: dt.date, name_question: str) -> dict[str, Any]:
    """The fullest 'suitable' test case of the questionnaire, or an answer to every question."""
    cases = [c for c in defn.tests if c.outcome == "suitable"]
    if cases:
        case = max(cases, key=lambda c: len(c.answers))
        try:
            return coerce_answers(defn, case.answers, today)
        except (UnknownQuestion, InvalidAnswer):
            pass
    return {qid: random_answer(q, rng, today, name_question) for qid, q in defn.questions.items()}


def vary(defn: Definition, base: dict[str, Any], rng: random.Random, today: dt.date, name_question: str) -> dict:
    """The base answers with a few changed, and every question they reveal answered."""
    answers = dict(base)
    ids = list(defn.questions)
    for qid in rng.sample(ids, k=min(len(ids), rng.choice((0, 0, 1, 1, 1, 2, 2, 3, 4)))):
        answers[qid] = random_answer(defn.questions[qid], rng, today, name_question)
    # Ages vary in every set: a date of birth drives derived values and their flags.
    for qid, q in defn.questions.items():
        if q.type == "date" and q.max == "today" and rng.random() < 0.7:
            answers[qid] = sample_date(q, rng, today)
    for _ in range(5):  # a changed answer can show another required question
        missing = rules.missing_required(defn, answers, today)
        if not missing:
            break
        for qid in missing:
            answers[qid] = random_answer(defn.questions[qid], rng, today, name_question)
    return answers


def answer_pool(defn: Definition, rng: random.Random, size: int = POOL_SIZE, today: dt.date | None = None) -> dict:
    """Evaluated answer sets grouped by outcome: {outcome: [row values]}."""
    today = today or dt.date.today()
    name_question = current_name_question()
    base = base_answers(defn, rng, today, name_question)
    pool: dict[str, list[dict[str, Any]]] = {outcome: [] for outcome in OUTCOME_RANK}
    for _ in range(size):
        try:
            answers = coerce_answers(defn, vary(defn, base, rng, today, name_question), today)
        except (UnknownQuestion, InvalidAnswer, AnswerError):
            continue
        result = rules.evaluate(defn, answers, today)
        pool[result.outcome].append(
            {
                "answers": result.answers,
                "derived": result.derived,
                "flags": [f.to_dict() for f in result.flags],
                "outcome": result.outcome,
                "outcome_rank": OUTCOME_RANK[result.outcome],
                "urgent_advice": result.advice,
            }
        )
    return pool


def current_name_question() -> str:
    """The question whose answer is the patient's name (as configured), outside or inside an app."""
    try:
        return current_app.config["PATIENT_NAME_QUESTION"]
    except RuntimeError:
        return "full_name"


def weighted(choices: dict[str, float], rng: random.Random) -> Callable[[], str]:
    """A sampler of keys in proportion to their weights."""
    keys, cumulative = list(choices), list(itertools.accumulate(choices.values()))
    return lambda: rng.choices(keys, cum_weights=cumulative)[0]


def rows(
    defn: Definition,
    count: int,
    rng: random.Random,
    years: float = 2.0,
    reviewer_id: int | None = None,
    now: dt.datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """`count` submission rows, ready for insert(Submission.__table__)."""
    now = now or utcnow()
    # A small seed needs fewer distinct answer sets (each costs an evaluation up front).
    pool = answer_pool(defn, rng, size=min(POOL_SIZE, max(300, count // 20)))
    shares = {outcome: share for outcome, share in OUTCOME_SHARE.items() if pool[outcome]}
    if not shares:
        raise click.ClickException("no answer set could be made for this questionnaire")
    outcome_of = weighted(shares, rng)
    review_outcome_of = weighted(REVIEW_OUTCOME_SHARE, rng)
    reference = reference_factory()
    name_question = current_name_question()
    run = os.urandom(4).hex()  # draft tokens: unique across runs, in insertion order within one
    # Looked up once: pydantic attribute access costs microseconds, a million times over.
    version, questionnaire_id, has_name = defn.version, defn.questionnaire.id, name_question in defn.questions
    for n, age in enumerate(ages(count, years * 365 * 86400, rng)):
        base = rng.choice(pool[outcome_of()])
        created_at = now - dt.timedelta(seconds=age)
        state = review_state(age / 86400, rng)
        ref = reference()
        row = {
            **base,
            "reference": ref,
            "draft_token": f"seed-{run}-{n:09d}",
            "questionnaire_id": questionnaire_id,
            "version": version,
            "created_at": created_at,
            "review_state": state,
            "reviewed_by_id": None,
            "reviewed_at": None,
            "review_outcome": None,
            "erased_at": None,
            "patient_name": None,
            "name_key": None,
        }
        if state == "erased":
            # As retention.erase leaves a row: no answers, flags or name.
            row.update(answers={}, derived={}, flags=[], erased_at=created_at + dt.timedelta(days=400))
        else:
            name = random_name(rng)
            if has_name:
                row["answers"] = {**base["answers"], name_question: name}
            row.update(patient_name=name, name_key=name.casefold())
        if state != "new":
            reviewed_at = min(now, created_at + dt.timedelta(hours=rng.uniform(0.2, 72)))
            row.update(reviewed_by_id=reviewer_id, reviewed_at=reviewed_at, review_outcome=review_outcome_of())
        yield row


def ages(count: int, span: float, rng: random.Random) -> Iterator[float]:
    """Uniformly spread ages in seconds, oldest first, as submissions arrive.

    Rows inserted in time order append to the time-ordered indexes instead of landing
    all over them, which keeps a million-row seed fast (and ids rise with time, as in
    real use). Each chunk covers its share of the span, sorted within.
    """
    chunk = 4096
    for start in range(0, count, chunk):
        size = min(chunk, count - start)
        oldest = span * (1 - start / count)
        width = span * size / count
        yield from sorted((oldest - width * rng.random() for _ in range(size)), reverse=True)


def review_state(age_days: float, rng: random.Random) -> str:
    """Recent submissions are mostly new; old ones reviewed, a few erased."""
    if age_days < 3:
        return "new" if rng.random() < 0.8 else "reviewed"
    if age_days < 30:
        return "new" if rng.random() < 0.2 else "reviewed"
    roll = rng.random()
    return "new" if roll < 0.02 else "erased" if roll > 0.995 and age_days > 365 else "reviewed"


def ensure_version(database: db.Database, defn: Definition) -> None:
    """Store the running questionnaire's definition, which every seeded row points at."""
    with database.transaction() as s:
        if s.get(QuestionnaireVersion, defn.version) is None:
            s.add(
                QuestionnaireVersion(version=defn.version, questionnaire_id=defn.questionnaire.id, definition=defn.raw)
            )


def seed(
    database: db.Database,
    defn: Definition,
    count: int,
    batch_size: int = BATCH_SIZE,
    years: float = 2.0,
    random_seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Insert `count` realistic submissions in batches; returns how many were inserted."""
    ensure_version(database, defn)
    with database.sessions() as s:
        reviewer_id = s.scalar(select(User.id).where(User.active.is_(True)).order_by(User.id).limit(1))
    rng = random.Random(random_seed)  # noqa: S311 - made-up data; references use os.urandom
    statement = insert(cast(Table, Submission.__table__))
    done = 0
    # One connection throughout (write_engine: BEGIN IMMEDIATE on SQLite), one transaction per batch.
    with database.write_engine.connect() as conn:
        if database.is_sqlite:
            # The unique indexes on random references take inserts all over their B-trees:
            # SQLite's default 2 MB page cache makes 1M rows twice as slow as 256 MB does.
            conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
            conn.commit()
        batch: list[dict[str, Any]] = []
        for row in rows(defn, count, rng, years, reviewer_id):
            batch.append(row)
            if len(batch) == batch_size:
                done += _insert(conn, statement, batch)
                batch = []
                if progress:
                    progress(done)
        if batch:
            done += _insert(conn, statement, batch)
            if progress:
                progress(done)
        if database.is_sqlite:
            conn.exec_driver_sql("PRAGMA cache_size = -2000")  # the pool keeps this connection
            conn.commit()
    return done


def _insert(conn: Connection, statement: Any, batch: list[dict[str, Any]]) -> int:
    """One batch in one write transaction (executemany)."""
    with conn.begin():
        conn.execute(statement, batch)
    return len(batch)


@click.command("seed")
@click.option("--count", type=click.IntRange(min=1), required=True, help="How many submissions to add.")
@click.option("--batch-size", type=click.IntRange(min=1), default=BATCH_SIZE, show_default=True)
@click.option("--years", type=click.FloatRange(min=0.01), default=2.0, show_default=True, help="Spread over this long.")
@click.option("--random-seed", type=int, help="Repeat the same answers, names and dates (references stay random).")
@click.option("--quiet", is_flag=True, help="Print only the summary.")
@with_appcontext
def seed_command(count: int, batch_size: int, years: float, random_seed: int | None, quiet: bool) -> None:
    """Add COUNT made-up submissions (demo and benchmark data; draft tokens start 'seed-')."""
    defn = current_app.extensions["screening.questionnaire"]
    started = time.perf_counter()

    def progress(done: int) -> None:
        """A line every 100,000 rows."""
        if not quiet and (done % 100_000 == 0 or done == count):
            click.echo(f"  {done:,} of {count:,} ({time.perf_counter() - started:.1f} s)", err=True)

    done = seed(db.get_db(), defn, count, batch_size, years, random_seed, progress)
    elapsed = time.perf_counter() - started
    click.echo(f"Seeded {done:,} submissions in {elapsed:.1f} s ({done / elapsed:,.0f} rows/s).")
