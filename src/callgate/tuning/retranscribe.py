"""Hear dev turns again: the audio the agent heard, through another ASR configuration.

Tuning jobs that change the ASR (hints, another engine or model) measure the change this way,
on exactly the clips the agent's ASR was given in the stored calls. Results go through the
store's speech cache, so measuring a configuration twice costs nothing the second time.
"""

from __future__ import annotations

from typing import Any

from callgate.evaluators.text import Spellings, corpus_wer
from callgate.speech.audio import Audio
from callgate.speech.engines import get_asr
from callgate.speech.protocols import ASRHints
from callgate.tuning.asr_terms import HeardTurn
from callgate.tuning.jobs import TuneContext


def hints_of(asr: dict[str, Any]) -> ASRHints:
    hints = asr.get("hints") or {}
    return ASRHints(tuple(hints.get("vocabulary") or ()), hints.get("prompt") or "")


def transcripts(
    ctx: TuneContext, asr: dict[str, Any], turns: list[HeardTurn], label: str
) -> list[str | None]:
    """What ``asr`` (an ``asr:`` block: engine, params, hints) hears in each turn's clip; None
    where the call kept no caller audio."""
    engine = get_asr(asr.get("engine", "whisper"), **(asr.get("params") or {}))
    hints = hints_of(asr)
    tracks: dict[str, Audio] = {}
    out: list[str | None] = []
    for done, t in enumerate(turns, start=1):
        ctx.progress(label, done, len(turns))
        track, heard = t.call.caller_audio, t.turn.asr
        if track is None or heard is None:
            out.append(None)
            continue
        if track.sha256 not in tracks:
            tracks[track.sha256] = ctx.env.blobs.get(track)
        clip = tracks[track.sha256].slice(heard.audio_start, heard.audio_end)
        out.append(ctx.env.cache.transcribe(engine, clip, hints)[0].text)
    return out


def wer_of(
    turns: list[HeardTurn], heard: list[str | None], spellings: Spellings
) -> tuple[float | None, int]:
    """Corpus WER of the turns that were heard, and how many there were."""
    pairs = [
        (spellings(t.reference), spellings(h))
        for t, h in zip(turns, heard, strict=True)
        if h is not None
    ]
    return (corpus_wer(pairs, normalized=True) if pairs else None), len(pairs)
