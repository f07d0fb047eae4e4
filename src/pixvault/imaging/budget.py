"""How much memory a render needs, estimated from the header and the plan before any pixel is
decoded, so no single render can take the process past its memory bound.

Measured on this machine with libvips 8.18 (peak RSS growth per output pixel, one libvips
thread): JPEG about 9 bytes, PNG 7, WebP 14 (libwebp holds the whole picture in ARGB and YUV),
AVIF 22 (libaom's frame buffers), GIF 8 (quantisation); an attention/entropy crop adds about 3.
libvips' animated loaders keep every decoded frame at load size: 4 bytes per pixel of all
frames (a 1000-frame 316x316 WebP re-encoded at full size peaked at 430 MB). The source bytes
themselves are held during the render too.
"""

BYTES_PER_OUTPUT_PIXEL = {"jpeg": 9, "png": 7, "webp": 14, "avif": 22, "gif": 8}
SMART_CROP_BYTES_PER_PIXEL = 3
BYTES_PER_FRAME_PIXEL = 4


def render_bytes(
    *,
    source_size: int,
    decoded: tuple[int, int],
    output: tuple[int, int],
    pages: int,
    fmt: str,
    smart: bool = False,
) -> int:
    """Estimated peak memory of one render: the source bytes, every decoded frame of an
    animation (`decoded`: one frame's size as the loader makes it), and the pipeline and
    encoder for the larger of the decoded and the output frame."""
    decoded_px, out_px = decoded[0] * decoded[1], output[0] * output[1]
    per_pixel = BYTES_PER_OUTPUT_PIXEL[fmt] + (SMART_CROP_BYTES_PER_PIXEL if smart else 0)
    frames = BYTES_PER_FRAME_PIXEL * decoded_px * pages if pages > 1 else 0
    return source_size + frames + per_pixel * max(out_px, decoded_px)
