"""Production signals per release and cohort over a time window, with intervals."""
