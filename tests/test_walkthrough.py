"""The tuning walkthrough script stays runnable: it parses, and every callgate command and option
it uses exists (running it takes about 15 minutes: docs/tuning.md)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "tuning" / "walkthrough.sh"


def test_the_script_parses() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


@pytest.mark.parametrize(
    "command", sorted(set(re.findall(r"\bcallgate ([a-z][a-z-]+)", SCRIPT.read_text())))
)
def test_every_command_and_option_it_uses_exists(cli, command: str) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli(command, "--help")
    assert code == 0, command
    # The options the script gives this command on the command's own line.
    lines = [ln for ln in SCRIPT.read_text().splitlines() if f"callgate {command} " in ln]
    named = {o for ln in lines for o in re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", ln)}
    help_text = " ".join(out.split())
    missing = [o for o in sorted(named) if o not in help_text]
    assert not missing, f"callgate {command} has no {missing}"
