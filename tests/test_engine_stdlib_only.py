"""The engine (pjsh/lang, runtime, commands, jobs, and the remote agent) imports only the
standard library and itself.

This keeps `pjsh -c` and scripted mode fast to start and lets the same engine run on a remote host
that has nothing but python3 (docs/architecture.md, "Decisions").
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "pjsh"
ENGINE_PACKAGES = ("lang", "runtime", "commands", "jobs")
HEAVY_MODULES = frozenset({"rich", "prompt_toolkit", "pygments", "asyncssh"})


def engine_files() -> list[Path]:
    """Every Python file of the engine packages, plus pjsh/__init__.py which they all import."""
    # The remote engine's server goes to hosts with the engine (pjsh/remote/bundle.py).
    files = [PACKAGE_DIR / "__init__.py", PACKAGE_DIR / "remote" / "__init__.py",
             PACKAGE_DIR / "remote" / "agent.py"]
    for package in ENGINE_PACKAGES:
        files.extend(sorted((PACKAGE_DIR / package).rglob("*.py")))
    return files


def module_name(path: Path) -> str:
    """The dotted module name of a file under the repository root."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_pjsh_module(name: str) -> bool:
    """Whether ``name`` is a module or package that exists in the pjsh source tree."""
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def resolve_from(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` statement names, resolving relative levels."""
    if node.level == 0:
        return node.module or ""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()  # a plain module's package is its parent
    if node.level > 1:
        package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, node.module] if node.module else package)


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line, module) for every import in a file, nested and dynamic ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = resolve_from(path, node)
            yield node.lineno, base
            # `from pjsh import repl` imports the submodule pjsh.repl: check those names too.
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                if base.split(".")[0] == "pjsh" and is_pjsh_module(candidate):
                    yield node.lineno, candidate
        elif (
            isinstance(node, ast.Call)
            and _is_dynamic_import(node.func)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def _is_dynamic_import(func: ast.expr) -> bool:
    """Whether a call target is ``__import__`` or ``importlib.import_module``."""
    if isinstance(func, ast.Name):
        return func.id in {"__import__", "import_module"}
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def is_allowed(module: str) -> bool:
    """Standard library, the bare pjsh package, or one of the engine packages."""
    parts = module.split(".")
    if parts[0] in sys.stdlib_module_names:
        return True
    if parts[0] != "pjsh":
        return False
    return (len(parts) == 1 or parts[1] in ENGINE_PACKAGES
            or module in ("pjsh.engine", "pjsh.lifecycle", "pjsh.remote", "pjsh.remote.agent"))


# Stub-only modules a type checker reads; allowed solely inside `if TYPE_CHECKING:` blocks,
# which never run.
TYPING_ONLY = frozenset({"typing_extensions"})


def type_checking_lines(path: Path) -> set[int]:
    """Line numbers of statements inside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            for inner in node.body:
                for sub in ast.walk(inner):
                    if hasattr(sub, "lineno"):
                        lines.add(sub.lineno)
    return lines


def test_typing_only_modules_are_allowed_only_under_type_checking(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    from typing_extensions import dataclass_transform\n"
                      "import typing_extensions\n")
    assert type_checking_lines(sample) == {3}


def test_engine_packages_exist() -> None:
    """The scan below looks at real code, so it cannot pass vacuously."""
    for package in ENGINE_PACKAGES:
        assert (PACKAGE_DIR / package / "__init__.py").is_file(), package
    assert len(engine_files()) > len(ENGINE_PACKAGES)


def test_resolve_from_handles_relative_imports() -> None:
    """Relative imports resolve against the importing module's package."""
    module_file = PACKAGE_DIR / "runtime" / "values.py"
    init_file = PACKAGE_DIR / "runtime" / "__init__.py"

    def parse(source: str) -> ast.ImportFrom:
        node = ast.parse(source).body[0]
        assert isinstance(node, ast.ImportFrom)
        return node

    assert resolve_from(module_file, parse("from . import x")) == "pjsh.runtime"
    assert resolve_from(module_file, parse("from .errors import x")) == "pjsh.runtime.errors"
    assert resolve_from(module_file, parse("from ..repl import x")) == "pjsh.repl"
    assert resolve_from(init_file, parse("from .values import x")) == "pjsh.runtime.values"
    assert resolve_from(init_file, parse("from .. import repl")) == "pjsh"
    assert not is_allowed("pjsh.repl.app")
    assert not is_allowed("rich.console")
    assert is_allowed("pjsh.runtime.values")
    assert is_allowed("collections.abc")


def test_engine_imports_only_stdlib_and_engine() -> None:
    """Every import in the engine is stdlib or pjsh.{lang,runtime,commands,jobs}."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in engine_files()
        for line, module in imported_modules(path)
        if not is_allowed(module)
        and not (module in TYPING_ONLY and line in type_checking_lines(path))
    ]
    assert not offenders, "engine imports outside the standard library:\n" + "\n".join(offenders)


# The child process runs the CLI in-process, then reports which heavy modules got imported.
# Running the source tree (cwd=ROOT, not -I) checks this working copy, installed or not.
_PROBE = f"""
import json, sys
import pjsh.cli
try:
    rc = pjsh.cli.main(sys.argv[1:])
except SystemExit as stop:
    rc = 0 if stop.code is None else stop.code if isinstance(stop.code, int) else 1
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY_MODULES)!r})
sys.stdout.flush()
print('PROBE:' + json.dumps({{'rc': rc, 'heavy': heavy}}))
"""


@pytest.mark.parametrize(
    ("mode", "argv", "stdin"),
    [
        ("command", ["-NoProfile", "-c", "exit"], ""),
        ("file", ["-NoProfile", "{script}"], ""),
        ("stdin", ["-NoProfile"], "1+1\n"),
    ],
)
def test_noninteractive_modes_do_not_import_heavy_modules(
    mode: str, argv: list[str], stdin: str, tmp_path: Path
) -> None:
    """`-c`, a script file and scripted stdin never import rich/prompt_toolkit/pygments/asyncssh."""
    script = tmp_path / "probe.ps1"
    script.write_text("1+1\n", encoding="utf-8")
    args = [arg.format(script=script) for arg in argv]
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    probes = [line for line in result.stdout.splitlines() if line.startswith("PROBE:")]
    assert probes, f"{mode}: probe did not finish\n{result.stdout}{result.stderr}"
    report = json.loads(probes[-1].removeprefix("PROBE:"))
    assert report["rc"] == 0, f"{mode}: exit status {report['rc']}\n{result.stdout}{result.stderr}"
    assert report["heavy"] == [], f"{mode}: imported {report['heavy']}"
    if mode != "command":
        # The statement's output went through the formatter, so that path was covered too.
        assert "2" in result.stdout.splitlines()
