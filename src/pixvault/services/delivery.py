"""Public delivery: originals and on-the-fly derivatives behind every public URL.

One engine for every surface: the surface resolves which image a URL names, hands over the
query parameters and the Accept header, and gets back bytes plus the caching facts.
Derivatives are rendered once, stored in the blob store next to the original (so every
process shares them), and keyed by the content hash, the focal point when the crop uses it,
and the canonical transform, so equivalent URLs share one rendering.
"""

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import parse_qsl

from cachetools import LRUCache

from pixvault.domain.errors import Forbidden, InvalidInput, NotFound
from pixvault.domain.models import Image, Project
from pixvault.domain.policy import DeliveryPolicy, signature_matches
from pixvault.domain.transform import (
    FORMAT_MIME,
    MIME_FORMAT,
    Limits,
    Transform,
    negotiate_format,
    parse_transform,
)
from pixvault.imaging.pool import RenderPool
from pixvault.imaging.render import Rendered, render
from pixvault.metrics import DERIVATIVE_CACHE, RENDER_SECONDS
from pixvault.services.blobkeys import derivative_key
from pixvault.storage import BlobMissing, BlobStore

IMMUTABLE = "public, max-age=31536000, immutable"
_CACHE_HIT, _CACHE_MISS = DERIVATIVE_CACHE.labels("hit"), DERIVATIVE_CACHE.labels("miss")
_CONTROL = frozenset({"s", "preset"})


@dataclass(frozen=True)
class Delivery:
    """What to send: either a whole body, or (originals) a key to read ranges from."""

    image_id: uuid.UUID
    mime: str
    size: int
    etag: str
    last_modified: datetime
    cache_control: str
    vary_accept: bool
    storage_key: str
    body: bytes | None
    rendered: bool

    async def read(self, blobs: BlobStore, start: int = 0, end: int | None = None) -> bytes:
        if self.body is not None:
            return self.body[start:end]
        stop = self.size if end is None else end
        with _gone_is_not_found(self.image_id):
            if start == 0 and stop == self.size:
                return await blobs.get(self.storage_key)
            return await blobs.get_range(self.storage_key, start, stop)


class DeliveryService:
    def __init__(
        self,
        blobs: BlobStore,
        pool: RenderPool,
        *,
        limits: Limits,
        mutable_max_age: int,
        auto_format_default: bool,
        memory_bytes: int = 0,
    ):
        self.blobs = blobs
        # Hot derivatives in memory. Safe in every process: a derivative's key names its
        # content (image, content hash, focal point, transform), so it can never be stale.
        self._memory: LRUCache[str, bytes] | None = (
            LRUCache(maxsize=memory_bytes, getsizeof=len) if memory_bytes > 0 else None
        )
        self._memory_item_cap = memory_bytes // 16
        self.pool = pool
        self.limits = limits
        self.mutable_max_age = mutable_max_age
        self.auto_format_default = auto_format_default
        self._inflight: dict[str, asyncio.Task[bytes]] = {}
        self.hits = 0
        self.misses = 0
        self.renders = 0

    def policy(self, project: Project) -> DeliveryPolicy:
        return DeliveryPolicy.of(project.settings, auto_format_default=self.auto_format_default)

    def transform_for(
        self, project: Project, path: str, params: list[tuple[str, str]]
    ) -> Transform:
        """Apply presets, presets-only mode and signing, then parse the one grammar."""
        policy = self.policy(project)
        given = dict(params)
        preset_name = given.get("preset")
        extra = [(k, v) for k, v in params if k not in _CONTROL]
        if policy.presets_only and extra:
            raise Forbidden(
                "This project serves named presets only: use ?preset=NAME "
                f"(available: {', '.join(sorted(policy.presets)) or 'none'})",
                code="PRESETS_ONLY",
            )
        merged = list(extra)
        if preset_name is not None:
            if preset_name not in policy.presets:
                raise InvalidInput(
                    f"Unknown preset {preset_name!r}; available: "
                    f"{', '.join(sorted(policy.presets)) or 'none'}",
                    param="preset",
                )
            merged = parse_qsl(policy.presets[preset_name], keep_blank_values=True) + merged
        spec = parse_transform(merged, self.limits, ignore=frozenset())
        if policy.signature_required and extra:
            given_sig = given.get("s")
            if not given_sig or not signature_matches(
                policy.signing_keys, path, spec.canonical(), given_sig
            ):
                raise Forbidden(
                    "This project requires signed transform URLs: add s=SIGNATURE "
                    "(HMAC-SHA256 of PATH?CANONICAL_TRANSFORM, see README)",
                    code="INVALID_SIGNATURE",
                )
        return spec

    async def deliver(
        self,
        project: Project,
        image: Image,
        spec: Transform,
        *,
        accept: str | None,
        mutable: bool,
    ) -> Delivery:
        """Bytes for `image` under `spec`. `mutable` says the URL may name other bytes later
        (an alias), so it must not be cached as immutable."""
        policy = self.policy(project)
        fmt, varies = negotiate_format(
            spec,
            accept,
            image.mime_type,
            avif_enabled=policy.avif,
            auto_by_default=policy.auto_format,
        )
        concrete = spec.with_format(fmt) if spec.format is not None or varies else spec
        source_format = MIME_FORMAT.get(image.mime_type)
        if _is_original(concrete, source_format):
            return self._original(image, mutable=mutable, varies=varies)
        focal = image.focal_point
        uses_focal = spec.depends_on_focal(focal is not None)
        focal_xy = (focal.x, focal.y) if uses_focal and focal else None
        target = concrete if concrete.format else concrete.with_format(source_format or "jpeg")
        digest = _digest(image.sha256, focal_xy, target.canonical())
        key = derivative_key(image.project_id, image.id, digest)
        data = await self._derivative(key, image, target, focal_xy)
        immutable = not mutable and not uses_focal
        return Delivery(
            image_id=image.id,
            mime=FORMAT_MIME[target.format],
            size=len(data),
            etag=f'"{digest}"',
            last_modified=image.updated_at,
            cache_control=IMMUTABLE if immutable else self._short(),
            vary_accept=varies,
            storage_key=key,
            body=data,
            rendered=True,
        )

    def _original(self, image: Image, *, mutable: bool, varies: bool) -> Delivery:
        return Delivery(
            image_id=image.id,
            mime=image.mime_type,
            size=image.size,
            etag=f'"{image.sha256}"',
            last_modified=image.created_at,
            cache_control=self._short() if mutable else IMMUTABLE,
            vary_accept=varies,
            storage_key=image.storage_key,
            body=None,
            rendered=False,
        )

    def _short(self) -> str:
        return f"public, max-age={self.mutable_max_age}"

    async def _derivative(
        self, key: str, image: Image, spec: Transform, focal: tuple[float, float] | None
    ) -> bytes:
        data = None if self._memory is None else self._memory.get(key)
        hit = data is not None
        if data is None:
            try:
                data = await self.blobs.get(key)
                hit = True
            except BlobMissing:
                data = await self._once(
                    key, lambda: self._render_and_store(key, image, spec, focal)
                )
            self._remember(key, data)
        if hit:
            self.hits += 1
        else:
            self.misses += 1
        (_CACHE_HIT if hit else _CACHE_MISS).inc()
        return data

    def _remember(self, key: str, data: bytes) -> None:
        if self._memory is not None and len(data) <= self._memory_item_cap:
            self._memory[key] = data

    async def _once(self, key: str, make: Callable[[], Awaitable[bytes]]) -> bytes:
        """Concurrent requests for one new derivative share a single render."""
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(make())
            self._inflight[key] = task
            task.add_done_callback(lambda _: self._inflight.pop(key, None))
        return await asyncio.shield(task)

    async def _render_and_store(
        self, key: str, image: Image, spec: Transform, focal: tuple[float, float] | None
    ) -> bytes:
        with _gone_is_not_found(image.id):
            source = await self.blobs.get(image.storage_key)
        self.renders += 1

        def work() -> Rendered:
            with RENDER_SECONDS.labels(spec.format).time():
                return render(
                    source, spec, output_format=spec.format, focal=focal, limits=self.limits
                )

        rendered = await self.pool.run(work, slow=spec.format == "avif")
        await self.blobs.put(key, rendered.data)
        return rendered.data


@contextmanager
def _gone_is_not_found(image_id: uuid.UUID) -> Iterator[None]:
    """The row was seen but its bytes are gone: deleted meanwhile by another request."""
    try:
        yield
    except BlobMissing:
        raise NotFound(f"Image {image_id} not found", code="IMAGE_NOT_FOUND") from None


def _is_original(spec: Transform, source_format: str | None) -> bool:
    """No resize, no re-encode, no change of format: the stored bytes are the answer."""
    if spec.width is not None or spec.height is not None or spec.quality is not None:
        return False
    return spec.format is None or spec.format == source_format


@lru_cache(maxsize=4096)
def _digest(content_hash: str, focal: tuple[float, float] | None, canonical: str) -> str:
    focal_text = "-" if focal is None else f"{focal[0]:.4f},{focal[1]:.4f}"
    material = f"v1|{content_hash}|{focal_text}|{canonical}"
    return hashlib.sha256(material.encode()).hexdigest()[:32]
