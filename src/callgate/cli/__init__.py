"""The ``callgate`` command."""
