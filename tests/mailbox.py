"""A real SMTP server on loopback (aiosmtpd) for the tests where mail is the point; the
`smtp` fixture in conftest.py starts one."""

from __future__ import annotations

import email
import email.policy
import socket
from typing import Any


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """A real SMTP server on loopback that keeps every message it accepts; can be taken
    down and brought back on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[tuple[list[str], bytes]] = []
        self.controller: Any = None

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def up(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def down(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[email.message.EmailMessage]:
        """The messages delivered to `address`, parsed."""
        return [
            email.message_from_bytes(raw, policy=email.policy.default)
            for rcpts, raw in self.messages
            if address in rcpts
        ]
