"""Transform options for delivery URLs: one strict grammar, one canonical form.

Every public delivery URL (CDN, Slink, vault paths) feeds its query through `parse_transform`,
so a bad value is rejected the same way everywhere (400, never a silent fallback) and equivalent
spellings share one derivative cache key and one signature via `Transform.canonical()`.

Grammar (names are case-sensitive, enum values case-insensitive):

- `w|width`, `h|height`: integers from 1 to `Limits.max_side`.
- `dpr`: 1 to 3 with at most two decimals; it multiplies w and h and needs at least one of them.
  The effective size (w*dpr, h*dpr) must stay within `max_side`, and within `max_area` when both
  are given. Two decimals at most keeps attackers from minting endless variants.
- `fit`: cover | contain | fill | inside | outside. Needs w or h. `inside` is the default when a
  size is given. cover, contain and fill describe a box, so they need both w and h; inside and
  outside work with one dimension (the other follows the aspect ratio).
- `crop`: true/1 (cover, anchored on the stored focal point if any, else the centre), a strategy
  (focal, smart|attention, auto|face, entropy, center|centre) or false/0 (no crop, same as
  absent). Cropping means fit=cover, so it needs both w and h and conflicts with any other fit.
  `auto` (imgbt's `face`/`auto`; pixvault has no face detector) is the stored focal point when
  the image has one, else libvips attention; `smart` is always attention.
- `gravity|g`: center, compass points (n ne e se s sw w nw, or north, northeast, top, bottom-left,
  ...), focal, smart|attention, auto|face. It positions a crop, so it needs cropping (fit=cover or
  crop). focal/smart/auto/center are crop strategies and are stored in `crop`; compass points stay
  in `gravity`. A crop strategy and a different gravity conflict.
- `format|f`: jpeg|jpg, png, webp, avif, gif, auto (negotiated from the Accept header).
- `q|quality`: integer 1-100 (ignored by the lossless png and gif encoders).

Placeholders, each alone (any other parameter with them is a 400):

- `format=blurhash`: the image's stored BlurHash as `text/plain` (made at upload; the original
  is never decoded for it).
- `format=lqip`: a low-quality image placeholder, exactly `w=32&h=32&fit=inside&format=webp&q=40`
  (a 32-pixel WebP of a few hundred bytes), an ordinary derivative with that canonical form.

imgbt's operations (contract §8), also available on every surface. Each is omitted from
`canonical()` when unset, so transforms without them keep their canonical text (and therefore
their cache keys and signatures). They render in this order, after resizing/cropping/padding:
flip, grayscale, blur, sharpen, radius, border (rotate comes before the resize).

- `rotate|rt`: 0, 90, 180, 270 degrees clockwise (0 = absent). Applied first, after EXIF
  orientation, so w/h/fit/gravity and the focal point refer to the rotated image.
- `flip`: h (mirror left-right), v (upside down), hv (both; `vh` is the same).
- `grayscale`: true | false (false = absent).
- `blur`: integer 1-100, a Gaussian blur with sigma = 0.5 + blur/5 (0.7 to 20.5 pixels).
- `sharpen`: integer 1-100, libvips `sharpen` (unsharp mask on lightness) with
  sigma = 0.5 + sharpen/20 (0.55 to 5.5 pixels), the other parameters at libvips' defaults.
  Neither sigma is multiplied by dpr (the contract scales only w, h, border and radius).
- `bg`: 6 hex digits, no `#` (stored lowercase): the colour for contain padding (instead of
  transparent/white), for flattening transparency to JPEG, and for rounded corners in formats
  without alpha (white when absent).
- `border`: `{px},{hex}` with px 1-1000, e.g. `5,ff0000`: a solid frame drawn outside the
  resized image, so the output grows by 2*px*dpr each way. The output limits include it.
- `radius`: 1-4096 pixels (multiplied by dpr) or `max` (half the shorter side: circle or pill).
  Corners outside the radius become transparent, or `bg` (white by default) for JPEG.
- `page`: refused (400) for every value: PDF pages are not supported yet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from pixvault.domain.errors import InvalidInput, UnsupportedType

FITS = ("cover", "contain", "fill", "inside", "outside")
FORMATS = ("jpeg", "png", "webp", "avif", "gif")
OUTPUT_FORMATS = (*FORMATS, "auto")
BLURHASH = "blurhash"
PLACEHOLDER_FORMATS = (BLURHASH, "lqip")
CROP_STRATEGIES = ("focal", "smart", "auto", "entropy", "center")
COMPASS = ("n", "ne", "e", "se", "s", "sw", "w", "nw")

FORMAT_MIME: dict[str, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "avif": "image/avif",
    "gif": "image/gif",
}
MIME_FORMAT: dict[str, str] = {mime: fmt for fmt, mime in FORMAT_MIME.items()} | {
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
}
EXTENSIONS = {
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "png": "png",
    "webp": "webp",
    "gif": "gif",
    "avif": "avif",
}
FORMAT_EXTENSION = {"jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif", "avif": "avif"}
FALLBACK_FORMAT = "jpeg"
"""Output for sources browsers cannot show (HEIC, TIFF, ...) when no format is requested."""

_ALIASES = {
    "w": "w",
    "width": "w",
    "h": "h",
    "height": "h",
    "fit": "fit",
    "crop": "crop",
    "gravity": "gravity",
    "g": "gravity",
    "format": "format",
    "f": "format",
    "q": "q",
    "quality": "q",
    "dpr": "dpr",
    "rotate": "rotate",
    "rt": "rotate",
    "flip": "flip",
    "grayscale": "grayscale",
    "blur": "blur",
    "sharpen": "sharpen",
    "bg": "bg",
    "border": "border",
    "radius": "radius",
    "page": "page",
}
ACCEPTED_NAMES = tuple(_ALIASES)

_FORMAT_VALUES = {"jpg": "jpeg", **{f: f for f in (*OUTPUT_FORMATS, *PLACEHOLDER_FORMATS)}}
_CROP_VALUES = {
    "true": "true",
    "1": "true",
    "false": "false",
    "0": "false",
    "focal": "focal",
    "smart": "smart",
    "attention": "smart",
    "auto": "auto",
    "face": "auto",
    "entropy": "entropy",
    "center": "center",
    "centre": "center",
}
_GRAVITY_VALUES = {
    "center": "center",
    "centre": "center",
    "c": "center",
    "focal": "focal",
    "smart": "smart",
    "attention": "smart",
    "auto": "auto",
    "face": "auto",
    **{c: c for c in COMPASS},
    "north": "n",
    "northeast": "ne",
    "east": "e",
    "southeast": "se",
    "south": "s",
    "southwest": "sw",
    "west": "w",
    "northwest": "nw",
    "top": "n",
    "topright": "ne",
    "right": "e",
    "bottomright": "se",
    "bottom": "s",
    "bottomleft": "sw",
    "left": "w",
    "topleft": "nw",
}

_FLIP_VALUES = {"h": "h", "v": "v", "hv": "hv", "vh": "hv"}
_BOOL_VALUES = {"true": "true", "false": "false"}
ROTATIONS = (0, 90, 180, 270)
MAX_BLUR = MAX_SHARPEN = 100
MAX_BORDER = 1000
MAX_RADIUS = 4096

_INT_RE = re.compile(r"[0-9]{1,6}")
_DPR_RE = re.compile(r"[0-9](\.[0-9]{1,2})?")
_HEX_RE = re.compile(r"[0-9a-fA-F]{6}")
_BORDER_RE = re.compile(r"([0-9]{1,6}),([0-9a-fA-F]{6})")


def extension_format(ext: str) -> str:
    """The output format a file extension names (`jpg` is jpeg); 400 for any other."""
    fmt = EXTENSIONS.get(ext.lower())
    if fmt is None:
        raise InvalidInput(
            f"Unknown image extension {ext!r}; use one of: {', '.join(EXTENSIONS)}", param="ext"
        )
    return fmt


def cover_when_boxed(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """imgbt's default: `fit=cover` when both sides are given and no fit or crop is."""
    keys = {_ALIASES.get(name) for name, _ in params}
    if {"w", "h"} <= keys and not keys & {"fit", "crop"}:
        return [*params, ("fit", "cover")]
    return params


def without_oversized_box(
    params: list[tuple[str, str]], width: int | None, height: int | None, limits: Limits
) -> list[tuple[str, str]]:
    """Slink's "never upscale": a valid box at least as large as the source on every side it
    names asks for the source's own size, so the sizing (and a crop of it) is dropped."""
    if width is None or height is None:
        return params
    sides = {"w": width, "h": height}
    named = [(_ALIASES.get(k), v) for k, v in params if _ALIASES.get(k) in sides]
    if not named or any(
        not _INT_RE.fullmatch(v) or not sides[k] <= int(v) <= limits.max_side for k, v in named
    ):
        return params
    return [(k, v) for k, v in params if _ALIASES.get(k) not in ("w", "h", "crop")]


def is_truthy_crop(value: str) -> bool:
    """Whether a `crop` value asks for a crop (true/1 or a strategy), not false/0."""
    return _CROP_VALUES.get(value.lower(), "false") != "false"


@dataclass(frozen=True)
class Limits:
    max_side: int = 8192
    max_area: int = 25_000_000
    max_source_pixels: int = 100_000_000
    # What one render may hold in memory, by the estimate in `imaging.budget` (source bytes,
    # decoded frames, the encoder's working set).
    max_render_bytes: int = 192 * 1024 * 1024


@dataclass(frozen=True)
class Transform:
    """A validated, normalised transform; build it with `parse_transform`."""

    width: int | None = None
    height: int | None = None
    fit: str | None = None
    crop: str | None = None
    gravity: str | None = None
    format: str | None = None
    quality: int | None = None
    dpr: float | None = None
    rotate: int | None = None
    flip: str | None = None
    grayscale: bool = False
    blur: int | None = None
    sharpen: int | None = None
    radius: int | str | None = None
    border: tuple[int, str] | None = None
    bg: str | None = None

    def canonical(self) -> str:
        """Stable text for cache keys and signatures: fixed order, canonical names and values."""
        parts = [
            ("w", self.width),
            ("h", self.height),
            ("dpr", None if self.dpr is None else f"{self.dpr:g}"),
            ("fit", self.fit),
            ("crop", self.crop),
            ("gravity", self.gravity),
            ("format", self.format),
            ("q", self.quality),
            ("rotate", self.rotate),
            ("flip", self.flip),
            ("grayscale", "true" if self.grayscale else None),
            ("blur", self.blur),
            ("sharpen", self.sharpen),
            ("radius", self.radius),
            ("border", None if self.border is None else f"{self.border[0]},{self.border[1]}"),
            ("bg", self.bg),
        ]
        return "&".join(f"{name}={value}" for name, value in parts if value is not None)

    @property
    def is_identity(self) -> bool:
        return self == Transform()

    @property
    def has_effects(self) -> bool:
        """True when an imgbt operation changes the pixels (rotate, flip, grayscale, blur,
        sharpen, radius, border): the stored original cannot answer such a request. `bg` alone
        is not one: it only colours padding, flattening and corners that other options make."""
        return (
            self.rotate is not None
            or self.flip is not None
            or self.grayscale
            or self.blur is not None
            or self.sharpen is not None
            or self.radius is not None
            or self.border is not None
        )

    @property
    def border_size(self) -> int:
        """The border width in output pixels (px*dpr), 0 without a border."""
        if self.border is None:
            return 0
        return _scaled(self.border[0], self.dpr or 1.0) or 0

    @property
    def radius_size(self) -> int | str | None:
        """The corner radius in output pixels (px*dpr), `max`, or None."""
        if isinstance(self.radius, int):
            return _scaled(self.radius, self.dpr or 1.0)
        return self.radius

    @property
    def crops(self) -> bool:
        return self.fit == "cover" or self.crop is not None

    @property
    def anchor(self) -> str | None:
        """Where a crop is positioned: a strategy, a compass point, or None (focal, else centre)."""
        return self.crop or self.gravity

    @property
    def target_size(self) -> tuple[int | None, int | None]:
        """The requested box in output pixels (w*dpr, h*dpr)."""
        scale = self.dpr or 1.0
        return _scaled(self.width, scale), _scaled(self.height, scale)

    def depends_on_focal(self, has_focal: bool) -> bool:
        """True when the output changes with the image's stored focal point."""
        if not self.crops:
            return False
        return self.anchor == "focal" or (self.anchor in (None, "auto") and has_focal)

    def with_format(self, fmt: str) -> Transform:
        chosen = _enum("format", fmt, _FORMAT_VALUES)
        # Most delivered URLs already name the format they get: no copy of 16 fields then.
        return self if chosen == self.format else replace(self, format=chosen)


PLACEHOLDER_BLURHASH = Transform(format=BLURHASH)
LQIP = Transform(width=32, height=32, fit="inside", format="webp", quality=40)


def _scaled(value: int | None, scale: float) -> int | None:
    return None if value is None else max(1, round(value * scale))


def parse_transform(
    params: Iterable[tuple[str, str]],
    limits: Limits = Limits(),
    *,
    ignore: frozenset[str] = frozenset({"s", "preset"}),
) -> Transform:
    """Parse and validate query parameters; raises InvalidInput whose `param` is the canonical
    name and whose message names the parameter as the client spelled it (`width`, not `w`)."""
    pairs = list(params)
    try:
        return _parse(pairs, limits, ignore)
    except InvalidInput as exc:
        sent = {_ALIASES.get(name, name): name for name, _ in pairs}
        spelled = sent.get(exc.param or "", exc.param)
        if spelled is None or spelled == exc.param:
            raise
        message = exc.message
        if message.startswith(f"{exc.param} "):
            message = spelled + message[len(exc.param or "") :]
        raise InvalidInput(message, param=exc.param) from None


def _parse(params: list[tuple[str, str]], limits: Limits, ignore: frozenset[str]) -> Transform:
    raw = _collect(params, ignore)
    if raw.get("format", "").lower() in PLACEHOLDER_FORMATS:
        return _placeholder(raw)
    if "page" in raw:
        raise InvalidInput("page: PDF pages are not supported yet", param="page")
    width = _int("w", raw.get("w"), 1, limits.max_side)
    height = _int("h", raw.get("h"), 1, limits.max_side)
    dpr = _dpr(raw.get("dpr"))
    quality = _int("q", raw.get("q"), 1, 100)
    fmt = _enum("format", raw["format"], _FORMAT_VALUES) if "format" in raw else None
    fit = _enum("fit", raw["fit"], {f: f for f in FITS}) if "fit" in raw else None
    crop = _enum("crop", raw["crop"], _CROP_VALUES) if "crop" in raw else None
    gravity = _gravity(raw["gravity"]) if "gravity" in raw else None

    has_size = width is not None or height is not None
    if dpr is not None and not has_size:
        raise InvalidInput("dpr needs w or h: it multiplies the requested size", param="dpr")
    if fit is not None and not has_size:
        raise InvalidInput(f"fit={fit} needs w or h", param="fit")
    fit, crop = _resolve_crop(fit, crop, has_size)
    crop, gravity = _resolve_anchor(fit, crop, gravity)
    if fit in ("cover", "contain", "fill") and (width is None or height is None):
        name = "crop" if "crop" in raw else "fit"
        what = "crop" if name == "crop" else f"fit={fit}"
        raise InvalidInput(
            f"{what} needs both w and h (fit=inside or fit=outside size by one dimension)",
            param=name,
        )
    spec = Transform(
        width,
        height,
        fit,
        crop,
        gravity,
        fmt,
        quality,
        None if dpr == 1 else dpr,
        **_operations(raw),
    )
    _check_output_size(spec, limits)
    return spec


def _placeholder(raw: dict[str, str]) -> Transform:
    fmt = raw["format"].lower()
    others = [name for name in raw if name != "format"]
    if others:
        raise InvalidInput(
            f"format={fmt} is a fixed placeholder and takes no other parameters; "
            f"drop {', '.join(others)}",
            param=others[0],
        )
    return PLACEHOLDER_BLURHASH if fmt == BLURHASH else LQIP


def _operations(raw: dict[str, str]) -> dict[str, object]:
    """The imgbt operations, validated; only the ones given (defaults stay unset)."""
    found: dict[str, object] = {}
    if "rotate" in raw:
        rotate = _rotation(raw["rotate"])
        if rotate:
            found["rotate"] = rotate
    if "flip" in raw:
        found["flip"] = _enum("flip", raw["flip"], _FLIP_VALUES)
    if "grayscale" in raw and _enum("grayscale", raw["grayscale"], _BOOL_VALUES) == "true":
        found["grayscale"] = True
    if "blur" in raw:
        found["blur"] = _int("blur", raw["blur"], 1, MAX_BLUR)
    if "sharpen" in raw:
        found["sharpen"] = _int("sharpen", raw["sharpen"], 1, MAX_SHARPEN)
    if "radius" in raw:
        found["radius"] = _radius(raw["radius"])
    if "border" in raw:
        found["border"] = _border(raw["border"])
    if "bg" in raw:
        found["bg"] = _hex("bg", raw["bg"])
    return found


def _rotation(value: str) -> int:
    number = int(value) if _INT_RE.fullmatch(value) else None
    if number not in ROTATIONS:
        raise InvalidInput(
            f"rotate must be 0, 90, 180 or 270 (degrees clockwise), got {value!r}",
            param="rotate",
        )
    return number


def _radius(value: str) -> int | str:
    if value.lower() == "max":
        return "max"
    number = int(value) if _INT_RE.fullmatch(value) else None
    if number is None or not 1 <= number <= MAX_RADIUS:
        raise InvalidInput(
            f"radius must be an integer from 1 to {MAX_RADIUS} or max, got {value!r}",
            param="radius",
        )
    return number


def _border(value: str) -> tuple[int, str]:
    match = _BORDER_RE.fullmatch(value)
    width = int(match[1]) if match else None
    if match is None or width is None or not 1 <= width <= MAX_BORDER:
        raise InvalidInput(
            f"border must be {{px}},{{hex}} with px from 1 to {MAX_BORDER} and 6 hex digits "
            f"(e.g. 5,ff0000), got {value!r}",
            param="border",
        )
    return width, match[2].lower()


def _hex(name: str, value: str) -> str:
    if not _HEX_RE.fullmatch(value):
        raise InvalidInput(
            f"{name} must be 6 hex digits without # (e.g. ff0000), got {value!r}", param=name
        )
    return value.lower()


def _collect(params: Iterable[tuple[str, str]], ignore: frozenset[str]) -> dict[str, str]:
    raw: dict[str, str] = {}
    given_as: dict[str, str] = {}
    for name, value in params:
        if name in ignore:
            continue
        key = _ALIASES.get(name)
        if key is None:
            raise InvalidInput(
                f"unknown parameter {name!r}; accepted: {', '.join(ACCEPTED_NAMES)}", param=name
            )
        if key in raw:
            raise InvalidInput(
                f"parameter {name!r} given twice (already given as {given_as[key]!r})", param=name
            )
        raw[key] = value
        given_as[key] = name
    return raw


def _int(name: str, value: str | None, low: int, high: int) -> int | None:
    if value is None:
        return None
    number = int(value) if _INT_RE.fullmatch(value) else None
    if number is None or not low <= number <= high:
        raise InvalidInput(
            f"{name} must be an integer from {low} to {high}, got {value!r}", param=name
        )
    return number


def _dpr(value: str | None) -> float | None:
    if value is None:
        return None
    number = float(value) if _DPR_RE.fullmatch(value) else None
    if number is None or not 1 <= number <= 3:
        raise InvalidInput(
            f"dpr must be a number from 1 to 3 with at most two decimals, got {value!r}",
            param="dpr",
        )
    return number


def _enum(name: str, value: str, allowed: dict[str, str]) -> str:
    found = allowed.get(value.lower())
    if found is None:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}, got {value!r}", param=name)
    return found


def _gravity(value: str) -> str:
    key = value.lower().replace("-", "").replace("_", "")
    if key not in _GRAVITY_VALUES:
        raise InvalidInput(
            f"gravity must be center, a compass point ({', '.join(COMPASS)} or north, top-left, "
            f"...), focal, smart or auto, got {value!r}",
            param="gravity",
        )
    return _GRAVITY_VALUES[key]


def _resolve_crop(
    fit: str | None, crop: str | None, has_size: bool
) -> tuple[str | None, str | None]:
    """Fold `crop` into fit=cover; returns (fit, crop strategy or None)."""
    if crop == "false":
        if fit == "cover":
            raise InvalidInput("crop=false conflicts with fit=cover, which crops", param="crop")
        crop = None
    elif crop is not None:
        if fit not in (None, "cover"):
            raise InvalidInput(
                f"crop conflicts with fit={fit}: cropping means fit=cover", param="crop"
            )
        fit = "cover"
        crop = None if crop == "true" else crop
    if fit is None and has_size:
        fit = "inside"
    return fit, crop


def _resolve_anchor(
    fit: str | None, crop: str | None, gravity: str | None
) -> tuple[str | None, str | None]:
    """Store strategies in `crop` and compass points in `gravity`, rejecting contradictions."""
    if gravity is None:
        return crop, None
    if fit != "cover":
        raise InvalidInput("gravity positions a crop: it needs fit=cover or crop", param="gravity")
    if gravity in CROP_STRATEGIES:
        if crop not in (None, gravity):
            raise InvalidInput(f"gravity={gravity} conflicts with crop={crop}", param="gravity")
        return gravity, None
    if crop is not None:
        raise InvalidInput(f"gravity={gravity} conflicts with crop={crop}", param="gravity")
    return None, gravity


def _check_output_size(spec: Transform, limits: Limits) -> None:
    width, height = spec.target_size
    name = "dpr" if spec.dpr else None
    for side, dim in (("w", width), ("h", height)):
        if dim is not None and dim > limits.max_side:
            raise InvalidInput(
                f"{side}*dpr is {dim} pixels, over the maximum side of {limits.max_side}",
                param=name or side,
            )
    if width is not None and height is not None and width * height > limits.max_area:
        raise InvalidInput(
            f"output of {width}x{height} pixels is over the maximum area of {limits.max_area}",
            param=name or "h",
        )
    border = 2 * spec.border_size
    if not border:
        return
    for dim in (width, height):
        if dim is not None and dim + border > limits.max_side:
            raise InvalidInput(
                f"the border makes a side {dim + border} pixels, over the maximum side of "
                f"{limits.max_side}",
                param="border",
            )
    if width is not None and height is not None:
        area = (width + border) * (height + border)
        if area > limits.max_area:
            raise InvalidInput(
                f"with the border the output is {width + border}x{height + border} pixels, over "
                f"the maximum area of {limits.max_area}",
                param="border",
            )


def negotiate_format(
    spec: Transform,
    accept: str | None,
    source_mime: str,
    *,
    avif_enabled: bool,
    auto_by_default: bool = False,
    animated: bool = False,
) -> tuple[str, bool]:
    """Pick the output format; the flag says whether the answer varies with Accept (Vary).

    AVIF is skipped for animated sources because it cannot carry the animation here.
    """
    if spec.format not in (None, "auto"):
        return spec.format, False
    source = MIME_FORMAT.get(source_mime.lower(), FALLBACK_FORMAT)
    if spec.format is None and not auto_by_default:
        return source, False
    accepted = _accepted_types(accept)
    if avif_enabled and not animated and "image/avif" in accepted:
        return "avif", True
    if "image/webp" in accepted:
        return "webp", True
    return source, True


def _accepted_types(accept: str | None) -> set[str]:
    """Media types listed explicitly with a non-zero q (wildcards do not count)."""
    types = set()
    for item in (accept or "").split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if media and not any(_is_zero_q(param) for param in params):
            types.add(media.lower())
    return types


def _is_zero_q(param: str) -> bool:
    name, _, value = param.partition("=")
    if name.strip().lower() != "q":
        return False
    try:
        return float(value) == 0
    except ValueError:
        return False


def ensure_output_format(fmt: str) -> str:
    """Validate a concrete output format name (after negotiation)."""
    if fmt not in FORMATS:
        raise UnsupportedType(f"cannot encode {fmt!r}; supported: {', '.join(FORMATS)}")
    return fmt
