"""The kernels' layout (sinks/util/twin.py): every ``_NAME_c.pyx`` under logdriver/ and sinks/
has its pure-Python twin ``_NAME.py`` beside it with every public function the compiled one has
(the pure module may hold more: the helpers its sink's per-record path shares), and
``load_kernels`` (``KERNEL_USERS``) registers every one of them, so that a process's report
names them all."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sinks.util import twin

REPO = Path(__file__).resolve().parents[4]
PACKAGES = ("logdriver", "sinks")

# A module-level def or cpdef, with cpdef's return type if any (``cpdef bytes f(``,
# ``cpdef (Py_ssize_t, int) f(``); methods are indented, cdef functions are C-only.
_PYX_DEF = re.compile(r"^(?:cpdef|def)\s+(?:.*?\s)?(\w+)\s*\(", re.M)


def pyx_files(root: Path) -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (root / pkg).rglob("*.pyx"))


def pyx_functions(text: str) -> set[str]:
    """The public functions a .pyx exposes to Python: module-level def and cpdef."""
    return {n for n in _PYX_DEF.findall(text) if not n.startswith("_")}


def py_functions(text: str) -> set[str]:
    """The public functions of a Python module (module-level def)."""
    return {node.name for node in ast.parse(text).body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and not node.name.startswith("_")}


def layout_errors(root: Path) -> list[str]:
    """What is wrong with the kernels' layout under ``root``: a .pyx not named ``_NAME_c.pyx``,
    a missing ``_NAME.py`` beside it, or functions in one twin and not in the other."""
    errors = []
    for pyx in pyx_files(root):
        where = pyx.relative_to(root)
        m = re.fullmatch(r"(_\w+)_c\.pyx", pyx.name)
        if m is None:
            errors.append(f"{where}: a kernel is named _NAME_c.pyx")
            continue
        pure = pyx.with_name(f"{m.group(1)}.py")
        if not pure.is_file():
            errors.append(f"{where}: no pure-Python twin {pure.name} beside it")
            continue
        compiled, python = pyx_functions(pyx.read_text()), py_functions(pure.read_text())
        if compiled - python:
            errors.append(f"{where}: no pure twin of {sorted(compiled - python)}")
    return errors


def unregistered(root: Path, registered: set[str]) -> list[str]:
    """The compiled modules under ``root`` (by dotted name) that ``registered`` lacks."""
    names = [".".join(p.relative_to(root).with_suffix("").parts) for p in pyx_files(root)]
    return [n for n in names if n not in registered]


def test_every_compiled_kernel_function_has_its_pure_twin() -> None:
    assert layout_errors(REPO) == []


def test_load_kernels_registers_every_compiled_kernel() -> None:
    twin.load_kernels()
    assert unregistered(REPO, {t.name for t in twin.twins()}) == [], (
        "add the module that uses the kernel to sinks.util.twin.KERNEL_USERS")


def test_the_layout_checks_see_what_is_wrong(tmp_path: Path) -> None:
    util = tmp_path / "sinks" / "util"
    util.mkdir(parents=True)
    (util / "_scan_c.pyx").write_text(
        "# cython: language_level=3\ncdef int _helper(int x):\n    return x\n\n"
        "cpdef (Py_ssize_t, int) scan(const unsigned char[:] buf, Py_ssize_t pos):\n"
        "    return pos, 0\n\ncpdef bytes render(bytes b):\n    return b\n\n"
        "def split(data):\n    return data\n\ncdef class Scanner:\n"
        "    def feed(self, data):\n        pass\n")
    (util / "_scan.py").write_text(
        "def scan(buf, pos):\n    return pos, 0\n\ndef render(b):\n    return b\n\n"
        "def _helper(x):\n    return x\n")
    (util / "_orphan_c.pyx").write_text("def f():\n    pass\n")
    (tmp_path / "logdriver").mkdir()
    (tmp_path / "logdriver" / "fast.pyx").write_text("def f():\n    pass\n")
    assert pyx_functions((util / "_scan_c.pyx").read_text()) == {"scan", "render", "split"}
    assert layout_errors(tmp_path) == [
        "logdriver/fast.pyx: a kernel is named _NAME_c.pyx",
        "sinks/util/_orphan_c.pyx: no pure-Python twin _orphan.py beside it",
        "sinks/util/_scan_c.pyx: no pure twin of ['split']",
    ]
    assert unregistered(tmp_path, {"sinks.util._scan_c"}) == [
        "logdriver.fast", "sinks.util._orphan_c"]
