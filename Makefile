# The README's two commands. Each prepares what it needs on first use (scripts/setup.sh).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test test-fast bench sample explore

setup:
	@bash scripts/setup.sh

demo: setup  ## the default recipe on the bundled sample of raw tickets; prints where the report is
	@$(VENV)/bin/curate run recipes/tickets.yaml

test: setup  ## the whole suite, slow model tests included (as CI runs it), on two workers (pytest-xdist)
	@$(PY) -m pytest -q -ra -n 2 --dist loadgroup

test-fast: setup  ## the suite without the slow model tests
	@$(PY) -m pytest -q -ra -n 2 --dist loadgroup -m "not slow"

# The benchmarks that take minutes each on two cores, with the commands benchmarks/RESULTS.md quotes (the total was not timed).
# Left to run by hand (tens of minutes to hours each, some write result files): lift.py, scale.py, runner_speed.py,
# runner_vs_probe.py, long_texts.py (but for its encoding batches), augment_fidelity.py, split_finish_memory.py,
# label_check_speed.py (it first encodes CLINC150 and CFPB into the embedding cache: about ten minutes when cold).
bench: setup  ## the quick benchmarks (PII, quality and label checks, dedup accuracy and speed, augmentation, training)
	$(PY) benchmarks/pii.py --seed 1
	$(PY) benchmarks/quality_accuracy.py --labels
	$(PY) benchmarks/dedup_accuracy.py --semantic
	$(PY) benchmarks/real_rows.py
	$(PY) benchmarks/dedup_throughput.py --sizes 10000 100000 --baseline-limit 50000
	cd benchmarks && $(abspath $(PY)) dedup_process.py --docs 200000 --repeats 2
	$(PY) benchmarks/augment_throughput.py
	$(PY) benchmarks/train_throughput.py --steps 30
	$(PY) benchmarks/ingest_speed.py --rows 1000000 --repeats 5
	$(PY) benchmarks/long_texts.py --only batches --rounds 3

sample: setup  ## regenerate data/sample from ../shared/data/bitext (deterministic)
	@$(PY) -m curate.samples.raw_tickets

explore: setup
	@$(VENV)/bin/curate explore runs/tickets
