"""Instance administration with a master key: projects and keys over HTTP, plus bootstrap.

Also answers Banatie's `POST /api/admin/keys` shape (`type: master|project`, org and project
slugs auto-created), so its admin clients keep working.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from pixvault.domain.errors import InvalidInput
from pixvault.domain.ids import from_prefixed_ulid, parse_uuid
from pixvault.domain.models import VAULT_PREFIX, ApiKey, IssuedKey, Project
from pixvault.http.common.auth import Master, core_of
from pixvault.http.common.errors import enveloped_route
from pixvault.http.native.errors import render_error
from pixvault.http.native.responses import iso, ok
from pixvault.http.native.schemas import (
    IssuedKeyAnswer,
    KeyAnswer,
    KeyList,
    ProjectAnswer,
    ProjectList,
    errors,
)

router = APIRouter(tags=["admin"], route_class=enveloped_route(render_error))


def project_json(project: Project) -> dict[str, Any]:
    return {
        "id": str(project.id),
        "org": project.org_slug,
        "slug": project.slug,
        "name": project.name,
        "vaultId": project.vault_id,
        "settings": project.settings.as_document(),
        "createdAt": iso(project.created_at),
    }


def key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": str(key.id),
        "kind": key.kind,
        "projectId": None if key.project_id is None else str(key.project_id),
        "label": key.label,
        "prefix": key.prefix,
        "createdAt": iso(key.created_at),
        "expiresAt": iso(key.expires_at),
        "lastUsedAt": iso(key.last_used_at),
        "revokedAt": iso(key.revoked_at),
    }


def issued_json(issued: IssuedKey) -> dict[str, Any]:
    return {**key_json(issued.key), "key": issued.secret}


class ProjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org: str = Field(description="organisation slug; created if missing")
    slug: str
    name: str | None = None


@router.post(
    "/api/v1/admin/projects",
    status_code=201,
    summary="Create a project",
    response_model=ProjectAnswer,
    responses=errors(400, 401, 403, 409, 503),
)
async def create_project(request: Request, _: Master, body: ProjectIn) -> JSONResponse:
    project = await core_of(request).projects.create(body.org, body.slug, body.name)
    return ok(project_json(project), 201)


@router.get(
    "/api/v1/admin/projects",
    summary="List projects",
    response_model=ProjectList,
    responses=errors(401, 403, 503),
)
async def list_projects(request: Request, _: Master) -> JSONResponse:
    return ok([project_json(p) for p in await core_of(request).projects.list()])


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    settings: dict[str, Any] = Field(
        description="presets, presetsOnly, signingKeys, avif, autoFormat (replaces the document)"
    )


@router.put(
    "/api/v1/admin/projects/{project_id}/settings",
    summary="Set delivery settings",
    response_model=ProjectAnswer,
    responses=errors(400, 401, 403, 404, 503),
)
async def put_settings(
    request: Request, _: Master, project_id: str, body: SettingsIn
) -> JSONResponse:
    vault = from_prefixed_ulid(project_id, VAULT_PREFIX)  # a vault id names its project too
    project = await core_of(request).projects.update_settings(
        vault or parse_uuid(project_id, param="projectId"), body.settings
    )
    return ok(project_json(project))


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str | None = Field(None, description="secret | public | master")
    type: str | None = Field(None, description="Banatie name: master | project (= secret)")
    projectId: str | None = None
    organizationSlug: str | None = None
    projectSlug: str | None = None
    organizationId: str | None = None
    name: str | None = None
    label: str | None = None
    expiresInDays: int | None = None


async def _key_project(request: Request, body: KeyIn) -> Project | None:
    core = core_of(request)
    if body.projectId:
        return await core.projects.get(parse_uuid(body.projectId, param="projectId"))
    if body.organizationSlug and body.projectSlug:
        project, _ = await core.projects.ensure(body.organizationSlug, body.projectSlug)
        return project
    return None


def _kind(body: KeyIn) -> str:
    if body.kind and body.type:
        raise InvalidInput("Send either kind or type, not both", param="kind")
    if body.type is not None:
        mapping = {"master": "master", "project": "secret"}
        if body.type not in mapping:
            raise InvalidInput(
                f"type must be 'master' or 'project', got {body.type!r}", param="type"
            )
        return mapping[body.type]
    return body.kind or "secret"


async def _create_key(request: Request, body: KeyIn) -> JSONResponse:
    kind = _kind(body)
    project = None if kind == "master" else await _key_project(request, body)
    if kind != "master" and project is None:
        raise InvalidInput(
            "A project key needs projectId, or organizationSlug and projectSlug", param="projectId"
        )
    issued = await core_of(request).keys.issue(
        kind,
        None if project is None else project.id,
        label=body.label or body.name,
        expires_in_days=body.expiresInDays,
    )
    return ok(issued_json(issued), 201)


@router.post(
    "/api/v1/admin/keys",
    status_code=201,
    summary="Create an API key (shown once)",
    description="Also answers Banatie's POST /api/admin/keys (type: master | project).",
    response_model=IssuedKeyAnswer,
    responses=errors(400, 401, 403, 404, 503),
)
async def create_key(request: Request, _: Master, body: KeyIn) -> JSONResponse:
    return await _create_key(request, body)


@router.post("/api/admin/keys", status_code=201, include_in_schema=False)
async def create_key_banatie(request: Request, _: Master, body: KeyIn) -> JSONResponse:
    return await _create_key(request, body)


@router.get(
    "/api/v1/admin/keys",
    summary="List API keys (never their secrets)",
    response_model=KeyList,
    responses=errors(400, 401, 403, 503),
)
async def list_keys(request: Request, _: Master, projectId: str | None = None) -> JSONResponse:
    project_id = parse_uuid(projectId, param="projectId") if projectId else None
    return ok([key_json(k) for k in await core_of(request).keys.list(project_id)])


@router.delete(
    "/api/v1/admin/keys/{key_id}",
    summary="Revoke an API key",
    response_model=KeyAnswer,
    responses=errors(400, 401, 403, 404, 503),
)
async def revoke_key(request: Request, _: Master, key_id: str) -> JSONResponse:
    key = await core_of(request).keys.revoke(parse_uuid(key_id, param="keyId"))
    return ok(key_json(key))


@router.post(
    "/api/bootstrap/initial-key",
    status_code=201,
    summary="First master key",
    description="Open until the instance has a master key; then 403 BOOTSTRAP_CLOSED.",
    response_model=IssuedKeyAnswer,
    responses=errors(403, 503),
)
async def bootstrap(request: Request) -> JSONResponse:
    return ok(issued_json(await core_of(request).keys.bootstrap_master()), 201)
