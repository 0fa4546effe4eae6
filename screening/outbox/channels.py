"""How a message leaves: email over SMTP, and webhooks (SMS included) over HTTPS.

Each sender returns normally when the far end accepted the message and raises
`SendFailed` otherwise, saying whether to try again and (for a throttled webhook) when.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from ..config import BadConfiguration
from ..models import OutboxMessage
from .events import EVENTS


class SendFailed(Exception):
    """The message was not accepted. `gone`: the endpoint asked never to be called again
    (410); `retry_after`: seconds the endpoint asked us to wait."""

    def __init__(self, message: str, *, gone: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.gone = gone
        self.retry_after = retry_after


# --- Email ---------------------------------------------------------------------------


def smtp_password(config: dict[str, Any]) -> str | None:
    """The SMTP password, read from SMTP_PASSWORD_FILE (never kept in the config itself)."""
    path = config.get("SMTP_PASSWORD_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SendFailed(f"cannot read SMTP_PASSWORD_FILE: {exc.strerror}") from None


def send_email(message: OutboxMessage, payload: dict[str, Any], config: dict[str, Any], to: str | None = None) -> None:
    """Hand one email ({"subject", "text"}) to the SMTP server; accepted (250) or SendFailed.
    `to`: the address when it is not the message's target (a patient's, read at send time)."""
    to = to or message.target
    host = config.get("SMTP_HOST")
    sender = config.get("ALERT_FROM")
    if not host or not sender:
        raise SendFailed("email is not set up: SMTP_HOST and ALERT_FROM are needed")
    mail = EmailMessage()
    mail["Subject"] = payload["subject"]
    mail["From"] = sender
    mail["To"] = to
    mail["Message-ID"] = make_msgid(idstring=message.event_id, domain=sender.rpartition("@")[2] or None)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(payload["text"])
    port = int(config["SMTP_PORT"])
    timeout = float(config["SMTP_TIMEOUT_SECONDS"])
    try:
        smtp_class = smtplib.SMTP_SSL if port == 465 else smtplib.SMTP
        with smtp_class(host, port, timeout=timeout) as smtp:
            if port != 465 and config["SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], smtp_password(config) or "")
            refused = smtp.send_message(mail, from_addr=sender, to_addrs=[to])
            if refused:
                raise SendFailed(f"the server refused the recipient: {refused}")
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailed(f"SMTP {host}:{port}: {type(exc).__name__}: {exc}"[:400]) from None


# --- Webhooks --------------------------------------------------------------------------


def check_webhooks(config: Mapping[str, Any]) -> None:
    """Refuse to start with a malformed ALERT_WEBHOOKS entry, saying which and why: found
    only when an event first fires, it would fail that event's transaction (an urgent
    submission, a revoked link) or never fire at all (a misspelt event)."""
    shape = "a dict with a name, url, secret and events"
    hooks = config.get("ALERT_WEBHOOKS") or ()
    if not isinstance(hooks, (list, tuple)):
        raise BadConfiguration(f"ALERT_WEBHOOKS must be a list of webhooks, each {shape}")
    names: set[str] = set()
    for n, hook in enumerate(hooks, start=1):
        where = f"ALERT_WEBHOOKS, webhook {n}"
        if not isinstance(hook, dict):
            raise BadConfiguration(f"{where}: must be {shape}")
        name = hook.get("name")
        if not isinstance(name, str) or not name.strip():
            raise BadConfiguration(f'{where}: give it a "name" (it names the webhook on the deliveries page)')
        where = f"ALERT_WEBHOOKS, webhook {name!r}"
        if name in names:
            raise BadConfiguration(f"{where}: two webhooks have this name; give each its own")
        names.add(name)
        for key in ("url", "secret"):
            if not isinstance(hook.get(key), str) or not hook[key].strip():
                raise BadConfiguration(f'{where}: give it a "{key}"')
        wanted = hook.get("events")
        if not isinstance(wanted, (list, tuple)) or not wanted:
            raise BadConfiguration(f'{where}: "events" must list the events it hears of, from {", ".join(EVENTS)}')
        unknown = [event for event in wanted if event not in EVENTS]
        if unknown:
            raise BadConfiguration(f"{where}: no event is called {unknown[0]!r}; the events are {', '.join(EVENTS)}")


def endpoint(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The configured webhook called `name`."""
    for hook in config["ALERT_WEBHOOKS"]:
        if hook.get("name") == name:
            return hook
    raise SendFailed(f"no webhook called {name!r} is configured any more")


def check_url(url: str, config: dict[str, Any]) -> None:
    """Refuse what a webhook must not call: http in production, and (SSRF) private,
    loopback, link-local or reserved addresses unless ALERT_WEBHOOKS_ALLOW_PRIVATE."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SendFailed(f"not a web address: {url!r}")
    if parts.scheme != "https" and config.get("PRODUCTION"):
        raise SendFailed("webhooks must use https in production")
    if config.get("ALERT_WEBHOOKS_ALLOW_PRIVATE"):
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError as exc:
        raise SendFailed(f"cannot resolve {parts.hostname}: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise SendFailed(
                f"{parts.hostname} is a private or local address ({address}): "
                "refused unless ALERT_WEBHOOKS_ALLOW_PRIVATE is set"
            )


def body_text(payload: dict[str, Any]) -> str:
    """The webhook's body as sent (compact JSON, keys sorted)."""
    return json.dumps(payload["body"], separators=(",", ":"), sort_keys=True)


def signed_headers(message: OutboxMessage, secret: str, body: str) -> dict[str, str]:
    """Standard Webhooks headers: the event's id (the same on every retry), the time of
    this attempt (the real time: receivers check it against their own clock) and the
    signature over both and the body."""
    now = dt.datetime.now(dt.UTC)
    return {
        "webhook-id": f"msg_{message.event_id}",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(f"msg_{message.event_id}", now, body),
        "content-type": "application/json",
        "user-agent": "Screening-Webhooks/1",
    }


def send_webhook(message: OutboxMessage, payload: dict[str, Any], config: dict[str, Any], client: httpx.Client) -> None:
    """POST one signed webhook ({"body"}); a 2xx is success, anything else (redirects too) SendFailed."""
    hook = endpoint(config, message.target)
    url = hook.get("url", "")
    check_url(url, config)
    body = body_text(payload)
    try:
        headers = signed_headers(message, hook.get("secret", ""), body)
    except Exception as exc:  # a malformed secret: the library raises several kinds
        raise SendFailed(f"webhook {message.target!r}: its secret is not a whsec_ key ({type(exc).__name__})") from None
    try:
        response = client.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        raise SendFailed(f"{message.target}: {type(exc).__name__}: {exc}"[:400]) from None
    if 200 <= response.status_code < 300:
        return
    if response.status_code == 410:
        raise SendFailed(f"{message.target}: 410 Gone (endpoint disabled)", gone=True)
    retry_after = None
    if response.status_code in (429, 502, 503, 504):
        retry_after = _retry_after(response.headers.get("retry-after"))
    raise SendFailed(f"{message.target}: HTTP {response.status_code}", retry_after=retry_after)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (only the delay-seconds form; dates are ignored)."""
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


def http_client(config: dict[str, Any]) -> httpx.Client:
    """An HTTP client for one relay pass: timeouts, no redirects, no proxies from the environment."""
    return httpx.Client(
        timeout=httpx.Timeout(float(config["WEBHOOK_TIMEOUT_SECONDS"])), follow_redirects=False, trust_env=False
    )
