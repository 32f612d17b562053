"""sinks/util/twin.py: which twin a kernel runs (compiled, or pure Python when the extension is
missing or LOGDRIVER_NO_EXTENSIONS is set), switching them all (``use``), and the report that
``logdriver status`` and /metrics show. Test-only kernels, registered in a fresh registry."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from sinks.util import twin

COMPILED = "tests_twin_fake._upper_c"  # a "compiled" module the tests put in sys.modules
ABSENT = "sinks.util._twin_test_absent_c"  # a kernel that was not built


def _module(name: str) -> types.ModuleType:
    """A kernel module with one function: ``upper(data: bytes) -> bytes``, tagged with its
    module's name so a test sees which twin ran."""
    mod = types.ModuleType(name)

    def upper(data: bytes) -> bytes:
        return data.upper() + b" by " + name.encode()

    mod.upper = upper  # type: ignore[attr-defined]
    return mod


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, twin.Twin[object]]]:
    """An empty twin registry for the test (the package's own kernels are left alone), with
    LOGDRIVER_NO_EXTENSIONS unset and a built "compiled" module importable as COMPILED."""
    fresh: dict[str, twin.Twin[object]] = {}
    monkeypatch.setattr(twin, "_TWINS", fresh)
    monkeypatch.delenv(twin.NO_EXTENSIONS_ENV, raising=False)
    monkeypatch.setitem(sys.modules, COMPILED, _module(COMPILED))
    yield fresh


PURE = _module("pure")


def test_the_compiled_twin_runs_when_it_is_built(registry: dict[str, object]) -> None:
    k = twin.twin(PURE, COMPILED)
    assert k.active is sys.modules[COMPILED] and k.which == "compiled" and k.missing == ""
    assert k.active.upper(b"a") == b"A by " + COMPILED.encode()
    assert registry == {COMPILED: k} and twin.twins() == [k]


def test_a_kernel_that_was_not_built_runs_pure_and_says_why(registry: dict[str, object]) -> None:
    k = twin.twin(PURE, ABSENT)
    assert k.compiled is None and k.active is PURE and k.which == "pure"
    assert k.missing.startswith("not built (") and ABSENT in k.missing
    assert k.active.upper(b"a") == b"A by pure"


@pytest.mark.parametrize(("value", "disabled"), [("1", True), ("yes", True), ("0", False),
                                                 ("", False)])
def test_logdriver_no_extensions_picks_the_pure_twin(
        registry: dict[str, object], monkeypatch: pytest.MonkeyPatch, value: str,
        disabled: bool) -> None:
    monkeypatch.setenv(twin.NO_EXTENSIONS_ENV, value)
    assert twin.extensions_disabled() is disabled
    k = twin.twin(PURE, COMPILED)
    assert k.compiled is sys.modules[COMPILED]  # built, but not chosen when disabled
    assert k.which == ("pure" if disabled else "compiled")
    assert k.missing == ("LOGDRIVER_NO_EXTENSIONS is set" if disabled else "")


def test_extensions_disabled_reads_the_mapping_it_is_given() -> None:
    assert twin.extensions_disabled({"LOGDRIVER_NO_EXTENSIONS": "1"})
    assert not twin.extensions_disabled({})


def test_use_switches_every_kernel_and_refuses_compiled_when_one_is_missing(
        registry: dict[str, object]) -> None:
    built = twin.twin(PURE, COMPILED)
    twin.use("pure")
    assert built.which == "pure" and built.active is PURE
    twin.use("compiled")
    assert built.which == "compiled"
    absent = twin.twin(PURE, ABSENT)
    twin.use("pure")
    with pytest.raises(ImportError, match=r"not built: sinks\.util\._twin_test_absent_c$"):
        twin.use("compiled")
    assert (built.which, absent.which) == ("pure", "pure")  # nothing switched by the refusal


def test_report_names_each_kernel_its_twin_and_why_it_runs_pure(
        registry: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    assert twin.report() == {"twin": "pure", "kernels": {}, "why": {}}  # no kernel: all Python
    twin.twin(PURE, COMPILED)
    assert twin.report() == {"twin": "compiled", "kernels": {COMPILED: "compiled"}, "why": {}}
    absent = twin.twin(PURE, ABSENT)
    rep = twin.report()
    assert rep["twin"] == "mixed"
    assert rep["kernels"] == {COMPILED: "compiled", absent.name: "pure"}
    assert rep["why"] == {ABSENT: absent.missing}
    twin.use("pure")  # a switched kernel runs pure with no reason of its own to give
    assert twin.report() == {"twin": "pure", "why": {COMPILED: "", absent.name: absent.missing},
                             "kernels": {COMPILED: "pure", absent.name: "pure"}}


def test_load_kernels_imports_the_modules_that_register_them(
        registry: dict[str, object], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    user = "tests_twin_fake_user"
    (tmp_path / f"{user}.py").write_text(
        f"import types\nfrom sinks.util.twin import twin\n"
        f"KERNEL = twin(types.SimpleNamespace(), {COMPILED!r})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(twin, "KERNEL_USERS", (user,))
    try:
        assert twin.report()["kernels"] == {}
        twin.load_kernels()
        assert twin.report()["kernels"] == {COMPILED: "compiled"}
    finally:
        sys.modules.pop(user, None)
    with pytest.raises(ImportError, match="tests_twin_fake_nowhere"):
        twin.load_kernels(["tests_twin_fake_nowhere"])
