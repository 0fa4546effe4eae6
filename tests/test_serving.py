"""gunicorn as served: forged log lines and slow clients (issue 13, items 7 and 18)."""

from __future__ import annotations

import socket
import time
import urllib.request

import pytest

from .test_load import server  # noqa: F401 - the running-server fixture

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
