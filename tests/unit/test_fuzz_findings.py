"""Internal errors the grammar fuzzer (tests/fuzz) found, each pinned as the PowerShell
behaviour that replaces it."""

from __future__ import annotations

from tests.harness import run


def test_lastexitcode_holds_any_assigned_value_and_reads_it_back() -> None:
    r = run("$LASTEXITCODE = @(); $LASTEXITCODE.GetType().Name; $LASTEXITCODE = 'x'; "
            "$LASTEXITCODE; $LASTEXITCODE = 7; $LASTEXITCODE + 1")
    assert r.errors == []
    assert r.output == ["Object[]", "x", 8]


def test_lastexitcode_assigned_null_reads_null() -> None:
    r = run("$LASTEXITCODE = $null; $null -eq $LASTEXITCODE")
    assert r.errors == [] and r.output == [True]
