"""A light load generator: patients completing the whole questionnaire over HTTP.

Threads and http.client (the standard library), one connection per simulated browser
(kept alive where the server allows it; gunicorn's sync workers close it after each
response), a dict for cookies, and the CSRF token read from each form. It does the
minimum per request so that it is not the bottleneck; its own CPU time is measured
and reported beside the results.

Each patient: GET /, then for every section GET the page and POST it (302 to the
next), GET the check page, POST submit (303), GET the outcome page with the
reference. Statuses are checked: anything else is an error.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
REFERENCE = re.compile(r"Your reference: <strong>([A-Z0-9-]+)</strong>")


class Failed(Exception):
    """A response that a patient's browser would not expect."""


class TimeUp(Exception):
    """A paced phase ended in the middle of a patient (not an error)."""


class Browser:
    """One patient's browser: a connection and a cookie jar."""

    def __init__(
        self, host: str, port: int, timings: dict[str, list[float]], pace: Pacer | None = None, stop: float = 0
    ) -> None:
        self.host, self.port = host, port
        self.stop = stop  # perf_counter time after which no request starts (0: none)
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.timings = timings
        self.pace = pace
        self.requests = 0

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def send(self, method: str, path: str, label: str, form: dict[str, Any] | None = None) -> tuple[int, str, str]:
        """One request; returns status, body and Location. Records the latency under `label`."""
        headers = {"Host": f"{self.host}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.pace is not None:
            self.pace.wait()
        if self.stop and time.perf_counter() > self.stop:
            raise TimeUp
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            text = response.read().decode()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # a fresh connection next time
            raise
        elapsed = time.perf_counter() - started
        self.timings[label].append(elapsed)
        self.requests += 1
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                cookie = rest.split(";", 1)[0]
                if cookie and "expires=thu, 01 jan 1970" not in value.lower():
                    self.cookies[name.strip()] = cookie
                else:
                    self.cookies.pop(name.strip(), None)
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, text, response.getheader("Location") or ""

    def page(self, path: str, label: str) -> str:
        """GET a page that must be 200."""
        status, text, _ = self.send("GET", path, label)
        if status != 200:
            raise Failed(f"GET {path}: {status}")
        return text

    def complete(self, pages: dict[str, dict[str, Any]]) -> str:
        """One patient, start to outcome page; returns the reference shown."""
        self.cookies.clear()
        self.page("/", "GET /")
        for section_id, answers in pages.items():
            html = self.page(f"/intake/{section_id}", "GET /intake/<section>")
            status, _, _ = self.send(
                "POST", f"/intake/{section_id}", "POST /intake/<section>", form_with(html, answers)
            )
            if status != 302:
                raise Failed(f"POST /intake/{section_id}: {status}")
        html = self.page("/intake/check", "GET /intake/check")
        status, _, location = self.send("POST", "/intake/submit", "POST /intake/submit", form_with(html, {}))
        if status != 303 or not location.endswith("/intake/done"):
            raise Failed(f"POST /intake/submit: {status} {location}")
        match = REFERENCE.search(self.page("/intake/done", "GET /intake/done"))
        if not match:
            raise Failed("no reference on the outcome page")
        return match.group(1)


def form_with(html: str, answers: dict[str, Any]) -> dict[str, Any]:
    """The answers plus the page's CSRF token."""
    match = TOKEN.search(html)
    if not match:
        raise Failed("no CSRF token on the page")
    return {**answers, "csrf_token": match.group(1) or match.group(2)}


class Pacer:
    """Hands out request start times at a fixed rate (an open loop: the schedule does not
    wait for slow responses, so a slow server shows up as latency, not as a lower rate)."""

    def __init__(self, rate: float, stop: float) -> None:
        self.interval = 1 / rate
        self.next = time.perf_counter()
        self.stop = stop  # no slot after this (perf_counter time)
        self.lock = threading.Lock()
        self.late = 0  # starts more than 10 ms behind schedule: too few threads

    def wait(self) -> None:
        """Sleep until this request's slot; TimeUp if the schedule has ended."""
        with self.lock:
            slot = self.next
            self.next += self.interval
        if slot > self.stop:
            raise TimeUp
        delay = slot - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        elif delay < -0.01:
            self.late += 1


@dataclass
class Run:
    """What one load phase measured."""

    seconds: float
    intakes: int
    requests: int
    errors: list[str]
    timings: dict[str, list[float]]
    cpu_seconds: float  # the load generator's own CPU time
    late_starts: int = 0
    references: list[str] = field(default_factory=list)


def run(
    host: str,
    port: int,
    pages: dict[str, dict[str, Any]],
    threads: int,
    seconds: float,
    rate: float | None = None,
) -> Run:
    """Patients complete the questionnaire from `threads` threads for `seconds`.

    Without `rate` each thread starts its next request as soon as the last one ends
    (throughput); with `rate`, requests start on a fixed schedule (latency at that load).
    """
    deadline = time.perf_counter() + seconds
    pacer = Pacer(rate, deadline) if rate else None
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    references: list[str] = []
    counts = {"requests": 0}
    lock = threading.Lock()

    def patient_loop() -> None:
        """Complete patients one after another until the deadline."""
        local: dict[str, list[float]] = defaultdict(list)
        # Paced patients stop mid-way at the deadline: finishing them would run the phase on
        # for as long as one patient takes at that rate (seconds), at a falling rate.
        browser = Browser(host, port, local, pacer, stop=deadline if pacer else 0)
        done: list[str] = []
        problems: list[str] = []
        while time.perf_counter() < deadline:
            try:
                done.append(browser.complete(pages))
            except TimeUp:
                break
            except (Failed, OSError, http.client.HTTPException) as exc:
                problems.append(f"{type(exc).__name__}: {exc}")
        browser.close()
        with lock:
            for label, values in local.items():
                timings[label].extend(values)
            references.extend(done)
            errors.extend(problems)
            counts["requests"] += browser.requests

    cpu = time.process_time()
    started = time.perf_counter()
    workers = [threading.Thread(target=patient_loop, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return Run(
        seconds=elapsed,
        intakes=len(references),
        requests=counts["requests"],
        errors=errors,
        timings=dict(timings),
        cpu_seconds=time.process_time() - cpu,
        late_starts=pacer.late if pacer else 0,
        references=references,
    )
