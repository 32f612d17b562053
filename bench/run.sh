#!/usr/bin/env bash
# Reruns the benchmark on this machine (as root): sets up, then bench/run.py "$@".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup.sh
exec .venv/bin/python bench/run.py "$@"
