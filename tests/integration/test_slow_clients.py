"""Slow clients against a real server: headers that never finish are cut off with 408 after
HEADER_TIMEOUT_SECONDS (300 of them at once, the server still answering others), and a body
that stalls gets 408 in the surface's envelope after BODY_TIMEOUT_SECONDS, storing nothing."""

import json
import selectors
import socket
import time

import httpx
import pytest

from tests.helpers import jpeg
from tests.integration.serving import Served, serving
from tests.integration.test_admission import multipart, upload_head


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serving(
        tmp_path_factory.mktemp("slow"), header_timeout_seconds="1", body_timeout_seconds="1"
    ) as served:
        yield served, served.secret_key()


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def read_response(sock: socket.socket, timeout: float) -> bytes:
    """One whole response with a Content-Length (headers and body may come in pieces)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_300_connections_that_never_finish_their_headers_are_closed(served):
    served, _ = served
    sockets = []
    for _ in range(300):
        sock = socket.create_connection(("127.0.0.1", served.port))
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        sock.setblocking(False)
        sockets.append(sock)
    started = time.monotonic()
    # The server still answers a client that sends its request at once.
    assert httpx.get(f"{served.base}/health", timeout=5).status_code == 200
    selector = selectors.DefaultSelector()
    received = {sock: bytearray() for sock in sockets}
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    still_open = set(sockets)
    while still_open and time.monotonic() - started < 10:
        for key, _ in selector.select(timeout=0.5):
            chunk = key.fileobj.recv(65536)
            if chunk:
                received[key.fileobj].extend(chunk)
            else:
                selector.unregister(key.fileobj)
                still_open.discard(key.fileobj)
    elapsed = time.monotonic() - started
    for sock in sockets:
        sock.close()
    assert not still_open, f"{len(still_open)} of 300 still open after {elapsed:.1f} s"
    assert elapsed < 8
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in received.values())


def test_a_connection_that_sends_nothing_is_closed(served):
    served, _ = served
    sock = socket.create_connection(("127.0.0.1", served.port))
    started = time.monotonic()
    answer = read_until_closed(sock, 10)
    assert time.monotonic() - started < 6
    assert answer.startswith(b"HTTP/1.1 408 ")
    sock.close()


def test_headers_sent_slowly_get_408_and_the_connection_closes(served):
    served, _ = served
    sock = socket.create_connection(("127.0.0.1", served.port))
    sock.sendall(b"GET /health HTTP/1.1\r\n")
    time.sleep(0.5)
    sock.sendall(b"Host: 127.0.0.1\r\n")  # still inside the timeout, but never finished
    answer = read_until_closed(sock, 10)
    sock.close()
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout"
    assert rest.endswith(b"did not arrive in time; send at once\n")


def test_a_keep_alive_request_that_never_finishes_its_headers_is_closed(served):
    served, _ = served
    sock = socket.create_connection(("127.0.0.1", served.port))
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    first = read_response(sock, 5)
    assert first.startswith(b"HTTP/1.1 200 ")
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    started = time.monotonic()
    answer = read_until_closed(sock, 10)
    sock.close()
    assert time.monotonic() - started < 6
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_headers_sent_in_pieces_within_the_timeout_are_answered(served):
    served, _ = served
    sock = socket.create_connection(("127.0.0.1", served.port))
    for piece in (
        b"GET /health HTTP/1.1\r\n",
        b"Host: 127.0.0.1\r\n",
        b"Connection: close\r\n\r\n",
    ):
        sock.sendall(piece)
        time.sleep(0.2)
    answer = read_until_closed(sock, 10)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 200 ")


def stalled_upload(served: Served, key: str, path: str) -> tuple[bytes, float]:
    body = multipart(jpeg())
    sock = socket.create_connection(("127.0.0.1", served.port))
    sock.sendall(upload_head(served, key, len(body), path) + body[: len(body) // 2])
    started = time.monotonic()
    answer = read_until_closed(sock, 15)
    sock.close()
    return answer, time.monotonic() - started


def response_json(answer: bytes) -> tuple[bytes, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, json.loads(body)


def test_a_stalled_upload_body_is_408_in_the_native_envelope_and_stores_nothing(served):
    served, key = served
    answer, waited = stalled_upload(served, key, "/api/v1/images/upload")
    head, body = response_json(answer)
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in head.lower()
    assert body["success"] is False
    assert body["error"]["code"] == "REQUEST_TIMEOUT"
    assert "No part of the request body arrived for 1 seconds" in body["error"]["message"]
    assert waited < 8
    assert served.image_rows() == 0
    assert served.files_under("spool") == []


def test_a_stalled_vault_upload_is_408_in_the_vault_envelope(served):
    served, key = served
    answer, _ = stalled_upload(served, key, "/v1/assets")
    head, body = response_json(answer)
    assert head.startswith(b"HTTP/1.1 408 ")
    assert body["error"]["code"] == "REQUEST_TIMEOUT"
    assert body["error"]["status"] == 408
    assert served.image_rows() == 0


def test_an_upload_whose_client_leaves_mid_body_stores_nothing(served):
    served, key = served
    body = multipart(jpeg(), filename="gone.jpg")
    sock = socket.create_connection(("127.0.0.1", served.port))
    sock.sendall(upload_head(served, key, len(body)) + body[: len(body) // 2])
    time.sleep(0.3)
    sock.close()
    time.sleep(1)
    assert served.image_rows() == 0
    assert served.files_under("spool") == []
    assert served.files_under("blobs") == []
