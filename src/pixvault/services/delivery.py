"""Public delivery: originals and on-the-fly derivatives behind every public URL.

One use case for every surface: `serve(locator, params, ...)` resolves the project and the
image a URL names, applies the project's presets and signing rules, negotiates the format,
answers conditional and range requests, and returns an `Answer`: the status, the headers and
a *lazy* body the surface opens only when it sends bytes. A 304 or a redirect never reads a
derivative's bytes. Derivatives are rendered once, stored in the blob store next to the
original (so every process shares them), and keyed by the content hash, the focal point when
the crop uses it, and the canonical transform, so equivalent URLs share one rendering.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from functools import lru_cache
from typing import Protocol
from urllib.parse import parse_qsl

from cachetools import LRUCache

from pixvault.domain.conditional import etag_matches, parse_range
from pixvault.domain.errors import (
    BadUrlToken,
    ImageNotFound,
    InvalidInput,
    InvalidSignature,
    NotFound,
    PixvaultError,
    PresetsOnly,
    ProjectNotFound,
    RangeNotSatisfiable,
    RenderRateLimited,
    RevokedUrl,
    VaultNotFound,
)
from pixvault.domain.ids import looks_like_uuid, parse_uuid
from pixvault.domain.locators import ByAlias, BySlinkId, ByVaultPath, Locator
from pixvault.domain.models import Image, Project
from pixvault.domain.policy import signature_matches
from pixvault.domain.signing import SIGNATURE_PARAMS, payloads, token_matches
from pixvault.domain.transform import (
    BLURHASH,
    FORMAT_MIME,
    MIME_FORMAT,
    PLACEHOLDER_FORMATS,
    Limits,
    Transform,
    cover_when_boxed,
    extension_format,
    negotiate_format,
    parse_transform,
    without_oversized_box,
)
from pixvault.imaging.pool import KillSwitch, RenderPool
from pixvault.imaging.render import Encoders, Rendered, render
from pixvault.metrics import DERIVATIVE_CACHE, RENDER_SECONDS
from pixvault.services.blobkeys import derivative_key
from pixvault.services.library import LibraryService
from pixvault.services.projects import ProjectService
from pixvault.services.quota import DerivativeQuota
from pixvault.services.ratelimit import WindowLimiter
from pixvault.services.revocations import RevocationService
from pixvault.services.views import ViewCounter
from pixvault.storage import BlobMissing, BlobStore

log = logging.getLogger(__name__)
IMMUTABLE = "public, max-age=31536000, immutable"
ACTIVE_TYPES = frozenset(
    {
        "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
        "text/javascript", "application/javascript", "application/x-shockwave-flash",
    }
)  # fmt: skip
_CACHE_HIT, _CACHE_MISS = DERIVATIVE_CACHE.labels("hit"), DERIVATIVE_CACHE.labels("miss")
_CONTROL = frozenset({"s", "preset"})
_TEXT = "text/plain; charset=utf-8"


class Body(Protocol):
    """Bytes the core produces only when the surface sends them."""

    async def read(self) -> bytes: ...


@dataclass(frozen=True)
class Answer:
    """A delivery outcome as data: 200/206 with a body, 304, 302 with `Location`, or
    404/416 with the `error` the surface renders in its own envelope (with these headers)."""

    status: int
    headers: dict[str, str]
    media_type: str | None = None
    body: Body | None = None
    error: PixvaultError | None = None


@dataclass(frozen=True)
class ViewerRequest:
    """What the visitor's request says besides the URL: the signed path and its headers."""

    path: str
    accept: str | None = None
    raw_path: str | None = None  # as sent, still percent-encoded (what vault tokens sign)
    if_none_match: str | None = None
    range: str | None = None
    if_range: str | None = None
    head: bool = False
    client: str | None = None  # the visitor's address, for the cold-render allowance


@dataclass(frozen=True)
class _Stored:
    """An original, or a byte range of it, read from the store when sent."""

    blobs: BlobStore
    image: Image
    span: tuple[int, int] | None = None

    async def read(self) -> bytes:
        with _gone_is_not_found(self.image.id):
            if self.span is None:
                return await self.blobs.get(self.image.storage_key)
            return await self.blobs.get_range(self.image.storage_key, *self.span)


@dataclass(frozen=True)
class _Text:
    data: bytes

    async def read(self) -> bytes:
        return self.data


@dataclass(frozen=True)
class _Derived:
    """A derivative: from memory, else the store, else rendered now (once per process)."""

    service: DeliveryService
    key: str
    image: Image
    target: Transform
    focal: tuple[float, float] | None
    client: str | None = None
    still: bool = False  # an animation in a still format: its first frame, not a refusal
    quota: int = 0  # the project's derivative quota in bytes (0: none)

    async def read(self) -> bytes:
        return await self.service._derivative(self)

    async def store(self) -> None:
        """Make sure the store holds it (for redirects), without reading it back."""
        await self.service._ensure_stored(self)


@dataclass(frozen=True)
class _Representation:
    """What one URL answers with, known before any byte is read."""

    image: Image
    mime: str
    etag: str
    last_modified: datetime
    cache_control: str
    vary_accept: bool
    key: str
    derived: _Derived | None


class DeliveryService:
    def __init__(
        self,
        blobs: BlobStore,
        pool: RenderPool,
        projects: ProjectService,
        library: LibraryService,
        views: ViewCounter,
        revocations: RevocationService,
        *,
        limits: Limits,
        mutable_max_age: int,
        auto_format_default: bool,
        avif_default: bool = True,
        encoders: Encoders = Encoders(),
        memory_bytes: int = 0,
        redirect_expires: int | None = None,
        cold_renders: WindowLimiter | None = None,
        quota: DerivativeQuota | None = None,
        derivative_quota: int = 0,
    ):
        self.blobs = blobs
        self.projects = projects
        self.library = library
        self.views = views
        self.revocations = revocations
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
        self.avif_default = avif_default
        self.encoders = encoders
        self.redirect_expires = redirect_expires
        self.cold_renders = cold_renders
        self.quota = quota
        self.derivative_quota = derivative_quota
        self._inflight: dict[str, asyncio.Task[bytes]] = {}
        self._warming: set[asyncio.Task[None]] = set()
        self.hits = 0
        self.misses = 0
        self.renders = 0

    async def serve(
        self, locator: Locator, params: list[tuple[str, str]], viewer: ViewerRequest
    ) -> Answer:
        """The answer for a public URL. Bad parameters, refused signatures and a full render
        queue raise; a missing project or image and an unsatisfiable range are answers."""
        if isinstance(locator, ByVaultPath):
            return await self._serve_vault(locator, params, viewer)
        project = await self.projects.find_for_delivery(locator.org, locator.project)
        if project is None:
            return Answer(404, {}, error=ProjectNotFound(f"{locator.org}/{locator.project}"))
        if isinstance(locator, BySlinkId):
            return await self._serve_slink(project, locator, params, viewer)
        spec = self.transform_for(project, viewer.path, params)
        mutable = isinstance(locator, ByAlias)
        ref = locator.alias if isinstance(locator, ByAlias) else locator.image_id
        if not mutable:
            parse_uuid(ref, param="imageId")
        try:
            image = await self.library.find_for_delivery(project, ref)
        except NotFound as exc:
            return Answer(404, {}, error=exc)
        return await self._answer(project, image, spec, viewer, mutable=mutable)

    async def _serve_slink(
        self,
        project: Project,
        locator: BySlinkId,
        params: list[tuple[str, str]],
        viewer: ViewerRequest,
    ) -> Answer:
        """Slink's rules: the extension is the format (an animation asked for as a still
        format gives its first frame), a box no smaller than the image is its own size, and
        every delivery counts a view."""
        fmt = extension_format(locator.ext)
        if not looks_like_uuid(locator.image_id):
            return Answer(404, {}, error=ImageNotFound(locator.image_id))
        try:
            image = await self.library.find_for_delivery(project, locator.image_id)
        except NotFound as exc:
            return Answer(404, {}, error=exc)
        sized = without_oversized_box(params, image.width, image.height, self.limits)
        if not any(k in ("format", "f") and v.lower() in PLACEHOLDER_FORMATS for k, v in params):
            sized = [*sized, ("format", fmt)]
        spec = self.transform_for(project, viewer.path, sized)
        answer = await self._answer(project, image, spec, viewer, mutable=False, still=True)
        self.views.add(image.id)
        return answer

    async def _serve_vault(
        self, locator: ByVaultPath, params: list[tuple[str, str]], viewer: ViewerRequest
    ) -> Answer:
        """A vault path: signed (`expires` + `token`) or not, never for a revoked path or
        token; files that are not images are served as stored, never rendered."""
        project = await self.projects.find_vault(locator.vault_id)
        if project is None:
            return Answer(404, {}, error=VaultNotFound(locator.vault_id))
        given = dict(params)
        token, expires = given.get("token"), given.get("expires")
        signed = token is not None or expires is not None
        if signed:
            self._check_token(project, viewer.raw_path or viewer.path, params, token, expires)
        path = "/".join((*locator.folders, locator.filename))
        if await self.revocations.revoked(project.id, path=path, token=token):
            raise RevokedUrl()
        rest = [(k, v) for k, v in params if k not in SIGNATURE_PARAMS]
        try:
            image = await self.library.find_path_for_delivery(
                project, locator.folders, locator.filename, path
            )
        except NotFound as exc:
            return Answer(404, {}, error=exc)
        if image.width is None and rest:
            raise InvalidInput(
                f"{image.mime_type} is not an image: transform parameters ({rest[0][0]}) "
                "work on images only",
                param=rest[0][0],
            )
        spec = self.transform_for(project, viewer.path, cover_when_boxed(rest), signed=signed)
        return await self._answer(project, image, spec, viewer, mutable=True, private=signed)

    def _check_token(
        self,
        project: Project,
        raw_path: str,
        params: list[tuple[str, str]],
        token: str | None,
        expires: str | None,
    ) -> None:
        if token is None or expires is None or not (expires.isascii() and expires.isdigit()):
            raise BadUrlToken("A signed URL needs both expires (unix seconds) and token")
        secrets = project.settings.vault_signing_keys
        if not secrets or not token_matches(secrets, payloads(raw_path, params, expires), token):
            raise BadUrlToken("The URL's token does not match its path and parameters")
        if int(expires) <= time.time():
            raise BadUrlToken("This signed URL has expired")

    def warm(self, project: Project, image: Image) -> None:
        """Render the project's eager presets of a new image in the background."""
        for name in project.settings.eager_presets:
            query = parse_qsl(project.settings.presets[name], keep_blank_values=True)
            task = asyncio.get_running_loop().create_task(self._warm_one(project, image, query))
            self._warming.add(task)
            task.add_done_callback(self._warming.discard)

    async def _warm_one(self, project: Project, image: Image, query: list[tuple[str, str]]) -> None:
        try:
            spec = parse_transform(query, self.limits, ignore=frozenset())
            found = self._representation(project, image, spec, None, mutable=False)
            if found.derived is not None:
                await found.derived.store()
        except PixvaultError as exc:
            log.info("eager preset of %s not rendered: %s", image.id, exc.message)

    def transform_for(
        self, project: Project, path: str, params: list[tuple[str, str]], *, signed: bool = False
    ) -> Transform:
        """Apply presets, presets-only mode and signing, then parse the one grammar. A
        `signed` URL (a verified vault token) needs no `s` signature, nor does a placeholder
        (`format=blurhash|lqip` alone): like a preset, it is one fixed variant per image."""
        policy = project.settings
        given = dict(params)
        preset_name = given.get("preset")
        extra = [(k, v) for k, v in params if k not in _CONTROL]
        if preset_name is None and _placeholder_only(extra):
            return _parsed(tuple(extra), self.limits)
        if policy.presets_only and extra:
            raise PresetsOnly(list(policy.presets))
        merged = list(extra)
        if preset_name is not None:
            if preset_name not in policy.presets:
                raise InvalidInput(
                    f"Unknown preset {preset_name!r}; available: "
                    f"{', '.join(sorted(policy.presets)) or 'none'}",
                    param="preset",
                )
            merged = parse_qsl(policy.presets[preset_name], keep_blank_values=True) + merged
        spec = _parsed(tuple(merged), self.limits)
        if policy.signature_required and extra and not signed:
            given_sig = given.get("s")
            if not given_sig or not signature_matches(
                policy.signing_keys, path, spec.canonical(), given_sig
            ):
                raise InvalidSignature()
        return spec

    async def _answer(
        self,
        project: Project,
        image: Image,
        spec: Transform,
        viewer: ViewerRequest,
        *,
        mutable: bool,
        private: bool = False,
        still: bool = False,
    ) -> Answer:
        if spec.format == BLURHASH:
            return self._blurhash(image, viewer, mutable=mutable, private=private)
        found = self._representation(
            project, image, spec, viewer.accept, mutable=mutable, client=viewer.client, still=still
        )
        if found.derived is not None and self.quota is not None:
            self.quota.touched(found.key)
        headers = _headers(found)
        if private:
            headers["Cache-Control"] = "private, no-store"
        if etag_matches(viewer.if_none_match, found.etag):
            return Answer(304, headers)
        if self.redirect_expires is not None:
            redirected = await self._redirect(found)
            if redirected is not None:
                return redirected
        if found.derived is not None:
            if viewer.head:
                headers["Content-Length"] = str(len(await found.derived.read()))
                return Answer(200, headers, found.mime)
            return Answer(200, headers, found.mime, found.derived)
        span = None
        if viewer.range and (viewer.if_range is None or viewer.if_range == found.etag):
            try:
                span = parse_range(viewer.range, image.size)
            except RangeNotSatisfiable as exc:
                headers["Content-Range"] = f"bytes */{image.size}"
                return Answer(416, headers, error=exc)
        if viewer.head:
            headers["Content-Length"] = str(image.size)
            return Answer(200, headers, found.mime)
        if span is None:
            return Answer(200, headers, found.mime, _Stored(self.blobs, image))
        headers["Content-Range"] = f"bytes {span[0]}-{span[1] - 1}/{image.size}"
        return Answer(206, headers, found.mime, _Stored(self.blobs, image, span))

    def _blurhash(
        self, image: Image, viewer: ViewerRequest, *, mutable: bool, private: bool
    ) -> Answer:
        """The stored BlurHash as text: no original is read, no render is made."""
        if image.blurhash is None:
            raise InvalidInput(
                "This file has no placeholder (it is not an image, or was uploaded before "
                "placeholders were made); ask for format=lqip instead",
                param="format",
            )
        headers = {
            "ETag": f'"{image.sha256[:32]}-blurhash"',
            "Cache-Control": (
                "private, no-store" if private else self._short() if mutable else IMMUTABLE
            ),
            "Last-Modified": _http_date(image.updated_at),
            "X-Image-Id": str(image.id),
            "X-Content-Type-Options": "nosniff",
        }
        if etag_matches(viewer.if_none_match, headers["ETag"]):
            return Answer(304, headers)
        data = image.blurhash.encode()
        if viewer.head:
            headers["Content-Length"] = str(len(data))
            return Answer(200, headers, _TEXT)
        return Answer(200, headers, _TEXT, _Text(data))

    def _representation(
        self,
        project: Project,
        image: Image,
        spec: Transform,
        accept: str | None,
        *,
        mutable: bool,
        client: str | None = None,
        still: bool = False,
    ) -> _Representation:
        """`mutable` says the URL may name other bytes later (an alias), so it must not be
        cached as immutable."""
        policy = project.settings
        fmt, varies = negotiate_format(
            spec,
            accept,
            image.mime_type,
            avif_enabled=policy.avif_or(self.avif_default),
            auto_by_default=policy.auto_format_or(self.auto_format_default),
        )
        concrete = spec.with_format(fmt) if spec.format is not None or varies else spec
        source_format = MIME_FORMAT.get(image.mime_type)
        if _is_original(concrete, source_format):
            return _Representation(
                image=image,
                mime=image.mime_type,
                etag=f'"{image.sha256}"',
                last_modified=image.created_at,
                cache_control=self._short() if mutable else IMMUTABLE,
                vary_accept=varies,
                key=image.storage_key,
                derived=None,
            )
        focal = image.focal_point
        uses_focal = spec.depends_on_focal(focal is not None)
        focal_xy = (focal.x, focal.y) if uses_focal and focal else None
        target = concrete if concrete.format else concrete.with_format(source_format or "jpeg")
        canonical = target.canonical() + ("&still" if still else "")
        digest = _digest(image.sha256, focal_xy, canonical)
        key = derivative_key(image.project_id, image.id, digest)
        immutable = not mutable and not uses_focal
        return _Representation(
            image=image,
            mime=FORMAT_MIME[target.format],
            etag=f'"{digest}"',
            last_modified=image.updated_at,
            cache_control=IMMUTABLE if immutable else self._short(),
            vary_accept=varies,
            key=key,
            derived=_Derived(
                self, key, image, target, focal_xy, client, still, self._quota_of(project)
            ),
        )

    def _quota_of(self, project: Project) -> int:
        own = project.settings.derivative_quota_bytes
        return self.derivative_quota if own is None else own

    def _short(self) -> str:
        return f"public, max-age={self.mutable_max_age}"

    async def _redirect(self, found: _Representation) -> Answer | None:
        """302 to a presigned object-store URL, when the store can sign one (S3 only: local
        stores cannot, and keep proxying)."""
        assert self.redirect_expires is not None
        if not self.blobs.can_presign:
            return None
        if found.derived is not None:
            await found.derived.store()
        url = await self.blobs.presign_get(found.key, self.redirect_expires)
        if url is None:
            return None
        headers = {"Location": url, "X-Image-Id": str(found.image.id), "ETag": found.etag}
        immutable = found.cache_control == IMMUTABLE
        headers["Cache-Control"] = (
            f"public, max-age={self.redirect_expires // 2}" if immutable else found.cache_control
        )
        if found.vary_accept:
            headers["Vary"] = "Accept"
        return Answer(302, headers)

    # -- derivatives -----------------------------------------------------------------------

    async def _derivative(self, wanted: _Derived) -> bytes:
        key = wanted.key
        data = None if self._memory is None else self._memory.get(key)
        hit = data is not None
        if data is None:
            try:
                data = await self.blobs.get(key)
                hit = True
            except BlobMissing:
                await self._allow_render(wanted)
                data = await self._once(key, lambda: self._render_and_store(wanted))
            self._remember(key, data)
        if hit:
            self.hits += 1
        else:
            self.misses += 1
        (_CACHE_HIT if hit else _CACHE_MISS).inc()
        return data

    async def _allow_render(self, wanted: _Derived) -> None:
        """Count a new rendering against its client's allowance (joining one in flight, or
        an eager preset, is free)."""
        if self.cold_renders is None or wanted.client is None or wanted.key in self._inflight:
            return
        wait = await self.cold_renders.retry_after(wanted.client)
        if wait is not None:
            raise RenderRateLimited(wait)
        await self.cold_renders.hit(wanted.client)

    async def _ensure_stored(self, wanted: _Derived) -> None:
        if not await self.blobs.exists(wanted.key):
            await self._allow_render(wanted)
            self.misses += 1
            _CACHE_MISS.inc()
            await self._once(wanted.key, lambda: self._render_and_store(wanted))

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

    async def _render_and_store(self, wanted: _Derived) -> bytes:
        image, spec, focal = wanted.image, wanted.target, wanted.focal
        with _gone_is_not_found(image.id):
            source = await self.blobs.get(image.storage_key)
        self.renders += 1

        def work(kill: KillSwitch) -> Rendered:
            with RENDER_SECONDS.labels(spec.format).time():
                return render(
                    source,
                    spec,
                    output_format=spec.format,
                    focal=focal,
                    limits=self.limits,
                    encoders=self.encoders,
                    still=wanted.still,
                    kill=kill,
                )

        rendered = await self.pool.run(work, slow=spec.format == "avif")
        await self.blobs.put(wanted.key, rendered.data, content_type=rendered.mime)
        if self.quota is not None:
            try:
                await self.quota.recorded(
                    image.project_id, image.id, wanted.key, len(rendered.data), wanted.quota
                )
            except Exception:  # the derivative is good; it is only not counted (yet)
                log.warning(
                    "derivative %s not counted against the quota", wanted.key, exc_info=True
                )
        return rendered.data


def _headers(found: _Representation) -> dict[str, str]:
    headers = {
        "ETag": found.etag,
        "Cache-Control": found.cache_control,
        "Last-Modified": _http_date(found.last_modified),
        "X-Image-Id": str(found.image.id),
        "X-Content-Type-Options": "nosniff",
    }
    if found.vary_accept:
        headers["Vary"] = "Accept"
    if found.derived is None:
        headers["Accept-Ranges"] = "bytes"
        if found.image.width is None:
            # Stored files are never run from pixvault's origin: a sandbox for all, and
            # active content (HTML, SVG, scripts) only as a download.
            headers["Content-Security-Policy"] = "sandbox"
            if found.mime in ACTIVE_TYPES:
                headers["Content-Disposition"] = "attachment"
    return headers


@lru_cache(maxsize=4096)
def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


@contextmanager
def _gone_is_not_found(image_id: uuid.UUID) -> Iterator[None]:
    """The row was seen but its bytes are gone: deleted meanwhile by another request."""
    try:
        yield
    except BlobMissing:
        raise ImageNotFound(image_id) from None


def _placeholder_only(params: list[tuple[str, str]]) -> bool:
    if len(params) != 1:
        return False
    name, value = params[0]
    return name in ("format", "f") and value.lower() in PLACEHOLDER_FORMATS


def _is_original(spec: Transform, source_format: str | None) -> bool:
    """No resize, no re-encode, no change of format: the stored bytes are the answer."""
    if spec.width is not None or spec.height is not None or spec.quality is not None:
        return False
    if spec.has_effects:
        return False
    return spec.format is None or spec.format == source_format


@lru_cache(maxsize=4096)
def _parsed(params: tuple[tuple[str, str], ...], limits: Limits) -> Transform:
    """`parse_transform`, memoised: hot URLs repeat the same queries, a Transform is immutable,
    and a refused query raises (so it is never memoised)."""
    return parse_transform(params, limits, ignore=frozenset())


@lru_cache(maxsize=4096)
def _digest(content_hash: str, focal: tuple[float, float] | None, canonical: str) -> str:
    focal_text = "-" if focal is None else f"{focal[0]:.4f},{focal[1]:.4f}"
    material = f"v1|{content_hash}|{focal_text}|{canonical}"
    return hashlib.sha256(material.encode()).hexdigest()[:32]
