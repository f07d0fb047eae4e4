"""Admission control against a real server: a full lane answers 429 with Retry-After in the
envelope of the surface owning the path, cheap routes stay responsive, a waiting request gets
the slot when it frees, and work for clients that left stops (nothing stored)."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import pyvips

from tests.helpers import jpeg
from tests.integration.serving import Served, serving

BOUNDARY = "pvboundary"


def multipart(data: bytes, filename: str = "a.jpg", field: str = "file") -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def upload_head(
    served: Served, key: str, length: int, path: str = "/api/v1/images/upload"
) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nX-API-Key: {key}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


@contextmanager
def held_slot(served: Served, key: str) -> Iterator[socket.socket]:
    """An upload whose body stops halfway: it holds a `work` slot until the socket closes."""
    body = multipart(jpeg())
    sock = socket.create_connection(("127.0.0.1", served.port))
    sock.sendall(upload_head(served, key, len(body)) + body[: len(body) // 2])
    time.sleep(0.5)  # the route is running and reading the body
    try:
        yield sock
    finally:
        sock.close()


@pytest.fixture
def tight(tmp_path):
    """One request of API work at a time, nobody may wait."""
    with serving(
        tmp_path, max_in_flight="1", admission_queue="0", body_timeout_seconds="30"
    ) as served:
        yield served, served.secret_key()


def test_a_full_lane_is_429_with_retry_after_in_the_native_envelope(tight):
    served, key = tight
    with held_slot(served, key):
        answer = httpx.get(f"{served.base}/api/v1/images", headers={"X-API-Key": key})
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "1"
    body = answer.json()
    assert body["success"] is False
    assert body["error"]["code"] == "OVERLOADED"
    assert "retry in 1 seconds" in body["error"]["message"]


def test_a_full_lane_answers_in_the_slink_and_vault_envelopes(tight):
    served, key = tight
    with held_slot(served, key):
        slink = httpx.get(f"{served.base}/api/images/1")
        vault = httpx.get(f"{served.base}/v1/assets", headers={"Authorization": f"Bearer {key}"})
    assert slink.status_code == 429
    assert slink.headers["retry-after"] == "1"
    assert slink.json()["error"]["title"] == "Overloaded"
    assert vault.status_code == 429
    assert vault.json()["error"] == {
        "code": "RATE_LIMITED",
        "message": vault.json()["error"]["message"],
        "status": 429,
    }


def test_a_full_lane_answers_ui_pages_with_the_uis_error_page(tight):
    """A browser is shown the UI's own page (no session is looked up for it), the UI's
    scripts its JSON error."""
    served, key = tight
    with held_slot(served, key):
        page = httpx.get(f"{served.base}/ui/login")
        call = httpx.get(f"{served.base}/ui/api/images")
    assert page.status_code == 429
    assert page.headers["retry-after"] == "1"
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Slow down</h1>" in page.text
    assert "retry in 1 seconds" in page.text
    assert call.status_code == 429
    assert call.headers["retry-after"] == "1"
    assert "retry in 1 seconds" in call.json()["error"]


def test_health_and_delivery_stay_responsive_while_work_is_full(tight):
    served, key = tight
    uploaded = httpx.post(
        f"{served.base}/api/v1/images/upload",
        headers={"X-API-Key": key},
        files={"file": ("a.jpg", jpeg(), "image/jpeg")},
    ).json()["data"]
    original = f"{served.base}/default/default/img/{uploaded['id']}"
    with held_slot(served, key):
        assert httpx.get(f"{served.base}/health").status_code == 200
        assert httpx.get(f"{served.base}/ready").status_code == 200
        delivered = httpx.get(original)
        assert delivered.status_code == 200
        assert delivered.content == jpeg()
        assert httpx.get(f"{original}?w=20").status_code == 200
        assert httpx.get(f"{served.base}/ui/static/ui.js").status_code == 200
        assert httpx.get(
            f"{served.base}/api/v1/images", headers={"X-API-Key": key}
        ).status_code == (429)


def test_a_waiting_request_is_refused_after_the_queue_wait(tmp_path):
    with serving(
        tmp_path, max_in_flight="1", admission_queue="4", queue_wait_seconds="0.5"
    ) as served:
        key = served.secret_key()
        with held_slot(served, key):
            started = time.monotonic()
            answer = httpx.get(f"{served.base}/api/v1/images", headers={"X-API-Key": key})
            waited = time.monotonic() - started
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "OVERLOADED"
    assert 0.4 <= waited < 3


def test_a_waiting_request_runs_when_the_slot_frees(tmp_path):
    with serving(tmp_path, max_in_flight="1", queue_wait_seconds="20") as served:
        key = served.secret_key()
        body = multipart(jpeg())
        sock = socket.create_connection(("127.0.0.1", served.port))
        sock.sendall(upload_head(served, key, len(body)) + body[:100])
        time.sleep(0.5)
        with httpx.Client() as client:
            # The waiting list request is sent, then the holder's body completes.
            result: dict[str, httpx.Response] = {}
            waiter = threading.Thread(
                target=lambda: result.setdefault(
                    "list",
                    client.get(f"{served.base}/api/v1/images", headers={"X-API-Key": key}),
                )
            )
            waiter.start()
            time.sleep(0.5)
            assert "list" not in result  # still waiting for the slot
            sock.sendall(body[100:])
            assert b"201" in sock.recv(65536).split(b"\r\n", 1)[0]
            waiter.join(10)
        sock.close()
        assert result["list"].status_code == 200
        assert len(result["list"].json()["data"]) == 1


def test_a_waiting_request_whose_client_left_never_runs(tmp_path):
    with serving(tmp_path, max_in_flight="1", queue_wait_seconds="20") as served:
        key = served.secret_key()
        with held_slot(served, key):
            body = multipart(jpeg(), filename="left.jpg")
            leaver = socket.create_connection(("127.0.0.1", served.port))
            leaver.sendall(upload_head(served, key, len(body)) + body)
            time.sleep(0.5)
            leaver.close()
            time.sleep(0.5)
        # The holder is gone too, the slot is free: the left upload must not run now.
        time.sleep(1)
        assert httpx.get(f"{served.base}/health").status_code == 200
        assert served.image_rows() == 0
        statuses = [e["status"] for e in served.access_log() if e["path"].endswith("/upload")]
        assert 499 in statuses  # the left one, logged as nginx logs a client that closed


def big_png() -> bytes:
    """An upload whose check (a full decode) takes long enough to leave during it."""
    ramp = pyvips.Image.xyz(9000, 9000)[0].cast("uchar")
    return ramp.bandjoin([ramp, ramp]).pngsave_buffer(compression=1)


def test_an_upload_whose_client_leaves_while_it_is_checked_stops_and_stores_nothing(tmp_path):
    data = big_png()
    with serving(tmp_path, max_upload_bytes=str(20 * 1024 * 1024)) as served:
        key = served.secret_key()
        body = multipart(data, filename="big.png")
        sock = socket.create_connection(("127.0.0.1", served.port))
        sock.sendall(upload_head(served, key, len(body)) + body)
        time.sleep(0.05)  # the body is sent; the server reads and checks it (~0.2 s)
        sock.close()
        time.sleep(4)
        assert served.image_rows() == 0
        assert served.files_under("blobs") == []
        assert served.files_under("spool") == []
        statuses = [e["status"] for e in served.access_log() if e["path"].endswith("/upload")]
        assert statuses == [499]
        # The same upload from a client that waits is stored: the test's upload is valid.
        kept = httpx.post(
            f"{served.base}/api/v1/images/upload",
            headers={"X-API-Key": key},
            files={"file": ("big.png", data, "image/png")},
            timeout=60,
        )
        assert kept.status_code == 201, kept.text
        assert served.image_rows() == 1


def test_new_variants_fill_their_own_lane_and_cached_hits_still_pass(tmp_path):
    with serving(
        tmp_path,
        max_in_flight_cold="1",
        admission_queue="0",
        avif_effort="9",
        cold_renders_per_minute="0",
    ) as served:
        key = served.secret_key()
        photo = pyvips.Image.xyz(1600, 1200)[0].cast("uchar").jpegsave_buffer()
        image = httpx.post(
            f"{served.base}/api/v1/images/upload",
            headers={"X-API-Key": key},
            files={"file": ("p.jpg", photo, "image/jpeg")},
        ).json()["data"]["id"]
        url = f"{served.base}/default/default/img/{image}"
        # Answered once, each is a cached hit from now on.
        assert httpx.get(f"{url}?w=40").status_code == 200
        assert httpx.get(url).status_code == 200
        slow = threading.Thread(target=lambda: httpx.get(f"{url}?w=1600&format=avif", timeout=60))
        slow.start()
        time.sleep(1)  # the AVIF render holds the one slot for new variants
        refused = httpx.get(f"{url}?w=41")
        cached = httpx.get(f"{url}?w=40")
        original = httpx.get(url)
        slow.join(60)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "OVERLOADED"
    assert cached.status_code == 200
    assert cached.headers["content-type"] == "image/jpeg"
    assert original.status_code == 200
    assert original.content == photo
