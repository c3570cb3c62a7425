"""Inspection: why a call failed (attribution); reports and the web UI build on it."""
