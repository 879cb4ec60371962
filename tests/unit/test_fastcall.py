"""Compiled function calls and per-object script blocks (pjsh.runtime.fastcall): the name is
resolved on every call, so redefinition and shadowing take effect at once; flow control,
recursion limits, errors and $? are the general path's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pjsh.lang.parser import parse
from pjsh.runtime import fastpath
from pjsh.runtime.compiled import STMT_KEY
from pjsh.runtime.fastcall import CALL_MARK
from pjsh.runtime.streams import ListSink
from tests.harness import new_runspace, run
from tests.unit.test_fastpath import assert_same


@pytest.fixture(autouse=True)
def _fast_paths_on() -> Iterator[None]:
    previous = fastpath.set_enabled(True)
    yield
    fastpath.set_enabled(previous)


def test_a_call_statement_is_compiled_to_the_call_closure() -> None:
    text = "function f($x) { $x + 1 }\nf 1"
    parsed = parse(text)
    assert parsed.body is not None
    sink = ListSink()
    new_runspace().run(text, out=sink, parsed=parsed)
    assert sink.items == [2]
    assert getattr(parsed.body.statements[1].__dict__[STMT_KEY], CALL_MARK, False)


def test_a_redefined_function_is_called_in_its_new_form_by_the_same_statement() -> None:
    r = run("$n = 0\nforeach ($i in 1..3) { f $i; if ($i -eq 2) { function f($x) { \"new $x\" } } }",
            new_runspace())
    assert r.messages[0].startswith("The term 'f' is not recognized")
    r = run("function f($x) { \"old $x\" }\n"
            "foreach ($i in 1..3) { f $i; if ($i -eq 1) { function f($x) { \"new $x\" } } }")
    assert r.output == ["old 1", "new 2", "new 3"]


def test_an_alias_defined_later_shadows_the_function_at_the_next_call() -> None:
    r = run("function f { 'function' }\n"
            "foreach ($i in 1..2) { f $i; Set-Alias f Write-Output }")
    assert r.output == ["function", 2]


def test_a_function_of_an_inner_scope_shadows_the_global_one_only_there() -> None:
    r = run("function f { 'global' }\nfunction t { f; function f { 'local' }; f }\nt\nf")
    assert r.output == ["global", "local", "global"]


def test_a_function_defined_later_shadows_a_cmdlet_at_the_next_call() -> None:
    r = run("foreach ($i in 1..2) { Write-Output \"x$i\"; "
            "function Write-Output { 'mine' } }")
    assert r.output == ["x1", "mine"]


def test_recursion_past_the_call_depth_limit_stops_the_script_with_the_overflow_error() -> None:
    r = run("function r($n) { r ($n + 1) }\nr 0\n'after'")
    assert r.output == []
    assert r.messages == ["The script failed due to call depth overflow."]


def test_recursion_within_the_limit_returns_values() -> None:
    r = run("function fib($n) { if ($n -lt 2) { return $n }; (fib ($n - 1)) + (fib ($n - 2)) }\n"
            "fib 15")
    assert r.output == [610]


def test_continue_and_break_in_foreach_object_act_on_the_enclosing_loop() -> None:
    r = run("foreach ($i in 1..2) { 1..5 | ForEach-Object { if ($_ -eq 2) { continue }; $_ }; "
            "\"i$i\" }\n'end'")
    assert r.output == [1, 1, "end"]
    r = run("foreach ($i in 1..2) { 1..5 | ForEach-Object { if ($_ -eq 3) { break }; $_ }; "
            "\"i$i\" }\n'end'")
    assert r.output == [1, 2, "end"]


def test_return_in_foreach_object_ends_only_that_object() -> None:
    r = run("1..4 | ForEach-Object { if ($_ -eq 2) { return }; $_ }")
    assert r.output == [1, 3, 4]


def test_foreach_object_restores_the_callers_dollar_underscore() -> None:
    r = run("$_ = 'outer'\n1..2 | ForEach-Object { $_ } | Where-Object { $_ -gt 1 }\n$_")
    assert r.output == [2, "outer"]


def test_errors_in_a_called_function_set_dollar_question_false_and_keep_their_position() -> None:
    r = run("function f {\n  Write-Error 'bad'\n  'out'\n}\n$x = f\n$x\nf\n$?")
    assert r.output == ["out", "out", False]
    assert r.messages == ["bad", "bad"]
    assert [e.InvocationInfo.ScriptLineNumber for e in r.errors] == [2, 2]


def test_a_binding_error_of_a_compiled_call_points_at_the_argument() -> None:
    r = run("function f([int]$a) { $a }\n'x'\nf 'notanumber'\n'next'")
    assert r.output == ["x", "next"]
    assert r.errors[0].FullyQualifiedErrorId == "ParameterArgumentTransformationError,f"


def test_positional_binding_learnt_from_one_call_applies_defaults_each_call() -> None:
    r = run("$k = 0\nfunction f($a, $b = ($script:k += 1)) { \"$a $b\" }\n"
            "foreach ($i in 1..3) { f $i }\nf 9 8")
    assert r.output == ["1 1", "2 2", "3 3", "9 8"]


# ---------------------------------------------------------------- binding plans, both ways
DECLS = {  # parameter -> the named arguments that fit it
    "$a": ["-a 2", "-a:$i", "-A @(1, 2)"], "[int]$b": ["-b 3", "-b '4'", "-b:$i"],
    "$c = ($script:k += 1)": ["-c 4"], "[switch]$s": ["-s", "-s:$false", "-s:1"],
    "[string]$t = 'd'": ["-t 'T'", "-T:5"], "[Parameter(Mandatory)]$m": ["-m 6"],
    "[Parameter(Position=5)]$p": ["-p 7"], "$Args2": ["-args2 8", "-ar $i"],
    "[double]$d = 1.5": ["-d 2", "-D:$i"],
}
POSITIONAL = ["1", "'x'", "$i", "$null", "@(1, 2)", "'7'"]
MISFITS = ["-b 'no'", "-d:'z'", "-zz 1", "-a", "-", "--", "-- -a", "-b:$null", "-s 'v'"]


@st.composite
def declared_and_calls(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    """A param() list, and calls whose arguments mostly fit it."""
    params = draw(st.lists(st.sampled_from(sorted(DECLS)), max_size=4, unique=True))
    fitting = [a for p in params for a in DECLS[p]] + POSITIONAL
    pool = st.sampled_from(fitting * 4 + MISFITS)
    calls = draw(st.lists(st.lists(pool, max_size=4), min_size=1, max_size=3))
    return params, calls


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(declared=declared_and_calls(),
       second=st.lists(st.sampled_from(sorted(DECLS)), max_size=4, unique=True),
       form=st.sampled_from(["f {0}", "$r = f {0}; $r", "$r += f {0}; \"$r\""]),
       redefine=st.booleans())
def test_random_calls_bind_the_same_as_the_binder(declared: tuple[list[str], list[list[str]]],
                                                   second: list[str], form: str,
                                                   redefine: bool) -> None:
    """Named, positional and switch arguments, defaults evaluated per call, conversions and
    binding errors, called repeatedly from one statement (so a learnt plan binds the later
    calls) and with the function redefined between calls: the fast paths change nothing."""
    first, calls = declared
    body = "{ ,@($a, $b, $c, $s, $t, $m, $p, $Args2, $d, $args) }"  # values, types shown
    lines = ["$k = 0; $r = ''", f"function f({', '.join(first)}) {body}"]
    for args in calls:
        call = form.format(" ".join(args))
        again = f"function f({', '.join(second)}) {body}" if redefine else ""
        lines.append(f"foreach ($i in 1..3) {{ {call}; $?; if ($i -eq 2) {{ {again} }} }}")
    lines.append("$k")
    assert_same("\n".join(lines))


@pytest.mark.parametrize("text", [
    "function f { Write-Error 'e'; @{ a = 1 } }\n$r = 1\ntry { $r += f } catch { \"caught $?\" }",
    "function f { @{ a = 1 } }\n$r = 1\ntry { $r += f } catch { \"caught $?\" }",
    "function f { Write-Error 'e' }\n$r = f; $?; $r = f 2>$null; $?",
    "function f($a) { $a }\nforeach ($i in 1..3) { $r = f -a:$i; $r; f -a }",
    "function f([int]$a) { $a }\nforeach ($i in 1, 'x', 3) { $r = f -a $i; \"$r $?\" }",
    "function f($a, $b) { \"$a|$b|$args\" }\nforeach ($i in 1..3) { f $i -b 2 3 }",
    "function f { param($a) \"$a\" }\nforeach ($i in 1..2) { f -a $i; function f { 'new' } }",
])
def test_call_edges_give_the_same_output_both_ways(text: str) -> None:
    assert_same(text)


def test_one_call_site_run_in_two_runspaces_calls_each_ones_function() -> None:
    """A call site keeps its last resolution per caller scope and session: the same parsed
    tree (thread jobs share theirs) run in two runspaces calls each runspace's own f."""
    first, second = new_runspace(), new_runspace()
    first.run("function f { 'first' }", out=ListSink())
    second.run("function f { 'second' }", out=ListSink())
    text = "foreach ($i in 1..2) { f }"
    parsed = parse(text)
    seen = []
    for rs in (first, second, first, second):
        sink = ListSink()
        rs.run(text, out=sink, parsed=parsed)
        seen.append(sink.items)
    assert seen == [["first"] * 2, ["second"] * 2, ["first"] * 2, ["second"] * 2]


def test_a_function_defined_in_another_runspace_meanwhile_leaves_this_one_calling_its_own() -> None:
    first, second = new_runspace(), new_runspace()
    text = "function f { 'mine' }\nforeach ($i in 1..3) { f }"
    parsed = parse(text)
    sink = ListSink()
    first.run(text, out=sink, parsed=parsed)
    second.run("function f { 'theirs' }", out=ListSink())
    first.run("foreach ($i in 1..2) { f }", out=sink)
    assert sink.items == ["mine"] * 5
