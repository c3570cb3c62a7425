"""The core package holds no banking word: banking is a plugin like any outside domain.

The words are taken from the banking plugin itself (its tool names, merchants, intents, lexicon and
suite rules), so a word the plugin adds later is checked too.
"""

from __future__ import annotations

import re
from pathlib import Path

from callgate.scenarios.load import load_suite

CORE = Path(__file__).resolve().parents[1] / "src" / "callgate"
# Words every banking artefact uses that no other domain needs in the core.
FIXED = {"banking", "bank", "merchant", "merchants", "heloc", "cvv", "pin", "pins"}
# Plain English that any domain (and the statistics code) uses: "target" of an interval,
# "checking" a file, "goodbye" from any agent.
GENERIC = {"target", "checking", "savings", "credit", "debit", "affirm", "deny", "goodbye"}
GENERIC |= {"out_of_scope", "request_human", "whole foods", "best buy"}


def banking_words() -> set[str]:
    from callgate_banking import DEFAULT_MERCHANTS, SCHEMAS, load_dataset

    suite = load_suite("banking").suite
    rules = suite.evaluation
    words = set(FIXED)
    words |= {s.name.lower() for s in SCHEMAS}
    words |= {m.lower() for m in DEFAULT_MERCHANTS}
    words |= {w.lower() for w in rules.lexicon}
    words |= {t.lower() for t in rules.sensitive_tools + rules.handoff_tools}
    words |= {label.lower() for _text, label in load_dataset("intents")}
    words |= {w.lower() for w in rules.entities}
    return words - GENERIC


def test_the_word_list_is_not_empty() -> None:
    words = banking_words()
    assert {"freeze_card", "transfer_to_human", "amazon", "heloc"} <= words


def test_no_banking_word_in_the_core_package() -> None:
    words = banking_words()
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, words))) + r")\b", re.IGNORECASE)
    hits: list[str] = []
    for path in sorted(CORE.rglob("*")):
        if path.suffix not in (".py", ".yaml", ".yml", ".json", ".jsonl", ".html", ".js", ".css"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in pattern.finditer(line):
                hits.append(f"{path.relative_to(CORE)}:{number}: {m.group(0)!r}")
    assert not hits, "banking words in the core:\n" + "\n".join(hits[:40])


def test_core_declares_no_banking_entry_points() -> None:
    project = (CORE.parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    start = project.index("[project.entry-points")
    entry_points = project[start : project.index("[tool.", start)]
    assert "callgate.agents" in entry_points
    assert "banking" not in entry_points.lower()
