"""The code base stays ruff-clean and mypy --strict clean (configuration in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <tool> ...`` from the repository root and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_ruff_reports_no_problems() -> None:
    """`ruff check pjsh tests bench` exits 0."""
    result = _run_tool("ruff", "check", "pjsh", "tests", "bench")
    assert result.returncode == 0, f"ruff failed:\n{result.stdout}{result.stderr}"


@pytest.mark.slow
def test_mypy_strict_reports_no_problems() -> None:
    """`mypy` (strict, files = pjsh, from pyproject.toml) exits 0."""
    result = _run_tool("mypy")
    assert result.returncode == 0, f"mypy failed:\n{result.stdout}{result.stderr}"
