"""3. CSV export: time and peak memory of `flask export`, against the bare driver.

Each export runs in its own child process, measured with wait4's rusage: ru_maxrss is
the peak resident memory of that process alone. Run at two sizes, the memory should
stay flat (batches, not the whole table, are held).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text

from .common import PYTHON, Target, flask, run_child


def exported_rows(target: Target) -> int:
    """How many rows an export writes: every submission not erased."""
    engine = create_engine(target.url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM submissions WHERE review_state != 'erased'")).scalar()
    engine.dispose()
    return int(count or 0)


def measure(target: Target, rows: int, with_baseline: bool) -> dict[str, Any]:
    """The app's export at the database's current size (and the baseline's, when asked)."""
    exported = exported_rows(target)
    app = flask(target, "export", "--output", "/dev/null", timeout=1200)
    result: dict[str, Any] = {
        "rows": rows,
        "exported": exported,  # not erased: what the export writes
        "app": {
            "seconds": round(app.seconds, 2),
            "rows_per_s": round(exported / app.seconds),
            "max_rss_mb": app.max_rss_mb,
            "cpu_s": round(app.cpu_seconds, 2),
        },
    }
    if with_baseline:
        base = run_child([PYTHON, "-m", "benchmarks.baseline_export", target.url, "/dev/null"], target.env(), 1200)
        if base.returncode != 0:
            raise RuntimeError(f"baseline export failed:\n{base.stderr[-2000:]}")
        result["baseline"] = {
            "rows": rows,
            "seconds": round(base.seconds, 2),
            "rows_per_s": round(int(base.stdout.strip()) / base.seconds),
            "max_rss_mb": base.max_rss_mb,
            "cpu_s": round(base.cpu_seconds, 2),
        }
    return result


def compare(runs: list[dict[str, Any]]) -> None:
    """Give every run the baseline (the one run that measured it) and its speed as a fraction of it."""
    baseline = next((run["baseline"] for run in runs if "baseline" in run), None)
    for run in runs:
        if baseline:
            run["baseline"] = baseline
            run["ratio"] = round(run["app"]["rows_per_s"] / baseline["rows_per_s"], 3)
