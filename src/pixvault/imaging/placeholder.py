"""Placeholders shown while an image loads: a BlurHash (4x3 components) and the average
colour, both from a 32-pixel copy of the image, made from the small decode that proves an
upload complete (so they cost the upload almost nothing)."""

from __future__ import annotations

from dataclasses import dataclass

import blurhash
import pyvips

SIDE = 32
COMPONENTS = (4, 3)


@dataclass(frozen=True)
class Placeholder:
    blurhash: str
    color: str  # "#rrggbb"


def placeholder_of(image: pyvips.Image) -> Placeholder:
    """Reads every pixel of `image` (so a truncated file fails here, as it should)."""
    small = image.thumbnail_image(SIDE, height=SIDE)
    if small.interpretation not in ("srgb", "b-w") or small.format != "uchar":
        small = small.colourspace("srgb").cast("uchar")
    if small.hasalpha():
        small = small.flatten(background=[255, 255, 255])
    if small.bands == 1:
        small = small.bandjoin([small, small])
    small = small.extract_band(0, n=3).cast("uchar").copy_memory()  # one sequential pass
    data = small.write_to_memory()
    width, height = small.width, small.height
    rows = [
        [list(data[(y * width + x) * 3 : (y * width + x) * 3 + 3]) for x in range(width)]
        for y in range(height)
    ]
    averages = [round(small.extract_band(b).avg()) for b in range(3)]
    return Placeholder(
        blurhash=blurhash.encode(rows, components_x=COMPONENTS[0], components_y=COMPONENTS[1]),
        color="#" + "".join(f"{v:02x}" for v in averages),
    )
