"""The suite around mined scenarios: where each runs, and the YAML file a person reviews.

A production call's cohort tags (accent, channel, locale, ...) are built-in cohort tags, which a
scenario may not set itself: the suite's voices, noises and channels produce them. So each mined
scenario gets a grid of its own, the one cell closest to the cohort it was logged in (a voice with
the same accent and locale, the channel of that name or kind), and a logged value no cell
reproduces is kept as a free tag ``log_<tag>`` rather than lost.

With a base suite (``--suite``) its dimensions, fixtures, reactions, evaluation rules and variants
are kept, so the variants that run the base suite run the mined one. Without one, a minimal suite:
a piper voice for US callers plus an espeak voice for each other accent it knows (both engines
install offline), a wideband and a phone channel.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel

from callgate.scenarios.model import RESERVED_TAGS, ChannelSpec, NoiseSpec, VoiceSpec

if TYPE_CHECKING:
    from callgate.production.mining.scenario import MinedScenario
    from callgate.scenarios.load import LoadedSuite

# What production logs call a phone line or an app's wideband audio.
_PHONE = {"phone", "telephony", "pstn", "sip", "landline", "gsm"}
_WIDEBAND = {"app", "web", "webrtc", "browser", "wideband", "voip"}
# espeak-ng voices for accents the minimal suite can speak (the reference suite's own).
_ACCENT_VOICES = {
    "english": ("en-gb-x-rp", "en-GB"),
    "british": ("en-gb-x-rp", "en-GB"),
    "rp": ("en-gb-x-rp", "en-GB"),
    "scottish": ("en-gb-scotland", "en-GB"),
    "indian": ("hi", "en-IN"),
    "caribbean": ("en-029", "en-029"),
    "nyc": ("en-us-nyc", "en-US"),
}
_COMMENT_WIDTH = 96
_FLOW_WIDTH = 90  # longer mappings and lists go one entry a line


@dataclass(frozen=True)
class Placement:
    block: dict[str, list[str]]  # the scenario's own grid block: one voice, noise and channel
    tags: dict[str, str]  # log_<tag>: logged cohort tags the chosen cell does not reproduce


class Dimensions:
    """The voices, noises and channels a mined suite offers, and the cell for a logged cohort."""

    def __init__(
        self,
        voices: dict[str, VoiceSpec],
        noises: dict[str, NoiseSpec],
        channels: dict[str, ChannelSpec],
    ) -> None:
        self.voices = voices
        self.noises = noises
        self.channels = channels

    @classmethod
    def minimal(cls, cohorts: list[dict[str, str]]) -> Dimensions:
        voices = {"us": VoiceSpec(engine="piper", voice="joe", locale="en-US", accent="us")}
        for accent in sorted({c.get("accent", "").lower() for c in cohorts}):
            if accent in _ACCENT_VOICES and accent not in voices:
                voice, locale = _ACCENT_VOICES[accent]
                voices[accent] = VoiceSpec(
                    engine="espeak", voice=voice, locale=locale, accent=accent
                )
        return cls(
            voices,
            {"clean": NoiseSpec()},
            {
                "wideband": ChannelSpec(),
                "phone": ChannelSpec(type="telephony", codec="mulaw", sample_rate=8000),
            },
        )

    def place(self, cohort: dict[str, str]) -> Placement:
        voice, noise, channel = self._voice(cohort), self._noise(cohort), self._channel(cohort)
        spec, level = self.voices[voice], self.noises[noise]
        cell = {
            "voice": voice,
            "accent": spec.accent,
            "locale": spec.locale,
            "noise": noise,
            "snr_db": "none" if level.snr_db is None else f"{level.snr_db:g}",
            "channel": channel,
        }
        left = {
            f"log_{tag}": value
            for tag, value in cohort.items()
            if tag in RESERVED_TAGS
            and tag != "call_type"  # the scenario's own call_type says it
            and cell.get(tag, "").lower() != value.lower()
        }
        return Placement({"voice": [voice], "noise": [noise], "channel": [channel]}, left)

    def _voice(self, cohort: dict[str, str]) -> str:
        if cohort.get("voice") in self.voices:
            return cohort["voice"]
        pool = list(self.voices)
        for tag in ("accent", "locale"):
            want = cohort.get(tag, "").lower()
            same = [n for n in pool if getattr(self.voices[n], tag).lower() == want]
            pool = same or pool  # no voice with this accent: the rest still narrows by locale
        return pool[0]

    def _noise(self, cohort: dict[str, str]) -> str:
        if cohort.get("noise") in self.noises:
            return cohort["noise"]
        quiet = [n for n, spec in self.noises.items() if spec.type == "none"]
        return (quiet or list(self.noises))[0]

    def _channel(self, cohort: dict[str, str]) -> str:
        want = cohort.get("channel", "")
        if want in self.channels:
            return want
        kind = "telephony" if want.lower() in _PHONE else "wideband"
        same = [n for n, c in self.channels.items() if c.type == kind]
        lossless = [
            n for n in same if not (self.channels[n].packet_loss or self.channels[n].transforms)
        ]
        return (lossless or same or list(self.channels))[0]

    def dump(self) -> dict[str, Any]:
        return {
            "voices": _specs(self.voices),
            "noises": {
                n: v.model_dump(mode="json", exclude_none=True) for n, v in self.noises.items()
            },
            "channels": _specs(self.channels),
        }


def _spec(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_defaults=True)


def _specs(table: Mapping[str, BaseModel]) -> dict[str, Any]:
    return {n: _spec(v) for n, v in table.items()}


def base_dimensions(base: LoadedSuite) -> Dimensions:
    suite = base.suite
    return Dimensions(dict(suite.voices), dict(suite.noises), dict(suite.channels))


def suite_yaml(
    *,
    name: str,
    description: str,
    base: LoadedSuite | None,
    dims: Dimensions,
    mined: list[MinedScenario],
) -> str:
    """The suite file: a header saying what to review, the suite's parts, then the scenarios."""
    blocks: list[dict[str, list[str]]] = []
    for m in mined:
        for block in m.data["grid"]:
            if block not in blocks:
                blocks.append(block)
    top: dict[str, Any] = {"schema_version": 1, "name": name, "description": description}
    top |= dims.dump()
    # Each scenario runs in its own cell (its `grid`); `default` names them all, for `check`.
    top["grids"] = {"default": blocks}
    if base is not None:
        suite = base.suite
        top["fixtures"] = suite.fixtures
        if suite.reactions:
            top["reactions"] = [_spec(r) for r in suite.reactions]
        rules = suite.evaluation.model_dump(mode="json", exclude_defaults=True)
        if rules:
            top["evaluation"] = rules
        if suite.variants:
            top["variants"] = {n: _absolute(base.path, p) for n, p in suite.variants.items()}
    header = [
        "Regression scenarios mined from production calls by `callgate mine` (docs/production.md).",
        "Every scenario replays a real caller's turns, with their recordings where the log had "
        "them and no personal data in them. Its `expect:` block is what the call did, not "
        "necessarily what it should have done: each scenario stays tagged `review: unconfirmed` "
        "until someone has checked that block and set `review: confirmed`.",
    ]
    if base is not None:
        header.append(f"Based on the suite {base.path.resolve()}.")
    lines = _comment(header, "")
    lines += _dump(top).splitlines()
    lines.append("")
    lines.append("scenarios:")
    for m in mined:
        lines += _scenario(m)
    return "\n".join(lines) + "\n"


def _scenario(m: MinedScenario) -> list[str]:
    head = {k: v for k, v in m.data.items() if k != "expect"}
    body = _dump(head).splitlines()
    body += _comment(m.expect_comment, "")
    body += _dump({"expect": m.data["expect"]}).splitlines()
    return ["", *_comment(m.comment, ""), "- " + body[0], *("  " + line for line in body[1:])]


def _comment(paragraphs: list[str], indent: str) -> list[str]:
    return [
        f"{indent}# {line}"
        for text in paragraphs
        for line in textwrap.wrap(text, _COMMENT_WIDTH - len(indent), break_on_hyphens=False)
    ]


class _Dumper(yaml.SafeDumper):
    """Short mappings and lists of plain values on one line, the way the bundled suites read."""


def _flow(value: Any) -> bool:
    plain = (str, int, float, bool, type(None))
    items = value.values() if isinstance(value, dict) else value
    return (
        all(
            isinstance(v, plain) or (isinstance(v, list) and all(isinstance(x, plain) for x in v))
            for v in items
        )
        and len(str(value)) <= _FLOW_WIDTH
    )


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=_flow(data))


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=_flow(data))


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)


def _dump(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _absolute(suite_file: Path, path: str) -> str:
    """A variant path of the base suite as it resolves from there, wherever the mined suite is."""
    return str((suite_file.parent / path).resolve())
