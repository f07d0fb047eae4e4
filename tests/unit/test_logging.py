"""Logs: human-readable on a terminal, JSON lines otherwise (or as PIXVAULT_LOG_FORMAT says),
ISO 8601 times with milliseconds and offset, no terminal colour codes inside JSON, and a start
banner naming the URLs of the API, the docs and the UI. The last tests run `pixvault serve`."""

import io
import json
import logging
import logging.config
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pixvault import __version__
from pixvault.observability import (
    JsonFormatter,
    StartBanner,
    TextFormatter,
    banner,
    log_config,
    resolve_format,
)
from tests.s3 import free_port, stop_process
from tests.serve_process import PIXVAULT

ISO_MS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"
ANSI = "\x1b["


def uvicorn_record(msg: str, *args: object, color_message: str | None = None) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": "uvicorn.error", "levelname": "INFO", "msg": msg, "args": args}
    )
    if color_message is not None:
        record.color_message = color_message
    return record


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_time_is_utc_iso_8601_with_milliseconds():
    record = uvicorn_record("x")
    record.created = 1796131291.1234  # 2026-12-01T13:21:31.123Z
    line = json.loads(JsonFormatter().format(record))
    assert line["time"] == "2026-12-01T13:21:31.123+00:00"


def test_json_lines_carry_no_colour_codes_from_uvicorn():
    # uvicorn logs a coloured copy of each message as `color_message`, and a message may
    # itself hold escape codes: neither reaches a JSON line.
    record = uvicorn_record(
        "Started server process [%d] \x1b[1mnow\x1b[0m",
        42,
        color_message="Started server process [\x1b[36m%d\x1b[0m]",
    )
    text = JsonFormatter().format(record)
    line = json.loads(text)
    assert "color_message" not in line
    assert line["message"] == "Started server process [42] now"
    assert ANSI not in json.dumps(line, ensure_ascii=False)
    assert "\\u001b" not in text


def test_text_lines_are_readable_with_time_level_logger_and_fields():
    record = logging.makeLogRecord(
        {"name": "pixvault.access", "levelname": "INFO", "msg": "GET %s %s", "args": ("/x", 200)}
    )
    record.request_id = "abc123"
    line = TextFormatter().format(record)
    assert re.fullmatch(ISO_MS + r" INFO    pixvault\.access: GET /x 200 request_id=abc123", line)
    coloured = TextFormatter(colours=True).format(record)
    assert "\x1b[32mINFO   \x1b[0m" in coloured


def test_auto_format_is_text_on_a_terminal_and_json_elsewhere():
    assert resolve_format("auto", Tty()) == "text"
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("json", Tty()) == "json"
    assert resolve_format("text", io.StringIO()) == "text"


def test_log_format_setting_is_read_and_bad_values_are_refused(monkeypatch):
    monkeypatch.setenv("PIXVAULT_LOG_FORMAT", "text")
    monkeypatch.setenv("PIXVAULT_LOG_LEVEL", "warning")
    config = log_config()
    assert config["formatters"]["default"]["()"] is TextFormatter
    assert config["loggers"]["pixvault"]["level"] == "WARNING"
    monkeypatch.setenv("PIXVAULT_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="log_format"):
        log_config()


def test_only_text_on_a_terminal_is_coloured_unless_no_color(monkeypatch):
    monkeypatch.delenv("PIXVAULT_LOG_FORMAT", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, "stderr", Tty())
    assert log_config()["formatters"]["default"] == {"()": TextFormatter, "colours": True}
    monkeypatch.setenv("NO_COLOR", "1")
    assert log_config()["formatters"]["default"] == {"()": TextFormatter, "colours": False}
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.setenv("PIXVAULT_LOG_FORMAT", "text")
    assert log_config()["formatters"]["default"] == {"()": TextFormatter, "colours": False}
    monkeypatch.delenv("PIXVAULT_LOG_FORMAT")
    assert log_config()["formatters"]["default"] == {"()": JsonFormatter}


def test_banner_names_api_docs_and_ui_urls():
    assert banner("http", "127.0.0.1", 8000) == (
        f"pixvault {__version__} listening on http://127.0.0.1:8000 (CTRL+C to quit): "
        "API http://127.0.0.1:8000/api/v1, docs http://127.0.0.1:8000/docs, "
        "UI http://127.0.0.1:8000/ui/"
    )
    # A wildcard address is not one to open: the URLs use loopback, or PUBLIC_URL when set.
    wildcard = banner("http", "0.0.0.0", 9000)
    assert "listening on http://0.0.0.0:9000" in wildcard
    assert "docs http://127.0.0.1:9000/docs" in wildcard
    assert "UI http://[::1]:9000/ui/" in banner("http", "::", 9000)
    public = banner("http", "0.0.0.0", 9000, "https://img.example.com/")
    assert "API https://img.example.com/api/v1, docs https://img.example.com/docs" in public


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_uvicorns_running_line_becomes_the_banner():
    uvicorn_log, pixvault_log = logging.getLogger("uvicorn.error"), logging.getLogger("pixvault")
    kept, banner_filter = Kept(), StartBanner("https://img.example.com")
    saved = [(logger, logger.level, logger.propagate) for logger in (uvicorn_log, pixvault_log)]
    uvicorn_log.addFilter(banner_filter)
    for logger in (uvicorn_log, pixvault_log):
        logger.addHandler(kept)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        uvicorn_log.info("Uvicorn running on %s://%s:%d (Press CTRL+C to quit)", "http", "::", 81)
        uvicorn_log.info("Application startup complete.")
    finally:
        uvicorn_log.removeFilter(banner_filter)
        for logger, level, propagate in saved:
            logger.removeHandler(kept)
            logger.setLevel(level)
            logger.propagate = propagate
    assert [(r.name, r.getMessage()) for r in kept.records] == [
        ("pixvault", banner("http", "::", 81, "https://img.example.com")),
        ("uvicorn.error", "Application startup complete."),
    ]


def serve_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXVAULT_") and k != "NO_COLOR"}
    return {**env, "PIXVAULT_DATA_DIR": str(tmp_path / "data"), "PIXVAULT_PORT": str(port), **extra}


def read_until(fd: int, needle: str, process: subprocess.Popen[bytes], timeout: float) -> str:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in seen:
        if time.monotonic() > deadline or process.poll() is not None:
            raise AssertionError(f"no {needle!r} in the server's stderr: {seen.decode()!r}")
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # the pty closed
                break
    return seen.decode()


def test_serve_logs_json_lines_into_a_pipe(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [PIXVAULT, "serve"],
        env=serve_env(tmp_path, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        output = read_until(process.stderr.fileno(), "/ui/", process, timeout=60)
    finally:
        stop_process(process)
    lines = [line for line in output.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is JSON
    assert ANSI not in output and "\\u001b" not in output
    assert all(re.fullmatch(ISO_MS, entry["time"]) for entry in entries)
    base = f"http://127.0.0.1:{port}"
    assert {
        "level": "info",
        "logger": "pixvault",
        "message": f"pixvault {__version__} listening on {base} (CTRL+C to quit): "
        f"API {base}/api/v1, docs {base}/docs, UI {base}/ui/",
    }.items() <= entries[-1].items()
    assert not any(e["message"].startswith("Uvicorn running") for e in entries)


def test_serve_logs_readable_lines_on_a_terminal(tmp_path):
    port = free_port()
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [PIXVAULT, "serve"],
        env=serve_env(tmp_path, port),
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    try:
        output = read_until(leader, "/ui/", process, timeout=60)
    finally:
        stop_process(process)
        os.close(leader)
    lines = [line for line in output.splitlines() if line.strip()]
    assert not any(line.startswith("{") for line in lines)
    started = next(line for line in lines if "listening on" in line)
    assert re.match(ISO_MS + r" \x1b\[32mINFO   \x1b\[0m pixvault: pixvault \S+ listening", started)
    assert started.endswith(f"UI http://127.0.0.1:{port}/ui/")
