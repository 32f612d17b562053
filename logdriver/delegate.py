"""Attributes read (and written) through to an object the owner holds: ``self.<holder>.<name>``."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Delegate(Generic[T]):
    """A read-only attribute that reads ``self.<holder>.<name>`` (``name``: the attribute's own
    name unless given), e.g. ``retries = Delegate[int]("totals")`` in place of a property that
    returns ``self.totals.retries``."""

    def __init__(self, holder: str, name: str | None = None) -> None:
        self.holder = holder
        self.name = name

    def __set_name__(self, owner: type, name: str) -> None:
        if self.name is None:
            self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> T:
        value: T = getattr(getattr(obj, self.holder), self.name or "")
        return value


class Writable(Delegate[T]):
    """A ``Delegate`` that is also written through: ``self.x = v`` sets ``self.<holder>.<name>``."""

    def __set__(self, obj: Any, value: T) -> None:
        setattr(getattr(obj, self.holder), self.name or "", value)
