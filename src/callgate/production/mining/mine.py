"""Failed and misheard production calls as new regression scenarios (`callgate mine`).

An imported call is mined when it failed (the failure rule of its scores, ``CallRow.failed``) or
when the ASR's confidence in some caller turn fell below a threshold: the calls a release got
wrong, and the ones it nearly did. Failed calls come first, then the least confident, so
``limit`` keeps the most telling ones. Each becomes a scenario (:mod:`.scenario`) in a suite
that runs as it is written (:mod:`.suite`).

A mined scenario the caller has already said, in the base suite or in a scenario mined before it,
is a near duplicate and left out: the same rule ``callgate check`` applies across the splits (the
same words, or similar turns with the same expected tools), here regardless of split, because a
regression suite gains nothing from a second copy of a call it already replays.

The output folder is staged beside its target and validated by loading it as a suite before
anything replaces an earlier output, so a failed mine leaves what was there. ``mined.json`` marks
the folder as mine's: only such a folder (or an empty one) is written over, and only the files it
lists are replaced.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from callgate.errors import UsageError
from callgate.production.mining.scenario import (
    AUDIO_DIR,
    MinedScenario,
    lowest_confidence,
    mine_call,
)
from callgate.production.mining.suite import Dimensions, base_dimensions, suite_yaml
from callgate.scenarios.load import LoadedSuite, load_suite
from callgate.scenarios.model import Scenario
from callgate.scenarios.near_duplicates import (
    DEFAULT_SIMILARITY,
    caller_text,
    similarity_matrix,
    tool_path,
    turn_text,
)
from callgate.store.reader import StoreReader
from callgate.store.records import NOT_ATTRIBUTABLE, UNATTRIBUTED, CallRow
from callgate.traces.model import CallTrace
from callgate.training.redact import Hits, Redactor

SUITE_FILE = "suite.yaml"
MANIFEST = "mined.json"
MANIFEST_VERSION = 1
DEFAULT_LOW_CONFIDENCE = 0.6


@dataclass(frozen=True)
class MineRequest:
    out: Path
    run_ids: list[str]  # import runs of the store
    base: LoadedSuite | None = None  # the suite the scenarios join (--suite)
    split: Literal["dev", "holdout"] = "dev"
    low_confidence: float = DEFAULT_LOW_CONFIDENCE
    limit: int | None = None
    similarity: float = DEFAULT_SIMILARITY


@dataclass
class MineOutcome:
    calls: int = 0  # imported calls read
    selected: Counter[str] = field(default_factory=Counter)  # failed / low confidence
    unusable: int = 0  # selected, but no caller words a scenario can replay
    near_duplicates: int = 0
    over_limit: int = 0
    mined: list[MinedScenario] = field(default_factory=list)
    suite_path: Path | None = None  # None: nothing was written

    @property
    def redaction(self) -> Hits:
        total = Hits()
        for m in self.mined:
            total.spans.update(m.hits.spans)
            total.fields += m.hits.fields
        return total

    @property
    def synthesised(self) -> Counter[str]:
        return sum((m.synthesised for m in self.mined), Counter())

    @property
    def recordings(self) -> int:
        return sum(len(m.clips) for m in self.mined)

    @property
    def no_reference(self) -> int:
        return sum(m.no_reference for m in self.mined)


def check_out(out: Path) -> None:
    """Refuse a --out that exists and is not an empty folder or an earlier mine output."""
    if out.exists() and not out.is_dir():
        raise UsageError("not a folder", source=out, field="--out")
    if out.is_dir() and not (out / MANIFEST).is_file() and any(out.iterdir()):
        raise UsageError(
            f"not empty and holds no earlier `callgate mine` output ({MANIFEST}): give a new or "
            "empty folder",
            source=out,
            field="--out",
        )


def mine(
    reader: StoreReader,
    request: MineRequest,
    *,
    on_run: Callable[[str, int, int], None] | None = None,
) -> MineOutcome:
    """Mine the request's runs into ``request.out``; ``on_run(run_id, calls, selected)``."""
    check_out(request.out)
    out = MineOutcome()
    candidates: list[tuple[tuple[int, float, str], CallTrace, str]] = []
    for run_id in request.run_ids:
        before, read = len(candidates), out.calls
        for trace, reason, key in _selected(reader, run_id, request.low_confidence, out):
            candidates.append((key, trace, reason))
        if on_run:
            on_run(run_id, out.calls - read, len(candidates) - before)
    candidates.sort(key=lambda c: c[0])

    base = request.base
    dims = (
        base_dimensions(base) if base else Dimensions.minimal([t.cohort for _, t, _ in candidates])
    )
    rules = base.suite.evaluation.personal_data if base else {}
    redactor = Redactor.for_rules(rules)
    fixture = "default"
    if base is not None and "default" not in base.suite.fixtures:
        fixture = next(iter(base.suite.fixtures))
    scenarios: list[MinedScenario] = []
    for _, trace, reason in candidates:
        mined = mine_call(
            trace, reason, redactor=redactor, dims=dims, split=request.split, fixture=fixture
        )
        if mined is None:
            out.unusable += 1
        else:
            scenarios.append(mined)
    existing = list(base.suite.scenarios) if base else []
    kept, out.near_duplicates = _novel(existing, scenarios, request.similarity)
    if request.limit is not None and len(kept) > request.limit:
        out.over_limit = len(kept) - request.limit
        kept = kept[: request.limit]
    out.mined = kept
    if kept:
        out.suite_path = _write(reader, request, dims, kept, out)
    return out


def _selected(
    reader: StoreReader, run_id: str, threshold: float, out: MineOutcome
) -> Iterator[tuple[CallTrace, str, tuple[int, float, str]]]:
    """(trace, why it was mined, its place in the order) of each call worth a scenario."""
    scores = reader.scores(run_id)
    counts = out.selected
    for trace in reader.calls(run_id):
        if trace.source != "imported":
            continue
        out.calls += 1
        row = CallRow.of(trace, scores.get(trace.call_id))
        confidence = lowest_confidence(trace)
        unsure = confidence is not None and confidence < threshold
        if not row.failed and not unsure:
            continue
        why = []
        if row.failed:
            counts["failed"] += 1
            known = row.cause not in (None, UNATTRIBUTED, NOT_ATTRIBUTABLE)
            why.append(f"failed (cause: {row.cause})" if known else "failed")
        else:
            counts["low confidence"] += 1
        if unsure:
            why.append(f"lowest ASR confidence {confidence:.2f}, below {threshold:g}")
        started = trace.imported.started_at if trace.imported else ""
        key = (0 if row.failed else 1, 1.0 if confidence is None else confidence, started)
        yield trace, "; ".join(why), key


def _novel(
    existing: list[Scenario], mined: list[MinedScenario], threshold: float
) -> tuple[list[MinedScenario], int]:
    """The mined scenarios that repeat neither an existing one nor one mined before them."""
    # Word-for-word repeats first, by hashing: production repeats its commonest calls
    # thousands of times, and the similarity matrix grows with the square of what is left.
    seen = {caller_text(s) for s in existing}
    unique: list[MinedScenario] = []
    for m in mined:
        said = caller_text(m.scenario)
        if said not in seen:
            seen.add(said)
            unique.append(m)
    if not unique:
        return [], len(mined)
    everything = existing + [m.scenario for m in unique]
    texts = [turn_text(s) for s in everything]
    sims = similarity_matrix(texts[len(existing) :], texts, sorted(set(texts)))
    paths = [tool_path(s) for s in everything]
    kept_at = list(range(len(existing)))
    kept: list[MinedScenario] = []
    for i, m in enumerate(unique):
        me = len(existing) + i
        if any(paths[j] == paths[me] and sims[i, j] >= threshold for j in kept_at):
            continue
        kept_at.append(me)
        kept.append(m)
    return kept, len(mined) - len(kept)


def _write(
    reader: StoreReader,
    request: MineRequest,
    dims: Dimensions,
    mined: list[MinedScenario],
    outcome: MineOutcome,
) -> Path:
    """Stage the suite, its recordings and the manifest; validate; then put them in place."""
    target = request.out
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.mine-"))
    try:
        files = _clips(reader, mined, stage)
        base = request.base
        name = f"{base.suite.name}-mined" if base else "mined"
        runs = ", ".join(r[:12] for r in request.run_ids)
        text = suite_yaml(
            name=name,
            description=f"Regression scenarios mined from production calls (import runs {runs}).",
            base=base,
            dims=dims,
            mined=mined,
        )
        (stage / SUITE_FILE).write_text(text, encoding="utf-8")
        files.append(SUITE_FILE)
        try:
            load_suite(str(stage / SUITE_FILE))
        except UsageError as exc:  # a bug of mine, not of the input: say so, keep the old output
            raise UsageError(f"the mined suite does not validate: {exc.message}") from None
        manifest = _manifest(request, mined, outcome, [*files, MANIFEST])
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _replace(target, stage, [*files, MANIFEST])
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return target / SUITE_FILE


def _clips(reader: StoreReader, mined: list[MinedScenario], folder: Path) -> list[str]:
    """Write every recorded turn as a WAV file; the names written, relative to ``folder``."""
    from callgate.speech.audio import Audio, write_wav
    from callgate.store.blobs import BlobStore

    blobs = BlobStore(reader.root / "blobs")
    # A call's turns are cut from its caller track one after another: keep the last blob read.
    cache: dict[str, Audio] = {}
    (folder / AUDIO_DIR).mkdir()
    written: list[str] = []
    for m in mined:
        for clip in m.clips:
            sha = clip.ref.sha256
            if sha not in cache:
                if not blobs.has(sha):
                    raise UsageError(
                        f"the recording of call {m.log_call_id} is missing from the store's blobs",
                        source=blobs.path(sha),
                    )
                cache = {sha: blobs.get(clip.ref)}
            audio = cache[sha] if clip.span is None else cache[sha].slice(*clip.span)
            write_wav(folder / AUDIO_DIR / clip.name, audio)
            written.append(f"{AUDIO_DIR}/{clip.name}")
    return written


def _manifest(
    request: MineRequest, mined: list[MinedScenario], outcome: MineOutcome, files: list[str]
) -> dict[str, object]:
    hits = outcome.redaction
    return {
        "schema_version": MANIFEST_VERSION,
        "written_by": "callgate mine",
        "runs": request.run_ids,
        "base_suite": str(request.base.path.resolve()) if request.base else None,
        "split": request.split,
        "low_confidence": request.low_confidence,
        "similarity": request.similarity,
        "limit": request.limit,
        "counts": {
            "calls": outcome.calls,
            "selected": dict(outcome.selected),
            "unusable": outcome.unusable,
            "near_duplicates": outcome.near_duplicates,
            "over_limit": outcome.over_limit,
            "mined": len(mined),
            "redacted_spans": dict(hits.spans),
            "recorded_turns": outcome.recordings,
            "synthesised_turns": dict(outcome.synthesised),
        },
        "scenarios": [
            {
                "id": m.scenario.id,
                "call_id": m.call_id,
                "log_call_id": m.log_call_id,
                "release": m.release,
                "why": m.reason,
                "review": m.scenario.tags.get("review"),
            }
            for m in mined
        ],
        "files": files,
    }


def _replace(target: Path, stage: Path, files: list[str]) -> None:
    """Remove what an earlier mine output listed, then move the staged files in."""
    previous = target / MANIFEST
    if previous.is_file():
        try:
            old = json.loads(previous.read_text(encoding="utf-8")).get("files", [])
        except (OSError, ValueError, AttributeError):
            old = [SUITE_FILE, MANIFEST]
        for name in old if isinstance(old, list) else []:
            path = (target / str(name)).resolve()
            if path.is_relative_to(target.resolve()) and path.is_file() and name != MANIFEST:
                path.unlink()
    (target / AUDIO_DIR).mkdir(parents=True, exist_ok=True)
    # The manifest first: a folder interrupted half-way is still marked as mine's, listing
    # every file, so the next mine cleans it up.
    for name in sorted(files, key=lambda n: n != MANIFEST):
        os.replace(stage / name, target / name)
    audio = target / AUDIO_DIR
    if not any(audio.iterdir()):
        audio.rmdir()
