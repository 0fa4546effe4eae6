"""gunicorn settings for `make serve` (gunicorn -c python:screening.gunicorn_conf).

Every value can be overridden with SCREENING_* environment variables, so the same file
serves a laptop and a clinic chain's server.
"""

from __future__ import annotations

import gc
import os

# No garbage collection while the master imports and builds the app: about a tenth of
# the start-up went on collections that find nothing (the app's objects live as long as
# it does), and collecting would leave holes that the workers would copy. pre_fork turns
# it back on, once the app is frozen.
gc.disable()

import re  # noqa: E402

from gunicorn.glogging import Logger  # type: ignore[import-untyped]  # noqa: E402

from screening import cli, create_app  # noqa: E402 - after gc.disable

bind = os.environ.get("SCREENING_BIND", "127.0.0.1:8000")
# Threaded workers, two per core plus one, each with SCREENING_THREADS threads: a sync
# worker is held by one slow client for the whole request, so a handful of slow
# clients stalled every worker (a normal request waited 31 s). Threads keep the others
# serving; for many slow clients on the open internet, put the reverse proxy of
# docs/security.md in front, which buffers whole requests before passing them on.
worker_class = "gthread"
workers = int(os.environ.get("SCREENING_WORKERS", (os.cpu_count() or 1) * 2 + 1))
threads = int(os.environ.get("SCREENING_THREADS", 8))
# A worker takes no more connections than it has threads: one that accepted a burst of
# slow clients would otherwise queue the next request behind them while the other
# workers sit idle.
worker_connections = threads
timeout = int(os.environ.get("SCREENING_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
# The app is built once in the master and shared by the workers (copy-on-write); a
# broken questions.yaml stops the server before any worker starts.
preload_app = True
# Every file the server creates (the database, its log, the secret key) is the owner's alone.
umask = 0o077
wsgi_app = "screening:create_app()"
limit_request_line = 8190
limit_request_fields = 100
accesslog = "-"
errorlog = "-"
# %(U)s is the path without the query string: tokens in links (first-run setup) and
# patients' filters never reach the access log.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss'

# Characters a request can smuggle into a log line: controls (a %0A in the path would
# start a fake line), the quote that ends the request field, and the backslash.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f"\\]')


def _escaped(value: object) -> object:
    """A log field with every unsafe character written as \\xNN."""
    if not isinstance(value, str):
        return value
    return _UNSAFE.sub(lambda match: f"\\x{ord(match.group()):02x}", value)


class EscapingLogger(Logger):
    """The access log with request-controlled fields escaped: no forged lines."""

    def atoms(self, resp, req, environ, request_time):
        """gunicorn's log fields, escaped."""
        return {key: _escaped(value) for key, value in super().atoms(resp, req, environ, request_time).items()}


logger_class = EscapingLogger


def on_starting(server) -> None:
    """Refuse per-process rate-limit counters with several workers in production; on a
    first run, print the link that creates the first admin account."""
    # The preloaded app (gunicorn loads it before this hook): no second build and check.
    app = server.app.wsgi() if server.cfg.preload_app else create_app()
    storage = app.config["RATELIMIT_STORAGE_URI"] or ""
    if app.config["PRODUCTION"] and server.cfg.workers > 1 and storage.startswith("memory://"):
        raise SystemExit(
            "Refusing to start: rate-limit counters are per process (RATELIMIT_STORAGE_URI=memory://) "
            f"but {server.cfg.workers} workers would each count separately. Set "
            "SCREENING_RATELIMIT_STORAGE_URI to a shared store (for example redis://localhost:6379), "
            "or run one worker."
        )
    address = server.cfg.bind[0]
    cli.announce_setup(app, "" if address.startswith(("unix:", "fd:")) else f"http://{address}")


def pre_fork(server, worker) -> None:
    """Keep what the master built out of the workers' garbage collections.

    A full collection in a worker writes to every object it visits, and so copies every
    page of the preloaded app that the worker shares with the master (copy-on-write):
    after a few thousand requests each worker held a private copy of most of the app.
    Frozen objects are never visited, so those pages stay shared.
    """
    gc.freeze()
    gc.enable()
