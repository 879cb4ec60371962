"""Behaviours pinned after defects found against pwsh: bareword expansion, deserialized objects'
strings, the session environment through [Environment], nested values in formatting, table
widths, ForEach-Object -Parallel, Format-Table -GroupBy and comment-based help."""

from __future__ import annotations

from pathlib import Path

from pjsh.lang import ast
from pjsh.lang.parser import parse
from tests.harness import run, show


def values(text: str) -> list[object]:
    """Run text, insist on no errors, and return the output objects."""
    r = run(text)
    assert r.errors == [], r.messages
    return r.output


# ------------------------------------------------------------ barewords with variables

def test_a_variable_after_a_bareword_prefix_keeps_the_suffix_as_text() -> None:
    assert values("$k = 3; Write-Output MyVm$k.txt") == ["MyVm3.txt"]


def test_a_bareword_suffix_after_a_variable_is_not_member_access() -> None:
    r = parse("echo a$k.b")
    assert r.body is not None
    stmt = r.body.statements[0]
    assert isinstance(stmt, ast.PipelineChain)
    cmd = stmt.first.elements[0]
    assert isinstance(cmd, ast.Command)
    arg = cmd.elements[0]
    assert isinstance(arg, ast.CommandArgument)
    assert isinstance(arg.value, ast.ExpandableString)
    assert arg.value.parts[0] == "a" and isinstance(arg.value.parts[1], ast.Variable)
    assert arg.value.parts[2] == ".b"


def test_an_argument_starting_with_a_variable_still_takes_member_access() -> None:
    assert values("$s = 'abcd'; Write-Output $s.Length") == [4]


def test_an_indexer_after_a_bareword_prefix_stays_text() -> None:
    assert values("$s = 'abc'; Write-Output x$s[0]") == ["xabc[0]"]


def test_set_content_in_a_loop_writes_one_file_per_suffixed_name(tmp_path: Path) -> None:
    values(f"Set-Location '{tmp_path}'; "
           "for ($k = 1; $k -le 3; $k++) { Set-Content -Path MyVm$k.txt -Value $k }")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MyVm1.txt", "MyVm2.txt", "MyVm3.txt"]
    assert (tmp_path / "MyVm2.txt").read_text().strip() == "2"
