"""setup.py builds the kernels as optional extensions: a toy project with the real setup.py and
one toy kernel, built into wheels three ways at once (about 10 s): with a compiler (the wheel
holds the compiled module), with LOGDRIVER_NO_EXTENSIONS=1 and with no working compiler
(CC=/bin/false). The last two still build, hold the pure twin only, and say so on stderr."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68", "Cython>=3.0"]
build-backend = "setuptools.build_meta"

[project]
name = "toykernel"
version = "0.0.1"

[tool.setuptools.packages.find]
include = ["logdriver*"]
"""


def _project(root: Path) -> Path:
    (root / "logdriver").mkdir(parents=True)
    shutil.copy(REPO / "setup.py", root / "setup.py")
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "logdriver" / "__init__.py").write_text("")
    (root / "logdriver" / "_toy.py").write_text("def shout(data):\n    return data.upper()\n")
    (root / "logdriver" / "_toy_c.pyx").write_text(
        "def shout(bytes data):\n    return data.upper()\n")
    return root


def test_setup_builds_the_kernels_and_installs_without_them_when_it_cannot(
        tmp_path: Path) -> None:
    # Cython and setuptools from the venv (the test extra): no build isolation, no download.
    try:
        import Cython  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"Cython is missing from the test environment (the test extra): {exc}")
    cases = {"compiled": {}, "no_extensions": {"LOGDRIVER_NO_EXTENSIONS": "1"},
             "no_compiler": {"CC": "/bin/false"}}
    procs = {}
    for case, extra in cases.items():
        src = _project(tmp_path / case / "src")
        env = {k: v for k, v in os.environ.items()
               if k not in ("LOGDRIVER_NO_EXTENSIONS", "CC")}
        procs[case] = subprocess.Popen(
            [sys.executable, "-m", "pip", "wheel", "-v", "--no-build-isolation", "--no-deps",
             "--disable-pip-version-check", "-w", str(tmp_path / case / "out"), str(src)],
            env={**env, **extra}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    outputs = {}
    try:
        for case, proc in procs.items():
            outputs[case] = proc.communicate(timeout=300)[0].decode(errors="replace")
    finally:  # no build left running (or unreaped) if one fails or times out
        for proc in procs.values():
            proc.kill()
            proc.communicate()
    results = {}
    for case, text in outputs.items():
        assert procs[case].returncode == 0, f"{case}: pip wheel failed:\n{text[-3000:]}"
        (wheel,) = (tmp_path / case / "out").glob("toykernel-*.whl")
        with zipfile.ZipFile(wheel) as z:
            names = z.namelist()
        results[case] = (text, names)

    text, names = results["compiled"]
    assert any(n.startswith("logdriver/_toy_c.") and n.endswith(".so") for n in names), names
    assert "logdriver setup:" not in text
    for case, said in (("no_extensions", "LOGDRIVER_NO_EXTENSIONS is set"),
                       ("no_compiler", "building logdriver._toy_c failed")):
        text, names = results[case]
        assert "logdriver/_toy.py" in names, (case, names)
        assert not any(n.endswith(".so") for n in names), (case, names)
        assert f"logdriver setup: {said}" in text, (case, text[-3000:])
        assert "installing the pure-Python twins only" in text, case
