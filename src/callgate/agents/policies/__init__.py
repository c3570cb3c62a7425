"""Dialogue policies that live outside callgate's process: an LLM behind any OpenAI-compatible
chat-completions endpoint, and a team's own dialogue service behind callgate's turn protocol.
Both plug into the pipeline agent, so callgate provides the line, VAD, ASR and TTS around them."""
