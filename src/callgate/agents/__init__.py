"""Agents under test: the seam (voice agents, dialogue policies, tool backends) and the reference
banking agent that the demo runs with no keys."""
