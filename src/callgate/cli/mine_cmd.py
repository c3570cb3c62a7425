"""`callgate mine`: failed and low-confidence production calls as regression scenarios.

The logic lives in :mod:`callgate.production.mining.mine`; this module checks the options, picks the
import runs, prints progress on stderr and the summary on stdout. Bad input is a
:class:`UsageError` (one line, exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from callgate.cli.options import DEFAULT_STORE, StoreOpt
from callgate.errors import UsageError
from callgate.production.mining.mine import DEFAULT_LOW_CONFIDENCE
from callgate.scenarios.near_duplicates import DEFAULT_SIMILARITY

if TYPE_CHECKING:
    from callgate.production.mining.mine import MineOutcome

SPLITS = ("dev", "holdout")


def mine(
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder to write suite.yaml, audio/ and mined.json into: new, empty, or an "
            "earlier mine output (replaced).",
        ),
    ],
    runs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="RUN",
            help="Import runs (ids or prefixes) to mine; default: every import run in the store.",
        ),
    ] = None,
    suite: Annotated[
        str | None,
        typer.Option(
            help="The suite the scenarios join: file, folder or installed name. Its voices, "
            "channels, fixtures, reactions, evaluation rules (personal data too) and variants are "
            "kept, and its scenarios count for near duplicates. Default: a minimal suite.",
        ),
    ] = None,
    split: Annotated[
        str, typer.Option(help="dev or holdout: the split every mined scenario gets.")
    ] = "dev",
    low_confidence: Annotated[
        float,
        typer.Option(
            help="Mine a call that passed when the ASR's confidence in any caller turn was below "
            "this (0-1)."
        ),
    ] = DEFAULT_LOW_CONFIDENCE,
    limit: Annotated[
        int | None,
        typer.Option(help="At most this many scenarios: failed calls first, then least confident."),
    ] = None,
    similarity: Annotated[
        float,
        typer.Option(
            help="A mined scenario with the same expected tools whose caller turns are at least "
            "this similar (0-1) to one already there is a near duplicate, and left out."
        ),
    ] = DEFAULT_SIMILARITY,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Turn failed or low-confidence production calls into new regression scenarios.

    Reads imported calls (`callgate ingest`) and writes a suite that `callgate run` runs as it
    is: each scenario replays the caller's turns in order, with the caller's own recordings where
    the log had them, in the voice and channel closest to the call's cohort, and expects the tools
    the call used successfully and its hand-off. That expectation is what the call did, not what
    it should have done: each scenario is tagged `review: unconfirmed` (a comment in suite.yaml
    says so) until you check its `expect:` block and set `review: confirmed`.

    Personal data (the suite's personal_data rules plus built-in card number, secret code, digit
    sequence and date of birth rules) is redacted from every text, tag and tool argument; a turn
    whose words held some is synthesised from the redacted words instead of playing its
    recording. Scenarios that repeat one of --suite or one mined before them are skipped. See
    docs/production.md, "callgate mine".

    Example: callgate mine --out mined --suite suite.yaml

    Example: callgate mine 3f2a --out mined-holdout --split holdout --limit 20

    Then: callgate run --suite mined/suite.yaml -v baseline
    """
    from callgate.cli.console import err
    from callgate.production.mining.mine import MineRequest, check_out
    from callgate.production.mining.mine import mine as run_mine
    from callgate.scenarios.load import load_suite
    from callgate.store.reader import StoreReader

    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r} (dev or holdout)", field="--split")
    if not 0.0 <= low_confidence <= 1.0:
        raise UsageError("must be between 0 and 1", field="--low-confidence")
    if not 0.0 < similarity <= 1.0:
        raise UsageError("must be above 0 and at most 1", field="--similarity")
    if limit is not None and limit < 1:
        raise UsageError("must be at least 1", field="--limit")
    check_out(out_dir)  # before reading anything: the usual mistake is the wrong folder
    base = load_suite(suite) if suite is not None else None
    with StoreReader.open(store) as reader:
        run_ids = [r.run_id for r in reader.imported_runs(runs or [])]
        if base is None or not base.suite.evaluation.personal_data:
            # The built-in rules know no domain: a secret read out as a bare number passes them.
            err.print(
                "warning: only the built-in personal-data rules apply (card numbers, secret codes, "
                "digit sequences, dates of birth); give --suite with your domain's personal_data "
                "rules to redact its own secrets",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        request = MineRequest(
            out=out_dir,
            run_ids=run_ids,
            base=base,
            split=split,  # type: ignore[arg-type]  # checked above
            low_confidence=low_confidence,
            limit=limit,
            similarity=similarity,
        )
        outcome = run_mine(
            reader,
            request,
            on_run=lambda run_id, calls, selected: err.print(
                f"run {run_id[:12]}: {calls} imported calls, {selected} failed or low-confidence",
                highlight=False,
                markup=False,
            ),
        )
    variants = sorted(base.suite.variants) if base is not None else []
    print_summary(outcome, out_dir, split, variants)


def print_summary(outcome: MineOutcome, out_dir: Path, split: str, variants: list[str]) -> None:
    """One summary line, then what was redacted, recorded and left to review."""
    from callgate.cli.console import out

    def say(text: str) -> None:
        out.print(text, highlight=False, markup=False, soft_wrap=True)

    o = outcome
    why = ", ".join(f"{k} {n}" for k, n in sorted(o.selected.items())) or "none"
    skipped = [f"{o.near_duplicates} near-duplicates skipped"]
    if o.over_limit:
        skipped.append(f"{o.over_limit} over --limit")
    if o.unusable:
        skipped.append(f"{o.unusable} without caller words to replay")
    hits = o.redaction
    spans = sum(hits.spans.values())
    redacted = (
        f"{spans} redactions ({', '.join(f'{k} {n}' for k, n in sorted(hits.spans.items()))})"
        if spans
        else "0 redactions"
    )
    where = f" into {o.suite_path}" if o.suite_path else ""
    say(
        f"mined {len(o.mined)} scenarios (split {split}) from {sum(o.selected.values())} of "
        f"{o.calls} calls ({why}){where}; {', '.join(skipped)}; {redacted}"
    )
    if not o.mined:
        say("nothing written")
        return
    synthesised = ", ".join(f"{k} {n}" for k, n in sorted(o.synthesised.items()))
    say(
        f"turns: {o.recordings} with their recording in {out_dir / 'audio'}"
        + (f", synthesised: {synthesised}" if synthesised else "")
    )
    if o.no_reference:
        say(
            f"{o.no_reference} turns had no reference transcript: their words are the ASR's, "
            "check them against the recordings"
        )
    unconfirmed = sum(1 for m in o.mined if m.scenario.tags.get("review") == "unconfirmed")
    if unconfirmed:
        say(
            f"review: {unconfirmed} scenarios tagged `review: unconfirmed`: confirm each expect "
            f"block (see the comments in {o.suite_path})"
        )
    variant = "baseline" if "baseline" in variants else (variants or ["VARIANT.yaml"])[0]
    say(f"run them: callgate run --suite {o.suite_path} -v {variant}")


def register(app: typer.Typer) -> None:
    """Add `mine` to the ``callgate`` app."""
    app.command("mine")(mine)
