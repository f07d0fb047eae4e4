"""Tenants and ids: another project's id answers exactly what a missing id answers, on every
native endpoint that takes an id (the same status, the same body byte for byte once the id
itself is written as ID), and naming another project's flow id — pending or claimed — gives
the caller a flow of its own while theirs stays as it was."""

import io
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import insert, select, text

from pixvault.db.alembic_steps import alembic_config
from pixvault.db.rows import now
from pixvault.db.tables import flow_aliases, flows, images
from pixvault.domain.ids import new_id
from pixvault.services.core import build_core, initialise
from tests.helpers import jpeg, upload, uploaded


@dataclass
class Theirs:
    """Project B's things, seen through project A's key (`client` carries it)."""

    key: str
    image: dict[str, Any]  # aliased @theirs, in a claimed flow with flow alias @x
    pending: dict[str, Any]  # in a pending flow (no row yet)
    snapshot: dict[str, Any]


async def _snapshot(client: httpx.AsyncClient, key: str, theirs: dict[str, Any]) -> dict:
    """What B sees of its own things, compared before and after A's requests. Nothing here
    looks the pending flow up by id (that would give it its row): it stays pending."""
    header = {"X-API-Key": key}
    claimed = theirs["image"]["flowId"]
    pending = theirs["pending"]["flowId"]
    seen = {}
    for path in (
        f"/api/v1/images/{theirs['image']['id']}",
        f"/api/v1/images/{theirs['pending']['id']}",
        "/api/v1/images/@theirs",
        f"/api/v1/images/@x?flowId={claimed}",
        f"/api/v1/images/@last?flowId={pending}",
        f"/api/v1/images?flowId={pending}",
        f"/api/v1/flows/{claimed}/images",
        "/api/v1/flows",
        "/api/v1/images",
    ):
        response = await client.get(path, headers=header)
        assert response.status_code == 200, (path, response.text)
        seen[path] = response.json()
    body = (await client.get(f"/api/v1/flows/{claimed}", headers=header)).json()["data"]
    seen[claimed] = {k: v for k, v in body.items() if k != "updatedAt"}
    return seen


async def _uploaded_as(client: httpx.AsyncClient, key: str, **fields: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/images/upload",
        files={"file": ("b.jpg", io.BytesIO(jpeg()), "image/jpeg")},
        data=fields,
        headers={"X-API-Key": key},
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


@pytest.fixture
async def theirs(api: httpx.AsyncClient, client: httpx.AsyncClient, core) -> Theirs:
    other = await core.projects.create("acme", "site")
    key = (await core.keys.issue("secret", other.id)).secret
    image = await _uploaded_as(client, key, alias="@theirs", flowAlias="@x")
    pending = await _uploaded_as(client, key)
    listed = await client.get("/api/v1/flows", headers={"X-API-Key": key})
    assert listed.json()["pagination"]["total"] == 1  # the second flow is still pending
    await uploaded(api)  # A has an image of its own (in a pending flow of its own)
    state = {"image": image, "pending": pending}
    return Theirs(key, image, pending, await _snapshot(client, key, state))


async def _unchanged(client: httpx.AsyncClient, theirs: Theirs) -> None:
    """B's things are as they were, and its pending flow is still B's to claim, whole."""
    state = {"image": theirs.image, "pending": theirs.pending}
    assert await _snapshot(client, theirs.key, state) == theirs.snapshot
    pending = theirs.pending["flowId"]
    got = await client.get(f"/api/v1/flows/{pending}", headers={"X-API-Key": theirs.key})
    assert got.status_code == 200, got.text
    flow = got.json()["data"]
    assert (flow["projectId"], flow["imageCount"], flow["aliases"]) == (
        theirs.pending["projectId"],
        1,
        {},
    )


def _same(foreign: httpx.Response, missing: httpx.Response, ids: tuple[str, str]) -> None:
    assert foreign.status_code == missing.status_code
    assert foreign.status_code in (404, 200), foreign.text
    assert foreign.content.replace(ids[0].encode(), b"ID") == missing.content.replace(
        ids[1].encode(), b"ID"
    )
    drop = {"x-request-id", "content-length"}
    assert {k: v for k, v in foreign.headers.items() if k not in drop} == {
        k: v for k, v in missing.headers.items() if k not in drop
    }


# Each case: (method, path, json body) with {id} the id under test; `kind` says which of B's
# ids stands for "foreign": an image id, the claimed flow's id or the pending flow's id.
IMAGE_CASES = [
    ("GET", "/api/v1/images/{id}", None),
    ("PUT", "/api/v1/images/{id}", {"focalPoint": {"x": 0.5, "y": 0.5}}),
    ("PUT", "/api/v1/images/{id}", {"meta": {"a": 1}}),
    ("PUT", "/api/v1/images/{id}/alias", {"alias": "@mine"}),
    ("DELETE", "/api/v1/images/{id}", None),
    ("DELETE", "/api/v1/images/{id}?mode=soft", None),
    ("GET", "/default/default/img/{id}", None),
    ("GET", "/default/default/img/{id}?w=20", None),
    ("PUT", "/api/v1/flows/{flow}/aliases", {"aliases": {"@y": "{id}"}}),
]
FLOW_CASES = [
    ("GET", "/api/v1/flows/{id}", None),
    ("GET", "/api/v1/flows/{id}/images", None),
    ("GET", "/api/v1/images?flowId={id}", None),
    ("GET", "/api/v1/images/@x?flowId={id}", None),
    ("GET", "/api/v1/images/@last?flowId={id}", None),
    ("GET", "/api/v1/images/@first?flowId={id}", None),
    ("GET", "/api/v1/images/@upload?flowId={id}", None),
    ("PUT", "/api/v1/flows/{id}/aliases", {"aliases": {"@y": "@mine-too"}}),
    ("DELETE", "/api/v1/flows/{id}/aliases/@x", None),
    ("DELETE", "/api/v1/flows/{id}", None),
]


def _fill(value: Any, ident: str, flow: str) -> Any:
    if isinstance(value, str):
        return value.replace("{id}", ident).replace("{flow}", flow)
    if isinstance(value, dict):
        return {_fill(k, ident, flow): _fill(v, ident, flow) for k, v in value.items()}
    return value


async def _call(api: httpx.AsyncClient, case: tuple, ident: str, flow: str) -> httpx.Response:
    method, path, body = case
    return await api.request(method, _fill(path, ident, flow), json=_fill(body, ident, flow))


@pytest.mark.parametrize("case", IMAGE_CASES, ids=lambda c: f"{c[0]} {c[1]}")
async def test_another_projects_image_id_answers_as_a_missing_one(api, theirs, case):
    """A regression guard: every endpoint that takes an image id already answered a foreign id
    as a missing one before issue 14's fixes; this keeps it so."""
    mine = await uploaded(api, alias="@mine-too", flowAlias="@f")
    foreign, missing = theirs.image["id"], str(uuid.uuid4())
    got = [await _call(api, case, i, mine["flowId"]) for i in (foreign, missing)]
    _same(*got, (foreign, missing))
    await _unchanged(api, theirs)


@pytest.mark.parametrize("which", ["claimed", "pending"])
@pytest.mark.parametrize("case", FLOW_CASES, ids=lambda c: f"{c[0]} {c[1]}")
async def test_another_projects_flow_id_answers_as_a_missing_one(api, theirs, case, which):
    """Flow ids became names within a project (migration 0010): a foreign flow id, claimed or
    still pending, must answer byte for byte as a missing one on every flow endpoint."""
    await uploaded(api, alias="@mine-too")
    flow = (theirs.image if which == "claimed" else theirs.pending)["flowId"]
    missing = str(uuid.uuid4())
    got = [await _call(api, case, i, i) for i in (flow, missing)]
    _same(*got, (flow, missing))
    assert got[0].status_code == 404 or case[1].startswith("/api/v1/images?")
    await _unchanged(api, theirs)


async def test_another_projects_alias_answers_as_a_missing_one(api, theirs):
    """A regression guard, like the image-id matrix: aliases were already per project."""
    for path in ("/api/v1/images/@{a}", "/default/default/img/@{a}?w=20"):
        got = [await api.get(path.format(a=a)) for a in ("theirs", "nobody")]
        _same(*got, ("theirs", "nobody"))
        assert got[0].status_code == 404
    await _unchanged(api, theirs)


def _flow_shape(flow: dict[str, Any], ident: str, image: str) -> dict[str, Any]:
    """A flow's JSON with what differs between two flows of the same shape written out."""
    text = str({k: v for k, v in flow.items() if k not in ("createdAt", "updatedAt")})
    return {"flow": text.replace(ident, "ID").replace(image, "IMAGE")}


@pytest.mark.parametrize("which", ["claimed", "pending"])
@pytest.mark.parametrize("fields", [{}, {"flowAlias": "@x"}], ids=["plain", "flowAlias"])
async def test_uploading_with_another_projects_flow_id_is_uploading_with_a_new_one(
    api, theirs, which, fields
):
    """An unknown flowId creates that flow (201); another project's id does exactly the same,
    in the caller's project, and theirs keeps its images and aliases."""
    flow = (theirs.image if which == "claimed" else theirs.pending)["flowId"]
    missing = str(uuid.uuid4())
    shapes = []
    for ident in (flow, missing):
        response = await upload(api, flowId=ident, **fields)
        assert response.status_code == 201, response.text
        image = response.json()["data"]
        assert image["flowId"] == ident
        assert image["projectId"] != theirs.image["projectId"]
        got = await api.get(f"/api/v1/flows/{ident}")
        assert got.status_code == 200
        shapes.append(_flow_shape(got.json()["data"], ident, image["id"]))
        listed = (await api.get(f"/api/v1/flows/{ident}/images")).json()["data"]
        assert [i["id"] for i in listed] == [image["id"]]
    assert shapes[0] == shapes[1]
    await _unchanged(api, theirs)


async def test_their_pending_flow_stays_theirs_after_we_name_it(api, client, theirs):
    """The takeover of issue 14: B's pending flow id named by A must not become A's."""
    pending = theirs.pending["flowId"]
    await uploaded(api, flowId=pending, flowAlias="@ours")
    header = {"X-API-Key": theirs.key}
    flow = (await client.get(f"/api/v1/flows/{pending}", headers=header)).json()["data"]
    assert (flow["imageCount"], flow["aliases"]) == (1, {})
    alias = await client.put(
        f"/api/v1/flows/{pending}/aliases",
        json={"aliases": {"@late": theirs.pending["id"]}},
        headers=header,
    )
    assert alias.status_code == 200, alias.text
    assert alias.json()["data"]["aliases"] == {"@late": theirs.pending["id"]}
    ours = (await api.get(f"/api/v1/flows/{pending}")).json()["data"]
    assert list(ours["aliases"]) == ["@ours"]
    # deleting our flow of that id leaves theirs
    assert (await api.delete(f"/api/v1/flows/{pending}")).status_code == 200
    still = await client.get(f"/api/v1/flows/{pending}", headers=header)
    assert still.json()["data"]["aliases"] == {"@late": theirs.pending["id"]}


async def test_flow_lists_count_only_the_projects_own_flows(api, client, theirs):
    await uploaded(api, flowId=theirs.image["flowId"])
    mine = (await api.get("/api/v1/flows")).json()
    assert [f["id"] for f in mine["data"]] == [theirs.image["flowId"]]
    assert mine["data"][0]["projectId"] != theirs.image["projectId"]
    header = {"X-API-Key": theirs.key}
    assert (await client.get("/api/v1/flows", headers=header)).json()["pagination"]["total"] == 1


async def test_migration_0010_keeps_flows_and_their_aliases(settings):
    """Flows and flow aliases written under 0009 (one global id space) come through 0010
    whole, each in its project, and back through its downgrade."""
    core = build_core(settings)
    try:
        async with core.db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0009"))
        project = await core.projects.create("legacy", "site")
        image_id, flow_id, moment = new_id(), uuid.uuid4(), now()
        async with core.db.write() as conn:
            await conn.execute(
                insert(images).values(
                    id=image_id, project_id=project.id, flow_id=flow_id, source="uploaded",
                    storage_key="k", mime_type="image/jpeg", size=1, sha256="0" * 64, meta={},
                    tags=[], created_at=moment, updated_at=moment,
                )
            )  # fmt: skip
            await conn.execute(
                insert(flows).values(
                    id=flow_id, project_id=project.id, meta={"m": 1}, created_at=moment,
                    updated_at=moment,
                )
            )  # fmt: skip
            await conn.execute(
                text("INSERT INTO flow_aliases (flow_id, alias, image_id) VALUES (:f, :a, :i)"),
                {"f": _db_uuid(conn, flow_id), "a": "@kept", "i": _db_uuid(conn, image_id)},
            )
        await initialise(core)
        flow = await core.flows.get(project, flow_id)
        assert (flow.aliases, flow.meta, flow.image_count) == ({"@kept": image_id}, {"m": 1}, 1)
        async with core.db.read() as conn:
            assert (await conn.execute(select(flow_aliases.c.project_id))).scalars().all() == [
                project.id
            ]
        async with core.db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0009"))
        async with core.db.read() as conn:
            rows = (await conn.execute(text("SELECT alias FROM flow_aliases"))).all()
        assert [r[0] for r in rows] == ["@kept"]
    finally:
        await core.close()


def _db_uuid(conn: Any, value: uuid.UUID) -> Any:
    """A UUID as the driver stores it in a text statement (SQLite: 32 hex digits)."""
    return value.hex if conn.dialect.name == "sqlite" else value
