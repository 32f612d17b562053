"""Container output built from one description: the busybox `sh` script that writes it, and the
bytes `docker logs` must print for it, per stream and per phase.

A corpus is a list of steps: `Text(stream, bytes)` (written by printf with octal escapes, so any
byte is possible), `Seq` and `Long` (written by awk, for bulk), and `Sleep`. `expected()` gives what
`docker logs` prints, per stream and per phase (the parts between sleeps of `Sleep.gap=True`): what
the container wrote. `expected(steps, docker_20_10_local=True)` gives instead what Docker 20.10's
`local` driver prints for it, which differs after lines of 16 KiB or more (see `Long.output`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALPHABET = "abcdefghijklmnopqrstuvwxyz"
SPLIT_AT = 16 * 1024  # Docker's copier buffer: longer lines become partial entries
# Why Docker 20.10's `local` driver differs from what the container wrote, and from 26.1 / 28.5.
DOCKER_20_10_LOCAL_GLUES = (
    "Docker 20.10's `local` driver reads a line it stored as partial entries (16 KiB or more) back "
    "without its newline (it adds one only to non-partial entries, not to the piece marked last), "
    "so the next line is glued onto it; 26.1 and 28.5's `local` print what the container wrote, "
    "and so does the plugin on every engine"
)


def _printf_format(data: bytes) -> str:
    """printf format that prints exactly `data` (inside single quotes in sh)."""
    out = []
    for b in data:
        if b == 0x25:  # %
            out.append("%%")
        elif 0x20 <= b <= 0x7E and b not in (0x27, 0x5C):  # printable, not ' or \
            out.append(chr(b))
        else:
            out.append(f"\\{b:03o}")
    return "".join(out)


def _redirect(stream: str) -> str:
    assert stream in ("stdout", "stderr"), stream
    return " >&2" if stream == "stderr" else ""


@dataclass(frozen=True)
class Text:
    stream: str
    data: bytes

    def script(self) -> str:
        return f"printf '{_printf_format(self.data)}'{_redirect(self.stream)}"

    def output(self) -> bytes:
        return self.data


@dataclass(frozen=True)
class Seq:
    """Lines `fmt % i` for i in first..last (fmt: printf format with one %d/%0Nd, ASCII, no ')."""

    stream: str
    fmt: str
    first: int
    last: int

    def script(self) -> str:
        return (
            f"awk 'BEGIN {{ for (i = {self.first}; i <= {self.last}; i++) "
            f'printf "{self.fmt}\\n", i }}\'{_redirect(self.stream)}'
        )

    def output(self) -> bytes:
        return b"".join(((self.fmt % i) + "\n").encode() for i in range(self.first, self.last + 1))


@dataclass(frozen=True)
class Long:
    """One line of `length` bytes, `fill` (default a-z) repeated, then a newline."""

    stream: str
    length: int
    fill: str = ALPHABET  # ASCII letters

    def script(self) -> str:
        return (
            f'awk \'BEGIN {{ s = "{self.fill}"; while (length(s) < {self.length}) s = s s; '
            f"print substr(s, 1, {self.length}) }}'{_redirect(self.stream)}"
        )

    def output(self, docker_20_10_local: bool = False) -> bytes:
        """The line and its newline; with ``docker_20_10_local``, as Docker 20.10's `local`
        driver prints it: no newline if Docker split it (16 KiB or more, DOCKER_20_10_LOCAL_GLUES).
        """
        reps = self.length // len(self.fill) + 1
        line = (self.fill * reps)[: self.length].encode()
        if docker_20_10_local and self.length >= SPLIT_AT:
            return line
        return line + b"\n"


@dataclass(frozen=True)
class Sleep:
    seconds: float
    gap: bool = False  # a phase boundary, for --since/--until

    def script(self) -> str:
        return f"sleep {self.seconds}"


Step = Text | Seq | Long | Sleep


@dataclass
class Expected:
    stdout: bytes = b""
    stderr: bytes = b""
    phases: list[dict[str, bytes]] = field(default_factory=list)

    def stream(self, name: str) -> bytes:
        return self.stdout if name == "stdout" else self.stderr


def script(steps: list[Step]) -> str:
    return "set -e\n" + "\n".join(s.script() for s in steps) + "\n"


def expected(steps: list[Step], docker_20_10_local: bool = False) -> Expected:
    """What the container wrote; with ``docker_20_10_local``, what Docker 20.10's `local` driver
    prints for it (see DOCKER_20_10_LOCAL_GLUES)."""
    exp = Expected()
    phase = {"stdout": b"", "stderr": b""}
    for step in steps:
        if isinstance(step, Sleep):
            if step.gap:
                exp.phases.append(phase)
                phase = {"stdout": b"", "stderr": b""}
            continue
        if isinstance(step, Long):
            phase[step.stream] += step.output(docker_20_10_local)
        else:
            phase[step.stream] += step.output()
    exp.phases.append(phase)
    exp.stdout = b"".join(p["stdout"] for p in exp.phases)
    exp.stderr = b"".join(p["stderr"] for p in exp.phases)
    return exp


# The main corpus of test_docker_logs: two phases around a 2 s gap, then, after a settling pause
# with only stdout written, a tail region whose last entries do not depend on how Docker interleaves
# the two streams (each stream has its own copier goroutine, so the order of entries of stdout and
# stderr written close together differs from run to run: --tail N must reach only into the stdout
# region). From the end: TAIL_LINES short lines, the 40,000-byte line (3 partial entries),
# SETTLED_LINES short lines.
TAIL_LINES = 100
SETTLED_LINES = 10  # stdout lines between the settling pause and the tail region's long line
HEADLINE = "héllo wörld — 日本語".encode()

MAIN: list[Step] = [
    Text("stdout", b"first line on stdout\n"),
    Text("stderr", b"first line on stderr\n"),
    Text("stdout", b"\n"),
    Text("stderr", b"\n"),
    Text("stdout", b"\n\nafter two empty lines\n"),
    Text("stdout", HEADLINE + b"\n"),
    Text("stderr", b"stderr: " + HEADLINE + b"\n"),
    Text("stdout", b"\xff\xfeabc\n"),
    Text("stderr", b"bad utf-8 \xc3\x28 \xa0\xa1 \xf0\x28\x8c\x28 end\n"),
    Text("stdout", b"crlf line\r\nsecond crlf line\r\n"),
    Text("stderr", b"stderr crlf\r\n"),
    Text("stdout", b"lone\rcarriage return\n\r\n"),
    Text("stdout", b"tab\tand trailing spaces   \n"),
    Text("stdout", b"nul\x00byte and \x1b[1mescape\x1b[0m 100% 'quoted' \\backslash\n"),
    Long("stdout", 40 * 1024),  # 16384 + 16384 + 8192: three pieces, the last one closing
    Long("stderr", 20_000),  # 16384 + 3616
    Long("stdout", 16384),  # exactly one buffer: a full partial piece, then an empty closing piece
    Long("stdout", 16383),  # fits one buffer with its newline: one ordinary entry
    Long("stdout", 16385),
    # A long line, then more lines (issue #13): each line comes back as written, newline included.
    Long("stdout", 16384, "b"),
    Text("stdout", b"short\n"),
    Long("stdout", 20_000, "c"),
    Text("stdout", b"end\n"),
    Seq("stdout", "stdout %05d: the quick brown fox jumps over the lazy dog", 1, 5000),
    Seq("stderr", "stderr %05d: pack my box with five dozen liquor jugs", 1, 1000),
    Text("stdout", b"last line before the gap\n"),
    Sleep(2, gap=True),
    Text("stdout", b"first line after the gap\n"),
    Seq("stdout", "stdout %05d: the quick brown fox jumps over the lazy dog", 5001, 10000),
    Seq("stderr", "stderr %05d: pack my box with five dozen liquor jugs", 1001, 2000),
    Text("stderr", b"\xff\xfeabc on stderr\n"),
    Text("stdout", b"\n"),
    Text("stderr", b"last stderr line\n"),
    Sleep(0.5),  # let the stderr copier finish: from here on, stdout only
    Seq("stdout", "settled %02d", 1, SETTLED_LINES),
    Long("stdout", 40_000),
    Seq("stdout", "tail %03d", 1, TAIL_LINES),
]
