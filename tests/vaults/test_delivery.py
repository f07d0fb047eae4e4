"""§8 public delivery `/{vaultId}/{partition}/{collection}/{channel}/{filename}`."""

import pyvips

from pixvault.domain.ids import new_id, to_ulid
from tests.helpers import jpeg, png
from tests.vaults.support import error, pathname

HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>x()</script></svg>'


def local(asset: dict) -> str:
    """The asset's delivery URL on the test client (PUBLIC_URL is http://cdn.test)."""
    assert asset["url"].startswith("http://cdn.test/")
    return asset["url"].removeprefix("http://cdn.test")


def size_of(data: bytes) -> tuple[int, int]:
    image = pyvips.Image.new_from_buffer(data, "")
    return image.width, image.height


async def test_the_original_bytes_with_their_headers(client, put):
    data = jpeg(90, 60)
    asset = await put(data, filename="photo.jpg")
    response = await client.get(local(asset))
    assert response.status_code == 200
    assert response.content == data
    headers = response.headers
    assert headers["content-type"] == "image/jpeg"
    assert headers["content-length"] == str(len(data))
    assert headers["accept-ranges"] == "bytes"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "public, max-age=60"
    etag = headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = await client.get(local(asset), headers={"If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["etag"] == etag
    head = await client.head(local(asset))
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["content-type"] == "image/jpeg"


async def test_single_ranges_are_206(client, put):
    data = bytes(range(256)) * 10
    asset = await put(data, filename="bytes.bin")
    response = await client.get(local(asset), headers={"Range": "bytes=10-19"})
    assert response.status_code == 206
    assert response.content == data[10:20]
    assert response.headers["content-range"] == f"bytes 10-19/{len(data)}"
    tail = await client.get(local(asset), headers={"Range": "bytes=-5"})
    assert (tail.status_code, tail.content) == (206, data[-5:])


async def test_percent_encoded_names_with_spaces_and_unicode(client, put, vault_id):
    for name in ("my photo.png", "café crème ☕.png", "50% off (1) & more+.png", "日本.png"):
        data = png(20, 10)
        asset = await put(data, filename=name)
        response = await client.get(local(asset))
        assert response.status_code == 200, (name, response.text)
        assert response.content == data
        assert local(asset) == pathname(vault_id, asset["path"])
    # the SDK builds URLs with WHATWG's path encoding: fewer characters escaped
    whatwg = f"/{vault_id}/acme/office/avatars/50%25%20off%20(1)%20&%20more+.png"
    assert (await client.get(whatwg)).status_code == 200


async def test_any_file_is_served_as_stored_with_its_type(client, put):
    pdf = b"%PDF-1.4\n%%EOF\n"
    asset = await put(pdf, filename="doc.pdf")
    response = await client.get(local(asset))
    assert response.status_code == 200 and response.content == pdf
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "public, max-age=60"


async def test_active_content_is_never_rendered_inline(client, put):
    for data, name, content_type in (
        (HTML, "page.html", "text/html"),
        (HTML, "page.htm", None),
        (SVG, "logo.svg", "image/svg+xml"),
        (SVG, "icon.svg", None),
        (b"alert(1)", "app.js", "text/javascript"),
        (b"<?xml version='1.0'?><a/>", "feed.xml", "application/xml"),
    ):
        asset = await put(data, filename=name, content_type=content_type)
        response = await client.get(local(asset))
        assert response.status_code == 200 and response.content == data
        disposition = response.headers.get("content-disposition", "")
        sandbox = response.headers.get("content-security-policy", "")
        assert disposition.startswith("attachment") or "sandbox" in sandbox, response.headers
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_transforms(client, put):
    asset = await put(jpeg(200, 100), filename="wide.jpg")
    url = local(asset)

    async def fetched(**params):
        response = await client.get(url, params=params)
        assert response.status_code == 200, (params, response.text)
        return response

    assert size_of((await fetched(w="50")).content) == (50, 25)
    assert size_of((await fetched(h="20")).content) == (40, 20)
    assert size_of((await fetched(width="60")).content) == (60, 30)
    both = await fetched(w="40", h="40")  # imgbt's default fit: cover
    assert size_of(both.content) == (40, 40)
    assert both.headers["content-type"] == "image/jpeg"
    assert "immutable" not in both.headers["cache-control"]
    assert size_of((await fetched(width="30", height="50")).content) == (30, 50)
    assert size_of((await fetched(w="40", h="40", fit="inside")).content) == (40, 20)
    assert size_of((await fetched(w="40", h="40", fit="fill")).content) == (40, 40)
    webp = await fetched(w="50", format="webp")
    assert webp.headers["content-type"] == "image/webp"
    assert webp.content[8:12] == b"WEBP" and size_of(webp.content) == (50, 25)
    assert (await fetched(f="png")).headers["content-type"] == "image/png"
    low, high = await fetched(q="5"), await fetched(quality="95")
    assert len(low.content) < len(high.content)
    assert (await fetched(f="png", q="50")).status_code == 200  # ignored for png
    etag = both.headers["etag"]
    cached = await client.get(url, params={"w": "40", "h": "40"}, headers={"If-None-Match": etag})
    assert cached.status_code == 304


ALIASES = {"width": "w", "height": "h", "quality": "q", "f": "format", "rotate": "rt"}


async def test_bad_transform_values_are_400_naming_the_parameter(client, put):
    asset = await put(png(40, 40), filename="t.png")
    for name, value in (
        ("w", "0"),
        ("w", "8193"),
        ("w", "abc"),
        ("w", "1.5"),
        ("h", "-1"),
        ("width", "0"),
        ("height", "x"),
        ("q", "0"),
        ("q", "101"),
        ("quality", "x"),
        ("format", "bmp"),
        ("f", "tiff"),
        ("fit", "stretch"),
        ("dpr", "4"),
        ("rotate", "45"),
        ("blur", "0"),
        ("flip", "x"),
        ("bogus", "1"),
    ):
        response = await client.get(local(asset), params={name: value})
        err = error(response, 400, "INVALID_PARAMS")
        named = {name, ALIASES.get(name, name)}  # the name sent, or its canonical alias
        assert any(n in err["message"] for n in named), (name, err)


async def test_transforms_on_a_file_that_is_not_an_image_are_400(client, put):
    asset = await put(b"%PDF-1.4\n%%EOF\n", filename="doc.pdf")
    for params in ({"w": "100"}, {"format": "webp"}, {"q": "50"}):
        response = await client.get(local(asset), params=params)
        error(response, 400, "INVALID_PARAMS", names=next(iter(params)))


async def test_unknown_vaults_and_paths_are_404_in_the_vault_envelope(client, put, other):
    asset = await put(png(), filename="here.png")
    path, vault_id = asset["path"], asset["vault_id"]
    for vault in ("vault_" + to_ulid(new_id()), "vault_" + "U" * 26, "vault_short"):
        error(await client.get(pathname(vault, path)), 404, "NOT_FOUND")
        assert (await client.head(pathname(vault, path))).status_code == 404
    # another vault holds no such file
    error(await client.get(pathname(other[0].vault_id, path)), 404, "ASSET_NOT_FOUND")
    for missing in ("acme/office/avatars/missing.png", "acme/office/avatars/HERE.png"):
        error(await client.get(pathname(vault_id, missing)), 404, "ASSET_NOT_FOUND")
    error(await client.get(pathname(vault_id, "acme/office/here.png")), 404, "NOT_FOUND")
