"""Structured logs: one JSON object per line, carrying the request id."""

import json
import logging

from pixvault.observability import JsonFormatter


def test_log_lines_are_json_with_extra_fields():
    record = logging.makeLogRecord(
        {"name": "pixvault.access", "levelname": "INFO", "msg": "GET %s", "args": ("/x",)}
    )
    record.request_id = "abc123"
    record.status = 200
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET /x"
    assert line["request_id"] == "abc123"
    assert line["status"] == 200
    assert line["level"] == "info"
