"""Checks that the managed plugin carries the compiled kernels (plugin/build.sh, plugin/Dockerfile).

    python check_build.py wheel WHEEL SRC   every SRC/{logdriver,sinks}/**/_NAME_c.pyx has its
                                            compiled extension in WHEEL
    python check_build.py installed         (with the plugin's own Python) every kernel of the
                                            installed package imports and runs compiled

Each fails (exit 1, naming the kernels) unless LOGDRIVER_NO_EXTENSIONS is set (to anything but
"" or "0"), which asks for the pure-Python twins on purpose; then it says so and exits 0.
Standard library only in ``wheel`` mode (it runs before anything is installed).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import zipfile
from pathlib import Path

PACKAGES = ("logdriver", "sinks")
EXTENSION_SUFFIXES = (".so", ".pyd")


def _disabled() -> bool:
    return os.environ.get("LOGDRIVER_NO_EXTENSIONS", "") not in ("", "0")


def kernels_in(root: Path) -> list[str]:
    """The compiled kernels' module names under ``root`` (one per ``*.pyx``)."""
    return sorted(".".join(p.relative_to(root).with_suffix("").parts)
                  for pkg in PACKAGES if (root / pkg).is_dir()
                  for p in (root / pkg).rglob("*.pyx"))


def missing_from_wheel(wheel: Path, src: Path) -> list[str]:
    """The kernels of ``src`` whose extension module ``wheel`` lacks."""
    with zipfile.ZipFile(wheel) as z:
        built = {name.split(".", 1)[0].replace("/", ".") for name in z.namelist()
                 if name.endswith(EXTENSION_SUFFIXES)}
    return [k for k in kernels_in(src) if k not in built]


def missing_when_installed() -> tuple[list[str], dict[str, object]]:
    """The kernels of the installed package that do not run compiled, and the twin report."""
    from sinks import kernel_report, load_kernels

    spec = importlib.util.find_spec("sinks")
    assert spec is not None and spec.origin is not None
    site = Path(spec.origin).parent.parent
    load_kernels()
    report = kernel_report()
    kernels = report["kernels"]
    assert isinstance(kernels, dict)
    return [k for k in kernels_in(site) if kernels.get(k) != "compiled"], report


def _verdict(what: str, kernels: list[str], missing: list[str], detail: str = "") -> int:
    if not missing:
        print(f"check_build: {what}: {len(kernels)} compiled kernels, every one there")
        return 0
    if _disabled():
        print(f"check_build: {what}: LOGDRIVER_NO_EXTENSIONS is set: pure-Python twins only "
              f"({len(missing)} kernels)")
        return 0
    print(f"check_build: {what}: compiled kernels missing: {', '.join(missing)}{detail}\n"
          "check_build: is a C compiler with Python's headers there? Set "
          "LOGDRIVER_NO_EXTENSIONS=1 to build the pure-Python twins only on purpose.",
          file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "wheel":
        wheel, src = Path(argv[1]), Path(argv[2])
        return _verdict(wheel.name, kernels_in(src), missing_from_wheel(wheel, src))
    if argv == ["installed"]:
        missing, report = missing_when_installed()
        kernels = report["kernels"]
        assert isinstance(kernels, dict)
        return _verdict(f"installed in {sys.prefix}", list(kernels), missing,
                        f" (report: {json.dumps(report)})")
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
