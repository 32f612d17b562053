#!/usr/bin/env bash
# Reruns the benchmarks on this machine (as root): sets up (tools/setup.sh, plus matplotlib for the
# chart), then bench/suite.py "$@": every case of issues #5 and #17 in one run, with the peers
# measured in the same run (--twin compiled|pure|both: the plugin's kernels; --help for the rest).
# bench/run.py (history vs local) and bench/hec.py (HEC vs splunk) run one case alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup.sh
.venv/bin/pip install -q -e '.[bench]'
exec .venv/bin/python bench/suite.py "$@"
