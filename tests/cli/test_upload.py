"""`pixvault upload` as a real process against a real server over HTTP."""

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Remote, images_of, write
from tests.helpers import jpeg, png


def summary(done) -> dict:
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


def tree(root: Path) -> dict[str, bytes]:
    files = {
        "top.jpg": jpeg(color=(250, 0, 0)),
        "a/b.png": png(30, 20),
        "a/deeper/c.jpg": jpeg(color=(0, 0, 250)),
        ".cache/hidden.jpg": jpeg(color=(1, 1, 1)),
    }
    for name, data in files.items():
        write(root / name, data)
    return files


def test_recursive_upload_of_a_directory(remote: Remote, project, tmp_path):
    key = project.key
    files = tree(tmp_path / "pics")
    done = remote.upload(str(tmp_path / "pics"), "--recursive", "--json", key=key, process=True)
    assert done.returncode == 0, done.stderr
    result = summary(done)
    assert (result["uploaded"], result["skipped"], result["failed"]) == (3, 0, 0)
    sent = {Path(f["path"]).relative_to(tmp_path / "pics").as_posix() for f in result["files"]}
    assert sent == {"top.jpg", "a/b.png", "a/deeper/c.jpg"}  # hidden directories left out
    held = {i["fileHash"]: i for i in images_of(remote, key)}
    for name in sent:
        image = held[hashlib.sha256(files[name]).hexdigest()]
        assert image["id"] in {f["id"] for f in result["files"]}
    assert len(held) == 3


def test_without_recursive_only_the_directorys_own_files(remote: Remote, project, tmp_path):
    key = project.key
    tree(tmp_path / "pics")
    result = summary(remote.upload(str(tmp_path / "pics"), "--json", key=key))
    assert [Path(f["path"]).name for f in result["files"]] == ["top.jpg"]
    assert len(images_of(remote, key)) == 1


def test_second_run_skips_every_file_the_project_holds(remote: Remote, project, tmp_path):
    key = project.key
    tree(tmp_path / "pics")
    write(tmp_path / "pics" / "copy-of-top.jpg", (tmp_path / "pics" / "top.jpg").read_bytes())
    first = summary(remote.upload(str(tmp_path / "pics"), "-r", "--json", key=key))
    assert (first["uploaded"], first["skipped"]) == (3, 1)  # the copy: same content
    again = remote.upload(str(tmp_path / "pics"), "-r", key=key)
    assert again.returncode == 0, again.stderr
    assert "0 uploaded, 4 skipped (content already held), 0 failed" in again.stdout
    # One file against three held: asked by its hash (`?fileHash=`), not by listing them all.
    one = summary(remote.upload(str(tmp_path / "pics" / "top.jpg"), "--json", key=key))
    assert one["files"][0]["status"] == "skipped"
    assert one["files"][0]["detail"] == "already in the project"
    assert len(images_of(remote, key)) == 3


def test_alias_from_name(remote: Remote, project, tmp_path):
    key = project.key
    photo = write(tmp_path / "My holiday photo (1).jpg", jpeg(color=(9, 90, 9)))
    done = remote.upload(str(photo), "--alias-from-name", "--json", key=key)
    assert done.returncode == 0, done.stderr
    [uploaded] = summary(done)["files"]
    found = httpx.get(
        f"{remote.base}/api/v1/images/@My-holiday-photo-1", headers={"X-API-Key": key}
    )
    assert found.status_code == 200, found.text
    assert found.json()["data"]["id"] == uploaded["id"]


def test_flow_puts_every_image_in_that_flow(remote: Remote, project, tmp_path):
    key = project.key
    flow = "01930000-0000-7000-8000-000000000001"
    a = write(tmp_path / "a.jpg", jpeg(color=(5, 5, 200)))
    b = write(tmp_path / "b.png", png(10, 10))
    assert remote.upload(str(a), str(b), "--flow", flow, key=key).returncode == 0
    assert {i["flowId"] for i in images_of(remote, key)} == {flow}


def test_flow_null_uploads_into_no_flow_and_a_bad_flow_is_refused_first(
    remote: Remote, project, tmp_path
):
    key = project.key
    a = write(tmp_path / "a.jpg", jpeg(color=(5, 205, 5)))
    assert remote.upload(str(a), "--flow", "null", key=key).returncode == 0
    assert [i["flowId"] for i in images_of(remote, key)] == [None]
    b = write(tmp_path / "b.jpg", jpeg(color=(205, 5, 205)))
    refused = remote.upload(str(b), "--flow", "nope", key=key)
    assert refused.returncode == 2
    assert "'nope' is not a UUID (or null)" in refused.stderr
    assert len(images_of(remote, key)) == 1


def test_a_file_that_is_no_image_fails_with_the_servers_message(remote: Remote, project, tmp_path):
    key = project.key
    good = write(tmp_path / "good.jpg", jpeg(color=(70, 7, 7)))
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    done = remote.upload(str(good), str(notes), "--json", key=key)
    assert done.returncode == 1
    files = {Path(f["path"]).name: f for f in summary(done)["files"]}
    assert files["good.jpg"]["status"] == "uploaded"
    assert files["notes.txt"]["status"] == "failed"
    assert files["notes.txt"]["detail"].startswith("UNSUPPORTED_FILE_TYPE (400): ")
    assert len(images_of(remote, key)) == 1


def test_summary_table_and_totals(remote: Remote, project, tmp_path):
    key = project.key
    a = write(tmp_path / "a.jpg", jpeg(color=(3, 30, 3)))
    done = remote.upload(str(a), str(a), key=key)
    assert done.returncode == 0, done.stderr
    [row] = [line for line in done.stdout.splitlines() if "a.jpg" in line]
    image = images_of(remote, key)[0]
    assert "uploaded" in row and image["id"] in row
    assert "1 uploaded, 0 skipped (content already held), 0 failed" in done.stdout


def test_unreachable_server_is_one_line(remote: Remote, project, tmp_path):
    key = project.key
    photo = write(tmp_path / "a.jpg", jpeg())
    done = remote.upload(str(photo), key=key, server="http://127.0.0.1:9", process=True)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: Cannot reach http://127.0.0.1:9: [Errno 111] Connection refused "
        "(check --server / PIXVAULT_SERVER)"
    ]


def test_server_url_without_scheme_is_one_line(remote: Remote, project, tmp_path):
    key = project.key
    photo = write(tmp_path / "a.jpg", jpeg())
    done = remote.upload(str(photo), key=key, server="localhost:8000")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: The server URL 'localhost:8000' must start with http:// or https:// "
        "(check --server / PIXVAULT_SERVER)"
    )


def test_wrong_key_is_one_line_and_nothing_is_uploaded(remote: Remote, project, tmp_path):
    key = project.key
    photo = write(tmp_path / "a.jpg", jpeg())
    done = remote.upload(str(photo), key="sk_" + "0" * 64, process=True)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: {remote.base} refused the key: Invalid API key: no such key exists; check "
        "for typos (check --key / PIXVAULT_KEY)"
    )
    assert images_of(remote, key) == []


def test_missing_path_is_refused_before_anything_is_sent(remote: Remote, project, tmp_path):
    key = project.key
    photo = write(tmp_path / "a.jpg", jpeg())
    done = remote.upload(str(photo), str(tmp_path / "nope.jpg"), key=key)
    assert done.returncode == 2
    assert "does not exist" in done.stderr
    assert images_of(remote, key) == []


# -- retries: a real HTTP server in front of pixvault that refuses the first uploads -------


class Flaky(ThreadingHTTPServer):
    """Answers the first upload attempts with the given statuses, then proxies to pixvault."""

    def __init__(self, upstream: str, refusals: list[tuple[int, dict[str, str]]]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.refusals = list(refusals)
        self.seen: list[tuple[float, int]] = []  # (time, status) of each upload attempt
        self.paths: list[str] = []  # every request's path and query
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Flaky

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        self._relay(b"")

    def do_POST(self) -> None:
        self.server.paths.append(self.path)
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path.startswith("/api/v1/images/upload"):
            with self.server.lock:
                refusal = self.server.refusals.pop(0) if self.server.refusals else None
                status = refusal[0] if refusal else 201
                self.server.seen.append((time.monotonic(), status))
            if refusal is not None:
                envelope = {"success": False, "error": {"code": "X", "message": "try later"}}
                self._answer(refusal[0], json.dumps(envelope).encode(), refusal[1])
                return
        self._relay(body)

    def _relay(self, body: bytes) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
        answer = httpx.request(
            self.command, self.server.upstream + self.path, headers=headers, content=body
        )
        self._answer(answer.status_code, answer.content, {})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def proxied(remote: Remote, refusals: list[tuple[int, dict[str, str]]]) -> Iterator[Flaky]:
    proxy = Flaky(remote.base, refusals)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()


@pytest.fixture
def flaky(remote: Remote) -> Iterator[Flaky]:
    with proxied(remote, [(503, {}), (429, {"Retry-After": "2"})]) as proxy:
        yield proxy


def test_503_and_429_are_retried_honouring_retry_after(
    remote: Remote, project, tmp_path, flaky: Flaky
):
    key = project.key
    photo = write(tmp_path / "a.jpg", jpeg(color=(123, 45, 6)))
    done = remote.upload(str(photo), "--json", key=key, server=flaky.base)
    assert done.returncode == 0, done.stderr
    assert [status for _, status in flaky.seen] == [503, 429, 201]
    waited = flaky.seen[2][0] - flaky.seen[1][0]
    assert waited >= 1.9  # the server asked for 2 s
    assert "retrying in 2.0s after X (429): try later" in " ".join(done.stderr.split())
    [image] = images_of(remote, key)
    assert summary(done)["files"][0]["id"] == image["id"]


def test_retries_give_up_and_report_the_last_answer(remote: Remote, project, tmp_path):
    key = project.key
    photo = write(tmp_path / "a.jpg", jpeg(color=(13, 45, 6)))
    with proxied(remote, [(503, {})] * 3) as proxy:
        done = remote.upload(str(photo), "--json", "--retries", "1", key=key, server=proxy.base)
    assert done.returncode == 1
    assert len(proxy.seen) == 2
    assert summary(done)["files"][0]["detail"] == "X (503): try later"
    assert images_of(remote, key) == []


def test_held_hashes_are_listed_or_looked_up_whichever_takes_fewer_requests(
    remote: Remote, project, tmp_path
):
    key = project.key
    files = [write(tmp_path / f"{n}.jpg", jpeg(color=(n * 80, 9, 99))) for n in range(3)]
    with proxied(remote, []) as empty:
        assert remote.upload(*map(str, files[:2]), key=key, server=empty.base).returncode == 0
    # An empty project: the first request says so, and nothing is looked up.
    assert not any("fileHash" in path for path in empty.paths)
    with proxied(remote, []) as few:
        done = remote.upload(*map(str, files), "--json", key=key, server=few.base)
    assert [f["status"] for f in summary(done)["files"]] == ["skipped", "skipped", "uploaded"]
    # Two held, three files: one page lists them all, no lookup per file.
    assert not any("fileHash" in path for path in few.paths)
    with proxied(remote, []) as one:
        done = remote.upload(str(files[0]), "--json", key=key, server=one.base)
    assert summary(done)["files"][0]["status"] == "skipped"
    assert sum("fileHash=" in path for path in one.paths) == 1
