"""plugin/check_build.py: the plugin's builds fail when a kernel was not compiled into the wheel,
unless LOGDRIVER_NO_EXTENSIONS asks for the pure-Python twins on purpose."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from sinks.util import twin

SCRIPT = Path(__file__).resolve().parents[2] / "plugin" / "check_build.py"


def _check_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_build", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_wheel_without_a_kernel_s_compiled_module_fails_the_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    check = _check_build()
    src = tmp_path / "src"
    for name in ("sinks/util/_a_c.pyx", "logdriver/framing/_b_c.pyx", "sinks/util/_a.py"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text("")
    wheel = tmp_path / "logdriver-0.1.0-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("sinks/util/_a_c.cpython-311-x86_64-linux-gnu.so", b"")
        z.writestr("sinks/util/_a.py", b"")
        z.writestr("logdriver/framing/_b_c.pyx", b"")  # the source alone is not the kernel
    assert check.missing_from_wheel(wheel, src) == ["logdriver.framing._b_c"]
    monkeypatch.delenv("LOGDRIVER_NO_EXTENSIONS", raising=False)
    assert check.main(["wheel", str(wheel), str(src)]) == 1
    assert "compiled kernels missing: logdriver.framing._b_c" in capsys.readouterr().err
    monkeypatch.setenv("LOGDRIVER_NO_EXTENSIONS", "1")
    assert check.main(["wheel", str(wheel), str(src)]) == 0
    assert "LOGDRIVER_NO_EXTENSIONS is set" in capsys.readouterr().out
    (src / "logdriver/framing/_b_c.pyx").unlink()
    monkeypatch.delenv("LOGDRIVER_NO_EXTENSIONS")
    assert check.main(["wheel", str(wheel), str(src)]) == 0
    assert check.main(["nonsense"]) == 2


def test_this_install_runs_every_kernel_compiled() -> None:
    # The editable install builds every kernel in place (tools/setup.sh).
    if twin.extensions_disabled():
        pytest.skip(f"{twin.NO_EXTENSIONS_ENV} is set: the compiled twins are not tested")
    missing, report = _check_build().missing_when_installed()
    assert missing == [], report
