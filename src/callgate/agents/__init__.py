"""Agents under test: the seam (agent kinds, voice agents, dialogue policies, tool backends) and
callgate's own pipeline agent. Domains (policies, tools) come from plugins."""
