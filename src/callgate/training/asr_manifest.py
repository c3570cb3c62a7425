"""Caller turns as ASR training data: NeMo manifest lines and the audio clips they point to.

For every agent turn with ASR evidence (an ``asr`` record and a reference), the clip is the span
of the caller track the ASR received (``asr.audio_start`` to ``asr.audio_end`` of
``trace.caller_audio``: the caller as the agent heard it, line and noise included), written as
``audio/<call_id>-<turn>.wav`` (mono 16-bit PCM at the track's rate). Its ``text`` is what the
caller really said in that span (the turn's ``reference_text``), normalised by
:func:`normalise`.

Audio cannot be redacted, so an utterance whose reference holds personal data under the export's
rules is left out (and counted); its ASR hypothesis, kept as an extra field, is redacted like
every text.
"""

from __future__ import annotations

import io
import re
import wave
from collections import Counter
from dataclasses import dataclass

from callgate.speech.audio import Audio
from callgate.traces.model import CallTrace
from callgate.training.output import AUDIO_DIR
from callgate.training.records import AsrManifestLine
from callgate.training.redact import Hits, Redactor

_KEEP = re.compile(r"[^a-z0-9' ]+")
_SPACES = re.compile(r"\s+")
_LOOSE_APOSTROPHE = re.compile(r"(?<![a-z0-9])'|'(?![a-z0-9])")


def normalise(text: str) -> str:
    """Lower case; curly apostrophes straightened; every character but letters, digits, spaces
    and apostrophes inside a word ("don't") becomes a space; spaces collapsed. Digits stay as
    the scenario wrote them."""
    text = text.lower().replace("’", "'").replace("‘", "'")
    text = _KEEP.sub(" ", text)
    text = _LOOSE_APOSTROPHE.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def clip_name(call_id: str, turn: int) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", call_id)
    return f"{safe}-{turn}.wav"


def wav_bytes(audio: Audio) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.sample_rate)
        w.writeframes(audio.pcm16().astype("<i2").tobytes())
    return buf.getvalue()


@dataclass(frozen=True)
class Clip:
    line: AsrManifestLine
    audio: Audio


def manifest_clips(
    trace: CallTrace,
    caller_audio: Audio | None,
    redactor: Redactor,
    hits: Hits,
    skipped: Counter[str],
) -> list[Clip]:
    """The clips of one call; what is left out is counted in ``skipped`` by reason."""
    clips: list[Clip] = []
    for turn in trace.agent_turns:
        if turn.trigger != "utterance" or turn.asr is None:
            continue
        reference = (turn.reference_text or "").strip()
        text = normalise(reference)
        if not text:
            skipped["asr: no reference text"] += 1
            continue
        if redactor.enabled and redactor.matches(reference):
            skipped["asr: personal data in the reference (audio cannot be redacted)"] += 1
            continue
        if caller_audio is None:
            skipped["asr: no caller audio"] += 1
            continue
        audio = caller_audio.slice(turn.asr.audio_start, turn.asr.audio_end)
        if len(audio.samples) == 0:
            skipped["asr: empty audio span"] += 1
            continue
        line = AsrManifestLine(
            audio_filepath=f"{AUDIO_DIR}/{clip_name(trace.call_id, turn.index)}",
            duration=round(audio.duration, 6),
            text=text,
            call_id=trace.call_id,
            run_id=trace.run_id,
            turn=turn.index,
            scenario_id=trace.scenario_id,
            variant=trace.variant,
            split=trace.split,
            cohort_id=trace.cohort_id,
            cohort=dict(trace.cohort),
            hypothesis=redactor.text(turn.asr.text, hits),
            sample_rate=audio.sample_rate,
        )
        clips.append(Clip(line, audio))
    return clips
