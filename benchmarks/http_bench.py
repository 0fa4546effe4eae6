"""1. Patient throughput over HTTP: the app against two bare stacks, all under gunicorn.

The baseline is the fair bare stack (fair_app.py: Flask-WTF forms, validation, CSRF,
a draft row per POST, a final insert); the minimal stack (baseline_app.py: one INSERT
per POST, nothing checked) is measured too, for context. All three run at once with
the production gunicorn settings and the same worker count; throughput phases
alternate between them (app, fair, minimal, app, ...) so that a noisy neighbour on the
shared machine hurts them alike. Then the app and the fair stack each get a paced
phase at a fixed request rate, for the latency a clinic would see.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from screening.questionnaire import load

from . import loadgen
from .common import ROOT, WORKERS, Server, Target, latency_summary

PACED_RATE = 100  # requests per second


def form_pages() -> dict[str, dict[str, Any]]:
    """The default questionnaire's all-clear answers, page by page, as a browser posts them."""
    from tests.http_patient import all_clear_answers

    return all_clear_answers(load(ROOT / "questions.yaml"))


def servers(target: Target) -> tuple[Server, Server, Server]:
    """The app (production config), the fair and the minimal bare stacks, on the same database."""
    app_env = target.env() | {
        # Every simulated patient comes from 127.0.0.1: lift the per-address limit
        # (the limiter still counts every POST in the database, as in production).
        "SCREENING_INTAKE_LIMIT": "10000000 per minute",
        # and the per-address budget of Sends (60 in 10 minutes), which a faster app
        # reaches within a phase: refused Sends (429) would count as errors.
        "SCREENING_INTAKE_SEND_LIMIT": "10000000 per minute",
    }
    app = Server("screening.gunicorn_conf", app_env, target.workdir / "app-gunicorn.log")
    base_env = target.env() | {"BASELINE_DATABASE_URL": target.url}
    fair = Server("benchmarks.fair_conf", base_env, target.workdir / "fair-gunicorn.log")
    minimal = Server("benchmarks.baseline_conf", base_env, target.workdir / "baseline-gunicorn.log")
    return app, fair, minimal


def phase(server: Server, pages: dict, threads: int, seconds: float, rate: float | None = None) -> dict[str, Any]:
    """One load phase against one server, with the workers' CPU time."""
    cpu_before = server.cpu_seconds()
    result = loadgen.run("127.0.0.1", server.port, pages, threads, seconds, rate)
    worker_cpu = server.cpu_seconds() - cpu_before
    return {"run": result, "worker_cpu": worker_cpu}


def combine(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """Several phases of one server as one result."""
    runs = [p["run"] for p in phases]
    seconds = sum(r.seconds for r in runs)
    requests = sum(r.requests for r in runs)
    timings: dict[str, list[float]] = {}
    for r in runs:
        for label, values in r.timings.items():
            timings.setdefault(label, []).extend(values)
    every = [v for values in timings.values() for v in values]
    errors = [e for r in runs for e in r.errors]
    return {
        "seconds": round(seconds, 2),
        "intakes": sum(r.intakes for r in runs),
        "requests": requests,
        "intakes_per_s": round(sum(r.intakes for r in runs) / seconds, 2),
        "requests_per_s": round(requests / seconds, 1),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
        "latency": latency_summary(every),
        "pages": {label: latency_summary(values) for label, values in sorted(timings.items())},
        "worker_cpu_ms_per_request": round(1000 * sum(p["worker_cpu"] for p in phases) / max(requests, 1), 2),
        "loadgen_cpu_s": round(sum(r.cpu_seconds for r in runs), 2),
        "loadgen_cpu_share": round(sum(r.cpu_seconds for r in runs) / seconds, 2),  # of one core
        "late_starts": sum(r.late_starts for r in runs),
        "per_phase_requests_per_s": [round(r.requests / r.seconds, 1) for r in runs],
    }


def page_sizes(server: Server, pages: dict) -> dict[str, int]:
    """Bytes of each page's HTML, to show the two apps render forms of similar size."""
    browser = loadgen.Browser("127.0.0.1", server.port, defaultdict(list))
    sizes = {"/": len(browser.page("/", "x").encode())}
    for section_id in pages:
        sizes[f"/intake/{section_id}"] = len(browser.page(f"/intake/{section_id}", "x").encode())
    browser.close()
    return sizes


def measure(target: Target, quick: bool) -> dict[str, Any]:
    """Throughput and latency of the app and the baseline on one database."""
    pages = form_pages()
    rounds, seconds = (1, 2.5) if quick else (2, 6)
    # Long enough for the paced patients to reach the check page and Send (about 25
    # requests each, at 100 requests/s shared by 32 patients).
    paced_seconds = 2 if quick else 20
    threads = 4 * WORKERS  # enough to keep every worker busy with a request always waiting
    app, baseline, minimal = servers(target)
    try:
        for server in (app, baseline, minimal):
            server.start()
        sizes = {"app": page_sizes(app, pages), "baseline": page_sizes(baseline, pages)}
        for server in (app, baseline, minimal):  # warm: templates compiled, connections open
            loadgen.run("127.0.0.1", server.port, pages, threads, 0.5 if quick else 2)
        app_runs, base_runs, minimal_runs = [], [], []
        for _ in range(rounds):
            app_runs.append(phase(app, pages, threads, seconds))
            base_runs.append(phase(baseline, pages, threads, seconds))
            minimal_runs.append(phase(minimal, pages, threads, seconds))
        # Paced: enough threads that the schedule never waits for a free one.
        app_paced = phase(app, pages, 32, paced_seconds, PACED_RATE)
        base_paced = phase(baseline, pages, 32, paced_seconds, PACED_RATE)
    finally:
        for server in (app, baseline, minimal):
            server.stop()
    result = {
        "workers": WORKERS,
        "threads": threads,
        "app": combine(app_runs),
        "baseline": combine(base_runs),
        "minimal": combine(minimal_runs),
        "app_paced": combine([app_paced]),
        "baseline_paced": combine([base_paced]),
        "page_bytes": sizes,
    }
    result["ratio"] = round(result["app"]["requests_per_s"] / result["baseline"]["requests_per_s"], 3)
    result["ratio_per_round"] = [
        round(a["run"].requests / a["run"].seconds / (b["run"].requests / b["run"].seconds), 3)
        for a, b in zip(app_runs, base_runs, strict=True)
    ]
    result["ratio_median"] = round(statistics.median(result["ratio_per_round"]), 3)
    result["ratio_minimal"] = round(result["app"]["requests_per_s"] / result["minimal"]["requests_per_s"], 3)
    return result
