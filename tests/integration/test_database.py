"""The database handle: reads never hold a transaction open between statements."""

from sqlalchemy import text


async def test_a_read_connection_is_not_left_idle_in_a_transaction(core, backend):
    async with core.db.read() as conn:
        await conn.execute(text("SELECT 1"))
        if backend == "sqlite":
            raw = await conn.get_raw_connection()
            assert not raw.driver_connection.in_transaction
            return
        pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        async with core.db.write() as other:
            state = await other.scalar(
                text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
    # "idle in transaction" would pin a snapshot (holding back vacuum) and a pooler slot.
    assert state == "idle"


async def test_reads_and_writes_see_each_other(core, backend):
    """Reads use their own pool on PostgreSQL; a committed write is visible to the next read."""
    async with core.db.write() as conn:
        await conn.execute(text("CREATE TABLE scratch_visibility (n integer)"))
    try:
        async with core.db.write() as conn:
            await conn.execute(text("INSERT INTO scratch_visibility VALUES (7)"))
        async with core.db.read() as conn:
            assert await conn.scalar(text("SELECT n FROM scratch_visibility")) == 7
    finally:
        async with core.db.write() as conn:
            await conn.execute(text("DROP TABLE scratch_visibility"))
