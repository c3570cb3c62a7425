"""OpenTelemetry trace exports in OTLP JSON, read into spans; a part that does not read is named.

Accepts what exporters really write: one ``{"resourceSpans": [...]}`` document (pretty-printed or
not), or JSON Lines with one such export request per line (the Collector's file exporter); ids in
hex (OTLP/JSON) or base64 (protobuf's own JSON mapping, ``MessageToJson``); field names in
camelCase or snake_case; enums as names or numbers; 64-bit integers as strings or numbers. Lines of
logs or metrics in the same file are passed over. No protobuf dependency: the JSON is small and
regular, and a bad span should be a message naming it, not a parser's exception.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from callgate.production.ingest.formats import json_lines

_SPAN_ID_FIELD = re.compile(r'"span_?[iI]d"\s*:\s*"([^"]*)"')
_ZERO_IDS = ("", "AAAAAAAAAAA=")  # a root span's parent, as zeros in hex (stripped) or base64


@dataclass(frozen=True)
class Span:
    trace_id: str  # lowercase hex
    span_id: str
    shown_id: str  # as the file writes it, so a message names what a user can search for
    parent_id: str | None
    name: str
    start_ns: int  # unix nanoseconds
    end_ns: int
    attrs: dict[str, Any]
    resource: dict[str, Any]
    error: str | None  # the status message of a span whose status is ERROR
    line: int | None

    def __str__(self) -> str:
        return f"span {self.name!r} (id {self.shown_id})"


@dataclass(frozen=True)
class Malformed:
    line: int | None
    message: str
    trace_id: str | None = None  # the trace a malformed span belongs to, when that much reads


class _Bad(ValueError):
    pass


def read_spans(text: str) -> Iterator[Span | Malformed]:
    lines = text.split("\n")  # not splitlines(): JSON strings may hold U+2028 and friends
    first = next((ln for ln in lines if ln.strip()), "")
    try:
        one_per_line = isinstance(json.loads(first), dict)
    except json.JSONDecodeError:
        one_per_line = False
    if not one_per_line:  # one document, perhaps pretty-printed: a span's line is its id's
        try:
            request = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Malformed(exc.lineno, f"not JSON ({exc.msg}, column {exc.colno})")
            return
        yield from _request(request, None, _id_lines(text))
        return
    for number, request, problem in json_lines(lines):
        if problem is not None:
            yield Malformed(number, problem)
        else:
            yield from _request(request, number, {})


def _id_lines(text: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    line, pos = 1, 0
    for m in _SPAN_ID_FIELD.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        lines.setdefault(m.group(1), line)
    return lines


def _request(
    request: Any, line: int | None, id_lines: dict[str, int]
) -> Iterator[Span | Malformed]:
    if not isinstance(request, dict):
        yield Malformed(line, "not a JSON object")
        return
    resource_spans = field(request, "resourceSpans")
    if resource_spans is None:
        if field(request, "resourceLogs") is None and field(request, "resourceMetrics") is None:
            yield Malformed(line, "not an OTLP trace export (no resourceSpans)")
        return
    for rs in resource_spans if isinstance(resource_spans, list) else [None]:
        try:
            if not isinstance(rs, dict):
                raise _Bad("resourceSpans: expected a list of objects")
            resource = _attributes(field(field(rs, "resource"), "attributes"))
            scopes = field(rs, "scopeSpans") or field(rs, "instrumentationLibrarySpans")
            raw_spans = [sp for sc in _list(scopes, "scopeSpans") for sp in _list(sc, "spans")]
        except _Bad as exc:
            yield Malformed(line, str(exc))
            continue
        for raw in raw_spans:
            shown = str(field(raw, "spanId") or "")
            at = line if line is not None else id_lines.get(shown)
            try:
                yield _span(raw, resource, at, shown)
            except _Bad as exc:
                name = field(raw, "name")
                trace = _id(field(raw, "traceId"), 16, "traceId", quiet=True)
                yield Malformed(at, f"span {name!r} (id {shown or 'missing'}): {exc}", trace)


def _span(raw: Any, resource: dict[str, Any], line: int | None, shown: str) -> Span:
    if not isinstance(raw, dict):
        raise _Bad("not a JSON object")
    name = field(raw, "name")
    if not isinstance(name, str) or not name:
        raise _Bad("name: missing")
    parent = field(raw, "parentSpanId")
    start, end = _nanos(raw, "startTimeUnixNano"), _nanos(raw, "endTimeUnixNano")
    if end < start:
        raise _Bad("endTimeUnixNano is before startTimeUnixNano")
    status = field(raw, "status") or {}
    if not isinstance(status, dict):
        raise _Bad("status: expected an object")
    error = None
    if field(status, "code") in (2, "2", "STATUS_CODE_ERROR"):
        error = str(field(status, "message") or "error")
    no_parent = parent is None or (isinstance(parent, str) and parent.strip("0") in _ZERO_IDS)
    return Span(
        trace_id=_id(field(raw, "traceId"), 16, "traceId") or "",
        span_id=_id(field(raw, "spanId"), 8, "spanId") or "",
        shown_id=shown,
        parent_id=None if no_parent else _id(parent, 8, "parentSpanId"),
        name=name,
        start_ns=start,
        end_ns=end,
        attrs=_attributes(field(raw, "attributes")),
        resource=resource,
        error=error,
        line=line,
    )


def field(obj: Any, camel: str) -> Any:
    """A field of an OTLP JSON object, written camelCase (OTLP/JSON) or snake_case (proto names)."""
    if not isinstance(obj, dict):
        return None
    if camel in obj:
        return obj[camel]
    return obj.get(re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), camel))


def _list(obj: Any, key: str) -> list[Any]:
    if obj is not None and not isinstance(obj, dict | list):
        raise _Bad(f"{key}: expected an object or a list, got {obj!r}")
    value = obj if isinstance(obj, list) else field(obj, key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(f"{key}: expected a list")
    return value


def _id(value: Any, size: int, what: str, quiet: bool = False) -> str | None:
    """An id as lowercase hex: OTLP/JSON writes hex, protobuf's JSON mapping base64. The two
    differ in length, so the length says which."""
    text = value if isinstance(value, str) else ""
    raw: bytes | None = None
    try:
        if len(text) == 2 * size:
            raw = bytes.fromhex(text)
        elif len(text) == 4 * math.ceil(size / 3):
            raw = base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raw = None
    if raw is None or len(raw) != size or not any(raw):
        if quiet:
            return None
        raise _Bad(f"{what}: not a {size}-byte id in hex or base64: {value!r}")
    return raw.hex()


def _nanos(raw: dict[str, Any], key: str) -> int:
    value = field(raw, key)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    # OTLP times are fixed64: a larger number is no time, and no date could be made of it.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**64:
        raise _Bad(f"{key}: missing or not a time in nanoseconds: {value!r}")
    return value


def _attributes(items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in _list(items, "attributes"):
        key = field(item, "key")
        if not isinstance(key, str):
            raise _Bad(f"attributes: an entry without a key: {item!r}")
        out[key] = _any_value(field(item, "value"), key)
    return out


def _any_value(value: Any, key: str) -> Any:
    if value is None or value == {}:
        return None
    if not isinstance(value, dict) or len(value) != 1:
        raise _Bad(f"{key}: not an OTLP AnyValue: {value!r}")
    kind, v = next(iter(value.items()))
    kind = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), kind)
    try:
        if kind in ("stringValue", "bytesValue"):
            return str(v)
        if kind == "boolValue" and isinstance(v, bool):
            return v
        if kind == "intValue" and not isinstance(v, bool | float):
            return int(v)
        if kind == "doubleValue" and not isinstance(v, bool):
            return float(v)  # also "NaN" and "Infinity", as the JSON mapping writes them
        if kind == "arrayValue":
            return [_any_value(x, key) for x in _list(v, "values")]
        if kind == "kvlistValue":
            return _attributes(_list(v, "values"))
    except (TypeError, ValueError):
        pass
    raise _Bad(f"{key}: not an OTLP AnyValue: {value!r}")
