"""Running many calls: executors (one machine now, a cluster later) and resumable runs."""
