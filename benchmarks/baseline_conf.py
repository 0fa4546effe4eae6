"""gunicorn settings for the baseline app: the app's production settings, another app.

Every setting that shapes serving (workers, bind, keep-alive, preloading, access log)
is read from screening/gunicorn_conf.py, so the two are served the same way. Only its
top-level assignments are run: importing it would import the whole app too, and the
baseline's start-up and memory would no longer be the bare stack's.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

_SOURCE = Path(__file__).resolve().parent.parent / "screening" / "gunicorn_conf.py"
_tree = ast.parse(_SOURCE.read_text(encoding="utf-8"))
_tree.body = [node for node in _tree.body if isinstance(node, ast.Assign | ast.AnnAssign)]
exec(compile(_tree, str(_SOURCE), "exec"), {"os": os}, _settings := {})
globals().update({name: value for name, value in _settings.items() if not name.startswith("_")})

wsgi_app = "benchmarks.baseline_app:create_app()"
