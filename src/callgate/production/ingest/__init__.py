"""Production call logs into the store: the call-log format, the readers of each log format
(JSONL, OTLP JSON, LiveKit session reports), the one converter to traces, and the import batch."""
