"""Load with ``--plugin support.fake_calls_plugin`` (or ``load_plugin_modules``): every call of
the run is the instant stand-in of :mod:`support.fake_calls`, in this process and in each worker
process, which imports a run's plugin modules again. Never import it into a test session that
simulates real calls afterwards."""

from __future__ import annotations

from callgate.execution import runner
from support.fake_calls import fake_run_one

runner._run_one = fake_run_one  # type: ignore[assignment]
