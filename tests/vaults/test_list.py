"""§5 list: filters at every level, limit, newest first, keyset cursors to the end."""

import base64
import itertools
import json

from pixvault.domain.ids import new_id, to_ulid
from pixvault.services.library import NewUpload
from tests.helpers import png, uploaded
from tests.vaults.support import bearer, check_record, error

LEVELS = ("partition", "collection", "channel")


async def seed(core, project, count, folders=("p", "c", "ch"), prefix="f"):
    """`count` small files stored through the core (fast); their asset ids, oldest first."""
    ids = []
    for i in range(count):
        image = await core.library.upload_bytes(
            project,
            f"file {prefix} {i}".encode(),
            NewUpload(filename=f"{prefix}-{i}.txt", folders=folders),
            core.vault_uploads,
        )
        ids.append("asset_" + to_ulid(image.id))
    return ids


async def listed(client, sk, **params):
    response = await client.get("/v1/assets", params=params, headers=bearer(sk))
    assert response.status_code == 200, response.text
    page = response.json()
    assert set(page) == {"data", "cursor", "has_more"}
    assert isinstance(page["has_more"], bool)
    assert (page["cursor"] is None) == (not page["has_more"]), page  # null exactly at the end
    return page


async def walk(client, sk, **params):
    """Every page, as the SDK's iterator reads them; the ids in order and the page sizes."""
    ids, sizes, cursor = [], [], None
    while True:
        page = await listed(client, sk, **params, **({"cursor": cursor} if cursor else {}))
        ids += [a["id"] for a in page["data"]]
        sizes.append(len(page["data"]))
        if not page["has_more"] or page["cursor"] is None:
            return ids, sizes
        cursor = page["cursor"]


async def test_an_empty_vault(client, sk):
    assert await listed(client, sk) == {"data": [], "cursor": None, "has_more": False}


async def test_filters_at_each_level_and_in_any_combination(client, core, project, sk, vault_id):
    where = {}
    for folders in itertools.product(("a", "b"), ("x", "y"), ("m", "n")):
        (asset_id,) = await seed(core, project, 1, folders, prefix="-".join(folders))
        where[asset_id] = dict(zip(LEVELS, folders, strict=True))
    newest_first = list(reversed(where))
    everything = await listed(client, sk)
    assert [a["id"] for a in everything["data"]] == newest_first
    for item in everything["data"]:
        check_record(item, vault_id)
    for size in range(1, 4):
        for levels in itertools.combinations(LEVELS, size):
            for values in itertools.product(*({"a", "b"}, {"x", "y"}, {"m", "n"})):
                query = {lv: dict(zip(LEVELS, values, strict=True))[lv] for lv in levels}
                expected = [i for i in newest_first if query.items() <= where[i].items()]
                page = await listed(client, sk, **query)
                assert [a["id"] for a in page["data"]] == expected, query
    # a filter nothing matches
    assert (await listed(client, sk, partition="a", collection="nothing"))["data"] == []


async def test_filter_values_outside_the_grammar_are_400(client, sk):
    for level in LEVELS:
        for value in ("A", "a_b", "", "-a", "a" * 65, "a/b"):
            response = await client.get("/v1/assets", params={level: value}, headers=bearer(sk))
            error(response, 400, "INVALID_PARAMS", names=level)


async def test_limit_defaults_to_50_and_takes_1_to_200(client, core, project, sk):
    ids = await seed(core, project, 51)
    first = await listed(client, sk)
    assert len(first["data"]) == 50 and first["has_more"] is True
    assert [a["id"] for a in first["data"]] == ids[::-1][:50]
    assert (await listed(client, sk, cursor=first["cursor"]))["data"][0]["id"] == ids[0]
    one = await listed(client, sk, limit=1)
    assert [a["id"] for a in one["data"]] == [ids[-1]] and one["has_more"]
    assert len((await listed(client, sk, limit=200))["data"]) == 51
    assert (await listed(client, sk, limit=51))["has_more"] is False
    for bad in ("0", "201", "-1", "abc", "1.5", "", "1e2", "+5", "ten"):
        response = await client.get("/v1/assets", params={"limit": bad}, headers=bearer(sk))
        error(response, 400, "INVALID_PARAMS", names="limit")


async def test_walking_the_pages_to_the_end(client, core, project, sk):
    ids = await seed(core, project, 7)
    await seed(core, project, 2, ("q", "c", "ch"), prefix="other")
    walked, sizes = await walk(client, sk, limit=3, partition="p")
    assert walked == ids[::-1] and sizes == [3, 3, 1]
    exact, sizes = await walk(client, sk, limit=3, partition="q")
    assert len(exact) == 2 and sizes == [2]
    ids += await seed(core, project, 2, prefix="more")  # 9 in p: an exact multiple of 3
    walked, sizes = await walk(client, sk, limit=3, partition="p")
    assert walked == ids[::-1] and sizes == [3, 3, 3]
    assert len(set(walked)) == len(walked)


async def test_uploads_and_deletes_between_pages_neither_repeat_nor_skip(client, core, project, sk):
    ids = await seed(core, project, 6)
    first = await listed(client, sk, limit=2)
    assert [a["id"] for a in first["data"]] == [ids[5], ids[4]]
    await seed(core, project, 2, prefix="late")  # newer than everything: not on later pages
    response = await client.delete(f"/v1/assets/{ids[4]}", headers=bearer(sk))  # the cursor's
    assert response.status_code == 204
    rest = []
    cursor = first["cursor"]
    while cursor:
        page = await listed(client, sk, limit=2, cursor=cursor)
        rest += [a["id"] for a in page["data"]]
        cursor = page["cursor"]
    assert rest == [ids[3], ids[2], ids[1], ids[0]]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_malformed_cursors_are_400(client, core, project, sk):
    await seed(core, project, 3)
    good = (await listed(client, sk, limit=1))["cursor"]
    for bad in (
        "garbage",
        "!!!",
        good[:-3],
        good + "x",
        _b64(b"not json"),
        _b64(b"[1, 2]"),
        _b64(b'{"a": 1}'),
        _b64(b'"text"'),
        "0",
    ):
        response = await client.get("/v1/assets", params={"cursor": bad}, headers=bearer(sk))
        error(response, 400, "INVALID_PARAMS", names="cursor")


async def test_another_vaults_cursor_is_400(client, core, sk, other):
    other_project, other_key = other
    await seed(core, other_project, 3)
    theirs = (await listed(client, other_key, limit=1))["cursor"]
    assert theirs
    response = await client.get("/v1/assets", params={"cursor": theirs}, headers=bearer(sk))
    error(response, 400, "INVALID_PARAMS", names="cursor")


async def test_a_tampered_cursor_is_400(client, core, project, sk):
    """A cursor re-encoded with another position (here a made-up asset id) was not handed
    out by the server: refused, not silently used."""
    await seed(core, project, 3)
    good = (await listed(client, sk, limit=1))["cursor"]
    body, _, mac = good.partition(".")  # base64url JSON of the position, then its MAC
    decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert isinstance(decoded, dict)
    for key, value in decoded.items():
        if isinstance(value, str) and len(value) == 26:
            decoded[key] = to_ulid(new_id())
    tampered = _b64(json.dumps(decoded, separators=(",", ":")).encode()) + "." + mac
    assert tampered != good
    response = await client.get("/v1/assets", params={"cursor": tampered}, headers=bearer(sk))
    error(response, 400, "INVALID_PARAMS", names="cursor")


async def test_list_items_are_asset_records_when_the_project_has_native_images(
    client, api, sk, vault_id
):
    """The project behind a vault also takes native uploads (no folder path). Every item of
    the vault list is still a full asset record (§3: string folders and filename)."""
    await uploaded(api, png())
    response = await client.get("/v1/vaults/" + vault_id + "/assets", headers=bearer(sk))
    assert response.status_code == 200
    for item in response.json()["data"]:
        check_record(item, vault_id)
