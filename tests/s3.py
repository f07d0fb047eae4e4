"""A moto S3 server in a child process, for tests that need a real HTTP object store.

moto runs in-process state behind a real socket, so obstore's S3 client (and server processes
started by the tests) talk to it exactly as to any S3-compatible service.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
import httpx

REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MotoServer:
    process: subprocess.Popen[bytes]
    endpoint: str

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def new_bucket(self) -> str:
        name = "pv-" + uuid.uuid4().hex[:16]
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def blobs(self, bucket: str, prefix: str = "") -> list[str]:
        """`keys` without pixvault's own bookkeeping objects (the store's claim marker)."""
        return [key for key in self.keys(bucket, prefix) if "/.pixvault-" not in f"/{key}"]

    def stop(self) -> None:
        stop_process(self.process)


def start_moto(timeout: float = 20.0) -> MotoServer:
    """Start `moto.server` on a free port and wait until it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    wait_until_answers(process, f"{endpoint}/moto-api/", timeout, "moto server")
    return MotoServer(process, endpoint)


def wait_until_answers(process: subprocess.Popen[Any], url: str, timeout: float, what: str) -> None:
    """Poll `url` until the process answers; stop it and raise if it dies or stays silent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_process(process)
    raise RuntimeError(f"{what} did not answer on {url} within {timeout}s")


def stop_process(process: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    """Stop a child we started, by its PID: TERM, then KILL if it lingers."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout)


def s3_settings(server_endpoint: str, bucket: str, prefix: str = "pv") -> dict[str, object]:
    """Settings overrides pointing pixvault at a bucket, with quick failure in tests."""
    return {
        "storage_url": f"s3://{bucket}/{prefix}",
        "s3_endpoint": server_endpoint,
        "s3_region": REGION,
        "s3_access_key_id": ACCESS_KEY,
        "s3_secret_access_key": SECRET_KEY,
        "s3_force_path_style": True,
        "s3_allow_http": True,
        "s3_max_retries": 0,
        "s3_timeout_seconds": 5.0,
        "s3_connect_timeout_seconds": 1.0,
    }


def s3_env(server_endpoint: str, bucket: str, prefix: str = "pv") -> dict[str, str]:
    """The same as environment variables, for pixvault processes started by tests."""
    env = {}
    for name, value in s3_settings(server_endpoint, bucket, prefix).items():
        env[f"PIXVAULT_{name.upper()}"] = (
            str(value).lower() if isinstance(value, bool) else str(value)
        )
    return env
