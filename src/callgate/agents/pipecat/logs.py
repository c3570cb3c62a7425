"""Pipecat logs through loguru to stderr at DEBUG: a banner at import and dozens of lines per
call, which would bury a run's progress. callgate keeps Pipecat's warnings and errors, or what
``CALLGATE_PIPECAT_LOG`` (a loguru level name) asks for."""

from __future__ import annotations

import os
import sys

_done = False


def quiet_pipecat() -> None:
    global _done
    if _done:
        return
    _done = True
    from loguru import logger

    logger.remove()  # loguru's default handler, the one Pipecat writes through
    logger.add(sys.stderr, level=os.environ.get("CALLGATE_PIPECAT_LOG", "WARNING"))
