"""Requests no route answers get the native error envelope, not the framework's bare detail."""


async def test_unknown_path_is_a_404_in_the_native_envelope(client):
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "NOT_FOUND"
    assert "/api/v1/nothing-here" in body["error"]["message"]
    assert "detail" not in body


async def test_wrong_method_is_a_405_naming_the_allowed_methods(client):
    response = await client.patch("/api/v1/images")
    assert response.status_code == 405
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in body["error"]["message"]
    assert "GET" in response.headers["allow"]


async def test_paths_outside_the_api_answer_in_the_envelope_too(client):
    response = await client.delete("/no/such/page")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_an_unknown_ui_page_is_the_uis_own_404_page(client):
    response = await client.get("/ui/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in response.text
    assert "/ui/no-such-page" in response.text
