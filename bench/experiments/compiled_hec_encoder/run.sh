#!/usr/bin/env bash
# The HEC case of bench/suite.py with the compiled encoder experiment switched on (README.md):
# a throwaway git worktree of HEAD with hook.patch applied runs as the plugin, hec.c is built
# with gcc. Extra arguments go to suite.py (e.g. --rounds 6). As root, after bench/run.sh once.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
tree="$(mktemp -d /tmp/logdriver-hecc.XXXXXX)"
trap 'git -C "$repo" worktree remove --force "$tree"' EXIT
git -C "$repo" worktree add --detach --force "$tree" HEAD >/dev/null
git -C "$tree" apply "$here/hook.patch"
"$repo/.venv/bin/python" "$here/check.py"
# from another folder: `python -m` puts the working folder first on sys.path
cd /tmp
LOGDRIVER_HECC_DIR="$here" PYTHONPATH="$tree" "$repo/.venv/bin/python" "$repo/bench/suite.py" \
    --cases hec "$@"
