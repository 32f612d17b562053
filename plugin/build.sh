#!/usr/bin/env bash
# Builds the managed plugin and creates it: plugin/build.sh [--offline] [--bundle-only] [NAME]
#
#   NAME       the plugin's name for `docker plugin create` (default logdriver)
#   --offline  build the rootfs from Debian with debootstrap and pip, for machines that cannot
#              pull images (needs root, debootstrap, and Debian and PyPI mirrors reachable);
#              without it the rootfs is plugin/Dockerfile's image, exported. The rootfs has no
#              compiler: the wheel, compiled kernels included, is built on this host with the
#              project's venv (.venv, from tools/setup.sh; a Debian bookworm host's Python 3.11
#              has the rootfs's ABI) and installed into the rootfs with its dependencies.
#   --bundle-only  (with --offline) stop after the bundle (BUILD_DIR: config.json, rootfs/), no
#              daemon needed; the end-to-end tests take one as LOGDRIVER_E2E_PLUGIN_BUNDLE.
#
# Leaves the plugin disabled; then: docker plugin enable --timeout 0 NAME
# (--timeout 0: a managed plugin's calls are otherwise cut after 30 s, ending `docker logs -f`).
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), BUILD_DIR (default
# plugin/build), DOCKER (default docker), PYTHON (--offline: the Python that builds the wheel,
# default .venv/bin/python), LOGDRIVER_NO_EXTENSIONS=1 (the pure-Python twins only, on purpose:
# without it a build whose kernels did not compile fails; see plugin/check_build.py).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OFFLINE=0
BUNDLE_ONLY=0
if [ "${1:-}" = "--offline" ]; then OFFLINE=1; shift; fi
if [ "${1:-}" = "--bundle-only" ]; then BUNDLE_ONLY=1; shift; fi
if [ "$BUNDLE_ONLY" = 1 ] && [ "$OFFLINE" = 0 ]; then
    echo "build.sh: --bundle-only needs --offline (the other build uses the daemon)" >&2; exit 2
fi
NAME="${1:-logdriver}"
DOCKER="${DOCKER:-docker}"
BUILD_DIR="${BUILD_DIR:-plugin/build}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
ROOTFS="$BUILD_DIR/rootfs"

# debootstrap mounts /proc (and more) in the rootfs; killed midway it leaves them mounted.
unmount_rootfs() {
    awk -v root="$(realpath -m "$ROOTFS")" '$2 == root || index($2, root "/") == 1 { print $2 }' \
        /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
trap unmount_rootfs EXIT
trap "exit 130" INT TERM
unmount_rootfs
rm -rf "$BUILD_DIR"
mkdir -p "$ROOTFS"
cp plugin/config.json "$BUILD_DIR/config.json"

if [ "$OFFLINE" = 1 ]; then
    command -v debootstrap >/dev/null || { echo "build.sh: --offline needs debootstrap" >&2; exit 1; }
    PYTHON="${PYTHON:-.venv/bin/python}"
    [ -x "$PYTHON" ] || { echo "build.sh: --offline builds the wheel with $PYTHON; run" \
        "tools/setup.sh first (or set PYTHON)" >&2; exit 1; }
    # The wheel, from a clean copy of the sources (no in-place build output, no build/ left in
    # the tree); pip -v shows setup.py's own lines, which say when a kernel did not compile.
    mkdir -p "$BUILD_DIR/src" "$BUILD_DIR/wheels"
    cp -r pyproject.toml setup.py README.md logdriver sinks proto "$BUILD_DIR/src/"
    find "$BUILD_DIR/src" \( -name __pycache__ -o -name '*.so' -o -name '*.c' \) -prune \
        -exec rm -rf {} +
    echo "build.sh: building the wheel with $PYTHON ($("$PYTHON" -c 'import sys; print(sys.version.split()[0])'))"
    "$PYTHON" -m pip wheel -v --no-deps --disable-pip-version-check -w "$BUILD_DIR/wheels" \
        "$BUILD_DIR/src" >"$BUILD_DIR/wheel.log" 2>&1 \
        || { tail -30 "$BUILD_DIR/wheel.log" >&2; exit 1; }
    grep -h "logdriver setup:" "$BUILD_DIR/wheel.log" | sort -u >&2 || true
    wheels=("$BUILD_DIR"/wheels/logdriver-*.whl)
    "$PYTHON" plugin/check_build.py wheel "${wheels[0]}" "$BUILD_DIR/src"
    rm -rf "$BUILD_DIR/src"
    echo "build.sh: debootstrap bookworm into $ROOTFS"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$ROOTFS" "$MIRROR" >"$BUILD_DIR/debootstrap.log" 2>&1 \
        || { tail -20 "$BUILD_DIR/debootstrap.log" >&2; exit 1; }
    # pip inside the chroot uses the host's pip configuration and CA bundle.
    for f in /etc/pip.conf /root/.config/pip/pip.conf; do
        if [ -f "$f" ]; then mkdir -p "$ROOTFS$(dirname "$f")"; cp "$f" "$ROOTFS$f"; fi
    done
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
        cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
    fi
    cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
    mkdir -p "$ROOTFS/wheels"
    cp "${wheels[0]}" plugin/check_build.py "$ROOTFS/wheels/"
    echo "build.sh: pip install $(basename "${wheels[0]}") into $ROOTFS/opt/logdriver"
    # pip refuses a wheel whose tag the rootfs's Python does not take (another Python version).
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 \
        ${PIP_CERT:+PIP_CERT=/etc/ssl/certs/ca-certificates.crt} \
        ${LOGDRIVER_NO_EXTENSIONS:+LOGDRIVER_NO_EXTENSIONS=$LOGDRIVER_NO_EXTENSIONS} \
        chroot "$ROOTFS" sh -c 'set -e; python3 -m venv /opt/logdriver
            { /opt/logdriver/bin/pip install --no-cache-dir -q /wheels/logdriver-*.whl 2>&1 \
                || echo "build.sh: pip install failed" ; } | grep -v "is ignored" >&2 || true
            /opt/logdriver/bin/logdriver --help >/dev/null
            /opt/logdriver/bin/python /wheels/check_build.py installed'
    rm -rf "$ROOTFS/wheels" "$ROOTFS/var/cache/apt/archives"/*.deb "$ROOTFS/etc/resolv.conf"
    rm -f "$ROOTFS/etc/pip.conf" "$ROOTFS/root/.config/pip/pip.conf"
    mkdir -p "$ROOTFS/var/lib/logdriver" "$ROOTFS/run/docker/plugins" "$ROOTFS/run/docker/logging"
else
    tag="logdriver-rootfs:build"
    "$DOCKER" build -q -t "$tag" -f plugin/Dockerfile \
        ${LOGDRIVER_NO_EXTENSIONS:+--build-arg "LOGDRIVER_NO_EXTENSIONS=$LOGDRIVER_NO_EXTENSIONS"} .
    cid=$("$DOCKER" create "$tag" true)
    "$DOCKER" export "$cid" | tar -x -C "$ROOTFS"
    "$DOCKER" rm "$cid" >/dev/null
fi

if [ "$BUNDLE_ONLY" = 1 ]; then echo "build.sh: bundle in $BUILD_DIR"; exit 0; fi
echo "build.sh: docker plugin create $NAME $BUILD_DIR"
"$DOCKER" plugin create "$NAME" "$BUILD_DIR"
echo "build.sh: created $NAME (disabled); enable it with: $DOCKER plugin enable --timeout 0 $NAME"
