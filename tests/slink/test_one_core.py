"""The Slink surface over the one core: HTML-escaped text on the wire, raw text in the core,
and the same images as the native API and CDN (contract: "Text fields", pv 13, 15)."""

import uuid

import pytest

from tests.helpers import jpeg, uploaded
from tests.slink.support import denied, detail, make_account, not_found, upload_id

RAW = """<b>"Tom" & 'Jerry'</b>"""
ESCAPED = "&lt;b&gt;&quot;Tom&quot; &amp; &apos;Jerry&apos;&lt;/b&gt;"
GUEST = {"id": "guest", "username": "guest", "displayName": "Guest"}


async def test_text_goes_out_escaped_and_stays_raw_in_the_core(client, core, project, api):
    ann = await make_account(core, "ann", display_name=RAW)
    image_id = await upload_id(client, ann, description=RAW, isPublic="true")
    entity = await upload_id(client, ann, description="Tom &amp; Jerry", isPublic="true")

    me = (await client.get("/api/user", headers=ann.auth)).json()["data"]
    assert (me["username"], me["displayName"]) == ("ann", ESCAPED)

    found = await detail(client, ann, image_id)
    assert found["description"] == ESCAPED
    top = (await client.get(f"/api/image/{image_id}/detail", headers=ann.auth)).json()
    assert top["description"] == ESCAPED
    # Entities are decoded first, then escaped: nothing is escaped twice.
    assert (await detail(client, ann, entity))["description"] == "Tom &amp; Jerry"

    for path in ("/api/images/1", "/api/images/history/1", f"/api/images?uuid[]={image_id}"):
        response = await client.get(path, headers=ann.auth)
        assert RAW not in response.text and "<b>" not in response.text
        item = next(i for i in response.json()["data"] if i["id"] == image_id)
        assert item["attributes"]["description"] == ESCAPED
        assert item["owner"]["displayName"] == ESCAPED
        assert item["owner"]["username"] == "ann"

    # The core keeps the raw text; the native API answers for the same image.
    assert (await core.library.get(project, uuid.UUID(image_id))).description == RAW
    assert (await core.users.get(uuid.UUID(ann.id))).display_name == RAW
    native = await api.get(f"/api/v1/images/{image_id}")
    assert native.status_code == 200 and native.json()["data"]["id"] == image_id
    assert ESCAPED not in native.text

    patched = await client.patch(
        f"/api/image/{image_id}", json={"description": "a < b & c > 'd'"}, headers=ann.auth
    )
    assert patched.status_code == 204
    assert (await detail(client, ann, image_id))["description"] == (
        "a &lt; b &amp; c &gt; &apos;d&apos;"
    )
    assert (await core.library.get(project, uuid.UUID(image_id))).description == "a < b & c > 'd'"


async def test_a_slink_upload_is_a_core_image_of_the_slink_project(
    client, core, project, api, alice
):
    data = jpeg(90, 60)
    image_id = await upload_id(client, alice, data)
    native = await api.get(f"/api/v1/images/{image_id}")
    assert native.status_code == 200, native.text
    body = native.json()["data"]
    assert body["id"] == image_id and body["projectId"] == str(project.id)
    assert (body["mimeType"], body["fileSize"], body["width"], body["height"]) == (
        "image/jpeg",
        len(data),
        90,
        60,
    )
    cdn = await client.get(f"/default/default/img/{image_id}")
    assert cdn.status_code == 200 and cdn.content == data
    listed = (await api.get("/api/v1/images")).json()["data"]
    assert image_id in [i["id"] for i in listed]


async def test_a_native_upload_shows_in_explore_as_a_guests(client, api, alice):
    image = await uploaded(api, jpeg(50, 40))
    response = await client.get("/api/images/1", headers=alice.auth)
    item = next(i for i in response.json()["data"] if i["id"] == image["id"])
    assert {k: item["owner"][k] for k in GUEST} == GUEST
    assert item["attributes"]["isPublic"] is True
    assert item["metadata"]["width"] == 50
    denied(await client.get(f"/api/image/{image['id']}/detail", headers=alice.auth))
    served = await client.get(f"/image/{image['id']}.jpg")
    assert served.status_code == 200
    assert (await api.get(f"/default/default/img/{image['id']}")).content == served.content


async def test_deleting_through_slink_deletes_from_the_core(client, api, alice):
    for preserve in (False, True):
        image_id = await upload_id(client, alice)
        response = await client.request(
            "DELETE",
            f"/api/image/{image_id}",
            json={"preserveOnDisk": preserve},
            headers=alice.auth,
        )
        assert response.status_code == 204
        assert (await api.get(f"/api/v1/images/{image_id}")).status_code == 404
        assert (await client.get(f"/default/default/img/{image_id}")).status_code == 404


async def test_deleting_through_the_native_api_deletes_from_slink(client, api, alice):
    image_id = await upload_id(client, alice)
    assert (await api.delete(f"/api/v1/images/{image_id}")).status_code == 200
    not_found(await client.get(f"/api/image/{image_id}/detail", headers=alice.auth))
    not_found(await client.get(f"/image/{image_id}.jpg"))


@pytest.mark.parametrize("settings_overrides", [{"slink_project": "acme/site"}])
async def test_every_slink_route_acts_on_the_slink_project(client, core, alice):
    slink = await core.projects.by_path("acme/site")
    default = await core.projects.by_path("default/default")
    signed_up = await client.post(
        "/api/auth/signup",
        json={
            "email": "e@example.com",
            "username": "erin",
            "password": "pw-123456",
            "confirm": "pw-123456",
        },
    )
    assert signed_up.status_code == 201
    assert (await core.users.get(uuid.UUID(signed_up.json()["id"]))).project_ids == (slink.id,)
    data = jpeg(30, 20)
    image_id = await upload_id(client, alice, data, isPublic="true")
    assert (await core.library.get(slink, uuid.UUID(image_id))).project_id == slink.id
    assert (await client.get(f"/image/{image_id}.jpg")).content == data
    assert (await client.get(f"/acme/site/img/{image_id}")).content == data
    assert (await client.get(f"/default/default/img/{image_id}")).status_code == 404
    explore = (await client.get("/api/images/1", headers=alice.auth)).json()
    assert [i["id"] for i in explore["data"]] == [image_id]
    elsewhere = await core.keys.issue("secret", default.id, user_id=uuid.UUID(alice.id))
    response = await client.post(
        "/api/external/upload",
        headers={"Authorization": f"Bearer {elsewhere.secret}"},
        files={"image": ("a.jpg", jpeg(), "image/jpeg")},
    )
    assert response.status_code == 401
    own = await core.keys.issue("secret", slink.id, user_id=uuid.UUID(alice.id))
    response = await client.post(
        "/api/external/upload",
        headers={"Authorization": f"Bearer {own.secret}"},
        files={"image": ("a.jpg", jpeg(), "image/jpeg")},
    )
    assert response.status_code == 201, response.text
    assert (await core.library.get(slink, uuid.UUID(response.json()["id"]))).owner_id == uuid.UUID(
        alice.id
    )
