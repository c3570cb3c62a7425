"""Speech quality (DNSMOS, as SpeechQuality scores it) against noise, codec and packet loss.

Prints three tables, on the same sentences spoken by piper's joe voice (the banking agent's voice)
and by espeak en-us:

1. noise: each sentence mixed with white noise and with multi-talker babble at 30, 20, 10, 5 and
   0 dB SNR (``callgate.simulation.noise.add_noise``), mean OVRL / SIG / BAK per SNR;
2. channel: each sentence sent through the channels a suite can name (``apply_channel``):
   wideband, telephony 8 kHz PCM, 8 kHz mu-law, and mu-law with 3, 5 and 10% packet loss;
3. cost: seconds per 9.01 s model window and windows per clip, at the default hop and at
   speechmos' 1 s hop, and how far the default's clip scores are from speechmos'.

Everything is seeded: the same command prints the same MOS figures (timings vary with the load).

Usage: python benchmarks/speech_quality.py [--sentences 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from callgate.scenarios.model import ChannelSpec, NoiseSpec
from callgate.simulation.channel import add_noise, apply_channel
from callgate.simulation.noise import babble_bed
from callgate.speech.audio import Audio
from callgate.speech.engines import get_tts
from callgate.speech.quality import QualityScores, get_quality

SENTENCES = [
    "I'd like to check the balance on my checking account, please.",
    "Your debit card ending in four two one seven is now frozen.",
    "I can move fifty dollars from checking to savings. Shall I go ahead?",
    "There's a charge from Amazon for forty nine ninety nine that I don't recognise.",
    "Is there anything else I can help you with today?",
    "Can you reset the pin on my credit card?",
    "I've opened a dispute for that charge; you'll hear from us within ten days.",
    "Yes, that's right, the savings account.",
]
BABBLE_TALK = [
    ("en-gb", "did you see the game last night it went to extra time"),
    ("en-us+Annie", "we should pick up some bread and milk on the way home"),
    ("en-029", "the meeting moved to three so I will be a little late"),
    ("en-us-nyc", "can you believe how cold it got this morning"),
    ("en-gb-x-rp", "my sister is visiting next week with the kids"),
]
SNRS = [30, 20, 10, 5, 0]
CHANNELS = {
    "wideband": ChannelSpec(type="wideband"),
    "phone 8 kHz pcm": ChannelSpec(type="telephony", codec="pcm", sample_rate=8000),
    "phone 8 kHz mu-law": ChannelSpec(type="telephony", codec="mulaw", sample_rate=8000),
    "mu-law, 3% loss": ChannelSpec(
        type="telephony", codec="mulaw", sample_rate=8000, packet_loss=0.03
    ),
    "mu-law, 5% loss": ChannelSpec(
        type="telephony", codec="mulaw", sample_rate=8000, packet_loss=0.05
    ),
    "mu-law, 10% loss": ChannelSpec(
        type="telephony", codec="mulaw", sample_rate=8000, packet_loss=0.10
    ),
}


def speak(engine: str, voice: str, texts: list[str]) -> list[Audio]:
    tts = get_tts(engine)
    return [tts.synthesize(t, voice).resample(16_000).quantised() for t in texts]


def mean_scores(scores: list[QualityScores]) -> str:
    o, s, b = (np.mean([getattr(x, f) for x in scores]) for f in ("ovrl", "sig", "bak"))
    return f"{o:.2f} / {s:.2f} / {b:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sentences", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    model = get_quality("dnsmos", threads=args.threads)
    texts = SENTENCES[: args.sentences]
    voices = {
        "piper joe": speak("piper", "joe", texts),
        "espeak en-us": speak("espeak", "en-us", texts),
    }
    talkers = [speak("espeak", v, [t])[0] for v, t in BABBLE_TALK]
    bed = babble_bed(talkers, 30.0, np.random.default_rng(20261125))

    print(f"## Noise: mean OVRL / SIG / BAK over {len(texts)} sentences\n")
    print("| voice | noise | clean | " + " | ".join(f"{s} dB" for s in SNRS) + " |")
    print("|---|---|---|" + "---|" * len(SNRS))
    for name, clips in voices.items():
        clean = mean_scores([model.score(c) for c in clips])
        for kind in ("white", "babble"):
            cells = []
            for snr in SNRS:
                spec = NoiseSpec(type=kind, snr_db=snr)
                noisy = [
                    add_noise(c, spec, np.random.default_rng(i), bed) for i, c in enumerate(clips)
                ]
                cells.append(mean_scores([model.score(n.quantised()) for n in noisy]))
            print(f"| {name} | {kind} | {clean} | " + " | ".join(cells) + " |")

    print(f"\n## Channel: mean OVRL / SIG / BAK over {len(texts)} sentences\n")
    print("| voice | " + " | ".join(CHANNELS) + " |")
    print("|---|" + "---|" * len(CHANNELS))
    for name, clips in voices.items():
        cells = []
        for spec in CHANNELS.values():
            heard = [
                apply_channel(c, spec, np.random.default_rng(i)).audio.quantised()
                for i, c in enumerate(clips)
            ]
            cells.append(mean_scores([model.score(h) for h in heard]))
        print(f"| {name} | " + " | ".join(cells) + " |")

    print("\n## Cost\n")
    faithful = get_quality("dnsmos", threads=args.threads, hop_s=1.0)
    clips = voices["piper joe"]
    for label, m in (
        ("default (one window per stretch)", model),
        ("speechmos (1 s hop)", faithful),
    ):
        m.score(clips[0])  # warm
        start = time.perf_counter()
        scored = [m.score(c) for c in clips]
        spent = time.perf_counter() - start
        n = sum(s.windows for s in scored)
        print(
            f"- {label}: {n} windows for {len(clips)} clips "
            f"({sum(c.duration for c in clips):.1f} s of audio), {spent / n:.3f} s per window, "
            f"{spent / len(clips):.2f} s per clip"
        )
    diffs = [
        abs(model.score(c).ovrl - faithful.score(c).ovrl) for cs in voices.values() for c in cs
    ]
    print(
        f"- default vs speechmos OVRL per clip: mean |diff| {np.mean(diffs):.3f}, "
        f"max {np.max(diffs):.3f}"
    )


if __name__ == "__main__":
    main()
