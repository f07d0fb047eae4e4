"""Operations: readiness, metrics and request ids."""

from tests.helpers import uploaded


async def test_ready_when_database_and_storage_answer(client):
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "storage": "ok"}


async def test_not_ready_when_storage_fails(client, core):
    blobs = core.settings.data_dir / "blobs"
    blobs.rename(blobs.with_name("moved"))
    blobs.write_bytes(b"not a directory")
    response = await client.get("/ready")
    assert response.status_code == 503
    assert response.json()["storage"].startswith("unreachable")
    assert response.json()["database"] == "ok"


async def test_request_id_is_returned_and_echoed(client):
    fresh = await client.get("/health")
    assert len(fresh.headers["x-request-id"]) == 32
    echoed = await client.get("/health", headers={"X-Request-Id": "trace-1234abcd"})
    assert echoed.headers["x-request-id"] == "trace-1234abcd"
    unsafe = await client.get("/health", headers={"X-Request-Id": "bad id\nwith newline"})
    assert unsafe.headers["x-request-id"] != "bad id\nwith newline"


async def test_metrics_count_requests_uploads_and_cache(api, client):
    image = await uploaded(api)
    await client.get(f"/default/default/img/{image['id']}", params={"w": 16})
    await client.get(f"/default/default/img/{image['id']}", params={"w": 16})
    text = (await client.get("/metrics")).text
    assert (
        'pixvault_http_requests_total{method="POST",route="/api/v1/images/upload",status="201"}'
        in text
    )
    # Labelled by route template, never by raw path: one series however many images exist.
    assert 'route="/{org}/{project}/img/{ref}",status="200"' in text
    assert image["id"] not in text
    assert "pixvault_upload_bytes_total" in text
    assert 'pixvault_derivative_cache_total{result="hit"}' in text
    assert "pixvault_render_seconds_bucket" in text
    assert "pixvault_render_queue_depth" in text
