"""The interpreter's fast paths (pjsh.runtime.fastpath: per-stage binding plans, compiled
statements and expressions, cached script binders) give exactly what the general code gives:
the same output text, objects, errors and ``$?``, for random small scripts run both ways."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pjsh.runtime import fastpath
from pjsh.runtime.streams import ListSink
from tests.harness import run, show


def both_ways(text: str) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """Run ``text`` with the fast paths off, then on (fresh runspaces); what each showed."""
    results = []
    previous = fastpath.ENABLED
    try:
        for on in (False, True):
            fastpath.set_enabled(on)
            shown = show(text + "\n$?")
            ran = run(text)
            results.append((shown.text, [e.message for e in shown.errors],
                            [e.FullyQualifiedErrorId for e in shown.errors],
                            [repr(o) for o in ran.output], [e.message for e in ran.errors]))
    finally:
        fastpath.set_enabled(previous)
    return tuple(results[0]), tuple(results[1])


def assert_same(text: str) -> None:
    """The fast paths change nothing visible for ``text``."""
    slow, fast = both_ways(text)
    assert fast == slow, text


@pytest.fixture(autouse=True)
def _restore_switch() -> Iterator[None]:
    previous = fastpath.ENABLED
    yield
    fastpath.set_enabled(previous)


# ---------------------------------------------------------------- generators
VALUES = st.sampled_from([
    "0", "1", "2", "-3", "7", "2.5", "-0.5", "'a'", "'10'", "''", "' '", "$null", "$true",
    "$false", "@()", "@(1, 2)", "'x', 'y'", "[int]4", "[double]1e300", "1e308",
    "123456789012345678901234567890", "[pscustomobject]@{ Name = 'n'; Length = 3 }",
    "@{ a = 1 }", "(Get-Date 0)",
])
OPERATORS = st.sampled_from(["+", "-", "*", "/", "%", "-eq", "-ne", "-lt", "-le", "-gt", "-ge",
                             "-ceq", "-ilt", "-like", "-band", "-and", "-or", "-match"])
SOURCES = st.sampled_from([
    "1..5", "5..1", "1..1", "@(3, 1, 2)", "'b', 'a', 'c'", "@(1, 'two', $null, 3.5, $true)",
    "@([pscustomobject]@{ Name = 'x'; Length = 2 }, [pscustomobject]@{ Name = 'y'; Length = 9 })",
    "@(@(1, 2), 3)", "$null", "@()", "0..-2", "'10', '9', '100'",
])
STAGES = st.sampled_from([
    "ForEach-Object { $_ * 2 }", "ForEach-Object { $_ + 1 }", "ForEach-Object { $_ -gt 2 }",
    "ForEach-Object { $_; $_ }", "ForEach-Object { }", "ForEach-Object Length",
    "ForEach-Object -Begin { 'b' } -Process { $_ } -End { 'e' }",
    "Where-Object { $_ -lt 3 }", "Where-Object Length -gt 2", "Measure-Object",
    "Measure-Object -Sum", "Measure-Object -Maximum -Minimum", "Measure-Object -Sum -Average",
    "Measure-Object Length -Sum", "Select-Object -First 2", "Select-Object -Last 1",
    "Sort-Object", "Sort-Object -Descending", "Out-String", "Write-Output",
    "Group-Object", "f", "g", "h 2", "ForEach-Object { $s += $_ }",
])
FUNCTIONS = (
    "function f { process { $_ * 3 } }\n"
    "function g([Parameter(ValueFromPipeline)]$x) { process { \"<$x>\" } }\n"
    "function h($n, [Parameter(ValueFromPipeline)]$v) { process { $v * $n } }\n"
    "$s = 0\n"
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(left=VALUES, op=OPERATORS, right=VALUES)
def test_binary_operators_give_the_same_values_and_errors(left: str, op: str, right: str) -> None:
    assert_same(f"{left} {op} {right}\n$x = {left}\n$x {op[0] if op[0] in '+-*/%' else '+'}= "
                f"{right}\n$x")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=SOURCES, stages=st.lists(STAGES, min_size=1, max_size=3))
def test_random_pipelines_give_the_same_output(source: str, stages: list[str]) -> None:
    assert_same(FUNCTIONS + " | ".join([source, *stages]) + "\n$s")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=SOURCES, body=st.sampled_from([
    "$s += $i", "$s = $s + $i", "$s -= $i", "$s *= 2", "$s = $i", "$i", "if ($i -gt 1) { break }",
    "if ($i -eq 1) { continue }; $i", "$s += f2 $i", "$null = $i", "$t = $i; $t",
]))
def test_loops_give_the_same_output(source: str, body: str) -> None:
    assert_same("function f2($a) { $a + 1 }\n$s = 0\n"
                f"foreach ($i in {source}) {{ {body} }}\n$s\n$i")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=st.lists(VALUES, max_size=4), decl=st.sampled_from([
    "($a, $b)", "([int]$a, $b)", "([string]$a)", "($a = 5, $b = $a)", "()",
    "([Parameter(Mandatory)]$a)", "([switch]$sw, $a)", "($a, [Parameter(ValueFromRemainingArguments)]$rest)",
]))
def test_function_calls_bind_the_same(args: list[str], decl: str) -> None:
    call = " ".join(f"({a})" for a in args)
    assert_same(f"function f{decl} {{ \"[$a][$b][$args][$rest][$sw]\" }}\nf {call}\n"
                f"$r = f {call}\n$r")


@pytest.mark.parametrize("text", [
    "$r = Write-Output -NoEnumerate; $r | ForEach-Object { 'got' }",  # AutomationNull
    "$n = 1..3 | Where-Object { $_ -gt 5 }; $n | ForEach-Object { 'x' }; @($n).Count",
    "1..3 | ForEach-Object { $_ } | Select-Object -First 1; 'after'",
    "$x = 1..3; $x[1]; $x.Count; $PSItem; $?",
    "function r { return 5; 6 }; r; $y = r; $y",
    "$a = 'A'; $A; ${a}; $b = $null; $b += 1; $b",
    "$i = 0; $i++; $i; ++$i; $i--; $i",
    "$h = @{}; $h.k = 1; $h.k += 2; $h.k",
    "1..3 | ForEach-Object { throw 'boom' }; 'next'",
    "$ErrorActionPreference = 'Stop'; try { 1 / 0 } catch { 'caught' }",
    "foreach ($true in 1..2) { 'x' }",
    "foreach ($null in 1..2) { 'x' }",
    "$x = 'a'; $x * 3; $x + 1; 1 + $x",
    "'abc' | ForEach-Object Length | Measure-Object -Sum",
    "Get-Date 0 | Measure-Object -Maximum",
])
def test_edge_scripts_give_the_same_output(text: str) -> None:
    assert_same(text)


def test_the_switch_turns_the_compiled_path_off() -> None:
    """With the switch off no closure is made on the syntax tree."""
    from pjsh.lang.parser import parse
    from pjsh.runtime.compiled import STMT_KEY
    from tests.harness import new_runspace

    previous = fastpath.set_enabled(False)
    try:
        text = "$x = 1 + 2"
        parsed = parse(text)
        assert parsed.body is not None
        new_runspace().run(text, out=ListSink(), parsed=parsed)
        assert STMT_KEY not in parsed.body.statements[0].__dict__
    finally:
        fastpath.set_enabled(previous)


def test_a_compiled_tree_still_pickles() -> None:
    """Closures cached on nodes are left out of a pickled tree (job output may hold blocks)."""
    import pickle

    from pjsh.lang.parser import parse
    from tests.harness import new_runspace

    text = "$x = 1 + 2; $x * 3"
    parsed = parse(text)
    body = parsed.body
    assert body is not None
    new_runspace().run(text, out=ListSink(), parsed=parsed)
    assert "_c_stmt" in body.statements[0].__dict__
    again = pickle.loads(pickle.dumps(body))
    assert again == body
    assert not any(k.startswith("_c_") for k in again.statements[0].__dict__)


# ---------------------------------------------------------------- calls and per-object blocks
FUNCTION_BODIES = st.sampled_from([
    "{ $a }", "{ \"[$a][$b][$args]\" }", "{ param($a, $b = 'd') \"$a/$b/$($args.Count)\" }",
    "{ param([int]$a) $a * 2 }", "{ param([Parameter(Mandatory)]$a) $a }",
    "{ param([switch]$s, $a) \"$s $a\" }", "{ return $a; 'never' }", "{ }",
    "{ begin { 'b' } process { \"p[$_]\" } end { \"e[$($input.Count)]\" } }",
    "{ process { \"p[$_]\" } }", "{ end { $args } }", "{ Write-Error \"bad $a\"; 'after' }",
    "{ throw \"thrown $a\" }", "{ 1 / $a }", "{ $a; $a }", "{ $null }", "{ @() }",
    "{ param($a) $args; $a }", "{ $script:s += 1; $s }", "{ $s = 100; $s }",
])
CALL_ARGS = st.sampled_from([
    "", "1", "0", "'x'", "1 2", "1 2 3", "-a 4", "-a:5 6", "-s", "-s 7", "-b 1 -a 2", "-c 1",
    "-- -a", "$null", "@(1, 2)", "(1 + 1)", "$s",
])
CALL_FORMS = st.sampled_from([
    "f {args}", "$r = f {args}; $r", "$r += f {args}; $r", "$r = f {args}; $r.Count",
    "foreach ($i in 1..2) {{ f {args} }}", "& f {args}", "f {args} | ForEach-Object {{ \"<$_>\" }}",
    "filter f {{ \"filtered[$_]\" }}; f {args}", "function g {{ \"g[$args]\" }}; Set-Alias f g; f {args}",
    "function f {{ 'redefined' }}; f {args}", "$x = @(f {args}); $x.Count",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=FUNCTION_BODIES, calls=st.lists(st.tuples(CALL_FORMS, CALL_ARGS), min_size=1,
                                            max_size=3))
def test_random_function_calls_give_the_same_output(body: str,
                                                     calls: list[tuple[str, str]]) -> None:
    lines = [f"$s = 1; $r = 0; function f {body}"]
    lines += [form.format(args=args) + "; $?" for form, args in calls]
    assert_same("\n".join(lines))


BLOCKS = st.sampled_from([
    "{ $_ * 2 }", "{ $_ }", "{ $PSItem }", "{ $_; $_ }", "{ }", "{ if ($_ -eq 2) { return }; $_ }",
    "{ if ($_ -eq 2) { continue }; $_ }", "{ if ($_ -eq 3) { break }; $_ }",
    "{ Write-Error \"e$_\"; $_ }", "{ throw \"t$_\" }", "{ 1 / $_ }", "{ $t += $_; $t }",
    "{ $_ | ForEach-Object { $_ + 10 } }", "{ $_ -gt 1 }", "{ $null }", "{ @($_, $_) }",
    "{ f2 $_ }",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=SOURCES, cmd=st.sampled_from(["ForEach-Object", "Where-Object", "%", "?"]),
       block=BLOCKS, tail=st.sampled_from(["", " | Measure-Object -Sum", " | Select-Object -First 1",
                                           " | Sort-Object"]),
       wrap=st.sampled_from(["{0}", "foreach ($i in 1..2) {{ {0}; \"i$i\" }}",
                             "$r = {0}; $r", "function w {{ {0} }}; w"]))
def test_random_per_object_blocks_give_the_same_output(source: str, cmd: str, block: str,
                                                       tail: str, wrap: str) -> None:
    pipeline = f"{source} | {cmd} {block}{tail}"
    assert_same("function f2($a) { $a * 3 }; $t = 0; $_ = 'outer'\n" + wrap.format(pipeline)
                + "\n$_; $t")


# ---------------------------------------------------------------- control flow
CONDITIONS = st.sampled_from([
    "$i -gt 1", "$i", "$null", "'false'", "''", "@()", "@(0)", "@(0, 0)", "0", "$s", "$true",
    "(1 / 0)", "nosuchcmd", "Write-Output 0", "$k -lt 2", "$s -eq 2",
])
SIMPLE = st.sampled_from([
    "$s += 1", "\"i=$i\"", "$i", "'x'", "1 / 0", "throw 'boom'", "nosuchcmd", "break",
    "continue", "break a", "continue a", "break b", "continue nolabel", "$k", "Write-Output $s",
    "return", "$s", "$null = 5", "if ($s -gt 5) { break }",
])
LABELS = st.sampled_from(["", ":a ", ":b "])


# Every loop body starts here: nested loops share their counters (an inner `$w = 0` can keep
# an outer while going), so a budget of iterations across the script ends them all.
GUARD = "$g++; if ($g -gt 40) { throw 'budget' }; "


def _statement(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One compound statement whose body is 1-3 of ``children``."""
    body = st.lists(children, min_size=1, max_size=3).map(lambda b: GUARD + "; ".join(b))
    return st.one_of(
        st.tuples(LABELS, body).map(lambda t: f"{t[0]}foreach ($i in 1..3) {{ {t[1]} }}"),
        st.tuples(LABELS, body).map(lambda t: f"{t[0]}for ($k = 0; $k -lt 3; $k++) {{ {t[1]} }}"),
        st.tuples(LABELS, body).map(
            lambda t: f"$w = 0; {t[0]}while ($w -lt 3) {{ $w++; {t[1]} }}"),
        st.tuples(LABELS, body).map(
            lambda t: f"$d = 0; {t[0]}do {{ $d++; {t[1]} }} while ($d -lt 3)"),
        st.tuples(CONDITIONS, body).map(lambda t: f"if ({t[0]}) {{ {t[1]} }}"),
        st.tuples(CONDITIONS, body, CONDITIONS, body, body).map(
            lambda t: f"if ({t[0]}) {{ {t[1]} }} elseif ({t[2]}) {{ {t[3]} }} else {{ {t[4]} }}"),
    )


STATEMENTS = st.recursive(SIMPLE, _statement, max_leaves=8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statements=st.lists(STATEMENTS, min_size=1, max_size=3),
       wrap=st.sampled_from(["{0}", "function w {{ {0}; 'end of w' }}; w; 'after w'",
                             "try {{ {0} }} catch {{ \"caught $_\" }}",
                             "$ErrorActionPreference = 'Stop'; {0}",
                             "$r = & {{ {0} }}; $r.Count"]))
def test_random_control_flow_gives_the_same_output(statements: list[str], wrap: str) -> None:
    """Loops, labels, break/continue, conditions and errors run both ways alike."""
    assert_same("$s = 0; $k = 5; $i = 9; $g = 0\n" + wrap.format("; ".join(statements))
                + "\n$s; $i; $k")


@pytest.mark.parametrize("text", [
    "function r($n) { if ($n -gt 0) { foreach ($x in 1) { r ($n - 1) } } }; r 1000; 'after'",
    ":outer foreach ($i in 1..3) { foreach ($j in 1..3) { if ($j -eq 2) { continue outer }; "
    "\"$i$j\" } }",
    "foreach ($i in 1..3) { Remove-Variable i; $I = 7 }; Get-Variable i | ForEach-Object Name",
    "$n = Write-Output -NoEnumerate; foreach ($i in 1..2) { $i }; $n = $null; "
    "foreach ($n in 1..2) { }; $n",
    "foreach ($i in $null) { 'never' }; foreach ($i in 5) { $i }; foreach ($i in @()) { 'no' }",
    "for (;;) { $s++; if ($s -ge 3) { break } }; $s",
    "while ('') { 'never' }; while (@(1)) { 'once'; break }",
])
def test_control_flow_edges_give_the_same_output(text: str) -> None:
    assert_same(text)
