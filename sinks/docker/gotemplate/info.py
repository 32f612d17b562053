"""Docker's ``*logger.Info`` as a template's dot: its exported fields and its methods, as moby's
daemon/logger/loginfo.go defines them."""

from __future__ import annotations

from collections.abc import Callable

from ...util.errors import SinkOptionError
from ...util.record import TagInfo
from ..attrs import extra_attributes
from .funcs import FuncError
from .gotime import GoTime, parse_rfc3339
from .values import GoObject, NilMap, NilSlice, Value

SHORT_ID_CHARS = 12  # Info.ID() and Info.ImageID() keep this many leading characters


def _short(value: str) -> str:
    if len(value.encode("utf-8", "surrogateescape")) < SHORT_ID_CHARS:  # Go panics
        raise FuncError(f"runtime error: slice bounds out of range [:{SHORT_ID_CHARS}] with "
                        f"length {len(value)}")
    return value.encode("utf-8", "surrogateescape")[:SHORT_ID_CHARS].decode(
        "utf-8", "surrogateescape")


class Info(GoObject):
    """The template's data: a pointer to logger.Info."""

    go_type = "*logger.Info"

    def __init__(self, info: TagInfo) -> None:
        self.info = info
        self.created: GoTime = parse_rfc3339(info.created)

    def is_pointer(self) -> bool:
        return True

    def _list(self, key: str, values: tuple[str, ...]) -> list[str]:
        return NilSlice() if key in self.info.null_fields else list(values)

    def _map(self, key: str, values: object) -> dict[str, str]:
        items = dict(values)  # type: ignore[call-overload]
        return NilMap() if key in self.info.null_fields else items

    def go_fields(self) -> dict[str, Callable[[], Value]]:
        i = self.info
        return {
            "Config": lambda: self._map("Config", i.config),
            "ContainerID": lambda: i.container_id,
            "ContainerName": lambda: i.container_name,
            "ContainerEntrypoint": lambda: i.entrypoint,
            "ContainerArgs": lambda: self._list("ContainerArgs", i.args),
            "ContainerImageID": lambda: i.image_id,
            "ContainerImageName": lambda: i.image_name,
            "ContainerCreated": lambda: self.created,
            "ContainerEnv": lambda: self._list("ContainerEnv", i.env),
            "ContainerLabels": lambda: self._map("ContainerLabels", i.labels),
            "LogPath": lambda: i.log_path,
            "DaemonName": lambda: i.daemon_name,
        }

    def go_struct(self) -> list[tuple[str, Value]]:
        return [(name, get()) for name, get in self.go_fields().items()]

    def go_methods(self) -> dict[str, tuple[tuple[str, ...], Callable[..., Value]]]:
        i = self.info
        return {
            "ExtraAttributes": (("func",), self._extra_attributes),
            "Hostname": ((), lambda: i.hostname),
            "Command": ((), lambda: " ".join([i.entrypoint, *i.args])),
            "ID": ((), lambda: _short(i.container_id)),
            "FullID": ((), lambda: i.container_id),
            "Name": ((), lambda: i.container_name.removeprefix("/")),
            "ImageID": ((), lambda: _short(i.image_id)),
            "ImageFullID": ((), lambda: i.image_id),
            "ImageName": ((), lambda: i.image_name),
        }

    def _extra_attributes(self, key_mod: object) -> dict[str, str]:
        try:
            return extra_attributes(self.info.config, self.info.labels, self.info.env)
        except SinkOptionError as exc:
            raise FuncError(str(exc)) from None
