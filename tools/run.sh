#!/usr/bin/env bash
# Runs logdriver on this machine as a legacy Docker log-driver plugin, in the foreground.
#   tools/run.sh [extra `logdriver serve` options]
# Sets the machine up (tools/setup.sh), starts a Docker daemon if none answers (log in
# /var/log/logdriver-dockerd.log), then serves as LOGDRIVER_NAME (default: logdriver) with its state
# in LOGDRIVER_STATE_DIR (default: /var/lib/logdriver). Ctrl-C / SIGTERM stops the plugin cleanly.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tools/setup.sh

name="${LOGDRIVER_NAME:-logdriver}"
state_dir="${LOGDRIVER_STATE_DIR:-/var/lib/logdriver}"
dockerd_log=/var/log/logdriver-dockerd.log

if ! timeout 20 docker info >/dev/null 2>&1; then
    echo "run.sh: no Docker daemon answers; starting one (log: $dockerd_log)" >&2
    # setsid + nohup: the daemon outlives this script, which execs into the plugin below.
    setsid nohup dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
        >>"$dockerd_log" 2>&1 </dev/null &
    for _ in $(seq 1 120); do
        if timeout 5 docker info >/dev/null 2>&1; then break; fi
        sleep 0.5
    done
    if ! timeout 20 docker info >/dev/null 2>&1; then
        echo "run.sh: dockerd did not come up within 60 s; last lines of $dockerd_log:" >&2
        tail -n 30 "$dockerd_log" >&2 || true
        exit 1
    fi
fi

mkdir -p "$state_dir"
echo "run.sh: serving log driver '$name' (state: $state_dir); try: docker run --rm --network none --log-driver $name IMAGE sh -c 'echo hello' (containers need --network none on this daemon)"
exec .venv/bin/logdriver serve --name "$name" --state-dir "$state_dir" "$@"
