"""Security headers and limits on every response, error pages included; the keys that sign."""

from __future__ import annotations

from typing import Any, cast

from flask import Flask, abort, current_app, request
from itsdangerous import URLSafeTimedSerializer
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

# No inline script or style anywhere: every asset is a file the app serves.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def security_headers(response: Response) -> Response:
    """Headers that hold for every response."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if response.mimetype == "text/html":
        # Pages can show health data (and error pages follow them): never cache them.
        headers.setdefault("Cache-Control", "no-store")
    return response


# The pages that take a file: a CSV file of visits.
UPLOADS = {"review.visits_import"}


class BoundedInt(IntegerConverter):
    """`<int:...>` URL parts no bigger than a database id can be (PostgreSQL's integer):
    /review/users/99999999999999999999 is a 404, not an overflow."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def refuse_unusable_input() -> None:
    """400 for what no page of this app takes: a NUL character in the path, a query or a
    form value (PostgreSQL cannot store one, and no person types one; the patient's pages
    answer it per question instead) and uploaded files (every form is text; an upload
    would reach a text field as a file object)."""
    values = [("", request.path), *request.args.items(multi=True)]
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        if request.files and request.endpoint not in UPLOADS:
            abort(400)
        # The patient's pages check every answer themselves and say which one holds a
        # hidden character, keeping the rest of the page as typed.
        if request.blueprint != "intake":
            values += [*request.form.items(multi=True)]
    if any("\x00" in key or "\x00" in value for key, value in values):
        abort(400)


def signing_keys(app: Flask | None = None) -> list[str | bytes]:
    """Every key a signature may have been made with, as itsdangerous takes them: the
    retired keys of SECRET_KEY_FALLBACKS first, the current SECRET_KEY last. itsdangerous
    signs with the last and accepts a signature made with any of them, so what was signed
    before a key rotation (a patient's session and draft, a form's CSRF token, a
    known-device cookie) still reads after it."""
    config = (app or current_app).config
    return [*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"]]


def serializer(salt: str, app: Flask | None = None) -> URLSafeTimedSerializer:
    """A signer for one purpose (`salt`), with the current key and the retired ones."""
    # itsdangerous turns each key into bytes, so a mix of str and bytes keys is fine.
    return URLSafeTimedSerializer(cast("list[str]", signing_keys(app)), salt=salt)


def init_app(app: Flask) -> None:
    """Headers on every response; trust a proxy's X-Forwarded-* only when configured;
    CSRF tokens signed and checked with the current key and the retired ones."""
    # Flask's session cookie reads SECRET_KEY_FALLBACKS itself; Flask-WTF only knows one
    # key unless it is given the list (a clinic's own WTF_CSRF_SECRET_KEY is kept).
    app.config.setdefault("WTF_CSRF_SECRET_KEY", signing_keys(app))
    app.url_map.converters["int"] = BoundedInt
    app.before_request(refuse_unusable_input)
    app.after_request(security_headers)
    hops = app.config["PROXY_FIX_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
