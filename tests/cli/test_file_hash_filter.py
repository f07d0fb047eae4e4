"""`GET /api/v1/images?fileHash=`: does the project hold a file with this content? (what
`pixvault upload` asks before sending a file)."""

import hashlib

import pytest
from sqlalchemy import text

from pixvault.db.queries import images as rows
from pixvault.domain.paging import ImageFilter
from tests.helpers import jpeg, nothing_stored, uploaded


async def test_file_hash_finds_the_images_with_that_content(api):
    red, blue = jpeg(color=(200, 0, 0)), jpeg(color=(0, 0, 200))
    first = await uploaded(api, red)
    await uploaded(api, blue)
    again = await uploaded(api, red)
    digest = hashlib.sha256(red).hexdigest()
    found = await api.get("/api/v1/images", params={"fileHash": digest.upper()})
    assert found.status_code == 200
    body = found.json()
    assert [i["id"] for i in body["data"]] == [again["id"], first["id"]]
    assert {i["fileHash"] for i in body["data"]} == {digest}
    assert body["pagination"]["total"] == 2


async def test_file_hash_of_content_not_held_lists_nothing(api):
    await uploaded(api, jpeg())
    absent = hashlib.sha256(b"not uploaded").hexdigest()
    body = (await api.get("/api/v1/images", params={"fileHash": absent})).json()
    assert body["data"] == []
    assert body["pagination"]["total"] == 0


async def test_file_hash_skips_deleted_images_unless_asked(api):
    data = jpeg(color=(1, 100, 1))
    image = await uploaded(api, data)
    await api.delete(f"/api/v1/images/{image['id']}", params={"mode": "soft"})
    digest = hashlib.sha256(data).hexdigest()
    live = (await api.get("/api/v1/images", params={"fileHash": digest})).json()
    assert live["data"] == []
    every = await api.get("/api/v1/images", params={"fileHash": digest, "includeDeleted": "true"})
    assert [i["id"] for i in every.json()["data"]] == [image["id"]]


@pytest.mark.parametrize("bad", ["abc", "z" * 64, "0" * 65])
async def test_file_hash_that_is_not_a_sha256_is_refused(api, core, bad):
    response = await api.get("/api/v1/images", params={"fileHash": bad})
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": {
            "code": "VALIDATION_ERROR",
            "message": f"fileHash must be a SHA-256 as 64 hex digits, got {bad!r}",
        },
    }
    assert await nothing_stored(core)


async def test_a_file_hash_lookup_reads_the_hash_index(core, started):
    """The query `?fileHash=` makes (its page and its total) is answered from
    ix_images_hash, not by reading every row of the project (PostgreSQL is told not to scan
    the whole table, which it would prefer on a table this small)."""
    project = started[1].project
    only = ImageFilter(sha256="ab" * 32)
    async with core.db.read() as conn:
        if not core.db.is_sqlite:
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
        explain = "EXPLAIN QUERY PLAN " if core.db.is_sqlite else "EXPLAIN "
        for query in (rows.offset_page(project.id, only, 20, 0), rows.total(project.id, only)):
            compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
            plan = " ".join(str(r) for r in await conn.execute(text(explain + str(compiled))))
            assert "ix_images_hash" in plan, plan
