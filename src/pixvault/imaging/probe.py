"""Decide what an uploaded file really is, from its bytes, before anything is stored.

The type comes from magic bytes, never from the client's filename or Content-Type. The header
gives the dimensions and the pixel count is checked before any pixel is decoded; then a cheap
shrink-on-load decode proves the file is complete, so truncated and corrupt files are refused.
"""

from dataclasses import dataclass

import pyvips

from pixvault.domain.errors import InvalidInput, UnsupportedType

_LOADERS = {
    "image/jpeg": "jpegload_buffer",
    "image/png": "pngload_buffer",
    "image/webp": "webpload_buffer",
    "image/gif": "gifload_buffer",
    "image/avif": "heifload_buffer",
}


@dataclass(frozen=True)
class Probe:
    mime: str
    width: int
    height: int
    pages: int


def sniff_mime(data: bytes) -> str | None:
    """The image type named by the file's magic bytes, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    return None


def probe(data: bytes, *, allowed: frozenset[str], max_pixels: int) -> Probe:
    """Identify and validate an image; raise a 4xx error for anything unusable."""
    if not data:
        raise InvalidInput("The file is empty (0 bytes); attach an image file", param="file")
    mime = sniff_mime(data)
    if mime is None or mime not in allowed:
        found = mime or "not a recognised image"
        raise UnsupportedType(
            f"Unsupported file type ({found}); upload one of: {', '.join(sorted(allowed))}",
            param="file",
        )
    loader = getattr(pyvips.Image, _LOADERS[mime])
    try:
        header = loader(data, access="sequential", fail_on="error")
        width, height = header.width, header.height
        pages = header.get("n-pages") if header.get_typeof("n-pages") else 1
        page_height = header.get("page-height") if header.get_typeof("page-height") else height
    except pyvips.Error:
        raise _corrupt(mime) from None
    if width * page_height > max_pixels:
        raise InvalidInput(
            f"The image is {width}x{page_height} ({width * page_height} pixels); "
            f"at most {max_pixels} pixels are accepted",
            code="IMAGE_TOO_LARGE",
            param="file",
        )
    _prove_decodable(data, mime)
    return Probe(mime=mime, width=width, height=page_height, pages=pages)


def _prove_decodable(data: bytes, mime: str) -> None:
    """Decode every byte at the smallest scale libvips allows: truncation shows up here."""
    options = "fail_on=error,shrink=8" if mime == "image/jpeg" else "fail_on=error"
    try:
        image = pyvips.Image.new_from_buffer(data, options, access="sequential")
        image.min()
    except pyvips.Error:
        raise _corrupt(mime) from None


def _corrupt(mime: str) -> InvalidInput:
    return InvalidInput(
        f"The file looks like {mime} but is truncated or corrupt; upload a complete image",
        code="INVALID_IMAGE",
        param="file",
    )
