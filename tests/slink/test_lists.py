"""Slink lists: explore, history and images by id (contract: "Reading images", "Lists")."""

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest

from tests.helpers import jpeg, png
from tests.slink.support import error, lexik, make_account, names_param, send_upload, upload_id

GUEST = {"id": "guest", "username": "guest", "displayName": "Guest"}
EXPLORE, HISTORY = "/api/images", "/api/images/history"


async def listed(client, account, path, **params):
    response = await client.get(path, params=params or None, headers=account.auth)
    assert response.status_code == 200, response.text
    return response.json()


def ids(body):
    return [item["id"] for item in body["data"]]


async def walk(client, account, path, **params):
    """Every page by cursor: (ids in order, number of pages)."""
    body = await listed(client, account, f"{path}/1", **params)
    seen, pages = ids(body), 1
    while "nextCursor" in body["meta"] and body["meta"]["nextCursor"] is not None:
        assert body["data"], "a nextCursor after an empty page"
        body = await listed(
            client, account, f"{path}/1", cursor=body["meta"]["nextCursor"], **params
        )
        seen += ids(body)
        pages += 1
        assert pages < 50
    return seen, pages


# -- what each list shows ------------------------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{"guest_uploads": True}])
async def test_explore_shows_every_users_public_images_and_no_email(client, alice, bob):
    mine = await upload_id(client, alice, isPublic="true", description="mine")
    await upload_id(client, alice, isPublic="false")
    theirs = await upload_id(client, bob, isPublic="1")
    await upload_id(client, bob)
    guests = (await send_upload(client, {}, path="/api/guest/upload")).json()["id"]
    for path in (f"{EXPLORE}/1", f"{EXPLORE}/1/"):
        response = await client.get(path, headers=alice.auth)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(ids(body)) == {mine, theirs, guests}
        assert body["meta"]["total"] == 3
        assert body["meta"]["size"] == 10 and body["meta"]["page"] == 1
        assert body["meta"].get("nextCursor") is None
        for email in (alice.email, bob.email):
            assert email not in response.text
        owners = {item["id"]: item["owner"] for item in body["data"]}
        assert owners[theirs] == {"id": bob.id, "username": "bob", "displayName": "bob"}
        assert owners[mine]["id"] == alice.id and owners[mine]["displayName"] == "Alice Wonder"
        assert "email" not in owners[mine]
        guest = owners[guests]
        assert {k: guest[k] for k in GUEST} == GUEST
        assert guest.get("email", "guest@localhost") == "guest@localhost"


async def test_history_shows_the_callers_own_images_public_and_private(client, alice, bob):
    public = await upload_id(client, alice, isPublic="true")
    private = await upload_id(client, alice)
    await upload_id(client, bob, isPublic="true")
    for path in (f"{HISTORY}/1", f"{HISTORY}/1/"):
        response = await client.get(path, headers=alice.auth)
        assert response.status_code == 200, response.text
        body = response.json()
        assert ids(body) == [private, public]
        assert body["meta"]["total"] == 2
        assert bob.email not in response.text
    assert ids(await listed(client, bob, f"{HISTORY}/1")) != ids(body)
    for path in (f"{EXPLORE}/1", f"{HISTORY}/1", f"/api/images?uuid[]={uuid.uuid4()}"):
        lexik(await client.get(path), "JWT Token not found")
        lexik(await client.get(path, headers={"Authorization": "Bearer nope"}), "Invalid JWT Token")


async def test_list_item_shape(client, core, alice):
    data = png(30, 20)
    image_id = await upload_id(client, alice, data, isPublic="true", description="shape")
    assert (await client.get(f"/image/{image_id}.png")).status_code == 200
    for path in (f"{EXPLORE}/1", f"{HISTORY}/1"):
        item = (await listed(client, alice, path))["data"][0]
        assert item["id"] == image_id
        owner = {k: item["owner"][k] for k in ("id", "username", "displayName")}
        assert owner == {"id": alice.id, "username": "alice", "displayName": "Alice Wonder"}
        attributes = item["attributes"]
        assert attributes["fileName"] == f"{image_id}.png"
        assert attributes["description"] == "shape"
        assert attributes["isPublic"] is True
        assert attributes["views"] == 1
        stamp = attributes["createdAt"]["timestamp"]
        assert isinstance(stamp, int) and abs(stamp - datetime.now(UTC).timestamp()) < 60
        assert attributes["createdAt"]["formattedDate"] == datetime.fromtimestamp(
            stamp, UTC
        ).strftime("%Y-%m-%d %H:%M:%S")
        metadata = {k: item["metadata"][k] for k in ("size", "mimeType", "width", "height")}
        assert metadata == {"size": len(data), "mimeType": "image/png", "width": 30, "height": 20}
    by_id = await listed(client, alice, f"/api/images?uuid[]={image_id}")
    assert by_id["data"][0]["attributes"]["fileName"] == f"{image_id}.png"


# -- paging --------------------------------------------------------------------------------


async def five(client, account, **fields):
    made = [await upload_id(client, account, isPublic="true", **fields) for _ in range(5)]
    return list(reversed(made))  # newest first


async def test_paging_by_page(client, alice):
    newest_first = await five(client, alice)
    for path in (EXPLORE, HISTORY):
        pages = []
        for page in (1, 2, 3):
            body = await listed(client, alice, f"{path}/{page}", limit=2)
            assert body["meta"]["page"] == page and body["meta"]["size"] == 2
            assert body["meta"]["total"] == 5
            assert ("nextCursor" in body["meta"] and body["meta"]["nextCursor"] is not None) == (
                page < 3
            )
            pages.append(ids(body))
        assert [len(p) for p in pages] == [2, 2, 1]
        assert [i for p in pages for i in p] == newest_first
        beyond = await listed(client, alice, f"{path}/4", limit=2)
        assert beyond["data"] == [] and beyond["meta"]["total"] == 5


async def test_paging_by_cursor_to_the_end(client, alice):
    newest_first = await five(client, alice)
    for path in (EXPLORE, HISTORY):
        for order, expected in (("desc", newest_first), ("asc", newest_first[::-1])):
            seen, pages = await walk(client, alice, path, limit=2, order=order)
            assert seen == expected, (path, order)
            assert pages == 3
    # Five images of one size: ties are broken by id in the direction asked.
    for order_by in ("attributes.createdAt", "attributes.updatedAt", "metadata.size"):
        for order, expected in (("desc", newest_first), ("asc", newest_first[::-1])):
            seen, _ = await walk(client, alice, HISTORY, limit=2, orderBy=order_by, order=order)
            assert seen == expected, (order_by, order)
    # With a cursor the page number is ignored; the total counts the whole list.
    first = await listed(client, alice, f"{HISTORY}/1", limit=2)
    cursor = first["meta"]["nextCursor"]
    second = await listed(client, alice, f"{HISTORY}/1", limit=2, cursor=cursor)
    elsewhere = await listed(client, alice, f"{HISTORY}/9", limit=2, cursor=cursor)
    assert ids(elsewhere) == ids(second)
    assert second["meta"]["total"] == 5
    assert not set(ids(first)) & set(ids(second))


async def test_no_next_cursor_on_an_exactly_full_last_page(client, alice):
    for _ in range(4):
        await upload_id(client, alice, isPublic="true")
    for path in (EXPLORE, HISTORY):
        last = await listed(client, alice, f"{path}/2", limit=2)
        assert len(last["data"]) == 2 and last["meta"].get("nextCursor") is None
        seen, pages = await walk(client, alice, path, limit=2)
        assert (len(seen), pages) == (4, 2)


async def test_limit_defaults_to_ten_and_goes_up_to_a_hundred(client, alice):
    for _ in range(12):
        await upload_id(client, alice, isPublic="true")
    for path in (EXPLORE, HISTORY):
        body = await listed(client, alice, f"{path}/1")
        assert (
            len(body["data"]) == 10 and body["meta"]["size"] == 10 and body["meta"]["total"] == 12
        )
        assert len((await listed(client, alice, f"{path}/1", limit=100))["data"]) == 12
        assert len((await listed(client, alice, f"{path}/1", limit=1))["data"]) == 1


# -- order ---------------------------------------------------------------------------------


async def test_default_orders_updated_for_explore_created_for_history(client, alice):
    a = await upload_id(client, alice, isPublic="true")
    b = await upload_id(client, alice, isPublic="true")
    c = await upload_id(client, alice, isPublic="true")
    assert ids(await listed(client, alice, f"{EXPLORE}/1")) == [c, b, a]
    response = await client.patch(
        f"/api/image/{a}", json={"description": "edited"}, headers=alice.auth
    )
    assert response.status_code == 204
    assert ids(await listed(client, alice, f"{EXPLORE}/1")) == [a, c, b]
    assert ids(await listed(client, alice, f"{EXPLORE}/1", order="asc")) == [b, c, a]
    assert ids(await listed(client, alice, f"{EXPLORE}/1", orderBy="attributes.createdAt")) == [
        c,
        b,
        a,
    ]
    assert ids(await listed(client, alice, f"{HISTORY}/1")) == [c, b, a]
    assert ids(await listed(client, alice, f"{HISTORY}/1", order="asc")) == [a, b, c]
    assert ids(await listed(client, alice, f"{HISTORY}/1", orderBy="attributes.updatedAt")) == [
        a,
        c,
        b,
    ]


async def test_order_by_each_field(client, core, alice):
    sizes = [(30, 10), (10, 30), (20, 20)]
    made = [
        await upload_id(client, alice, jpeg(w, h), isPublic="true", description=d)
        for (w, h), d in zip(sizes, ("beta", "alpha", "gamma"), strict=True)
    ]
    for _ in range(3):
        await client.get(f"/image/{made[2]}.jpg")
    await client.get(f"/image/{made[0]}.jpg")
    await core.views.flush()
    values = {
        "metadata.width": lambda i: i["metadata"]["width"],
        "metadata.height": lambda i: i["metadata"]["height"],
        "metadata.size": lambda i: i["metadata"]["size"],
        "attributes.views": lambda i: i["attributes"]["views"],
        "attributes.description": lambda i: i["attributes"]["description"],
    }
    for path in (EXPLORE, HISTORY):
        for field, value in values.items():
            for order in ("asc", "desc"):
                items = (await listed(client, alice, f"{path}/1", orderBy=field, order=order))[
                    "data"
                ]
                shown = [value(i) for i in items]
                assert len(items) == 3
                assert shown == sorted(shown, reverse=order == "desc"), (field, order, shown)
        views = await listed(client, alice, f"{path}/1", orderBy="attributes.views")
        assert ids(views) == [made[2], made[0], made[1]]


async def test_order_by_file_name_follows_the_shown_file_name(client, alice):
    for name in ("c.jpg", "a.jpg", "b.jpg"):
        await send_upload(client, alice.auth, filename=name, isPublic="true")
    for order in ("asc", "desc"):
        items = (
            await listed(client, alice, f"{HISTORY}/1", orderBy="attributes.fileName", order=order)
        )["data"]
        shown = [i["attributes"]["fileName"] for i in items]
        assert shown == sorted(shown, reverse=order == "desc")


def b64(value) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


async def test_bad_list_parameters_are_400_naming_the_parameter(client, alice):
    await upload_id(client, alice, isPublic="true")
    bad = [
        ({"orderBy": "attributes.secret"}, "orderBy"),
        ({"orderBy": "id; DROP TABLE images"}, "orderBy"),
        ({"orderBy": "owner.email"}, "orderBy"),
        ({"order": "up"}, "order"),
        ({"order": ""}, "order"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": -1}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": "bm90IGpzb24"}, "cursor"),
        ({"cursor": b64([1, 2])}, "cursor"),
        ({"cursor": b64({"timestamp": 1})}, "cursor"),
        ({"cursor": b64({"timestamp": 1, "id": "not-a-uuid"})}, "cursor"),
    ]
    for path in (EXPLORE, HISTORY):
        for params, param in bad:
            response = await client.get(f"{path}/1", params=params, headers=alice.auth)
            try:
                names_param(response, param)
            except AssertionError as exc:
                raise AssertionError(f"{path} {params}: {exc}") from None
        names_param(await client.get(f"{path}/0", headers=alice.auth), "page")


async def test_a_slink_style_cursor_is_understood(client, alice):
    newest_first = await five(client, alice)
    third = (await listed(client, alice, f"{HISTORY}/3", limit=1))["data"][0]
    cursor = b64({"timestamp": third["attributes"]["createdAt"]["timestamp"], "id": third["id"]})
    after = await listed(client, alice, f"{HISTORY}/1", limit=10, cursor=cursor)
    assert ids(after) == newest_first[3:]


# -- search --------------------------------------------------------------------------------


async def test_search(client, core, alice, bob):
    dave = await make_account(core, "dave", display_name="Dave Percent")
    made = {}
    for key, account, description, public in (
        ("cats", alice, "I like #Cats a lot", "true"),
        ("cats-private", alice, "#cats in private", "false"),
        ("plain", bob, "cats without a tag", "true"),
        ("pct", bob, "100% cotton", "true"),
        ("no-pct", bob, "100 cotton", "true"),
        ("under", bob, "snake_case", "true"),
        ("no-under", bob, "snakeXcase", "true"),
        ("dave", dave, "sunset", "true"),
        ("dogs", alice, "#dogs", "true"),
    ):
        made[key] = await upload_id(client, account, description=description, isPublic=public)

    async def found(path, term, by=None, who=alice):
        params = {"searchTerm": term} | ({"searchBy": by} if by else {})
        body = await listed(client, who, f"{path}/1", limit=100, **params)
        assert body["meta"]["total"] == len(body["data"])
        return {key for key, image_id in made.items() if image_id in ids(body)}

    assert await found(EXPLORE, "CATS", "description") == {"cats", "plain"}
    assert await found(EXPLORE, "cats", "hashtag") == {"cats"}
    assert await found(EXPLORE, "#cats", "hashtag") == {"cats"}
    assert await found(HISTORY, "cats", "hashtag") == {"cats", "cats-private"}
    assert await found(EXPLORE, "%", "description") == {"pct"}
    assert await found(EXPLORE, "0%", None) == {"pct"}
    assert await found(EXPLORE, "_", "description") == {"under"}
    assert await found(EXPLORE, "e_c", None) == {"under"}
    assert await found(EXPLORE, "percent", "user") == {"dave"}
    assert await found(EXPLORE, "DAVE", "user") == {"dave"}
    assert await found(EXPLORE, "wonder", "user") == {"cats", "dogs"}
    assert await found(EXPLORE, "bob", "description") == set()
    assert await found(EXPLORE, "bob", None) == {"plain", "pct", "no-pct", "under", "no-under"}
    assert await found(EXPLORE, "sunset", "something-else") == {"dave"}
    assert await found(EXPLORE, "dave", "something-else") == {"dave"}
    everything = await found(EXPLORE, "", "description")
    assert everything == set(made) - {"cats-private"}


# -- by id ---------------------------------------------------------------------------------


async def test_images_by_id_are_the_callers_own_only(client, alice, bob):
    one = await upload_id(client, alice)
    two = await upload_id(client, alice, isPublic="true")
    theirs = await upload_id(client, bob, isPublic="true")
    gone = await upload_id(client, alice)
    assert (await client.delete(f"/api/image/{gone}", headers=alice.auth)).status_code == 204
    query = "&".join(f"uuid[]={i}" for i in (one, theirs, two, gone, uuid.uuid4()))
    response = await client.get(f"/api/images?{query}", headers=alice.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data"}
    assert sorted(ids(body)) == sorted([one, two])
    assert bob.email not in response.text
    assert (await listed(client, bob, f"/api/images?{query}"))["data"][0]["id"] == theirs


async def test_images_by_id_need_valid_ids(client, alice):
    mine = await upload_id(client, alice)
    for query in ("", "uuid[]=not-a-uuid", f"uuid[]={mine}&uuid[]=nope", "uuid[]="):
        response = await client.get(f"/api/images?{query}", headers=alice.auth)
        try:
            names_param(response, "uuid")
        except AssertionError as exc:
            raise AssertionError(f"{query!r}: {exc}") from None
    error(await client.get("/api/images?uuid=abc", headers=alice.auth), 400)
