"""Variants: one file per agent under test (the baseline, each candidate)."""

from callgate.variants.load import LoadedVariant, load_variant, load_variants
from callgate.variants.model import Variant

__all__ = ["LoadedVariant", "Variant", "load_variant", "load_variants"]
