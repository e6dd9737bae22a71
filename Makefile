# The README's two commands. Each prepares what it needs on first use (scripts/setup.sh).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test test-fast bench sample explore

setup:
	@bash scripts/setup.sh

demo: setup  ## the default recipe on the bundled sample of raw tickets; prints where the report is
	@$(VENV)/bin/curate run recipes/tickets.yaml

test: setup  ## the whole suite, slow model tests included (as CI runs it)
	@$(PY) -m pytest -q -ra

test-fast: setup  ## the suite without the slow model tests
	@$(PY) -m pytest -q -ra -m "not slow"

sample: setup  ## regenerate data/sample from ../shared/data/bitext (deterministic)
	@$(PY) -m curate.samples.raw_tickets

explore: setup
	@$(VENV)/bin/curate explore runs/tickets
