"""Names a package exports but imports on first use (PEP 562's module ``__getattr__``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy(package: str, names: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package`` that imports ``names[name]`` (a module relative
    to ``package``, e.g. ``".sink"``) when ``name`` is first read, and returns its ``name``.
    Each vendor's sink class is exported so: a process that only parses options (the plugin
    checking log-opts) never imports the HTTP side and the encoders' tables. AttributeError for
    any other name, as Python's own."""

    def __getattr__(name: str) -> object:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module, package), name)

    return __getattr__
