"""Decide what an uploaded file really is, from its bytes, before anything is stored.

The type comes from magic bytes, never from the client's filename or Content-Type. The header
gives the dimensions and the pixel count is checked before any pixel is decoded; then a cheap
shrink-on-load decode proves the file is complete, so truncated and corrupt files are refused,
and gives the image's placeholder (BlurHash and average colour).
Sources are bytes (small uploads) or a path (uploads spilled to disk), read sequentially.
"""

import io
import mimetypes
from dataclasses import dataclass

import filetype
import pyvips
from PIL import Image as PILImage

from pixvault.domain.errors import (
    ImageTooLarge,
    InvalidImage,
    InvalidInput,
    TooManyFrames,
    UnsupportedType,
)
from pixvault.imaging.placeholder import Placeholder, placeholder_of

_LOADERS = {
    "image/jpeg": "jpegload",
    "image/png": "pngload",
    "image/webp": "webpload",
    "image/gif": "gifload",
    "image/avif": "heifload",
}
OCTET_STREAM = "application/octet-stream"


_BMP_HEADERS = (12, 40, 52, 56, 64, 108, 124)


@dataclass(frozen=True)
class Probe:
    mime: str
    width: int | None
    height: int | None
    pages: int
    # What to store instead of the upload: BMP (which libvips cannot decode) becomes PNG.
    converted: bytes | None = None
    placeholder: Placeholder | None = None


def sniff_mime(head: bytes) -> str | None:
    """The image type named by the file's magic bytes, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_HEADERS:
        return "image/bmp"
    return None


def probe(
    source: bytes | str,
    head: bytes,
    size: int,
    *,
    allowed: frozenset[str] | None,
    max_pixels: int,
    max_frames: int = 1000,
    strict: bool = True,
    hint: str | None = None,
    filename: str | None = None,
) -> Probe:
    """Identify and validate a file; raise a 4xx error for anything unusable. With
    `allowed` None any type passes (named by its bytes, else `hint`, the client's type, else
    the filename's extension), and only images are decoded (for their dimensions); without
    `strict` an image that cannot be decoded is kept with no dimensions."""
    if size == 0:
        raise InvalidInput("The file is empty (0 bytes); attach a file", param="file")
    mime = sniff_mime(head)
    if allowed is None and mime is None:
        return Probe(mime=other_type(head, hint, filename), width=None, height=None, pages=1)
    if not strict:
        try:
            return probe(
                source, head, size, allowed=allowed, max_pixels=max_pixels, max_frames=max_frames
            )
        except (InvalidImage, ImageTooLarge):
            return Probe(mime=mime or OCTET_STREAM, width=None, height=None, pages=1)
    if mime is None or (allowed is not None and mime not in allowed):
        found = mime or other_type(head, None, filename)
        raise UnsupportedType(
            f"Unsupported file type ({found}); upload one of: {', '.join(sorted(allowed or ()))}",
            param="file",
        )
    if mime == "image/bmp":
        return _bmp_as_png(source, max_pixels) if allowed is not None else _bmp_size(source)
    name = _LOADERS[mime] + ("_buffer" if isinstance(source, bytes) else "")
    loader = getattr(pyvips.Image, name)
    try:
        header = loader(source, access="sequential", fail_on="error")
        width, height = header.width, header.height
        pages = header.get("n-pages") if header.get_typeof("n-pages") else 1
        page_height = header.get("page-height") if header.get_typeof("page-height") else height
    except pyvips.Error:
        raise InvalidImage(mime) from None
    # Every frame of an animation is decoded by a render: count them all, as imgproxy does.
    if width * page_height * pages > max_pixels:
        raise ImageTooLarge(width, page_height * pages, max_pixels)
    if pages > max_frames:
        raise TooManyFrames(pages, max_frames)
    shown = _decode_small(loader, source, mime)
    return Probe(mime=mime, width=width, height=page_height, pages=pages, placeholder=shown)


def other_type(head: bytes, hint: str | None, filename: str | None) -> str:
    """The type of a file that is not one of the images pixvault decodes."""
    guessed = filetype.guess_mime(head)
    if guessed:
        return guessed
    if hint and hint.split(";")[0].strip().lower() not in ("", OCTET_STREAM):
        return hint.split(";")[0].strip().lower()
    by_name, _ = mimetypes.guess_type(filename or "", strict=False)
    return by_name or OCTET_STREAM


def _bmp_as_png(source: bytes | str, max_pixels: int) -> Probe:
    """Decode a BMP with Pillow (its header first, against the pixel limit) and re-encode it
    losslessly as PNG, which every later render can read."""
    try:
        with PILImage.open(io.BytesIO(source) if isinstance(source, bytes) else source) as bmp:
            width, height = bmp.size
            if width * height > max_pixels:
                raise ImageTooLarge(width, height, max_pixels)
            bmp.load()
            out = io.BytesIO()
            bmp.convert("RGBA" if "A" in bmp.getbands() else "RGB").save(out, "PNG")
    except (OSError, ValueError, PILImage.DecompressionBombError):
        raise InvalidImage("image/bmp") from None
    png = out.getvalue()
    shown = placeholder_of(pyvips.Image.pngload_buffer(png))
    return Probe("image/png", width, height, 1, converted=png, placeholder=shown)


def _bmp_size(source: bytes | str) -> Probe:
    """A BMP kept as it is (any-type uploads): its dimensions from the header."""
    try:
        with PILImage.open(io.BytesIO(source) if isinstance(source, bytes) else source) as bmp:
            width, height = bmp.size
    except (OSError, ValueError):
        raise InvalidImage("image/bmp") from None
    return Probe("image/bmp", width, height, 1)


def _decode_small(loader, source: bytes | str, mime: str) -> Placeholder:  # type: ignore[no-untyped-def]
    """Decode every byte at the smallest scale libvips allows (truncation shows up here) into
    the image's placeholder."""
    options = {"shrink": 8} if mime == "image/jpeg" else {}
    try:
        return placeholder_of(loader(source, access="sequential", fail_on="error", **options))
    except pyvips.Error:
        raise InvalidImage(mime) from None
