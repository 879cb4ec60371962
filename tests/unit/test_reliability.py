"""Reproduced crashes and PowerShell deviations (the "Reliability" issue): each input gives
PowerShell's result or a PowerShell error record, never a pjsh internal error."""

from __future__ import annotations

from tests.harness import run

INTERNAL = "pjsh internal error"


def no_internal_error(src: str) -> list[str]:
    """Run src and return its error messages, none of which may be an internal error."""
    r = run(src)
    assert not any(INTERNAL in m for m in r.messages), r.messages
    return r.messages


# ---------------------------------------------------------------- begin blocks' output

def test_output_of_foreach_object_begin_reaches_a_later_cmdlet() -> None:
    r = run('1..3 | ForEach-Object -Begin {"header"} -Process {$_} | Sort-Object; "after"')
    assert r.errors == []
    assert r.output == [1, 2, 3, "header", "after"]


def test_output_of_a_function_begin_block_reaches_a_later_cmdlet_first() -> None:
    r = run('function f { begin {"b"} process {$_} }; 1..2 | f | ForEach-Object { "<$_>" }')
    assert r.errors == []
    assert r.output == ["<b>", "<1>", "<2>"]


def test_output_of_a_begin_block_reaches_a_native_as_text() -> None:
    r = run('function f { begin {"b"} process {$_} }; 1..2 | f | /bin/cat')
    assert r.errors == []
    assert r.output == ["b", "1", "2"]


def test_select_first_satisfied_by_begin_output_stops_an_endless_upstream() -> None:
    r = run('function g { while ($true) { 1 } }; function f { begin {"b"; "c"} process {$_} }; '
            'g | f | Select-Object -First 1; "after"')
    assert r.errors == []
    assert r.output == ["b", "after"]


def test_begin_blocks_still_run_first_to_last() -> None:
    r = run('& { begin { Write-Output "1st" } } | & { begin { "2nd" } process { "got $_" } }')
    assert r.output == ["2nd", "got 1st"]


def test_call_operator_block_can_be_a_later_pipeline_stage() -> None:
    assert run('1, 2 | & { process { $_ * 10 } }').output == [10, 20]
    assert "An empty pipe element is not allowed." in run('1 | && 2').messages[0]
