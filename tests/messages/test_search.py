"""Full-text search over the therapist's messages (tsvector + GIN), within their divisions."""
from __future__ import annotations

from tests.support import session_client


async def test_search_finds_words_by_their_stem_and_marks_them(room, conn):
    client, http = await room.new_client("Searcher")
    thread_id = await room.start_thread(
        http, "Evenings", "Since the move I have been sleeping badly and waking at four.")
    other = await room.start_thread(http, "Invoice", "Could you send the superbill?")
    found = (await room.therapist_http.get("/api/threads", params={"q": "sleep"})).json()
    [hit] = [t for t in found["threads"] if t["id"] in (thread_id, other)]
    assert hit["id"] == thread_id and hit["matches"] == 1
    marked = [s["text"] for s in hit["snippet"] if s["match"]]
    assert marked == ["sleeping"]
    assert "".join(s["text"] for s in hit["snippet"]).startswith("Since the move")
    # The snippets show what clients wrote: the search is in their account activity.
    assert await conn.fetchval(
        "SELECT detail FROM audit_log WHERE action = 'messages_searched' "
        "AND subject_user_id = $1", client["id"]) == f'{{"threads": [{thread_id}]}}'
    # Subjects count too, and a phrase or an excluded word work as on the web.
    by_subject = (await room.therapist_http.get("/api/threads", params={"q": "invoice"})).json()
    assert other in [t["id"] for t in by_subject["threads"]]
    excluded = (await room.therapist_http.get(
        "/api/threads", params={"q": "sleeping -four"})).json()
    assert thread_id not in [t["id"] for t in excluded["threads"]]


async def test_search_stays_in_the_therapists_divisions(room, conn, make_user, portal):
    _, http = await room.new_client()
    thread_id = await room.start_thread(http, "Quiet", "xylophonist appointments")
    outsider = await make_user("therapist", ("education",))
    other_http = await session_client(conn, portal.url, outsider["id"])
    room.opened.append(other_http)
    assert (await other_http.get("/api/threads", params={"q": "xylophonist"})).json() == \
        {"threads": []}
    found = (await room.therapist_http.get("/api/threads", params={"q": "xylophonist"})).json()
    assert [t["id"] for t in found["threads"]] == [thread_id]


async def test_the_search_uses_the_gin_index(conn):
    await conn.execute("SET enable_seqscan = off")
    try:
        plan = "\n".join(r[0] for r in await conn.fetch(
            "EXPLAIN SELECT id FROM messages "
            "WHERE search @@ websearch_to_tsquery('english', 'sleep')"))
    finally:
        await conn.execute("SET enable_seqscan = on")
    assert "messages_search" in plan
