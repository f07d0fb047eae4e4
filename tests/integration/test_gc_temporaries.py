"""gc sweeps what a SIGKILL mid-write leaves: `NAME#DIGITS` blob temporaries and spooled
uploads, once they are past the grace period, and never a live file."""

import os
import time
from datetime import timedelta
from pathlib import Path

from pixvault.db.rows import now
from pixvault.services.gc import collect
from pixvault.services.staging import SPOOL_PREFIX
from tests.helpers import blob_keys, uploaded

HOUR = timedelta(hours=1)


def aged(path: Path, seconds: float) -> Path:
    moment = time.time() - seconds
    os.utime(path, (moment, moment))
    return path


async def test_crash_temporaries_are_swept_after_the_grace_period(api, core, settings):
    image = await uploaded(api)
    blobs = settings.data_dir / "blobs"
    original = blobs / image["storageKey"]
    old_tmp = original.with_name(original.name + "#123456")
    old_tmp.write_bytes(b"half a write")
    aged(old_tmp, 3 * 3600)
    fresh_tmp = original.with_name(original.name + "#777")
    fresh_tmp.write_bytes(b"a write in progress")
    spool = core.settings.resolved_spool_dir()
    old_spool = spool / f"{SPOOL_PREFIX}abc"
    old_spool.write_bytes(b"an upload a crash abandoned")
    aged(old_spool, 3 * 3600)
    new_spool = spool / f"{SPOOL_PREFIX}def"
    new_spool.write_bytes(b"an upload streaming now")

    report = await collect(core, grace=HOUR, retention=timedelta(days=30), now=now())

    assert report.temporaries_removed == 2
    assert not old_tmp.exists() and not old_spool.exists()
    assert fresh_tmp.exists() and new_spool.exists()
    assert original.read_bytes()  # the live original is untouched
    assert await blob_keys(core) == [image["storageKey"]]
    assert report.as_json()["temporariesRemoved"] == 2
