"""callgate: paired, cohort-by-cohort release gates for voice agents."""

__version__ = "0.1.0"
