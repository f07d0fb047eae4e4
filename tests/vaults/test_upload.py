"""§4 upload: the SDK's form, names, types, folder and field rules, uniqueness."""

import asyncio
import io
import json
import re

from PIL import Image as PILImage

from tests.helpers import blob_keys, jpeg, nothing_stored, png, row_count, webp
from tests.vaults.support import (
    RECORD_FIELDS,
    Part,
    SdkUpload,
    bearer,
    check_record,
    delivery_url,
    error,
    image_uuid,
    post_form,
    route_forms,
    sdk_upload,
)

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20 + b"hello.txt" + b"\x00" * 30
TEXT = b"just some words, no magic number at all\n"
GENERATED = re.compile(r"upload-[0-9A-Za-z]{26}\.(\w+)")


def gif(width: int = 12, height: int = 9) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), (255, 0, 0)).save(out, "GIF")
    return out.getvalue()


async def stored_bytes(core, project, asset) -> bytes:
    image = await core.library.get(project, image_uuid(asset))
    return await core.blobs.get(image.storage_key)


# -- the SDK's form ------------------------------------------------------------------------


async def test_the_sdk_form_without_a_filename(client, core, project, sk, vault_id):
    """file first, named `upload`, application/octet-stream; then the folder fields and the
    JSON text fields; no filename part: the server names the file."""
    data = jpeg(80, 60)
    response = await sdk_upload(
        client, sk, data, metadata='{"userId": "123"}', tags='["profile", "employee"]'
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    asset = response.json()
    check_record(asset, vault_id)
    found = GENERATED.fullmatch(asset["filename"])
    assert found and found.group(1) in ("jpg", "jpeg"), asset["filename"]
    assert (asset["partition"], asset["collection"], asset["channel"]) == (
        "acme",
        "office",
        "avatars",
    )
    assert (asset["size"], asset["mime_type"], asset["width"], asset["height"]) == (
        len(data),
        "image/jpeg",
        80,
        60,
    )
    assert json.loads(asset["metadata"]) == {"userId": "123"}
    assert json.loads(asset["tags"]) == ["profile", "employee"]
    assert asset["created_at"] == asset["updated_at"]
    assert asset["pages"] is None
    assert asset["url"] == f"http://cdn.test/{vault_id}/acme/office/avatars/{asset['filename']}"
    assert asset["r2_key"] == f"{vault_id}/acme/office/avatars/{asset['id']}_{asset['filename']}"
    assert await stored_bytes(core, project, asset) == data


async def test_the_record_has_exactly_the_contracts_fields(client, sk, put, vault_id):
    asset = await put(png(), filename="fields.png")
    assert set(asset) == RECORD_FIELDS, set(asset) ^ RECORD_FIELDS
    listed = (await client.get("/v1/assets", headers=bearer(sk))).json()["data"]
    assert [set(a) for a in listed] == [RECORD_FIELDS]


async def test_the_sdk_form_with_a_filename(client, put, vault_id):
    asset = await put(png(), filename="jane.png", content_type="image/png")
    check_record(asset, vault_id)
    assert asset["filename"] == "jane.png" and asset["path"] == "acme/office/avatars/jane.png"
    assert (asset["metadata"], asset["tags"]) == ("{}", "[]")


async def test_the_filename_part_overrides_the_file_parts_name(put):
    asset = await put(png(), file_name="original.png", filename="chosen.png")
    assert asset["filename"] == "chosen.png"


async def test_without_a_filename_part_the_file_parts_name_is_kept(put):
    asset = await put(png(), file_name="from-the-part.png")
    assert asset["filename"] == "from-the-part.png"


async def test_placeholders_get_a_unique_generated_name(put):
    names = []
    for placeholder in ("upload", "blob", ""):
        names.append(
            (await put(jpeg(), file_name=placeholder, content_type="image/jpeg"))["filename"]
        )
        names.append((await put(jpeg(), file_name=placeholder))["filename"])  # no conflict
        pdf = (await put(PDF, file_name=placeholder))["filename"]
        assert GENERATED.fullmatch(pdf).group(1) == "pdf", pdf
        names.append(pdf)
    assert all(GENERATED.fullmatch(n) for n in names), names
    assert len(set(names)) == 9


async def test_an_explicit_filename_part_is_kept_even_when_it_reads_upload(put):
    """The SDK caller passed `filename: 'upload'`: it sends both the file part's name and a
    filename part `upload`; the filename part is present, so it is the stored name."""
    asset = await put(png(), filename="upload")
    assert asset["filename"] == "upload"


async def test_names_with_spaces_unicode_case_and_a_leading_dot(put, vault_id):
    for name in ("my photo é.png", "日本語の名前.JPG", ".hidden", "UPPER.png", "a" * 251 + ".png"):
        asset = await put(png(), filename=name)
        check_record(asset, vault_id)
        assert asset["filename"] == name
        assert asset["url"] == delivery_url(vault_id, f"acme/office/avatars/{name}")


async def test_names_are_case_sensitive(put):
    upper = await put(png(), filename="Photo.png")
    lower = await put(png(), filename="photo.png")
    assert upper["id"] != lower["id"]


async def test_other_parts_are_ignored(client, sk):
    upload = SdkUpload(
        png(),
        filename="x.png",
        extra=[Part("unknown", "value"), Part("attachment", b"bytes", "other.bin", "text/plain")],
    )
    response = await post_form(client, "/v1/assets", upload.parts(), bearer(sk))
    assert response.status_code == 201, response.text


async def test_parts_in_any_order(client, sk, put):
    upload = SdkUpload(png(10, 10), filename="late-file.png", tags='["t"]')
    parts = upload.parts()
    reordered = [*parts[1:], parts[0]]  # the fields first, the file last
    response = await post_form(client, "/api/v1/assets", reordered, bearer(sk))
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "late-file.png" and response.json()["width"] == 10


# -- types and dimensions ------------------------------------------------------------------


TYPED = [
    (PDF, "contract.pdf", None, "application/pdf"),
    (PDF, "contract", "text/plain", "application/pdf"),  # the bytes win
    (ZIP, "archive.zip", None, "application/zip"),
    (TEXT, "notes", "text/plain", "text/plain"),  # the client's type
    (TEXT, "notes.txt", "text/csv", "text/csv"),  # the client's type before the name
    (TEXT, "notes.txt", None, "text/plain"),  # the extension
    (TEXT, "notes.html", None, "text/html"),
    (TEXT, "notes", None, "application/octet-stream"),  # nothing says
]


async def test_any_file_type_with_the_type_from_bytes_then_client_then_name(put, vault_id):
    for i, (data, filename, content_type, mime) in enumerate(TYPED):
        asset = await put(data, filename=filename, content_type=content_type, channel=f"c{i}")
        check_record(asset, vault_id)
        assert (asset["mime_type"], asset["content_type"]) == (mime, mime), filename
        assert (asset["width"], asset["height"], asset["size"]) == (None, None, len(data))


async def test_images_are_named_and_measured_by_their_bytes(put):
    """A PNG sent as application/pdf (named .pdf) is image/png, with its dimensions."""
    for data, mime, size in (
        (png(31, 17), "image/png", (31, 17)),
        (jpeg(33, 21), "image/jpeg", (33, 21)),
        (webp(19, 23), "image/webp", (19, 23)),
        (gif(12, 9), "image/gif", (12, 9)),
    ):
        asset = await put(data, filename=f"{mime[6:]}.pdf", content_type="application/pdf")
        assert (asset["mime_type"], asset["width"], asset["height"]) == (mime, *size)


async def test_a_truncated_image_is_stored_without_dimensions(core, project, put):
    data = png(200, 200)[:120]
    asset = await put(data, filename="broken.png", content_type="image/png")
    assert (asset["mime_type"], asset["width"], asset["height"]) == ("image/png", None, None)
    assert await stored_bytes(core, project, asset) == data


# -- refusals: nothing stored --------------------------------------------------------------

BAD_FOLDERS = ["", "A", "Acme", "-a", "a-", "a_b", "a b", "a.b", "a/b", "é", "a" * 65, " a"]


async def test_folder_components_outside_the_grammar_are_400_naming_the_field(client, core, sk):
    for level in ("partition", "collection", "channel"):
        for value in BAD_FOLDERS:
            response = await sdk_upload(client, sk, png(), filename="x.png", **{level: value})
            error(response, 400, "INVALID_PARAMS", names=level)
    assert await nothing_stored(core)
    for level in ("partition", "collection", "channel"):
        for value in ("a", "0", "a--b", "a" * 64, "9-z"):
            name = f"{level}-{value}.png"
            response = await sdk_upload(client, sk, png(), filename=name, **{level: value})
            assert response.status_code == 201, (value, response.text)
            assert response.json()[level] == value
    assert await row_count(core) == 15


async def test_missing_required_parts_are_400_naming_them(client, core, sk):
    for level in ("partition", "collection", "channel"):
        response = await sdk_upload(client, sk, png(), filename="x.png", **{level: None})
        error(response, 400, "INVALID_PARAMS", names=level)
    without_file = [Part("partition", "a"), Part("collection", "b"), Part("channel", "c")]
    error(
        await post_form(client, "/v1/assets", without_file, bearer(sk)),
        400,
        "INVALID_PARAMS",
        "file",
    )
    not_a_file = [Part("file", b"bytes"), *without_file]  # a part without a filename parameter
    response = await post_form(client, "/v1/assets", not_a_file, bearer(sk))
    error(response, 400, "INVALID_PARAMS", "file")
    for body in ({"json": {"partition": "a"}}, {"content": b""}, {"data": {"partition": "a"}}):
        error(await client.post("/v1/assets", headers=bearer(sk), **body), 400, "INVALID_PARAMS")
    broken = await client.post(
        "/v1/assets",
        content=b"--b\r\nnot a part at all",
        headers={**bearer(sk), "Content-Type": "multipart/form-data; boundary=b"},
    )
    error(broken, 400, "INVALID_PARAMS")
    assert await nothing_stored(core)


BAD_NAMES = [
    "a/b.png",
    "a\\b.png",
    "..",
    "x..y.png",
    "../up.png",
    "tab\there.png",
    "nul\x00.png",
    "bell\x07.png",
    "newline\n.png",
    "del\x7f.png",
    "é" * 128,  # 256 bytes of UTF-8
    "a" * 256,
]


async def test_filenames_breaking_the_safe_name_rule_are_400(client, core, sk):
    for name in BAD_NAMES:
        response = await sdk_upload(client, sk, png(), filename=name)
        error(response, 400, "INVALID_PARAMS", names="filename")
    # the file part's own name follows the same rule
    for name in ("dir/x.png", "..", "x" * 256):
        response = await sdk_upload(client, sk, png(), file_name=name)
        error(response, 400, "INVALID_PARAMS", names="filename")
    assert await nothing_stored(core)


async def test_metadata_and_tags_must_be_the_right_json(client, core, sk):
    bad = {
        "metadata": ["{", "not json", "[1, 2]", '"text"', "1", "true", "null", "{'a': 1}"],
        "tags": [
            "[",
            "tag",
            '{"a": 1}',
            "[1]",
            '["ok", 2]',
            '["ok", null]',
            '"one"',
            "null",
            '[""]',
            json.dumps(["x" * 257]),
            json.dumps([f"t{i}" for i in range(101)]),
        ],
    }
    for name, values in bad.items():
        for value in values:
            response = await sdk_upload(client, sk, png(), filename="x.png", **{name: value})
            error(response, 400, "INVALID_PARAMS", names=name)
    too_long = json.dumps({"k": "v" * 70_000})
    error(
        await sdk_upload(client, sk, png(), filename="x.png", metadata=too_long),
        400,
        "INVALID_PARAMS",
        names="metadata",
    )
    assert await nothing_stored(core)


async def test_metadata_holds_any_json_values_and_tags_keep_their_order(put):
    metadata = {"nested": {"list": [1, None, "é"]}, "n": 1.5, "b": False, "s": "☃"}
    tags = ["zebra", "apple", "mango", "x" * 256] + [f"t{i}" for i in range(96)]
    asset = await put(png(), filename="x.png", metadata=json.dumps(metadata), tags=json.dumps(tags))
    assert json.loads(asset["metadata"]) == metadata
    assert json.loads(asset["tags"]) == tags


async def test_a_zero_byte_file_is_400(client, core, sk):
    for name in ("empty.txt", None):
        response = await sdk_upload(client, sk, b"", filename=name)
        error(response, 400, "INVALID_PARAMS", names="file")
    assert await nothing_stored(core)


# -- uniqueness ----------------------------------------------------------------------------


async def test_a_second_upload_to_the_same_path_is_409_and_overwrites_nothing(
    client, core, project, sk, put, vault_id
):
    first = await put(png(20, 20), filename="same.png", metadata='{"v": 1}')
    keys = await blob_keys(core)
    for path in route_forms(vault_id, "/assets"):
        response = await sdk_upload(
            client, sk, jpeg(), path=path, filename="same.png", metadata='{"v": 2}'
        )
        error(response, 409, "CONFLICT")
    assert await row_count(core) == 1 and await blob_keys(core) == keys
    assert (await client.get(f"/v1/assets/{first['id']}", headers=bearer(sk))).json() == first
    assert await stored_bytes(core, project, first) == png(20, 20)
    # another channel, or another case, is another path
    assert (await put(png(), filename="same.png", channel="other"))["id"] != first["id"]
    assert (await put(png(), filename="SAME.png"))["id"] != first["id"]


async def test_concurrent_uploads_to_one_path_have_exactly_one_winner(client, core, project, sk):
    bodies = [jpeg(20 + i, 20) for i in range(6)]
    responses = await asyncio.gather(
        *(sdk_upload(client, sk, b, filename="race.jpg") for b in bodies)
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            error(response, 409, "CONFLICT")
    winner = next(r for r in responses if r.status_code == 201).json()
    assert await row_count(core) == 1 and len(await blob_keys(core)) == 1
    assert await stored_bytes(core, project, winner) == bodies[winner["width"] - 20]


async def test_the_path_is_free_again_after_a_delete(client, core, project, sk, put):
    first = await put(png(20, 20), filename="again.png")
    deleted = await client.delete(f"/v1/assets/{first['id']}", headers=bearer(sk))
    assert deleted.status_code == 204
    second = await put(jpeg(30, 30), filename="again.png")
    assert second["id"] != first["id"] and second["path"] == first["path"]
    assert second["mime_type"] == "image/jpeg"
    delivered = await client.get(second["url"].removeprefix("http://cdn.test"))
    assert delivered.status_code == 200 and delivered.content == jpeg(30, 30)
    assert await row_count(core) == 1
