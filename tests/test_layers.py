"""Imports point down the layers only: lang ← runtime ← jobs ← commands ← engine ← remote ←
console. An upper layer plugs into a lower one through a protocol or a factory argument
(the Host, the job engine factory, the command registry), never by being imported from below.

Every import statement counts, including those inside functions and under TYPE_CHECKING: a
lazy import is still a dependency, and a type reference to an upper layer means the lower
one knows about it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pjsh"

# Rank of each top-level part of the package; a module may import its own rank or lower.
LAYERS: dict[str, int] = {
    "__init__": 0,  # the version
    "help": 0,  # about_* topic files (data)
    "lang": 0,
    "runtime": 1,
    "jobs": 2,
    "commands": 3,
    "engine": 4,
    "remote": 5,
    "lifecycle": 6,
    "cli": 6,
    "__main__": 6,
    "repl": 6,
    "render": 6,
}


def _part(module: str) -> str:
    """The top-level part of a dotted ``pjsh.x.y`` module name."""
    return module.split(".")[1] if "." in module else "__init__"


def _module_name(path: Path, package: Path) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported pjsh module) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("pjsh")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.startswith("pjsh"):
            found.append((node.lineno, node.module))
    return found


def layering_violations(package: Path = PACKAGE) -> list[str]:
    """Every import of a higher layer, as ``file:line: a (rank) imports b (rank)``."""
    problems: list[str] = []
    for path in sorted(package.rglob("*.py")):
        name = _module_name(path, package)
        here = _part(name)
        assert here in LAYERS, f"{name}: add its part {here!r} to LAYERS"
        for line, target in _imports(path):
            there = _part(target)
            assert there in LAYERS, f"{target}: add its part {there!r} to LAYERS"
            if LAYERS[there] > LAYERS[here]:
                problems.append(f"{path.relative_to(package.parent)}:{line}: {here} "
                                f"({LAYERS[here]}) imports {target} ({LAYERS[there]})")
    return problems


def test_no_module_imports_a_higher_layer() -> None:
    assert layering_violations() == []


def test_the_layering_check_catches_an_upward_import(tmp_path: Path) -> None:
    # The checker itself, on a small package: a runtime module importing the job engine
    # lazily is reported; commands importing jobs (a lower layer) is not.
    package = tmp_path / "pjsh"
    (package / "runtime").mkdir(parents=True)
    (package / "commands").mkdir()
    (package / "runtime" / "probe.py").write_text(
        "def f() -> None:\n    from pjsh.jobs.service import JobService\n")
    (package / "commands" / "ok.py").write_text("import pjsh.jobs.model\n")
    assert layering_violations(package) == [
        "pjsh/runtime/probe.py:2: runtime (1) imports pjsh.jobs.service (2)"]
