"""``callgate serve``: a read-only local web UI over a store (docs/report.md)."""
