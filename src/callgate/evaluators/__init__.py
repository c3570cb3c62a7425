"""Evaluators: deterministic, reference-based scores computed from call evidence.

Public names (stable API): ASRAccuracy, TTSAccuracy, SpeechQuality, TaskCompletion,
ToolSelectionAccuracy, Timing, TurnTaking, ConversationSignals, Safety, SayDo, Cost. Each works on a
call trace (``score_call``) and the ASR and task evaluators also standalone (``evaluate(...)``).
"""

from callgate.evaluators.asr import ASRAccuracy
from callgate.evaluators.base import EVALUATORS, EvalContext, EvalResult, Evaluator, Metric
from callgate.evaluators.conversation import ConversationSignals
from callgate.evaluators.cost import Cost
from callgate.evaluators.quality import SpeechQuality
from callgate.evaluators.safety import Safety
from callgate.evaluators.say_do import SayDo
from callgate.evaluators.task import TaskCompletion
from callgate.evaluators.timing import Timing
from callgate.evaluators.tools import ToolSelectionAccuracy
from callgate.evaluators.tts import TTSAccuracy
from callgate.evaluators.turn_taking import TurnTaking

__all__ = [
    "EVALUATORS",
    "ASRAccuracy",
    "ConversationSignals",
    "Cost",
    "EvalContext",
    "EvalResult",
    "Evaluator",
    "Metric",
    "Safety",
    "SayDo",
    "SpeechQuality",
    "TTSAccuracy",
    "TaskCompletion",
    "Timing",
    "ToolSelectionAccuracy",
    "TurnTaking",
]
