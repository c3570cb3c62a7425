"""Failed or low-confidence production calls mined into regression scenarios."""
