"""The plain values a sink sees: one container's context, one log record, and tag-template input."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Context:
    """One container, fixed for its life."""

    container_id: str  # 64 hex
    container_name: str  # without the leading "/"
    image_name: str
    image_id: str  # "sha256:..."
    hostname: str  # the daemon host's name
    daemon_name: str
    tag: str  # the rendered `tag` template
    attrs: Mapping[str, str]  # from labels / labels-regex / env / env-regex
    created: str = ""  # ContainerCreated, RFC 3339
    info: TagInfo | None = None  # all of StartLogging's Info (Loki's label templates use it)


class Record(NamedTuple):
    """One log event: one original line, partial pieces already joined by the caller.

    A NamedTuple, not a frozen dataclass: one is made per line on the delivery path, and a
    tuple is several times cheaper to build."""

    time_ns: int
    source: str  # "stdout" | "stderr"
    line: bytes  # no trailing newline; may be invalid UTF-8
    partial: bool = False  # True if the caller had to cut the line (partial-max-size)


class Records:
    """Records as columns: the delivery hot path fills and encodes them without a tuple per
    record. Iterating gives ``Record`` values."""

    __slots__ = ("times", "sources", "lines", "partial")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.sources: list[str] = []
        self.lines: list[bytes] = []
        self.partial: list[bool] = []

    @classmethod
    def of(cls, recs: Iterable[Record]) -> Records:
        out = cls()
        for rec in recs:
            out.append(rec)
        return out

    def append(self, rec: Record) -> None:
        self.times.append(rec.time_ns)
        self.sources.append(rec.source)
        self.lines.append(rec.line)
        self.partial.append(rec.partial)

    def extend_whole(self, times: Iterable[int], sources: Iterable[str],
                     lines: Sequence[bytes]) -> None:
        """Append whole (not ``partial``) lines given as columns."""
        self.times += times
        self.sources += sources
        self.lines += lines
        self.partial += repeat(False, len(lines))

    def __len__(self) -> int:
        return len(self.lines)

    def __iter__(self) -> Iterator[Record]:
        return map(Record, self.times, self.sources, self.lines, self.partial)


@dataclass(frozen=True, slots=True)
class TagInfo:
    """What Docker's ``logger.Info`` offers a ``tag`` template (see ``sinks.docker.template``)."""

    container_id: str
    container_name: str  # as Docker sends it: "/name"
    image_id: str  # "sha256:..."
    image_name: str
    daemon_name: str = "docker"
    hostname: str = ""
    entrypoint: str = ""
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()  # "K=V"
    labels: Mapping[str, str] = field(default_factory=dict)
    log_path: str = ""
    created: str = ""  # RFC 3339 with nanoseconds, as Docker's JSON gives time.Time
    config: Mapping[str, str] = field(default_factory=dict)  # the log-opts (Info.Config)
    # Which of ContainerArgs, ContainerEnv, ContainerLabels, Config Docker sent as null (a Go
    # nil slice or map: the template's json func writes null for it, not [] or {})
    null_fields: frozenset[str] = frozenset()

    @classmethod
    def from_docker_info(cls, info: Mapping[str, object], *, hostname: str) -> TagInfo:
        """Build from StartLogging's ``Info`` object (null lists and maps allowed)."""

        def text(key: str) -> str:
            value = info.get(key)
            return value if isinstance(value, str) else ""

        def strings(key: str) -> tuple[str, ...]:
            value = info.get(key)
            if not isinstance(value, list):
                return ()
            return tuple(v for v in value if isinstance(v, str))

        def mapping(key: str) -> dict[str, str]:
            value = info.get(key)
            if not isinstance(value, Mapping):
                return {}
            return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}

        null_fields = frozenset(key for key in ("ContainerArgs", "ContainerEnv",
                                                "ContainerLabels", "Config")
                                if info.get(key) is None)
        return cls(
            container_id=text("ContainerID"),
            container_name=text("ContainerName"),
            image_id=text("ContainerImageID"),
            image_name=text("ContainerImageName"),
            daemon_name=text("DaemonName"),
            hostname=hostname,
            entrypoint=text("ContainerEntrypoint"),
            args=strings("ContainerArgs"),
            env=strings("ContainerEnv"),
            labels=mapping("ContainerLabels"),
            log_path=text("LogPath"),
            created=text("ContainerCreated"),
            config=mapping("Config"),
            null_fields=null_fields,
        )
