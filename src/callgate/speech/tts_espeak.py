"""espeak-ng through ctypes, from the ``espeakng-loader`` wheel (no system package needed).

Determinism: libespeak-ng keeps synthesis state in C statics that nothing resets (the pitch
"flutter" index in wavegen.c, among others), so the same text comes out slightly different
(even in length) depending on what the process spoke before; re-initialising or seeding its
random generators does not help. Each synthesis therefore loads a fresh copy of the library,
speaks, and unloads it (about 1 ms). A private copy of the .so makes sure no other user of the
same library in this process keeps it mapped, which would silently keep the old state.
Unloading leaks about 2 KB per call inside espeak-ng (measured), fine for a simulation run.
"""

from __future__ import annotations

import _ctypes
import atexit
import ctypes
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from callgate.errors import UsageError
from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.engines import package_version, require

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ESPEAK_RATE = 1
_NORMAL_WPM = 175
# espeak's own limits; above 450 wpm it switches to a different (sonic) speed-up.
_MIN_WPM, _MAX_WPM = 80, 450
_OUTPUT_GAIN = 0.7

ENGLISH_VOICES = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-029",
    "en-us-nyc",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
)
# Another language's voice reading English text: a strongly accented caller.
ACCENT_VOICES = ("hi", "fr", "de", "es", "it", "pt", "pl")

_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _Voice(ctypes.Structure):
    _fields_ = (
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    )


def _remove_if_owner(folder: str, owner_pid: int) -> None:
    # A forked child that exits normally must not delete the copy its parent still uses.
    if os.getpid() == owner_pid:
        shutil.rmtree(folder, ignore_errors=True)


class _Library:
    """The process-wide espeak-ng: one lock, one private copy of the .so, the voice table."""

    def __init__(self) -> None:
        import espeakng_loader

        self.lock = threading.Lock()
        self.data_path = espeakng_loader.get_data_path()
        self.version = "unknown"
        self._lib_path = self._private_copy(espeakng_loader.get_library_path())
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # kept alive as long as the library
        self.voices: dict[str, str] = {}
        self.variants: dict[str, str] = {}
        with self.lock:
            self._with_fresh_library(self._read_voice_table)

    @staticmethod
    def _private_copy(path: str) -> str:
        try:
            folder = tempfile.mkdtemp(prefix="callgate-espeak-")
            copy = os.path.join(folder, "libespeak-ng-callgate.so")
            shutil.copyfile(path, copy)
            atexit.register(_remove_if_owner, folder, os.getpid())
            # Fails here on a noexec temp dir; the probe handle must be closed again, or the
            # library would stay mapped and keep its state between syntheses.
            _ctypes.dlclose(ctypes.CDLL(copy)._handle)
            return copy
        except OSError:
            return path

    def _collect(self, wav: Any, count: int, _events: Any) -> int:
        if wav and count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def _with_fresh_library(self, work: Callable[[Any], Any]) -> Any:
        lib = ctypes.CDLL(self._lib_path)
        try:
            lib.espeak_Initialize.argtypes = (
                ctypes.c_int,
                ctypes.c_int,
                ctypes.c_char_p,
                ctypes.c_int,
            )
            rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, self.data_path.encode(), 0)
            if rate <= 0:
                raise RuntimeError(f"espeak-ng failed to initialise with data at {self.data_path}")
            lib.espeak_SetSynthCallback(self._callback)
            try:
                return work(lib)
            finally:
                lib.espeak_Terminate()
        finally:
            _ctypes.dlclose(lib._handle)

    def _read_voice_table(self, lib: Any) -> None:
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_Info.argtypes = (ctypes.c_void_p,)
        self.version = (lib.espeak_Info(None) or b"unknown").decode()
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        lib.espeak_ListVoices.argtypes = (ctypes.c_void_p,)
        table = lib.espeak_ListVoices(None)
        best: dict[str, tuple[int, str]] = {}
        i = 0
        while table[i]:
            voice = table[i].contents
            ident = (voice.identifier or b"").decode()
            names = [ident.lower(), ident.rsplit("/", 1)[-1].lower()]
            if voice.name:
                names.append(voice.name.decode().lower())
            for name in names:
                best.setdefault(name, (-1, ident))
            # The languages field is a list of (priority byte, zero-terminated name) pairs.
            pos = voice.languages
            while pos and (priority := ctypes.c_ubyte.from_address(pos).value) != 0:
                language = ctypes.string_at(pos + 1).decode().lower()
                if language not in best or priority < best[language][0]:
                    best[language] = (priority, ident)
                pos += 2 + len(language)
            i += 1
        self.voices = {name: ident for name, (_, ident) in best.items()}
        variants_dir = Path(self.data_path) / "voices" / "!v"
        if variants_dir.is_dir():
            self.variants = {p.name.lower(): p.name for p in variants_dir.iterdir() if p.is_file()}

    def resolve(self, voice: str) -> str:
        """Turn ``en-gb`` or ``en-us+Annie`` into the identifier espeak selects reliably."""
        base, _, variant = voice.partition("+")
        ident = self.voices.get(base.strip().lower())
        if ident is None or (variant and variant.lower() not in self.variants):
            raise UsageError(
                f"unknown espeak voice {voice!r} (try one of {', '.join(ENGLISH_VOICES)}, "
                "another espeak language such as 'hi' or 'fr', optionally with a variant "
                "such as '+Annie')"
            )
        return f"{ident}+{self.variants[variant.lower()]}" if variant else ident

    def synthesize(self, text: str, identifier: str, wpm: int) -> tuple[np.ndarray, int]:
        def speak(lib: Any) -> tuple[np.ndarray, int]:
            lib.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
            if lib.espeak_SetVoiceByName(identifier.encode()) != 0:
                raise UsageError(f"espeak could not load voice {identifier!r}")
            lib.espeak_SetParameter(_ESPEAK_RATE, wpm, 0)
            lib.espeak_Synth.argtypes = (
                ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
            )  # fmt: skip
            data = text.encode("utf-8") + b"\0"
            self._chunks = []
            status = lib.espeak_Synth(
                data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            if status != 0:
                raise RuntimeError(f"espeak_Synth failed with status {status}")
            samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
            self._chunks = []
            return samples, int(lib.espeak_ng_GetSampleRate())

        with self.lock:
            result: tuple[np.ndarray, int] = self._with_fresh_library(speak)
            return result


_library: _Library | None = None
_library_lock = threading.Lock()


def _get_library() -> _Library:
    global _library
    with _library_lock:
        if _library is None:
            _library = _Library()
        return _library


class EspeakTTS:
    """espeak-ng voices: every language and accent it ships, plus speaker variants (``+Annie``).

    ``rate`` 1.0 is espeak's normal 175 words per minute; allowed 0.46..2.57 (80..450 wpm).
    """

    name = "espeak"

    def __init__(self) -> None:
        require("TTS engine", "espeak", "espeakng_loader", "espeakng-loader")

    def identity(self) -> str:
        version = _get_library().version
        return f"espeak|espeak-ng {version}|espeakng-loader {package_version('espeakng-loader')}"

    def voices(self) -> list[str]:
        """English voices, then accent voices. Any other espeak voice works too (see has_voice)."""
        return [*ENGLISH_VOICES, *ACCENT_VOICES]

    def has_voice(self, voice: str) -> bool:
        """Whether ``voice`` names an installed espeak voice, with an optional ``+variant``."""
        try:
            _get_library().resolve(voice)
        except UsageError:
            return False
        return True

    def synthesize(self, text: str, voice: str, rate: float = 1.0) -> Audio:
        wpm = round(_NORMAL_WPM * rate)
        if not _MIN_WPM <= wpm <= _MAX_WPM:
            raise UsageError(
                f"espeak rate {rate} is out of range "
                f"({_MIN_WPM / _NORMAL_WPM:.2f}..{_MAX_WPM / _NORMAL_WPM:.2f})"
            )
        library = _get_library()
        identifier = library.resolve(voice)
        if not text.strip():
            return Audio.silence(0.0)
        samples, sample_rate = library.synthesize(text, identifier, wpm)
        # espeak peaks close to full scale on some voices; keep headroom for the resampler.
        audio = Audio(samples.astype(np.float32) * (_OUTPUT_GAIN / 32768.0), sample_rate)
        out = audio.resample(SAMPLE_RATE)
        return Audio(np.clip(out.samples, -1.0, 1.0), SAMPLE_RATE)
