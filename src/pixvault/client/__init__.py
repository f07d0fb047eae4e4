"""A small typed client for pixvault's native API, for scripts and `pixvault upload`.

    from pixvault.client import Client, file_sha256

    with Client("http://127.0.0.1:8000", "sk_...") as pv:
        if pv.find_by_hash(file_sha256("cat.jpg")) is None:
            image = pv.upload("cat.jpg", alias="@cat")
        print(pv.get("@cat").url)

It imports nothing of the server, so it runs wherever httpx and tenacity do.
"""

from pixvault.client.aio import AsyncClient
from pixvault.client.errors import (
    ApiError,
    Conflict,
    ConnectionLost,
    Forbidden,
    NotFound,
    PixvaultClientError,
    RateLimited,
    ServerError,
    ServerUnreachable,
    Unauthorized,
)
from pixvault.client.models import FocalPoint, Image, Page
from pixvault.client.retry import RetryPolicy
from pixvault.client.sync import Client, file_sha256
from pixvault.client.wire import NO_FLOW

__all__ = [
    "NO_FLOW",
    "ApiError",
    "AsyncClient",
    "Client",
    "Conflict",
    "ConnectionLost",
    "FocalPoint",
    "Forbidden",
    "Image",
    "NotFound",
    "Page",
    "PixvaultClientError",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "ServerUnreachable",
    "Unauthorized",
    "file_sha256",
]
