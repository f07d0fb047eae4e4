"""Render a derivative from original bytes and a parsed Transform (blocking; run in a thread).

Sizing, with the box = (w*dpr, h*dpr) and the source size taken after EXIF orientation:

- inside (default): fit within the box, keep the aspect ratio.
- outside: cover at least the box, keep the aspect ratio (nothing is cropped).
- cover: fill the box, then crop the overflow around the anchor: the focal point (also the
  default when the image has one), libvips attention/entropy for smart/entropy, a compass
  point, or the centre. If the source is smaller than the box, the largest window with the
  box's aspect ratio is cut from the unscaled source instead of enlarging it.
- contain: fit within the box, then pad to exactly the box (transparent when the output format
  has alpha, white for jpeg), image centred.
- fill: stretch to exactly the box.

Nothing is enlarged beyond the source except by fill (stretch) and contain (padding only).
Limits: the source pixel count (all frames for animations) is read from the header before any
decoding; the output must respect `max_side` and `max_area` (outside and single-dimension fits
can exceed the box), and the memory the render is estimated to need (`imaging.budget`: source,
decoded frames, encoder) must stay within `max_render_bytes`. Output is sRGB with every
metadata block (EXIF, GPS, XMP, IPTC, ICC) removed. Animated GIF/WebP keep their animation
when the output is gif or webp; any other output format raises UnsupportedType rather than
dropping frames. A `KillSwitch` stops the encode when the render pool gives up on it.

imgbt's operations (grammar and sigma mappings in `pixvault.domain.transform`), in this order:

1. decode with shrink-on-load and EXIF orientation, then `rotate` (clockwise). Sizing is planned
   on the rotated axes and the load size is swapped for 90/270, so shrink-on-load still works;
   the focal point is rotated with the image. crop=auto uses the focal point when one is given,
   else attention.
2. resize/crop, conversion to 8-bit sRGB (as before; JPEG flattens transparency onto `bg`, white
   by default), then contain padding (`bg` when given, else transparent/white as before).
3. flip, grayscale (sRGB -> B-W -> sRGB, so the output stays RGB and a border keeps its
   colour), blur (premultiplied when there is alpha), sharpen, radius (an antialiased mask on
   the four corners: alpha for png/webp/avif/gif, blended onto `bg` for jpeg), border (a solid
   frame around the image, opaque, after the corners).
4. encode without metadata.

Every operation works on each frame of an animation separately (rotate, vertical flip, blur,
radius and border would otherwise mix frames of the vertical strip), so none is refused for
animated sources. The output limits include the border. Transforms without these operations take
exactly the previous path (no extra copies or operations).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import pyvips

from pixvault.domain.errors import OutputTooLarge, RenderTooLarge, SourceTooLarge, UnsupportedType
from pixvault.domain.transform import FORMAT_MIME, Limits, Transform, ensure_output_format
from pixvault.imaging.budget import render_bytes
from pixvault.imaging.pool import KillSwitch

DEFAULT_QUALITY = 80
# AVIF's quality scale runs lower: libvips' own default, 50, looks like JPEG at 80 and makes
# files about 40% smaller than WebP at 80 (bench/RESULTS.md).
FORMAT_QUALITY = {"avif": 50}
ANIMATED_FORMATS = ("gif", "webp")
_ANIMATED_LOADERS = ("gifload_buffer", "webpload_buffer")
_ALPHA_FORMATS = ("png", "webp", "avif", "gif")
_SWAPPING_ORIENTATIONS = (5, 6, 7, 8)
_INTERESTING = {"smart": "attention", "entropy": "entropy"}
_ROTATE_ANGLES = {90: "d90", 180: "d180", 270: "d270"}
WHITE = (255, 255, 255)
# Encoder settings besides quality. JPEG gets optimised Huffman tables, as imgproxy and sharp
# do: 1-2% fewer bytes on every later hit, for about 3 ms more CPU once at 800x600.
JPEG_OPTIONS = {"optimize_coding": True, "keep": "none"}
WEBP_OPTIONS = {"effort": 4, "keep": "none"}


@dataclass(frozen=True)
class Encoders:
    """Encoder effort per format (0 fastest). AVIF at effort 0 costs about what WebP at 4
    does and still makes smaller files; higher AVIF efforts cost many times more CPU (see
    bench/RESULTS.md), so the default is 0."""

    webp_effort: int = WEBP_OPTIONS["effort"]  # type: ignore[assignment]
    avif_effort: int = 0


@dataclass(frozen=True)
class Rendered:
    data: bytes
    mime: str
    width: int
    height: int


@dataclass(frozen=True)
class SourceInfo:
    width: int
    height: int
    pages: int


@dataclass(frozen=True)
class _Plan:
    resize: tuple[int, int]
    window: tuple[int, int] | None = None
    pad: tuple[int, int] | None = None


def render(
    source: bytes,
    spec: Transform,
    *,
    output_format: str,
    focal: tuple[float, float] | None,
    limits: Limits = Limits(),
    encoders: Encoders = Encoders(),
    still: bool = False,
    kill: KillSwitch | None = None,
) -> Rendered:
    """Decode (shrinking on load), resize, crop/pad, convert to sRGB and encode without
    metadata. An animation asked for in a format that cannot animate is refused, unless
    `still` asks for its first frame."""
    fmt = ensure_output_format(output_format)
    info = probe(source, limits)
    if info.pages > 1 and fmt not in ANIMATED_FORMATS and still:
        info = SourceInfo(info.width, info.height, 1)
    if info.pages > 1 and fmt not in ANIMATED_FORMATS:
        raise UnsupportedType(
            f"the source is animated ({info.pages} frames) and {fmt} cannot animate; "
            f"request format={' or format='.join(ANIMATED_FORMATS)}"
        )
    rotate = spec.rotate
    if rotate is not None:
        info = _rotated_info(info, rotate)
        focal = _rotated_focal(focal, rotate)
    plan = _plan(spec, info)
    _check_output(plan, limits, spec.border_size)
    animated = info.pages > 1
    anchor = spec.anchor
    if anchor == "auto":
        anchor = "focal" if focal is not None else "smart"
    interesting = _INTERESTING.get(anchor or "") if plan.window else None
    _check_memory(len(source), plan, info, fmt, limits, spec.border_size, bool(interesting))
    if interesting and not animated:
        image = _load(source, _loaded_size(plan.window, rotate), crop=interesting)
        if rotate is not None:
            image = _rotate(image, rotate)
    else:
        image = _load(source, _loaded_size(plan.resize, rotate), animated=animated)
        if rotate is not None:
            image = _rotate(image, rotate)
        if plan.window is None and animated:
            # Frame by frame, the encoder pulls one frame at a time through the loader; on
            # the whole strip libvips' WebP loader kept every frame decoded at full size
            # (1000 frames of 316x316 at w=150: 433 MB peak, this way 82 MB).
            image = _per_frame(image, lambda frame: frame)
        if plan.window is not None:

            def first_frame() -> pyvips.Image:
                frame = _load(source, _loaded_size(plan.resize, rotate))
                return frame if rotate is None else _rotate(frame, rotate)

            image = _crop(image, plan.window, anchor, focal, first_frame)
    background = WHITE if spec.bg is None else _rgb(spec.bg)
    image = _to_srgb(image, fmt, background)
    if plan.pad is not None:
        padding = None if spec.bg is None else background
        image = _per_frame(image, lambda frame: _pad(frame, plan.pad, fmt, padding))
    if spec.has_effects:
        image = _effects(image, spec, fmt, background)
    if kill is not None:
        image = kill.watch(image)
    data = _encode(image, fmt, spec.quality or FORMAT_QUALITY.get(fmt, DEFAULT_QUALITY), encoders)
    return Rendered(data, FORMAT_MIME[fmt], image.width, _page_height(image))


def probe(source: bytes, limits: Limits = Limits()) -> SourceInfo:
    """Read the header only and refuse decompression bombs before any pixel is decoded."""
    try:
        header = pyvips.Image.new_from_buffer(source, "", access="sequential")
    except pyvips.Error as exc:
        raise UnsupportedType("the source image cannot be decoded") from exc
    width, height = header.width, header.height
    fields = header.get_fields()
    loader = header.get("vips-loader") if "vips-loader" in fields else ""
    pages = header.get("n-pages") if "n-pages" in fields and loader in _ANIMATED_LOADERS else 1
    if width * height * pages > limits.max_source_pixels:
        raise SourceTooLarge(width, height, pages, limits.max_source_pixels)
    orientation = header.get("orientation") if "orientation" in fields else 1
    if orientation in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    return SourceInfo(width, height, pages)


def _plan(spec: Transform, src: SourceInfo) -> _Plan:
    box_w, box_h = spec.target_size
    if box_w is None and box_h is None:
        return _Plan((src.width, src.height))
    if spec.fit == "fill":
        return _Plan((box_w, box_h))
    if spec.crops:
        return _cover_plan(src, box_w, box_h)
    ratios = [b / s for b, s in ((box_w, src.width), (box_h, src.height)) if b is not None]
    scale = min(1.0, max(ratios) if spec.fit == "outside" else min(ratios))
    resize = (_at_least_one(src.width * scale), _at_least_one(src.height * scale))
    return _Plan(resize, pad=(box_w, box_h) if spec.fit == "contain" else None)


def _cover_plan(src: SourceInfo, box_w: int, box_h: int) -> _Plan:
    scale = max(box_w / src.width, box_h / src.height)
    if scale <= 1:
        resize = (
            max(box_w, round(src.width * scale)),
            max(box_h, round(src.height * scale)),
        )
        return _Plan(resize, window=(box_w, box_h))
    shrink = min(src.width / box_w, src.height / box_h)
    window = (
        min(src.width, _at_least_one(box_w * shrink)),
        min(src.height, _at_least_one(box_h * shrink)),
    )
    return _Plan((src.width, src.height), window=window)


def _at_least_one(value: float) -> int:
    return max(1, round(value))


def _check_output(plan: _Plan, limits: Limits, border: int = 0) -> None:
    width, height = plan.pad or plan.window or plan.resize
    width, height = width + 2 * border, height + 2 * border
    if max(width, height) > limits.max_side or width * height > limits.max_area:
        raise OutputTooLarge(width, height, limits.max_side, limits.max_area)


def _check_memory(
    source_size: int,
    plan: _Plan,
    info: SourceInfo,
    fmt: str,
    limits: Limits,
    border: int,
    smart: bool,
) -> None:
    width, height = plan.pad or plan.window or plan.resize
    output = (width + 2 * border, height + 2 * border)
    needed = render_bytes(
        source_size=source_size,
        decoded=plan.resize,
        output=output,
        pages=info.pages,
        fmt=fmt,
        smart=smart,
    )
    if needed > limits.max_render_bytes:
        frames = f" x {info.pages} frames" if info.pages > 1 else ""
        hint = "request a smaller w or h"
        if fmt in ("webp", "avif") and info.pages == 1:
            hint += " or format=jpeg, which needs less"
        what = f"a {fmt} of {output[0]}x{output[1]}{frames}"
        raise RenderTooLarge(what, needed, limits.max_render_bytes, hint)


def _load(
    source: bytes, size: tuple[int, int], *, animated: bool = False, crop: str | None = None
) -> pyvips.Image:
    """thumbnail shrinks on load and applies EXIF orientation; n=-1 keeps every frame.

    With `crop` (attention/entropy) libvips covers `size` and picks the window itself.
    """
    options = {"crop": crop} if crop else {"size": "force"}
    try:
        return pyvips.Image.thumbnail_buffer(
            source,
            size[0],
            height=size[1],
            option_string="n=-1" if animated else "",
            **options,
        )
    except pyvips.Error as exc:
        raise UnsupportedType("the source image cannot be decoded") from exc


def _crop(
    image: pyvips.Image,
    window: tuple[int, int],
    anchor: str | None,
    focal: tuple[float, float] | None,
    first_frame: Callable[[], pyvips.Image],
) -> pyvips.Image:
    """Cut the same window from every frame; smart/entropy look at the first frame only,
    decoded on its own (the frames are read once, in sequence, by the encoder)."""
    width, height = window
    frame_h = _page_height(image)
    interesting = _INTERESTING.get(anchor or "")
    if interesting:
        picked = first_frame().smartcrop(width, height, interesting=interesting)
        left, top = -picked.xoffset, -picked.yoffset
    else:
        left, top = _window_origin((image.width, frame_h), window, anchor, focal)
    return _per_frame(image, lambda frame: frame.crop(left, top, width, height))


def _window_origin(
    size: tuple[int, int],
    window: tuple[int, int],
    anchor: str | None,
    focal: tuple[float, float] | None,
) -> tuple[int, int]:
    """Top-left corner of the crop window for focal, compass and centre anchors."""
    free_x, free_y = size[0] - window[0], size[1] - window[1]
    if anchor in (None, "focal") and focal is not None:
        fx, fy = focal
        return (
            _clamp(round(fx * size[0] - window[0] / 2), free_x),
            _clamp(round(fy * size[1] - window[1] / 2), free_y),
        )
    compass = anchor if anchor not in (None, "focal", "center") else ""
    x = 0 if "w" in compass else free_x if "e" in compass else free_x // 2
    y = 0 if "n" in compass else free_y if "s" in compass else free_y // 2
    return x, y


def _clamp(value: int, high: int) -> int:
    return min(max(value, 0), high)


def _to_srgb(
    image: pyvips.Image, fmt: str, background: tuple[int, int, int] = WHITE
) -> pyvips.Image:
    """Convert through the embedded profile (if any) to 8-bit sRGB; flatten alpha for jpeg."""
    try:
        if "icc-profile-data" in image.get_fields():
            image = image.icc_transform("srgb", embedded=True)
        if image.interpretation != "srgb":
            image = image.colourspace("srgb")
        if image.format != "uchar":
            image = image.cast("uchar")
    except pyvips.Error as exc:
        raise UnsupportedType("the source colour space cannot be converted to sRGB") from exc
    if fmt == "jpeg" and image.hasalpha():
        image = image.flatten(background=list(background))
    return image


def _pad(
    frame: pyvips.Image,
    box: tuple[int, int],
    fmt: str,
    colour: tuple[int, int, int] | None = None,
) -> pyvips.Image:
    """Centre the frame in `box`: an opaque `colour` when given, else transparent (white for
    formats without alpha)."""
    if colour is not None:
        background = [*colour, 255] if frame.hasalpha() else list(colour)
    elif fmt in _ALPHA_FORMATS:
        if not frame.hasalpha():
            frame = frame.bandjoin(255)
        background = [0, 0, 0, 0]
    else:
        background = [255, 255, 255]
    return frame.gravity("centre", box[0], box[1], extend="background", background=background)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = int(hex_colour, 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def _rotated_info(info: SourceInfo, rotate: int) -> SourceInfo:
    if rotate in (90, 270):
        return replace(info, width=info.height, height=info.width)
    return info


def _rotated_focal(focal: tuple[float, float] | None, rotate: int) -> tuple[float, float] | None:
    """Where the focal point (fractions of the width and height) lands after a clockwise turn."""
    if focal is None:
        return None
    fx, fy = focal
    if rotate == 90:
        return 1 - fy, fx
    if rotate == 180:
        return 1 - fx, 1 - fy
    if rotate == 270:
        return fy, 1 - fx
    return focal


def _loaded_size(size: tuple[int, int], rotate: int | None) -> tuple[int, int]:
    """A size planned on the rotated axes, as the loader (before rotating) must produce it."""
    return (size[1], size[0]) if rotate in (90, 270) else size


def _rotate(image: pyvips.Image, rotate: int) -> pyvips.Image:
    angle = _ROTATE_ANGLES[rotate]
    return _per_frame(image, lambda frame: frame.rot(angle))


def _effects(
    image: pyvips.Image, spec: Transform, fmt: str, background: tuple[int, int, int]
) -> pyvips.Image:
    """flip, grayscale, blur, sharpen, radius, border on 8-bit sRGB, frame by frame."""
    if spec.flip is not None and "h" in spec.flip:
        image = image.fliphor()  # the frames stay in place in the strip
    steps: list[Callable[[pyvips.Image], pyvips.Image]] = []
    if spec.flip is not None and "v" in spec.flip:
        steps.append(lambda frame: frame.flipver())
    if spec.grayscale:
        steps.append(_grayscale)
    if spec.blur is not None:
        sigma = blur_sigma(spec.blur)
        steps.append(lambda frame: _blur(frame, sigma))
    if spec.sharpen is not None:
        sigma = sharpen_sigma(spec.sharpen)
        steps.append(lambda frame: frame.sharpen(sigma=sigma))
    radius = spec.radius_size
    if radius is not None:
        alpha = fmt in _ALPHA_FORMATS
        steps.append(lambda frame: _round_corners(frame, radius, alpha, background))
    if spec.border is not None:
        width, colour = spec.border_size, _rgb(spec.border[1])
        steps.append(lambda frame: _border(frame, width, colour))
    if not steps:
        return image

    def apply(frame: pyvips.Image) -> pyvips.Image:
        for step in steps:
            frame = step(frame)
        return frame

    return _per_frame(image, apply)


def blur_sigma(blur: int) -> float:
    """Gaussian sigma for `blur` 1-100: 0.7 to 20.5 pixels."""
    return 0.5 + blur / 5


def sharpen_sigma(sharpen: int) -> float:
    """libvips sharpen sigma for `sharpen` 1-100: 0.55 to 5.5 pixels."""
    return 0.5 + sharpen / 20


def _grayscale(frame: pyvips.Image) -> pyvips.Image:
    return frame.colourspace("b-w").colourspace("srgb")


def _blur(frame: pyvips.Image, sigma: float) -> pyvips.Image:
    if not frame.hasalpha():
        return frame.gaussblur(sigma)
    # Premultiplied, so transparent pixels do not bleed their (meaningless) colour.
    return frame.premultiply().gaussblur(sigma).unpremultiply().cast("uchar")


def _round_corners(
    frame: pyvips.Image,
    radius: int | str,
    alpha: bool,
    background: tuple[int, int, int],
) -> pyvips.Image:
    """Cut the corners outside `radius` (or `max`: half the shorter side): transparent with
    `alpha`, else blended onto `background`."""
    width, height = frame.width, frame.height
    limit = min(width, height) / 2
    r = limit if radius == "max" else min(float(radius), limit)
    mask = _corner_mask(width, height, r)
    if alpha:
        if not frame.hasalpha():
            frame = frame.bandjoin(255)
        opacity = (frame[frame.bands - 1] * mask / 255).rint().cast("uchar")
        return frame.extract_band(0, n=frame.bands - 1).bandjoin(opacity)
    if frame.hasalpha():
        frame = frame.flatten(background=list(background))
    return mask.ifthenelse(frame, list(background), blend=True)


def _corner_mask(width: int, height: int, r: float) -> pyvips.Image:
    """255 inside a rounded rectangle of corner radius `r`, 0 outside, antialiased edge."""
    side = math.ceil(r)
    xy = pyvips.Image.xyz(side, side)
    # how far each pixel centre (x + 0.5, y + 0.5) lies beyond the corner circle's centre
    # (r, r), per axis; 0 on the straight edges
    offset = xy * -1 + (r - 0.5)
    beyond = (offset > 0).ifthenelse(offset, 0)
    distance = (beyond[0] ** 2 + beyond[1] ** 2) ** 0.5
    coverage = ((distance * -1 + (r + 0.5)) * 255).cast("uchar")  # cast clips to 0-255
    mask = (pyvips.Image.black(width, height) + 255).cast("uchar")
    mask = mask.insert(coverage, 0, 0)
    mask = mask.insert(coverage.fliphor(), width - side, 0)
    mask = mask.insert(coverage.flipver(), 0, height - side)
    return mask.insert(coverage.rot("d180"), width - side, height - side)


def _border(frame: pyvips.Image, width: int, colour: tuple[int, int, int]) -> pyvips.Image:
    background = [*colour, 255] if frame.hasalpha() else list(colour)
    return frame.embed(
        width,
        width,
        frame.width + 2 * width,
        frame.height + 2 * width,
        extend="background",
        background=background,
    )


def _page_height(image: pyvips.Image) -> int:
    if "page-height" in image.get_fields():
        page_h = image.get("page-height")
        if 0 < page_h < image.height and image.height % page_h == 0:
            return page_h
    return image.height


def _per_frame(
    image: pyvips.Image, operation: Callable[[pyvips.Image], pyvips.Image]
) -> pyvips.Image:
    """Apply a geometry change to each frame of a vertically stacked animation."""
    frame_h = _page_height(image)
    if frame_h == image.height:
        return operation(image)
    frames = [
        operation(image.crop(0, top, image.width, frame_h))
        for top in range(0, image.height, frame_h)
    ]
    joined = pyvips.Image.arrayjoin(frames, across=1).copy()
    joined.set_type(pyvips.GValue.gint_type, "page-height", frames[0].height)
    return joined


def _encode(image: pyvips.Image, fmt: str, quality: int, encoders: Encoders) -> bytes:
    if fmt == "jpeg":
        return image.jpegsave_buffer(Q=quality, **JPEG_OPTIONS)
    if fmt == "png":
        return image.pngsave_buffer(compression=6, palette=False, keep="none")
    if fmt == "webp":
        return image.webpsave_buffer(Q=quality, effort=encoders.webp_effort, keep="none")
    if fmt == "avif":
        return image.heifsave_buffer(
            Q=quality, effort=encoders.avif_effort, compression="av1", keep="none"
        )
    return image.gifsave_buffer(keep="none")
