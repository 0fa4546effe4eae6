"""Load and faults over real HTTP: gunicorn, several workers, many patients at once.

`make test` runs a short version; `make test-long` (LOAD_PATIENTS=400) a longer one.
Every acknowledged submission must be stored exactly once and nothing else, also when
the workers and then the whole server are killed with SIGKILL in the middle.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from screening.models import Submission

from .conftest import ROOT, database_url, prepare_database
from .http_patient import HttpPatient, default_pages

PATIENTS = int(os.environ.get("LOAD_PATIENTS", 40))
THREADS = int(os.environ.get("LOAD_THREADS", 12))
WORKERS = 3

pytestmark = pytest.mark.slow


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn with the production config, on loopback."""

    def __init__(self, url: str, instance: Path) -> None:
        self.url = url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = os.environ | {
            "SCREENING_DATABASE_URL": url,
            "SCREENING_SECRET_KEY": "load-test",
            "SCREENING_BIND": f"127.0.0.1:{self.port}",
            "SCREENING_WORKERS": str(WORKERS),
            "SCREENING_INTAKE_LIMIT": "100000 per minute",
            "SCREENING_INTAKE_SEND_LIMIT": "100000 per minute",
            "SCREENING_RATELIMIT_STORAGE_URI": "memory://",
        }
        self.instance = instance
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start and wait until /healthz answers."""
        self.log = (self.instance / "gunicorn.log").open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:screening.gunicorn_conf"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def workers(self) -> list[int]:
        """The worker processes' ids."""
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def kill(self, pids: list[int]) -> None:
        """SIGKILL: no chance to finish a request or a transaction."""
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """Stop the server for good."""
        if self.process and self.process.poll() is None:
            self.kill(self.workers())
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def server(tmp_path):
    """A running server on a fresh, migrated database."""
    url = database_url(tmp_path)
    prepare_database(url)
    srv = Server(url, tmp_path)
    srv.start()
    yield srv
    srv.stop()


def run_patients(base: str, count: int, during=None) -> tuple[list[str], int, list[str]]:
    """`count` patients complete the form at once; `during` runs meanwhile. Returns
    the references acknowledged, requests made and the errors seen (and retried)."""
    pages = default_pages()
    patients = [HttpPatient(base) for _ in range(count)]
    side = threading.Thread(target=during) if during else None
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(p.complete, pages) for p in patients]
        if side:
            side.start()
        references = [f.result() for f in futures]
    if side:
        side.join()
    problems = [problem for p in patients for problem in p.problems]
    return references, sum(p.requests for p in patients), problems


def stored(url: str) -> list[str]:
    """Every submission reference in the database."""
    engine = create_engine(url)
    with engine.connect() as conn:
        refs = list(conn.scalars(select(Submission.reference)))
        if url.startswith("sqlite"):
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    engine.dispose()
    return refs


def test_many_patients_at_once_lose_nothing(server):
    """Concurrent patients over HTTP: zero errors, zero lost, zero duplicated."""
    started = time.perf_counter()
    references, requests, problems = run_patients(server.base, PATIENTS)
    elapsed = time.perf_counter() - started
    print(
        f"\nload: {PATIENTS} patients, {WORKERS} workers, {requests} requests in {elapsed:.1f}s, {len(problems)} errors"
    )
    assert problems == []
    assert len(set(references)) == PATIENTS
    assert sorted(stored(server.url)) == sorted(references)


def test_sigkill_in_the_middle_loses_nothing_acknowledged(server):
    """Kill every worker, then the whole server, mid-load: nothing acknowledged is lost."""

    def chaos() -> None:
        time.sleep(0.8)
        server.kill(server.workers())  # gunicorn starts new workers
        time.sleep(0.8)
        server.kill([*server.workers(), server.process.pid])  # the whole server dies
        server.process.wait(timeout=10)
        server.log.close()
        time.sleep(0.3)
        server.start()  # and comes back on the same port and database

    references, requests, problems = run_patients(server.base, PATIENTS, during=chaos)
    print(f"\nSIGKILL: {PATIENTS} patients, {requests} requests, {len(problems)} connection errors retried")
    assert len(set(references)) == PATIENTS
    assert sorted(stored(server.url)) == sorted(references)  # acknowledged == stored, no duplicates


def test_access_log_leaves_out_query_strings(server):
    """Tokens in links (first-run setup) and filters never reach the access log."""
    with urllib.request.urlopen(server.base + "/healthz?token=very-secret-token", timeout=5) as response:
        assert response.status == 200
    time.sleep(0.3)
    log = (server.instance / "gunicorn.log").read_text()
    assert "GET /healthz HTTP/1.1" in log
    assert "very-secret-token" not in log


def test_production_refuses_per_process_counters_with_several_workers(tmp_path):
    """With PRODUCTION on, memory:// rate limits and several workers: gunicorn will not start."""
    url = database_url(tmp_path)
    prepare_database(url)
    env = os.environ | {
        "SCREENING_DATABASE_URL": url,
        "SCREENING_SECRET_KEY": "9f2c7a1e5b8d4f60a3c2e1b7d9f8a6c4d2e0b1f3",
        "SCREENING_PRODUCTION": "true",
        "SCREENING_RATELIMIT_STORAGE_URI": "memory://",
        "SCREENING_WORKERS": "2",
        "SCREENING_BIND": f"127.0.0.1:{free_port()}",
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "python:screening.gunicorn_conf"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Refusing to start: rate-limit counters are per process" in result.stderr + result.stdout
