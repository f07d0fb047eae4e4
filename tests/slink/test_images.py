"""One image over the Slink surface: detail, PATCH and DELETE (contract: "Reading images",
"Changing images")."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pixvault.services.blobkeys import derivative_prefix
from tests.helpers import blob_keys, jpeg, row_count
from tests.slink.support import (
    denied,
    detail,
    make_account,
    not_found,
    send_upload,
    upload_id,
    violations,
)

CREATED_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")
FIELDS = {
    "id",
    "fileName",
    "description",
    "isPublic",
    "createdAt",
    "updatedAt",
    "views",
    "size",
    "mimeType",
    "width",
    "height",
    "supportsResize",
    "url",
}


async def image_of(core, project, image_id):
    return await core.library.get(project, uuid.UUID(image_id), include_deleted=True)


# -- detail --------------------------------------------------------------------------------


async def test_detail_fields_in_data_and_at_the_top_level(client, core, project, alice):
    data = jpeg(80, 60)
    image_id = await upload_id(client, alice, data, description="A photo", isPublic="1")
    response = await client.get(f"/api/image/{image_id}/detail", headers=alice.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    fields = body["data"]
    assert set(fields) >= FIELDS
    for name, value in fields.items():
        assert body[name] == value, name
    assert fields["id"] == image_id
    assert fields["fileName"] == f"{image_id}.jpg"
    assert fields["description"] == "A photo"
    assert fields["isPublic"] is True
    assert CREATED_AT.fullmatch(fields["createdAt"]), fields["createdAt"]
    created = datetime.fromisoformat(fields["createdAt"])
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=1)
    assert created == (await image_of(core, project, image_id)).created_at
    assert fields["updatedAt"] is None
    assert fields["views"] == 0
    assert fields["size"] == len(data)
    assert (fields["mimeType"], fields["width"], fields["height"]) == ("image/jpeg", 80, 60)
    assert fields["supportsResize"] is True
    assert fields["url"] == f"/image/{image_id}.jpg"
    assert (await client.get(fields["url"])).content == data
    # Defaults: no description is "", private.
    found = await detail(client, alice, await upload_id(client, alice))
    assert found["description"] == "" and found["isPublic"] is False


@pytest.mark.parametrize("settings_overrides", [{"guest_uploads": True}])
async def test_detail_of_another_users_or_a_guests_image_is_denied(client, alice, bob):
    theirs = await upload_id(client, bob, isPublic="true")
    guests = (await send_upload(client, {}, path="/api/guest/upload")).json()["id"]
    for image_id in (theirs, guests):
        denied(await client.get(f"/api/image/{image_id}/detail", headers=alice.auth))


async def test_detail_of_unknown_deleted_or_non_uuid_is_not_found(client, alice):
    gone = await upload_id(client, alice)
    assert (await client.delete(f"/api/image/{gone}", headers=alice.auth)).status_code == 204
    for ref in (str(uuid.uuid4()), str(uuid.uuid1()), gone, "not-a-uuid", "123"):
        not_found(await client.get(f"/api/image/{ref}/detail", headers=alice.auth))


# -- PATCH ---------------------------------------------------------------------------------


async def patch(client, account, image_id, body):
    return await client.patch(f"/api/image/{image_id}", json=body, headers=account.auth)


async def test_patch_changes_description_and_visibility_and_sets_updated_at(
    client, core, project, alice
):
    image_id = await upload_id(client, alice, description="before")
    response = await patch(client, alice, image_id, {"description": "after", "isPublic": True})
    assert response.status_code == 204
    assert response.content == b""
    found = await detail(client, alice, image_id)
    assert (found["description"], found["isPublic"]) == ("after", True)
    assert CREATED_AT.fullmatch(found["updatedAt"] or ""), found["updatedAt"]
    assert datetime.fromisoformat(found["updatedAt"]) > datetime.fromisoformat(found["createdAt"])
    # Absent or null fields are left unchanged; unknown ones (license) are accepted.
    for body in ({"isPublic": False}, {"description": None}, {}, {"license": "cc-by"}):
        assert (await patch(client, alice, image_id, body)).status_code == 204, body
    stored = await image_of(core, project, image_id)
    assert (stored.description, stored.is_public) == ("after", False)
    assert (await patch(client, alice, image_id, {"description": ""})).status_code == 204
    assert (await detail(client, alice, image_id))["description"] == ""
    assert (await patch(client, alice, image_id, {"description": "d" * 255})).status_code == 204


async def test_patch_violations_change_nothing(client, core, project, alice):
    image_id = await upload_id(client, alice, description="kept")
    for body, prop in (
        ({"description": "d" * 256}, "description"),
        ({"description": 42}, "description"),
        ({"isPublic": "yes"}, "isPublic"),
        ({"isPublic": "true"}, "isPublic"),
        ({"isPublic": 1}, "isPublic"),
    ):
        try:
            violations(await patch(client, alice, image_id, body), prop)
        except AssertionError as exc:
            raise AssertionError(f"{body}: {exc}") from None
    stored = await image_of(core, project, image_id)
    assert (stored.description, stored.is_public) == ("kept", False)
    assert stored.updated_at == stored.created_at
    gone = await upload_id(client, alice)
    assert (await client.delete(f"/api/image/{gone}", headers=alice.auth)).status_code == 204
    soft = await upload_id(client, alice)
    await client.request(
        "DELETE", f"/api/image/{soft}", json={"preserveOnDisk": True}, headers=alice.auth
    )
    for ref in (str(uuid.uuid4()), gone, soft, "not-a-uuid"):
        not_found(await patch(client, alice, ref, {"description": "x"}))


async def test_patch_of_another_users_image_is_denied_and_changes_nothing(
    client, core, project, alice, bob
):
    image_id = await upload_id(client, bob, description="bob's")
    denied(await patch(client, alice, image_id, {"description": "mine now", "isPublic": True}))
    stored = await image_of(core, project, image_id)
    assert (stored.description, stored.is_public) == ("bob's", False)
    assert stored.updated_at == stored.created_at


# -- DELETE --------------------------------------------------------------------------------


async def remove(client, account, image_id, body=None):
    kwargs = {} if body is None else {"json": body}
    return await client.request("DELETE", f"/api/image/{image_id}", headers=account.auth, **kwargs)


async def with_derivative(client, core, project, alice):
    """An image of alice's with one rendered derivative: (id, image)."""
    image_id = await upload_id(client, alice, jpeg(200, 150), isPublic="true")
    assert (await client.get(f"/image/{image_id}.png?width=50")).status_code == 200
    image = await image_of(core, project, image_id)
    assert await blob_keys(core, derivative_prefix(project.id, image.id))
    return image_id, image


async def gone_everywhere(client, alice, image_id):
    not_found(await client.get(f"/api/image/{image_id}/detail", headers=alice.auth))
    not_found(await client.get(f"/image/{image_id}.jpg"))
    for path in ("/api/images/1", "/api/images/history/1"):
        listed = (await client.get(path, headers=alice.auth)).json()
        assert image_id not in [i["id"] for i in listed["data"]]
    listed = await client.get(f"/api/images?uuid[]={image_id}", headers=alice.auth)
    assert listed.json()["data"] == []


async def test_delete_removes_the_original_and_its_derivatives(client, core, project, alice):
    for body in (None, {"preserveOnDisk": False}, {}):
        image_id, _ = await with_derivative(client, core, project, alice)
        response = await remove(client, alice, image_id, body)
        assert response.status_code == 204, body
        assert response.content == b""
        await gone_everywhere(client, alice, image_id)
        assert await blob_keys(core) == [], body
        assert await row_count(core) == 0


async def test_delete_preserving_on_disk_keeps_the_original_bytes(client, core, project, alice):
    image_id, image = await with_derivative(client, core, project, alice)
    response = await remove(client, alice, image_id, {"preserveOnDisk": True})
    assert response.status_code == 204
    await gone_everywhere(client, alice, image_id)
    assert image.storage_key in await blob_keys(core)
    assert (await image_of(core, project, image_id)).deleted_at is not None


async def test_delete_refusals_change_nothing(client, core, project, alice, bob):
    image_id = await upload_id(client, bob)
    image = await image_of(core, project, image_id)
    denied(await remove(client, alice, image_id))
    denied(await remove(client, alice, image_id, {"preserveOnDisk": False}))
    violations(await remove(client, bob, image_id, {"preserveOnDisk": "yes"}), "preserveOnDisk")
    assert (await image_of(core, project, image_id)).deleted_at is None
    assert image.storage_key in await blob_keys(core)
    assert (await detail(client, bob, image_id))["id"] == image_id
    # Unknown or already deleted: 404.
    assert (await remove(client, bob, image_id)).status_code == 204
    for ref in (image_id, str(uuid.uuid4()), "not-a-uuid"):
        not_found(await remove(client, bob, ref))
    soft = await upload_id(client, bob)
    assert (await remove(client, bob, soft, {"preserveOnDisk": True})).status_code == 204
    not_found(await remove(client, bob, soft, {"preserveOnDisk": True}))
    not_found(await remove(client, bob, soft))


async def test_an_admin_is_not_the_owner(client, core, project, bob):
    admin = await make_account(core, "root", admin=True)
    image_id = await upload_id(client, bob, description="bob's")
    denied(await client.get(f"/api/image/{image_id}/detail", headers=admin.auth))
    denied(await patch(client, admin, image_id, {"description": "moderated"}))
    denied(await remove(client, admin, image_id))
    listed = await client.get(f"/api/images?uuid[]={image_id}", headers=admin.auth)
    assert listed.json()["data"] == []
    stored = await image_of(core, project, image_id)
    assert (stored.description, stored.deleted_at) == ("bob's", None)
