"""Data-quality gates: Great Expectations suites validated on the approved set."""
