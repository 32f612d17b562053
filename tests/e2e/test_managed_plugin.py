"""The managed plugin, built the offline way (plugin/build.sh --offline: debootstrap + pip) and run
by the tests' dockerd: create, enable, log, docker logs, delivery, docker plugin set, disable, rm;
and its lifecycle with containers logging: disable -f / set / enable, `docker plugin upgrade` from
a private registry (Debian's docker-registry), rm -f and a re-create on the same state folder.

The build needs the Debian and PyPI mirrors; this machine class always has them (DEVELOPERS.md),
so a failed build fails the test rather than skipping it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sinks.util.client import FAST_GZIP, GZIP
from tests.fakes import FakeHec

from . import report
from .corpus import MAIN, Long, Seq, Text, script
from .daemon import Daemon, HarnessError
from .helpers import Docker, parse_ts, plugin_command
from .registry import Registry

REPO = Path(__file__).resolve().parents[2]
TOKEN = "managed-plugin-token"
BUILD_TIMEOUT = 900


@pytest.fixture(scope="module")
def bundle(managed: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder `docker plugin create` took the managed plugin from (config.json, rootfs/)."""
    path = tmp_path_factory.getbasetemp() / "plugin-build" / "bundle"
    assert (path / "rootfs").is_dir() and (path / "config.json").is_file(), path
    return path


# A bundle built beforehand (plugin/build.sh --offline --bundle-only, with BUILD_DIR), so that a
# run over several engines builds once; it must hold this tree's code (checked).
BUNDLE_ENV = "LOGDRIVER_E2E_PLUGIN_BUNDLE"


def _stale_files(bundle: Path) -> list[str]:
    """The files of this tree that `bundle` holds in another version: plugin/config.json and every
    module of logdriver/, sinks/ and proto/, and the kernels' .pyx sources (the wheel carries
    them beside their compiled modules; pip copies them into the rootfs's venv unchanged).
    Dependencies are not compared: rebuild after changing pyproject.toml."""
    sites = sorted((bundle / "rootfs" / "opt" / "logdriver" / "lib").glob("python3*/site-packages"))
    if not sites or not (bundle / "config.json").is_file():
        return [f"{bundle} is not a plugin bundle (config.json, rootfs/opt/logdriver)"]
    stale = []
    if (bundle / "config.json").read_bytes() != (REPO / "plugin" / "config.json").read_bytes():
        stale.append("plugin/config.json")
    for pkg in ("logdriver", "sinks", "proto"):
        for src in sorted([*(REPO / pkg).rglob("*.py"), *(REPO / pkg).rglob("*.pyx")]):
            copy = sites[-1] / src.relative_to(REPO)
            if not copy.is_file() or copy.read_bytes() != src.read_bytes():
                stale.append(str(src.relative_to(REPO)))
    return stale


@pytest.fixture(scope="module")
def managed(docker: Docker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The plugin built offline (or taken from $LOGDRIVER_E2E_PLUGIN_BUNDLE) and created
    (disabled) in the tests' daemon; its name."""
    name = f"logdriver-managed-{os.getpid()}"
    build_dir = tmp_path_factory.mktemp("plugin-build", numbered=False)
    prebuilt = os.environ.get(BUNDLE_ENV)
    if prebuilt:
        stale = _stale_files(Path(prebuilt))
        assert not stale, (f"{BUNDLE_ENV}={prebuilt} is not this tree's plugin; rebuild it with "
                           f"BUILD_DIR={prebuilt} plugin/build.sh --offline --bundle-only. "
                           f"Differs: {stale[:10]}")
        # A copy: the tests change config.json and the rootfs for a moment to make versions.
        subprocess.run(["cp", "-a", prebuilt, str(build_dir / "bundle")], check=True, timeout=300)
        docker("plugin", "create", name, str(build_dir / "bundle"), timeout=600)
    else:
        env = {**docker.env, "BUILD_DIR": str(build_dir / "bundle")}
        cp = subprocess.run([str(REPO / "plugin" / "build.sh"), "--offline", name], env=env,
                            capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
        assert cp.returncode == 0, f"plugin/build.sh --offline failed:\n{cp.stdout}\n{cp.stderr}"
    try:
        yield name
    finally:
        docker.remove_all_containers()
        docker("plugin", "disable", "-f", name, check=False, timeout=120)
        docker("plugin", "rm", "-f", name, check=False, timeout=120)


def _plugin_id(docker: Docker, name: str) -> str:
    return docker("plugin", "inspect", "-f", "{{.Id}}", name).stdout.decode().strip()


def _plugin_log(dockerd: Daemon, plugin_id: str) -> str:
    return "\n".join(line for line in dockerd.log_path.read_text(errors="replace").splitlines()
                     if f"plugin={plugin_id}" in line)


def test_managed_plugin_lifecycle(docker: Docker, dockerd: Daemon, managed: str,
                                  tmp_path: Path) -> None:
    name = managed
    state = tmp_path / "state"
    state.mkdir()
    # The state dir is a host folder: history and cursors outlive the plugin.
    docker("plugin", "set", name, f"state.source={state}")
    with FakeHec(TOKEN) as hec:
        docker("plugin", "set", name, f"SPLUNK_TOKEN={TOKEN}")
        docker("plugin", "enable", "--timeout", "0", name, timeout=120)
        n = 3000
        c = docker.run_container(name, script([Seq("stdout", "line %06d", 1, n)]),
                                 {"splunk-url": hec.url, "splunk-verify-connection": "false",
                                  "batch-wait": "100ms"})
        assert docker.wait(c) == 0
        want = [f"line {i:06d}" for i in range(1, n + 1)]
        out, err = docker.logs(c)
        assert out.decode().splitlines() == want and err == b""
        hec.wait_for(lambda: len(hec.events) >= n, 60, what="every line at the HEC")
        time.sleep(0.5)
        assert hec.lines() == want
        # The token came from the plugin's settings, not from the container's options.
        assert TOKEN not in json.dumps(docker.inspect(c)["HostConfig"]["LogConfig"])
        # `logdriver status` finds a managed plugin's socket by the plugin's name.
        cid = docker.inspect(c)["Id"]
        status = subprocess.run([*plugin_command(), "status", "--name", name, "--json"],
                                env=docker.env, capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        (row,) = [r for r in json.loads(status.stdout)["containers"] if r["id"] == cid]
        assert row["received_lines"] == n
        # The managed plugin carries the compiled build: both processes run every kernel
        # compiled (plugin/build.sh --offline built the wheel on the host).
        _assert_kernels(_kernels(docker, name), "compiled")
        compiled = _corpus_through(docker, name, hec)

        # docker plugin set of an environment value: disable, set, enable; the plugin's own log
        # (dockerd's log, tagged with the plugin's id) shows the new level at work.
        pid = _plugin_id(docker, name)
        assert "DEBUG logdriver" not in _plugin_log(dockerd, pid)
        docker("plugin", "disable", name, timeout=120)
        docker("plugin", "set", name, "LOG_LEVEL=debug", "LOGDRIVER_NO_EXTENSIONS=1")
        docker("plugin", "enable", "--timeout", "0", name, timeout=120)
        env = docker("plugin", "inspect", "-f", "{{json .Settings.Env}}", name).stdout.decode()
        assert "LOG_LEVEL=debug" in env
        # LOGDRIVER_NO_EXTENSIONS=1: the pure-Python twins, in both processes, deliver and
        # store the same bytes as the compiled ones did.
        _assert_kernels(_kernels(docker, name), "pure")
        assert _corpus_through(docker, name, hec) == compiled
        assert "DEBUG logdriver.app: settings" in _plugin_log(dockerd, pid)
        # History kept in the host folder is still served after the plugin restarted.
        out, _ = docker.logs(c, "--tail", "2")
        assert out.decode().splitlines() == want[-2:]
        assert any(state.rglob("*.log"))
        docker.remove(c)

    docker("plugin", "disable", name, timeout=120)
    docker("plugin", "rm", name, timeout=120)
    listed = docker("plugin", "ls", "-q", "--no-trunc").stdout.decode().split()
    assert pid not in listed
    assert not Path(f"/run/docker/plugins/{pid}").exists()


def _kernels(docker: Docker, name: str) -> dict[str, Any]:
    """`logdriver status --json`'s kernels, once the shipper has sent its report (it does when
    it starts, a moment after the plugin; within 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        cp = subprocess.run([*plugin_command(), "status", "--name", name, "--json"],
                            env=docker.env, capture_output=True, text=True, timeout=60)
        assert cp.returncode == 0, cp.stderr
        kernels: dict[str, Any] = json.loads(cp.stdout)["kernels"]
        if kernels["shipper"] is not None or time.monotonic() > deadline:
            return kernels
        time.sleep(0.5)


def _assert_kernels(kernels: dict[str, Any], twin: str) -> None:
    """Both processes report every kernel of this tree (one per .pyx, and zlib-ng and igzip:
    gzip's compiled twins) running ``twin``."""
    expected = {".".join(p.relative_to(REPO).with_suffix("").parts)
                for pkg in ("logdriver", "sinks") for p in (REPO / pkg).rglob("*.pyx")}
    expected |= {GZIP.name, FAST_GZIP.name}
    for process in ("plugin", "shipper"):
        rep = kernels[process]
        assert rep is not None, f"the {process} process reported no kernels"
        assert set(rep["kernels"]) == expected, process
        assert set(rep["kernels"].values()) <= {twin}, (process, rep)
        if twin == "compiled":
            assert rep["why"] == {}, (process, rep["why"])
        else:
            assert set(rep["why"].values()) <= {"LOGDRIVER_NO_EXTENSIONS is set"}, rep["why"]


# stdout only (one stream keeps its order): odd bytes, CRLF, long lines joined from Docker's
# partial entries, plain lines.
KERNEL_CORPUS = [s for s in MAIN if isinstance(s, Text | Long | Seq) and s.stream == "stdout"]


def _corpus_through(docker: Docker, plugin: str, hec: FakeHec) -> tuple[bytes, list[Any]]:
    """KERNEL_CORPUS logged through the plugin: `docker logs`, and the events the HEC received
    (less their time, Docker's timestamp of each line)."""
    before = len(hec.events)
    c = docker.run_container(plugin, script(KERNEL_CORPUS),
                             {"splunk-url": hec.url, "splunk-verify-connection": "false",
                              "batch-wait": "100ms", "tag": "kernels"})
    assert docker.wait(c) == 0
    out, err = docker.logs(c)
    assert out == b"".join(s.output() for s in KERNEL_CORPUS) and err == b""
    last = out.splitlines()[-1].decode()
    hec.wait_for(lambda: last in hec.lines()[before:], 60, what="the corpus at the HEC")
    time.sleep(0.5)
    events = [{k: v for k, v in e.items() if k != "time"} for e in hec.events[before:]]
    assert events[-1]["event"]["line"] == last and len(events) > 10000
    docker.remove(c)
    return out, events


# -- the lifecycle with containers logging -------------------------------------------------------
STOP_FILE = "/tmp/stop"
# Numbered lines ("PREFIX 000001" + padding), `burst` at a time every 0.1 s, until STOP_FILE
# exists; then "PREFIX done N".
WRITER = ("i=0; while [ ! -e {stop} ]; do j=0; while [ $j -lt {burst} ]; do i=$((i+1)); "
          "printf '{prefix} %06d{pad}\\n' $i; j=$((j+1)); done; sleep 0.1; done; "
          "echo '{prefix} done' $i")


def _pad(prefix: str, pad: int) -> str:
    return (" " + prefix * pad)[:pad] if pad else ""


def _writer(prefix: str, burst: int = 10, pad: int = 0) -> str:
    return WRITER.format(stop=STOP_FILE, burst=burst, prefix=prefix, pad=_pad(prefix, pad))


def _expected(prefix: str, out: bytes, pad: int = 0) -> list[str]:
    """What a writer wrote, from its own last line ("PREFIX done N")."""
    lines = out.decode().splitlines()
    assert lines and lines[-1].startswith(f"{prefix} done "), (
        f"{prefix}: the writer's last line is missing from docker logs: {lines[-3:]}")
    n = int(lines[-1].split()[-1])
    tail = _pad(prefix, pad)
    return [f"{prefix} {i:06d}{tail}" for i in range(1, n + 1)] + [f"{prefix} done {n}"]


def _stop_writers(docker: Docker, *names: str) -> None:
    for c in names:
        docker("exec", c, "touch", STOP_FILE, timeout=60)
    for c in names:
        assert docker.wait(c, timeout=120) == 0


def _largest_gap(docker: Docker, c: str) -> float:
    """Seconds between the two most distant consecutive lines, by Docker's own timestamps (taken
    when dockerd read the line from the container): how long the container was held up."""
    out, _ = docker.logs(c, "-t")
    times = [parse_ts(line.split(b" ", 1)[0]) for line in out.splitlines()]
    return max((b - a for a, b in zip(times, times[1:], strict=False)), default=0) / 1e9


def _check_delivered(docker: Docker, hec: FakeHec, prefixes: dict[str, str], what: str,
                     note: str = "", pads: dict[str, int] | None = None) -> None:
    """Every line of each writer (container -> prefix) in `docker logs` and at the HEC, once.
    `pads`: prefix -> the padding its writer was given."""
    wants = {}
    for c, prefix in prefixes.items():
        out, err = docker.logs(c)
        want = _expected(prefix, out, (pads or {}).get(prefix, 0))
        assert out.decode().splitlines() == want and err == b"", f"docker logs {c}"
        wants[prefix] = want
    total = sum(len(w) for w in wants.values())
    hec.wait_for(lambda: len(hec.events) >= total, 90, what=f"{total} lines at the HEC")
    time.sleep(1.0)
    got = hec.lines()
    for prefix, want in wants.items():
        mine = [line for line in got if line.startswith(prefix + " ")]
        distinct = set(mine)
        report.record(what, f"{prefix}: {len(want)} lines", written=len(want),
                      delivered=len(distinct & set(want)), duplicated=len(mine) - len(distinct),
                      dropped=len(set(want) - distinct), note=note)
        assert mine == want, f"{prefix}: HEC got {len(mine)} ({len(distinct)} distinct) of " \
                             f"{len(want)}; first missing: {sorted(set(want) - distinct)[:3]}"


def _sink_opts(hec: FakeHec) -> dict[str, str]:
    return {"splunk-url": hec.url, "splunk-verify-connection": "false", "batch-wait": "100ms"}


def _enable(docker: Docker, name: str) -> None:
    docker("plugin", "enable", "--timeout", "0", name, timeout=120)


def test_disable_set_enable_while_logging(docker: Docker, bundle: Path, tmp_path: Path) -> None:
    """`docker plugin disable -f`, `set`, `enable` with three containers logging: every line is
    kept (store, docker logs, HEC, once each); the containers are held up at most while the
    plugin is down. Two write ~100 short lines/s (the 1 MiB pipe the plugin asked for holds
    minutes of that); "gamma" writes ~1000 lines of 250 bytes per second, which fills the pipe
    within seconds of the disable, so it is held up until the enable."""
    name = f"logdriver-dse-{os.getpid()}"
    state = tmp_path / "state"
    state.mkdir()
    _create_version(docker, bundle, name, "dse")
    writers: dict[str, str] = {}
    try:
        docker("plugin", "set", name, f"state.source={state}", f"SPLUNK_TOKEN={TOKEN}")
        with FakeHec(TOKEN) as hec:
            _enable(docker, name)
            writers = {docker.run_container(name, _writer(p), _sink_opts(hec)): p
                       for p in ("alpha", "beta")}
            pads = {"gamma": 250}
            writers[docker.run_container(name, _writer("gamma", 100, pads["gamma"]),
                                         _sink_opts(hec))] = "gamma"
            time.sleep(3)
            t0 = time.monotonic()
            docker("plugin", "disable", "-f", name, timeout=120)
            docker("plugin", "set", name, "LOGDRIVER_BATCH_WAIT=200ms")
            time.sleep(3)
            _enable(docker, name)
            down = time.monotonic() - t0
            time.sleep(3)
            _stop_writers(docker, *writers)
            gaps = {c: _largest_gap(docker, c) for c in writers}
            shown = ", ".join(f"{writers[c]} {g:.2f} s" for c, g in gaps.items())
            _check_delivered(docker, hec, writers, "managed: disable -f / set / enable",
                             note=f"plugin down {down:.1f} s; largest gap in the containers' "
                                  f"output: {shown}", pads=pads)
            for c, gap in gaps.items():
                assert gap <= down + 1.0, f"{c} held up {gap:.1f} s, the plugin was down {down:.1f}"
    finally:
        docker.remove(*writers)
        docker("plugin", "disable", "-f", name, check=False, timeout=120)
        docker("plugin", "rm", "-f", name, check=False, timeout=120)


def _create_version(docker: Docker, bundle: Path, ref: str, mark: str,
                    default_state: Path | None = None) -> None:
    """`docker plugin create ref bundle` with the version `mark` in it: in the description, in
    the entrypoint's environment (LOGDRIVER_E2E_MARK, to tell the versions apart in /proc) and in
    a file of the rootfs (a plugin whose rootfs layer is already in the daemon's content store
    cannot be created: "content sha256:...: already exists", seen on 20.10). `default_state`: the
    state mount's default source (so that a lost setting lands in a folder of the test)."""
    original = (bundle / "config.json").read_text()
    config = json.loads(original)
    config["description"] += f" ({mark})"
    config["entrypoint"] = ["/usr/bin/env", f"LOGDRIVER_E2E_MARK={mark}", *config["entrypoint"]]
    if default_state is not None:
        (mount,) = [m for m in config["mounts"] if m["name"] == "state"]
        mount["source"] = str(default_state)
    mark_file = bundle / "rootfs" / "etc" / "logdriver-e2e-mark"
    try:
        (bundle / "config.json").write_text(json.dumps(config))
        mark_file.write_text(f"{mark} {time.time_ns()}\n")
        docker("plugin", "create", ref, str(bundle), timeout=600)
    finally:
        (bundle / "config.json").write_text(original)
        mark_file.unlink(missing_ok=True)


def _plugin_processes(plugin_id: str) -> dict[int, str]:
    """pid -> LOGDRIVER_E2E_MARK ("" if none) of this plugin's processes: its containerd shim
    (`-id <plugin id>`) and what runs in the plugin's cgroup (named by the plugin id)."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cgroup = Path(f"/proc/{pid}/cgroup").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"/{plugin_id}" not in cgroup and plugin_id.encode() not in cmdline:
            continue
        marks = [e.split(b"=", 1)[1].decode() for e in env if e.startswith(b"LOGDRIVER_E2E_MARK=")]
        found[int(pid)] = marks[0] if marks else ""
    return found


def _marks(plugin_id: str) -> set[str]:
    """The marks of the plugin's own processes (not the shim's, which has none)."""
    return {m for m in _plugin_processes(plugin_id).values() if m}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = Registry(tmp_path / "registry")
    try:
        reg.start()
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield reg
    finally:
        reg.stop()


def test_upgrade_while_logging(docker: Docker, bundle: Path, registry: Registry,
                               tmp_path: Path) -> None:
    """v1 and v2 pushed to a private registry; v1 installed with a custom state.source; a
    container logs steadily through `disable -f`, `upgrade` to v2 and `enable`. Docker drops the
    mount setting on upgrade: the plugin refuses the wrong state folder (a clear error, nothing
    read, nothing written there), the operator sets state.source again and enables; then every
    line written before, during and after is in the store, at the HEC (once) and in docker logs."""
    repo = f"{registry.address}/logdriver-e2e"
    default_state = tmp_path / "default-state"  # the version's default state.source
    default_state.mkdir()
    state = tmp_path / "state"
    state.mkdir()
    name = f"logdriver-upgrade-{os.getpid()}"
    for mark in ("v1", "v2"):
        _create_version(docker, bundle, f"{repo}:{mark}", mark, default_state)
        docker("plugin", "push", f"{repo}:{mark}", timeout=600)
        docker("plugin", "rm", f"{repo}:{mark}", timeout=120)
    docker("plugin", "install", "--grant-all-permissions", "--disable", "--alias", name,
           f"{repo}:v1", f"state.source={state}", f"SPLUNK_TOKEN={TOKEN}", timeout=600)
    writer = ""
    try:
        with FakeHec(TOKEN) as hec:
            _enable(docker, name)
            pid = _plugin_id(docker, name)
            assert _marks(pid) == {"v1"}
            writer = docker.run_container(name, _writer("up"), _sink_opts(hec))
            time.sleep(3)
            t0 = time.monotonic()
            docker("plugin", "disable", "-f", name, timeout=120)
            # --skip-remote-check: the CLI otherwise asks because the tag differs from v1's.
            docker("plugin", "upgrade", "--grant-all-permissions", "--skip-remote-check", name,
                   f"{repo}:v2", timeout=600)
            t_upgraded = time.monotonic()
            # What Docker does on upgrade: inspect still shows the setting, the mount is reset.
            shown = json.loads(docker("plugin", "inspect", "-f", "{{json .Settings.Mounts}}",
                                      name).stdout)
            assert [m["Source"] for m in shown if m["Name"] == "state"] == [str(state)]
            _enable(docker, name)
            assert _marks(pid) == {"v2"}
            # The plugin refuses the folder the upgrade mounted, and says what to do.
            cp = docker("run", "--rm", "--network", "none", "--log-driver", name, docker.image,
                        "true", check=False)
            assert cp.returncode != 0 and b"state.source" in cp.stderr, cp.stderr
            cp = docker("logs", writer, check=False)
            assert cp.returncode != 0 and b"state.source" in cp.stderr, cp.stderr
            assert list(default_state.iterdir()) == [], "the plugin wrote into the wrong folder"
            # The operator's step, as the error says.
            docker("plugin", "disable", "-f", name, timeout=120)
            docker("plugin", "set", name, f"state.source={state}")
            _enable(docker, name)
            down = time.monotonic() - t0
            time.sleep(3)
            late = docker.run_container(name, _writer("late"), _sink_opts(hec))
            time.sleep(2)
            _stop_writers(docker, writer, late)
            gap = _largest_gap(docker, writer)
            _check_delivered(docker, hec, {writer: "up", late: "late"},
                             "managed: upgrade while logging",
                             note=f"down {down:.1f} s (upgrade {t_upgraded - t0:.1f} s), "
                                  f"largest gap {gap:.2f} s")
            assert gap <= down + 1.0
            assert list(default_state.iterdir()) == []
            docker.remove(writer, late)
    finally:
        if writer:
            docker.remove(writer)
        docker("plugin", "disable", "-f", name, check=False, timeout=120)
        docker("plugin", "rm", "-f", name, check=False, timeout=120)


def _mounts_naming(text: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.strip() for line in f if text in line]


def test_rm_leaves_nothing_and_recreate_resumes(docker: Docker, dockerd: Daemon, bundle: Path,
                                                tmp_path: Path) -> None:
    """`docker plugin rm -f` of an enabled plugin leaves no mount, process or file outside the
    state folder; the same plugin created again on that folder serves the old history and
    delivers what was not yet delivered, without sending again what was."""
    name = f"logdriver-rm-{os.getpid()}"
    state = tmp_path / "state"
    state.mkdir()

    def create(mark: str) -> str:
        _create_version(docker, bundle, name, mark)
        docker("plugin", "set", name, f"state.source={state}", f"SPLUNK_TOKEN={TOKEN}")
        _enable(docker, name)
        return _plugin_id(docker, name)

    data = dockerd.root / "data" / "plugins"
    before = {p.name for p in data.iterdir()} if data.exists() else set()
    try:
        with FakeHec(TOKEN) as hec:
            pid = create("first")
            n = 500
            sent = docker.run_container(name, script([Seq("stdout", "sent %06d", 1, n)]),
                                        _sink_opts(hec))
            assert docker.wait(sent) == 0
            hec.wait_for(lambda: len(hec.events) >= n, 60, what="the first container's lines")
            # The HEC goes down: the second container's lines stay in the store, undelivered.
            hec.fail_with(503, {"text": "Server is busy", "code": 9})
            held = docker.run_container(name, script([Seq("stdout", "held %06d", 1, n)]),
                                        _sink_opts(hec))
            assert docker.wait(held) == 0
            time.sleep(1)
            assert _plugin_processes(pid)

            docker("plugin", "rm", "-f", name, timeout=120)
            leftovers = {
                "plugin folder": (data / pid).exists(),
                "exec folder": any(dockerd.exec_root.rglob(f"*{pid}*")),
                "socket folder": Path(f"/run/docker/plugins/{pid}").exists(),
                "mounts": _mounts_naming(pid),
                "processes": _plugin_processes(pid),
                "new folders under plugins/": sorted({p.name for p in data.iterdir()} - before
                                                     - {"tmp", "storage"}),
            }
            assert not any(leftovers.values()), leftovers

            hec.clear_faults()
            create("again")
            out, _ = docker.logs(sent)
            assert out.decode().splitlines() == [f"sent {i:06d}" for i in range(1, n + 1)]
            out, _ = docker.logs(held)
            assert out.decode().splitlines() == [f"held {i:06d}" for i in range(1, n + 1)]
            hec.wait_for(lambda: len(hec.events) >= 2 * n, 60, what="the held lines")
            time.sleep(1.5)
            got = hec.lines()
            report.record("managed: rm -f, create again on the same state", f"2 x {n} lines",
                          written=2 * n, delivered=len(set(got)),
                          duplicated=len(got) - len(set(got)),
                          dropped=2 * n - len(set(got)))
            assert got == ([f"sent {i:06d}" for i in range(1, n + 1)]
                           + [f"held {i:06d}" for i in range(1, n + 1)])
            docker.remove(sent, held)
    finally:
        docker("plugin", "disable", "-f", name, check=False, timeout=120)
        docker("plugin", "rm", "-f", name, check=False, timeout=120)
