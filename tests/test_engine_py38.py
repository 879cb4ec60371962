"""The engine runs on Python 3.8: it is shipped to remote hosts and run by their python3
(Ubuntu 20.04, RHEL 8), while the console keeps requiring 3.10 (docs/architecture.md, "The
engine runs on Python 3.8").

Two checks: vermin finds no 3.9+ library use or syntax in the engine's files, and a real
engine run (tests/engine_smoke.py) on the oldest older python3 the machine has prints exactly
what it prints on the running interpreter, jobs in worker processes included.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGINE_PATHS = ("pjsh/lang", "pjsh/runtime", "pjsh/jobs", "pjsh/commands", "pjsh/engine.py",
                "pjsh/lifecycle.py", "pjsh/__init__.py", "pjsh/remote/__init__.py",
                "pjsh/remote/agent.py")
SMOKE_SCRIPT = ROOT / "tests" / "engine_smoke.py"


@pytest.mark.slow  # vermin takes seconds over the engine's files
def test_vermin_finds_nothing_newer_than_python_38_in_the_engine() -> None:
    vermin = Path(sys.executable).with_name("vermin")
    command = [str(vermin)] if vermin.exists() else [sys.executable, "-c",
                                                     "import sys; from vermin.main import main; "
                                                     "sys.exit(main())"]
    result = subprocess.run(
        [*command, "--no-tips", "--violations", "-t=3.8-", *ENGINE_PATHS],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    violations = [line for line in result.stdout.splitlines()
                  if line.strip() and not line.startswith(("Detecting", "Analyzing"))]
    assert result.returncode == 0 and "Minimum required versions: 3.8" in result.stdout, \
        "engine code needs a Python newer than 3.8:\n" + "\n".join(violations) + result.stderr


def _pyenv_roots() -> list[str]:
    roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv"), "/root/.pyenv"]
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            roots.insert(0, subprocess.run([pyenv, "root"], capture_output=True, text=True,
                                           timeout=10).stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    return [r for r in dict.fromkeys(roots) if r]


def oldest_older_python() -> str | None:
    """The oldest python3 of 3.8 and 3.9 found (pyenv's versions, then PATH), older than the
    running one; None if there is none."""
    for minor in (8, 9):
        if sys.version_info[:2] <= (3, minor):
            break
        found = [p for root in _pyenv_roots()
                 for p in sorted(glob.glob(f"{root}/versions/3.{minor}*/bin/python3.{minor}"))]
        on_path = shutil.which(f"python3.{minor}")
        for candidate in [*found, *([on_path] if on_path else [])]:
            if os.access(candidate, os.X_OK):
                return candidate
    return None


def _smoke(python: str, workdir: Path) -> str:
    """Run the smoke script with ``python`` on this worktree's engine only (PYTHONPATH names
    the worktree, and no site-packages (-S) or user site (-s) is seen); its output, after
    checking that its Start-Job worker ran on the same interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONNOUSERSITE"] = "1"
    workdir.mkdir()
    result = subprocess.run([python, "-s", "-S", str(SMOKE_SCRIPT), str(workdir)],
                            cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and not result.stderr, \
        f"{python} failed:\n{result.stderr}\n{result.stdout}"
    text, _, worker = result.stdout.rpartition("WORKER PYTHON: ")
    assert os.path.realpath(worker.strip()) == os.path.realpath(
        subprocess.run([python, "-c", "import sys; print(sys.executable)"], capture_output=True,
                       text=True, timeout=30).stdout.strip()), result.stdout
    return text


@pytest.mark.slow
def test_the_engine_runs_a_script_on_an_older_python_exactly_as_on_this_one(
        tmp_path: Path) -> None:
    older = oldest_older_python()
    if older is None:
        pytest.skip("no python3.8 or python3.9 on this machine (pyenv or PATH) to run the "
                    "engine on")
    version = subprocess.run([older, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
    assert version in ("(3, 8)", "(3, 9)")
    expected = _smoke(sys.executable, tmp_path / "current")
    # The script's jobs ran in worker processes of the same interpreter (sys.executable).
    assert "process job got arg" in expected and "background native" in expected
    assert "ERROR:" not in expected, expected
    assert _smoke(older, tmp_path / "older") == expected

