"""Simulated calls with real audio: caller, channel, virtual clock and the call loop."""
