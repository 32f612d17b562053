#!/usr/bin/env bash
# Prepares a machine (Debian bookworm, as root) to run and test logdriver. Idempotent: safe to rerun.
#   - Debian packages docker.io (Docker Engine 20.10: dockerd, containerd, runc), busybox-static
#     (the only binary of the end-to-end tests' container image), openssl (the TLS tests make
#     certificates with it) and debootstrap (plugin/build.sh --offline builds the managed plugin's
#     rootfs with it, and the end-to-end tests build it that way) and docker-registry (the managed
#     plugin's upgrade test pushes and pulls through a private registry it starts on loopback; the
#     package's own service is left disabled) and gcc and python3-dev (the compiled kernels: the
#     editable install builds every *.pyx in place with Cython), installed only if missing;
#   - a virtualenv at .venv in the repo root, with the project installed editable with its test
#     extra (again only when pyproject.toml, setup.py or a kernel's source changed); a kernel that did not compile is named (the unit tests' compiled runs then fail),
#     unless LOGDRIVER_NO_EXTENSIONS=1 asks for the pure-Python twins only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

installed() { # installed PKG: true if dpkg has PKG fully installed
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for pkg in docker.io busybox-static openssl debootstrap docker-registry gcc python3-dev; do
    installed "$pkg" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        log "missing Debian packages: ${missing[*]}; run this script as root to install them"
        exit 1
    fi
    log "installing ${missing[*]}"
    # Keep the packages' maintainer scripts from starting a system-wide dockerd (there may be no
    # init system, and the tests start their own isolated daemon): policy-rc.d exit 101 = "don't".
    made_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    trap 'if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l
    apt-get update -q
    apt-get install -y -q "${missing[@]}"
    # The package enables a system-wide registry on :5000 for the next boot; the tests start
    # their own on loopback, so keep the system one off.
    if [[ " ${missing[*]} " == *" docker-registry "* ]] && command -v systemctl >/dev/null; then
        systemctl disable docker-registry >/dev/null 2>&1 || true
    fi
fi

if ! [ -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
    log "creating .venv"
    rm -rf .venv
    python3 -m venv .venv
fi
# The install is redone only when what it depends on changed: the dependencies and build
# (pyproject.toml, setup.py) and the kernels' sources (*.pyx, compiled in place); the Python code
# itself is live in an editable install. A kernel missing from the tree (say after `git clean`)
# also redoes it. The stamp lives in .venv, so a new .venv always installs.
stamp=.venv/.logdriver-install-stamp
inputs="$(cat pyproject.toml setup.py $(find logdriver sinks -name '*.pyx' | LC_ALL=C sort) \
    | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" = "$inputs" ] \
        && .venv/bin/python plugin/check_build.py installed >/dev/null 2>&1; then
    log "the virtualenv is up to date (pyproject.toml, setup.py and the kernels unchanged)"
else
    rm -f "$stamp"
    .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
    if .venv/bin/python plugin/check_build.py installed >/dev/null; then
        printf '%s\n' "$inputs" >"$stamp"
    else
        log "the compiled kernels are missing (above); logdriver runs the pure-Python twins"
    fi
fi
