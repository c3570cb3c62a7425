"""The shipped ``intents_asr_noisy`` dataset (built by scripts/make_noisy_intents.py, beside
these tests)."""

from __future__ import annotations

import json
from pathlib import Path

from callgate_banking import nlu
from callgate_banking.nlu import IntentModel, forget_loaded, load_dataset

NOISY = nlu.DATA_DIR / "intents_asr_noisy.jsonl"
VOICES = {"us-espeak", "scottish", "caribbean", "nyc", "us-joe"}
NOISES = {"clean", "pink-15", "babble-10"}
CHANNELS = {"phone", "phone-lossy"}


def _rows() -> list[dict[str, str]]:
    return [json.loads(line) for line in NOISY.read_text(encoding="utf-8").splitlines()]


def test_file_parses() -> None:
    rows = _rows()
    assert rows
    for row in rows:
        assert set(row) == {"text", "intent", "source", "condition"}, row
        assert all(isinstance(value, str) for value in row.values()), row
        assert row["text"].strip() and row["text"] == row["text"].lower(), row
        voice, noise, channel = row["condition"].split("/")
        assert voice in VOICES and noise in NOISES and channel in CHANNELS, row
    assert len(load_dataset("intents_asr_noisy")) == len(rows)


def test_labels_and_sources_match_intents() -> None:
    clean = load_dataset("intents")
    rows = _rows()
    assert {row["intent"] for row in rows} == {intent for _, intent in clean}
    label_of = dict(clean)
    for row in rows:
        assert label_of.get(row["source"]) == row["intent"], row
    sources = [row["source"] for row in rows]
    assert len(sources) == len(set(sources))
    assert len(sources) >= 0.9 * len(clean)
    # Input order: the sources appear as they do in intents.jsonl.
    order = {text: i for i, (text, _) in enumerate(clean)}
    assert sources == sorted(sources, key=order.__getitem__)


def test_candidate_model_loads(tmp_path: Path) -> None:
    forget_loaded()
    try:
        model = IntentModel.load_or_train(["intents", "intents_asr_noisy"], tmp_path)
        assert set(model.intents) == {intent for _, intent in load_dataset("intents")}
        assert len(list(tmp_path.glob("*.joblib"))) == 1
        assert model.predict("i want to freeze my debit card")[0] == "freeze_card"
    finally:
        forget_loaded()
