"""Loading outside code: ``module:attr`` and ``file.py:attr`` references, and ``--plugin`` modules.

Parts are found through the registries' entry-point groups (see :mod:`callgate.registry`); this
module handles the two other ways a user names code:

* a reference ``package.module:attr`` or ``path/to/file.py:attr`` wherever a file or the CLI names
  a part (a relative path is relative to the file that names it, or to the working directory);
* ``--plugin MODULE`` (a module name or a ``.py`` file), imported for what it registers.

Spawned or remote workers must see the same parts: the plugin modules a run loaded are recorded in
its run spec and imported again in every worker by :func:`load_plugin_modules`; references carry
absolute paths, so a worker resolves them the same way.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from callgate.errors import UsageError

# "pkg.mod:attr" or "some/dir/file.py:attr" (attr may be dotted: "mod:Class.factory").
_REFERENCE = re.compile(r"^(?P<target>[^:]+\.py|[A-Za-z_][\w.]*):(?P<attr>[A-Za-z_][\w.]*)$")

_loaded_modules: list[str] = []


def is_reference(name: str) -> bool:
    return _REFERENCE.match(name) is not None


def absolute_reference(ref: str, base_dir: Path) -> str:
    """A ``file.py:attr`` reference made absolute against ``base_dir`` (module refs unchanged)."""
    m = _REFERENCE.match(ref)
    if m is None or not m.group("target").endswith(".py"):
        return ref
    path = Path(m.group("target"))
    if not path.is_absolute():
        path = (base_dir / path).resolve()
    return f"{path}:{m.group('attr')}"


def absolute_refs(value: Any, base_dir: Path) -> Any:
    """``value`` (a string, or JSON-like data) with every relative ``file.py:attr`` reference in it
    made absolute against ``base_dir``, the folder of the file that names it."""
    if isinstance(value, str):
        return absolute_reference(value, base_dir) if is_reference(value) else value
    if isinstance(value, dict):
        return {k: absolute_refs(v, base_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [absolute_refs(v, base_dir) for v in value]
    return value


def import_target(target: str) -> ModuleType:
    """Import a dotted module name or a ``.py`` file (relative to the working directory)."""
    if not target.endswith(".py"):
        return importlib.import_module(target)
    path = Path(target).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    # A stable module name per file, so loading the same file twice reuses the first import.
    name = "callgate_plugin_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_reference(ref: str) -> Any:
    """The object a reference names; one-line :class:`UsageError` when it cannot be loaded."""
    m = _REFERENCE.match(ref)
    if m is None:
        raise UsageError(f"not a plugin reference: {ref!r} (package.module:attr or file.py:attr)")
    try:
        obj: Any = import_target(m.group("target"))
        for part in m.group("attr").split("."):
            obj = getattr(obj, part)
    except Exception as exc:  # outside code: any failure is reported, never a traceback
        raise UsageError(f"plugin {ref!r} failed to load: {type(exc).__name__}: {exc}") from None
    return obj


def load_plugin_modules(modules: list[str], field: str = "--plugin") -> None:
    """Import each ``--plugin`` module (or ``.py`` file) once, for what it registers."""
    for target in modules:
        if target in _loaded_modules:
            continue
        try:
            import_target(target)
        except Exception as exc:
            raise UsageError(
                f"plugin {target!r} failed to load: {type(exc).__name__}: {exc}", field=field
            ) from None
        _loaded_modules.append(target)


def loaded_plugin_modules() -> list[str]:
    """The ``--plugin`` modules this process loaded, in order (recorded in a run's spec)."""
    return list(_loaded_modules)


def canonical_plugin(target: str) -> str:
    """A ``--plugin`` argument as a worker in another directory can import it."""
    return str(Path(target).resolve()) if target.endswith(".py") else target
