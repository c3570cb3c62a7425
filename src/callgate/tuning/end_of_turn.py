"""Tuning job ``end-of-turn``: sweep the end-of-turn wait and VAD settings on dev calls.

The pipeline agent ends a caller's turn after ``turn.end_of_turn_silence_ms`` of silence found by
its VAD (:func:`callgate.agents.pipeline.group_turns`). This job replays exactly that decision on
the audio the agent heard in every dev call, for each (VAD setting, wait) of the sweep:

* a **cut-off** is a caller utterance the agent would split, answering before the caller is done
  (a mid-sentence pause longer than the wait), or one its VAD would not hear at all;
* **time to first audio** is from the end of the caller's speech to the end of turn, plus the
  call's own ASR, policy and TTS time after the end of turn (the median of its stored turns).

It reports the Pareto front of median time to first audio against the cut-off rate per cohort,
and picks as operating point the fastest setting that cuts no cohort off more often than the
current one does, plus ``tolerance`` (default one point: about one more cut-off utterance in a
hundred, the resolution of a few hundred dev utterances). The simulation then judges that
choice on holdout calls.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from callgate.agents.pipeline import group_turns
from callgate.errors import UsageError
from callgate.speech.engines import get_vad
from callgate.traces.model import CallTrace
from callgate.tuning.jobs import Proposal, TuneContext, require_agent

DEFAULT_WAITS_MS = (300, 400, 500, 600, 700, 800, 900, 1000, 1200)
ENERGY_MARGIN_STEPS_DB = (-3.0, 0.0, 3.0)  # around the variant's own margin
ENERGY_DEFAULT_MARGIN_DB = 9.0


@dataclass(frozen=True)
class _Utterance:
    cohort: str
    segments: list[tuple[float, float]]  # VAD spans, seconds from the utterance's start
    speech_end: float  # when the caller's words really end, same origin
    after_eot: float  # the call's median ASR + policy + TTS time after an end of turn


class EndOfTurnJob:
    def __init__(self, waits_ms: list[int] | None = None, tolerance: float = 0.01) -> None:
        waits = sorted(set(waits_ms or DEFAULT_WAITS_MS))
        if not waits or any(not 50 <= w <= 5000 for w in waits):
            raise UsageError("waits_ms must be between 50 and 5000", field="--param")
        if not 0.0 <= tolerance < 1.0:
            raise UsageError("tolerance must be in [0, 1)", field="--param")
        self.waits_ms = waits
        self.tolerance = tolerance

    def check(self, agent: dict[str, Any]) -> None:
        require_agent(agent, "end-of-turn tunes the pipeline agent's turn and vad settings")

    def propose(self, ctx: TuneContext) -> Proposal:
        vad = ctx.agent.get("vad", {"engine": "energy"})
        current_ms = int(ctx.agent.get("turn", {}).get("end_of_turn_silence_ms", 800))
        settings = _vad_settings(vad)
        waits = sorted({*self.waits_ms, current_ms})
        detectors = [get_vad(engine, **params) for _, engine, params in settings]
        heard = self._utterances(ctx, detectors)
        rows: list[dict[str, Any]] = []
        for (label, _, params), utterances in zip(settings, heard, strict=True):
            for wait in waits:
                rows.append(
                    {
                        "vad": label,
                        "vad_params": params,
                        "wait_ms": wait,
                        **_score(utterances, wait / 1000.0),
                    }
                )
        current = next(r for r in rows if r["vad"] == settings[0][0] and r["wait_ms"] == current_ms)
        figures: dict[str, Any] = {
            "sweep": [{k: v for k, v in r.items() if k != "vad_params"} for r in rows],
            "pareto": _pareto(rows),
            "current": {"vad": current["vad"], "wait_ms": current_ms},
        }
        chosen = self._choose(rows, current)
        figures["chosen"] = {"vad": chosen["vad"], "wait_ms": chosen["wait_ms"]}
        summary = (
            f"median time to first audio {current['ttfa_median']:.2f} s -> "
            f"{chosen['ttfa_median']:.2f} s, cut-off caller turns {current['cut_rate']:.1%} -> "
            f"{chosen['cut_rate']:.1%} over {current['utterances']} dev utterances"
        )
        if chosen is current:
            return Proposal(
                rationale=[
                    f"the current setting ({current_ms} ms, {current['vad']}) is already the "
                    "fastest that cuts no cohort off more often: no candidate"
                ],
                figures=figures,
            )
        patch: dict[str, Any] = {}
        if chosen["wait_ms"] != current_ms:
            patch["turn"] = {"end_of_turn_silence_ms": chosen["wait_ms"]}
        if chosen["vad"] != settings[0][0]:
            patch["vad"] = {"params": chosen["vad_params"]}
        return Proposal(
            patch=patch,
            rationale=[
                f"end of turn after {chosen['wait_ms']} ms ({chosen['vad']}) instead of "
                f"{current_ms} ms: {summary}",
                "chosen as the fastest setting whose cut-off rate in every cohort is at most the "
                f"current one's (+{self.tolerance:.0%})",
            ],
            figures=figures,
        )

    def _utterances(self, ctx: TuneContext, detectors: list[Any]) -> list[list[_Utterance]]:
        """Every dev utterance as each VAD setting hears it (each caller track decoded once)."""
        out: list[list[_Utterance]] = [[] for _ in detectors]
        for done, call in enumerate(ctx.calls, start=1):
            ctx.progress("end-of-turn: VAD on dev utterances", done, len(ctx.calls))
            trace = call.trace
            if trace.caller_audio is None:
                continue
            track = ctx.env.blobs.get(trace.caller_audio)
            after = _after_eot(trace)
            for u in trace.caller_turns:
                if not u.pieces:
                    continue
                clip = track.slice(u.start, u.end)
                for heard, detector in zip(out, detectors, strict=True):
                    segments = list(detector.speech_segments(clip))
                    heard.append(
                        _Utterance(trace.cohort_id, segments, u.pieces[-1].end - u.start, after)
                    )
        if not out[0]:
            raise UsageError("no dev call holds caller audio to replay end of turn on")
        return out

    def _choose(self, rows: list[dict[str, Any]], current: dict[str, Any]) -> dict[str, Any]:
        def allowed(row: dict[str, Any]) -> bool:
            return all(
                row["cohorts"][c]["cut_rate"] <= current["cohorts"][c]["cut_rate"] + self.tolerance
                for c in current["cohorts"]
            )

        best = current
        for row in rows:
            if allowed(row) and row["ttfa_median"] < best["ttfa_median"] - 1e-9:
                best = row
        return best


def _vad_settings(vad: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, engine, params): the variant's own VAD first, then the energy margins around it."""
    engine = vad.get("engine", "energy")
    params = dict(vad.get("params") or {})
    own = [(f"{engine} (current)", engine, params)]
    if engine != "energy":
        return own
    margin = float(params.get("margin_db", ENERGY_DEFAULT_MARGIN_DB))
    for step in ENERGY_MARGIN_STEPS_DB:
        if step:
            changed = {**params, "margin_db": margin + step}
            own.append((f"energy margin_db={margin + step:g}", engine, changed))
    return own


def _after_eot(trace: CallTrace) -> float:
    """Median seconds from an end of turn to the agent's first audible reply, in this call."""
    gaps = [
        t.first_audible - t.end_of_turn
        for t in trace.agent_turns
        if t.trigger == "utterance" and t.first_audible is not None and t.end_of_turn is not None
    ]
    return statistics.median(gaps) if gaps else 0.0


def _score(utterances: list[_Utterance], wait_s: float) -> dict[str, Any]:
    """Per cohort and over all: cut-offs, missed utterances, median time to first audio. An
    utterance the VAD does not hear at all is never answered: it counts as lost with the cut-offs
    (a setting must not look better by hearing less) and has no time to first audio."""
    by_cohort: dict[str, list[tuple[str, float | None]]] = defaultdict(list)
    for u in utterances:
        turns = group_turns(u.segments, wait_s)
        if not turns:
            by_cohort[u.cohort].append(("missed", None))
            continue
        ttfa = max(0.0, turns[-1][1] + wait_s - u.speech_end) + u.after_eot
        by_cohort[u.cohort].append(("cut" if len(turns) > 1 else "whole", ttfa))
    everything = [x for xs in by_cohort.values() for x in xs]
    return {
        **_summary(everything),
        "cohorts": {c: _summary(xs) for c, xs in sorted(by_cohort.items())},
    }


def _summary(items: list[tuple[str, float | None]]) -> dict[str, Any]:
    n = len(items)
    lost = sum(kind != "whole" for kind, _ in items)
    times = [t for _, t in items if t is not None]
    return {
        "utterances": n,
        "cut_rate": round(lost / n, 4) if n else 0.0,
        "missed": sum(kind == "missed" for kind, _ in items),
        # Nothing answered means no time to first audio: infinitely slow, never chosen.
        "ttfa_median": round(statistics.median(times), 4) if times else float("inf"),
    }


def _pareto(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per cohort (and ``all``), the settings no other setting beats on both axes."""
    cohorts = ["all", *sorted(rows[0]["cohorts"])]
    front: dict[str, list[dict[str, Any]]] = {}
    for cohort in cohorts:
        points = [
            (
                r["vad"],
                r["wait_ms"],
                *(_point(r) if cohort == "all" else _point(r["cohorts"][cohort])),
            )
            for r in rows
        ]
        keep = [
            p
            for p in points
            if not any(
                q[2] <= p[2] and q[3] <= p[3] and (q[2], q[3]) != (p[2], p[3]) for q in points
            )
        ]
        front[cohort] = [
            {"vad": v, "wait_ms": w, "ttfa_median": t, "cut_rate": c}
            for v, w, t, c in sorted(set(keep), key=lambda p: (p[2], p[3]))
        ]
    return front


def _point(summary: dict[str, Any]) -> tuple[float, float]:
    return float(summary["ttfa_median"]), float(summary["cut_rate"])
