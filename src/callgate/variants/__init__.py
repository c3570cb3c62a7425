"""Variants: one file per agent configuration (the baseline, each candidate)."""

from callgate.variants.load import LoadedVariant, bundled_variants, load_variant, load_variants
from callgate.variants.model import Variant

__all__ = ["LoadedVariant", "Variant", "bundled_variants", "load_variant", "load_variants"]
