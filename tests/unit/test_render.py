from urllib.parse import parse_qsl

import pytest
import pyvips

from pixvault.domain.errors import InvalidInput, UnsupportedType
from pixvault.domain.transform import Limits, Transform, parse_transform
from pixvault.http.native.errors import TABLE
from pixvault.imaging import render as render_module
from pixvault.imaging.render import render

WHITE = [255, 255, 255]
RED = [255, 0, 0]


def spec(query: str) -> Transform:
    return parse_transform(parse_qsl(query, keep_blank_values=True))


def solid(width: int, height: int, colour: list[int]) -> pyvips.Image:
    return pyvips.Image.black(width, height).new_from_image(colour).copy(interpretation="srgb")


def with_dot(width: int, height: int, x: int, y: int, radius: int = 6) -> pyvips.Image:
    """A white image with a red square centred on (x, y)."""
    dot = solid(2 * radius, 2 * radius, RED)
    return solid(width, height, WHITE).insert(dot, x - radius, y - radius)


def has_red(data: bytes) -> bool:
    image = pyvips.Image.new_from_buffer(data, "")
    red, green = image[0], image[1]
    return ((red > 200) & (green < 80)).max() > 0


@pytest.fixture(scope="module")
def landscape_png() -> bytes:
    return solid(400, 200, [30, 120, 200]).pngsave_buffer()


@pytest.mark.parametrize(
    ("query", "size"),
    [
        ("w=100&h=100", (100, 50)),
        ("w=100&h=100&fit=inside", (100, 50)),
        ("w=100&h=100&fit=outside", (200, 100)),
        ("w=100&h=100&fit=cover", (100, 100)),
        ("w=100&h=100&fit=contain", (100, 100)),
        ("w=100&h=100&fit=fill", (100, 100)),
        ("w=100&h=100&crop=smart", (100, 100)),
        ("w=100&h=100&crop=entropy", (100, 100)),
        ("w=100&h=100&crop=1&g=se", (100, 100)),
        ("w=100", (100, 50)),
        ("h=100", (200, 100)),
        ("w=100&fit=outside", (100, 50)),
        ("w=1000&h=1000", (400, 200)),
        ("w=1000&h=1000&fit=cover", (200, 200)),
        ("w=1000&h=500&fit=contain", (1000, 500)),
        ("w=1000&h=100&fit=fill", (1000, 100)),
        ("w=100&h=100&dpr=2", (200, 100)),
        ("w=100&h=100&fit=cover&dpr=2", (200, 200)),
        ("f=webp", (400, 200)),
    ],
)
def test_output_size(landscape_png: bytes, query: str, size: tuple[int, int]) -> None:
    out = render(landscape_png, spec(query), output_format="png", focal=None)
    decoded = pyvips.Image.new_from_buffer(out.data, "")
    assert (out.width, out.height) == size
    assert (decoded.width, decoded.height) == size


def test_contain_pads_transparent_for_png(landscape_png: bytes) -> None:
    out = render(landscape_png, spec("w=100&h=100&fit=contain"), output_format="png", focal=None)
    image = pyvips.Image.new_from_buffer(out.data, "")
    assert image.bands == 4
    assert image.getpoint(50, 0)[3] == 0
    assert image.getpoint(50, 50)[3] == 255


def test_contain_pads_white_for_jpeg(landscape_png: bytes) -> None:
    out = render(landscape_png, spec("w=100&h=100&fit=contain"), output_format="jpeg", focal=None)
    image = pyvips.Image.new_from_buffer(out.data, "")
    assert image.bands == 3
    assert min(image.getpoint(50, 2)) > 245


@pytest.mark.parametrize(
    ("fmt", "magic", "loader", "mime"),
    [
        ("jpeg", b"\xff\xd8\xff", "jpegload_buffer", "image/jpeg"),
        ("png", b"\x89PNG\r\n\x1a\n", "pngload_buffer", "image/png"),
        ("webp", b"RIFF", "webpload_buffer", "image/webp"),
        ("avif", b"ftypavif", "heifload_buffer", "image/avif"),
        ("gif", b"GIF8", "gifload_buffer", "image/gif"),
    ],
)
def test_output_format(landscape_png: bytes, fmt: str, magic: bytes, loader: str, mime: str):
    out = render(landscape_png, spec("w=64&q=70"), output_format=fmt, focal=None)
    assert magic in out.data[:12]
    assert out.mime == mime
    assert pyvips.Image.new_from_buffer(out.data, "").get("vips-loader") == loader


def test_unknown_output_format_rejected(landscape_png: bytes) -> None:
    with pytest.raises(UnsupportedType):
        render(landscape_png, spec("w=10"), output_format="bmp", focal=None)


def test_focal_crop_keeps_the_subject() -> None:
    source = with_dot(1000, 600, 900, 520).pngsave_buffer()
    assert has_red(source)
    focal = (0.9, 520 / 600)
    query = "w=200&h=200&crop=1"
    kept = render(source, spec(query), output_format="png", focal=focal)
    lost = render(source, spec(query + "&g=center"), output_format="png", focal=focal)
    explicit = render(source, spec("w=200&h=200&crop=focal"), output_format="png", focal=focal)
    assert (kept.width, kept.height) == (200, 200)
    assert has_red(kept.data)
    assert has_red(explicit.data)
    assert not has_red(lost.data)


def test_compass_gravity_positions_the_window() -> None:
    source = with_dot(1000, 600, 970, 30).pngsave_buffer()
    north_east = render(source, spec("w=200&h=200&crop=1&g=ne"), output_format="png", focal=None)
    south_west = render(source, spec("w=200&h=200&crop=1&g=sw"), output_format="png", focal=None)
    assert has_red(north_east.data)
    assert not has_red(south_west.data)


def test_exif_orientation_is_applied() -> None:
    image = with_dot(300, 100, 20, 50, radius=10).copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", 6)
    source = image.jpegsave_buffer()
    assert pyvips.Image.new_from_buffer(source, "").get("orientation") == 6
    out = render(source, spec("w=50"), output_format="png", focal=None)
    assert (out.width, out.height) == (50, 150)
    rotated = pyvips.Image.new_from_buffer(out.data, "")
    assert "orientation" not in rotated.get_fields()
    top = rotated.crop(0, 0, 50, 30).pngsave_buffer()
    assert has_red(top)  # the dot on the left edge ends up at the top after 90° clockwise


def test_metadata_is_stripped() -> None:
    image = solid(120, 80, [90, 90, 90]).copy()
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd3-GPSLatitude", "51/1 30/1 0/1")
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd3-GPSLatitudeRef", "N")
    source = image.jpegsave_buffer()
    fields = pyvips.Image.new_from_buffer(source, "").get_fields()
    assert "exif-data" in fields
    assert "exif-ifd3-GPSLatitude" in fields
    for fmt in ("jpeg", "png", "webp", "avif"):
        out = render(source, spec("w=60"), output_format=fmt, focal=None)
        out_fields = pyvips.Image.new_from_buffer(out.data, "").get_fields()
        assert "exif-data" not in out_fields, fmt
        assert not [f for f in out_fields if f.startswith("exif-")], fmt
        assert "xmp-data" not in out_fields, fmt


def test_embedded_profile_is_converted_and_dropped() -> None:
    source = solid(40, 40, [200, 30, 30]).icc_transform("p3", input_profile="srgb")
    assert "icc-profile-data" in source.get_fields()
    out = render(source.pngsave_buffer(), spec("w=20"), output_format="png", focal=None)
    decoded = pyvips.Image.new_from_buffer(out.data, "")
    assert "icc-profile-data" not in decoded.get_fields()
    assert decoded.getpoint(10, 10)[:3] == pytest.approx([200, 30, 30], abs=3)


def animated_gif(frames: int = 4) -> bytes:
    strip = pyvips.Image.arrayjoin(
        [solid(80, 40, [i * 60, 0, 255 - i * 60]) for i in range(frames)], across=1
    ).copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", 40)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [100] * frames)
    return strip.gifsave_buffer()


@pytest.mark.parametrize("fmt", ["webp", "gif"])
@pytest.mark.parametrize(
    "query", ["w=40", "w=20&h=20&crop=1", "w=20&h=20&crop=smart", "w=50&h=50&fit=contain"]
)
def test_animation_is_kept(fmt: str, query: str) -> None:
    out = render(animated_gif(), spec(query), output_format=fmt, focal=None)
    decoded = pyvips.Image.new_from_buffer(out.data, "", n=-1)
    assert decoded.get("n-pages") == 4
    assert decoded.get("page-height") == out.height
    assert decoded.height == 4 * out.height
    assert decoded.get("delay") == [100] * 4


def test_animated_gif_to_webp_size() -> None:
    out = render(animated_gif(), spec("w=40"), output_format="webp", focal=None)
    assert (out.width, out.height) == (40, 20)


@pytest.mark.parametrize("fmt", ["jpeg", "png", "avif"])
def test_animation_to_still_format_is_refused(fmt: str) -> None:
    with pytest.raises(UnsupportedType, match="animated"):
        render(animated_gif(), spec("w=40"), output_format=fmt, focal=None)


def test_source_too_large_is_refused_before_decoding(monkeypatch, landscape_png: bytes) -> None:
    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded a source over the pixel limit")

    monkeypatch.setattr(render_module.pyvips.Image, "thumbnail_buffer", no_decoding)
    with pytest.raises(InvalidInput) as info:
        render(
            landscape_png,
            spec("w=10"),
            output_format="png",
            focal=None,
            limits=Limits(max_source_pixels=400 * 200 - 1),
        )
    assert TABLE.lookup(info.value)[1] == "SOURCE_TOO_LARGE"


def test_animation_frames_count_towards_source_limit() -> None:
    with pytest.raises(InvalidInput) as info:
        render(
            animated_gif(frames=4),
            spec("w=10"),
            output_format="webp",
            focal=None,
            limits=Limits(max_source_pixels=80 * 40 * 3),
        )
    assert TABLE.lookup(info.value)[1] == "SOURCE_TOO_LARGE"


def test_output_over_area_limit_is_refused(landscape_png: bytes) -> None:
    with pytest.raises(InvalidInput) as info:
        render(
            landscape_png,
            spec("h=200&fit=outside"),
            output_format="png",
            focal=None,
            limits=Limits(max_area=10_000),
        )
    assert TABLE.lookup(info.value)[1] == "OUTPUT_TOO_LARGE"


def test_garbage_is_unsupported() -> None:
    with pytest.raises(UnsupportedType):
        render(b"not an image", spec("w=10"), output_format="png", focal=None)


def test_dpr_doubles_the_output(landscape_png: bytes) -> None:
    single = render(landscape_png, spec("w=50&h=50&fit=cover"), output_format="webp", focal=None)
    double = render(
        landscape_png, spec("w=50&h=50&fit=cover&dpr=2"), output_format="webp", focal=None
    )
    assert (single.width, single.height) == (50, 50)
    assert (double.width, double.height) == (100, 100)
