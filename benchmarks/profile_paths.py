"""Where the time goes on the slow paths `make bench` times: cProfile of each, in-process.

    .venv/bin/python -m benchmarks.profile_paths startup [--times 10]
    .venv/bin/python -m benchmarks.profile_paths queue [--rows 100000] [--postgres URL]
    .venv/bin/python -m benchmarks.profile_paths export [--rows 100000] [--postgres URL]

- startup: building the app as gunicorn's master does (`create_app()`: configuration,
  the questionnaire loaded and checked with its test cases, the pages registered), with
  questions.yaml or a copy `--times` its size.
- queue: every queue view of queue_bench (first page, page 1,000, filters, searches),
  signed in, the counts cache off, each view 10 times, on `--rows` seeded submissions.
- export: `flask export --output /dev/null` in-process on `--rows` seeded submissions.

(The intake's own profile is `python -m benchmarks.profile_intake`.) Prints the functions
with the most cumulative and own time, with site-packages paths shortened.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import time
from collections.abc import Callable
from typing import Any

from .common import ROOT, SECRET_KEY, Target, flask, postgres_target, sqlite_target


def profiled(call: Callable[[], Any], top: int) -> None:
    """Run `call` under cProfile and print the top functions both ways."""
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    call()
    profiler.disable()
    print(f"{time.perf_counter() - started:.2f} s under the profiler")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
        text = re.sub(r"/[^ ]*/site-packages/", "", out.getvalue())
        print(text.replace(str(ROOT) + "/", ""))


def startup(target: Target, times: int, top: int) -> None:
    """create_app() as gunicorn's master runs it, with the default or a larger questionnaire."""
    from screening import create_app

    from .startup_bench import larger_questionnaire

    path = ROOT / "questions.yaml" if times == 1 else larger_questionnaire(times, target.workdir)
    config = {"DATABASE_URL": target.url, "SECRET_KEY": SECRET_KEY, "QUESTIONS_PATH": str(path)}
    instance = str(target.workdir / "instance")
    create_app(config, instance_path=instance)  # imports done once, as in gunicorn before the app is built
    profiled(lambda: create_app(config, instance_path=instance), top)


def seeded(target: Target, rows: int) -> None:
    """`rows` submissions, as make bench seeds them."""
    started = time.perf_counter()
    flask(target, "seed", "--count", str(rows), "--random-seed", "1", "--quiet", timeout=3600)
    print(f"seeded {rows:,} rows in {time.perf_counter() - started:.0f} s")


def queue(target: Target, rows: int, top: int) -> None:
    """Every queue scenario, ten views each, counts cache off."""
    from .common import make_app
    from .queue_bench import scenarios, settled, sign_in_test_client, url_of

    seeded(target, rows)
    app = make_app(target, QUEUE_COUNTS_CACHE_SECONDS=0)
    client = sign_in_test_client(app)
    urls = [settled(url_of(params), lambda u: client.get(u).location) for params in scenarios(app).values()]
    for url in urls:  # warm: templates compiled, plans cached
        client.get(url)

    def views() -> None:
        """Ten views of each scenario."""
        for url in urls:
            for _ in range(10):
                assert client.get(url).status_code == 200

    profiled(views, top)
    app.extensions["screening.db"].engine.dispose()


def export(target: Target, rows: int, top: int) -> None:
    """The CSV export command, in-process."""
    from .common import make_app

    seeded(target, rows)
    app = make_app(target)
    runner = app.test_cli_runner()
    profiled(lambda: runner.invoke(args=["export", "--output", "/dev/null"], catch_exceptions=False), top)
    app.extensions["screening.db"].engine.dispose()


def today(target: Target, rows: int, top: int) -> None:
    """Today with 200 visits and a 30-visit course, twenty views each (visits_bench's rows)."""
    from .common import make_app
    from .queue_bench import sign_in_test_client
    from .visits_bench import DAY, _populate

    seeded(target, rows)
    app = make_app(target)
    patient_id = _populate(app)
    client = sign_in_test_client(app)
    urls = [f"/review/today?day={DAY.isoformat()}", f"/review/patients/{patient_id}"]
    for url in urls:
        client.get(url)

    def views() -> None:
        """Twenty views of each page."""
        for url in urls:
            for _ in range(20):
                assert client.get(url).status_code == 200

    profiled(views, top)
    app.extensions["screening.db"].engine.dispose()


def main() -> None:
    """Profile one path and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", choices=("startup", "queue", "export", "today"))
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--times", type=int, default=1, help="startup: the questionnaire this many times its size")
    parser.add_argument("--postgres", metavar="URL", help="on this PostgreSQL database (emptied first)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with postgres_target(args.postgres) if args.postgres else sqlite_target() as target:
        if args.path == "startup":
            startup(target, args.times, args.top)
        elif args.path == "queue":
            queue(target, args.rows, args.top)
        elif args.path == "today":
            today(target, args.rows, args.top)
        else:
            export(target, args.rows, args.top)


if __name__ == "__main__":
    main()
