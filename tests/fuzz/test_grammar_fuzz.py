"""The grammar fuzzer: generated scripts (tests/fuzz/grammar.py) through the real ``pjsh``
(tests/fuzz/runner.py). No script may produce a Python traceback, a "pjsh internal error", a
hang, an exit status other than 0/1, or leave a process or spill file behind, unless the finding
is a listed known issue (tests/fuzz/known.py).

The run is ``PJSH_FUZZ_SCRIPTS`` scripts (default 1200) of seed ``PJSH_FUZZ_SEED`` (default
"ci"), so CI runs the same scripts however fast the machine is: a new finding comes from a
change of pjsh or of the generator, never from a faster runner reaching further. It is capped
at ``PJSH_FUZZ_SECONDS`` (default 600, a slow machine's bound, not a budget) and runs
``PJSH_FUZZ_WORKERS`` pjsh processes at a time (default 2). Explore with another seed or run
it longer from the command line: ``python -m tests.fuzz.runner --help``."""

from __future__ import annotations

import os
import re

import pytest

from pjsh.lang.parser import parse
from tests.fuzz.grammar import CMDLETS, EXCLUDED_PARAMS, Generator, _Scope, generate
from tests.fuzz.known import KNOWN_ISSUES, KnownIssue, classify
from tests.fuzz.runner import Outcome, Sandbox, fuzz, inspect, run_process


def parse_failure(text: str) -> str | None:
    """The parser's complaint about a script, or None if it parses completely."""
    result = parse(text)
    if result.error is not None:
        return result.error.describe()
    if result.body is None:
        return "incomplete"
    return None


def test_generation_is_a_function_of_the_seed() -> None:
    for n in range(50):
        assert generate(f"s:{n}").text == generate(f"s:{n}").text
    assert len({generate(f"s:{n}").text for n in range(50)}) == 50


def test_generated_scripts_parse_except_for_known_parser_issues() -> None:
    unexplained = []
    for n in range(1500):
        script = generate(f"grammar:{n}", tail=n % 5 == 0, solo=n % 7 == 0)
        failure = parse_failure(script.text)
        if failure is not None and classify("parse", failure, script.text) is None:
            unexplained.append((script.seed, failure))
    assert unexplained == []


def test_every_cmdlet_and_parameter_is_reachable() -> None:
    g = Generator("reach")
    wanted = {(s.name, p.name) for s in CMDLETS for p in s.params} - set(EXCLUDED_PARAMS)
    seen: set[tuple[str, str]] = set()
    for spec in CMDLETS:
        for _ in range(200):
            call = g.cmdlet_call(_Scope(), spec)
            for p in spec.params:
                if re.search(rf"(?i)\s-{re.escape(p.name[:2])}", call) or p.position is not None:
                    seen.add((spec.name, p.name))
    assert wanted - seen == set()


def test_the_inspection_flags_tracebacks_internal_errors_and_early_ends() -> None:
    scripts = [generate(f"inspect:{n}") for n in range(3)]
    outcome = Outcome(["ok\n", "Traceback (most recent call last):\n  File x\nKeyError: 'a'\n",
                       "x: pjsh internal error: ValueError: boom. This is a bug"],
                      finished=2, timed_out=False, returncode=0, leftover_processes=[],
                      leftover_files=["/tmp/x/job-1-ab.out"])
    kinds = [(f.kind, f.seed) for f in inspect(scripts, outcome, "stdin")]
    assert kinds == [("traceback", "inspect:1"), ("internal", "inspect:2"),
                     ("exit", "inspect:2"), ("leftover-file", "inspect:2")]


def test_known_issues_match_only_their_own_pattern() -> None:
    issue = KnownIssue("nul", "example", "internal",
                       r"pjsh internal error: ValueError: embedded null byte", '"a`0b"',
                       script=r"`0")
    msg = 'pjsh internal error: ValueError: embedded null byte. This is a bug in pjsh'
    assert issue.matches("internal", msg, '"a`0b"')
    assert not issue.matches("internal", msg, "no nul here")
    assert not issue.matches("hang", msg, '"a`0b"')
    assert len({k.name for k in KNOWN_ISSUES}) == len(KNOWN_ISSUES)


@pytest.mark.slow
def test_a_batch_reports_each_script_separately_and_cleans_up() -> None:
    sandbox = Sandbox()
    try:
        scripts = [generate("sep:0"), generate("sep:1"), generate("sep:2", tail=True)]
        scripts[0].text = "'first'\n"
        scripts[1].text = "Write-Error 'second'\n$j = Start-Job { 'job' }; Receive-Job $j -Wait\n"
        scripts[2].text = "'third'\n$l = sleep 30 &\n$t = Start-ThreadJob { sleep 30 }\n"
        outcome = run_process(sandbox, scripts)
        assert outcome.finished == 3 and outcome.returncode == 0
        assert outcome.pieces[0].strip() == "first"
        assert "second" in outcome.pieces[1] and "job" in outcome.pieces[1]
        assert "third" in outcome.pieces[2]
        assert inspect(scripts, outcome, "stdin") == []
    finally:
        sandbox.close()


@pytest.mark.slow
def test_known_issues_still_reproduce(monkeypatch: pytest.MonkeyPatch) -> None:
    # When this fails, the named bug is fixed: delete its entry from KNOWN_ISSUES.
    sandbox = Sandbox()
    try:
        for issue in KNOWN_ISSUES:
            if issue.race:
                continue  # shows only now and then: listed for the fuzzer, removed by hand
            if issue.kind == "parse":
                failure = parse_failure(issue.reproduction)
                assert failure is not None and issue.matches("parse", failure,
                                                             issue.reproduction), \
                    f"{issue.name} no longer reproduces: remove it from KNOWN_ISSUES"
                continue
            if issue.kind == "hang":
                monkeypatch.setattr("tests.fuzz.runner.BATCH_BUDGET", 10.0)
            script = generate(f"known:{issue.name}")
            script.text = issue.reproduction + "\n"
            found = inspect([script], run_process(sandbox, [script]), "stdin")
            assert any(f.known is issue for f in found), \
                f"{issue.name} no longer reproduces: remove it from KNOWN_ISSUES ({found})"
    finally:
        sandbox.close()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_generated_scripts_run_without_unknown_findings() -> None:
    seconds = float(os.environ.get("PJSH_FUZZ_SECONDS", "600"))
    limit = int(os.environ.get("PJSH_FUZZ_SCRIPTS", "1200"))
    report = fuzz(os.environ.get("PJSH_FUZZ_SEED", "ci"), seconds, limit,
                  workers=int(os.environ.get("PJSH_FUZZ_WORKERS", "2")))
    print("\n" + report.summary())
    assert report.scripts > 0
    assert report.unknown == [], report.summary()


@pytest.mark.slow
def test_the_runner_detects_a_leftover_process_and_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = Sandbox()
    try:
        orphan = generate("detect:0")
        # sh exits at once; its background sleep outlives pjsh (and is then killed by the runner).
        orphan.text = "/bin/sh -c '/bin/sleep 30 > /dev/null 2>&1 &'\n"
        found = inspect([orphan], run_process(sandbox, [orphan]), "stdin")
        assert [f.kind for f in found] == ["leftover-process"]
        assert "sleep 30" in found[0].detail
        monkeypatch.setattr("tests.fuzz.runner.BATCH_BUDGET", 1.0)
        monkeypatch.setattr("tests.fuzz.runner.PER_SCRIPT", 0.0)
        slow = generate("detect:1")
        slow.text = "Start-Sleep 20\n"
        found = inspect([slow], run_process(sandbox, [slow]), "stdin")
        assert [f.kind for f in found] == ["hang"]
    finally:
        sandbox.close()
