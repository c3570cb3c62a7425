"""Whisper's encoder output kept for the clips a process saw last, so a second variant that hears
the same clip only decodes.

The encoder is about 87% of a turn's ASR time on tiny.en (a 30 s window whatever the clip's
length); the decoder, where a variant's prompt and hotwords act, is the rest. A baseline and a
candidate that differ in ASR hints, policy or anything after the encoder hear the same caller
audio (the line is paired), so the candidate's call needs only the decoder when it runs in the
same process right after the baseline's: the runner hands both calls of a pair to one worker
(:func:`callgate.execution.runner.pair_groups`). Reusing the output changes nothing: it is the
encoder's own result for exactly these features, and transcripts stay identical.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

DEFAULT_CAPACITY = 32  # 2.3 MB each for tiny.en (1500 x 384 float32): a few calls in flight
CAPACITY = DEFAULT_CAPACITY  # 0: keep nothing (benchmarks/simulation.py's naive run)

_lock = threading.Lock()
_outputs: OrderedDict[tuple[str, str], Any] = OrderedDict()
stats = {"hits": 0, "misses": 0}


def features_key(features: np.ndarray) -> str:
    x = np.ascontiguousarray(features, dtype=np.float32)
    return hashlib.blake2b(x.tobytes(), digest_size=16).hexdigest() + str(x.shape)


def encoded(model: str, features: np.ndarray, encode: Any) -> Any:
    """``encode(features)``, or the output kept from the same ``model`` on the same features."""
    key = (model, features_key(features))
    with _lock:
        hit = _outputs.get(key)
        if hit is not None:
            _outputs.move_to_end(key)
            stats["hits"] += 1
            return hit
    out = encode(features)
    with _lock:
        stats["misses"] += 1
        _outputs[key] = out
        while len(_outputs) > CAPACITY:
            _outputs.popitem(last=False)
    return out


def clear() -> None:
    with _lock:
        _outputs.clear()
