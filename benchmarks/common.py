"""What every benchmark shares: databases to run on, gunicorn on loopback, statistics."""

from __future__ import annotations

import contextlib
import gc
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SECRET_KEY = "benchmark-secret"
CLINICIAN = ("bench@example.com", "correct horse battery staple")
WORKERS = os.cpu_count() or 2
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), linearly interpolated; nan when there are no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def ms(seconds: float) -> float:
    """Seconds as milliseconds, rounded for reports."""
    return round(seconds * 1000, 2)


def latency_summary(values: Sequence[float]) -> dict[str, Any]:
    """n, p50, p95, p99 and max in milliseconds."""
    return {
        "n": len(values),
        "p50_ms": ms(percentile(values, 50)),
        "p95_ms": ms(percentile(values, 95)),
        "p99_ms": ms(percentile(values, 99)),
        "max_ms": ms(max(values)) if values else None,
    }


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Target:
    """One database the benchmarks run on: its URL, a label, and where its temp files go."""

    name: str  # "SQLite" or "PostgreSQL"
    url: str
    workdir: Path

    @property
    def is_sqlite(self) -> bool:
        """Whether this is the embedded database."""
        return self.url.startswith("sqlite")

    def env(self) -> dict[str, str]:
        """Environment for an app process (gunicorn or `flask`) on this database."""
        return os.environ | {
            "SCREENING_DATABASE_URL": self.url,
            "SCREENING_SECRET_KEY": SECRET_KEY,
            # The bench clinician signs in with a password only (a clinic may leave the
            # second factor to admins): the queue's timings do not depend on it.
            "SCREENING_TWO_FACTOR_FOR_EVERYONE": "false",
            "PYTHONPATH": str(ROOT),
        }


@contextlib.contextmanager
def sqlite_target(keep: bool = False) -> Iterator[Target]:
    """A fresh, migrated SQLite database in a temporary folder (removed afterwards)."""
    workdir = Path(tempfile.mkdtemp(prefix="screening-bench-"))
    try:
        target = Target("SQLite", f"sqlite:///{workdir / 'bench.db'}", workdir)
        migrate(target)
        yield target
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def postgres_target(url: str) -> Iterator[Target]:
    """The PostgreSQL database `url` names, emptied and migrated (its name must contain 'bench')."""
    database = make_url(url).database or ""
    if "bench" not in database:
        raise SystemExit(
            f"refusing to use PostgreSQL database {database!r}: the benchmark empties it, so its name must "
            "contain 'bench' (for example: createdb screening_bench)"
        )
    workdir = Path(tempfile.mkdtemp(prefix="screening-bench-pg-"))
    try:
        reset_postgres(url)
        target = Target("PostgreSQL", url, workdir)
        migrate(target)
        yield target
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def reset_postgres(url: str) -> None:
    """Drop everything in the database's public schema."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def make_app(target: Target, **config: Any) -> Any:
    """The real app on the target database, with a private instance folder."""
    from screening import create_app

    settings = {"DATABASE_URL": target.url, "SECRET_KEY": SECRET_KEY, "TESTING": True, "TWO_FACTOR_FOR_EVERYONE": False}
    settings |= config
    return create_app(settings, instance_path=str(target.workdir / "instance"))


@contextlib.contextmanager
def frozen_like_a_worker() -> Iterator[None]:
    """Time in-process requests nearly as a gunicorn worker serves them: the objects built
    so far frozen out of the garbage collector, as screening/gunicorn_conf.py's pre_fork
    freezes the app. Otherwise a full collection of them (up to 75 ms) lands in one
    request in seventy and says nothing about the page. (A worker freezes before its
    first request, so its template and statement caches stay collectable; here they are
    frozen too, which leaves out a little of its collectors' work.)"""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def migrate(target: Target) -> None:
    """The newest schema, and one clinician to sign in as (so no first-run setup token is made)."""
    from screening import db, migrate
    from screening.models import User
    from screening.review.accounts import hash_password

    app = make_app(target)
    with app.app_context():
        migrate.upgrade()
        with db.get_db().transaction() as s:
            s.add(User(email=CLINICIAN[0], name="Bench Clinician", password_hash=hash_password(CLINICIAN[1])))
    app.extensions["screening.db"].engine.dispose()


def vacuum_analyze(target: Target) -> None:
    """Fresh planner statistics after a bulk load, as a DBA would (PostgreSQL's autovacuum lags)."""
    engine = create_engine(target.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE" if target.is_sqlite else "VACUUM ANALYZE submissions"))
    engine.dispose()


class Server:
    """gunicorn on loopback with a given config module (the app's production config or the baseline's)."""

    def __init__(self, config: str, env: dict[str, str], log: Path, workers: int = WORKERS) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = config
        self.env = env | {"SCREENING_BIND": f"127.0.0.1:{self.port}", "SCREENING_WORKERS": str(workers)}
        self.log = log
        self.process: subprocess.Popen | None = None
        self.ready_seconds = float("nan")

    def start(self, timeout: float = 60) -> float:
        """Start gunicorn and wait for /healthz 200; returns the seconds that took."""
        started = time.perf_counter()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [PYTHON, "-m", "gunicorn", "-c", f"python:{self.config}"],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,  # the access log: one line per request
                stderr=log,
            )
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn ({self.config}) exited: see {self.log}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        self.ready_seconds = time.perf_counter() - started
                        return self.ready_seconds
            except OSError:
                time.sleep(0.005)
        raise RuntimeError(f"gunicorn ({self.config}) did not answer /healthz within {timeout} s: see {self.log}")

    def workers(self) -> list[int]:
        """The worker processes' ids."""
        if self.process is None:
            return []
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def cpu_seconds(self) -> float:
        """CPU time used so far by the workers (user + system)."""
        return sum(process_cpu(pid) for pid in self.workers())

    def stop(self) -> None:
        """Stop gracefully, then for good."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def process_cpu(pid: int) -> float:
    """A live process's CPU seconds from /proc (0 if it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


@dataclass
class ChildRun:
    """A finished child process: wall time, CPU, peak memory and output."""

    seconds: float
    cpu_seconds: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


# Runs the measured command as a grandchild and reports its rusage: a child forked from
# this (large) process would count this process's pages in its ru_maxrss until exec.
RUSAGE_WRAPPER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_child(args: Sequence[str], env: dict[str, str], timeout: float = 900) -> ChildRun:
    """Run a command and measure it: wall time, CPU and peak RSS (ru_maxrss) of that process alone."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r", suffix=".rusage") as usage,
    ):
        started = time.perf_counter()
        process = subprocess.Popen(
            [PYTHON, "-S", "-c", RUSAGE_WRAPPER, usage.name, *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,  # so a timeout can stop the grandchild too
        )
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            returncode = process.wait()
        elapsed = time.perf_counter() - started
        max_rss_kb, cpu = (usage.read().split() + ["0", "0"])[:2]
        out.seek(0)
        err.seek(0)
        return ChildRun(
            seconds=elapsed,
            cpu_seconds=float(cpu),
            max_rss_mb=round(int(max_rss_kb) / 1024, 1),  # Linux reports kB
            returncode=returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def flask(target: Target, *args: str, timeout: float = 900) -> ChildRun:
    """`flask --app screening ARGS` on the target database, measured."""
    result = run_child([PYTHON, "-m", "flask", "--app", "screening", *args], target.env(), timeout)
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return result


def self_rusage() -> resource.struct_rusage:
    """This process's resource usage."""
    return resource.getrusage(resource.RUSAGE_SELF)
