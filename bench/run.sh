#!/usr/bin/env bash
# Reruns a benchmark on this machine (as root): sets up, then bench/run.py "$@" (the local-history
# benchmark) or, with --hec first, bench/hec.py "$@" (delivery to a loopback HEC).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup.sh
if [ "${1:-}" = "--hec" ]; then
    shift
    exec .venv/bin/python bench/hec.py "$@"
fi
exec .venv/bin/python bench/run.py "$@"
