"""Reproduced crashes through the installed ``pjsh``: each input gives PowerShell's result or
a PowerShell error, never "pjsh internal error", and the rest of the -c script still runs."""

from __future__ import annotations

from tests.e2e.test_cli import command

INTERNAL = "pjsh internal error"


def test_begin_block_output_reaches_later_stages_in_a_dash_c_script() -> None:
    r = command('1..3 | ForEach-Object -Begin {"header"} -Process {$_} | Sort-Object; '
                'function f { begin {"b"} process {$_} }; 1..2 | f | sort; '
                '1..2 | f | /bin/cat; "after"')
    assert INTERNAL not in r.stderr and r.stderr == ""
    assert r.stdout.split() == ["1", "2", "3", "header", "1", "2", "b", "b", "1", "2", "after"]


def test_a_running_background_job_survives_a_bad_one_started_next_to_it() -> None:
    r = command('$good = /bin/sleep 2 &; $bad = /bin/echo "x`0y" &; '
                'Wait-Job $bad | Out-Null; "bad:" + $bad.State; "good:" + $good.State; '
                '$bad.ChildJobs[0].JobStateInfo.Reason.Message; '
                'Wait-Job $good | Out-Null; "good:" + $good.State; "after"')
    assert INTERNAL not in r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "bad:Failed" and lines[1] == "good:Running"
    assert lines[2].startswith("Program '/bin/echo' failed to run: Cannot process argument")
    assert lines[3:] == ["good:Completed", "after"]


def test_bad_environment_assignments_are_errors_and_natives_keep_working() -> None:
    r = command('${env:A=B} = "c"; $env:X = "a`0b"; /bin/echo "a`0b"; /bin/echo works; '
                '$j = /bin/echo job &; Wait-Job $j | Out-Null; Receive-Job $j; "after"')
    assert INTERNAL not in r.stderr
    assert r.stdout == "works\njob\nafter\n"
    assert r.stderr.count("\n") == 3
    assert "Environment variable name cannot contain equal character." in r.stderr
