"""Administration with a master key, and the one-time bootstrap."""

import pytest

from pixvault.db.tables import api_keys
from tests.helpers import upload


@pytest.fixture
async def admin(client, core):
    client.headers["X-API-Key"] = (await core.keys.issue("master")).secret
    return client


async def test_master_creates_project_and_keys_that_work(admin, client):
    project = await admin.post("/api/v1/admin/projects", json={"org": "acme", "slug": "site"})
    assert project.status_code == 201
    data = project.json()["data"]
    assert data["vaultId"].startswith("vault_")
    key = await admin.post("/api/v1/admin/keys", json={"projectId": data["id"], "kind": "secret"})
    assert key.status_code == 201
    secret = key.json()["data"]["key"]
    assert secret.startswith("sk_")
    client.headers["X-API-Key"] = secret
    uploaded = (await upload(client)).json()["data"]
    assert uploaded["storageUrl"].startswith("http://cdn.test/acme/site/img/")


async def test_banatie_key_shape_auto_creates_org_and_project(admin):
    body = {"type": "project", "organizationSlug": "neworg", "projectSlug": "p1", "name": "ci"}
    response = await admin.post("/api/admin/keys", json=body)
    assert response.status_code == 201
    projects = (await admin.get("/api/v1/admin/projects")).json()["data"]
    assert "neworg" in {p["org"] for p in projects}


async def test_list_and_revoke_keys(admin, client, core):
    project = await core.projects.by_path("default/default")
    created = (await admin.post("/api/v1/admin/keys", json={"projectId": str(project.id)})).json()
    key_id = created["data"]["id"]
    listed = (await admin.get("/api/v1/admin/keys")).json()["data"]
    assert key_id in {k["id"] for k in listed}
    assert all("key" not in k for k in listed)
    revoked = await admin.delete(f"/api/v1/admin/keys/{key_id}")
    assert revoked.json()["data"]["revokedAt"] is not None
    client.headers["X-API-Key"] = created["data"]["key"]
    assert (await client.get("/api/v1/images")).status_code == 401


@pytest.mark.parametrize("org", ["api", "docs", "health", "metrics", "image", "ui", "Bad Slug"])
async def test_reserved_or_invalid_org_slugs_are_refused(admin, org):
    response = await admin.post("/api/v1/admin/projects", json={"org": org, "slug": "x"})
    assert response.status_code == 400
    projects = (await admin.get("/api/v1/admin/projects")).json()["data"]
    assert org not in {p["org"] for p in projects}


async def test_duplicate_project_is_a_conflict(admin):
    await admin.post("/api/v1/admin/projects", json={"org": "acme", "slug": "site"})
    again = await admin.post("/api/v1/admin/projects", json={"org": "acme", "slug": "site"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "PROJECT_EXISTS"


async def test_project_key_cannot_administer(api):
    response = await api.post("/api/v1/admin/projects", json={"org": "acme", "slug": "x"})
    assert response.status_code == 403


async def test_master_key_cannot_use_project_endpoints(admin):
    response = await admin.get("/api/v1/images")
    assert response.status_code == 403
    assert "project key" in response.json()["error"]["message"]


async def test_bootstrap_is_closed_once_keys_exist(client):
    response = await client.post("/api/bootstrap/initial-key")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "BOOTSTRAP_CLOSED"


async def test_bootstrap_issues_one_master_key_on_an_empty_instance(client, core):
    async with core.db.write() as conn:
        await conn.execute(api_keys.delete())
    first = await client.post("/api/bootstrap/initial-key")
    assert first.status_code == 201
    master = first.json()["data"]["key"]
    assert master.startswith("mk_")
    assert (await client.post("/api/bootstrap/initial-key")).status_code == 403
    client.headers["X-API-Key"] = master
    assert (await client.get("/api/v1/admin/projects")).status_code == 200


async def test_health_and_docs(client):
    assert (await client.get("/health")).json()["status"] == "ok"
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/images/upload" in spec["paths"]
