"""The one direction of imports in sinks/: util <- docker <- each vendor <- sinks/__init__."""

from __future__ import annotations

import ast
from pathlib import Path

import sinks

ROOT = Path(sinks.__file__).parent
SHARED = ("util", "docker")  # every other package under sinks/ is a vendor


def imports(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports, relative imports resolved."""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    package = parts[:-1]  # a module's package; for __init__.py, parts[-1] is "__init__"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join((*base, node.module) if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def sink_packages(names: set[str]) -> set[str]:
    """The sinks sub-packages among ``names`` (``sinks.splunk.config`` -> ``splunk``)."""
    return {n.split(".")[1] for n in names if n.startswith("sinks.") and
            (ROOT / n.split(".")[1]).is_dir()}


def modules(under: Path) -> list[Path]:
    found = sorted(under.rglob("*.py"))
    assert found, f"no modules under {under}"
    return found


def test_sinks_never_import_logdriver_or_proto() -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(n for n in imports(p)
                                                 if n.split(".")[0] in ("logdriver", "proto"))
                 for p in modules(ROOT)}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_util_imports_no_other_sinks_package() -> None:
    offenders = {str(p.relative_to(ROOT)): sink_packages(imports(p)) - {"util"}
                 for p in modules(ROOT / "util")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_docker_imports_only_util() -> None:
    offenders = {str(p.relative_to(ROOT)): sink_packages(imports(p)) - {"util", "docker"}
                 for p in modules(ROOT / "docker")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_a_vendor_imports_no_other_vendor() -> None:
    vendors = [d for d in ROOT.iterdir()
               if d.is_dir() and (d / "__init__.py").exists() and d.name not in SHARED]
    assert {"splunk", "datadog", "http"} <= {d.name for d in vendors}
    offenders = {str(p.relative_to(ROOT)): sink_packages(imports(p)) - {*SHARED, d.name}
                 for d in vendors for p in modules(d)}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_checker_sees_relative_imports() -> None:
    # the checker itself: a relative import out of a package resolves to its absolute name
    names = imports(ROOT / "splunk" / "sink.py")
    assert "sinks.util.send" in names and "sinks.splunk.config" in names
    assert sink_packages(names) == {"util", "splunk"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every sinks module -> the sinks modules it imports anywhere in its text (module level,
    inside functions, under TYPE_CHECKING). ``from .x import Y`` is an import of ``x.Y`` when
    that is a module, else of ``x``; a package's own ``__init__`` run on the way is left out
    (it is not what the importer names)."""
    known = {module_name(p): p for p in modules(ROOT)}
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        package = module_name(path) if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name in known)
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = (".".join((*base, node.module) if node.module else base)
                          if node.level else node.module or "")
                for alias in node.names:
                    if f"{source}.{alias.name}" in known:
                        found.add(f"{source}.{alias.name}")
                    elif source in known:
                        found.add(source)
        graph[name] = found - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_among_sinks_modules() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_checker_finds_a_cycle() -> None:
    graph = import_graph()
    assert "sinks.splunk.config" in graph["sinks.splunk.sink"]
    graph["sinks.splunk.config"] = graph["sinks.splunk.config"] | {"sinks.splunk.sink"}
    # sink -> encoder -> config -> sink: the whole loop is reported, nothing else
    assert cycles(graph) == [["sinks.splunk.config", "sinks.splunk.encoder", "sinks.splunk.sink"]]
