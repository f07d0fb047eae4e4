"""Streaming multipart/form-data reading with limits enforced while the body arrives.

python-multipart does the parsing; this module only counts bytes as they stream in, so an
oversized upload is refused as soon as it crosses the limit instead of after it is buffered.
"""

from dataclasses import dataclass, field

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from pixvault.domain.errors import InvalidInput, PayloadTooLarge

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 32
_OVERHEAD = 256 * 1024


@dataclass
class FilePart:
    filename: str | None
    content_type: str | None
    data: bytearray = field(default_factory=bytearray)


@dataclass
class Form:
    fields: dict[str, str]
    files: dict[str, FilePart]


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The file exceeds the {limit // (1024 * 1024) or limit} "
        f"{'MB' if limit >= 1024 * 1024 else 'bytes'} upload limit; upload a smaller file",
        param="file",
    )


class _Collector:
    def __init__(self, file_limit: int):
        self.file_limit = file_limit
        self.fields: dict[str, str] = {}
        self.files: dict[str, FilePart] = {}
        self.parts = 0
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._name = ""
        self._file: FilePart | None = None
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
        self._file = None

    def on_header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def on_headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in params:
            raise InvalidInput("Malformed multipart body: a part has no form-data name")
        self._name = params[b"name"].decode("utf-8", "replace")
        if b"filename" in params:
            if self._name in self.files:
                raise InvalidInput(f"Only one file may be sent as {self._name!r}", param=self._name)
            content_type = self._headers.get(b"content-type")
            self._file = FilePart(
                filename=params[b"filename"].decode("utf-8", "replace") or None,
                content_type=content_type.decode("latin-1") if content_type else None,
            )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self._file.data += data[start:end]
            if len(self._file.data) > self.file_limit:
                raise _too_large(self.file_limit)
        else:
            self._value += data[start:end]
            if len(self._value) > MAX_FIELD_BYTES:
                raise InvalidInput(
                    f"Form field {self._name!r} is longer than {MAX_FIELD_BYTES} bytes",
                    param=self._name,
                )

    def on_part_end(self) -> None:
        if self._file is not None:
            self.files[self._name] = self._file
        else:
            self.fields.setdefault(self._name, self._value.decode("utf-8", "replace"))


async def read_form(request: Request, *, file_limit: int) -> Form:
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise InvalidInput(
            "Send the upload as multipart/form-data with the image in a 'file' field",
            param="file",
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > file_limit + _OVERHEAD:
        raise _too_large(file_limit)
    collector = _Collector(file_limit)
    parser = MultipartParser(params[b"boundary"], collector.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise InvalidInput(f"Malformed multipart body: {exc}") from None
    return Form(collector.fields, collector.files)
