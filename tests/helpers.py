"""Test helpers: real images made with pyvips, and direct looks at rows and blobs."""

import io
from typing import Any

import httpx
import pyvips
from sqlalchemy import func, select

from pixvault.db.tables import images
from pixvault.services.core import Core


def solid(width: int, height: int, color: tuple[int, int, int]) -> pyvips.Image:
    return pyvips.Image.black(width, height).new_from_image(list(color)).cast("uchar")


def jpeg(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    return solid(width, height, color).jpegsave_buffer(Q=90)


def png(width: int = 64, height: int = 48) -> bytes:
    return solid(width, height, (10, 120, 240)).pngsave_buffer()


def webp(width: int = 64, height: int = 48) -> bytes:
    return solid(width, height, (0, 200, 0)).webpsave_buffer()


async def upload(
    api: httpx.AsyncClient,
    data: bytes | None = None,
    *,
    filename: str = "image.jpg",
    content_type: str = "image/jpeg",
    **fields: str,
) -> httpx.Response:
    files = {"file": (filename, io.BytesIO(jpeg() if data is None else data), content_type)}
    return await api.post("/api/v1/images/upload", files=files, data=fields)


async def uploaded(
    api: httpx.AsyncClient, data: bytes | None = None, **fields: str
) -> dict[str, Any]:
    response = await upload(api, data, **fields)
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def row_count(core: Core) -> int:
    async with core.db.read() as conn:
        return await conn.scalar(select(func.count()).select_from(images)) or 0


async def blob_keys(core: Core, prefix: str = "") -> list[str]:
    return [info.key async for info in core.blobs.list(prefix)]


async def nothing_stored(core: Core) -> bool:
    return await row_count(core) == 0 and await blob_keys(core) == []
