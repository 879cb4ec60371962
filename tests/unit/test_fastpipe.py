"""The per-object fast route (pjsh.runtime.fastpipe, ``Cmdlet.item_processor``): a
ForEach-Object block run straight on each object and Measure-Object summing in place give
exactly what the general path gives (binding per object, ``process``, the block invoker, the
output forwarder): the same output text, objects, errors and ``$?``, for random pipelines
run both ways; and a stop is still seen within an object."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pjsh.runtime import fastpath
from pjsh.runtime.cancel import CancelToken
from pjsh.runtime.streams import ListSink
from tests.harness import new_runspace, run
from tests.unit.test_fastpath import assert_same


@pytest.fixture(autouse=True)
def _restore_switch() -> Iterator[None]:
    previous = fastpath.ENABLED
    yield
    fastpath.set_enabled(previous)


SOURCES = st.sampled_from([
    "1..6", "1..1", "@()", "$null", "0..-2", "@(3, 0, 2)", "@(1, 'two', $null, 3.5, $true)",
    "'10', '9', ' ', ''", "@(@(1, 2), 3)", "@([pscustomobject]@{ Name = 'x'; Length = 2 }, 5)",
    "1..3 | Where-Object { $_ -ne 2 }", "1..9 | Select-Object -First 3", "@([int]4, [long]5, 2e3)",
])
STATEMENTS = st.sampled_from([
    "$_ * 2", "$_", "$PSItem", "$_ + 1", "$_ -gt 1", "$null", "@($_, $_)", "'s' + $_",
    "if ($_ -eq 2) { return }", "if ($_ -eq 3) { continue }", "if ($_ -eq 3) { break }",
    "return $_", "Write-Error \"e$_\"", "throw \"t$_\"", "1 / $_", "$t += $_", "$t",
    "$_ = 7", "$x = $_; $x", "[int]$_", "try { 1 / $_ } catch { 'c' }", "$input",
    "$_ | ForEach-Object { $_ + 10 }", "f2 $_", "$ErrorActionPreference = 'Stop'",
    "Write-Output $_ -NoEnumerate", "$?",
])
BLOCK_SHAPES = st.sampled_from([
    "{{ {0} }}", "{{ process {{ {0} }} }}", "{{ begin {{ 'b' }} process {{ {0} }} end {{ 'e' }} }}",
    "{{ param($p) {0} }}",
])
FOREACH_FORMS = st.sampled_from([
    "ForEach-Object {0}", "% {0}", "ForEach-Object -Process {0}",
    "ForEach-Object -Begin {{ 'begin' }} -Process {0} -End {{ 'end' }}",
    "ForEach-Object {0} -OutVariable ov", "ForEach-Object {0} -PipelineVariable pv",
    "ForEach-Object {0} -ErrorAction SilentlyContinue", "ForEach-Object {0} {0}",
])
TAILS = st.sampled_from([
    "", " | Measure-Object", " | Measure-Object -Sum", " | Measure-Object -Sum -Average",
    " | Measure-Object -Maximum", " | Measure-Object -AllStats", " | Measure-Object -Line",
    " | Measure-Object Length -Sum", " | Select-Object -First 2", " | Sort-Object",
    " | ForEach-Object { $_ }", " | ForEach-Object { \"<$_>\" } | Measure-Object",
    " | ForEach-Object { $pv }",
])
WRAPS = st.sampled_from([
    "{0}", "foreach ($i in 1..2) {{ {0}; \"i$i\" }}", "$r = {0}; $r", "function w {{ {0} }}; w",
    "try {{ {0} }} catch {{ \"caught $_\" }}", "& {{ {0} }}",
])
PRELUDE = "function f2($a) { $a * 3 }; $t = 0; $_ = 'outer'; $ov = 'old'\n"
AFTER = "\n$_; $PSItem; $t; $ov; $?"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=SOURCES, statements=st.lists(STATEMENTS, min_size=1, max_size=3),
       shape=BLOCK_SHAPES, form=FOREACH_FORMS, tail=TAILS, wrap=WRAPS)
def test_random_foreach_object_pipelines_give_the_same_output(
        source: str, statements: list[str], shape: str, form: str, tail: str,
        wrap: str) -> None:
    block = shape.format("; ".join(statements))
    pipeline = f"{source} | {form.format(block)}{tail}"
    assert_same(PRELUDE + wrap.format(pipeline) + AFTER)


MEASURE_INPUTS = st.lists(st.sampled_from([
    "1", "-2", "2.5", "0", "'3'", "'x'", "''", "$null", "$true", "@(1, 2)", "[long]9",
    "123456789012345678901", "1e308", "[double]::NaN", "(Get-Date 0)",
]), max_size=6)
MEASURES = st.sampled_from([
    "Measure-Object", "Measure-Object -Sum", "Measure-Object -Average", "Measure-Object -Sum -Average",
    "Measure-Object -Minimum", "Measure-Object -StandardDeviation", "Measure-Object -AllStats",
    "Measure-Object -Word", "measure -Sum -OutVariable mv",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=MEASURE_INPUTS, measure=MEASURES, via=st.sampled_from(["", " | ForEach-Object { $_ }"]))
def test_measure_object_of_random_inputs_gives_the_same_output(items: list[str], measure: str,
                                                               via: str) -> None:
    source = f"@({', '.join(items)})" if items else "@()"
    assert_same(f"{source}{via} | {measure}; $mv")


@pytest.mark.parametrize("text", [
    "1..5 | ForEach-Object { $_ * 2 } | Measure-Object -Sum",
    "1..3 | ForEach-Object { $_ } | Select-Object -First 1; 'after'",
    "1..3 | ForEach-Object { if ($_ -eq 2) { break }; $_ }; 'after'",
    "foreach ($i in 1..2) { 1..3 | ForEach-Object { if ($_ -eq 2) { continue }; \"$i$_\" } }",
    "1..3 | ForEach-Object { $_ } -OutVariable o | Out-Null; $o",
    "1..3 | ForEach-Object { $_ } -PipelineVariable p | ForEach-Object { \"$p/$_\" }",
    "$ErrorActionPreference = 'Stop'; 1..3 | ForEach-Object { 1 / ($_ - 2) }; 'not reached'",
    "try { 1..3 | ForEach-Object { 1 / ($_ - 2) } } catch { 'caught' }; $_",
    "function g { 1..3 | ForEach-Object { if ($_ -eq 2) { return }; $_ } ; 'g end' }; g",
    "$_ = 'o'; 1..3 | ForEach-Object { $_ } | Out-Null; $_; $PSItem",
    "1..3 | ForEach-Object { $_ } | ForEach-Object { $_ * 10 } | Measure-Object -Sum -Average",
    "1..4 | ForEach-Object { 'x' * $_ } | Measure-Object -Line -Character",
    "1..3 | ForEach-Object { [pscustomobject]@{ N = $_ } } | Measure-Object N -Sum",
])
def test_edge_pipelines_give_the_same_output(text: str) -> None:
    assert_same(text)


class _StopAfter(CancelToken):
    """A stop token that reports a stop from its ``limit``-th check on (a Ctrl+C arriving
    while the pipeline runs, at a known point)."""

    def __init__(self, limit: int) -> None:
        self.checks = 0
        self.limit = limit
        self.requested = False
        super().__init__()

    # The hot loops read the token's flag rather than call is_set(): both count as a check.
    @property
    def _set(self) -> bool:
        self.checks += 1
        return self.checks >= self.limit or self.requested

    @_set.setter
    def _set(self, value: bool) -> None:
        self.requested = value

    def is_set(self) -> bool:
        return self._set


@pytest.mark.parametrize("fast", [True, False])
def test_dollar_underscore_is_as_it_was_after_a_foreach_object(
        fast: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """As pwsh: ForEach-Object and Where-Object put $_ (and $PSItem) back, also when it was
    not set (it then reads as nothing again, not as the first object)."""
    monkeypatch.setattr(fastpath, "ENABLED", fast)
    rs = new_runspace()
    try:
        shown = run("1..3 | ForEach-Object { }; \"[$_][$PSItem]\"; "
                    "1..2 | Where-Object { $_ }; \"[$_]\"; $_ = 9; 1..3 | ForEach-Object { }; "
                    "\"[$_][$PSItem]\"; 5 | ForEach-Object { & { 1 | ForEach-Object { } }; "
                    "\"[$_]\" }", rs).output
    finally:
        rs.session.shutdown()
    assert shown == ["[][]", 1, 2, "[]", "[9][9]", "[5]"]


def test_a_stop_is_seen_within_an_object_on_the_fast_route() -> None:
    rs = new_runspace()
    rs.interp.stop_event = _StopAfter(200)
    result = rs.run("1..1000000 | ForEach-Object { $global:seen = $_ } | Measure-Object",
                    out=ListSink())
    assert result.stopped
    rs.interp.stop_event = CancelToken()
    seen = run("$seen", rs).output
    assert seen and isinstance(seen[0], int) and 0 < seen[0] < 200


def test_the_fast_route_is_taken_with_the_switch_on_only() -> None:
    from pjsh.runtime.pipeline import StageInput

    taken: list[bool] = []
    original = StageInput.send

    def spy(self: StageInput, value: object) -> None:
        taken.append(self.fast is not None)
        original(self, value)

    StageInput.send = spy  # type: ignore[method-assign]
    try:
        for on in (False, True):
            fastpath.set_enabled(on)
            taken.clear()
            assert run("1..4 | ForEach-Object { $_ * 2 } | Measure-Object -Sum").output[0].Sum == 20
            assert any(taken) == on
    finally:
        StageInput.send = original  # type: ignore[method-assign]
