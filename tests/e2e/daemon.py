"""An isolated Docker daemon and the busybox test image: shared by the end-to-end tests (through
conftest.py) and the benchmark (bench/run.py). Standard library only.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .helpers import Docker, tail_of, terminate

REPO = Path(__file__).resolve().parents[2]
# The Docker Engine the suite runs on: "20.10" (the host's docker.io, /usr/sbin/dockerd), "26.1" or
# "28.5" (Debian trixie's / sid's docker.io + containerd, unpacked by tools/engines.sh); unset:
# whatever `dockerd` is (LOGDRIVER_E2E_DOCKERD, else PATH), its version not checked.
ENGINE_ENV = "LOGDRIVER_E2E_ENGINE"
HOST_ENGINE = "20.10"
UNPACKED_ENGINES = ("26.1", "28.5")
DOCKERD_FLAGS = ["--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=vfs"]
IMAGE = "logdriver-e2e:bb"
BUSYBOX = Path(os.environ.get("LOGDRIVER_E2E_BUSYBOX", "/bin/busybox"))
APPLETS = "sh echo cat seq printf sleep awk head yes true test [ date touch ls wc tr env".split()
# Where the daemon makes the log FIFOs of plugin-driven containers.
FIFO_DIR = "/run/docker/logging/"
SETUP_HINT = "run `bash tools/setup.sh` as root (installs docker.io and busybox-static)"



class HarnessError(RuntimeError):
    """The real thing (dockerd, the image) cannot be had: the message says why."""


@dataclass(frozen=True)
class Engine:
    """One Docker Engine to test on: its dockerd and the PATH its process gets."""

    name: str  # "20.10", "26.1", "28.5"; "" = whatever dockerd was found, version unchecked
    dockerd: str
    path: str  # PATH of dockerd's process: where it finds containerd, the shim, runc, docker-init
    folder: Path | None = None  # the unpacked packages (tools/engines.sh), None for the host's

    def packages(self) -> dict[str, str]:
        """Debian package -> version of an unpacked engine (empty for the host's)."""
        if self.folder is None:
            return {}
        pairs = (line.split() for line in (self.folder / ".packages").read_text().splitlines())
        return {p[0]: p[1] for p in pairs if len(p) == 2}


@functools.cache
def engine(name: str | None = None) -> Engine:
    """The engine called ``name`` (default: $LOGDRIVER_E2E_ENGINE). Unpacks 26.1 / 28.5 with
    tools/engines.sh on first use (cached on disk). Raises HarnessError saying why it cannot."""
    name = os.environ.get(ENGINE_ENV, "") if name is None else name
    path = os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    if name == "":
        found = (os.environ.get("LOGDRIVER_E2E_DOCKERD") or shutil.which("dockerd")
                 or "/usr/sbin/dockerd")
        return Engine("", found, path)
    if name == HOST_ENGINE:
        return Engine(name, "/usr/sbin/dockerd", path)
    if name not in UNPACKED_ENGINES:
        raise HarnessError(f"{ENGINE_ENV}={name!r} is no engine the suite knows: "
                           f"{', '.join((HOST_ENGINE, *UNPACKED_ENGINES))}")
    script = REPO / "tools" / "engines.sh"
    try:
        cp = subprocess.run(["bash", str(script), name], capture_output=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise HarnessError(f"Docker Engine {name} cannot be had: {script} {name}: {e}") from e
    if cp.returncode != 0:
        raise HarnessError(
            f"Docker Engine {name} cannot be had: `{script} {name}` exited {cp.returncode}:\n"
            + cp.stderr.decode(errors="replace")[-4000:])
    folder = Path(cp.stdout.decode().strip().splitlines()[-1])
    dockerd = folder / "usr" / "sbin" / "dockerd"
    if not os.access(dockerd, os.X_OK):
        raise HarnessError(f"Docker Engine {name}: {dockerd} is missing ({script} {name})")
    # The unpacked containerd, shim, docker-init and docker-proxy first; runc from the host.
    return Engine(name, str(dockerd), f"{folder}/usr/sbin:{folder}/usr/bin:{path}", folder)


def _mounts_under(root: Path) -> list[str]:
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == str(root) or point.startswith(str(root) + "/"):
                points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def unmount_all(root: Path) -> None:
    for point in _mounts_under(root):
        subprocess.run(["umount", "-R", "-l", point], capture_output=True, timeout=60)


class Daemon:
    def __init__(
        self, root: Path, config: Mapping[str, object] | None = None, eng: Engine | None = None
    ) -> None:
        """A dockerd of ``eng`` (default: ``engine()``, the suite's) under ``root``; raises
        HarnessError if that engine cannot be had."""
        self.engine = eng or engine()
        self.root = root
        self.config = dict(config or {})  # daemon.json
        self.sock = root / "docker.sock"
        self.host = f"unix://{self.sock}"
        self.log_path = root / "dockerd.log"
        self.pidfile = root / "docker.pid"
        self.exec_root = root / "exec"
        self.proc: subprocess.Popen[bytes] | None = None
        self.versions: dict[str, str] = {}  # from `docker version`, once started
        # One namespace per daemon (a test may run a second one); containerd allows only
        # [A-Za-z0-9] runs joined by single separators, so the root is named by a hash.
        ns = f"logdriver-e2e-{os.getpid()}-{zlib.crc32(str(root).encode()):08x}"
        self.cmd = [
            self.engine.dockerd,
            *DOCKERD_FLAGS,
            "--data-root",
            str(root / "data"),
            "--exec-root",
            str(self.exec_root),
            "-H",
            self.host,
            "--pidfile",
            str(self.pidfile),
            "--config-file",
            str(root / "daemon.json"),
            # If a system containerd runs, dockerd uses it: keep our objects apart from others'.
            "--containerd-namespace",
            ns,
            "--containerd-plugins-namespace",
            f"{ns}-plugins",
        ]

    def start(self, docker: Docker, timeout: float = 60) -> None:
        (self.root / "daemon.json").write_text(json.dumps(self.config) + "\n")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.cmd,
                env={**os.environ, "PATH": self.engine.path},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        last = b""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(
                    f"dockerd exited with code {self.proc.returncode} at start-up.\n"
                    f"command: {' '.join(self.cmd)}\nits log:\n{tail_of(self.log_path, 6000)}"
                )
            cp = docker("info", "--format", "{{.ServerVersion}}", check=False, timeout=20)
            if cp.returncode == 0:
                try:
                    self.check_engine(docker)
                except HarnessError:
                    self.stop()
                    raise
                return
            last = cp.stderr
            time.sleep(0.25)
        self.stop()
        raise HarnessError(
            f"dockerd did not answer `docker info` within {timeout} s (last: {last!r}).\n"
            f"command: {' '.join(self.cmd)}\nits log:\n{tail_of(self.log_path, 6000)}"
        )

    def check_engine(self, docker: Docker) -> dict[str, str]:
        """The running daemon's versions (``dockerd``, ``containerd``, ``runc``, from `docker
        version`), kept in ``self.versions``. Raises HarnessError if it is not the engine asked
        for: another dockerd version, or another containerd than the unpacked one (a containerd
        already serving /run/containerd/containerd.sock is used by dockerd instead of its own)."""
        server = json.loads(docker("version", "--format", "{{json .Server}}", timeout=30).stdout)
        got = {"dockerd": str(server.get("Version", ""))}
        for comp in server.get("Components") or []:
            if str(comp.get("Name", "")).lower() in ("containerd", "runc"):
                got[comp["Name"].lower()] = str(comp.get("Version", ""))
        name = self.engine.name
        if name and not got["dockerd"].startswith(name + "."):
            raise HarnessError(
                f"{ENGINE_ENV}={name} asked for Docker Engine {name}, but {self.engine.dockerd} "
                f"answers `docker version` with {got['dockerd']!r}")
        want = re.split(r"[~+-]", self.engine.packages().get("containerd", ""))[0]
        if want and not got.get("containerd", "").startswith(want):
            raise HarnessError(
                f"Docker Engine {name} runs with containerd {got.get('containerd')!r}, not the "
                f"unpacked {want} of {self.engine.folder} (does a system containerd serve "
                "/run/containerd/containerd.sock? dockerd then uses it instead of its own)")
        self.versions = got
        return got

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            pid = self.proc.pid
            if terminate(self.proc, 45, lambda: print(
                    f"e2e: dockerd {pid} ignored SIGTERM for 45 s: SIGKILL", file=sys.stderr)
            ) is None:
                self._kill_its_containerd()

    def _kill_its_containerd(self) -> None:
        pidfile = self.exec_root / "containerd" / "containerd.pid"
        try:
            pid = int(pidfile.read_text().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if str(self.exec_root).encode() in f.read():
                    os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass

    def cleanup(self) -> None:
        """After stop(): unmount what the daemon left under its root and remove the root."""
        unmount_all(self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def is_static_elf(path: Path) -> bool:
    """True if `path` is an ELF executable with no program interpreter (statically linked)."""
    with open(path, "rb") as f:
        data = f.read(1 << 16)
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit only, as on this machine
        return False
    end = "<" if data[5] == 1 else ">"
    (phoff,) = struct.unpack_from(end + "Q", data, 0x20)
    phentsize, phnum = struct.unpack_from(end + "HH", data, 0x36)
    for i in range(phnum):
        (p_type,) = struct.unpack_from(end + "I", data, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP
            return False
    return True


def rootfs_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("bin", "tmp", "etc", "proc", "sys", "dev"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        tar.add(str(BUSYBOX), arcname="bin/busybox")
        for applet in APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            info.mode = 0o777
            tar.addfile(info)
    return buf.getvalue()


def build_image(docker: Docker) -> str:
    """Import the busybox image into ``docker``'s daemon and check it runs; returns its tag."""
    if not BUSYBOX.exists():
        raise HarnessError(f"{BUSYBOX} is missing: {SETUP_HINT}.")
    if not is_static_elf(BUSYBOX):
        raise HarnessError(f"{BUSYBOX} is not a static binary (is `busybox` installed instead of "
                           f"`busybox-static`?): {SETUP_HINT}.")
    try:
        docker("import", "-", IMAGE, input=rootfs_tar(), timeout=120)
        docker("run", "--rm", "--network", "none", "--log-driver", "none", IMAGE,
               "sh", "-c", "true", timeout=120)
    except AssertionError as e:
        raise HarnessError(f"the busybox test image cannot be built or run: {e}") from e
    return IMAGE
