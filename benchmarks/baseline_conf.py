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


def _public(node: ast.stmt) -> bool:
    """A top-level assignment of a setting (a public name), not of the app's own helpers."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return bool(targets) and all(isinstance(t, ast.Name) and not t.id.startswith("_") for t in targets)


_settings: dict[str, object] = {}
for _node in (node for node in _tree.body if _public(node)):
    try:  # a setting built from the app's own code (its escaping logger) is left at gunicorn's default
        exec(compile(ast.Module([_node], []), str(_SOURCE), "exec"), {"os": os}, _settings)
    except NameError:
        continue
globals().update({name: value for name, value in _settings.items() if not name.startswith("_")})

wsgi_app = "benchmarks.baseline_app:create_app()"
