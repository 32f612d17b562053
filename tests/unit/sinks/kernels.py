"""Both twins of a compiled kernel, for differential tests (``sinks/util/twin.py``)."""

from __future__ import annotations

from typing import TypeVar

import pytest

from sinks.util import twin

K = TypeVar("K")


def pure_and_compiled(kernel: twin.Twin[K]) -> tuple[K, K]:
    """(pure, compiled) modules of ``kernel``. A kernel that was not built fails the test, and
    says why; with LOGDRIVER_NO_EXTENSIONS set the test skips (the only allowed skip)."""
    if twin.extensions_disabled():
        pytest.skip(f"{twin.NO_EXTENSIONS_ENV} is set: the compiled twins are not tested")
    if kernel.compiled is None:
        raise AssertionError(f"compiled kernel {kernel.name} missing: {kernel.missing}")
    return kernel.pure, kernel.compiled


def outcome(fn: object, *args: object) -> object:
    """``fn(*args)``, or the type and text of the exception it raised (the twins must agree
    on refusals too)."""
    try:
        return fn(*args)  # type: ignore[operator]
    except Exception as exc:  # noqa: BLE001  (compared, not swallowed)
        return (type(exc), str(exc))
