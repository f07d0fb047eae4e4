"""gc removes only keys it can parse, so parsing must follow every key the service writes."""

import uuid

from pixvault.services.blobkeys import derivative_key, original_key, parse_key

PROJECT, IMAGE = uuid.uuid4(), uuid.uuid4()


def test_written_keys_parse_back() -> None:
    assert parse_key(original_key(PROJECT, IMAGE)) == ("original", PROJECT, IMAGE)
    assert parse_key(derivative_key(PROJECT, IMAGE, "ab12")) == ("derived", PROJECT, IMAGE)


def test_foreign_keys_are_not_ours() -> None:
    for key in (
        ".ready-probe",
        f"{PROJECT}/originals",
        f"{PROJECT}/originals/not-a-uuid",
        f"{PROJECT}/other/{IMAGE}",
        f"{PROJECT}/derived/{IMAGE}/a/b",
        f"notes/originals/{IMAGE}",
    ):
        assert parse_key(key) is None, key
