"""`make bench`: every benchmark, one table, the same figures as JSON.

    .venv/bin/python -m benchmarks.run [--quick] [--postgres URL] [--only NAME ...]

Runs on SQLite (a temporary file) and, when BENCH_DATABASE_URL or --postgres names
one, on PostgreSQL too (that database is emptied: its name must contain 'bench').
Every speed is compared with a baseline measured in the same run, because the
machine is shared and noisy. Results go to benchmarks/results.json (results-quick.json
with --quick), which git ignores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sqlite3
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from . import export_bench, http_bench, outbox_bench, queue_bench, report, rules_bench, startup_bench
from .common import Target, flask, postgres_target, sqlite_target, vacuum_analyze

HERE = Path(__file__).resolve().parent
SECTIONS = ("http", "outbox", "queue", "export", "rules", "startup")


PHASES: dict[str, float] = {}  # how long each step took, for the JSON
_last: list[Any] = [None, 0.0]


def say(message: str | None) -> None:
    """Progress on stderr (the table goes to stdout); also times the step that just ended."""
    now = time.perf_counter()
    if _last[0] is not None:
        PHASES[_last[0]] = round(now - _last[1], 1)
    _last[:] = [message, now]
    if message:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine(postgres_url: str | None) -> dict[str, Any]:
    """What the figures were measured on."""
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        meminfo = Path("/proc/meminfo").read_text()
        info["memory_gb"] = round(int(meminfo.split("MemTotal:")[1].split()[0]) / 1024 / 1024, 1)
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = cpuinfo.split("model name")[1].split(":", 1)[1].split("\n")[0].strip()
    except (OSError, IndexError):
        pass
    if postgres_url:
        engine = create_engine(postgres_url)
        with engine.connect() as conn:
            info["postgresql"] = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
    return info


def seed(target: Target, count: int, random_seed: int) -> dict[str, Any]:
    """Add `count` rows with `flask seed`, timed."""
    run = flask(target, "seed", "--count", str(count), "--random-seed", str(random_seed), "--quiet", timeout=1200)
    return {"rows": count, "seconds": round(run.seconds, 1), "rows_per_s": round(count / run.seconds)}


def database_benchmarks(target: Target, quick: bool, only: set[str]) -> dict[str, Any]:
    """HTTP load, then seed to the small size (export), then to the large (queue, export)."""
    small, large = (10_000, 100_000) if quick else (100_000, 1_000_000)
    out: dict[str, Any] = {}
    tag = target.name
    if "http" in only:
        say(f"{tag}: patients over HTTP, app and baseline")
        out["http"] = http_bench.measure(target, quick)
    if "outbox" in only:
        say(f"{tag}: the outbox: Send with and without it, the relay's throughput")
        out["outbox"] = outbox_bench.measure(target, quick)
    if only & {"queue", "export"}:
        say(f"{tag}: seeding {small:,} submissions")
        first = seed(target, small, 1)
        out["export"] = []
        if "export" in only:
            say(f"{tag}: export at {small:,}")
            # The baseline runs once, at the first size of 100k rows or more (its start-up is
            # then about 1% of its time; at 1M it would add a minute or more to the run).
            out["export"].append(export_bench.measure(target, small, with_baseline=small >= 100_000))
        say(f"{tag}: seeding {large - small:,} more")
        second = seed(target, large - small, 2)
        seconds = first["seconds"] + second["seconds"]
        out["seed"] = {"rows": large, "seconds": round(seconds, 1), "rows_per_s": round(large / seconds)}
        # PostgreSQL's autovacuum would get there soon after a bulk load; SQLite is left as
        # the app leaves it (it never runs ANALYZE), so the plans are the ones users get.
        if not target.is_sqlite:
            vacuum_analyze(target)
        if "queue" in only:
            say(f"{tag}: the queue at {large:,}")
            out["queue"] = queue_bench.measure(target, quick, large)
        if "export" in only:
            say(f"{tag}: export at {large:,}")
            needed = not any("baseline" in run for run in out["export"])
            out["export"].append(export_bench.measure(target, large, with_baseline=needed))
            export_bench.compare(out["export"])
    return out


def plan_lines(results: dict[str, Any]) -> str:
    """The query plans of every queue scenario, compactly."""
    lines = []
    for db in report.DBS:
        queue = results.get(db, {}).get("queue")
        if not queue:
            continue
        lines.append(f"Query plans, {db} ({'EXPLAIN QUERY PLAN' if db == 'sqlite' else 'EXPLAIN'}):")
        for name, scenario in queue["scenarios"].items():
            for plan in scenario["plans"]:
                steps = [s for s in plan["plan"] if db == "sqlite" or "Scan" in s or "Index" in s or "Sort" in s]
                mark = "" if plan["uses_index"] else "  <-- FULL TABLE SCAN"
                lines.append(f"  {name} [{plan['query']}]: {' | '.join(steps)}{mark}")
    return "\n".join(lines)


def main() -> None:
    """Run, print the table, save the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and shorter phases (under a minute)")
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--output", type=Path, help="where to write the JSON (default benchmarks/results*.json)")
    args = parser.parse_args()
    only = set(args.only)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(args.postgres),
    }
    targets: list[tuple[str, AbstractContextManager[Target]]] = [("sqlite", sqlite_target())]
    if args.postgres:
        targets.append(("postgresql", postgres_target(args.postgres)))
    db_sections = only & {"http", "outbox", "queue", "export"}
    for key, context in targets:
        if not db_sections:
            break
        with context as target:
            results[key] = database_benchmarks(target, args.quick, only)
    if "rules" in only:
        say("rules: evaluate against json.loads")
        results["rules"] = rules_bench.measure(args.quick)
    if "startup" in only:
        say("start-up: default and 10x questionnaire")
        with sqlite_target() as target:
            results["startup"] = startup_bench.measure(target, args.quick)
    say(None)
    results["phase_seconds"] = PHASES
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds"] = round(time.perf_counter() - started, 1)
    output = args.output or HERE / ("results-quick.json" if args.quick else "results.json")
    output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    m = results["machine"]
    print(
        f"Screening benchmarks{' (quick)' if args.quick else ''}: {m['cores']} cores, {m.get('memory_gb', '?')} GB, "
        f"{m.get('cpu', '?')}; Python {m['python']}, SQLite {m['sqlite']}"
        + (
            f", PostgreSQL {m['postgresql']}"
            if m.get("postgresql")
            else ", PostgreSQL not run (set BENCH_DATABASE_URL)"
        )
        + f"; load average {m['load_average_at_start'][0]} at start, {m['load_average_at_end'][0]} at end"
    )
    print(report.build(results))
    plans = plan_lines(results)
    if plans:
        print(plans)
    print(f"Took {results['seconds']:.0f} s. Figures saved to {output}")


if __name__ == "__main__":
    main()
