"""HTTP side of delivery, shared by every public URL: conditional requests, ranges, headers."""

from datetime import datetime
from email.utils import format_datetime
from functools import lru_cache

from fastapi import Request, Response

from pixvault.domain.errors import RangeNotSatisfiable
from pixvault.services.delivery import IMMUTABLE, Delivery
from pixvault.storage import BlobStore


def _headers(delivery: Delivery) -> dict[str, str]:
    headers = {
        "ETag": delivery.etag,
        "Cache-Control": delivery.cache_control,
        "Last-Modified": _http_date(delivery.last_modified),
        "X-Image-Id": str(delivery.image_id),
        "X-Content-Type-Options": "nosniff",
    }
    if delivery.vary_accept:
        headers["Vary"] = "Accept"
    if not delivery.rendered:
        headers["Accept-Ranges"] = "bytes"
    return headers


@lru_cache(maxsize=4096)
def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def _not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One `bytes=` range as [start, end); None means "ignore Range, send everything"."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        raise RangeNotSatisfiable("Only a single byte range is supported per request")
    first, dash, last = spec.strip().partition("-")
    if not dash or (not first and not last):
        return None
    try:
        if not first:
            suffix = int(last)
            start, end = max(0, size - suffix), size
        else:
            start = int(first)
            end = min(size, int(last) + 1) if last else size
    except ValueError:
        return None
    if start >= size or start >= end:
        raise RangeNotSatisfiable(f"Range {spec} is outside the {size}-byte body")
    return start, end


async def _redirect(delivery: Delivery, blobs: BlobStore, expires: int) -> Response | None:
    """302 to a presigned object-store URL, when the store can sign one."""
    url = await blobs.presign_get(delivery.storage_key, expires)
    if url is None:
        return None
    headers = {"Location": url, "X-Image-Id": str(delivery.image_id), "ETag": delivery.etag}
    immutable = delivery.cache_control == IMMUTABLE
    headers["Cache-Control"] = (
        f"public, max-age={expires // 2}" if immutable else delivery.cache_control
    )
    if delivery.vary_accept:
        headers["Vary"] = "Accept"
    return Response(status_code=302, headers=headers)


async def send(
    request: Request, delivery: Delivery, blobs: BlobStore, *, redirect_expires: int | None = None
) -> Response:
    """The response for a delivery; with `redirect_expires`, a redirect to the store instead
    of proxied bytes (S3 only: local stores cannot sign URLs and keep proxying)."""
    headers = _headers(delivery)
    if _not_modified(request, delivery.etag):
        return Response(status_code=304, headers=headers)
    if redirect_expires is not None:
        redirected = await _redirect(delivery, blobs, redirect_expires)
        if redirected is not None:
            return redirected
    span = None
    range_header = request.headers.get("range")
    if range_header and not delivery.rendered:
        if_range = request.headers.get("if-range")
        if if_range is None or if_range == delivery.etag:
            try:
                span = parse_range(range_header, delivery.size)
            except RangeNotSatisfiable as exc:
                headers["Content-Range"] = f"bytes */{delivery.size}"
                exc.headers.update(headers)
                raise
    if request.method == "HEAD":
        headers["Content-Length"] = str(delivery.size)
        return Response(status_code=200, headers=headers, media_type=delivery.mime)
    if span is None:
        body = await delivery.read(blobs)
        return Response(body, status_code=200, headers=headers, media_type=delivery.mime)
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{delivery.size}"
    body = await delivery.read(blobs, start, end)
    return Response(body, status_code=206, headers=headers, media_type=delivery.mime)
