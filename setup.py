"""Builds the compiled kernels (every ``*.pyx`` under logdriver/ and sinks/, see
``sinks/util/twin.py``) as optional extensions: without Cython or a C compiler, or with
``LOGDRIVER_NO_EXTENSIONS=1`` set at install time, the package installs with its pure-Python
twins only and says so. Everything else about the package is in pyproject.toml."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent


def _warn(message: str) -> None:
    print(f"logdriver setup: {message}; installing the pure-Python twins only", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """A kernel that fails to compile leaves its pure-Python twin in charge, as aiohttp does."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # setuptools' compiler errors have no common base
            _warn(f"building the compiled kernels failed ({exc})")

    def build_extension(self, ext: object) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            _warn(f"building {getattr(ext, 'name', ext)} failed ({exc})")


def _extensions() -> list[object]:
    if os.environ.get("LOGDRIVER_NO_EXTENSIONS", "") not in ("", "0"):
        _warn("LOGDRIVER_NO_EXTENSIONS is set")
        return []
    sources = sorted(str(p.relative_to(HERE)) for pkg in ("logdriver", "sinks")
                     for p in (HERE / pkg).rglob("*.pyx"))
    if not sources:
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        _warn("Cython is not installed")
        return []
    try:
        return list(cythonize(
            sources,
            compiler_directives={"language_level": 3, "embedsignature": True},
            quiet=True,
        ))
    except Exception as exc:  # a .pyx Cython cannot translate: its pure twin stays in charge
        _warn(f"Cython failed ({exc})")
        return []


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
