"""Compiled kernels and their pure-Python twins (the pattern of aiohttp, yarl and frozenlist).

A kernel is a small module of hot functions, named by what it does, in two versions with the same
functions and byte-identical results: ``_NAME.py`` (pure Python, always there) and
``_NAME_c.pyx`` (Cython, built by ``setup.py`` when the package is installed and a compiler is
present). ``twin`` picks the compiled one unless it is missing or ``LOGDRIVER_NO_EXTENSIONS`` is
set (to anything but "" or "0") when the kernel is first imported. The caller reaches the chosen
one through ``Twin.active`` at each call, so a test can switch every kernel with ``use``.

``report`` is what ``logdriver status`` and ``/metrics`` show: which twin each kernel runs and
why a compiled one is not running. A kernel is registered when the module that uses it is first
imported; ``load_kernels`` imports every such module (``KERNEL_USERS``) so that a process's
report names them all.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, cast

NO_EXTENSIONS_ENV = "LOGDRIVER_NO_EXTENSIONS"

K = TypeVar("K")
Which = Literal["compiled", "pure"]


def extensions_disabled(env: Mapping[str, str] = os.environ) -> bool:
    """Whether ``LOGDRIVER_NO_EXTENSIONS`` asks for the pure-Python twins."""
    return env.get(NO_EXTENSIONS_ENV, "") not in ("", "0")


@dataclass(slots=True)
class Twin(Generic[K]):
    """One kernel: its pure-Python module, its compiled module (None when not built, with the
    reason in ``missing``), and the one in use (``active``)."""

    name: str  # the compiled module's dotted name
    pure: K
    compiled: K | None
    missing: str  # why ``compiled`` is None ("" when it is there)
    active: K

    @property
    def which(self) -> Which:
        return "compiled" if self.compiled is not None and self.active is self.compiled \
            else "pure"


_TWINS: dict[str, Twin[Any]] = {}

# Every module that registers a kernel (calls ``twin``), by name: imported by ``load_kernels``
# only when called, so this module imports none of them (no import cycle; sinks/ keeps importing
# nothing of logdriver/ at import time). tests/unit/sinks/util/test_twin_layout.py checks that,
# once these are imported, every ``*_c.pyx`` under logdriver/ and sinks/ is registered.
KERNEL_USERS: tuple[str, ...] = (
    "logdriver.framing.scan",  # FIFO scanner, block splitter (both processes import it anyway)
    "logdriver.framing.render",  # the ReadLogs answer
    "sinks.util.envelope",  # HEC, Datadog and HTTP envelopes
    "sinks.util.client",  # gzip: zlib-ng or zlib
    "sinks.loki.encoder",
    "sinks.otlp.encoder",
)


def load_kernels(modules: Iterable[str] | None = None) -> None:
    """Import each of ``modules`` (default ``KERNEL_USERS``), registering their kernels, so that
    ``report`` names every kernel of the package, used in this process yet or not. Raises
    ImportError if one of them cannot be imported."""
    for name in KERNEL_USERS if modules is None else modules:
        importlib.import_module(name)


def twin(pure: K, compiled: str) -> Twin[K]:
    """Register the kernel whose pure-Python module is ``pure`` and whose compiled module is
    named ``compiled``; the returned ``Twin.active`` is the compiled one if it imports and
    extensions are not disabled, else ``pure``."""
    try:
        module: K | None = cast(K, importlib.import_module(compiled))
        missing = ""
    except ImportError as exc:
        module, missing = None, f"not built ({exc})"
    active = pure
    if module is not None:
        if extensions_disabled():
            missing = f"{NO_EXTENSIONS_ENV} is set"
        else:
            active = module
    entry = _TWINS[compiled] = Twin(compiled, pure, module, missing, active)
    return entry


def twins() -> list[Twin[Any]]:
    """Every kernel registered so far (the modules that use one import it at their own import)."""
    return list(_TWINS.values())


def use(which: Which) -> None:
    """Switch every kernel to one twin (tests and benches). ``compiled`` raises ImportError
    naming the kernels that were not built."""
    if which == "compiled":
        absent = [t.name for t in _TWINS.values() if t.compiled is None]
        if absent:
            raise ImportError(f"compiled kernels not built: {', '.join(absent)}")
    for t in _TWINS.values():
        t.active = t.compiled if which == "compiled" and t.compiled is not None else t.pure


def report() -> dict[str, object]:
    """``{"twin": "compiled" | "pure" | "mixed", "kernels": {name: which}, "why": {name:
    reason}}``: what status and /metrics show; ``why`` lists the kernels running pure Python."""
    kernels = {t.name: t.which for t in _TWINS.values()}
    kinds = set(kernels.values())
    overall = kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "pure")
    why = {t.name: t.missing for t in _TWINS.values() if t.which == "pure"}
    return {"twin": overall, "kernels": kernels, "why": why}
