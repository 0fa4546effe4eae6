"""6. Private memory per gunicorn worker after a load phase: the app against the bare stacks.

`python -m benchmarks.worker_memory [SECONDS]` (and `make bench`) serves the app, the fair
bare stack and the minimal one with the production gunicorn settings and two workers on
a fresh SQLite database, plays patients through the whole form for SECONDS (default 60:
long enough for the workers' full garbage collections, which is when pages shared with
the master get copied), then reads each worker's /proc/PID/smaps_rollup. Private (USS:
Private_Clean + Private_Dirty) is what a further worker would add; PSS also counts a
share of the pages it shares.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from . import loadgen
from .common import Server, Target, sqlite_target
from .http_bench import form_pages


def smaps(pid: int) -> dict[str, float]:
    """A process's memory totals from /proc, in MB."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) / 1024
    return {
        "private_mb": round(fields["Private_Clean"] + fields["Private_Dirty"], 1),
        "pss_mb": round(fields["Pss"], 1),
        "rss_mb": round(fields["Rss"], 1),
    }


def measure(target: Target, seconds: float) -> dict[str, Any]:
    """Private, PSS and RSS per worker (MB) of the app, the fair bare stack and the minimal one."""
    pages = form_pages()
    base_env = target.env() | {"BASELINE_DATABASE_URL": target.url}
    apps = {
        "app": (
            "screening.gunicorn_conf",
            target.env()
            | {"SCREENING_INTAKE_LIMIT": "10000000 per minute", "SCREENING_INTAKE_SEND_LIMIT": "10000000 per minute"},
        ),
        "fair": ("benchmarks.fair_conf", base_env),
        "minimal": ("benchmarks.baseline_conf", base_env),
    }
    out: dict[str, Any] = {"seconds": seconds, "workers": 2}
    for label, (config, env) in apps.items():
        server = Server(config, env, target.workdir / f"{label}-memory.log", workers=2)
        try:
            server.start()
            run = loadgen.run("127.0.0.1", server.port, pages, 4, seconds)
            workers = [smaps(pid) for pid in server.workers()]
        finally:
            server.stop()
        out[label] = {
            "requests": run.requests,
            "errors": len(run.errors),
            "workers": workers,
            "private_mb": round(max(w["private_mb"] for w in workers), 1),
        }
    return out


def main() -> None:
    """Measure the three stacks and print one line each."""
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60
    with sqlite_target() as target:
        result = measure(target, seconds)
    for label in ("app", "fair", "minimal"):
        r = result[label]
        print(f"{label}: {r['requests']} requests in {seconds:.0f} s, {r['errors']} errors; per worker:")
        for worker in r["workers"]:
            print(f"  private {worker['private_mb']} MB, PSS {worker['pss_mb']} MB, RSS {worker['rss_mb']} MB")


if __name__ == "__main__":
    main()
