"""Secure messages: the channel the therapist reads first.

Threads between a client and the practice, one division each; messages with attachments;
read state both ways; live delivery through the event hub; email alerts without a word of
the message; the therapist's inbox (waiting first, oldest wait on top), response hours with
an automatic reply outside them, and alert digests that keep out of quiet hours.

The area brings `api` and `page_routes()` like every area, and `alerts.run`, the periodic
job each node runs. A page elsewhere starts a message with a prefilled subject by linking to
`/messages/new?subject=…`.
"""
from server.messages import alerts
from server.messages.api import api
from server.messages.pages import page_routes

__all__ = ["alerts", "api", "page_routes"]
