"""Attachments: limits with clear errors, the type decided by the server, safe downloads for
the people of the thread only."""
from __future__ import annotations

import httpx

from server.messages import attachments
from tests.support import assert_error

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def upload(http: httpx.AsyncClient, name: str, data: bytes,
                 content_type: str = "application/octet-stream") -> httpx.Response:
    return await http.post("/api/attachments", params={"name": name}, content=data,
                           headers={"Content-Type": content_type})


async def test_send_and_download_an_attachment(room):
    client, http = await room.new_client()
    sent = await upload(http, "../../etc/Lab results é.pdf", PDF)
    assert sent.status_code == 201, sent.text
    file = sent.json()
    assert file["name"] == "Lab results é.pdf" and file["size"] == len(PDF)
    assert file["content_type"] == "application/pdf"
    thread_id = await room.start_thread(http, "Results", "Here they are",
                                        attachment_ids=[file["id"]])
    messages = (await room.therapist_http.get(f"/api/threads/{thread_id}/messages")).json()
    [listed] = messages["messages"][0]["attachments"]
    assert listed["name"] == "Lab results é.pdf" and listed["url"] == file["url"]

    download = await room.therapist_http.get(file["url"])
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Lab%20results%20%C3%A9.pdf" in disposition

    _, stranger = await room.new_client("Stranger")
    assert_error(await stranger.get(file["url"]), 404, "not_found")


async def test_an_upload_not_yet_sent_is_the_uploaders_alone(room):
    _, http = await room.new_client()
    file = (await upload(http, "photo.png", PNG)).json()
    assert (await http.get(file["url"])).status_code == 200
    assert_error(await room.therapist_http.get(file["url"]), 404)
    _, other = await room.new_client("Other")
    thread_id = await room.start_thread(other)
    # Nobody sends someone else's upload.
    assert_error(await other.post(f"/api/threads/{thread_id}/messages",
                                  json={"body": "Look", "attachment_ids": [file["id"]]}),
                 422, "invalid", "attachment_ids")


async def test_limits_give_a_clear_error(room, conn):
    _, http = await room.new_client()
    too_big = b"%PDF-" + b"0" * attachments.MAX_BYTES
    error = assert_error(await upload(http, "scan.pdf", too_big), 413, "too_large", "file")
    assert "at most 10 MB" in error["message"]
    error = assert_error(await upload(http, "tool.exe", b"MZ\x90\x00"), 415,
                         "unsupported_type", "file")
    assert "PDF" in error["message"]
    error = assert_error(await upload(http, "page.html.pdf", b"<html><script>alert(1)"), 415,
                         "unsupported_type", "file")
    assert "not a real PDF" in error["message"]
    assert_error(await upload(http, "notes.txt", b"\xff\xfe\x00binary"), 415, "unsupported_type")
    assert_error(await upload(http, "empty.pdf", b""), 422, "invalid", "file")
    assert_error(await upload(http, "   ", PDF), 422, "invalid", "name")
    ids = [(await upload(http, f"p{i}.png", PNG)).json()["id"] for i in range(6)]
    error = assert_error(await http.post("/api/threads", json={
        "subject": "Many", "body": "Files", "attachment_ids": ids}), 422, "invalid",
        "attachment_ids")
    assert await conn.fetchval("SELECT count(*) FROM message_attachments WHERE id = ANY($1) "
                               "AND message_id IS NOT NULL", ids) == 0


async def test_a_failed_send_keeps_nothing(room, conn):
    """An attachment refused inside the post rolls back the whole thread."""
    client, http = await room.new_client()
    before = await conn.fetchval("SELECT count(*) FROM message_threads WHERE client_id = $1",
                                 client["id"])
    assert_error(await http.post("/api/threads", json={
        "subject": "Ghost", "body": "Files", "attachment_ids": [987654321]}), 422)
    assert await conn.fetchval("SELECT count(*) FROM message_threads WHERE client_id = $1",
                               client["id"]) == before


async def test_unsent_uploads_are_pruned_after_a_day(room, conn):
    _, http = await room.new_client()
    file = (await upload(http, "old.png", PNG)).json()
    await conn.execute("UPDATE message_attachments SET created_at = now() - interval '25 hours' "
                       "WHERE id = $1", file["id"])
    await attachments.prune(conn)
    assert await conn.fetchval("SELECT count(*) FROM message_attachments WHERE id = $1",
                               file["id"]) == 0
