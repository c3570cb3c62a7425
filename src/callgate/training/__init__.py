"""Training data from stored calls: chat-completions examples (with tool calls and per-message
weights, failed calls ending in their correction) and an ASR manifest with audio clips, personal
data redacted by the suite's rules. ``callgate export-training`` drives it; see
docs/training-data.md."""

from callgate.training.export import ExportRequest, ExportResult, export_training
from callgate.training.records import (
    AsrManifestLine,
    ChatExample,
    ChatMessage,
    ExampleMeta,
    ExportSummary,
    structure_problems,
)
from callgate.training.redact import Redactor

__all__ = [
    "AsrManifestLine",
    "ChatExample",
    "ChatMessage",
    "ExampleMeta",
    "ExportRequest",
    "ExportResult",
    "ExportSummary",
    "Redactor",
    "export_training",
    "structure_problems",
]
