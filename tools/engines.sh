#!/usr/bin/env bash
# Fetches newer Docker Engines for the end-to-end tests without installing anything system-wide:
# Debian's own docker.io + containerd packages of a newer suite, unpacked into a cache folder.
#
#   tools/engines.sh 28.5        # prints the folder holding usr/sbin/dockerd, usr/bin/containerd, ...
#   tools/engines.sh 26.1 28.5   # one folder a line, in the order asked
#
# Engines: 26.1 = Debian trixie's docker.io (26.1.5), 28.5 = Debian sid's (28.5.2). `apt-get
# download` runs with a private sources list and private lists/state folders (the machine's apt
# configuration and package state are not touched); the mirror is the one the machine's own apt
# sources use for Debian. Each package is unpacked with `dpkg-deb -x` into
# ${LOGDRIVER_ENGINES_DIR:-/var/cache/logdriver/engines}/<engine>/. The host's runc is kept: the newer
# suites' runc needs glibc 2.38 (see ../shared/docs/PROTOCOL.md, "Engines differ").
# Idempotent: a finished folder (marked by its .complete file) is reused as is. Fails, saying why,
# if the suite's docker.io is not the engine asked for (e.g. sid moved on to another release).
set -euo pipefail

CACHE=${LOGDRIVER_ENGINES_DIR:-/var/cache/logdriver/engines}
PACKAGES=(docker.io containerd)

log() { printf 'engines: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

suite_of() { # suite_of ENGINE: the Debian suite whose docker.io is that engine
    case "$1" in
        26.1) echo trixie ;;
        28.5) echo sid ;;
        *) die "unknown engine '$1' (known: 26.1 = trixie, 28.5 = sid; 20.10 is the host's docker.io)" ;;
    esac
}

mirror() { # the Debian mirror the machine's own apt sources use (not its security mirror)
    local uri
    uri=$(apt-get indextargets --format '$(LABEL) $(REPO_URI)' 'Created-By: Packages' 2>/dev/null \
        | awk '$1 == "Debian" { print $2; exit }')
    echo "${uri:-http://deb.debian.org/debian/}"
}

fetch() { # fetch ENGINE: make sure $CACHE/ENGINE is complete; print it
    local engine=$1 suite dest work uri keyring have
    suite=$(suite_of "$engine")
    dest=$CACHE/$engine
    if [ -f "$dest/.complete" ]; then
        echo "$dest"
        return
    fi
    [ "$(id -u)" -eq 0 ] || [ -w "$CACHE" ] || die "run as root (writes $CACHE)"
    command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
        || die "apt-get and dpkg-deb are needed (a Debian machine)"
    work=$(mktemp -d "$CACHE/.work-$engine.XXXXXX")
    WORK=$work  # removed on exit, whatever happens
    uri=$(mirror)
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/cache" "$work/root"
    echo "deb [signed-by=$keyring] $uri $suite main" >"$work/sources.list"
    local opts=(
        -o "Dir::Etc::SourceList=$work/sources.list"
        -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::State::Lists=$work/lists"
        -o "Dir::Cache=$work/cache"
        -o "Dir::Cache::Archives=$work/archives"
        -o "APT::Get::List-Cleanup=0"
        -o "APT::Sandbox::User=root"  # _apt cannot enter the root-only work folder
    )
    log "fetching docker.io + containerd of Debian $suite from $uri for engine $engine"
    apt-get -q "${opts[@]}" update >&2 || die "apt-get update of $suite from $uri failed"
    (cd "$work" && apt-get -q "${opts[@]}" download "${PACKAGES[@]}" >&2) \
        || die "apt-get download ${PACKAGES[*]} from $suite failed"
    have=$(dpkg-deb -f "$work"/docker.io_*.deb Version)
    case "$have" in
        "$engine".*) ;;
        *) die "Debian $suite's docker.io is $have, not Docker Engine $engine: update tools/engines.sh" ;;
    esac
    for deb in "$work"/*.deb; do
        dpkg-deb -x "$deb" "$work/root"
        printf '%s %s\n' "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" \
            >>"$work/root/.packages"
    done
    [ -x "$work/root/usr/sbin/dockerd" ] || die "no usr/sbin/dockerd in docker.io of $suite"
    # Keep the host's runc: the unpacked one needs a newer glibc than the host may have.
    rm -f "$work/root/usr/sbin/runc" "$work/root/usr/bin/runc"
    touch "$work/root/.complete"
    rm -rf "$dest"
    mv "$work/root" "$dest"
    rm -rf "$work"
    log "engine $engine ready in $dest: $(tr '\n' ' ' <"$dest/.packages")"
    echo "$dest"
}

[ "$#" -gt 0 ] || die "usage: tools/engines.sh ENGINE... (26.1, 28.5)"
mkdir -p "$CACHE"
WORK=""
trap 'if [ -n "$WORK" ]; then rm -rf "$WORK"; fi' EXIT
# One fetch at a time on this machine (several worktrees may run their tests at once).
exec 9>"$CACHE/.lock"
flock 9
for engine in "$@"; do
    fetch "$engine"
done
