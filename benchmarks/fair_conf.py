"""gunicorn settings for the fair bare stack: the same serving settings as the others."""

from __future__ import annotations

from .baseline_conf import *  # noqa: F403  (workers, bind, keep-alive... as the app's)

wsgi_app = "benchmarks.fair_app:create_app()"
