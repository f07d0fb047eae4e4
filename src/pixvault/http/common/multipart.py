"""Streaming multipart/form-data: the file part flows into the core's staging file as the body
arrives, so an upload is never held in memory and a body past the limit is refused at once.

python-multipart parses; this module routes its callbacks. Parts may come in any order (imgbt's
SDK sends the file first). Text fields are small and bounded; one file field is accepted, and
the body as a whole may exceed the file limit only by a small allowance for the other parts.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import anyio
from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from pixvault.domain.errors import FileTooLarge, InvalidInput
from pixvault.domain.uploads import UploadPolicy
from pixvault.services.library import LibraryService
from pixvault.services.staging import StagedFile

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 32
_OVERHEAD = 256 * 1024
_DRAIN_SECONDS = 30


@dataclass
class Form:
    fields: dict[str, str]
    file: StagedFile | None
    filename: str | None
    content_type: str | None


class _Router:
    """python-multipart callbacks: headers per part, then the part's bytes to its sink."""

    def __init__(self, file_field: str, open_file: Callable[[], StagedFile]):
        self.file_field = file_field
        self.open_file = open_file
        self.form = Form({}, None, None, None)
        self.parts = 0
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._name = ""
        self._into_file = False
        self._skip = False
        self._value = bytearray()

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": lambda d, s, e: self._add("_header_field", d[s:e]),
            "on_header_value": lambda d, s, e: self._add("_header_value", d[s:e]),
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def _add(self, attr: str, data: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + data)

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise InvalidInput(f"Too many form fields (more than {MAX_PARTS})")
        self._headers = {}
        self._value = bytearray()
        self._into_file = self._skip = False

    def on_header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def on_headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in params:
            raise InvalidInput("Malformed multipart body: a part has no form-data name")
        self._name = params[b"name"].decode("utf-8", "replace")
        if b"filename" not in params:
            return
        if self._name != self.file_field:
            self._skip = True  # a file under another name: not ours, read past it
            return
        if self.form.file is not None:
            raise InvalidInput(f"Only one file may be sent as {self._name!r}", param=self._name)
        content_type = self._headers.get(b"content-type")
        self.form.file = self.open_file()
        self.form.filename = params[b"filename"].decode("utf-8", "replace") or None
        self.form.content_type = content_type.decode("latin-1") if content_type else None
        self._into_file = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._into_file:
            assert self.form.file is not None
            self.form.file.write(memoryview(data)[start:end])
        elif not self._skip:
            self._value += data[start:end]
            if len(self._value) > MAX_FIELD_BYTES:
                raise InvalidInput(
                    f"Form field {self._name!r} is longer than {MAX_FIELD_BYTES} bytes",
                    param=self._name,
                )

    def on_part_end(self) -> None:
        if not self._into_file and not self._skip:
            self.form.fields.setdefault(self._name, self._value.decode("utf-8", "replace"))


@dataclass
class Upload:
    """A form with its file part present (staged; close it, or use it as a context manager)."""

    fields: dict[str, str]
    file: StagedFile
    filename: str | None
    content_type: str | None


async def read_upload(
    request: Request,
    library: LibraryService,
    policy: UploadPolicy,
    *,
    file_field: str,
    missing: str,
    drain: bool = False,
) -> Upload:
    """The whole form, its file streamed into staging under `policy`; `missing` is the error
    message (in the surface's words) when no file part came."""
    form = await read_form(
        request,
        file_field=file_field,
        open_file=lambda: library.stage(policy),
        limit=policy.max_bytes,
        drain=drain,
    )
    if form.file is None:
        raise InvalidInput(missing, param=file_field)
    return Upload(form.fields, form.file, form.filename, form.content_type)


async def read_form(
    request: Request,
    *,
    file_field: str,
    open_file: Callable[[], StagedFile],
    limit: int,
    drain: bool = False,
) -> Form:
    """Parse the whole body; the file part (named `file_field`) goes to `open_file()`.
    The caller closes `form.file`; on any error it is closed here. With `drain`, a body
    refused as too large is still read (and discarded, within bounds) so that clients that
    write the whole body before reading the answer see the refusal, not a reset."""
    body = _Body(request)
    try:
        return await _read_form(
            request, body, file_field=file_field, open_file=open_file, limit=limit
        )
    except FileTooLarge:
        if drain and not body.ended:
            with anyio.move_on_after(_DRAIN_SECONDS):
                async for _ in body.chunks(budget=2 * limit):
                    pass
        raise


class _Body:
    """The request body as ASGI messages, remembering whether the last one has arrived."""

    def __init__(self, request: Request):
        self.request = request
        self.ended = False

    async def chunks(self, budget: int | None = None) -> AsyncIterator[bytes]:
        while not self.ended:
            message = await self.request.receive()
            if message["type"] != "http.request":
                self.ended = True  # the client went away
                return
            chunk = message.get("body", b"")
            self.ended = not message.get("more_body", False)
            if budget is not None:
                budget -= len(chunk)
                if budget < 0:
                    return
            yield chunk


async def _read_form(
    request: Request,
    body: _Body,
    *,
    file_field: str,
    open_file: Callable[[], StagedFile],
    limit: int,
) -> Form:
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise InvalidInput(
            f"Send the upload as multipart/form-data with the file in a {file_field!r} field",
            param=file_field,
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + _OVERHEAD:
        raise FileTooLarge(limit)
    router = _Router(file_field, open_file)
    parser = MultipartParser(params[b"boundary"], router.callbacks())
    received = 0
    try:
        async for chunk in body.chunks():
            received += len(chunk)
            if received > limit + _OVERHEAD:
                raise FileTooLarge(limit)
            parser.write(chunk)
            if router.form.file is not None:
                await router.form.file.drain()  # hashed and written while the next arrives
        parser.finalize()
        if router.form.file is not None:
            await router.form.file.complete()
    except MultipartParseError as exc:
        _discard(router.form)
        raise InvalidInput(f"Malformed multipart body: {exc}") from None
    except BaseException:
        _discard(router.form)
        raise
    return router.form


def _discard(form: Form) -> None:
    if form.file is not None:
        form.file.close()
