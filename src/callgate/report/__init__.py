"""The HTML report of a run (and of its gate decision), shared with the web UI (docs/report.md)."""
