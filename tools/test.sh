#!/usr/bin/env bash
# THE test command (README and CI): sets the machine up, then runs every test on every engine:
#   1. the unit tests;
#   2. the whole end-to-end suite on Docker Engine 28.5 (what people run);
#   3. the parity (`docker logs` vs each engine's `local`), restart, live-restore, managed-plugin and
#      daemon.json tests on Docker Engine 20.10 (the host's docker.io) and 26.1 too.
# Engines 26.1 and 28.5 are Debian's own packages, unpacked by tools/engines.sh (nothing is
# installed system-wide). Each part is timed; a summary line per part and engine ends the output.
#
# With arguments, runs pytest once with them instead, on $LOGDRIVER_E2E_ENGINE (default 28.5),
# e.g. `tools/test.sh -x -k tail` or `LOGDRIVER_E2E_ENGINE=20.10 tools/test.sh tests/e2e/test_restart.py`.
# Exits non-zero on any failure, and also when a pytest run collected no test at all (its exit 5).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tools/setup.sh || { echo "test.sh: tools/setup.sh failed" >&2; exit 1; }

NEWEST=28.5
# The tests that must hold on every engine, not only on the newest.
EVERY_ENGINE=(
    tests/e2e/test_docker_logs.py
    tests/e2e/test_restart.py
    tests/e2e/test_managed_plugin.py
    tests/e2e/test_default_driver.py
    tests/e2e/test_faults.py::test_dockerd_restarted_while_a_container_logs_ships_all_the_daemon_gave_us
)

started=$SECONDS
engines_at=$SECONDS
if ! bash tools/engines.sh 26.1 28.5 >/dev/null; then
    echo "test.sh: tools/engines.sh could not fetch Docker Engines 26.1 and 28.5; the end-to-end" \
        "tests on them will fail and say so" >&2
fi
engines_took=$((SECONDS - engines_at))

reports=$(mktemp -d /tmp/logdriver-test.XXXXXX)
trap 'rm -rf "$reports"' EXIT
summary=()
failed=0
total_passed=0
total_failed=0

# The managed plugin's rootfs (debootstrap + pip, about 3 minutes) is built once for every engine's
# run: tests/e2e/test_managed_plugin.py takes it as LOGDRIVER_E2E_PLUGIN_BUNDLE (and checks that it
# holds this tree's code). If the build fails here, each run builds its own and fails saying why.
bundle_took=0
if [ -z "${LOGDRIVER_E2E_PLUGIN_BUNDLE:-}" ] && [ "$#" -eq 0 ]; then
    bundle_at=$SECONDS
    if BUILD_DIR="$reports/plugin-bundle" bash plugin/build.sh --offline --bundle-only \
            >"$reports/plugin-build.log" 2>&1; then
        export LOGDRIVER_E2E_PLUGIN_BUNDLE="$reports/plugin-bundle"
    else
        echo "test.sh: building the managed plugin's bundle failed (the tests will build it" \
            "themselves):" >&2
        tail -20 "$reports/plugin-build.log" >&2
    fi
    bundle_took=$((SECONDS - bundle_at))
fi

run() { # run LABEL ENGINE PYTEST-ARGS...: one timed pytest run; its summary line goes to $summary
    local label=$1 engine=$2 rc at counts
    shift 2
    echo "==== test.sh: $label (LOGDRIVER_E2E_ENGINE=${engine:-none}) ====" >&2
    at=$SECONDS
    LOGDRIVER_E2E_ENGINE=$engine .venv/bin/python -m pytest --junitxml="$reports/$label.xml" "$@"
    rc=$?
    counts=$(.venv/bin/python - "$reports/$label.xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("no report")
    sys.exit()
suites = [root] if root.tag == "testsuite" else list(root)
n = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
passed = n["tests"] - n["failures"] - n["errors"] - n["skipped"]
print(f"{passed} passed, {n['failures']} failed, {n['errors']} errors, {n['skipped']} skipped")
EOF
)
    local p f
    p=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' <<<"$counts")
    f=$(sed -n 's/^[0-9]* passed, \([0-9]*\) failed, \([0-9]*\) errors.*/\1 + \2/p' <<<"$counts")
    total_passed=$((total_passed + ${p:-0}))
    total_failed=$((total_failed + ${f:-0}))
    if [ "$rc" -eq 5 ]; then
        echo "test.sh: $label: pytest collected no tests; that is a failure" >&2
    fi
    if [ "$rc" -ne 0 ]; then
        failed=1
    fi
    summary+=("$(printf '%-40s %-52s %5d s  exit %d' "$label" "$counts" $((SECONDS - at)) "$rc")")
}

if [ "$#" -gt 0 ]; then
    # Run all of tests/ unless the caller named test paths of their own.
    paths=(tests)
    for arg in "$@"; do
        case "$arg" in
            -*) ;;
            *) if [ -e "${arg%%::*}" ]; then paths=(); break; fi ;;
        esac
    done
    engine=${LOGDRIVER_E2E_ENGINE:-$NEWEST}
    run "pytest on engine $engine" "$engine" "${paths[@]}" "$@"
else
    run "unit tests" "" tests/unit
    run "e2e, whole suite, engine $NEWEST" "$NEWEST" --durations=5 tests/e2e
    for engine in 20.10 26.1; do
        run "e2e, every-engine tests, engine $engine" "$engine" --durations=5 "${EVERY_ENGINE[@]}"
    done
fi

echo "==== test.sh summary (fetching engines: ${engines_took} s, building the plugin bundle:" \
    "${bundle_took} s) ===="
printf '%s\n' "${summary[@]}"
echo "total: $((SECONDS - started)) s; $([ "$failed" -eq 0 ] && echo 'all passed' || echo 'FAILED')"
if [ "$failed" -ne 0 ] && [ "$total_failed" -eq 0 ]; then
    total_failed=1  # a run failed without a failed test (no tests collected, a crash)
fi
echo "${total_passed} passed, ${total_failed} failed"
exit "$failed"
