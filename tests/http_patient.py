"""A patient over real HTTP (for load and fault tests, and the benchmarks).

Standard library only: a cookie jar, the CSRF token read from each page, and the
form posted exactly as a browser would.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from screening.questionnaire import Definition, load

DEFAULT = str(Path(__file__).resolve().parent.parent / "questions.yaml")
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
REFERENCE = re.compile(r"Your reference: <strong>([A-Z0-9-]+)</strong>")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Let the caller see 302/303 responses instead of following them."""

    def redirect_request(self, *args, **kwargs):
        """Never follow."""
        return None


def all_clear_answers(defn: Definition) -> dict[str, dict[str, str | list[str]]]:
    """Form posts, page by page, from the questionnaire's fullest 'suitable' test case."""
    case = max((c for c in defn.tests if c.outcome == "suitable"), key=lambda c: len(c.answers))
    pages: dict[str, dict[str, str | list[str]]] = {s.id: {} for s in defn.sections}
    for qid, value in case.answers.items():
        q = defn.questions[qid]
        if q.type == "consent":
            value = "y"
        elif not isinstance(value, list):
            value = str(value)
        pages[q.section_id][qid] = value
    return pages


class HttpPatient:
    """One patient's browser: completes the whole questionnaire over HTTP."""

    def __init__(self, base_url: str, retries: int = 20) -> None:
        self.base = base_url.rstrip("/")
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )
        self.retries = retries
        self.requests = 0
        self.errors = 0
        self.problems: list[str] = []  # what went wrong, for the test's message
        self.timings: list[tuple[str, float]] = []

    def _send(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        """One request, retried while the server is down (a worker was killed)."""
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        for attempt in range(self.retries + 1):
            started = time.perf_counter()
            try:
                try:
                    with self.opener.open(self.base + path, data=body, timeout=30) as response:
                        result = response.status, response.read().decode(), response.headers.get("Location", "")
                except urllib.error.HTTPError as exc:  # any status urllib does not follow, 302 included
                    result = exc.code, exc.read().decode(errors="replace"), exc.headers.get("Location", "")
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                # The server died mid-request or mid-response: ask again, as a browser's retry would.
                self.errors += 1
                self.problems.append(f"{type(exc).__name__} on {path}")
                if attempt == self.retries:
                    raise
                time.sleep(0.1 * (attempt + 1))
                continue
            if result[0] >= 500 and attempt < self.retries:
                self.errors += 1
                self.problems.append(f"{result[0]} on {path}")
                time.sleep(0.1 * (attempt + 1))
                continue
            self.requests += 1
            self.timings.append((path.split("?")[0], time.perf_counter() - started))
            return result
        raise AssertionError("unreachable")

    def get(self, path: str) -> str:
        """GET a page that must be 200."""
        status, html, _ = self._send(path)
        assert status == 200, (path, status)
        return html

    def post_form(self, path: str, data: dict, page: str | None = None) -> tuple[int, str]:
        """POST a form with the token of the page it is on; returns status and Location."""
        html = self.get(page or path)
        match = TOKEN.search(html)
        assert match, f"no CSRF token on {page or path}"
        status, _, location = self._send(path, {**data, "csrf_token": match.group(1) or match.group(2)})
        return status, location

    def complete(self, pages: dict[str, dict]) -> str:
        """Answer every page, check, send, and return the reference shown."""
        self.get("/")
        for section_id, answers in pages.items():
            status, location = self.post_form(f"/intake/{section_id}", answers)
            assert status == 302, (section_id, status)
        self.get("/intake/check")
        status, location = self.post_form("/intake/submit", {}, page="/intake/check")
        if status == 302 and location.endswith("/intake/check"):  # a page timed out: send again
            status, location = self.post_form("/intake/submit", {}, page="/intake/check")
        assert status == 303 and location.endswith("/intake/done"), (status, location)
        match = REFERENCE.search(self.get("/intake/done"))
        assert match, "no reference on the outcome page"
        return match.group(1)


def default_pages() -> dict[str, dict]:
    """The default questionnaire's all-clear answers as form posts."""
    return all_clear_answers(load(DEFAULT))
