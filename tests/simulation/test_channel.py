"""The degraded channel: SNR that means what users expect, a believable phone line, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from callgate.scenarios.model import ChannelSpec, NoiseSpec
from callgate.simulation.channel import (
    add_noise,
    apply_channel,
    babble_bed,
    degrade,
    mulaw_decode,
    mulaw_encode,
    pink_noise,
    white_noise,
)
from callgate.speech.audio import SAMPLE_RATE, Audio

SR = SAMPLE_RATE


def speech_like(seconds: float, f0: float = 140.0, seed: int = 0) -> Audio:
    """Voiced syllables (harmonics under a syllabic envelope) separated by real silences."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * SR)) / SR
    voice = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 12))
    syllables = np.clip(np.sin(2 * np.pi * 2.5 * t), 0.0, None) ** 0.5
    words = (np.sin(2 * np.pi * 0.4 * t) > -0.3).astype(float)  # ~40% of the time: pauses
    x = 0.12 * voice * syllables * words
    return Audio(x.astype(np.float32))


def active(x: np.ndarray) -> np.ndarray:
    """Independent re-statement of 'active speech': 20 ms frames above -45 dBFS."""
    frame = SR // 50
    n = len(x) // frame * frame
    power = np.mean(np.square(x[:n].astype(np.float64)).reshape(-1, frame), axis=1)
    mask = np.repeat(power > 10 ** (-45 / 10), frame)
    return np.concatenate([mask, np.zeros(len(x) - n, dtype=bool)])


def measured_snr(clean: Audio, noisy: Audio) -> float:
    mask = active(clean.samples)
    s = clean.samples.astype(np.float64)
    n = noisy.samples.astype(np.float64) - s
    return float(10 * np.log10(np.mean(s[mask] ** 2) / np.mean(n[mask] ** 2)))


@pytest.fixture(scope="module")
def speech() -> Audio:
    return speech_like(3.0)


@pytest.fixture(scope="module")
def bed() -> Audio:
    talkers = [speech_like(1.7, f0=f0, seed=i) for i, f0 in enumerate((110.0, 180.0, 230.0))]
    return babble_bed(talkers, 2.0, np.random.default_rng(7))


@pytest.mark.parametrize("kind", ["white", "pink", "babble"])
@pytest.mark.parametrize("snr", [20.0, 10.0, 5.0])
def test_snr_over_active_speech_is_exact(speech: Audio, bed: Audio, kind: str, snr: float) -> None:
    noisy = add_noise(speech, NoiseSpec(type=kind, snr_db=snr), np.random.default_rng(3), bed)
    assert noisy.sample_rate == SR and len(noisy.samples) == len(speech.samples)
    assert abs(measured_snr(speech, noisy) - snr) < 0.5


def test_clipping_guard_scales_the_whole_mix_and_keeps_snr(speech: Audio) -> None:
    spec = NoiseSpec(type="white", snr_db=0.0)
    loud = Audio(speech.samples * 6.0)
    quiet = Audio(speech.samples * 0.5)
    out_loud = add_noise(loud, spec, np.random.default_rng(5)).samples
    out_quiet = add_noise(quiet, spec, np.random.default_rng(5)).samples
    assert np.max(np.abs(out_loud)) <= 0.99 + 1e-6
    ratio = np.max(np.abs(out_loud)) / np.max(np.abs(out_quiet))
    np.testing.assert_allclose(out_loud, out_quiet * ratio, atol=2e-6)


def test_babble_without_bed_is_an_error(speech: Audio) -> None:
    with pytest.raises(ValueError, match="babble"):
        add_noise(speech, NoiseSpec(type="babble", snr_db=10.0), np.random.default_rng(0))
    with pytest.raises(ValueError):
        babble_bed([], 1.0, np.random.default_rng(0))


def test_babble_bed_loops_short_talkers_to_length(bed: Audio) -> None:
    assert len(bed.samples) == 2 * SR
    assert abs(np.sqrt(np.mean(bed.samples.astype(np.float64) ** 2)) - 1.0) < 1e-4


def test_noise_generators_unit_rms_and_pink_is_one_over_f() -> None:
    rng = np.random.default_rng(1)
    w, p = white_noise(SR * 4, rng), pink_noise(SR * 4, rng)
    for x in (w, p):
        assert abs(np.sqrt(np.mean(x**2)) - 1.0) < 1e-9
    power = np.abs(np.fft.rfft(p)) ** 2
    freqs = np.fft.rfftfreq(len(p), 1 / SR)

    def octave(lo: float) -> float:
        return float(power[(freqs >= lo) & (freqs < 2 * lo)].sum())

    # Pink: equal power per octave (white would give 8x more in the higher octave).
    assert 0.8 < octave(2000.0) / octave(250.0) < 1.25


def test_same_seed_same_output_different_seed_different(speech: Audio) -> None:
    noise = NoiseSpec(type="pink", snr_db=10.0)
    line = ChannelSpec(type="telephony", codec="mulaw", sample_rate=8000, packet_loss=0.1)
    a = degrade(speech, noise, line, np.random.default_rng(42))
    b = degrade(speech, noise, line, np.random.default_rng(42))
    c = degrade(speech, noise, line, np.random.default_rng(43))
    assert np.array_equal(a.audio.samples, b.audio.samples)
    assert a.packets_lost == b.packets_lost
    assert not np.array_equal(a.audio.samples, c.audio.samples)


def test_mulaw_round_trip_and_monotone() -> None:
    ramp = np.linspace(-1.0, 1.0, 200_001)
    codes = mulaw_encode(ramp)
    assert codes.dtype == np.uint8
    assert len(np.unique(codes)) == 256
    back = mulaw_decode(codes)
    assert back.dtype == np.float32
    assert np.all(np.diff(back) >= 0)
    assert np.max(np.abs(back - ramp)) < 0.02
    big = np.abs(ramp) > 0.01
    assert np.max(np.abs(back[big] - ramp[big]) / np.abs(ramp[big])) < 0.05
    # G.711 conventions: zero is 0xFF, full scale is 0x80 (positive) and 0x00 (negative).
    assert list(mulaw_encode(np.array([0.0, 1.0, -1.0]))) == [0xFF, 0x80, 0x00]


def test_telephony_is_16k_and_band_limited() -> None:
    noise = Audio((0.1 * np.random.default_rng(2).standard_normal(2 * SR)).astype(np.float32))
    line = ChannelSpec(type="telephony", codec="mulaw", sample_rate=8000)
    out = apply_channel(noise, line, np.random.default_rng(0)).audio
    assert out.sample_rate == SR and len(out.samples) == len(noise.samples)
    power = np.abs(np.fft.rfft(out.samples.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(out.samples), 1 / SR)
    assert power[freqs > 4000].sum() / power.sum() < 1e-3
    assert power[freqs < 150].sum() / power.sum() < 1e-3
    band = power[(freqs >= 300) & (freqs <= 3400)].sum()
    assert band / power.sum() > 0.9


def test_packet_loss_drops_about_the_given_share_and_silences_it(speech: Audio) -> None:
    tone = np.sin(2 * np.pi * 200 * np.arange(10 * SR) / SR) * 0.3 + 0.05
    audio = Audio(tone.astype(np.float32))
    line = ChannelSpec(type="wideband", packet_loss=0.2, packet_ms=20)
    result = apply_channel(audio, line, np.random.default_rng(11))
    assert result.packets_total == 500
    # The only random draw is one uniform per packet, so the exact count is known.
    assert result.packets_lost == int((np.random.default_rng(11).random(500) < 0.2).sum())
    assert 70 <= result.packets_lost <= 130
    packets = result.audio.samples.reshape(500, -1)
    silent = np.all(packets == 0.0, axis=1)
    assert int(silent.sum()) == result.packets_lost


def test_telephony_lost_packets_are_silent() -> None:
    audio = Audio((0.3 * np.sin(2 * np.pi * 1000 * np.arange(2 * SR) / SR)).astype(np.float32))
    line = ChannelSpec(type="telephony", sample_rate=8000, packet_loss=0.3, packet_ms=20)
    result = apply_channel(audio, line, np.random.default_rng(9))
    lost = np.random.default_rng(9).random(result.packets_total) < 0.3
    assert lost.sum() == result.packets_lost > 0
    packets = result.audio.samples.reshape(result.packets_total, -1)
    middle = packets[:, 80:240]  # away from the resampler's smearing at the packet edges
    assert np.max(np.abs(middle[lost])) < 1e-3
    assert np.min(np.sqrt(np.mean(middle[~lost] ** 2, axis=1))) > 0.1


def test_clean_wideband_passes_samples_through(speech: Audio) -> None:
    result = degrade(speech, NoiseSpec(), ChannelSpec(), np.random.default_rng(0))
    assert np.array_equal(result.audio.samples, speech.samples)
    assert result.packets_lost == 0
