"""Where a patient's request spends its time: cProfile over the Flask test client.

    .venv/bin/python -m benchmarks.profile_intake [--patients 200] [--postgres URL] [--top 30]

Runs patients through the whole questionnaire in-process (no HTTP, no gunicorn) with
the production settings that matter (database rate-limit store, CSRF), and prints the
functions with the most cumulative and own time, and the time per request by page.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import time
from collections import defaultdict
from typing import Any

from .common import postgres_target, sqlite_target
from .http_bench import form_pages
from .loadgen import REFERENCE, TOKEN


def token(html: str) -> str:
    """The CSRF token on a page."""
    match = TOKEN.search(html)
    assert match, "no CSRF token"
    return match.group(1) or match.group(2)


def patient(client: Any, pages: dict[str, dict], timings: dict[str, list[float]]) -> None:
    """One patient through the test client, timing each request by page."""

    def timed(label: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        """Make one request and record how long it took."""
        started = time.perf_counter()
        response = call(*args, **kwargs)
        timings[label].append(time.perf_counter() - started)
        return response

    timed("GET /", client.get, "/")
    for section_id, answers in pages.items():
        html = timed("GET /intake/<section>", client.get, f"/intake/{section_id}").text
        response = timed(
            "POST /intake/<section>", client.post, f"/intake/{section_id}", data={**answers, "csrf_token": token(html)}
        )
        assert response.status_code == 302, response.status_code
    html = timed("GET /intake/check", client.get, "/intake/check").text
    response = timed("POST /intake/submit", client.post, "/intake/submit", data={"csrf_token": token(html)})
    assert response.status_code == 303, response.status_code
    assert REFERENCE.search(timed("GET /intake/done", client.get, "/intake/done").text)


def main() -> None:
    """Profile and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--postgres", metavar="URL", help="profile on this PostgreSQL database (emptied first)")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--memory-limiter", action="store_true", help="count rate limits in memory, not the database")
    args = parser.parse_args()
    pages = form_pages()
    with postgres_target(args.postgres) if args.postgres else sqlite_target() as target:
        from .common import make_app

        config: dict[str, Any] = {"TESTING": False, "INTAKE_LIMIT": "10000000 per minute"}
        config |= {"INTAKE_SEND_LIMIT": "10000000 per minute", "INTAKE_LIMIT_PER_PATIENT": "10000000 per minute"}
        if args.memory_limiter:
            config["RATELIMIT_STORAGE_URI"] = "memory://"
        app = make_app(target, **config)
        for _ in range(5):  # warm-up: templates compiled, form classes built
            patient(app.test_client(), pages, defaultdict(list))
        timings: dict[str, list[float]] = defaultdict(list)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(args.patients):
            patient(app.test_client(), pages, timings)
        profiler.disable()
        elapsed = time.perf_counter() - started
        app.extensions["screening.db"].engine.dispose()
    requests = sum(len(v) for v in timings.values())
    print(f"{args.patients} patients, {requests} requests in {elapsed:.2f} s under the profiler")
    for label, values in sorted(timings.items()):
        print(f"  {label:26} {1000 * sum(values) / len(values):7.2f} ms per request (profiled)")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
        text = re.sub(r"/[^ ]*/site-packages/", "", out.getvalue())
        print(text.replace(str(__import__("benchmarks").__file__).rsplit("/", 2)[0] + "/", ""))


if __name__ == "__main__":
    main()
