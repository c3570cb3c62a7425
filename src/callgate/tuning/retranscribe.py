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
    ctx: TuneContext, configs: dict[str, dict[str, Any]], turns: list[HeardTurn], label: str
) -> dict[str, list[str | None]]:
    """What each ``asr:`` block of ``configs`` (engine, params, hints) hears in each turn's clip,
    by name; None where the call kept no caller audio. One pass over the turns: each clip is cut
    once and heard by every configuration, and a call's track is decoded once for its turns
    (turns of a call come together)."""
    engines = {
        name: (get_asr(asr.get("engine", "whisper"), **(asr.get("params") or {})), hints_of(asr))
        for name, asr in configs.items()
    }
    out: dict[str, list[str | None]] = {name: [] for name in configs}
    last: tuple[str, Audio] | None = None
    for done, t in enumerate(turns, start=1):
        ctx.progress(label, done, len(turns))
        track, heard = t.call.caller_audio, t.turn.asr
        if track is None or heard is None:
            for texts in out.values():
                texts.append(None)
            continue
        if last is None or last[0] != track.sha256:
            last = (track.sha256, ctx.env.blobs.get(track))
        clip = last[1].slice(heard.audio_start, heard.audio_end)
        for name, (engine, hints) in engines.items():
            out[name].append(ctx.env.cache.transcribe(engine, clip, hints)[0].text)
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
