"""List, get, update, alias and delete images through the native API."""

import uuid
from functools import partial

import anyio
import pytest

from tests.helpers import blob_keys, row_count, uploaded


async def test_list_pages_newest_first_with_pagination(api):
    ids = [(await uploaded(api))["id"] for _ in range(5)]
    body = (await api.get("/api/v1/images", params={"limit": 2, "offset": 1})).json()
    assert [i["id"] for i in body["data"]] == ids[::-1][1:3]
    assert body["pagination"] == {"limit": 2, "offset": 1, "total": 5, "hasMore": True}
    last = (await api.get("/api/v1/images", params={"limit": 2, "offset": 4})).json()
    assert last["pagination"]["hasMore"] is False


async def test_list_defaults_to_twenty(api):
    body = (await api.get("/api/v1/images")).json()
    assert body["pagination"]["limit"] == 20


async def test_list_filters_by_alias_flow_and_source(api):
    flow_id = str(uuid.uuid4())
    aliased = await uploaded(api, alias="@a")
    in_flow = await uploaded(api, flowId=flow_id)
    by_alias = (await api.get("/api/v1/images", params={"alias": "@a"})).json()["data"]
    assert [i["id"] for i in by_alias] == [aliased["id"]]
    by_flow = (await api.get("/api/v1/images", params={"flowId": flow_id})).json()["data"]
    assert [i["id"] for i in by_flow] == [in_flow["id"]]
    generated = (await api.get("/api/v1/images", params={"source": "generated"})).json()
    assert generated["data"] == []
    assert len((await api.get("/api/v1/images", params={"source": "uploaded"})).json()["data"]) == 2


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"offset": -1},
        {"source": "stolen"},
        {"flowId": "x"},
        {"limit": "a"},
    ],
)
async def test_list_rejects_bad_parameters(api, params):
    response = await api.get("/api/v1/images", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_get_by_id_and_alias(api):
    image = await uploaded(api, alias="@hero")
    by_id = (await api.get(f"/api/v1/images/{image['id']}")).json()["data"]
    by_alias = (await api.get("/api/v1/images/@hero")).json()["data"]
    assert by_id == by_alias == {**image, "updatedAt": by_id["updatedAt"]}


async def test_unknown_id_is_image_not_found(api):
    response = await api.get(f"/api/v1/images/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "IMAGE_NOT_FOUND"


async def test_malformed_id_is_a_validation_error(api):
    response = await api.get("/api/v1/images/not-a-uuid")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_unknown_alias_is_alias_not_found(api):
    response = await api.get("/api/v1/images/@nobody")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ALIAS_NOT_FOUND"


async def test_another_projects_image_is_not_found(api, client, core):
    other = await core.projects.create("acme", "site")
    other_key = (await core.keys.issue("secret", other.id)).secret
    mine = await uploaded(api, alias="@mine")
    client.headers["X-API-Key"] = other_key
    for path in (f"/api/v1/images/{mine['id']}", "/api/v1/images/@mine"):
        response = await client.get(path)
        assert response.status_code == 404
    response = await client.delete(f"/api/v1/images/{mine['id']}")
    assert response.status_code == 404
    assert (await client.get("/api/v1/images")).json()["pagination"]["total"] == 0


async def test_technical_aliases_resolve_within_a_flow(api):
    flow_id = str(uuid.uuid4())
    first = await uploaded(api, flowId=flow_id)
    await uploaded(api, flowId=flow_id)
    last = await uploaded(api, flowId=flow_id)
    got = {}
    for alias in ("@first", "@last", "@upload"):
        response = await api.get(f"/api/v1/images/{alias}", params={"flowId": flow_id})
        got[alias] = response.json()["data"]["id"]
    assert got == {"@first": first["id"], "@last": last["id"], "@upload": last["id"]}


async def test_technical_alias_without_flow_is_a_validation_error(api):
    response = await api.get("/api/v1/images/@last")
    assert response.status_code == 400
    assert "flowId" in response.json()["error"]["message"]


async def test_flow_alias_takes_precedence_over_project_alias(api):
    project_img = await uploaded(api, alias="@hero")
    flow_img = await uploaded(api, flowAlias="@hero")
    flow_id = flow_img["flowId"]
    in_flow = await api.get("/api/v1/images/@hero", params={"flowId": flow_id})
    assert in_flow.json()["data"]["id"] == flow_img["id"]
    without = await api.get("/api/v1/images/@hero")
    assert without.json()["data"]["id"] == project_img["id"]
    other_flow = await api.get("/api/v1/images/@hero", params={"flowId": str(uuid.uuid4())})
    assert other_flow.json()["data"]["id"] == project_img["id"]


async def test_update_focal_point_and_meta(api):
    image = await uploaded(api, meta='{"old": true}')
    body = {"focalPoint": {"x": 0.25, "y": 0.75}, "meta": {"category": "hero"}}
    updated = (await api.put(f"/api/v1/images/{image['id']}", json=body)).json()["data"]
    assert updated["focalPoint"] == {"x": 0.25, "y": 0.75}
    assert updated["meta"] == {"category": "hero"}
    again = (await api.put(f"/api/v1/images/{image['id']}", json={"focalPoint": None})).json()
    assert again["data"]["focalPoint"] is None
    assert again["data"]["meta"] == {"category": "hero"}


@pytest.mark.parametrize(
    "body",
    [
        {"focalPoint": {"x": 1.5, "y": 0.5}},
        {"focalPoint": {"x": -0.1, "y": 0.5}},
        {"focalPoint": {"x": 0.5}},
        {"focalPoint": "center"},
        {"meta": "text"},
        {"meta": None},
        {"alias": "@moved"},
    ],
)
async def test_update_rejects_bad_bodies_and_changes_nothing(api, body):
    image = await uploaded(api)
    response = await api.put(f"/api/v1/images/{image['id']}", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert (await api.get(f"/api/v1/images/{image['id']}")).json()["data"] == image


async def test_assign_moves_and_removes_alias(api):
    first = await uploaded(api, alias="@logo")
    second = await uploaded(api)
    moved = await api.put(f"/api/v1/images/{second['id']}/alias", json={"alias": "@logo"})
    assert moved.json()["data"]["alias"] == "@logo"
    assert (await api.get(f"/api/v1/images/{first['id']}")).json()["data"]["alias"] is None
    assert (await api.get("/api/v1/images/@logo")).json()["data"]["id"] == second["id"]
    removed = await api.put(f"/api/v1/images/{second['id']}/alias", json={"alias": None})
    assert removed.json()["data"]["alias"] is None
    assert (await api.get("/api/v1/images/@logo")).status_code == 404


@pytest.mark.parametrize("alias", ["logo", "@last", "@-x", 42])
async def test_assign_rejects_bad_aliases(api, alias):
    image = await uploaded(api, alias="@keep")
    response = await api.put(f"/api/v1/images/{image['id']}/alias", json={"alias": alias})
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("ALIAS_FORMAT_CHECK", "VALIDATION_ERROR")
    assert (await api.get("/api/v1/images/@keep")).json()["data"]["id"] == image["id"]


async def test_hard_delete_removes_row_blob_and_flow_alias(api, core):
    image = await uploaded(api, flowAlias="@ref", alias="@gone")
    response = await api.delete("/api/v1/images/@gone")
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "Image deleted",
        "data": {"id": image["id"]},
    }
    assert await row_count(core) == 0
    assert await blob_keys(core) == []
    flow = (await api.get(f"/api/v1/flows/{image['flowId']}")).json()["data"]
    assert flow["aliases"] == {}
    assert (await api.get(f"/api/v1/images/{image['id']}")).status_code == 404


async def test_soft_delete_hides_frees_alias_and_keeps_bytes(api, core):
    image = await uploaded(api, alias="@soft")
    response = await api.delete(f"/api/v1/images/{image['id']}", params={"mode": "soft"})
    assert response.status_code == 200
    assert (await api.get(f"/api/v1/images/{image['id']}")).status_code == 404
    assert (await api.get("/api/v1/images")).json()["data"] == []
    listed = (await api.get("/api/v1/images", params={"includeDeleted": "true"})).json()["data"]
    assert [(i["id"], i["alias"]) for i in listed] == [(image["id"], None)]
    assert listed[0]["deletedAt"] is not None
    assert len(await blob_keys(core)) == 1
    reused = await uploaded(api, alias="@soft")
    assert reused["alias"] == "@soft"


async def test_delete_with_bad_mode_changes_nothing(api, core):
    image = await uploaded(api)
    response = await api.delete(f"/api/v1/images/{image['id']}", params={"mode": "shred"})
    assert response.status_code == 400
    assert await row_count(core) == 1


async def _totals(api) -> tuple[int, int]:
    live = (await api.get("/api/v1/images")).json()["pagination"]["total"]
    params = {"includeDeleted": "true"}
    everything = (await api.get("/api/v1/images", params=params)).json()["pagination"]["total"]
    return live, everything


async def test_totals_follow_uploads_and_deletes(api, core):
    ids = [(await uploaded(api))["id"] for _ in range(4)]
    assert await _totals(api) == (4, 4)
    await api.delete(f"/api/v1/images/{ids[0]}", params={"mode": "soft"})
    assert await _totals(api) == (3, 4)
    await api.delete(f"/api/v1/images/{ids[1]}")
    assert await _totals(api) == (2, 3)
    project = await core.projects.find("default", "default")
    await core.library.delete(project, uuid.UUID(ids[0]), include_deleted=True)
    assert await _totals(api) == (2, 2)
    assert await row_count(core) == 2


async def test_concurrent_deletes_of_one_image_count_it_once(api):
    kept = await uploaded(api)
    doomed = await uploaded(api)
    url = f"/api/v1/images/{doomed['id']}"
    async with anyio.create_task_group() as group:
        for mode in ("hard", "soft", "hard", "soft"):
            group.start_soon(partial(api.delete, url, params={"mode": mode}))
    live, everything = await _totals(api)
    listed = (await api.get("/api/v1/images", params={"includeDeleted": "true"})).json()
    assert live == 1
    assert everything == len(listed["data"])
    assert kept["id"] in [i["id"] for i in listed["data"]]


async def test_a_refused_upload_leaves_the_total_alone(api):
    await uploaded(api)
    response = await api.post(
        "/api/v1/images/upload", files={"file": ("x.jpg", b"not an image", "image/jpeg")}
    )
    assert response.status_code == 400
    assert await _totals(api) == (1, 1)
