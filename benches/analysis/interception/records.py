"""The interceptor's per-cycle files, read strictly: ``X.intercepted.jsonl`` and its meta.

The schema is the contract in :mod:`benches.capture.interception.files` (the analyzer
never imports the capture layer, so it is restated here as the checks below). Every
line is read on its own and bounded: a line longer than :data:`MAX_LINE` is skipped
unread, a line that is not a record of the schema becomes one :class:`LineProblem`
("X.intercepted.jsonl line 7: content is not base64"), never an exception. A problem
that names its connection becomes a note on that flow; one that does not is said
for the whole cycle. Either way the cycle cannot pass (fail closed).
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

MIB = 1 << 20
# A line holds one message, its body base64 (4/3 of it): 96 MiB is a 64 MiB body, the
# analyzer's own cap on an HTTP body (HttpLimits.max_body). Longer lines are skipped.
MAX_LINE = 96 * MIB
READ_CHUNK = 1 * MIB  # what a skipped line is read past at a time
MAX_META = 64 * 1024  # X.interception.json is a few hundred bytes
MAX_TEXT = 64 * 1024  # a method, host, path, SNI, error or header field at most
MAX_HEADERS = 1024  # header fields of one message

REQUEST, RESPONSE, WEBSOCKET, TLS_FAILED = "request", "response", "websocket", "tls_failed"
HTTP_VERSIONS = {"HTTP/1.0": "h1", "HTTP/1.1": "h1", "HTTP/2.0": "h2", "HTTP/3": "h3"}

Address = tuple[str, int]  # (canonical IP text, port)


@dataclass(frozen=True, slots=True)
class Message:
    """One decrypted HTTP request or response (``kind``), body still content-encoded."""

    line: int
    kind: str
    flow: str
    client: Address
    server: Address
    sni: str | None
    http_version: str
    method: str
    host: str
    path: str
    status: int | None
    headers: tuple[tuple[str, str], ...]
    content: bytes
    content_truncated: bool
    time: float


@dataclass(frozen=True, slots=True)
class WebSocketMessage:
    line: int
    flow: str
    client: Address
    server: Address
    sni: str | None
    from_client: bool
    text: bool
    content: bytes
    time: float


@dataclass(frozen=True, slots=True)
class TlsFailed:
    """A client that refused the interceptor's certificate: its flow stays opaque."""

    line: int
    client: Address
    server: Address
    sni: str | None
    error: str
    time: float


Record = Message | WebSocketMessage | TlsFailed


@dataclass(frozen=True, slots=True)
class LineProblem:
    """A line that could not be read as a record; ``connection`` when the line named one."""

    line: int
    detail: str
    connection: tuple[Address, Address] | None = None

    def text(self, path: Path) -> str:
        return f"{path.name} line {self.line}: {self.detail}"


class _Bad(Exception):
    """A field that breaks the schema; its text says which and why, in a few words."""


def read_records(stream: BinaryIO) -> Iterator[Record | LineProblem]:
    """Each line of an intercepted.jsonl stream as a record, or the problem with it."""
    number = 0
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            skipped = _skip_line(stream)
            yield LineProblem(
                number, f"longer than {MAX_LINE // MIB} MiB ({len(line) + skipped:,} bytes):"
                " not read",
            )  # fmt: skip
            continue
        if not line.strip():
            continue
        yield parse_line(number, line)


def _skip_line(stream: BinaryIO) -> int:
    skipped = 0
    while True:
        chunk = stream.readline(READ_CHUNK)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def parse_line(number: int, line: bytes) -> Record | LineProblem:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError) as error:
        return LineProblem(number, f"not JSON ({_short(error)})")
    if not isinstance(value, dict):
        return LineProblem(number, f"not a JSON object but {type(value).__name__}")
    connection = None
    try:
        connection = _address(value, "client"), _address(value, "server")
        return _record(number, value, connection)
    except _Bad as error:
        return LineProblem(number, str(error), connection)


def _record(number: int, value: dict[str, Any], connection: tuple[Address, Address]) -> Record:
    kind = value.get("kind")
    client, server = connection
    sni = _text(value, "sni", optional=True)
    time = _time(value)
    if kind in (REQUEST, RESPONSE):
        version = _text(value, "http_version")
        if version not in HTTP_VERSIONS:
            raise _Bad(f"http_version {version[:20]!r} is not one of {', '.join(HTTP_VERSIONS)}")
        status = value.get("status")
        if status is not None and (type(status) is not int or not 100 <= status <= 999):
            raise _Bad("status is not an HTTP status code or null")
        if kind == RESPONSE and status is None:
            raise _Bad("a response without a status")
        content, truncated = _content(value, sized=True)
        return Message(
            number, kind, _text(value, "flow"), client, server, sni, version,
            _text(value, "method"), _text(value, "host"), _text(value, "path"), status,
            _headers(value), content, truncated, time,
        )  # fmt: skip
    if kind == WEBSOCKET:
        content, _ = _content(value, sized=False)
        return WebSocketMessage(
            number, _text(value, "flow"), client, server, sni, _flag(value, "from_client"),
            _flag(value, "text"), content, time,
        )  # fmt: skip
    if kind == TLS_FAILED:
        return TlsFailed(number, client, server, sni, _text(value, "error"), time)
    raise _Bad(f"kind {str(kind)[:20]!r} is not request, response, websocket or tls_failed")


def _address(value: dict[str, Any], key: str) -> Address:
    text = value.get(key)
    if not isinstance(text, str) or len(text) > 64:
        raise _Bad(f"{key} is not an address ip:port")
    address = _parsed_address(text)
    if isinstance(address, str):
        raise _Bad(f"{key} {text!r} {address}")
    return address


@functools.lru_cache(maxsize=4096)  # a cycle's records name a few connections, many times
def _parsed_address(text: str) -> Address | str:
    """(canonical IP, port), or what is wrong with ``text``."""
    host, _, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "is not an address ip:port"
    if not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        return "has no port"
    return str(address), int(port)


def _text(value: dict[str, Any], key: str, *, optional: bool = False) -> str:
    text = value.get(key)
    if text is None and optional:
        return None  # type: ignore[return-value]  # only for the optional ones
    if not isinstance(text, str):
        raise _Bad(f"{key} is not a string")
    if len(text) > MAX_TEXT:
        raise _Bad(f"{key} is longer than {MAX_TEXT:,} characters")
    return text


def _flag(value: dict[str, Any], key: str) -> bool:
    flag = value.get(key)
    if type(flag) is not bool:
        raise _Bad(f"{key} is not true or false")
    return flag


def _time(value: dict[str, Any]) -> float:
    time = value.get("time")
    if not isinstance(time, int | float) or type(time) is bool or not math.isfinite(time):
        raise _Bad("time is not a number")
    return float(time)


def _headers(value: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    headers = value.get("headers")
    if not isinstance(headers, list):
        raise _Bad("headers is not a list of [name, value]")
    if len(headers) > MAX_HEADERS:
        raise _Bad(f"more than {MAX_HEADERS} headers")
    fields = []
    for field in headers:
        if (
            not isinstance(field, list)
            or len(field) != 2
            or not all(isinstance(part, str) and len(part) <= MAX_TEXT for part in field)
        ):
            raise _Bad("a header is not [name, value] of strings")
        fields.append((field[0], field[1]))
    return tuple(fields)


def _content(value: dict[str, Any], *, sized: bool) -> tuple[bytes, bool]:
    text = value.get("content")
    if not isinstance(text, str):
        raise _Bad("content is not a base64 string")
    try:
        content = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _Bad("content is not base64") from None
    if not sized:
        return content, False
    size, truncated = value.get("content_size"), _flag(value, "content_truncated")
    if type(size) is not int or size < 0:
        raise _Bad("content_size is not a number of bytes")
    if truncated and size < len(content):
        raise _Bad(f"content_size {size} is less than the {len(content)} bytes kept")
    if not truncated and size != len(content):
        raise _Bad(f"content_size {size} but {len(content)} bytes of content, not truncated")
    return content, truncated


def _short(error: Exception) -> str:
    return " ".join(str(error).split())[:80]


# --- X.interception.json ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Meta:
    interceptor: str
    mode: str
    ports: frozenset[int]
    phone: str | None
    window: tuple[float, float]
    complete: bool
    reason: str | None


def read_meta(path: Path) -> Meta | str:
    """The meta file, or the one-line problem with it."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_META + 1)
    except OSError as error:
        return f"{path.name}: {error.strerror or error}"
    if len(data) > MAX_META:
        return f"{path.name}: longer than {MAX_META:,} bytes"
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as error:
        return f"{path.name}: not JSON ({_short(error)})"
    try:
        return _meta(value)
    except _Bad as error:
        return f"{path.name}: {error}"


def _meta(value: Any) -> Meta:
    if not isinstance(value, dict):
        raise _Bad("not a JSON object")
    ports = value.get("ports")
    if not isinstance(ports, list) or not all(type(p) is int and 0 < p < 65536 for p in ports):
        raise _Bad("ports is not a list of port numbers")
    window = value.get("window")
    if (
        not isinstance(window, list)
        or len(window) != 2
        or not all(type(t) in (int, float) and math.isfinite(t) for t in window)
    ):
        raise _Bad("window is not [start, end]")
    phone = value.get("phone")
    if phone is not None:
        try:
            phone = str(ipaddress.ip_address(phone))
        except ValueError:
            raise _Bad("phone is not an IP address") from None
    reason = _text(value, "reason", optional=True)
    return Meta(
        interceptor=_text(value, "interceptor"),
        mode=_text(value, "mode"),
        ports=frozenset(ports),
        phone=phone,
        window=(float(window[0]), float(window[1])),
        complete=_flag(value, "complete"),
        reason=reason,
    )
