"""Name registries for pluggable parts (agents, policies, tool sets, engines, evaluators, ...).

A variant file says ``asr: {engine: whisper}``; the registry turns the name into a factory. Every
registry is open the same three ways, and callgate's own parts use the first like anyone else's:

* an **entry point** in the registry's group (``callgate.asr``, ``callgate.policies``, ...), loaded
  lazily the first time a name is not found, so a plugin costs nothing until a run names it;
* a **reference** used as the name itself: ``package.module:attr`` or ``path/to/file.py:attr``;
* :meth:`Registry.register`, for code that is already imported (tests, ``--plugin`` modules).

Each name remembers where it came from (:meth:`Registry.origin`), so a run records the exact
plugins it used.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from callgate.errors import UsageError
from callgate.plugins import is_reference, load_reference

T = TypeVar("T")

_ALL: list[Registry[Any]] = []  # every registry, so a run can record each part it resolved


class Registry(Generic[T]):
    """A mapping from public names to factories of one kind of part."""

    def __init__(self, kind: str, group: str) -> None:
        self.kind = kind
        self.group = group
        self._factories: dict[str, Callable[..., T]] = {}
        self._origins: dict[str, str] = {}
        self._broken: dict[str, UsageError] = {}  # plugins that failed to load while listing
        _ALL.append(self)

    def register(
        self, name: str, origin: str = "registered"
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories and self._factories[name] is not factory:
                raise UsageError(f"{self.kind} {name!r} is already registered")
            offered = self._entry_points().get(name)
            if offered is not None and name not in self._factories:
                # Whichever loaded first would win silently: refuse, naming both.
                raise UsageError(
                    f"{self.kind} {name!r} is registered by {origin} and offered by plugin "
                    f"{_dist(offered)} ({offered.value}); rename one"
                )
            self._factories[name] = factory
            self._origins.setdefault(name, origin)
            return factory

        return decorate

    def unregister(self, name: str) -> None:
        """Forget a name registered in this process (tests, or a plugin reloaded in a session)."""
        self._factories.pop(name, None)
        self._origins.pop(name, None)
        self._broken.pop(name, None)

    # -- entry points ----------------------------------------------------------------------------

    def _entry_points(self) -> dict[str, importlib.metadata.EntryPoint]:
        found: dict[str, importlib.metadata.EntryPoint] = {}
        for ep in importlib.metadata.entry_points(group=self.group):
            other = found.get(ep.name)
            if other is not None and other.value != ep.value:
                raise UsageError(
                    f"two plugins register {self.kind} {ep.name!r}: {_dist(other)} "
                    f"({other.value}) and {_dist(ep)} ({ep.value})"
                )
            found[ep.name] = ep
        return found

    def _load_entry_point(self, ep: importlib.metadata.EntryPoint) -> None:
        try:
            obj = ep.load()
        except Exception as exc:  # any import failure of outside code is the user's to fix
            raise UsageError(
                f"{self.kind} {ep.name!r} from plugin {_dist(ep)} ({ep.value}) failed to load: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        self._factories.setdefault(ep.name, obj)
        self._origins[ep.name] = f"{_dist(ep)}: {ep.value}"

    def _resolve(self, name: str) -> bool:
        if name in self._factories:
            return True
        if name in self._broken:
            raise self._broken[name]
        if is_reference(name):
            self._factories[name] = load_reference(name)
            self._origins[name] = f"reference {name}"
            return True
        ep = self._entry_points().get(name)
        if ep is None:
            return False
        self._load_entry_point(ep)
        return True

    def load_all(self) -> None:
        """Load every entry point of the group (to list what each part declares). A plugin that
        fails to load is left out here, so one broken package does not stop commands that never
        name it; naming it later raises its one-line error."""
        for name, ep in sorted(self._entry_points().items()):
            if name not in self._factories and name not in self._broken:
                try:
                    self._load_entry_point(ep)
                except UsageError as exc:
                    self._broken[name] = exc

    # -- lookups ---------------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Registered names and the names plugins offer (without loading them)."""
        return sorted((set(self._factories) | set(self._entry_points())) - set(self._broken))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._resolve(name)

    def factory(self, name: str) -> Callable[..., T]:
        if not self._resolve(name):
            known = ", ".join(self.names()) or "none"
            raise UsageError(f"unknown {self.kind} {name!r} (known: {known})")
        return self._factories[name]

    def require(self, name: str, field: str) -> None:
        """Resolve ``name`` now (a plugin loads here); its errors name ``field``."""
        try:
            self.factory(name)
        except UsageError as exc:
            raise UsageError(exc.message, field=field) from None

    def get(self, name: str) -> Any:
        """The registered object itself, for registries of things other than factories."""
        return self.factory(name)

    def create(self, name: str, /, **params: Any) -> T:
        return self.factory(name)(**params)

    def origin(self, name: str) -> str:
        """Where a resolved name came from: ``dist version: module:attr``, a reference, ..."""
        self.factory(name)
        return self._origins.get(name, "registered")


def build_part(make: Callable[..., Any], name: str, params: dict[str, Any], field: str) -> Any:
    """``make(name, **params)`` with any refusal (a bad parameter, a missing package) reported as
    a one-line error on ``field``: what a preflight does before a run writes anything."""
    try:
        return make(name, **params)
    except UsageError as exc:
        raise UsageError(exc.message, field=field) from None
    except TypeError as exc:  # a constructor refused a parameter
        raise UsageError(str(exc), field=field) from None


def resolved_parts() -> dict[str, str]:
    """``kind:name`` -> origin of every part this process has looked up so far."""
    return {
        f"{registry.kind}:{name}": registry._origins.get(name, "registered")
        for registry in _ALL
        for name in sorted(registry._factories)
    }


def _dist(ep: importlib.metadata.EntryPoint) -> str:
    dist = ep.dist
    if dist is None:
        return "an unknown distribution"
    return f"{dist.metadata['Name']} {dist.version}"
