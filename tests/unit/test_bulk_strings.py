"""The bulk fast paths (blocks of plain strings from Get-Content and Receive-Job into
Measure-Object, Out-File, Select-Object and Where-Object) give exactly what the one-object-at-a-
time path gives: the same objects, errors, files and job state, with pjsh.runtime.fastpath on
and off."""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pjsh.commands.items import split_delimited, split_delimited_blocks, split_line_blocks, split_lines
from pjsh.runtime import fastpath
from pjsh.runtime.runspace import Runspace
from pjsh.runtime.serialize import dumps
from tests.harness import new_runspace, run


def _shape(values: list[object]) -> list[tuple[str, str]]:
    """Objects compared by type and serialized form (measure results are records)."""
    return [(type(v).__name__, dumps(v)) for v in values]


def both(rs: Runspace, text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    """Run ``text`` with the fast paths, then without: (objects, errors) of each."""
    results = []
    original = fastpath.ENABLED
    for fast in (True, False):
        monkeypatch.setattr(fastpath, "ENABLED", fast)
        r = run(text, rs)
        results.append((_shape(r.output), [(e.message, e.FullyQualifiedErrorId)
                                           for e in r.errors]))
    monkeypatch.setattr(fastpath, "ENABLED", original)
    return results[0], results[1]


CONSUMERS = (
    "",
    "| Measure-Object",
    "| Measure-Object -Line -Word -Character",
    "| Measure-Object -Character -IgnoreWhiteSpace",
    "| Measure-Object -Sum",
    "| Measure-Object -Property Length -Maximum",
    "| Select-Object -First 2",
    "| Select-Object -Last 2",
    "| Select-Object -Skip 1 -First 3",
    "| Select-Object -Unique",
    "| Where-Object Length -gt 2",
    "| Where-Object Length -gt 2 | Select-Object -First 1",
    "| Where-Object Length -match '['",
    "| Where-Object Length -lt 3 -ErrorAction SilentlyContinue",
    "| Where-Object { $_ -like '*a*' }",
    "| Where-Object -Not",
    "| ForEach-Object Length",
)


# ---- line splitting ------------------------------------------------------------------------

_TEXT = st.text(alphabet=st.sampled_from(list("ab \t\r\n\u00e9\u2028\x0b;")), max_size=60)


@settings(max_examples=300, deadline=None)
@given(_TEXT, st.lists(st.integers(min_value=1, max_value=7), max_size=10))
def test_block_line_splitting_equals_line_by_line_at_any_chunking(text: str,
                                                                  cuts: list[int]) -> None:
    chunks = []
    rest = text
    for cut in cuts:
        chunks.append(rest[:cut])
        rest = rest[cut:]
    chunks.append(rest)
    assert [x for block in split_line_blocks(chunks) for x in block] == list(split_lines(chunks))
    assert [x for block in split_delimited_blocks(chunks, ";") for x in block] == \
        list(split_delimited(chunks, ";"))


# ---- Get-Content -----------------------------------------------------------------------------

_ENCODINGS = {
    "utf8": ("utf-8", b""),
    "utf8BOM": ("utf-8", codecs.BOM_UTF8),
    "unicode": ("utf-16-le", codecs.BOM_UTF16_LE),
    "bigendianunicode": ("utf-16-be", codecs.BOM_UTF16_BE),
    "utf32": ("utf-32-le", codecs.BOM_UTF32_LE),
    "ascii": ("ascii", b""),
}

_LINE = st.text(alphabet=st.sampled_from(list("abc xyz\t\u00e9\u4e2d\u2028\x0b")), max_size=12)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runspace, Path]]:
    """One runspace for the property test's examples (a runspace per example is slow)."""
    directory = tmp_path_factory.mktemp("fast")
    rs = new_runspace(cwd=str(directory))
    yield rs, directory
    rs.session.shutdown()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_LINE, max_size=12),
       newline=st.sampled_from(["\n", "\r\n", "\r"]),
       final=st.booleans(),
       encoding=st.sampled_from(sorted(_ENCODINGS)),
       bom=st.booleans(),
       invalid=st.booleans())
def test_get_content_pipelines_give_the_same_on_both_paths(
        shared: tuple[Runspace, Path], monkeypatch: pytest.MonkeyPatch, lines: list[str],
        newline: str, final: bool, encoding: str, bom: bool, invalid: bool) -> None:
    rs, directory = shared
    codec, mark = _ENCODINGS[encoding]
    text = newline.join(lines) + (newline if final and lines else "")
    data = (mark if bom else b"") + text.encode(codec, "replace")
    if invalid and codec == "utf-8":
        data += b"\xff\xfe tail"
    path = directory / "in.txt"
    path.write_bytes(data)
    for options in ("", f"-Encoding {encoding}", "-Tail 2", "-TotalCount 3", "-Raw",
                    "-Delimiter ';'", "-ReadCount 2"):
        for consumer in CONSUMERS:
            fast, slow = both(rs, f"Get-Content in.txt {options} {consumer}", monkeypatch)
            assert fast == slow, (options, consumer)
    for fast_on in (True, False):
        monkeypatch.setattr(fastpath, "ENABLED", fast_on)
        run(f"Get-Content in.txt | Out-File out-{fast_on}.txt", rs)
        run(f"Get-Content in.txt -Encoding {encoding} | Out-File -Append out-{fast_on}.txt", rs)
    monkeypatch.setattr(fastpath, "ENABLED", True)
    assert (directory / "out-True.txt").read_bytes() == (directory / "out-False.txt").read_bytes()


def test_out_file_of_strings_mixed_with_objects_is_the_formatted_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rs = new_runspace(cwd=str(tmp_path))
    try:
        for fast in (True, False):
            monkeypatch.setattr(fastpath, "ENABLED", fast)
            run("'a', 'b' | Out-File s.txt; "
                "'x', [pscustomobject]@{A = 1}, 'y', 'z' | Out-File -Width 40 m.txt; "
                "'p', 'q' | Out-File -NoNewline n.txt", rs)
            os.rename(tmp_path / "s.txt", tmp_path / f"s-{fast}.txt")
            os.rename(tmp_path / "m.txt", tmp_path / f"m-{fast}.txt")
            os.rename(tmp_path / "n.txt", tmp_path / f"n-{fast}.txt")
        for name in ("s", "m", "n"):
            assert (tmp_path / f"{name}-True.txt").read_bytes() == \
                (tmp_path / f"{name}-False.txt").read_bytes()
        assert (tmp_path / "s-True.txt").read_bytes() == b"a\nb\n"
    finally:
        rs.session.shutdown()


# ---- Receive-Job -----------------------------------------------------------------------------

@pytest.fixture
def rs(tmp_path: Path) -> Iterator[Runspace]:
    runspace = new_runspace(cwd=str(tmp_path))
    yield runspace
    runspace.session.shutdown()


_NATIVE = r"printf 'one\r\ntwo\n\nthr\377ee\nfour a\nfive\nlast'"


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_received_native_lines_give_the_same_on_both_paths(
        rs: Runspace, monkeypatch: pytest.MonkeyPatch, consumer: str) -> None:
    r = run(f"$j = Start-Job {{ {_NATIVE} }}; $null = Wait-Job $j", rs)
    assert r.errors == []
    fast, slow = both(rs, f"Receive-Job $j -Keep {consumer}", monkeypatch)
    assert fast == slow


def test_received_native_output_to_out_file_is_the_same_on_both_paths(
        rs: Runspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run(f"$j = Start-Job {{ {_NATIVE} }}; $null = Wait-Job $j", rs)
    for fast in (True, False):
        monkeypatch.setattr(fastpath, "ENABLED", fast)
        run(f"Receive-Job $j -Keep | Out-File r-{fast}.txt", rs)
    assert (tmp_path / "r-True.txt").read_bytes() == (tmp_path / "r-False.txt").read_bytes()
    # Lines, as pwsh reads a native's output: a CRLF ends a line like an LF does.
    assert (tmp_path / "r-True.txt").read_bytes() == \
        b"one\ntwo\n\nthr\xff" + b"ee\nfour a\nfive\nlast\n"


def test_received_native_lines_are_the_lines_the_foreground_gets(rs: Runspace) -> None:
    """A CRLF ends a line in both (the CR goes with the LF); a lone CR stays in its line."""
    native = r"printf 'a\r\nb\r\nc\rd\n\r\n'"
    run(f"$j = Start-Job {{ {native} }}; $null = Wait-Job $j", rs)
    received = [str(x) for x in run("Receive-Job $j", rs).output]
    foreground = [str(x) for x in run(native, rs).output]
    assert received == foreground == ["a", "b", "c\rd", ""]


def test_select_first_on_received_lines_leaves_the_rest_in_the_job_on_both_paths(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    for fast in (True, False):
        monkeypatch.setattr(fastpath, "ENABLED", fast)
        rs = new_runspace(cwd=str(tmp_path))
        try:
            run(f"$j = Start-Job {{ {_NATIVE} }}; $null = Wait-Job $j", rs)
            first = [str(x) for x in run("Receive-Job $j | Where-Object Length -gt 0 | "
                                         "Select-Object -First 2", rs).output]
            more = run("$j.HasMoreData", rs).output
            rest = [str(x) for x in run("Receive-Job $j", rs).output]
            seen.append((first, more, rest, run("$j.HasMoreData", rs).output))
        finally:
            rs.session.shutdown()
    assert seen[0] == seen[1]
    first, more, rest, after = seen[0]
    assert len(first) == 2 and more == [True] and after == [False]
    assert rest[-3:] == ["four a", "five", "last"] and len(rest) == 5
