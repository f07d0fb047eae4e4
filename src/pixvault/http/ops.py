"""Operations endpoints: liveness, readiness and Prometheus metrics."""

import os

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from pydantic import BaseModel, ConfigDict, Field

from pixvault import __version__
from pixvault.http.common.auth import core_of

router = APIRouter(tags=["ops"])


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str = Field(description="ok")
    version: str


class Readiness(BaseModel):
    """`status` and one entry per dependency (`ok`, or what is wrong with it)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str]
    status: str = Field(description="ready | unavailable")


_METRICS = {200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}}


@router.get("/health", summary="Liveness: the process answers", response_model=Health)
async def health() -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


@router.get(
    "/ready",
    summary="Readiness: database and blob store reachable",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency is not ready"}},
)
async def ready(request: Request) -> JSONResponse:
    checks = await core_of(request).readiness()
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ready" if healthy else "unavailable", **checks}
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics (of every worker of this serve command)",
    response_class=Response,
    responses=_METRICS,
)
async def metrics() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
