"""`/docs`, `/redoc` and `/openapi.json`: offline assets, every route documented once, and what
the routes really answer (a success and an error per surface) matches the documented schema
for that status."""

import io
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI
from starlette.routing import Mount, Route

from pixvault.app import create_app
from pixvault.config import Settings
from pixvault.http.docs import routes_of
from pixvault.services.core import Core
from tests.helpers import jpeg, uploaded
from tests.slink.support import make_account

# Routes answered but deliberately not in the spec, each an alias of a documented one (or
# not part of the API). A new hidden route must be added here on purpose.
HIDDEN = {
    ("POST", "/api/admin/keys"),  # Banatie's name of POST /api/v1/admin/keys
    ("PUT", "/api/upload"),  # Slink accepts PUT for its POST uploads
    ("PUT", "/api/guest/upload"),
    ("PUT", "/api/external/upload"),
    ("GET", "/api/images/{page}/"),  # Slink's trailing-slash spellings
    ("GET", "/api/images/history/{page}/"),
    ("GET", "/api/image/{name}"),  # Slink delivery, documented at /image/{name}
    ("GET", "/"),  # a redirect to the web UI
}
NOT_API = ("/docs", "/redoc", "/openapi.json", "/ui")
VAULT_ALIASES = ("/v1/", "/api/v1/assets", "/api/v1/urls/")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_app(Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("docs")))


@pytest.fixture(scope="module")
def spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _served(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route the app answers, with `{param:conv}` as
    `{param}` (as the spec writes it); HEAD is GET's."""
    served = set()
    for route in routes_of(app):
        original = route.original_route
        if isinstance(original, Mount):
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path_format or "")
        for method in route.methods or ():
            if method != "HEAD":
                served.add((method, path))
    return served


def test_every_route_is_documented_once(app: FastAPI, spec: dict[str, Any]) -> None:
    documented = {(m.upper(), p) for p, item in spec["paths"].items() for m in item}
    hidden_vault = set()
    missing = []
    for method, path in _served(app):
        if path.startswith(NOT_API) or (method, path) in HIDDEN:
            continue
        if path.startswith(VAULT_ALIASES):
            hidden_vault.add((method, path))
            continue
        if (method, path) not in documented:
            missing.append((method, path))
    assert missing == []
    # Each vault alias answers a documented /api/v1/vaults/{vault_id}/... route.
    for method, path in hidden_vault:
        tail = path.removeprefix("/api").removeprefix("/v1").removeprefix("/vaults/{vault_id}")
        assert (method, "/api/v1/vaults/{vault_id}" + tail) in documented, (method, path)
    # Nothing documented that the app does not answer, and no operation twice.
    served = _served(app)
    assert [d for d in documented if d not in served] == []
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert not [p for p in spec["paths"] if p.startswith(VAULT_ALIASES) or p.startswith("/ui")]


def test_an_undocumented_route_fails_the_check(app: FastAPI) -> None:
    """The check above is not vacuous: a plain route added to the app shows up as served."""

    async def extra(request: Any) -> None: ...

    app.router.routes.append(Route("/api/v1/secret-extra", extra, methods=["GET"]))
    try:
        assert ("GET", "/api/v1/secret-extra") in _served(app)
        assert "/api/v1/secret-extra" not in app.openapi()["paths"]
    finally:
        app.router.routes.pop()


def test_no_phantom_validation_error(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in str(spec)
    assert "ValidationError" not in spec["components"]["schemas"]


ENVELOPES = {"/api/v1/vaults/": "VaultError", "/api/v1/": "NativeError", "/api/": "SlinkError"}


def test_each_surface_documents_its_own_error_envelope(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        envelope = next((e for prefix, e in ENVELOPES.items() if path.startswith(prefix)), None)
        if path.startswith("/api/bootstrap"):
            envelope = "NativeError"
        if envelope is None:
            continue
        for method, operation in item.items():
            errors = {s: r for s, r in operation["responses"].items() if s >= "400"}
            assert errors, (method, path)
            for status, answer in errors.items():
                text = str(answer["content"])
                assert f"#/components/schemas/{envelope}" in text, (method, path, status)


def test_security_schemes_let_authorize_send_a_key(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "in": "header", "name": "X-API-Key"}
    assert schemes["Bearer"]["scheme"] == "bearer"
    assert schemes["SlinkToken"]["bearerFormat"] == "JWT"
    ops = spec["paths"]
    key = [{"ApiKey": []}, {"Bearer": []}]
    assert ops["/api/v1/images"]["get"]["security"] == key
    assert ops["/api/v1/admin/keys"]["post"]["security"] == key
    assert ops["/api/v1/vaults/{vault_id}/assets"]["post"]["security"] == key
    assert ops["/api/external/upload"]["post"]["security"] == key
    assert ops["/api/user"]["get"]["security"] == [{"SlinkToken": []}]
    for open_route in ("/api/auth/login", "/api/bootstrap/initial-key", "/api/guest/upload"):
        assert "security" not in ops[open_route]["post"]
    assert "security" not in ops["/health"]["get"]


def test_uploads_document_their_multipart_body(spec: dict[str, Any]) -> None:
    uploads = {
        "/api/v1/images/upload": ("file", {"alias", "flowId", "flowAlias", "meta"}),
        "/api/upload": ("image", {"description", "isPublic"}),
        "/api/guest/upload": ("image", {"description", "isPublic"}),
        "/api/external/upload": ("image", {"description", "isPublic"}),
        "/api/v1/vaults/{vault_id}/assets": ("file", {"partition", "collection", "channel"}),
    }
    for path, (file_field, fields) in uploads.items():
        body = spec["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]
        properties = body["schema"]["properties"]
        assert properties[file_field] == {**properties[file_field], "format": "binary"}
        assert fields <= set(properties)
        assert file_field in body["schema"]["required"]


def test_delivery_urls_are_documented_with_their_parameters(spec: dict[str, Any]) -> None:
    for path in (
        "/{org}/{project}/img/{ref}",
        "/{vault_id}/{partition}/{collection}/{channel}/{filename}",
        "/image/{name}",
    ):
        operation = spec["paths"][path]["get"]
        names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert {"w", "h", "fit", "format", "q", "dpr", "crop", "preset"} <= names
        assert operation["tags"] == ["delivery"]
        assert "image/*" in operation["responses"]["200"]["content"]


async def test_docs_and_redoc_work_offline(client: httpx.AsyncClient) -> None:
    for page, assets in (
        ("/docs", ("swagger-ui-bundle.js", "swagger-ui.css")),
        ("/redoc", ("redoc.standalone.js",)),
    ):
        html = (await client.get(page)).text
        # No script, style sheet or font from anywhere but this server.
        assert re.findall(r"(?:src|href)=[\"']?(https?:)?//", html) == []
        assert "cdn.jsdelivr" not in html and "fonts.googleapis" not in html
        for name in assets:
            assert f"/docs/assets/{name}" in html
            asset = await client.get(f"/docs/assets/{name}")
            assert asset.status_code == 200 and len(asset.content) > 10_000
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")


# -- what routes answer matches what is documented -------------------------------------------


def _operation(spec: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The documented operation a concrete request path falls under."""
    for template, item in spec["paths"].items():
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
        if template.endswith("{ref}"):
            pattern = pattern.removesuffix("[^/]+") + ".+"
        if re.fullmatch(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path} is not documented")


def conforms(spec: dict[str, Any], response: httpx.Response) -> None:
    """The response's status is documented for its operation, and its JSON body validates
    against the schema documented for that status."""
    request = response.request
    template, operation = _operation(spec, request.method, request.url.path)
    status = str(response.status_code)
    documented = operation["responses"]
    assert status in documented, f"{request.method} {template} answered undocumented {status}"
    content = documented[status].get("content", {})
    media = response.headers.get("content-type", "").split(";")[0]
    if not response.content:
        assert response.status_code in (204, 304) or not content
        return
    if media.startswith("image/"):
        assert "image/*" in content
        return
    assert media in content, f"{template} {status}: {media} not in {list(content)}"
    schema = content[media]["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": spec["components"]})
    validator.validate(response.json())


@pytest.fixture
async def checked(client: httpx.AsyncClient, spec: dict[str, Any]) -> httpx.AsyncClient:
    """A client whose every answer is checked against the spec."""

    async def check(response: httpx.Response) -> None:
        await response.aread()
        conforms(spec, response)

    client.event_hooks["response"].append(check)
    return client


async def test_native_answers_match_the_spec(
    checked: httpx.AsyncClient, secret_key: str, core: Core
) -> None:
    key = {"X-API-Key": secret_key}
    checked.headers.update(key)
    image = await uploaded(checked, meta='{"a": 1}', alias="@hero")
    await checked.get(f"/api/v1/images/{image['id']}")
    await checked.get("/api/v1/images", params={"limit": 2})
    await checked.put(f"/api/v1/images/{image['id']}", json={"focalPoint": {"x": 0.5, "y": 0.5}})
    await checked.put(f"/api/v1/images/{image['id']}/alias", json={"alias": "@other"})
    flows = (await checked.get("/api/v1/flows")).json()["data"]
    await checked.get(f"/api/v1/flows/{image['flowId'] or flows[0]['id']}")
    assert (await checked.get("/api/v1/images/@missing")).status_code == 404
    assert (await checked.get("/api/v1/images", params={"tag": "x"})).status_code == 400
    assert (await checked.get("/api/v1/images", params={"limit": "x"})).status_code == 400
    assert (await checked.put(f"/api/v1/images/{image['id']}", json=[])).status_code == 400
    assert (await checked.get("/api/v1/flows", headers={"X-API-Key": "nope"})).status_code == 401
    master = (await core.keys.issue("master")).secret
    admin = {"X-API-Key": master}
    await checked.get("/api/v1/admin/projects", headers=admin)
    created = await checked.post(
        "/api/v1/admin/keys",
        headers=admin,
        json={"kind": "public", "projectId": image["projectId"]},
    )
    await checked.get("/api/v1/admin/keys", headers=admin)
    await checked.delete(f"/api/v1/admin/keys/{created.json()['data']['id']}", headers=admin)
    assert (await checked.get("/api/v1/admin/projects")).status_code == 403
    assert (await checked.post("/api/bootstrap/initial-key")).status_code == 403
    await checked.delete(f"/api/v1/images/{image['id']}")
    await checked.get("/health")
    await checked.get("/ready")


async def test_native_and_vault_delivery_answers_match_the_spec(
    checked: httpx.AsyncClient, secret_key: str, core: Core
) -> None:
    checked.headers["X-API-Key"] = secret_key
    image = await uploaded(checked, alias="@pic")
    project = await core.projects.get(uuid.UUID(image["projectId"]))
    assert (await checked.get(f"/{project.path}/img/@pic", params={"w": 20})).status_code == 200
    assert (await checked.get(f"/{project.path}/img/@pic", params={"w": "x"})).status_code == 400
    assert (await checked.get(f"/{project.path}/img/@nope")).status_code == 404
    vault = f"/api/v1/vaults/{project.vault_id}"
    files = {"file": ("a.jpg", io.BytesIO(jpeg()), "image/jpeg")}
    fields = {"partition": "p", "collection": "c", "channel": "ch", "tags": '["t"]'}
    asset = (await checked.post(f"{vault}/assets", files=files, data=fields)).json()
    await checked.get(f"{vault}/assets", params={"limit": 1})
    await checked.get(f"{vault}/assets/{asset['id']}")
    await checked.patch(f"{vault}/assets/{asset['id']}", json={"metadata": {"k": "v"}})
    signed = await checked.post(
        f"{vault}/urls/sign", json={"path": asset["path"], "expires_at": 4102444800}
    )
    assert signed.status_code == 200
    assert (await checked.get(f"/{project.vault_id}/{asset['path']}")).status_code == 200
    assert (await checked.get(f"/{project.vault_id}/p/c/ch/none.jpg")).status_code == 404
    assert (await checked.get(f"{vault}/assets/asset_nope")).status_code == 404
    assert (await checked.post(f"{vault}/urls/sign", json={"path": 1})).status_code == 400
    assert (await checked.get(f"{vault}/assets", params={"limit": 0})).status_code == 400
    await checked.post(f"{vault}/urls/revoke", json={"path": asset["path"]})
    assert (await checked.delete(f"{vault}/assets/{asset['id']}")).status_code == 204


async def test_slink_answers_match_the_spec(checked: httpx.AsyncClient, core: Core) -> None:
    alice = await make_account(core, "alice")
    auth = {"Authorization": f"Bearer {alice.access}"}
    login = {"username": "alice", "password": alice.password}
    assert (await checked.post("/api/auth/login", json=login)).status_code == 200
    await checked.get("/api/user", headers=auth)
    files = {"image": ("a.jpg", io.BytesIO(jpeg()), "image/jpeg")}
    image_id = (await checked.post("/api/upload", headers=auth, files=files)).json()["id"]
    await checked.get(f"/api/image/{image_id}/detail", headers=auth)
    await checked.get("/api/images/1", headers=auth)
    await checked.get("/api/images/history/1", headers=auth, params={"limit": 1})
    await checked.get("/api/images", headers=auth, params={"uuid[]": image_id})
    key = (await checked.post("/api/user/api-keys", headers=auth, json={"name": "k"})).json()
    await checked.get("/api/user/api-keys", headers=auth)
    await checked.get("/api/user/sharex-config", headers=auth)
    bearer = {"Authorization": f"Bearer {key['key']}"}
    files = {"image": ("b.jpg", io.BytesIO(jpeg()), "image/jpeg")}
    external = (await checked.post("/api/external/upload", headers=bearer, files=files)).json()
    assert (await checked.get(f"/{external['url']}", params={"width": 10})).status_code == 200
    assert (await checked.get("/image/nope.jpg")).status_code == 404
    assert (await checked.get(f"/{external['url']}", params={"width": "x"})).status_code == 400
    assert (await checked.get("/api/user")).status_code == 401
    assert (await checked.post("/api/upload", headers=auth)).status_code == 422
    assert (await checked.get("/api/images/0", headers=auth)).status_code == 400
    assert (await checked.get("/api/image/nope/detail", headers=auth)).status_code == 404
    bad = {"username": "alice", "password": "wrong"}
    assert (await checked.post("/api/auth/login", json=bad)).status_code == 400
    assert (await checked.post("/api/external/upload", files=files)).status_code == 401
    assert (
        await checked.patch(f"/api/image/{image_id}", headers=auth, json={"isPublic": True})
    ).status_code == 204
    await checked.delete(f"/api/user/api-keys/{key['keyId']}", headers=auth)
    assert (await checked.delete(f"/api/image/{image_id}", headers=auth)).status_code == 204


def test_the_conformance_check_catches_an_undocumented_field(spec: dict[str, Any]) -> None:
    request = httpx.Request("GET", "http://testserver/health")
    good = httpx.Response(200, json={"status": "ok", "version": "1"}, request=request)
    conforms(spec, good)
    drifted = httpx.Response(200, json={"status": "ok", "version": "1", "x": 1}, request=request)
    with pytest.raises(jsonschema.ValidationError):
        conforms(spec, drifted)
    undocumented = httpx.Response(418, json={}, request=request)
    with pytest.raises(AssertionError, match="undocumented 418"):
        conforms(spec, undocumented)


def test_readme_says_what_docs_show() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "/redoc" in readme and "make fuzz" in readme
