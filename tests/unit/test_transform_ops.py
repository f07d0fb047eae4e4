"""imgbt's operations in the one grammar (rotate, flip, grayscale, blur, sharpen, bg, border,
radius, page, crop/gravity face|auto) and their rendering, checked on pixels."""

from urllib.parse import parse_qsl

import pytest
import pyvips
from hypothesis import given, settings
from hypothesis import strategies as st

from pixvault.domain.errors import InvalidInput, OutputTooLarge
from pixvault.domain.transform import Limits, Transform, is_truthy_crop, parse_transform
from pixvault.imaging import render as render_module
from pixvault.imaging.render import blur_sigma, render, sharpen_sigma
from tests.unit.test_transform import parse, rejects

RED = [255, 0, 0]
WHITE = [255, 255, 255]
BLUE = [30, 120, 200]


# -- grammar: accepted values ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("rotate=90", Transform(rotate=90)),
        ("rt=180", Transform(rotate=180)),
        ("rt=270", Transform(rotate=270)),
        ("rotate=0", Transform()),
        ("flip=h", Transform(flip="h")),
        ("flip=v", Transform(flip="v")),
        ("flip=hv", Transform(flip="hv")),
        ("flip=vh", Transform(flip="hv")),
        ("flip=H", Transform(flip="h")),
        ("grayscale=true", Transform(grayscale=True)),
        ("grayscale=TRUE", Transform(grayscale=True)),
        ("grayscale=false", Transform()),
        ("blur=1", Transform(blur=1)),
        ("blur=100", Transform(blur=100)),
        ("sharpen=1", Transform(sharpen=1)),
        ("sharpen=100", Transform(sharpen=100)),
        ("bg=FF00aa", Transform(bg="ff00aa")),
        ("border=5,FF0000", Transform(border=(5, "ff0000"))),
        ("border=1000,000000", Transform(border=(1000, "000000"))),
        ("radius=1", Transform(radius=1)),
        ("radius=4096", Transform(radius=4096)),
        ("radius=max", Transform(radius="max")),
        ("radius=MAX", Transform(radius="max")),
        ("w=10&h=10&crop=face", Transform(width=10, height=10, fit="cover", crop="auto")),
        ("w=10&h=10&crop=auto", Transform(width=10, height=10, fit="cover", crop="auto")),
        ("w=10&h=10&crop=1&g=face", Transform(width=10, height=10, fit="cover", crop="auto")),
        ("w=10&h=10&fit=cover&g=auto", Transform(width=10, height=10, fit="cover", crop="auto")),
        ("w=10&h=10&crop=1&g=attention", Transform(width=10, height=10, fit="cover", crop="smart")),
    ],
)
def test_accepted(query: str, expected: Transform) -> None:
    assert parse(query) == expected


# -- grammar: every bad value names its parameter ----------------------------------------------


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("blur=0", "blur"),
        ("blur=101", "blur"),
        ("blur=1.5", "blur"),
        ("blur=", "blur"),
        ("sharpen=0", "sharpen"),
        ("sharpen=101", "sharpen"),
        ("sharpen=-3", "sharpen"),
        ("rt=45", "rotate"),
        ("rotate=360", "rotate"),
        ("rotate=-90", "rotate"),
        ("rt=ninety", "rotate"),
        ("flip=x", "flip"),
        ("flip=", "flip"),
        ("flip=hh", "flip"),
        ("grayscale=maybe", "grayscale"),
        ("grayscale=1", "grayscale"),
        ("grayscale=", "grayscale"),
        ("bg=fff", "bg"),
        ("bg=gggggg", "bg"),
        ("bg=#ff0000", "bg"),
        ("bg=ff00000", "bg"),
        ("border=5", "border"),
        ("border=0,ff0000", "border"),
        ("border=1001,ff0000", "border"),
        ("border=5,fff", "border"),
        ("border=5;ff0000", "border"),
        ("border=,ff0000", "border"),
        ("border=5,ff0000,1", "border"),
        ("radius=-1", "radius"),
        ("radius=0", "radius"),
        ("radius=4097", "radius"),
        ("radius=maxx", "radius"),
        ("radius=1.5", "radius"),
        ("page=1", "page"),
        ("page=0", "page"),
        ("w=10&page=", "page"),
        ("rotate=90&rt=90", "rt"),
        ("w=1&h=1&crop=face&g=ne", "gravity"),
        ("w=1&h=1&g=face", "gravity"),
        ("w=10&crop=auto", "crop"),
    ],
)
def test_refused(query: str, param: str) -> None:
    rejects(query, param)


def test_page_message() -> None:
    assert "PDF" in rejects("page=1", "page").message


def test_unknown_parameter_lists_the_new_names() -> None:
    err = rejects("w=1&bluur=3", "bluur")
    for name in ("blur", "sharpen", "rotate", "rt", "flip", "grayscale", "bg", "border", "radius"):
        assert name in err.message


def test_names_are_case_sensitive() -> None:
    rejects("Blur=3", "Blur")


def test_border_counts_towards_the_max_side() -> None:
    assert parse("w=8190&border=1,ff0000").border_size == 1
    rejects("w=8192&border=1,ff0000", "border")
    rejects("h=4000&dpr=2&border=100,ff0000", "border")  # 8000 + 2*200


def test_border_counts_towards_the_max_area() -> None:
    parse("w=4990&h=4990&border=5,ff0000")  # exactly 5000 x 5000 = 25,000,000
    err = rejects("w=5000&h=5000&border=1,ff0000", "border")
    assert "area" in err.message


def test_existing_size_errors_keep_their_parameter() -> None:
    rejects("w=8193&border=1,ff0000", "w")
    rejects("w=5000&dpr=2&border=1,ff0000", "dpr")


# -- canonical form --------------------------------------------------------------------------

OLD = {
    "w=300&h=200&crop=attention&format=jpg&q=75&dpr=2": (
        "w=300&h=200&dpr=2&fit=cover&crop=smart&format=jpeg&q=75"
    ),
    "w=10": "w=10&fit=inside",
    "w=5&h=5&crop=1&g=top": "w=5&h=5&fit=cover&gravity=n",
    "f=webp&q=50": "format=webp&q=50",
    "": "",
}


@pytest.mark.parametrize(("query", "canonical"), OLD.items())
def test_old_canonical_strings_are_unchanged(query: str, canonical: str) -> None:
    assert parse(query).canonical() == canonical


def test_canonical_full_order() -> None:
    query = (
        "bg=00FF00&border=5,FF0000&radius=max&sharpen=7&blur=5&grayscale=true&flip=vh&rt=90"
        "&f=png&g=face&h=10&w=10&crop=1"
    )
    assert parse(query).canonical() == (
        "w=10&h=10&fit=cover&crop=auto&format=png&rotate=90&flip=hv&grayscale=true&blur=5"
        "&sharpen=7&radius=max&border=5,ff0000&bg=00ff00"
    )


def test_canonical_is_stable_across_spellings() -> None:
    variants = [
        "rotate=270&w=40&h=40&crop=face&g=face&flip=hv&bg=ABCDEF",
        "rt=270&width=40&height=40&gravity=auto&flip=vh&bg=abcdef&fit=cover",
        "h=40&rt=270&crop=auto&w=40&flip=HV&bg=AbCdEf&grayscale=false",
    ]
    assert {parse(v).canonical() for v in variants} == {
        "w=40&h=40&fit=cover&crop=auto&rotate=270&flip=hv&bg=abcdef"
    }


def test_unset_operations_are_omitted() -> None:
    assert parse("w=10&rotate=0&grayscale=false").canonical() == "w=10&fit=inside"
    assert parse("w=10&rotate=0&grayscale=false") == parse("w=10")


_values = {
    "w": st.sampled_from(["40", "0300"]),
    "h": st.sampled_from(["30", "200"]),
    "crop": st.sampled_from(["1", "face", "auto", "attention", "focal"]),
    "g": st.sampled_from(["face", "auto", "north", "smart"]),
    "rotate": st.sampled_from(["0", "90", "180", "270", "45"]),
    "rt": st.sampled_from(["90", "0270"]),
    "flip": st.sampled_from(["h", "v", "hv", "VH", "x"]),
    "grayscale": st.sampled_from(["true", "false", "FALSE", "maybe"]),
    "blur": st.sampled_from(["1", "050", "100", "0"]),
    "sharpen": st.sampled_from(["1", "100", "101"]),
    "bg": st.sampled_from(["ffffff", "A0B1C2", "fff"]),
    "border": st.sampled_from(["5,ff0000", "1000,ABCDEF", "0,ffffff"]),
    "radius": st.sampled_from(["1", "max", "4096", "-1"]),
    "dpr": st.sampled_from(["1", "1.5", "3"]),
}


@settings(max_examples=400)
@given(
    st.dictionaries(st.sampled_from(sorted(_values)), st.just("")).flatmap(
        lambda keys: st.fixed_dictionaries({k: _values[k] for k in keys})
    )
)
def test_canonical_is_a_fixed_point(params: dict[str, str]) -> None:
    try:
        spec = parse_transform(params.items())
    except InvalidInput:
        return
    again = parse_transform(parse_qsl(spec.canonical(), keep_blank_values=True))
    assert again == spec
    assert again.canonical() == spec.canonical()


# -- properties ------------------------------------------------------------------------------


def test_auto_crop_follows_a_stored_focal_point() -> None:
    for query in ("w=1&h=1&crop=face", "w=1&h=1&crop=auto", "w=1&h=1&crop=1&g=face"):
        assert parse(query).depends_on_focal(True)
        assert not parse(query).depends_on_focal(False)
    assert not parse("w=1&h=1&crop=attention").depends_on_focal(True)
    assert is_truthy_crop("face") and is_truthy_crop("auto")


def test_has_effects() -> None:
    assert not parse("w=10&h=10&fit=contain&f=png&q=50&bg=ff0000").has_effects
    for query in (
        "rt=90",
        "flip=h",
        "grayscale=true",
        "blur=3",
        "sharpen=3",
        "radius=4",
        "border=1,000000",
    ):
        assert parse(query).has_effects, query


def test_dpr_multiplies_border_and_pixel_radius() -> None:
    spec = parse("w=10&dpr=1.5&border=5,ff0000&radius=7")
    assert spec.border_size == 8  # round(7.5)
    assert spec.radius_size == 10  # round(10.5), banker's rounding
    assert parse("w=10&dpr=2&radius=max").radius_size == "max"
    assert parse("w=10").border_size == 0


def test_sigma_mappings() -> None:
    assert blur_sigma(1) == pytest.approx(0.7)
    assert blur_sigma(100) == pytest.approx(20.5)
    assert sharpen_sigma(1) == pytest.approx(0.55)
    assert sharpen_sigma(100) == pytest.approx(5.5)


# -- rendering -------------------------------------------------------------------------------


def solid(width: int, height: int, colour: list[int]) -> pyvips.Image:
    return pyvips.Image.black(width, height).new_from_image(colour).copy(interpretation="srgb")


def marked(width: int = 60, height: int = 40, size: int = 6) -> bytes:
    """A blue image with a red square in the top-left corner."""
    return solid(width, height, BLUE).insert(solid(size, size, RED), 0, 0).pngsave_buffer()


def out(source: bytes, query: str, fmt: str = "png", focal=None, **kwargs) -> pyvips.Image:
    rendered = render(source, parse(query), output_format=fmt, focal=focal, **kwargs)
    image = pyvips.Image.new_from_buffer(rendered.data, "")
    assert (rendered.width, rendered.height) == (image.width, image.height)
    return image


def is_red(pixel: list[float]) -> bool:
    return pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60


def corners(image: pyvips.Image) -> dict[str, bool]:
    w, h = image.width - 2, image.height - 2
    return {
        name: is_red(image.getpoint(x, y))
        for name, (x, y) in {"nw": (1, 1), "ne": (w, 1), "sw": (1, h), "se": (w, h)}.items()
    }


def neighbour_difference(image: pyvips.Image) -> float:
    """Mean absolute difference between horizontally adjacent pixels (first band)."""
    band = image[0].cast("float")
    left = band.crop(0, 0, band.width - 1, band.height)
    right = band.crop(1, 0, band.width - 1, band.height)
    return (left - right).abs().avg()


def checkerboard(size: int = 64, cell: int = 2, low: int = 0, high: int = 255) -> bytes:
    xy = pyvips.Image.xyz(size, size)
    parity = ((xy[0] / cell).floor() + (xy[1] / cell).floor()) % 2
    grey = (parity * (high - low) + low).cast("uchar")
    return grey.bandjoin([grey, grey]).copy(interpretation="srgb").pngsave_buffer()


@pytest.mark.parametrize(
    ("query", "size", "red_at"),
    [
        ("rt=90", (40, 60), "ne"),
        ("rotate=180", (60, 40), "se"),
        ("rt=270", (40, 60), "sw"),
        ("rt=0", (60, 40), "nw"),
        ("flip=h", (60, 40), "ne"),
        ("flip=v", (60, 40), "sw"),
        ("flip=hv", (60, 40), "se"),
        ("rt=90&flip=h", (40, 60), "nw"),
    ],
)
def test_rotate_and_flip_move_the_marked_corner(
    query: str, size: tuple[int, int], red_at: str
) -> None:
    image = out(marked(), query)
    assert (image.width, image.height) == size
    found = corners(image)
    assert found[red_at]
    assert sum(found.values()) == 1


@pytest.mark.parametrize(
    ("query", "size"),
    [
        ("rt=90&w=100", (100, 200)),  # w refers to the rotated axes: 200x400 fits 100 wide
        ("rt=90&h=100", (50, 100)),
        ("rt=270&w=100&h=50&fit=fill", (100, 50)),
        ("rt=90&w=100&h=100&crop=1", (100, 100)),
        ("rt=90&w=50&h=100&crop=smart", (50, 100)),
        ("rt=90&w=300&h=300&fit=contain", (300, 300)),
        ("rt=180&w=100", (100, 50)),
    ],
)
def test_rotate_is_applied_before_sizing(query: str, size: tuple[int, int]) -> None:
    source = solid(400, 200, BLUE).pngsave_buffer()
    image = out(source, query)
    assert (image.width, image.height) == size


def test_rotate_after_exif_orientation() -> None:
    raw = solid(300, 100, WHITE).insert(solid(20, 20, RED), 10, 40).copy()
    raw.set_type(pyvips.GValue.gint_type, "orientation", 6)  # displayed 100x300, dot at top
    image = out(raw.jpegsave_buffer(), "rt=90&w=150")  # then 90° more: 300x100, dot on the right
    assert (image.width, image.height) == (150, 50)
    right = image.crop(120, 0, 30, 50)
    left = image.crop(0, 0, 120, 50)
    assert (right[0] - right[1]).max() > 150
    assert (left[0] - left[1]).max() < 60


def test_rotate_moves_the_focal_point_with_the_image() -> None:
    dot = solid(24, 24, RED)
    source = solid(1000, 600, WHITE).insert(dot, 888, 48).pngsave_buffer()
    focal = (0.9, 0.1)  # after 90° clockwise: (0.9, 0.9) of a 600x1000 image
    image = out(source, "rt=90&w=200&h=200&crop=1", focal=focal)
    assert (image[0] - image[1]).max() > 150


def test_crop_auto_uses_the_focal_point_then_attention() -> None:
    dot = solid(24, 24, RED)
    source = solid(1000, 600, WHITE).insert(dot, 888, 508).pngsave_buffer()
    focal = (0.9, 520 / 600)
    kept = out(source, "w=200&h=200&crop=face", focal=focal)
    assert (kept[0] - kept[1]).max() > 150
    auto = render(source, parse("w=200&h=200&crop=auto"), output_format="png", focal=None)
    smart = render(source, parse("w=200&h=200&crop=smart"), output_format="png", focal=None)
    assert auto.data == smart.data


def test_grayscale_gives_equal_channels() -> None:
    colours = solid(30, 20, [200, 30, 90]).insert(solid(10, 10, [10, 200, 40]), 5, 5)
    image = out(colours.pngsave_buffer(), "grayscale=true")
    assert image.bands == 3
    assert (image[0] - image[1]).abs().max() == 0
    assert (image[1] - image[2]).abs().max() == 0
    assert image.getpoint(0, 0) != image.getpoint(7, 7)


def test_grayscale_keeps_alpha() -> None:
    source = solid(20, 20, [200, 30, 90]).bandjoin(128).pngsave_buffer()
    image = out(source, "grayscale=true")
    assert image.bands == 4
    assert image.getpoint(5, 5)[3] == 128


def test_blur_reduces_neighbour_differences() -> None:
    source = checkerboard(cell=1)
    before = neighbour_difference(pyvips.Image.new_from_buffer(source, ""))
    light = neighbour_difference(out(source, "blur=1"))
    heavy = neighbour_difference(out(source, "blur=20"))
    assert before == 255
    assert light < before * 0.8
    assert heavy < light
    assert heavy < 10


def test_sharpen_increases_neighbour_differences() -> None:
    source = checkerboard(cell=8, low=100, high=150)
    before = neighbour_difference(pyvips.Image.new_from_buffer(source, ""))
    light = neighbour_difference(out(source, "sharpen=1"))
    heavy = neighbour_difference(out(source, "sharpen=60"))
    assert light > before * 1.1
    assert heavy > light


def test_blur_with_alpha_does_not_bleed_transparent_colour() -> None:
    opaque = solid(20, 40, [0, 0, 255]).bandjoin(255)
    clear = solid(20, 40, [255, 0, 0]).bandjoin(0)
    source = opaque.join(clear, "horizontal").pngsave_buffer()
    image = out(source, "blur=20")
    red, _, blue, alpha = image.getpoint(19, 20)
    assert 0 < alpha < 255
    assert blue > 200 and red < 30


def test_border_grows_the_output_with_red_edges() -> None:
    source = solid(400, 300, BLUE).pngsave_buffer()
    image = out(source, "w=40&border=5,ff0000")
    assert (image.width, image.height) == (50, 40)
    for x, y in [(0, 0), (49, 39), (2, 20), (47, 20), (25, 1), (25, 38), (4, 4)]:
        assert is_red(image.getpoint(x, y)), (x, y)
    assert image.getpoint(5, 5)[:3] == BLUE
    assert image.getpoint(25, 20)[:3] == BLUE


def test_border_with_dpr_and_jpeg() -> None:
    source = solid(400, 300, BLUE).pngsave_buffer()
    image = out(source, "w=40&dpr=2&border=5,ff0000", fmt="jpeg")
    assert (image.width, image.height) == (100, 80)
    assert is_red(image.getpoint(3, 40))
    assert image.getpoint(50, 40) == pytest.approx(BLUE, abs=6)


def test_border_is_opaque_around_transparency() -> None:
    source = solid(40, 30, BLUE).bandjoin(0).pngsave_buffer()
    image = out(source, "border=2,00ff00", fmt="webp")
    assert (image.width, image.height) == (44, 34)
    assert image.getpoint(0, 0)[3] == 255
    assert image.getpoint(20, 15)[3] == 0


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_radius_max_makes_corners_transparent(fmt: str) -> None:
    image = out(solid(40, 30, BLUE).pngsave_buffer(), "radius=max", fmt=fmt)
    assert image.bands == 4
    assert image.getpoint(0, 0)[3] == 0
    assert image.getpoint(39, 29)[3] == 0
    assert image.getpoint(20, 15)[3] == 255
    assert image.getpoint(20, 0)[3] == 255  # a pill: the long edges stay straight


def test_radius_max_of_a_square_is_a_circle() -> None:
    image = out(solid(40, 40, BLUE).pngsave_buffer(), "radius=max")
    alpha = image[3]
    assert alpha.getpoint(20, 0)[0] > 200  # top of the circle
    assert alpha.getpoint(5, 5)[0] == 0  # inside the square, outside the circle
    assert alpha.avg() == pytest.approx(255 * 3.14159 / 4, rel=0.02)


def test_radius_in_jpeg_uses_white_then_bg() -> None:
    source = solid(160, 120, BLUE).pngsave_buffer()
    white = out(source, "radius=max", fmt="jpeg")
    assert white.bands == 3
    assert min(white.getpoint(0, 0)) > 245
    assert white.getpoint(80, 60) == pytest.approx(BLUE, abs=6)
    green = out(source, "radius=max&bg=00ff00", fmt="jpeg")
    assert green.getpoint(0, 0) == pytest.approx([0, 255, 0], abs=12)


def test_pixel_radius_and_dpr() -> None:
    source = solid(400, 300, BLUE).pngsave_buffer()
    image = out(source, "w=40&dpr=2&radius=4")  # 80x60 with an 8 px radius
    assert image.getpoint(1, 1)[3] == 0
    assert image.getpoint(3, 3)[3] > 0
    assert image.getpoint(8, 0)[3] == 255
    assert image.getpoint(0, 8)[3] == 255


def test_radius_then_border() -> None:
    image = out(solid(40, 30, BLUE).pngsave_buffer(), "radius=10&border=3,ff0000")
    assert (image.width, image.height) == (46, 36)
    assert is_red(image.getpoint(0, 0)) and image.getpoint(0, 0)[3] == 255
    assert image.getpoint(3, 3)[3] == 0  # the cut corner, inside the frame
    assert image.getpoint(23, 18)[:3] == BLUE


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_bg_fills_contain_padding(fmt: str) -> None:
    source = solid(400, 200, BLUE).pngsave_buffer()
    image = out(source, "w=100&h=100&fit=contain&bg=ff0000", fmt=fmt)
    assert (image.width, image.height) == (100, 100)
    assert is_red(image.getpoint(50, 2))
    assert image.bands == 3 or image.getpoint(50, 2)[3] == 255  # opaque padding
    assert image.getpoint(50, 50)[:3] == pytest.approx(BLUE, abs=4)


def test_bg_fills_contain_padding_in_jpeg() -> None:
    source = solid(400, 200, BLUE).pngsave_buffer()
    image = out(source, "w=100&h=100&fit=contain&bg=ff0000", fmt="jpeg")
    assert is_red(image.getpoint(50, 2))


def test_bg_flattens_transparency_to_jpeg() -> None:
    source = solid(40, 30, RED).bandjoin(0).pngsave_buffer()
    image = out(source, "bg=0000ff", fmt="jpeg")
    assert image.getpoint(20, 15) == pytest.approx([0, 0, 255], abs=12)
    default = out(source, "w=40", fmt="jpeg")
    assert min(default.getpoint(20, 15)) > 245


def animated_gif(frames: int = 4) -> bytes:
    strip = pyvips.Image.arrayjoin(
        [
            solid(80, 40, [i * 60, 0, 255 - i * 60]).insert(solid(8, 8, [255, 255, 0]), 0, 0)
            for i in range(frames)
        ],
        across=1,
    ).copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", 40)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [100] * frames)
    return strip.gifsave_buffer()


@pytest.mark.parametrize("fmt", ["webp", "gif"])
@pytest.mark.parametrize(
    ("query", "size"),
    [
        ("rt=90", (40, 80)),
        ("rt=180&w=40", (40, 20)),
        ("flip=v", (80, 40)),
        ("flip=hv&grayscale=true", (80, 40)),
        ("blur=5&sharpen=5", (80, 40)),
        ("radius=max&border=2,ff0000", (84, 44)),
        ("rt=90&w=20&h=20&crop=smart&border=1,000000", (22, 22)),
    ],
)
def test_operations_animate_frame_by_frame(fmt: str, query: str, size: tuple[int, int]) -> None:
    rendered = render(animated_gif(), parse(query), output_format=fmt, focal=None)
    decoded = pyvips.Image.new_from_buffer(rendered.data, "", n=-1)
    assert (rendered.width, rendered.height) == size
    assert decoded.get("n-pages") == 4
    assert decoded.get("page-height") == size[1]
    assert decoded.get("delay") == [100] * 4


def test_rotate_and_flip_keep_the_frame_order() -> None:
    for query, corner in (("rt=180", "se"), ("flip=v", "sw")):
        rendered = render(animated_gif(), parse(query), output_format="webp", focal=None)
        frames = pyvips.Image.new_from_buffer(rendered.data, "", n=-1)
        for index in range(4):
            frame = frames.crop(0, index * 40, 80, 40)
            assert frame.getpoint(40, 20)[0] == pytest.approx(index * 60, abs=12), query
            x = 78 if corner == "se" else 1
            yellow = frame.getpoint(x, 38)
            assert yellow[0] > 200 and yellow[1] > 200 and yellow[2] < 80, (query, index)


def test_border_counts_towards_the_render_limits() -> None:
    source = solid(400, 200, BLUE).pngsave_buffer()
    spec = parse("h=200&fit=outside&border=10,ff0000")
    render(source, spec, output_format="png", focal=None, limits=Limits(max_side=420))
    with pytest.raises(OutputTooLarge):
        render(source, spec, output_format="png", focal=None, limits=Limits(max_side=419))


def test_plain_transforms_skip_the_operations(monkeypatch) -> None:
    def no_effects(*args, **kwargs):
        raise AssertionError("the fast path ran an imgbt operation")

    monkeypatch.setattr(render_module, "_effects", no_effects)
    monkeypatch.setattr(render_module, "_rotate", no_effects)
    source = solid(400, 200, BLUE).pngsave_buffer()
    for query in ("w=100", "w=50&h=50&crop=1", "w=100&h=100&fit=contain&bg=ff0000", "f=webp"):
        render(source, parse(query), output_format="png", focal=None)
