"""The direction of imports: no cycles among logdriver's modules, logdriver uses only the sinks
package's surface, and only the framing code touches the generated protobuf code (sinks' own
rules are in tests/unit/sinks/test_layout.py); read from the source with ``ast``, imports under
``if TYPE_CHECKING:`` included."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (``from x import y`` counts x and x.y)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                if node.module:
                    base.append(node.module)
                module = ".".join(base)
            else:
                module = node.module or ""
            out.add(module)
            out.update(f"{module}.{alias.name}" for alias in node.names)
    return out


def _graph(package: str) -> dict[str, set[str]]:
    """Each module of ``package`` -> the modules of ``package`` it imports."""
    files = {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}
    graph = {}
    for name, path in files.items():
        graph[name] = {m for m in _imports(path) if m in files and m != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_logdriver_modules_import_each_other_without_cycles() -> None:
    graph = _graph("logdriver")
    assert "logdriver.store.reader" in graph and "logdriver.fifo" in graph  # the walk found them
    # A package importing its own submodules (to re-export them) is not a cycle of roles; a
    # submodule importing its package's __init__ is, so only the former edge is dropped.
    for name, deps in graph.items():
        graph[name] = {d for d in deps if not d.startswith(name + ".")}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_only_framing_imports_the_generated_protobuf_code() -> None:
    users = sorted(
        _module_name(p)
        for pkg in ("logdriver", "sinks")
        for p in (ROOT / pkg).rglob("*.py")
        if any(m.split(".")[0] == "proto" for m in _imports(p))
    )
    assert users and all(u == "logdriver.framing" or u.startswith("logdriver.framing.")
                         for u in users), users


# The compiled-kernel registry (issue #17, sinks/util/twin.py) is one for both packages, so that
# status shows every kernel: logdriver's kernels (framing/_frames) register there directly.
KERNEL_REGISTRY = "sinks.util.twin"


def _sinks_internals(names: set[str]) -> list[str]:
    """The imported names that reach below the ``sinks`` package's surface (``sinks.util...``,
    ``from sinks import docker``): a name ``sinks.X`` where X is one of its modules or
    packages, the kernel registry aside."""
    inner = {p.stem for p in (ROOT / "sinks").glob("*.py") if p.name != "__init__.py"}
    inner |= {p.name for p in (ROOT / "sinks").iterdir() if (p / "__init__.py").exists()}
    return sorted(n for n in names
                  if n.startswith("sinks.") and n.split(".")[1] in inner
                  and n.rpartition(".")[0] != KERNEL_REGISTRY and n != KERNEL_REGISTRY)


def test_logdriver_uses_only_the_sinks_package_surface() -> None:
    bad = {_module_name(p): _sinks_internals(_imports(p))
           for p in sorted((ROOT / "logdriver").rglob("*.py"))}
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_surface_check_sees_a_reach_inside() -> None:
    assert _sinks_internals({"sinks", "sinks.configure", "sinks.create"}) == []
    assert _sinks_internals({"sinks.util.parse", "sinks.util.parse.opt"}) == [
        "sinks.util.parse", "sinks.util.parse.opt"]
    assert _sinks_internals({"sinks.registry"}) == ["sinks.registry"]
    assert _sinks_internals({KERNEL_REGISTRY, f"{KERNEL_REGISTRY}.twin"}) == []
    assert _sinks_internals({"sinks.util.twins", "sinks.util"}) == [
        "sinks.util", "sinks.util.twins"]
