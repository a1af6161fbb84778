"""Attachments: uploaded on their own, then sent with a message; downloaded only by the
people who may read that message.

The server decides a file's type from its name *and* its first bytes, never from what the
browser claims, and serves it back only as a download (Content-Disposition: attachment,
nosniff), so an uploaded file can never run as a page of the portal.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable
from urllib.parse import quote

import asyncpg
from starlette.requests import Request

from server.errors import ApiError

MAX_BYTES = 10 * 1024 * 1024
MAX_PER_MESSAGE = 5
# Uploads not sent with a message within a day are deleted; this many may wait per person.
MAX_PENDING = 20


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in data


@dataclass(frozen=True)
class FileType:
    content_type: str
    label: str
    looks_right: Callable[[bytes], bool]


TYPES: dict[str, FileType] = {
    "pdf": FileType("application/pdf", "PDF", lambda d: d.startswith(b"%PDF-")),
    "png": FileType("image/png", "PNG picture", lambda d: d.startswith(b"\x89PNG\r\n\x1a\n")),
    "jpg": FileType("image/jpeg", "JPEG picture", lambda d: d.startswith(b"\xff\xd8\xff")),
    "jpeg": FileType("image/jpeg", "JPEG picture", lambda d: d.startswith(b"\xff\xd8\xff")),
    # Phones save photos as HEIC: an ISO media file whose first box is "ftyp".
    "heic": FileType("image/heic", "HEIC picture", lambda d: d[4:8] == b"ftyp"),
    "txt": FileType("text/plain; charset=utf-8", "text file", _is_text),
    "docx": FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                     "Word document", lambda d: d.startswith(b"PK\x03\x04")),
}
ALLOWED_TEXT = "a PDF, a picture (JPEG, PNG or HEIC), a text file or a Word document (.docx)"


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f}".removesuffix(".0") + " MB"


def too_large(size: int | None = None) -> ApiError:
    told = f"; this one is {size_text(size)}" if size else ""
    return ApiError(413, "too_large",
                    f"An attachment can be at most {size_text(MAX_BYTES)}{told}.", field="file")


def clean_name(raw: str) -> str:
    """A file name safe to store and to put in a header: no path, no control characters."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f\"]", "", name).strip().strip(".")
    if not name:
        raise ApiError(422, "invalid", "Give the file a name.", field="name")
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = stem[:190] + dot + extension[-9:] if dot else name[:200]
    return name


def file_type(name: str, data: bytes) -> FileType:
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    kind = TYPES.get(extension)
    if kind is None:
        raise ApiError(415, "unsupported_type",
                       f"This kind of file cannot be attached. Attach {ALLOWED_TEXT}.",
                       field="file")
    if not kind.looks_right(data):
        raise ApiError(415, "unsupported_type",
                       f"This file is not a real {kind.label}; it may be damaged or renamed.",
                       field="file")
    return kind


async def read_upload(request: Request) -> bytes:
    """The request body, refused as soon as it passes the limit rather than after."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise too_large(int(declared))
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BYTES:
            raise too_large()
    if not data:
        raise ApiError(422, "invalid", "The file is empty.", field="file")
    return bytes(data)


def as_json(row: asyncpg.Record) -> dict:
    return {"id": row["id"], "name": row["filename"], "size": row["size"],
            "content_type": row["content_type"], "url": f"/api/attachments/{row['id']}"}


async def store(conn: asyncpg.Connection, uploader_id: int, raw_name: str,
                data: bytes) -> dict:
    name = clean_name(raw_name)
    kind = file_type(name, data)
    waiting = await conn.fetchval(
        "SELECT count(*) FROM message_attachments WHERE uploader_id = $1 AND message_id IS NULL "
        "AND created_at > now() - interval '1 day'", uploader_id)
    if waiting >= MAX_PENDING:
        raise ApiError(429, "too_many",
                       "Too many files are waiting to be sent. Send your message first.",
                       field="file")
    row = await conn.fetchrow(
        """INSERT INTO message_attachments (uploader_id, filename, content_type, size, sha256,
                                            content)
           VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING id, filename, size, content_type""",
        uploader_id, name, kind.content_type, len(data), hashlib.sha256(data).digest(), data)
    return as_json(row)


async def attach(conn: asyncpg.Connection, uploader_id: int, attachment_ids: list[int],
                 message_id: int) -> None:
    """Send the uploader's own waiting uploads with a message; any other id is refused."""
    ids = sorted(set(attachment_ids))
    if not ids:
        return
    if len(ids) > MAX_PER_MESSAGE:
        raise ApiError(422, "invalid", f"Attach at most {MAX_PER_MESSAGE} files to a message.",
                       field="attachment_ids")
    attached = await conn.fetchval(
        """WITH sent AS (
               UPDATE message_attachments SET message_id = $3
               WHERE id = ANY($1::bigint[]) AND uploader_id = $2 AND message_id IS NULL
               RETURNING 1)
           SELECT count(*) FROM sent""", ids, uploader_id, message_id)
    if attached != len(ids):
        raise ApiError(422, "invalid", "An attachment was not found; upload it again.",
                       field="attachment_ids")


async def for_download(conn: asyncpg.Connection | asyncpg.Pool, attachment_id: int,
                       user_id: int) -> asyncpg.Record | None:
    """The file, with the thread it was sent in (NULL while it waits to be sent)."""
    return await conn.fetchrow(
        """SELECT a.id, a.uploader_id, a.filename, a.content_type, a.content, a.message_id,
                  m.thread_id
           FROM message_attachments a LEFT JOIN messages m ON m.id = a.message_id
           WHERE a.id = $1 AND (a.message_id IS NOT NULL OR a.uploader_id = $2)""",
        attachment_id, user_id)


def disposition(name: str) -> str:
    """Content-Disposition for a download: an ASCII fallback and the exact UTF-8 name."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9._ -]", "_", fallback) or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def prune(conn: asyncpg.Connection) -> str:
    return await conn.execute(
        "DELETE FROM message_attachments WHERE message_id IS NULL "
        "AND created_at < now() - interval '1 day'")
