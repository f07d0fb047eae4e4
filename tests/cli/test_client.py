"""`pixvault.client` against a real server over HTTP: typed results and typed errors."""

import hashlib
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pixvault.client import (
    NO_FLOW,
    ApiError,
    AsyncClient,
    Client,
    Forbidden,
    Image,
    NotFound,
    RetryPolicy,
    ServerError,
    ServerUnreachable,
    Unauthorized,
    file_sha256,
)
from tests.cli.conftest import Remote, Tenant, write
from tests.helpers import jpeg, png


@pytest.fixture
def pv(remote: Remote, project) -> Client:
    with Client(remote.base, project.key) as client:
        yield client


def test_upload_a_path_with_alias_and_meta_then_get_it(pv: Client, tmp_path):
    data = jpeg(64, 48, (10, 200, 10))
    path = write(tmp_path / "leaf.jpg", data)
    sent: list[int] = []
    image = pv.upload(path, alias="@leaf", meta={"by": "test"}, progress=sent.append)
    assert isinstance(image, Image)
    assert (image.mime_type, image.width, image.height, image.size) == (
        "image/jpeg", 64, 48, len(data),
    )  # fmt: skip
    assert image.sha256 == hashlib.sha256(data).hexdigest() == file_sha256(path)
    assert (image.alias, image.meta) == ("@leaf", {"by": "test"})
    assert image.created_at is not None and image.created_at.tzinfo is not None
    assert sent[-1] == len(data)
    assert pv.get("@leaf") == image
    assert pv.get(image.id).url == image.url


def test_upload_bytes_and_file_objects(pv: Client):
    one = pv.upload(png(8, 8), filename="dot.png")
    two = pv.upload(io.BytesIO(jpeg(color=(1, 2, 250))), filename="blue.jpg", flow_id=NO_FLOW)
    assert (one.mime_type, two.mime_type) == ("image/png", "image/jpeg")
    assert two.flow_id is None
    assert one.flow_id is not None  # no flow named: a new one of its own


def test_list_pages_and_iterates(pv: Client):
    made = [pv.upload(jpeg(color=(n * 20, 0, 0)), filename=f"{n}.jpg").id for n in range(3)]
    page = pv.list(limit=2)
    assert [i.id for i in page.items] == made[::-1][:2]
    assert (page.total, page.limit, page.offset, page.has_more) == (3, 2, 0, True)
    assert [i.id for i in pv.iter_images()] == made[::-1]


def test_find_by_hash(pv: Client):
    data = jpeg(color=(77, 77, 7))
    assert pv.find_by_hash(hashlib.sha256(data).hexdigest()) is None
    image = pv.upload(data, filename="x.jpg")
    assert pv.find_by_hash(hashlib.sha256(data).hexdigest()) == image


def test_delete_then_get_is_a_typed_not_found(pv: Client):
    image = pv.upload(jpeg(color=(5, 50, 250)), filename="gone.jpg")
    pv.delete(image.id)
    with pytest.raises(NotFound) as caught:
        pv.get(image.id)
    error = caught.value
    assert (error.status, error.code) == (404, "IMAGE_NOT_FOUND")
    assert error.message == f"Image {image.id} not found in this project"


def test_a_refused_upload_carries_the_apis_code_and_message(pv: Client):
    with pytest.raises(ApiError) as caught:
        pv.upload(b"plain text", filename="notes.txt")
    assert (caught.value.status, caught.value.code) == (400, "UNSUPPORTED_FILE_TYPE")
    assert "Unsupported file type" in caught.value.message
    assert str(caught.value).startswith("UNSUPPORTED_FILE_TYPE (400): Unsupported file type")
    with pytest.raises(ApiError) as bad_hash:
        pv.find_by_hash("abc")
    assert (bad_hash.value.code, bad_hash.value.message) == (
        "VALIDATION_ERROR", "fileHash must be a SHA-256 as 64 hex digits, got 'abc'",
    )  # fmt: skip


def test_wrong_and_read_only_keys(remote: Remote, project: Tenant):
    with Client(remote.base, "sk_" + "1" * 64) as wrong, pytest.raises(Unauthorized) as caught:
        wrong.list()
    assert (caught.value.status, caught.value.code) == (401, "UNAUTHORIZED")
    public = remote.key(project.id, "public")
    with Client(remote.base, public) as reader, pytest.raises(Forbidden) as refused:
        reader.upload(jpeg(), filename="a.jpg")
    assert refused.value.status == 403
    assert reader_sees_nothing(remote, public)


def reader_sees_nothing(remote: Remote, key: str) -> bool:
    with Client(remote.base, key) as reader:
        return reader.list().total == 0


def test_unreachable_server_and_bad_urls():
    with Client("http://127.0.0.1:9", "sk_x") as nowhere, pytest.raises(ServerUnreachable) as c:
        nowhere.list()
    assert c.value.message.startswith("Cannot reach http://127.0.0.1:9: ")
    with pytest.raises(ServerUnreachable, match="must start with http:// or https://"):
        Client("ftp://example.com", "sk_x")


async def test_async_client_does_the_same_calls(remote: Remote, project: Tenant, tmp_path):
    data = jpeg(color=(160, 60, 200))
    path = write(tmp_path / "async.jpg", data)
    async with AsyncClient(remote.base, project.key) as pv:
        image = await pv.upload(path, alias="@async", flow_id=NO_FLOW)
        assert (image.alias, image.flow_id, image.sha256) == (
            "@async", None, hashlib.sha256(data).hexdigest(),
        )  # fmt: skip
        assert await pv.get("@async") == image
        assert await pv.find_by_hash(image.sha256) == image
        assert [i.id async for i in pv.iter_images()] == [image.id]
        page = await pv.list(limit=1)
        assert (page.total, page.has_more) == (1, False)
        await pv.delete("@async")
        with pytest.raises(NotFound) as caught:
            await pv.get(image.id)
        assert caught.value.code == "IMAGE_NOT_FOUND"


async def test_async_client_errors_are_typed_too(remote: Remote):
    async with AsyncClient(remote.base, "sk_" + "2" * 64) as wrong:
        with pytest.raises(Unauthorized):
            await wrong.list()
    async with AsyncClient("http://127.0.0.1:9", "sk_x") as nowhere:
        with pytest.raises(ServerUnreachable, match=r"^Cannot reach http://127\.0\.0\.1:9: "):
            await nowhere.get("@a")


class _NotPixvault(BaseHTTPRequestHandler):
    """A proxy's error page: HTML, no envelope."""

    hits = 0

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        type(self).hits += 1
        body = b"<html><body>502 Bad Gateway</body></html>"
        self.send_response(502)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_an_answer_without_the_envelope_is_an_api_error_and_5xx_is_retried():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotPixvault)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    waits: list[float] = []
    policy = RetryPolicy(attempts=3, backoff=0.01)
    try:
        pv = Client(base, "sk_x", retry=policy, on_retry=lambda _, w: waits.append(w))
        with pv, pytest.raises(ServerError) as caught:
            pv.list()
    finally:
        server.shutdown()
        server.server_close()
    assert (caught.value.status, caught.value.code) == (502, "HTTP_502")
    assert caught.value.message == (
        f"{base} answered HTTP 502 Bad Gateway without pixvault's JSON envelope: from a proxy "
        "in front of pixvault, or not pixvault (check the URL)"
    )
    assert _NotPixvault.hits == 3 and len(waits) == 2
