"""What every surface's routes say in `/docs` beyond their success shape: the errors they may
answer (in the surface's own envelope) and the multipart body of an upload (read by the
streaming parser, so FastAPI cannot infer it)."""

from typing import Any

# One sentence per status, the same on every surface.
STATUS_MEANINGS = {
    400: "Invalid input; the message names the parameter and how to fix it",
    401: "No credentials, or a key or token that is unknown, expired or revoked",
    403: "The credentials are valid but may not do this",
    404: "Not found (another project's or vault's item is not found either)",
    405: "The path exists but not with this method",
    408: "The request body stalled; the connection is closed",
    409: "Conflict: the name or alias is taken",
    413: "The upload is larger than the limit",
    416: "The Range header is past the end of the file",
    422: "Validation failed: one violation per field",
    429: "Too many requests; retry after the Retry-After header's seconds",
    503: "The database or blob store is unavailable; retry later",
}


def error_responses(
    model: Any, statuses: tuple[int, ...], *, media_types: tuple[str, ...] = ()
) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for `statuses`, each with the surface's error `model` (and, when
    the surface answers errors as another type than JSON, that type too)."""
    extra = {"content": {media: {} for media in media_types}} if media_types else {}
    return {
        status: {"model": model, "description": STATUS_MEANINGS[status], **extra}
        for status in statuses
    }


def multipart_body(
    file_field: str, fields: dict[str, str], *, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """`openapi_extra=` for an upload route: the file part and the text fields it reads."""
    properties: dict[str, Any] = {
        file_field: {"type": "string", "format": "binary", "description": "the image"}
    }
    for name, description in fields.items():
        properties[name] = {"type": "string", "description": description}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": properties,
                        "required": [file_field, *required],
                    }
                }
            },
        }
    }


def json_body(model: Any) -> dict[str, Any]:
    """`openapi_extra=` for a route that reads its JSON body itself (to answer its own errors
    for malformed JSON): the body's shape, from a pydantic `model`."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


def query_parameters(names: dict[str, str]) -> dict[str, Any]:
    """`openapi_extra=` for a route that reads its query itself: optional string parameters."""
    return {
        "parameters": [
            {
                "name": n,
                "in": "query",
                "required": False,
                "description": d,
                "schema": {"type": "string"},
            }
            for n, d in names.items()
        ]
    }
