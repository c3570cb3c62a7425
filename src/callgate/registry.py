"""Name registries for pluggable parts (ASR, TTS, VAD, policies, executors).

A variant file says ``asr: {engine: whisper}``; the registry turns the name into a factory. Outside
packages can add engines with :meth:`Registry.register` (or, later, entry points) without touching
callgate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from callgate.errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from public names to factories of one kind of part."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories and self._factories[name] is not factory:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = factory
            return factory

        return decorate

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def factory(self, name: str) -> Callable[..., T]:
        try:
            return self._factories[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise UsageError(f"unknown {self.kind} {name!r} (known: {known})") from None

    def create(self, name: str, /, **params: object) -> T:
        return self.factory(name)(**params)
