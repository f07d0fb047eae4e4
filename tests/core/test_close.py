"""A closed core keeps nothing running: its render threads end (each holds libvips' buffers
for as long as it lives; a long-lived process that builds cores, as tests and tools do, would
otherwise collect them)."""

import threading
import time

from pixvault.services.core import build_core, initialise


async def test_a_closed_core_leaves_no_render_threads(settings):
    core = build_core(settings)
    await initialise(core)
    used = {
        await core.delivery.pool.run(lambda _switch: threading.get_ident()),
        await core.delivery.pool.run(lambda _switch: threading.get_ident(), slow=True),
    }
    threads = [t for t in threading.enumerate() if t.ident in used]
    assert len(threads) == 2 and all(t.name.startswith("render") for t in threads)
    await core.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(t.is_alive() for t in threads):
        time.sleep(0.05)
    assert [t.name for t in threads if t.is_alive()] == []
