"""Reports a person reads, rendered from the run's report.json."""
