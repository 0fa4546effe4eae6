"""The outbox: what queueing alerts adds to Send, and how fast the relay sends.

1. Send's time with and without the outbox write: the same urgent submission posted
   through the app (Flask test client, in process), alternately to an app with no alert
   recipients (the hook writes nothing) and to one with two email recipients and two
   webhooks (four rows written in Send's transaction). Only the POST /intake/submit is
   timed; the pages before it are not. Target: the write adds under 10%
   (the median of the rounds' differences, against the median Send without it).
2. The relay's throughput: messages queued, then one `send-due` pass (in process) to a
   local receiver in another process: webhooks to a keep-alive HTTP server, emails to
   aiosmtpd's Sink (a new SMTP connection per email, as the relay does). Messages/s,
   each one signed, sent, marked and audited in its own transaction.
"""

from __future__ import annotations

import contextlib
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from .common import ROOT, Target, free_port, latency_summary, make_app

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
RECEIVER = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def _wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


@contextlib.contextmanager
def receivers() -> Iterator[tuple[int, int | None]]:
    """A webhook receiver, and an SMTP sink when aiosmtpd is installed: their ports."""
    http_port, smtp_port = free_port(), free_port()
    processes = [subprocess.Popen([sys.executable, "-c", RECEIVER, str(http_port)], cwd=ROOT)]
    try:
        import aiosmtpd  # noqa: F401 - only to know whether the sink can run
    except ImportError:
        smtp: int | None = None
    else:
        smtp = smtp_port
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}"]
                + ["-c", "aiosmtpd.handlers.Sink"],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    try:
        _wait_for_port(http_port)
        if smtp:
            _wait_for_port(smtp)
        yield http_port, smtp
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def _config(http_port: int, smtp_port: int | None, alerts: bool) -> dict[str, Any]:
    """An app that alerts (two emails, two webhooks per urgent Send) or one that does not."""
    config: dict[str, Any] = {
        "RATELIMIT_STORAGE_URI": "memory://",
        "INTAKE_SEND_LIMIT": "1000000 per minute",
        "INTAKE_LIMIT": "1000000 per minute",
        "INTAKE_LIMIT_PER_PATIENT": "1000000 per minute",
        "PUBLIC_URL": "https://clinic.example",
        "ALERT_WEBHOOKS_ALLOW_PRIVATE": True,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_port or 25,
        "SMTP_STARTTLS": False,
        "ALERT_FROM": "alerts@clinic.example",
    }
    if alerts:
        url = f"http://127.0.0.1:{http_port}/hook"
        config["ALERT_EMAIL_TO"] = ["duty@clinic.example", "lead@clinic.example"]
        config["ALERT_WEBHOOKS"] = [
            {"name": "pager", "url": url, "secret": SECRET, "events": ["submission.urgent", "submission.created"]},
        ]
    return config


def _token(client: Any, url: str) -> str:
    match = CSRF.search(client.get(url).get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1) or match.group(2)


def _ready_patient(app: Any, pages: dict[str, dict]) -> tuple[Any, str]:
    """A patient with every page answered (not timed): their client and the check page's token."""
    client = app.test_client()
    for section_id, answers in pages.items():
        data = dict(answers) | {"csrf_token": _token(client, f"/intake/{section_id}")}
        assert client.post(f"/intake/{section_id}", data=data).status_code == 302, section_id
    return client, _token(client, "/intake/check")


def send_overhead(target: Target, quick: bool, http_port: int, smtp_port: int | None) -> dict[str, Any]:
    """Send's time without and with the outbox write, alternating, same urgent answers."""
    from screening import db
    from screening.models import OutboxMessage
    from tests.http_patient import all_clear_answers

    apps = {
        "without": make_app(target, **_config(http_port, smtp_port, alerts=False)),
        "with": make_app(target, **_config(http_port, smtp_port, alerts=True)),
    }
    from screening.versions import current_definition

    with apps["with"].app_context():
        definition = current_definition()
    pages = all_clear_answers(definition)
    pages[definition.questions["saddle_numbness"].section_id]["saddle_numbness"] = "yes"
    rounds = 40 if quick else 300
    times: dict[str, list[float]] = {"without": [], "with": []}
    for i in range(rounds + 4):
        order = ("without", "with") if i % 2 else ("with", "without")
        for name in order:
            client, token = _ready_patient(apps[name], pages)
            started = time.perf_counter()
            response = client.post("/intake/submit", data={"csrf_token": token})
            elapsed = time.perf_counter() - started
            assert response.status_code == 303, response.status_code
            if i >= 4:  # the first few warm caches up
                times[name].append(elapsed)
    with apps["with"].app_context():
        queued = db.session().query(OutboxMessage).count()
    for app in apps.values():
        app.extensions["screening.db"].engine.dispose()
    # Each round times both apps back to back, so the median of the rounds' differences
    # cancels the machine's drift better than the difference of the two medians.
    without = statistics.median(times["without"])
    added = statistics.median(w - wo for w, wo in zip(times["with"], times["without"], strict=True))
    return {
        "rounds": rounds,
        "rows_per_send": round(queued / (rounds + 4), 1),
        "without": latency_summary(times["without"]),
        "with": latency_summary(times["with"]),
        "added_ms": round(added * 1000, 2),
        "added_fraction": round(added / without, 3),
    }


def relay_throughput(target: Target, quick: bool, http_port: int, smtp_port: int | None) -> dict[str, Any]:
    """Queue N webhooks (and N emails), then time the relay's pass that sends them all."""
    from screening import db
    from screening.outbox import events, relay

    app = make_app(target, **_config(http_port, smtp_port, alerts=True))
    count = 300 if quick else 3000
    out: dict[str, Any] = {}
    with app.app_context():
        relay.run_pass()  # first what Send queued above (and warm the connections)
    channels = [("webhook", "pager")] + ([("email", "duty@clinic.example")] if smtp_port else [])
    for channel, to in channels:
        with app.app_context(), db.get_db().transaction() as s:
            for n in range(count):
                events.enqueue(
                    s,
                    event="bench.throughput",
                    key=f"{channel}-{n}",
                    channel=channel,
                    target=to,
                    payload={"body": {"type": "bench", "timestamp": "2026-11-24T14:32:05Z", "data": {"n": n}}}
                    if channel == "webhook"
                    else {"subject": "Bench", "text": f"Message {n}\n"},
                    event_id=events.new_event_id(),
                )
        with app.app_context():
            started = time.perf_counter()
            result = relay.run_pass()
            seconds = time.perf_counter() - started
        assert result.sent == count, (channel, result)
        out[channel] = {"messages": count, "seconds": round(seconds, 2), "per_s": round(count / seconds, 1)}
    app.extensions["screening.db"].engine.dispose()
    return out


def measure(target: Target, quick: bool) -> dict[str, Any]:
    """Both measures on one database."""
    with receivers() as (http_port, smtp_port):
        return {
            "send": send_overhead(target, quick, http_port, smtp_port),
            "relay": relay_throughput(target, quick, http_port, smtp_port),
        }
