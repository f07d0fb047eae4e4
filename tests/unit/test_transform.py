from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixvault.domain.errors import InvalidInput
from pixvault.domain.transform import Limits, Transform, negotiate_format, parse_transform
from pixvault.http.native.errors import TABLE


def parse(query: str, limits: Limits = Limits()) -> Transform:
    return parse_transform(parse_qsl(query, keep_blank_values=True), limits)


def rejects(query: str, param: str, limits: Limits = Limits()) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        parse(query, limits)
    assert info.value.param == param
    assert TABLE.lookup(info.value)[0] == 400
    return info.value


# accepted names and aliases


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("w=100", Transform(width=100, fit="inside")),
        ("width=100", Transform(width=100, fit="inside")),
        ("h=50", Transform(height=50, fit="inside")),
        ("height=50", Transform(height=50, fit="inside")),
        ("w=10&h=20&fit=cover", Transform(width=10, height=20, fit="cover")),
        ("w=10&h=20&fit=contain", Transform(width=10, height=20, fit="contain")),
        ("w=10&h=20&fit=fill", Transform(width=10, height=20, fit="fill")),
        ("w=10&fit=inside", Transform(width=10, fit="inside")),
        ("h=10&fit=outside", Transform(height=10, fit="outside")),
        ("w=10&h=20&crop=true", Transform(width=10, height=20, fit="cover")),
        ("w=10&h=20&crop=1", Transform(width=10, height=20, fit="cover")),
        ("w=10&h=20&crop=false", Transform(width=10, height=20, fit="inside")),
        ("w=10&h=20&crop=0", Transform(width=10, height=20, fit="inside")),
        ("w=10&h=20&crop=focal", Transform(width=10, height=20, fit="cover", crop="focal")),
        ("w=10&h=20&crop=smart", Transform(width=10, height=20, fit="cover", crop="smart")),
        ("w=10&h=20&crop=attention", Transform(width=10, height=20, fit="cover", crop="smart")),
        ("w=10&h=20&crop=entropy", Transform(width=10, height=20, fit="cover", crop="entropy")),
        ("w=10&h=20&crop=centre", Transform(width=10, height=20, fit="cover", crop="center")),
        ("w=10&h=20&crop=1&gravity=ne", Transform(width=10, height=20, fit="cover", gravity="ne")),
        ("w=10&h=20&fit=cover&g=north", Transform(width=10, height=20, fit="cover", gravity="n")),
        ("w=1&h=1&crop=1&g=bottom-left", Transform(width=1, height=1, fit="cover", gravity="sw")),
        ("w=1&h=1&crop=1&g=top", Transform(width=1, height=1, fit="cover", gravity="n")),
        ("w=1&h=1&crop=1&g=focal", Transform(width=1, height=1, fit="cover", crop="focal")),
        ("w=1&h=1&crop=1&g=smart", Transform(width=1, height=1, fit="cover", crop="smart")),
        ("format=jpeg", Transform(format="jpeg")),
        ("format=jpg", Transform(format="jpeg")),
        ("f=JPG", Transform(format="jpeg")),
        ("f=png", Transform(format="png")),
        ("f=webp", Transform(format="webp")),
        ("f=avif", Transform(format="avif")),
        ("f=gif", Transform(format="gif")),
        ("f=auto", Transform(format="auto")),
        ("q=1", Transform(quality=1)),
        ("quality=100", Transform(quality=100)),
        ("w=10&dpr=1.5", Transform(width=10, fit="inside", dpr=1.5)),
        ("w=10&dpr=3", Transform(width=10, fit="inside", dpr=3.0)),
        ("w=10&dpr=1", Transform(width=10, fit="inside")),
        ("s=abc&preset=thumb", Transform()),
        ("", Transform()),
    ],
)
def test_accepted(query: str, expected: Transform) -> None:
    assert parse(query) == expected


def test_canonical_ignores_aliases_and_order() -> None:
    variants = [
        "w=300&h=200&crop=attention&format=jpg&q=75&dpr=2",
        "dpr=2.00&quality=75&f=jpeg&g=smart&height=200&width=300&fit=cover",
        "f=JPEG&crop=smart&h=200&w=300&q=75&dpr=2.0",
    ]
    canon = {parse(v).canonical() for v in variants}
    assert canon == {"w=300&h=200&dpr=2&fit=cover&crop=smart&format=jpeg&q=75"}


def test_canonical_gravity_spellings() -> None:
    spellings = ["north", "n", "top", "N"]
    canon = {parse(f"w=5&h=5&crop=1&g={g}").canonical() for g in spellings}
    assert canon == {"w=5&h=5&fit=cover&gravity=n"}


def test_default_fit_is_explicit_inside() -> None:
    assert parse("w=10").canonical() == parse("w=10&fit=inside").canonical()


def test_properties() -> None:
    assert parse("").is_identity
    assert not parse("f=webp").is_identity
    assert parse("w=1&h=1&fit=cover").crops
    assert parse("w=1&h=1&crop=entropy").crops
    assert not parse("w=1&h=1").crops
    assert parse("w=4&dpr=1.5").target_size == (6, None)


def test_depends_on_focal() -> None:
    assert parse("w=1&h=1&crop=1").depends_on_focal(True)
    assert not parse("w=1&h=1&crop=1").depends_on_focal(False)
    assert parse("w=1&h=1&crop=focal").depends_on_focal(False)
    assert not parse("w=1&h=1&crop=smart").depends_on_focal(True)
    assert not parse("w=1&h=1&crop=1&g=ne").depends_on_focal(True)
    assert not parse("w=1&h=1").depends_on_focal(True)


def test_with_format() -> None:
    assert parse("w=1").with_format("jpg") == Transform(width=1, fit="inside", format="jpeg")
    with pytest.raises(InvalidInput):
        parse("w=1").with_format("bmp")


# rejections, one case per test


def test_unknown_param() -> None:
    err = rejects("w=1&bluur=3", "bluur")
    assert "accepted" in err.message and "width" in err.message


def test_duplicate_param() -> None:
    rejects("w=1&w=2", "w")


def test_duplicate_via_alias() -> None:
    rejects("w=1&width=2", "width")


def test_non_integer() -> None:
    err = rejects("w=abc", "w")
    assert err.message == "w must be an integer from 1 to 8192, got 'abc'"


def test_float_width() -> None:
    rejects("h=1.5", "h")


def test_zero() -> None:
    rejects("w=0", "w")


def test_negative() -> None:
    rejects("h=-5", "h")


def test_whitespace_padded_number() -> None:
    rejects("w= 10", "w")


def test_too_big_side() -> None:
    rejects("w=8193", "w")


def test_huge_number() -> None:
    rejects("w=" + "9" * 5000, "w")


def test_side_too_big_with_dpr() -> None:
    rejects("w=5000&dpr=2", "dpr")


def test_area_too_big_with_dpr() -> None:
    err = rejects("w=4000&h=4000&dpr=1.5", "dpr")
    assert "area" in err.message


def test_area_too_big_without_dpr() -> None:
    rejects("w=6000&h=6000", "h")


def test_custom_limits() -> None:
    rejects("w=101", "w", Limits(max_side=100))


def test_bad_fit() -> None:
    rejects("w=1&h=1&fit=stretch", "fit")


def test_bad_format() -> None:
    err = rejects("format=bmp", "format")
    assert "'bmp'" in err.message and "webp" in err.message


def test_quality_zero() -> None:
    rejects("q=0", "q")


def test_quality_too_high() -> None:
    rejects("quality=101", "q")


def test_dpr_too_small() -> None:
    rejects("w=1&dpr=0.5", "dpr")


def test_dpr_too_large() -> None:
    rejects("w=1&dpr=4", "dpr")


def test_dpr_too_precise() -> None:
    rejects("w=1&dpr=1.333", "dpr")


def test_dpr_not_a_number() -> None:
    rejects("w=1&dpr=nan", "dpr")


def test_dpr_without_size() -> None:
    rejects("dpr=2", "dpr")


def test_crop_with_one_dimension() -> None:
    err = rejects("w=100&crop=true", "crop")
    assert "both w and h" in err.message


def test_cover_with_one_dimension() -> None:
    rejects("w=100&fit=cover", "fit")


def test_fit_without_size() -> None:
    rejects("fit=inside", "fit")


def test_empty_value() -> None:
    rejects("w=", "w")


def test_empty_enum_value() -> None:
    rejects("f=", "format")


def test_bad_crop() -> None:
    rejects("w=1&h=1&crop=up", "crop")


def test_bad_gravity() -> None:
    rejects("w=1&h=1&crop=1&g=up", "gravity")


def test_gravity_without_crop() -> None:
    rejects("w=1&h=1&g=ne", "gravity")


def test_gravity_conflicts_with_crop_strategy() -> None:
    rejects("w=1&h=1&crop=smart&g=ne", "gravity")


def test_crop_conflicts_with_fit() -> None:
    rejects("w=1&h=1&fit=contain&crop=1", "crop")


def test_crop_false_conflicts_with_cover() -> None:
    rejects("w=1&h=1&fit=cover&crop=false", "crop")


# format negotiation

CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


def test_auto_prefers_avif() -> None:
    assert negotiate_format(parse("f=auto"), CHROME, "image/jpeg", avif_enabled=True) == (
        "avif",
        True,
    )


def test_auto_webp_when_avif_disabled() -> None:
    got = negotiate_format(parse("f=auto"), CHROME, "image/jpeg", avif_enabled=False)
    assert got == ("webp", True)


def test_auto_falls_back_to_source() -> None:
    got = negotiate_format(parse("f=auto"), "image/*,*/*", "image/png", avif_enabled=True)
    assert got == ("png", True)


def test_auto_ignores_q_zero() -> None:
    accept = "image/avif;q=0,image/webp"
    got = negotiate_format(parse("f=auto"), accept, "image/png", avif_enabled=True)
    assert got == ("webp", True)


def test_auto_skips_avif_for_animation() -> None:
    got = negotiate_format(parse("f=auto"), CHROME, "image/gif", avif_enabled=True, animated=True)
    assert got == ("webp", True)


def test_explicit_format_does_not_vary() -> None:
    got = negotiate_format(parse("f=jpg"), CHROME, "image/png", avif_enabled=True)
    assert got == ("jpeg", False)


def test_no_format_keeps_source() -> None:
    assert negotiate_format(parse("w=5"), CHROME, "image/gif", avif_enabled=True) == ("gif", False)
    assert negotiate_format(parse(""), None, "image/png", avif_enabled=True) == ("png", False)


def test_auto_by_default() -> None:
    got = negotiate_format(
        parse("w=5"), CHROME, "image/png", avif_enabled=False, auto_by_default=True
    )
    assert got == ("webp", True)


def test_no_accept_header() -> None:
    got = negotiate_format(parse("f=auto"), None, "image/jpeg", avif_enabled=True)
    assert got == ("jpeg", True)


def test_undeliverable_source_becomes_jpeg() -> None:
    assert negotiate_format(parse(""), None, "image/heic", avif_enabled=True) == ("jpeg", False)


# canonical() is a fixed point of parsing

_values = {
    "w": st.sampled_from(["1", "64", "0300", "8192", "x", ""]),
    "width": st.sampled_from(["7", "120"]),
    "h": st.sampled_from(["1", "48", "200", "-1"]),
    "fit": st.sampled_from(["cover", "contain", "fill", "inside", "outside", "bad"]),
    "crop": st.sampled_from(["true", "1", "false", "0", "focal", "attention", "entropy", "centre"]),
    "g": st.sampled_from(["north", "se", "top-left", "center", "focal", "smart", "zz"]),
    "f": st.sampled_from(["jpg", "png", "webp", "avif", "gif", "auto", "bmp"]),
    "q": st.sampled_from(["1", "80", "100", "0"]),
    "dpr": st.sampled_from(["1", "1.5", "2.25", "3", "0.5"]),
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
