#!/usr/bin/env bash
# THE test command (README and CI): sets the machine up, then runs pytest over tests/.
# Arguments go to pytest, e.g. `tools/test.sh -x -k tail` or `tools/test.sh tests/unit`.
# Exits non-zero on any failure, and also when pytest collected no test at all (its exit 5).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tools/setup.sh || { echo "test.sh: tools/setup.sh failed" >&2; exit 1; }

# Run all of tests/ unless the caller named test paths of their own.
paths=(tests)
for arg in "$@"; do
    case "$arg" in
        -*) ;;
        *) if [ -e "${arg%%::*}" ]; then paths=(); break; fi ;;
    esac
done

.venv/bin/python -m pytest "${paths[@]}" "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "test.sh: pytest collected no tests; that is a failure" >&2
    exit 1
fi
exit "$rc"
