"""Load variant files; bundled variants can be named (``baseline``, ``candidate``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from callgate.errors import UsageError
from callgate.scenarios._yaml import read_yaml, validation_error
from callgate.variants.model import Variant

BUNDLED = Path(__file__).parent / "builtin"


@dataclass(frozen=True)
class LoadedVariant:
    variant: Variant
    path: Path
    content_hash: str


def bundled_variants() -> list[str]:
    return sorted(p.stem for p in BUNDLED.glob("*.yaml"))


def load_variant(name_or_path: str) -> LoadedVariant:
    path = Path(name_or_path)
    if not path.exists() and path.suffix not in (".yaml", ".yml"):
        bundled = BUNDLED / f"{name_or_path}.yaml"
        if not bundled.exists():
            known = ", ".join(bundled_variants())
            raise UsageError(
                f"no variant file or bundled variant {name_or_path!r} (bundled: {known})"
            )
        path = bundled
    located = read_yaml(path)
    if not isinstance(located.data, dict):
        raise UsageError("a variant file must be a mapping", source=path)
    try:
        variant = Variant.model_validate(located.data)
    except ValidationError as exc:
        raise validation_error(exc, located) from None
    blob = json.dumps(variant.model_dump(mode="json"), sort_keys=True).encode()
    return LoadedVariant(variant, path, hashlib.sha256(blob).hexdigest())


def load_variants(items: list[str]) -> list[LoadedVariant]:
    loaded = [load_variant(item) for item in items]
    names = [lv.variant.name for lv in loaded]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(
            f"two variants share the name {dupes[0]!r}; names must differ", field="name"
        )
    return loaded
