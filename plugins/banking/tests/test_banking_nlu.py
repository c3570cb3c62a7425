"""The intent model: training data shape, held-out accuracy, determinism, disk cache."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from callgate_banking import nlu
from callgate_banking.nlu import IntentModel, forget_loaded, load_dataset

from callgate.errors import UsageError

INTENTS = {
    "get_balance", "freeze_card", "transfer_funds", "dispute_charge", "reset_pin",
    "request_human", "affirm", "deny", "goodbye", "out_of_scope",
}  # fmt: skip

# Paraphrases written for this test, none of them in data/intents.jsonl.
HELD_OUT = [
    ("i think i left my card at the bar last night", "freeze_card"),
    ("somebody swiped my purse on the train", "freeze_card"),
    ("please freeze my credit card", "freeze_card"),
    ("the credit card please freeze it", "freeze_card"),
    ("can you tell me what my savings has in it", "get_balance"),
    ("uh hi yeah um i'd like to uh check my balance", "get_balance"),
    ("what's left in my account", "get_balance"),
    ("put two hundred in checking", "transfer_funds"),
    ("i need to send three hundred dollars to checking", "transfer_funds"),
    ("uh transfer um a hundred bucks to checking", "transfer_funds"),
    ("i don't recognize a payment to starbucks", "dispute_charge"),
    ("i was charged two times for the same thing", "dispute_charge"),
    ("netflix charged me twice this month", "dispute_charge"),
    ("my pen isn't working at the machine", "reset_pin"),
    ("can you change the pin for my debit card", "reset_pin"),
    ("i keep getting my pin wrong", "reset_pin"),
    ("operator please", "request_human"),
    ("i want a person not a machine", "request_human"),
    ("let me speak to an actual agent", "request_human"),
    ("yep do it", "affirm"),
    ("yes that is right", "affirm"),
    ("sure please do", "affirm"),
    ("no no that's wrong", "deny"),
    ("no that's not what i want", "deny"),
    ("nope don't do that", "deny"),
    ("that's all for today thanks", "goodbye"),
    ("no i'm all good thanks", "goodbye"),
    ("nothing else bye", "goodbye"),
    ("do you do car loans", "out_of_scope"),
    ("is the branch on main street open saturday", "out_of_scope"),
    ("should i invest in bitcoin", "out_of_scope"),
    ("what's the weather going to be this weekend", "out_of_scope"),
]
THRESHOLD = 0.45  # the policy's default min_intent_confidence


@pytest.fixture(scope="module")
def model() -> IntentModel:
    return IntentModel.load_or_train(["intents"])


def test_training_data_shape() -> None:
    pairs = load_dataset("intents")
    counts = Counter(intent for _, intent in pairs)
    assert set(counts) == INTENTS
    assert all(40 <= n <= 70 for n in counts.values()), counts
    texts = [text.lower() for text, _ in pairs]
    assert len(texts) == len(set(texts))


def test_held_out_accuracy(model: IntentModel) -> None:
    training = {text.lower() for text, _ in load_dataset("intents")}
    assert not training & {text for text, _ in HELD_OUT}
    wrong = []
    for text, expected in HELD_OUT:
        intent, confidence = model.predict(text)
        if intent != expected or confidence < THRESHOLD:
            wrong.append((text, expected, intent, round(confidence, 2)))
    accuracy = 1 - len(wrong) / len(HELD_OUT)
    assert accuracy >= 0.85, wrong


@pytest.mark.parametrize("text", ["blorf snarg wibble", "purple monkey dishwasher", "hmm"])
def test_gibberish_is_not_understood(model: IntentModel, text: str) -> None:
    assert model.predict(text)[1] < THRESHOLD


@pytest.mark.parametrize("text", ["", "   ", "?!"])
def test_empty_text(model: IntentModel, text: str) -> None:
    assert model.predict(text) == ("none", 0.0)


def test_training_is_deterministic(model: IntentModel) -> None:
    again = IntentModel.train(["intents"])
    assert again.key == model.key
    for text, _ in HELD_OUT[:8]:
        assert again.predict(text) == model.predict(text)


def test_disk_cache_hit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forget_loaded()
    first = IntentModel.load_or_train(["intents"], tmp_path)
    files = list(tmp_path.glob("*.joblib"))
    assert len(files) == 1 and first.key[:24] in files[0].name
    assert not list(tmp_path.glob("*.tmp"))

    forget_loaded()

    def no_training(*_: object) -> IntentModel:
        raise AssertionError("the cached model should have been loaded")

    monkeypatch.setattr(IntentModel, "train", classmethod(no_training))
    second = IntentModel.load_or_train(["intents"], tmp_path)
    assert second is not first
    for text, _ in HELD_OUT:
        assert second.predict(text) == first.predict(text)
    forget_loaded()


def test_corrupt_cache_is_retrained(model: IntentModel, tmp_path: Path) -> None:
    forget_loaded()
    cached = tmp_path / f"banking-intents-{model.key[:24]}.joblib"
    cached.write_bytes(b"not a pickle")
    again = IntentModel.load_or_train(["intents"], tmp_path)
    assert again.predict("freeze my card") == model.predict("freeze my card")
    assert cached.read_bytes() != b"not a pickle"
    forget_loaded()


@pytest.mark.parametrize("training", [["no_such_data"], ["../intents"], [], ["intents", "nope"]])
def test_bad_training_names(training: list[str]) -> None:
    with pytest.raises(UsageError):
        IntentModel.load_or_train(training)


def test_another_dataset_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(nlu.DATA_DIR / "intents.jsonl", tmp_path / "intents.jsonl")
    noisy = [{"text": "freeze my debbit card", "intent": "freeze_card"}]
    (tmp_path / "intents_asr_noisy.jsonl").write_text("".join(json.dumps(r) + "\n" for r in noisy))
    monkeypatch.setattr(nlu, "DATA_DIR", tmp_path)
    both = IntentModel.train(["intents", "intents_asr_noisy"])
    assert both.key != nlu.cache_key(["intents"])
    assert both.predict("freeze my debbit card")[0] == "freeze_card"


def test_bad_dataset_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken.jsonl").write_text('{"text": "hi"}\n')
    monkeypatch.setattr(nlu, "DATA_DIR", tmp_path)
    with pytest.raises(UsageError, match="line 1"):
        load_dataset("broken")
