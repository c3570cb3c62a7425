"""YAML loading that remembers where each value came from, so errors can name file and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from callgate.errors import UsageError


@dataclass
class Located:
    """A parsed YAML document and its node tree (for line lookups)."""

    path: Path
    data: Any
    node: yaml.Node | None


def read_yaml(path: Path) -> Located:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError("file not found", source=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read file ({exc.__class__.__name__})", source=path) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"invalid YAML: {problem}", source=f"{path}{line}") from None
    return Located(path, data, node)


def line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the deepest node along ``loc`` that exists in the tree."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            nxt = node.value[part] if 0 <= part < len(node.value) else None
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def first_error(exc: ValidationError) -> tuple[tuple[int | str, ...], str]:
    err = exc.errors()[0]
    # pydantic appends the validator name for tagged unions and function validators; drop those
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    msg = err["msg"].removeprefix("Value error, ")
    return loc, msg


def validation_message(exc: ValidationError) -> str:
    """The first error as one line, ``field.path: message`` (a file-less input: parameters, a
    message on the wire)."""
    loc, msg = first_error(exc)
    where = format_loc(loc)
    return f"{where}: {msg}" if where else msg


def validation_error(
    exc: ValidationError,
    located: Located,
    *,
    loc_prefix: tuple[int | str, ...] = (),
    node_loc: tuple[int | str, ...] | None = None,
) -> UsageError:
    """Turn the first pydantic error into a one-line :class:`UsageError` with file and line."""
    loc, msg = first_error(exc)
    line = line_of(located.node, node_loc if node_loc is not None else loc)
    where = f"{located.path}:{line}" if line else str(located.path)
    return UsageError(msg, source=where, field=format_loc(loc_prefix + loc) or None)
