"""Flows: listing, alias merge and removal, and the delete rules."""

import uuid

from tests.helpers import row_count, uploaded


async def test_list_flows_newest_first_with_aliases_and_counts(api):
    first = await uploaded(api, flowAlias="@one")
    await uploaded(api, flowId=first["flowId"])
    second = await uploaded(api, flowAlias="@two")
    await uploaded(api)  # a pending flow nothing needed: no row, not listed
    body = (await api.get("/api/v1/flows")).json()
    assert [f["id"] for f in body["data"]] == [second["flowId"], first["flowId"]]
    newest, oldest = body["data"]
    assert (newest["aliases"], newest["imageCount"]) == ({"@two": second["id"]}, 1)
    assert (oldest["aliases"], oldest["imageCount"]) == ({"@one": first["id"]}, 2)
    assert body["pagination"] == {"limit": 20, "offset": 0, "total": 2, "hasMore": False}
    page = (await api.get("/api/v1/flows", params={"limit": 1, "offset": 1})).json()
    assert [f["id"] for f in page["data"]] == [first["flowId"]]


async def test_merge_aliases_keeps_existing_ones(api):
    a = await uploaded(api, flowAlias="@a")
    flow_id = a["flowId"]
    b = await uploaded(api, flowId=flow_id)
    response = await api.put(f"/api/v1/flows/{flow_id}/aliases", json={"aliases": {"@b": b["id"]}})
    assert response.status_code == 200
    assert response.json()["data"]["aliases"] == {"@a": a["id"], "@b": b["id"]}


async def test_merge_alias_by_reference_to_another_alias(api):
    a = await uploaded(api, flowAlias="@a")
    flow_id = a["flowId"]
    response = await api.put(f"/api/v1/flows/{flow_id}/aliases", json={"aliases": {"@copy": "@a"}})
    assert response.json()["data"]["aliases"]["@copy"] == a["id"]


async def test_merge_rejects_bad_aliases_and_unknown_images(api):
    a = await uploaded(api, flowAlias="@a")
    flow_id = a["flowId"]
    bad = await api.put(f"/api/v1/flows/{flow_id}/aliases", json={"aliases": {"nope": a["id"]}})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "ALIAS_FORMAT_CHECK"
    missing = await api.put(
        f"/api/v1/flows/{flow_id}/aliases", json={"aliases": {"@x": str(uuid.uuid4())}}
    )
    assert missing.status_code == 404
    empty = await api.put(f"/api/v1/flows/{flow_id}/aliases", json={"aliases": {}})
    assert empty.status_code == 400
    flow = (await api.get(f"/api/v1/flows/{flow_id}")).json()["data"]
    assert flow["aliases"] == {"@a": a["id"]}


async def test_remove_flow_alias(api):
    a = await uploaded(api, flowAlias="@a")
    response = await api.delete(f"/api/v1/flows/{a['flowId']}/aliases/@a")
    assert response.status_code == 200
    assert response.json()["data"]["aliases"] == {}
    again = await api.delete(f"/api/v1/flows/{a['flowId']}/aliases/@a")
    assert again.status_code == 404


async def test_flow_images_lists_only_that_flow(api):
    a = await uploaded(api, flowAlias="@a")
    await uploaded(api)
    body = (await api.get(f"/api/v1/flows/{a['flowId']}/images")).json()
    assert [i["id"] for i in body["data"]] == [a["id"]]


async def test_unknown_flow_is_not_found(api):
    response = await api.get(f"/api/v1/flows/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "FLOW_NOT_FOUND"


async def test_delete_flow_keeps_aliased_images_unlinked(api, core):
    plain = await uploaded(api, flowAlias="@p")
    flow_id = plain["flowId"]
    kept = await uploaded(api, flowId=flow_id, alias="@keep")
    response = await api.delete(f"/api/v1/flows/{flow_id}")
    assert response.status_code == 200
    assert (await api.get(f"/api/v1/images/{plain['id']}")).status_code == 404
    survivor = (await api.get(f"/api/v1/images/{kept['id']}")).json()["data"]
    assert survivor["flowId"] is None
    assert await row_count(core) == 1
    assert (await api.get(f"/api/v1/flows/{flow_id}")).status_code == 404
