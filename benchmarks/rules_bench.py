"""4. Rules: answer sets evaluated per CPU-second on one core, against json.loads.

The answer sets are the seed's: the default questionnaire's fullest all-clear case
varied a few answers at a time and across ages, so every outcome and most flags occur.
Rates are per CPU-second of this process (time.process_time), which a noisy
neighbour on a shared machine disturbs far less than wall time.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from screening import rules
from screening.questionnaire import coerce_answers, load
from screening.seed import answer_pool

from .common import ROOT


def answer_sets(count: int) -> tuple[Any, list[str]]:
    """The definition and `count` varied answer sets as JSON text."""
    defn = load(ROOT / "questions.yaml")
    pool = answer_pool(defn, random.Random(6), size=count)
    texts = [json.dumps(entry["answers"]) for entries in pool.values() for entry in entries]
    random.Random(7).shuffle(texts)
    return defn, texts


def rate(work: Callable[[], int], seconds: float) -> dict[str, float]:
    """Items per CPU-second (and per wall-second) of `work`, repeated for about `seconds`."""
    work()  # warm-up
    done, cpu, wall = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - wall < seconds:
        done += work()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"items": done, "per_cpu_s": round(done / cpu), "per_wall_s": round(done / wall)}


def measure(quick: bool) -> dict[str, Any]:
    """Both rates and their ratio."""
    seconds = 0.5 if quick else 2
    defn, texts = answer_sets(400 if quick else 1500)
    parsed = [json.loads(t) for t in texts]
    today = dt.date.today()
    outcomes = Counter(rules.evaluate(defn, a, today).outcome for a in parsed)

    def parse_all() -> int:
        """The baseline: parse every answer set."""
        for text in texts:
            json.loads(text)
        return len(texts)

    def evaluate_all() -> int:
        """Evaluate every (already parsed) answer set."""
        for answers in parsed:
            rules.evaluate(defn, answers, today)
        return len(parsed)

    def check_and_evaluate_all() -> int:
        """What `flask evaluate` does per set: parse, check every answer, evaluate."""
        for text in texts:
            rules.evaluate(defn, coerce_answers(defn, json.loads(text), today), today)
        return len(texts)

    result = {
        "answer_sets": len(texts),
        "outcomes": dict(outcomes),
        "questions": len(defn.questions),
        "json_loads": rate(parse_all, seconds),
        "evaluate": rate(evaluate_all, seconds),
        "parse_check_evaluate": rate(check_and_evaluate_all, seconds),
    }
    result["ratio"] = round(result["evaluate"]["per_cpu_s"] / result["json_loads"]["per_cpu_s"], 4)
    return result
