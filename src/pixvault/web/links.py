"""Delivery URLs as the UI shows and hands them out: pixvault's own public URLs
(`/{org}/{project}/img/{id}?...`), in canonical form, signed when the project requires it.

Transforms are parsed with the one delivery grammar (`parse_transform`), so a URL the UI
builds is one the delivery accepts, and a bad value is refused here with the same message.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from pixvault.domain.errors import InvalidInput, PresetsOnly
from pixvault.domain.models import Image, Project
from pixvault.domain.policy import signature
from pixvault.domain.transform import Limits, Transform, parse_transform

THUMB = 240  # gallery cells, CSS pixels
PREVIEW = 960  # the image page's large preview
CROPS = (("1:1", 200, 200), ("16:9", 320, 180), ("4:5", 200, 250))
FITS = ("inside", "outside", "cover", "contain", "fill")
FORMATS = ("auto", "webp", "avif", "jpeg", "png", "gif")


@dataclass(frozen=True)
class Built:
    url: str
    url_2x: str | None
    width: int | None
    height: int | None


class Links:
    def __init__(self, project: Project, base: str, limits: Limits):
        self.project = project
        self.base = base.rstrip("/")
        self.limits = limits

    def path(self, image: Image) -> str:
        return f"/{self.project.org_slug}/{self.project.slug}/img/{image.id}"

    def original(self, image: Image, *, absolute: bool = True) -> str:
        return (self.base if absolute else "") + self.path(image)

    def transformed(
        self, image: Image, params: list[tuple[str, str]], *, absolute: bool = True
    ) -> str:
        """The URL of `params` applied to `image` (canonical, signed when required)."""
        spec = parse_transform(params, self.limits, ignore=frozenset())
        return self._url(image, spec, absolute=absolute)

    def _url(self, image: Image, spec: Transform, *, absolute: bool) -> str:
        canonical = spec.canonical()
        url = self.original(image, absolute=absolute)
        if not canonical:
            return url
        settings = self.project.settings
        if settings.presets_only:
            raise PresetsOnly(list(settings.presets))
        if settings.signature_required:
            canonical += "&s=" + signature(settings.signing_keys[0], self.path(image), canonical)
        return f"{url}?{canonical}"

    def renderable(self, image: Image) -> bool:
        return image.width is not None and image.height is not None

    def sized(
        self, image: Image, width: int, height: int, *, extra: tuple[tuple[str, str], ...] = ()
    ) -> tuple[str, str | None]:
        """(src, srcset) of a picture fitting `width`x`height` CSS pixels at DPR 1 and 2; the
        original (no srcset) when the project serves presets only or it is not an image."""
        if not self.renderable(image) or self.project.settings.presets_only:
            return self.original(image), None
        params = [("w", str(width)), ("h", str(height)), *extra]
        one = self.transformed(image, params)
        two = self.transformed(image, [*params, ("dpr", "2")])
        return one, f"{one} 1x, {two} 2x"

    def thumb(self, image: Image) -> tuple[str, str | None]:
        return self.sized(image, THUMB, THUMB, extra=(("format", "webp"),))

    def preview(self, image: Image) -> tuple[str, str | None]:
        return self.sized(image, PREVIEW, PREVIEW)

    def crops(self, image: Image) -> list[tuple[str, int, int, str | None]]:
        """(ratio, width, height, same-origin URL) of each crop preview around the focal point;
        no URL when the project cannot serve crops (presets only) or it is not an image."""
        if not self.renderable(image) or self.project.settings.presets_only:
            return [(ratio, w, h, None) for ratio, w, h in CROPS]
        return [
            (
                ratio,
                w,
                h,
                self.transformed(
                    image,
                    [("w", str(w)), ("h", str(h)), ("crop", "true"), ("dpr", "2")],
                    absolute=False,
                ),
            )
            for ratio, w, h in CROPS
        ]

    def build(self, image: Image, fields: dict[str, str]) -> Built:
        """The URL builder: Width, Height, Fit, Format, Quality (or a named preset)."""
        preset = fields.get("preset", "")
        if preset:
            if preset not in self.project.settings.presets:
                raise InvalidInput(f"Unknown preset {preset!r}", param="preset")
            url = f"{self.original(image)}?preset={preset}"
            return Built(url, None, None, None)
        params = []
        for name, key in (("w", "width"), ("h", "height"), ("fit", "fit"), ("q", "quality")):
            value = fields.get(key, "").strip()
            if value:
                params.append((name, value))
        fmt = fields.get("format", "").strip()
        if fmt and fmt != "original":
            params.append(("format", fmt))
        spec = parse_transform(params, self.limits, ignore=frozenset())
        url = self._url(image, spec, absolute=True)
        url_2x = None
        if spec.width is not None or spec.height is not None:
            url_2x = self.transformed(image, [*params, ("dpr", "2")])
        width, height = display_size(spec, image)
        return Built(url, url_2x, width, height)


def display_size(spec: Transform, image: Image) -> tuple[int | None, int | None]:
    """The CSS size the delivered picture will have at DPR 1 (for width/height attributes):
    fit within, cover or pad to the box, never enlarged except by fill and contain."""
    src_w, src_h = image.width, image.height
    if src_w is None or src_h is None:
        return None, None
    box_w, box_h = spec.width, spec.height
    if box_w is None and box_h is None:
        return src_w, src_h
    if spec.fit in ("fill", "contain") and box_w and box_h:
        return box_w, box_h
    if spec.crops and box_w and box_h:
        shrink = min(1.0, min(src_w / box_w, src_h / box_h))
        return max(1, round(box_w * shrink)), max(1, round(box_h * shrink))
    ratios = [b / s for b, s in ((box_w, src_w), (box_h, src_h)) if b is not None]
    scale = min(1.0, max(ratios) if spec.fit == "outside" else min(ratios))
    return max(1, round(src_w * scale)), max(1, round(src_h * scale))


def snippets(built: Built, alt: str) -> tuple[str, str]:
    """(Markdown, HTML) for a built URL; the HTML has a srcset for DPR 1 and 2."""
    markdown = f"![{alt.replace('[', '(').replace(']', ')')}]({built.url})"
    attrs = [f'src="{html.escape(built.url)}"']
    if built.url_2x:
        attrs.append(f'srcset="{html.escape(built.url)} 1x, {html.escape(built.url_2x)} 2x"')
    if built.width and built.height:
        attrs.append(f'width="{built.width}" height="{built.height}"')
    attrs.append(f'alt="{html.escape(alt)}" loading="lazy"')
    return markdown, f"<img {' '.join(attrs)}>"
