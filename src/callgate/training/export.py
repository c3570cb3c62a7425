"""``callgate export-training``: stored calls as fine-tuning data, counted as they go.

Reads runs through a :class:`~callgate.store.reader.StoreReader` (it never writes the store),
builds each call's chat example and ASR clips, and writes into one folder:

* ``chat.jsonl`` and ``chat-meta.jsonl`` (line N of one describes line N of the other);
* ``asr_manifest.jsonl`` and ``audio/*.wav``;
* ``export.json`` (:class:`~callgate.training.records.ExportSummary`), written last.

The JSONL files are written beside their targets and renamed into place only when every call is
done, so an interrupted export leaves the previous files or none, never half of one. See
``docs/training-data.md``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from callgate.errors import UsageError
from callgate.files import atomic_write
from callgate.plugins import load_plugin_modules
from callgate.scenarios.evaluation import EvaluationRules
from callgate.scenarios.load import load_suite
from callgate.scenarios.model import Suite
from callgate.store.blobs import BlobStore
from callgate.store.reader import StoreReader
from callgate.store.records import CallScores
from callgate.store.run_spec import RunSpec
from callgate.traces.model import CallTrace
from callgate.training.asr_manifest import manifest_clips, wav_bytes
from callgate.training.behaviours import behaviours, failed
from callgate.training.chat import DEFAULT_SYSTEM, chat_example
from callgate.training.correction import Correction, NotCorrectable, correct, ordered_calls
from callgate.training.output import (
    ASR_FILE,
    AUDIO_DIR,
    CHAT_FILE,
    META_FILE,
    SUMMARY_FILE,
    Staged,
    prepare,
    remove_clips,
    remove_stale,
)
from callgate.training.records import (
    BEHAVIOURS,
    BehaviourCount,
    CohortCount,
    ExampleMeta,
    ExportSummary,
    FileWritten,
    RedactionCount,
    RedactionRule,
    ToolDef,
    structure_problems,
)
from callgate.training.redact import Hits, Redactor
from callgate.training.tools import DerivedTools, ToolsFrom, args_problem, toolset_tools

Split = Literal["dev", "holdout", "all"]
Format = Literal["chat", "asr"]
FORMATS: tuple[Format, ...] = ("chat", "asr")
HOLDOUT_WARNING = (
    "holdout calls exported for training (--split asked for them): a model trained on them is "
    "judged on its own training data by the gate's holdout checks"
)


@dataclass(frozen=True)
class ExportRequest:
    out: Path
    run_ids: list[str]
    variant: str | None = None
    split: Split = "dev"
    formats: tuple[Format, ...] = FORMATS
    redact: bool = True
    system: str = DEFAULT_SYSTEM


@dataclass
class ExportResult:
    summary: ExportSummary
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (run, call, split) taken


@dataclass
class _Run:
    """What one run's calls are exported with: its suite's rules and its variants' tools."""

    run_id: str
    spec: RunSpec
    rules: EvaluationRules
    redactor: Redactor
    tools: dict[str, tuple[list[ToolDef], ToolsFrom]] = field(default_factory=dict)


def _suite_rules(
    store: StoreReader, run_id: str, spec: RunSpec
) -> tuple[EvaluationRules, str | None]:
    """The rules the run was scored under: the suite it stored, else the installed suite of
    that name (imported calls), else none but the built-in ones (and a warning)."""
    if spec.suite_json is not None:
        return Suite.model_validate(spec.suite_json).evaluation, None
    name = spec.suite
    if not name:
        first = next(iter(store.calls(run_id)), None)
        name = first.suite if first is not None else ""
    try:
        return load_suite(name).suite.evaluation, None
    except UsageError as exc:
        return EvaluationRules(), f"suite {name!r} not found ({exc.message}): built-in rules only"


class _Exporter:
    def __init__(self, store: StoreReader, request: ExportRequest) -> None:
        self.store = store
        self.request = request
        self.blobs = BlobStore(store.root / "blobs")
        self.summary = ExportSummary(
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            store=str(store.root),
            runs=list(request.run_ids),
            variant=request.variant,
            split=request.split,
            formats=list(request.formats),
            system=request.system,
            redaction=RedactionCount(enabled=request.redact),
        )
        self.result = ExportResult(self.summary)
        self.skipped: Counter[str] = Counter()
        self.spans: Counter[str] = Counter()
        self.rules: dict[tuple[str, str, str], RedactionRule] = {}
        self.clips: set[str] = set()

    # -- per run ---------------------------------------------------------------------------------

    def open_run(self, run_id: str) -> _Run:
        row = self.store.run(run_id)
        try:  # tool sets the run's plugins register; without them the schemas are derived
            load_plugin_modules(row.spec.plugins.modules)
        except UsageError as exc:
            self.summary.warnings.append(f"run {run_id}: {exc.one_line()}")
        rules, warning = _suite_rules(self.store, run_id, row.spec)
        if warning:
            self.summary.warnings.append(f"run {run_id}: {warning}")
        redactor = Redactor.for_rules(rules.personal_data) if self.request.redact else Redactor([])
        for r in redactor.rules:
            self.rules.setdefault(
                (r.name, r.pattern, r.origin),
                RedactionRule(name=r.name, pattern=r.pattern, origin=r.origin),
            )
        return _Run(run_id, row.spec, rules, redactor)

    def tools_for(self, run: _Run, trace: CallTrace) -> tuple[list[ToolDef], ToolsFrom]:
        if trace.variant not in run.tools:
            found = toolset_tools(run.spec.variant_specs.get(trace.variant), trace.initial_state)
            if found is not None:
                run.tools[trace.variant] = (found, "toolset")
            else:
                derived = DerivedTools()
                for t in self.store.calls(run.run_id, trace.variant):
                    derived.add_all((c.tool, c.args) for c in t.tool_calls)
                run.tools[trace.variant] = (derived.tools(), "derived")
            self.summary.tools_from[f"{run.run_id}/{trace.variant}"] = run.tools[trace.variant][1]
        return run.tools[trace.variant]

    # -- per call --------------------------------------------------------------------------------

    def plan(
        self, run: _Run, trace: CallTrace, scores: CallScores | None
    ) -> str | tuple[Correction | None, list[ToolDef], ToolsFrom]:
        """(correction or None, tools, where they came from) of a call's example, or why the
        call has none."""
        if not trace.agent_turns:
            return "no agent turns"
        is_failed = failed(scores)
        if is_failed is None:
            return "not scored" if scores is None else "outcome not scored"
        correction: Correction | None = None
        if is_failed:
            found = correct(trace, run.rules.handoff_tools)
            if isinstance(found, NotCorrectable):
                return f"failed, not correctable: {found.reason}"
            correction = found
        tools, tools_from = _complete(*self.tools_for(run, trace), trace, correction)
        by_name = {t.function.name: t for t in tools}
        for name, args in correction.calls if correction else []:
            problem = args_problem(by_name[name], args)
            if problem:
                return f"failed, not correctable: the correction does not fit ({problem})"
        return correction, tools, tools_from

    def chat(self, run: _Run, trace: CallTrace, scores: CallScores | None, out: Staged) -> bool:
        planned = self.plan(run, trace, scores)
        if isinstance(planned, str):
            self.skipped[f"chat: {planned}"] += 1
            return False
        correction, tools, tools_from = planned
        hits = Hits()
        built = chat_example(trace, tools, self.request.system, run.redactor, hits, correction)
        if correction and correction.wrong_call is not None and built.wrong_step is None:
            self.skipped["chat: failed, not correctable: its wrong call is in no agent turn"] += 1
            return False
        problems = structure_problems(built.example)
        if problems:  # a bug in this package, never the data's fault
            raise RuntimeError(f"call {trace.call_id}: {problems[0]}")
        fixed = [name for name, _ in correction.calls] if correction else []
        labels, turns = behaviours(trace, built.turns, built.until, fixed, run.rules.handoff_tools)
        kind = None if correction is None else "end_of_call"
        if correction is not None and correction.wrong_call is not None:
            kind = "tool_call"
        meta = ExampleMeta(
            line=out.lines[CHAT_FILE],
            call_id=trace.call_id,
            run_id=trace.run_id,
            source=trace.source,
            suite=trace.suite,
            scenario_id=trace.scenario_id,
            variant=trace.variant,
            split=trace.split,
            cohort_id=trace.cohort_id,
            cohort=dict(trace.cohort),
            behaviours=labels,
            cause=scores.attribution.cause if scores and scores.attribution else None,
            wrong_step=built.wrong_step,
            wrong_step_kind=kind,
            correction=fixed,
            tools_from=tools_from,
            redacted=dict(hits.spans),
        )
        out.write(CHAT_FILE, built.example.line())
        out.write(META_FILE, meta.model_dump_json())
        self.summary.examples += 1
        cohort = self.summary.by_cohort.setdefault(trace.cohort_id, CohortCount())
        cohort.examples += 1
        cohort.failed_corrected += int(correction is not None)
        for label in labels:
            count = self.summary.by_behaviour.setdefault(label, BehaviourCount())
            count.examples += 1
            count.turns += turns.get(label, 0)
        self.count_hits(hits)
        return True

    def asr(self, run: _Run, trace: CallTrace, out: Staged) -> bool:
        audio = None
        ref = trace.caller_audio
        if ref is not None and self.blobs.has(ref.sha256):
            audio = self.blobs.get(ref)
        hits = Hits()
        clips = manifest_clips(trace, audio, run.redactor, hits, self.skipped)
        for clip in clips:
            atomic_write(self.request.out / clip.line.audio_filepath, wav_bytes(clip.audio))
            self.clips.add(Path(clip.line.audio_filepath).name)
            out.write(ASR_FILE, clip.line.model_dump_json())
        if clips:
            self.summary.asr_lines += len(clips)
            cohort = self.summary.by_cohort.setdefault(trace.cohort_id, CohortCount())
            cohort.asr_lines += len(clips)
        self.count_hits(hits)
        return bool(clips)

    def count_hits(self, hits: Hits) -> None:
        self.spans.update(hits.spans)
        self.summary.redaction.fields += hits.fields

    # -- the whole export ------------------------------------------------------------------------

    def run(self) -> ExportResult:
        request = self.request
        self._check_runs()
        created = not request.out.exists()
        previous = prepare(request.out)
        names = [n for f in request.formats for n in _FILES[f]]
        out: Staged | None = None
        try:
            out = Staged(request.out, names)
            self._calls(out)
            if self.summary.calls_read == 0 and request.variant is not None:
                raise UsageError(f"no calls of variant {request.variant!r} in these runs")
            out.commit()
        except BaseException:
            if out is not None:
                out.abort()
            if not previous:  # a new export leaves nothing behind; an earlier one stays whole
                remove_clips(request.out, self.clips, created)
            raise
        if previous:
            remove_stale(request.out, set(names), self.clips)
        s = self.summary
        s.files = {n: FileWritten(path=n, lines=out.lines[n]) for n in names}
        if "asr" in request.formats:
            s.files[AUDIO_DIR] = FileWritten(path=AUDIO_DIR + "/", lines=len(self.clips))
        s.skipped = dict(sorted(self.skipped.items()))
        s.by_behaviour = {b: s.by_behaviour[b] for b in BEHAVIOURS if b in s.by_behaviour}
        s.by_cohort = dict(sorted(s.by_cohort.items()))
        s.redaction.spans = dict(sorted(self.spans.items()))
        s.redaction.rules = list(self.rules.values())
        if request.split != "dev":
            held = sum(split == "holdout" for _, _, split in self.result.calls)
            s.warnings.append(f"{held} {HOLDOUT_WARNING}")
        atomic_write(request.out / SUMMARY_FILE, s.model_dump_json(indent=2) + "\n")
        return self.result

    def _check_runs(self) -> None:
        """Bad input found before anything is written: an unscored run, an unknown variant."""
        known: set[str] = set()
        every_spec_names_variants = True
        for run_id in self.request.run_ids:
            row = self.store.run(run_id)
            stored, scored = self.store.run_version(run_id)
            if stored and not scored:
                raise UsageError(f"run {run_id} is not scored yet (run `callgate evaluate`)")
            known |= set(row.spec.variants)
            every_spec_names_variants &= bool(row.spec.variants)
        variant = self.request.variant
        if variant is not None and every_spec_names_variants and variant not in known:
            raise UsageError(
                f"no variant {variant!r} in these runs (they have {', '.join(sorted(known))})",
                field="--variant",
            )

    def _calls(self, out: Staged) -> None:
        split = self.request.split
        for run_id in self.request.run_ids:
            scores = self.store.scores(run_id)
            run = self.open_run(run_id)
            for trace in self.store.calls(run_id, self.request.variant):
                self.summary.calls_read += 1
                if split != "all" and trace.split != split:
                    self.skipped[f"{trace.split} calls (--split {split})"] += 1
                    continue
                before = self.summary.redaction.fields
                took = "chat" in self.request.formats and self.chat(
                    run, trace, scores.get(trace.call_id), out
                )
                if "asr" in self.request.formats:
                    took = self.asr(run, trace, out) or took
                if took:
                    self.result.calls.append((run_id, trace.call_id, trace.split))
                self.summary.redaction.calls += self.summary.redaction.fields > before


_FILES: dict[Format, tuple[str, ...]] = {"chat": (CHAT_FILE, META_FILE), "asr": (ASR_FILE,)}


def _complete(
    tools: list[ToolDef], tools_from: ToolsFrom, trace: CallTrace, correction: Correction | None
) -> tuple[list[ToolDef], ToolsFrom]:
    """Every tool the example names is in its ``tools``: one the tool set lacks (a call of an
    unknown tool, a path naming a tool this variant does not have) is derived from its calls."""
    named = [(c.tool, c.args) for c in ordered_calls(trace)] + list(
        correction.calls if correction else []
    )
    have = {t.function.name for t in tools}
    missing = {n for n, _ in named} - have
    if not missing:
        return tools, tools_from
    derived = DerivedTools()
    derived.add_all(named)
    return tools + derived.tools(missing), "derived"


def export_training(store: StoreReader, request: ExportRequest) -> ExportResult:
    """Export the calls ``request`` selects; UsageError for bad input (nothing is written)."""
    return _Exporter(store, request).run()
