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

from screening import cli, create_app  # noqa: E402 - after gc.disable

bind = os.environ.get("SCREENING_BIND", "127.0.0.1:8000")
# Sync workers: two per core plus one, the usual starting point for I/O-light apps.
workers = int(os.environ.get("SCREENING_WORKERS", (os.cpu_count() or 1) * 2 + 1))
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
