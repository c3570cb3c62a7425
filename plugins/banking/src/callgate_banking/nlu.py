"""The banking agent's intent classifier: a small TF-IDF + logistic-regression model.

It is trained from named datasets (``data/<name>.jsonl`` lines of ``{"text", "intent"}``) so a
variant can say ``training: [intents, intents_asr_noisy]`` and train on text that went through real
TTS and ASR. Word n-grams carry the meaning; character n-grams (``char_wb``) keep it working when
ASR misspells a word ("freez", "debbit"), which is what a voice agent actually hears.

Fitting takes a fraction of a second, but every simulated call starts a session in some worker
process, so the fitted model is cached on disk under a key that changes whenever the training
bytes, the scikit-learn version or the model parameters change.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from callgate.errors import UsageError

DATA_DIR = Path(__file__).parent / "data"
NO_INTENT = "none"

# Bump when the code that turns text into features changes: the pickled pipeline refers to
# `normalize` by name, so a cached model would silently use the new function otherwise.
FEATURES_VERSION = 1
MODEL_PARAMS: dict[str, Any] = {
    "word_ngrams": [1, 2],
    "char_ngrams": [2, 5],
    "C": 20.0,
    "solver": "newton-cg",  # same optimum as lbfgs here, ten times faster to reach
    "max_iter": 5000,
    "random_state": 0,
}

_DATASET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_NON_TEXT = re.compile(r"[^a-z0-9' ]+")
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Lower-case, drop punctuation and fold every number to ``0``.

    Folding numbers makes "transfer 50" and "transfer 1,200.00" the same feature: the amount is a
    slot, not evidence of an intent. Written and ASR text ("$50." vs "50 dollars") then look alike.
    """
    text = _DIGITS.sub(" 0 ", text.lower())
    return _SPACES.sub(" ", _NON_TEXT.sub(" ", text)).strip()


def known_datasets() -> list[str]:
    return sorted(p.stem for p in DATA_DIR.glob("*.jsonl"))


def dataset_path(name: str) -> Path:
    """A bundled dataset by name, or a ``.jsonl`` file by path (what ``callgate tune`` writes:
    its name holds a hash of its content, so a changed file is a new variant and a new run)."""
    if isinstance(name, str) and name.endswith(".jsonl"):
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"training file not found: {name}", field="training")
        return path
    if not isinstance(name, str) or not _DATASET_NAME.match(name):
        raise UsageError(f"bad training dataset name {name!r}", field="training")
    path = DATA_DIR / f"{name}.jsonl"
    if not path.is_file():
        known = ", ".join(known_datasets()) or "none"
        raise UsageError(f"unknown training dataset {name!r} (known: {known})", field="training")
    return path


def load_dataset(name: str) -> list[tuple[str, str]]:
    """The (text, intent) pairs of one named dataset."""
    path = dataset_path(name)
    pairs: list[tuple[str, str]] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, intent = row["text"], row["intent"]
        except (ValueError, KeyError, TypeError):
            raise UsageError(
                f"line {lineno}: expected a JSON object with text and intent", source=path
            ) from None
        if not isinstance(text, str) or not isinstance(intent, str) or not intent:
            raise UsageError(f"line {lineno}: text and intent must be strings", source=path)
        pairs.append((text, intent))
    return pairs


def _check_training(training: Sequence[str]) -> list[str]:
    names = [training] if isinstance(training, str) else list(training)
    if not names:
        raise UsageError("at least one training dataset is needed", field="training")
    return names


def cache_key(training: Sequence[str]) -> str:
    """A sha256 over everything the fitted model depends on; cheap (reads files, fits nothing)."""
    digest = hashlib.sha256()
    digest.update(f"features={FEATURES_VERSION};sklearn={sklearn.__version__};".encode())
    digest.update(json.dumps(MODEL_PARAMS, sort_keys=True).encode())
    for name in _check_training(training):
        digest.update(f";{name}:".encode())
        digest.update(dataset_path(name).read_bytes())
    return digest.hexdigest()


def _pipeline() -> Pipeline:
    p = MODEL_PARAMS
    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    preprocessor=normalize,
                    ngram_range=tuple(p["word_ngrams"]),
                    sublinear_tf=True,
                    token_pattern=r"(?u)\b[\w']+\b",
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    preprocessor=normalize,
                    analyzer="char_wb",
                    ngram_range=tuple(p["char_ngrams"]),
                    sublinear_tf=True,
                ),
            ),
        ]
    )
    classifier = LogisticRegression(
        C=p["C"], solver=p["solver"], max_iter=p["max_iter"], random_state=p["random_state"]
    )
    return Pipeline([("features", features), ("classifier", classifier)])


# One fitted model per key per process: many sessions and policies share it.
_MEMO: dict[str, IntentModel] = {}
_MEMO_LOCK = threading.Lock()


def forget_loaded() -> None:
    """Drop the models held in this process, so the next load reads the disk cache again."""
    with _MEMO_LOCK:
        _MEMO.clear()


class IntentModel:
    """A fitted intent classifier. Build it with :meth:`load_or_train` (or :meth:`train`)."""

    def __init__(self, key: str, pipeline: Pipeline, training: list[str]) -> None:
        self.key = key
        self.training = training
        self._pipeline = pipeline
        self.intents: list[str] = [str(c) for c in pipeline.classes_]

    @classmethod
    def train(cls, training: Sequence[str]) -> IntentModel:
        names = _check_training(training)
        key = cache_key(names)
        pairs = [pair for name in names for pair in load_dataset(name)]
        return cls.fit(pairs, key, names)

    @classmethod
    def fit(
        cls, pairs: Sequence[tuple[str, str]], key: str = "", training: Sequence[str] = ()
    ) -> IntentModel:
        """A model fitted on (text, intent) pairs in memory (not cached)."""
        if len({intent for _, intent in pairs}) < 2:
            raise UsageError("training data needs at least two intents", field="training")
        pipeline = _pipeline()
        pipeline.fit([t for t, _ in pairs], [i for _, i in pairs])
        return cls(key, pipeline, list(training))

    @classmethod
    def load_or_train(
        cls, training: Sequence[str], cache_dir: Path | str | None = None
    ) -> IntentModel:
        names = _check_training(training)
        key = cache_key(names)
        with _MEMO_LOCK:
            if key in _MEMO:
                return _MEMO[key]
            model = cls._from_cache(key, cache_dir) if cache_dir is not None else None
            if model is None:
                model = cls.train(names)
                if cache_dir is not None:
                    model._save(Path(cache_dir))
            _MEMO[key] = model
            return model

    @staticmethod
    def _cache_file(key: str, cache_dir: Path | str) -> Path:
        return Path(cache_dir) / f"banking-intents-{key[:24]}.joblib"

    @classmethod
    def _from_cache(cls, key: str, cache_dir: Path | str) -> IntentModel | None:
        path = cls._cache_file(key, cache_dir)
        if not path.is_file():
            return None
        try:
            # This unpickles: the cache directory is trusted like the code (the user's own store).
            payload = joblib.load(path)
        except Exception:
            # A truncated or foreign file is only a cache miss: retraining overwrites it.
            return None
        if not isinstance(payload, dict) or payload.get("key") != key:
            return None
        return cls(key, payload["pipeline"], list(payload["training"]))

    def _save(self, cache_dir: Path) -> None:
        payload = {"key": self.key, "training": self.training, "pipeline": self._pipeline}
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".banking-intents-", suffix=".tmp")
        except OSError as exc:
            raise UsageError(
                f"cannot write the intent model cache: {exc}", source=cache_dir
            ) from None
        try:
            with os.fdopen(fd, "wb") as handle:
                joblib.dump(payload, handle)
            # Workers may train the same key at once: each writes its own temp file and the
            # rename is atomic, so readers see one whole model or none.
            os.replace(tmp, self._cache_file(self.key, cache_dir))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def predict(self, text: str) -> tuple[str, float]:
        """The most likely intent and its probability; ``("none", 0.0)`` for empty text."""
        if not normalize(text):
            return NO_INTENT, 0.0
        probs = self._pipeline.predict_proba([text])[0]
        best = int(np.argmax(probs))
        return self.intents[best], float(probs[best])
