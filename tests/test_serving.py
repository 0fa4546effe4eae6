"""gunicorn as served: forged log lines and slow clients (issue 13, items 7 and 18)."""

from __future__ import annotations

import socket
import time
import urllib.request

import pytest

from .conftest import database_url, prepare_database
from .test_app import STRONG_KEY
from .test_load import Server, server  # noqa: F401 - the running-server fixture

pytestmark = pytest.mark.slow


def test_a_newline_in_the_path_cannot_forge_an_access_log_line(server):  # noqa: F811
    """%0A in a URL is written escaped, on the request's own line."""
    forged = '127.0.0.1 [29/Nov/2026:09:00:00 +0000] "GET /review/users HTTP/1.1" 200'
    path = "/x%0A" + urllib.request.quote(forged) + "%22"
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(server.base + path, timeout=5)
    time.sleep(0.2)  # the log is written after the response
    log = (server.instance / "gunicorn.log").read_text()
    assert not any(line.startswith(forged) for line in log.splitlines())
    assert "/x\\x0a127.0.0.1" in log


def test_slow_clients_do_not_hold_up_a_normal_request(server):  # noqa: F811
    """Twelve clients trickling their headers: a normal request still answers at once."""
    slow = []
    for _ in range(12):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET /review/login HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow")  # and no more
        slow.append(sock)
    try:
        time.sleep(0.5)  # let the workers pick the slow ones up first
        started = time.monotonic()
        with urllib.request.urlopen(server.base + "/healthz", timeout=20) as response:
            assert response.status == 200
        waited = time.monotonic() - started
        print(f"normal request behind 12 slow clients: {waited * 1000:.0f} ms")
        assert waited < 2
    finally:
        for sock in slow:
            sock.close()


@pytest.fixture
def production_server(tmp_path):
    """gunicorn as `make serve` runs it: production mode (a strong key, Secure cookies), the
    rate-limit counters in the database, several threaded workers."""
    url = database_url(tmp_path)
    prepare_database(url)
    srv = Server(url, tmp_path)
    srv.env = {k: v for k, v in srv.env.items() if k != "SCREENING_RATELIMIT_STORAGE_URI"} | {
        "SCREENING_PRODUCTION": "true",
        "SCREENING_SECRET_KEY": STRONG_KEY,
    }
    srv.start()
    yield srv
    srv.stop()


def test_slow_clients_in_production_mode_do_not_hold_up_patients(production_server):
    """Slow-loris clients in production mode, some trickling headers and some a body: the
    start page, the sign-in page and /healthz still answer within two seconds."""
    srv = production_server
    slow = []
    for n in range(16):
        sock = socket.create_connection(("127.0.0.1", srv.port))
        if n % 2:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow")  # headers never end
        else:  # a form whose body never arrives
            sock.sendall(
                b"POST /intake/warning_signs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\nsaddle"
            )
        slow.append(sock)
    try:
        time.sleep(0.5)  # the workers take the slow ones first
        for path in ("/", "/review/login", "/healthz"):
            started = time.monotonic()
            with urllib.request.urlopen(srv.base + path, timeout=20) as response:
                assert response.status == 200
                if path == "/review/login":  # production mode: the form's session cookie is __Host-, Secure
                    assert response.headers["Set-Cookie"].startswith("__Host-screening_session=")
                    assert "Secure" in response.headers["Set-Cookie"]
            waited = time.monotonic() - started
            print(f"{path} behind 16 slow clients, production mode: {waited * 1000:.0f} ms")
            assert waited < 2, f"{path} waited {waited:.1f} s behind slow clients"
    finally:
        for sock in slow:
            sock.close()
