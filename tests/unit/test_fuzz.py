"""Property tests: random text and mutated valid snippets thrown at the parser and at the
interpreter. The parser always returns a result (an AST or a ParseError whose span lies in
the source); the interpreter never lets a Python exception escape and never hangs.

The interpreter runs sandboxed: natives disabled, a command table of cmdlets that neither
touch files nor processes nor sleep, redirections confined to a temporary directory, and a
per-example time budget enforced by ``Interpreter.request_stop`` from the test thread."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pjsh.commands import builtin_registry
from pjsh.lang.parser import parse
from pjsh.lang.source import ParseError
from pjsh.runtime.cmdlet import Registry
from pjsh.runtime.errors import ErrorRecord
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.runspace import INTERNAL_ERROR_ID, Runspace, RunspaceOptions, create_runspace
from pjsh.runtime.streams import ListSink

# Cmdlets that only compute: no file system, processes, sleeping or terminal.
SAFE_CMDLETS = (
    "Write-Output", "Write-Error", "Write-Warning", "Write-Verbose", "Write-Debug",
    "Write-Information", "Write-Host", "Write-Progress", "ForEach-Object", "Where-Object",
    "Select-Object", "Sort-Object", "Measure-Object", "Group-Object", "Format-Table",
    "Format-List", "Out-String", "Out-Null", "ConvertTo-Json", "ConvertFrom-Json",
    "Get-Location", "Get-Date",
)

SNIPPETS = (
    "$x = 1..5 | Where-Object { $_ -gt 2 }; \"n=$($x.Count)\"",
    "echo 2 + 3",
    "2 + 3 * 4 - 1",
    "function f { param($a, $b = 10) \"$a-$b\" }; f 1; f -b 3 -a 4",
    "function g { param([int]$n) $n + 1 }; g '41'; g abc",
    "function h { param([Parameter(Mandatory)]$Name) $Name }; h",
    "filter double { $_ * 2 }; 1,2,3 | double",
    "function p { begin { 'b' } process { \"p$_\" } end { 'e' } }; 1,2 | p",
    "$h = @{ a = 1; b = 'x' }; $h.a; $h['b']; $h.Count; $h.Keys",
    "$a = 1,2,3,4,5; $a[0]; $a[-1]; $a[1..3]; $a.Count",
    "@(1).Count; @().Count; $null.Count; ,(1,2)",
    "$s = 'hello'; $s.ToUpper(); $s.Length; 'a,b'.Split(','); $s.Replace('l', 'L')",
    "'abc' -eq 'ABC'; 'abc' -ceq 'ABC'; 5 -lt 10; 'b' -gt 'a'",
    "'hello' -like 'h*'; 'abc123' -match '(\\d+)'; $Matches[1]",
    "1,2,3 -contains 2; 2 -in 1,2,3; 1,2,3,4 -gt 2",
    "'a.b.c' -replace '\\.', '-'; 'a,b' -split ','; (1,2,3) -join '+'",
    "'{0}-{1:N2}' -f 'x', 3.14159",
    "$i = 1; $i++; $i--; $i += 5; $i -= 2; $i *= 3; $i %= 4; $i",
    "if (1 -gt 2) { 'a' } elseif ($true) { 'b' } else { 'c' }",
    "for ($i = 0; $i -lt 3; $i++) { $i }",
    "foreach ($x in 1..3) { if ($x -eq 2) { continue }; $x }",
    "$i = 0; while ($true) { $i++; if ($i -gt 3) { break } }; $i",
    "$i = 0; do { $i++ } while ($i -lt 5); do { $i-- } until ($i -le 0)",
    ":outer foreach ($a in 1..3) { foreach ($b in 1..3) { if ($b -eq 2) { continue outer } } }",
    "switch (2) { 1 {'one'} 2 {'two'} default {'d'} }",
    "switch -regex ('foo123') { '\\d+' { $Matches[0] } }",
    "try { throw 'boom' } catch { \"caught: $_\" } finally { 'fin' }",
    "try { $z = 0; 1 % $z } catch [System.DivideByZeroException] { 'dz' }",
    "throw 'uncaught'; 'after'",
    "Write-Error 'e1'; 'still'; Write-Error 'e2' -ErrorAction SilentlyContinue",
    "Write-Warning 'w' -WarningVariable wv; Write-Verbose 'v' -Verbose; $wv",
    "Write-Output 5 -OutVariable ov | Out-Null; $ov",
    "Write-Output a && Write-Output b; Write-Error x || Write-Output c",
    "'x' > $null; Write-Error 'z' 2> $null; Write-Error 'm' 2>&1",
    "'a' > o1.txt; 'b' >> o1.txt; Write-Warning 'w' 3> w.txt",
    "$sb = { param($x, $y) $x + $y }; & $sb 2 3; $sb.Invoke(4, 5)",
    "$n = 0; & { $n = 5 }; . { $n = 6 }; $n",
    "$env:PJSH_FUZZ = 'v'; \"$env:PJSH_FUZZ\"; $env:PJSH_FUZZ = $null",
    "$k = 5; echo MyVm$k \"tab`there\" 'lit $k'",
    "@\"\nline $(2 * 3)\n  two\n\"@",
    "@'\nraw $x\n'@",
    "[int]'42' + 1; [string]42; [double]'1.5'; [int]'abc'",
    "5 -is [int]; '5' -as [int]; [math]::Round(2.5); [math]::Pow(2, 10)",
    "$o = [pscustomobject]@{ Name = 'n'; Size = 3 }; $o.Size += 1; $o | Format-List",
    "1..20 | Sort-Object -Descending | Select-Object -First 3 | Measure-Object -Sum",
    "@{a=1}, @{a=2} | ConvertTo-Json | ConvertFrom-Json",
    "1..3 | ForEach-Object -Begin { 'b' } -Process { $_ } -End { 'e' }",
    "$a, $b = 1, 2; $global:g = 1; $script:s = 2",
    "function r($n) { if ($n -le 0) { return 0 }; $n + (r ($n - 1)) }; r 20",
    "1 -shl 3; 16 -shr 2; 6 -band 3; -bnot 0; !$true; -not $false",
    "<# block #> 'x' # line comment",
    "exit 3",
)

TEXT_ALPHABET = st.sampled_from(
    list("$@(){}[]'\"`|&;,.:-+*%!<>=#?_ \t\n") + list("abcdefxyzAEIN0129") +
    ["\u2013", "\u201c", "\u00e9", "\r\n", "-eq", "-and", "if", "foreach", "function", "{ $_ }",
     "..", "$(", "@(", "@{", "2>&1", "&&", "||", "param(", "try", "catch", "$x", "1..3", "/"])

# Characters a mutation may insert. '/' is left out so that no mutation can aim a redirection
# at an absolute path; the sandbox below refuses such writes anyway.
INSERTABLE = st.sampled_from(list("$@(){}[]'\"`|&;,.:-+*%!=#? \n") + list("ax1_"))


@st.composite
def mutated_snippets(draw: st.DrawFn) -> str:
    """A valid snippet (or two joined) with a few random edits."""
    text = draw(st.sampled_from(SNIPPETS))
    if draw(st.booleans()):
        text += draw(st.sampled_from(("\n", "; ", " | ", " && "))) + draw(st.sampled_from(SNIPPETS))
    for _ in range(draw(st.integers(0, 4))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        j = draw(st.integers(i, min(len(text), i + 8)))
        op = draw(st.sampled_from(("delete", "duplicate", "insert", "replace", "swap")))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(INSERTABLE) + text[i:]
        elif op == "replace":
            text = text[:i] + draw(INSERTABLE) + text[i + 1:]
        else:
            text = text[j:] + text[:j]
    return text


random_text = st.lists(TEXT_ALPHABET, max_size=40).map("".join)
inputs = st.one_of(random_text, mutated_snippets(), st.text(max_size=60))


# ---------------------------------------------------------------- parser

def check_parse(text: str) -> None:
    result = parse(text)
    if result.error is None:
        assert result.body is not None
    else:
        assert isinstance(result.error, ParseError)
        assert result.body is None
        span = result.error.span
        assert 0 <= span.start <= span.end <= len(text) + 1
        assert result.error.describe().startswith("ParserError:")
    for token in result.tokens:
        assert text[token.span.start:token.span.end] == token.text


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs)
def test_parser_never_raises_and_errors_point_into_the_source(text: str) -> None:
    check_parse(text)


@settings(max_examples=200, deadline=None)
@given(mutated_snippets())
def test_parser_prefix_of_valid_input_is_complete_incomplete_or_an_error(text: str) -> None:
    for cut in range(0, len(text) + 1, max(1, len(text) // 8)):
        check_parse(text[:cut])


# ---------------------------------------------------------------- interpreter

BUDGET = 2.0  # seconds per example before the stop hook fires
GRACE = 5.0  # after a stop request, how long the script may take to unwind


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[Registry, str]]:
    builtins = builtin_registry()
    reg = Registry()
    for name in SAFE_CMDLETS:
        cls = builtins.commands.get(name.lower())
        if cls is not None:
            reg.add(cls)
    with tempfile.TemporaryDirectory(prefix="pjsh-fuzz-") as tmp:
        yield reg, tmp


def sandboxed_runspace(registry: Registry, cwd: str) -> Runspace:
    return create_runspace(RunspaceOptions(
        host=MemoryHost(), registry=registry, cwd=cwd, env={"PATH": cwd, "HOME": cwd},
        natives_enabled=False, write_root=cwd))


def run_with_budget(rs: Runspace, text: str, budget: float = BUDGET) -> None:
    """Run text in a worker thread; stop it after ``budget`` seconds; fail on an escaped
    exception or a script that does not unwind after being stopped."""
    escaped: list[BaseException] = []

    def work() -> None:
        try:
            rs.run(text, out=ListSink())
        except BaseException as e:  # any escape is the failure we look for
            escaped.append(e)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(budget)
    waited = 0.0
    while worker.is_alive() and waited < GRACE:
        # Repeated requests also interrupt a `finally` block that loops.
        rs.interp.request_stop()
        worker.join(0.1)
        waited += 0.1
    assert not worker.is_alive(), f"hang: {text!r}"
    if escaped:
        raise AssertionError(f"{type(escaped[0]).__name__} escaped for {text!r}") from escaped[0]
    host = rs.session.host
    assert isinstance(host, MemoryHost)
    assert all(isinstance(e, ErrorRecord) for e in host.errors)
    internal = [e.message for e in host.errors if e.FullyQualifiedErrorId == INTERNAL_ERROR_ID]
    assert not internal, f"{internal[0]} for {text!r}"


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=inputs)
def test_interpreter_never_raises_nor_hangs(sandbox: tuple[Registry, str], text: str) -> None:
    registry, cwd = sandbox
    run_with_budget(sandboxed_runspace(registry, cwd), text)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(texts=st.lists(inputs, min_size=2, max_size=4))
def test_a_session_survives_a_sequence_of_bad_inputs(sandbox: tuple[Registry, str],
                                                    texts: list[str]) -> None:
    registry, cwd = sandbox
    rs = sandboxed_runspace(registry, cwd)
    for text in texts:
        run_with_budget(rs, text)
    sink = ListSink()
    rs.run("'alive'", out=sink)
    assert sink.items == ["alive"]


def test_endless_loops_are_stopped_by_the_budget(sandbox: tuple[Registry, str]) -> None:
    registry, cwd = sandbox
    for text in ("while (1) {}", "for (;;) { }", "do { } while ($true)",
                 "try { while ($true) { } } finally { while ($true) { } }",
                 "1..100000000 | ForEach-Object { $_ }"):
        rs = sandboxed_runspace(registry, cwd)
        started = time.monotonic()
        run_with_budget(rs, text, budget=0.2)
        assert time.monotonic() - started < 0.2 + GRACE


def test_the_sandbox_refuses_writes_outside_its_directory(sandbox: tuple[Registry, str]) -> None:
    registry, cwd = sandbox
    rs = sandboxed_runspace(registry, cwd)
    outside = os.path.join(os.path.dirname(cwd), "pjsh-fuzz-outside.txt")
    rs.run(f"'x' > '{outside}'; 'y' > inside.txt", out=ListSink())
    assert not os.path.exists(outside)
    assert os.path.exists(os.path.join(cwd, "inside.txt"))
    host = rs.session.host
    assert isinstance(host, MemoryHost)
    assert [e.message for e in host.errors] == [f"Access to the path '{outside}' is denied."]
