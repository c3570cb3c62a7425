"""Near-duplicate scenarios across the dev and holdout splits, by what the caller says.

A holdout scenario that paraphrases a dev scenario is not held out: tuning on the dev one teaches
the agent the holdout one. A (dev, holdout) pair is a near duplicate when

* the caller says the same thing, word for word (turns and the scenario's own reaction replies,
  lower-cased, punctuation left out): always, whatever the threshold; or
* the caller's turns are similar (cosine similarity at or above the threshold) **and** the
  expected tool path is the same (the same tools in order, with the same ``equals`` and ``approx``
  arguments): the same task asked in other words.

The tool path is required beside the words because suites open many scenarios with the same
request on purpose and let them differ in what follows (a slot, a failure, a hand-off): those are
contrasts, not duplicates. Reaction replies are left out of the similarity for the same reason:
they answer the agent's slot and confirmation questions, so they restate the slot values the tool
path already compares, and they made every same-task pair of the reference suite look alike
(docs/scenarios.md, "Dataset hygiene", has the measurements).

Similarity is TF-IDF cosine over two views, averaged: word 1-2 grams (the same words in the same
order) and 3-5 character grams inside word boundaries (the same words reordered or inflected). The
inverse document frequencies come from every distinct text of the suite, so words every call says
("my", "please") weigh little. Only numpy is needed: the core takes no machine-learning library.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from callgate.scenarios.behaviours import replies
from callgate.scenarios.model import SPECIAL_REPLIES, Scenario

# Calibrated on the reference suite and the example one (docs/scenarios.md, "Dataset hygiene").
DEFAULT_SIMILARITY = 0.45

_WORD = re.compile(r"[a-z0-9']+")

Vector = dict[str, float]


@dataclass(frozen=True)
class Pair:
    """A dev scenario and a holdout scenario whose callers say much the same."""

    dev: str
    holdout: str
    similarity: float  # 0..1; 1.0 for the same text
    exact: bool  # the same caller text, word for word
    same_tool_path: bool


def turn_text(scenario: Scenario) -> str:
    """The caller's scripted turns, lower-cased: what the similarity compares."""
    return " ".join(u.say for u in scenario.caller.turns).lower()


def caller_text(scenario: Scenario) -> str:
    """Everything the caller says, as words: turns, then its own reaction replies."""
    said = [u.say for u in [*scenario.caller.turns, *replies(scenario)]]
    return " ".join(_words(" ".join(s for s in said if s not in SPECIAL_REPLIES).lower()))


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def word_grams(text: str) -> Counter[str]:
    words = _words(text)
    return Counter(words + [f"{a} {b}" for a, b in itertools.pairwise(words)])


def char_grams(text: str, sizes: tuple[int, ...] = (3, 4, 5)) -> Counter[str]:
    """Character n-grams inside word boundaries, each word padded with a space either side."""
    grams: Counter[str] = Counter()
    for word in _words(text):
        padded = f" {word} "
        for n in sizes:
            grams.update(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
    return grams


def _tfidf(docs: list[Counter[str]]) -> list[Vector]:
    """Smoothed inverse document frequency weights, each vector of unit length."""
    df: Counter[str] = Counter(g for doc in docs for g in doc)
    n = len(docs)
    idf = {g: math.log((1 + n) / (1 + k)) + 1.0 for g, k in df.items()}
    vectors: list[Vector] = []
    for doc in docs:
        vec = {g: count * idf[g] for g, count in doc.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vectors.append({g: v / norm for g, v in vec.items()})
    return vectors


def _cosines(left: list[Vector], right: list[Vector]) -> np.ndarray:
    """Cosine of every (left, right) pair of unit vectors; only shared grams matter."""
    shared = sorted(set().union(*left) & set().union(*right)) if left and right else []
    index = {g: i for i, g in enumerate(shared)}
    a = np.zeros((len(left), len(shared)))
    b = np.zeros((len(right), len(shared)))
    for matrix, vectors in ((a, left), (b, right)):
        for row, vec in enumerate(vectors):
            for gram, value in vec.items():
                if gram in index:
                    matrix[row, index[gram]] = value
    return a @ b.T


def similarity_matrix(texts_a: list[str], texts_b: list[str], corpus: list[str]) -> np.ndarray:
    """Text similarity of every (a, b) pair, weighted by the document frequencies of ``corpus``
    (which should hold both lists): the mean of the word-gram and character-gram cosines."""
    views = (word_grams, char_grams)
    total = np.zeros((len(texts_a), len(texts_b)))
    for view in views:
        vectors = dict(zip(corpus, _tfidf([view(t) for t in corpus]), strict=True))
        total += _cosines([vectors[t] for t in texts_a], [vectors[t] for t in texts_b])
    return np.clip(total / len(views), 0.0, 1.0)


def tool_path(scenario: Scenario) -> tuple[tuple[str, str], ...]:
    """The expected tools in order, each with its exact (``equals``, ``approx``) arguments."""
    path = []
    for call in scenario.expect.tools:
        exact = {
            name: c.equals if c.equals is not None else c.approx
            for name, c in call.args.items()
            if c.equals is not None or c.approx is not None
        }
        path.append((call.tool, json.dumps(exact, sort_keys=True, default=str)))
    return tuple(path)


def cross_split_pairs(scenarios: list[Scenario], threshold: float) -> list[Pair]:
    """Every near-duplicate (dev, holdout) pair, most similar first: the same caller text, or
    turns at least ``threshold`` similar with the same expected tool path."""
    dev = [s for s in scenarios if s.split == "dev"]
    holdout = [s for s in scenarios if s.split == "holdout"]
    if not dev or not holdout:
        return []
    texts = {s.id: turn_text(s) for s in scenarios}
    corpus = sorted(set(texts.values()))
    sims = similarity_matrix([texts[s.id] for s in dev], [texts[s.id] for s in holdout], corpus)
    paths = {s.id: tool_path(s) for s in scenarios}
    said = {s.id: caller_text(s) for s in scenarios}
    pairs: list[Pair] = []
    for i, d in enumerate(dev):
        for j, h in enumerate(holdout):
            exact = said[d.id] == said[h.id]
            same_path = paths[d.id] == paths[h.id]
            score = 1.0 if exact else float(sims[i, j])
            if exact or (same_path and score >= threshold):
                pairs.append(Pair(d.id, h.id, round(score, 3), exact, same_path))
    return sorted(pairs, key=lambda p: (-p.similarity, p.dev, p.holdout))
