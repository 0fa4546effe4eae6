"""5. Start-up: process start to the first /healthz 200, default and 10x questionnaire.

gunicorn with the production config (preloaded app, the configured workers) is
started cold and polled every 5 ms; the bare baseline app is started the same way
for comparison. A questionnaire ten times the default is made by copying every
section nine times with renamed section and question ids (conditions renamed to
match), and checked with screening.questionnaire.load before it is used.
"""

from __future__ import annotations

import copy
import datetime as dt
import statistics
import time
from pathlib import Path
from typing import Any

import yaml

from screening.embedded_cases import case_problems
from screening.questionnaire import load, safety

from .common import ROOT, Server, Target

COMBINATORS = ("all", "any")
# libyaml's C loader and dumper where PyYAML has them: the 10x file is 300 kB.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def renamed(condition: Any, names: dict[str, str]) -> Any:
    """A named condition with its question ids renamed (values, operators and derived names kept)."""
    if isinstance(condition, list):
        return [renamed(c, names) for c in condition]
    if not isinstance(condition, dict):
        return condition
    out = {}
    for key, value in condition.items():
        if key in COMBINATORS or key == "not":
            out[key] = renamed(value, names)
        else:
            out[names.get(key, key)] = value
    return out


def larger_questionnaire(times: int, folder: Path) -> Path:
    """questions.yaml with every section repeated `times` times in all; validated."""
    data = yaml.load((ROOT / "questions.yaml").read_text(encoding="utf-8"), Loader=SafeLoader)
    originals = list(data["sections"])
    cases = list(data.get("tests", []))
    for n in range(2, times + 1):
        suffix = f"_x{n}"
        names = {q["id"]: q["id"] + suffix for s in originals for q in s["questions"]}
        for section in originals:
            twin = copy.deepcopy(section)
            twin["id"] += suffix
            twin["title"] += f" ({n})"
            for q in twin["questions"]:
                q["id"] = names[q["id"]]
                if "show_if" in q:
                    q["show_if"] = renamed(q["show_if"], names)
            data["sections"].append(twin)
        data["tests"] += [twin for case in cases if (twin := renamed_case(case, names, suffix))]
    path = folder / f"questions-x{times}.yaml"
    text = yaml.dump(data, Dumper=SafeDumper, sort_keys=False, allow_unicode=True, width=1 << 16)
    # The copies repeat the red-flag questions, so the safety-critical text (and its
    # fingerprint) differs from the signed original: the app would refuse to start. This
    # throw-away copy is never shown to a patient; it is signed as the benchmark's own.
    text, _ = safety.sign(text, str(path), "Benchmark copy, never shown to patients", dt.date.today().isoformat())
    path.write_text(text, encoding="utf-8")
    return path


def check(path: Path, cases: bool = True) -> dict[str, Any]:
    """Validate a questionnaire as the app does at start-up, timing each step.

    load() raises with every problem listed if the file is not valid; the embedded test
    cases must pass and exercise every serious flag too, or the app refuses to start
    (with `cases` false that is left to the app: gunicorn would exit, and say why).
    """
    started = time.perf_counter()
    defn = load(path)
    loaded = time.perf_counter()
    problems = safety.sign_off_problems(defn) + (case_problems(defn) if cases else [])
    if problems:
        raise RuntimeError(f"{path.name} would not start: {problems[0].message}")
    return {
        "questions": len(defn.questions),
        "sections": len(defn.sections),
        "cases": len(defn.tests),
        "bytes": path.stat().st_size,
        "load_s": round(loaded - started, 3),
        "cases_s": round(time.perf_counter() - loaded, 3) if cases else None,
    }


def renamed_case(case: dict[str, Any], names: dict[str, str], suffix: str) -> dict[str, Any] | None:
    """A test case for one copy, when it is about questions only (rules and derived values are not copied)."""
    if not set(case.get("answers", {})) <= set(names) or not set(case.get("flags", [])) <= set(names):
        return None
    twin = copy.deepcopy(case)
    twin["name"] += suffix
    twin["answers"] = {names[qid]: value for qid, value in case["answers"].items()}
    twin["flags"] = [names[fid] for fid in case.get("flags", [])]
    return twin


def cold_start(config: str, env: dict[str, str], log: Path) -> float:
    """Seconds from starting gunicorn to its first /healthz 200."""
    server = Server(config, env, log)
    try:
        return server.start()
    finally:
        server.stop()


def measure(target: Target, quick: bool) -> dict[str, Any]:
    """Median start-up times of the app and the baseline with both questionnaires."""
    # The default starts in about a second: three tries; the 10x one takes several: one.
    repeats = {"default": 1 if quick else 3, "10x": 1}
    big = larger_questionnaire(10, target.workdir)
    files = {"default": ROOT / "questions.yaml", "10x": big}
    result: dict[str, Any] = {"repeats": repeats}
    for label, path in files.items():
        facts = check(path, cases=not quick)
        env = target.env() | {"SCREENING_QUESTIONS_PATH": str(path)}
        base_env = env | {"BASELINE_DATABASE_URL": target.url}
        app_times, base_times = [], []
        for _ in range(repeats[label]):  # alternate, so drift on the machine hits both
            app_times.append(cold_start("screening.gunicorn_conf", env, target.workdir / "startup.log"))
            base_times.append(cold_start("benchmarks.baseline_conf", base_env, target.workdir / "startup.log"))
        result[label] = facts | {
            "app_s": round(statistics.median(app_times), 3),
            "baseline_s": round(statistics.median(base_times), 3),
            "app_runs_s": [round(t, 3) for t in app_times],
        }
    return result
