"""What the caller said against what the agent heard, word by word.

The alignment is the one WER is computed from (``word_errors`` on normalised text), so the
highlighted errors are exactly the ones counted: a substitution shows the said word struck through
and the heard word beside it, a deletion the said word struck through, an insertion the extra word.
"""

from __future__ import annotations

from callgate.evaluators.text import word_errors
from callgate.report.escape import esc


def diff_html(reference: str, hypothesis: str) -> str:
    errors = word_errors(reference, hypothesis)
    parts: list[str] = []
    for op in errors.alignment:
        if op.op == "equal":
            parts.append(f'<span class="w">{esc(op.ref)}</span>')
        elif op.op == "substitute":
            parts.append(
                f'<span class="sub" title="said &quot;{esc(op.ref)}&quot;, heard '
                f'&quot;{esc(op.hyp)}&quot;"><del>{esc(op.ref)}</del> <ins>{esc(op.hyp)}</ins>'
                "</span>"
            )
        elif op.op == "delete":
            parts.append(f'<del class="del" title="missed">{esc(op.ref)}</del>')
        else:
            parts.append(f'<ins class="ins" title="added">{esc(op.hyp)}</ins>')
    wer = "-" if errors.wer is None else f"{errors.wer:.2f}"
    summary = (
        f'<span class="muted">WER {wer}: {errors.substitutions} sub, {errors.deletions} del, '
        f"{errors.insertions} ins</span>"
    )
    return f'<div class="diff">{" ".join(parts) or "<em>(nothing)</em>"}</div>{summary}'
