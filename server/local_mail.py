"""A loopback SMTP server for trying the portal without a mail server.

It accepts everything the outbox worker sends, so the whole mail path runs for real; the
therapist reads the mail on the Sent mail page, which shows the outbox.
"""
from __future__ import annotations

import logging
import socket

from aiosmtpd.controller import Controller

log = logging.getLogger(__name__)


class _Accept:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start() -> Controller:
    """Start on a free loopback port; the caller points the outbox worker at it."""
    controller = Controller(_Accept(), hostname="127.0.0.1", port=free_port())
    controller.start()
    log.info("local SMTP server on 127.0.0.1:%s", controller.port)
    return controller
