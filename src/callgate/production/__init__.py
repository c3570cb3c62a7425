"""Production calls: call logs read into the store as imported traces (``ingest``), their
signals per cohort and release (``signals``), and failed calls mined into regression scenarios
(``mine``)."""
