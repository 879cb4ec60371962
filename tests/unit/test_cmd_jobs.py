"""The job cmdlets through the real engine (tests.harness, memory host): every parameter and
parameter set of Start-Job, Start-ThreadJob, Get-Job, Receive-Job, Wait-Job, Stop-Job,
Remove-Job, Suspend-Job/Resume-Job and ``jobs``/``fg``/``bg``; the ``&`` operator; ``-AsJob``;
the job object's properties and failure reasons; the default Get-Job table.

Jobs here are real: native-only script blocks run their processes directly, the others run in
pjsh worker processes. Nothing sleeps to synchronise: tests wait with Wait-Job, with the job
manager's event-driven waits, or hold a job at a FIFO the test opens when it is ready.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from pjsh.jobs.model import Job, JobState
from pjsh.runtime.errors import ErrorRecord
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.runspace import Runspace
from pjsh.runtime.values import lookup_property, type_names
from tests.harness import new_runspace, run, show, stop_while_waiting

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")


# ---------------------------------------------------------------------------- helpers

@pytest.fixture
def rs(tmp_path: Path) -> Iterator[Runspace]:
    """A fresh runspace in a temporary directory; its jobs are stopped afterwards."""
    runspace = new_runspace(cwd=str(tmp_path))
    yield runspace
    runspace.session.shutdown()


def ok(rs: Runspace, text: str) -> list[object]:
    """Run text that must not write errors; its output objects."""
    r = run(text, rs)
    assert r.errors == [], r.messages
    return r.output


def one(rs: Runspace, text: str) -> object:
    """The single output object of text."""
    out = ok(rs, text)
    assert len(out) == 1, out
    return out[0]


def job(rs: Runspace, text: str) -> Job:
    """The single job that text outputs."""
    value = one(rs, text)
    assert isinstance(value, Job), value
    return value


def jobs_of(rs: Runspace, text: str) -> list[Job]:
    """The output of text, which must be jobs only."""
    out = ok(rs, text)
    assert all(isinstance(j, Job) for j in out), out
    return [j for j in out if isinstance(j, Job)]


def strs(values: list[object]) -> list[str]:
    return [str(v) for v in values]


def host(rs: Runspace) -> MemoryHost:
    h = rs.session.host
    assert isinstance(h, MemoryHost)
    return h


def fifo(tmp_path: Path, name: str = "gate") -> Path:
    """A named pipe a job can block on until the test opens it for writing."""
    path = tmp_path / name
    os.mkfifo(path)
    return path


def release(path: Path, data: str = "\n") -> None:
    """Let a job blocked reading the FIFO go on (open blocks until the job is reading)."""
    with open(path, "w") as fh:
        fh.write(data)


def proc_state(pid: int) -> str | None:
    """The state letter in /proc/<pid>/stat (None once the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return text[text.rindex(")") + 2:].split()[0]


def live_group_members(pgid: int) -> dict[int, str]:
    """pid -> state of every process of a group that has not exited (zombies excluded)."""
    members: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members[int(entry)] = fields[0]
    return members


def wait_for_output(rs: Runspace, j: Job) -> None:
    """Block (event-driven) until the job has stored some output."""
    assert rs.session.jobs.manager.wait_for_activity([j], timeout=30)


NOT_FINISHED = ("The command cannot remove the job with the job ID {0} because the job is not "
                "finished. To remove the job, first stop the job, or use the Force parameter.")


# ---------------------------------------------------------------------------- Start-Job

def test_start_job_returns_a_running_background_job_named_after_its_id(rs: Runspace) -> None:
    j = job(rs, "Start-Job { sleep 30 }")
    assert (j.State, j.PSJobTypeName, j.Name, j.Id) == ("Running", "BackgroundJob", "Job1", 1)
    (child,) = j.ChildJobs
    assert (child.Id, child.Name, child.PSJobTypeName, child.State) == (2, "Job2", "", "Running")
    assert job(rs, "Start-Job { sleep 30 }").Id == 3  # parents and children share one counter


def test_script_block_by_name_by_position_and_by_its_command_alias(rs: Runspace) -> None:
    assert strs(ok(rs, "Start-Job -ScriptBlock { 'a' } | Receive-Job -Wait")) == ["a"]
    assert strs(ok(rs, "Start-Job -Command { 'b' } | Receive-Job -Wait")) == ["b"]
    assert strs(ok(rs, "Start-Job { 'c' } | Receive-Job -Wait")) == ["c"]
    assert strs(ok(rs, "sajb { 'd' } | Receive-Job -Wait")) == ["d"]


def test_name_names_the_job(rs: Runspace) -> None:
    j = job(rs, "Start-Job { 1 } -Name build")
    assert j.Name == "build"
    assert one(rs, "Get-Job -Name build") is j


def test_argument_list_binds_param_block_then_args(rs: Runspace) -> None:
    out = ok(rs, "Start-Job { param($a, $b) \"$a+$b\"; $args } -ArgumentList 1, 2, 3 | "
                 "Receive-Job -Wait")
    assert out == ["1+2", 3]


@pytest.mark.parametrize("alias", ["Args", "Arguments", "ArgumentList"])
def test_argument_list_aliases_reach_args(rs: Runspace, alias: str) -> None:
    assert strs(ok(rs, f"Start-Job {{ \"got $args\" }} -{alias} x, y | Receive-Job -Wait")) == [
        "got x y"]


def test_initialization_script_runs_first_and_its_output_comes_first(rs: Runspace) -> None:
    out = ok(rs, "Start-Job { 'main'; f } -InitializationScript { 'init'; function f { 'from f' } "
                 "} | Receive-Job -Wait")
    assert strs(out) == ["init", "main", "from f"]
    # Position 1 is -InitializationScript.
    assert strs(ok(rs, "Start-Job { 'm' } { 'i' } | Receive-Job -Wait")) == ["i", "m"]


def test_piped_input_reaches_one_job_as_input(rs: Runspace) -> None:
    jobs = jobs_of(rs, "1..3 | Start-Job { $input | ForEach-Object { $_ * 2 } }")
    assert len(jobs) == 1  # one job gets all the pipeline input
    assert ok(rs, "Get-Job | Receive-Job -Wait") == [2, 4, 6]


def test_input_object_reaches_the_job_as_input(rs: Runspace) -> None:
    assert ok(rs, "Start-Job { $input } -InputObject 5 | Receive-Job -Wait") == [5]


def test_a_job_starts_in_the_callers_directory(rs: Runspace, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    ok(rs, "Set-Location sub")
    assert strs(ok(rs, "Start-Job { (Get-Location).Path } | Receive-Job -Wait")) == [
        str(tmp_path / "sub")]
    assert strs(ok(rs, "Start-Job { /bin/pwd } | Receive-Job -Wait")) == [str(tmp_path / "sub")]


def test_working_directory_for_worker_and_native_jobs(rs: Runspace, tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    assert strs(ok(rs, "Start-Job { (Get-Location).Path } -WorkingDirectory w | "
                       "Receive-Job -Wait")) == [str(tmp_path / "w")]
    assert strs(ok(rs, f"Start-Job {{ /bin/pwd }} -WorkingDirectory '{tmp_path}/w' | "
                       "Receive-Job -Wait")) == [str(tmp_path / "w")]


def test_a_missing_working_directory_is_a_terminating_error(rs: Runspace) -> None:
    r = run("Start-Job { 1 } -WorkingDirectory /no/such/dir; $?", rs)
    assert r.messages == ["Cannot find the WorkingDirectory path /no/such/dir."]
    assert r.errors[0].FullyQualifiedErrorId.startswith("DirectoryNotFoundException,")
    assert r.output == [False]
    assert ok(rs, "Get-Job") == []


def test_a_blank_working_directory_fails_validation(rs: Runspace) -> None:
    r = run("Start-Job { 1 } -WorkingDirectory ' '", rs)
    assert r.messages == [
        "Cannot validate argument on parameter 'WorkingDirectory'. The argument is null, empty, "
        "or consists of only white-space characters. Provide an argument that contains non "
        "white-space characters, and then try the command again."]


def test_file_path_runs_a_script_file_with_arguments(rs: Runspace, tmp_path: Path) -> None:
    (tmp_path / "job.ps1").write_text("param($a)\n\"file $a $args\"\n")
    j = job(rs, "Start-Job -FilePath job.ps1 -ArgumentList 7, 8")
    assert strs(ok(rs, "Get-Job | Receive-Job -Wait")) == ["file 7 8"]
    assert j.Command == "param($a)\n\"file $a $args\"\n"
    assert strs(ok(rs, "Start-Job job.ps1 | Receive-Job -Wait")) == ["file  "]
    assert strs(ok(rs, "Start-Job -LiteralPath job.ps1 | Receive-Job -Wait")) == ["file  "]


def test_file_path_that_does_not_exist(rs: Runspace, tmp_path: Path) -> None:
    r = run("Start-Job -FilePath nope.ps1", rs)
    assert r.messages == [f"Cannot find path '{tmp_path}/nope.ps1' because it does not exist."]


def test_using_variables_and_a_separate_process(rs: Runspace) -> None:
    out = ok(rs, "$v = 'uv'; Start-Job { \"$using:v\"; $PID } | Receive-Job -Wait")
    assert out[0] == "uv"
    assert out[1] != os.getpid()


def test_native_only_blocks_run_directly_and_cmdlet_blocks_in_a_worker(rs: Runspace) -> None:
    native = job(rs, "Start-Job { sleep 30 }")
    cmdlet = job(rs, "Start-Job { Start-Sleep 30 }")
    native_cmd = Path(f"/proc/{native.ProcessId}/cmdline").read_bytes().split(b"\0")
    worker_cmd = Path(f"/proc/{cmdlet.ProcessId}/cmdline").read_bytes().split(b"\0")
    assert native_cmd[:2] == [b"sleep", b"30"]
    assert b"pjsh.jobs.worker" in worker_cmd
    # Each job is its own process group.
    assert native.ProcessId is not None and cmdlet.ProcessId is not None
    assert os.getpgid(native.ProcessId) == native.ProcessId
    assert os.getpgid(cmdlet.ProcessId) == cmdlet.ProcessId


# ---------------------------------------------------------------------------- Start-ThreadJob

def test_thread_job_type_location_and_no_children(rs: Runspace) -> None:
    t = job(rs, "Start-ThreadJob { 't' }")
    assert (t.PSJobTypeName, t.Location, t.ChildJobs) == ("ThreadJob", "PowerShell", [])
    assert strs(ok(rs, f"Receive-Job -Id {t.Id} -Wait")) == ["t"]


def test_thread_job_throttle_limit_queues_jobs_as_not_started(rs: Runspace) -> None:
    jobs = jobs_of(rs, "1..4 | ForEach-Object { Start-ThreadJob { Start-Sleep 30 } -ThrottleLimit 2 }")
    assert [j.State for j in jobs] == ["Running", "Running", "NotStarted", "NotStarted"]
    assert [j.HasMoreData for j in jobs[2:]] == [False, False]
    # The limit is session-wide: a later call without it is queued too.
    later = job(rs, "Start-ThreadJob { 'later' }")
    assert later.State == "NotStarted"
    ok(rs, f"Stop-Job -Id {jobs[0].Id}")
    assert jobs[2].State == "Running"  # the next queued job took the free slot


def test_thread_job_parameters(rs: Runspace, tmp_path: Path) -> None:
    out = ok(rs, "Start-ThreadJob { param($p) \"p=$p\"; $input } -ArgumentList 4 -InputObject 5 "
                 "-InitializationScript { 'init' } -Name tj | Receive-Job -Wait")
    assert out == ["init", "p=4", 5]
    assert one(rs, "(Get-Job -Name tj).PSJobTypeName") == "ThreadJob"
    assert ok(rs, "6, 7 | Start-ThreadJob { $input } | Receive-Job -Wait") == [6, 7]
    (tmp_path / "t.ps1").write_text("\"file $args\"")
    assert strs(ok(rs, "Start-ThreadJob -FilePath t.ps1 -ArgumentList 9 | Receive-Job -Wait")) == [
        "file 9"]


def test_thread_jobs_share_nothing_mutable(rs: Runspace) -> None:
    # As in PowerShell: the caller's $x reaches the job only as $using:x, by value.
    assert ok(rs, "$x = 1; Start-ThreadJob { \"[$x]\"; $x = 2; $using:x } | Receive-Job -Wait; "
                  "$x") == ["[]", 1, 1]


def test_start_job_sees_caller_variables_only_through_using(rs: Runspace) -> None:
    assert ok(rs, '$x = 5; Start-Job { "x=$x using=$using:x" } | Receive-Job -Wait') == [
        "x= using=5"]


def test_background_operator_copies_the_caller_variables_it_names(rs: Runspace) -> None:
    assert ok(rs, '$x = 5; $j = "x=$x" &; Receive-Job $j -Wait') == ["x=5"]


def test_a_copied_script_block_variable_stays_runnable(rs: Runspace) -> None:
    assert ok(rs, '$sb = { "ran " + (1+1) }; $j = & $sb &; Receive-Job $j -Wait') == ["ran 2"]


def test_thread_job_failure_carries_its_own_reason(rs: Runspace) -> None:
    t = job(rs, "Start-ThreadJob { throw 'MyError!' }")
    r = run(f"Receive-Job -Id {t.Id} -Wait", rs)
    assert t.State == "Failed"
    assert t.JobStateInfo.Reason == "MyError!"
    assert r.messages == ["MyError!"]  # once


def test_a_stopped_thread_job_stops_its_script(rs: Runspace) -> None:
    t = job(rs, "Start-ThreadJob { while ($true) { } }")
    ok(rs, f"Stop-Job -Id {t.Id}")
    assert t.State == "Stopped"


# ---------------------------------------------------------------------------- Get-Job

@pytest.fixture
def three(rs: Runspace) -> list[Job]:
    """Job1 'alpha' (completed, child Job2), Job3 'beta' (running, child Job4), Job5 'gamma'
    (completed, received, child Job6)."""
    jobs = jobs_of(rs, "$a = Start-Job { 'a' } -Name alpha; $a; Wait-Job $a | Out-Null; "
                  "Start-Job { sleep 30 } -Name beta; "
                  "$g = Start-Job { 'g' } -Name gamma; $g; Receive-Job $g -Wait | Out-Null")
    assert [j.Name for j in jobs] == ["alpha", "beta", "gamma"]
    return [j for j in jobs if isinstance(j, Job)]


def names(values: Sequence[object]) -> list[str]:
    return [v.Name for v in values if isinstance(v, Job)]


def test_get_job_lists_top_level_jobs_sorted_by_id(rs: Runspace, three: list[Job]) -> None:
    assert ok(rs, "Get-Job") == three
    assert ok(rs, "jobs") == three
    assert ok(rs, "gjb") == three


def test_get_job_by_id_positionally_and_by_session_id(rs: Runspace, three: list[Job]) -> None:
    assert ok(rs, "Get-Job -Id 3") == [three[1]]
    assert ok(rs, "Get-Job 1, 5") == [three[0], three[2]]
    assert ok(rs, "Get-Job -SessionId 3") == [three[1]]


def test_get_job_by_id_not_found(rs: Runspace, three: list[Job]) -> None:
    r = run("Get-Job -Id 99, 1", rs)
    assert r.messages == ["The command cannot find a job with the job ID 99. Verify the value of "
                          "the Id parameter and then try the command again."]
    assert r.output == [three[0]]
    assert r.errors[0].FullyQualifiedErrorId == (
        "JobWithSpecifiedSessionNotFound,Microsoft.PowerShell.Commands.GetJobCommand")


def test_get_job_by_name_with_wildcards(rs: Runspace, three: list[Job]) -> None:
    assert names(ok(rs, "Get-Job -Name *a")) == ["alpha", "beta", "gamma"]
    assert names(ok(rs, "Get-Job -Name AL*")) == ["alpha"]
    assert names(ok(rs, "Get-Job gamma")) == ["gamma"]
    assert ok(rs, "Get-Job -Name nomatch*") == []  # no error for a wildcard


def test_get_job_by_name_not_found(rs: Runspace, three: list[Job]) -> None:
    r = run("Get-Job -Name nomatch", rs)
    assert r.messages == ["The command cannot find the job because the job name nomatch was not "
                          "found. Verify the value of the Name parameter, and then try the "
                          "command again."]
    assert r.errors[0].FullyQualifiedErrorId.startswith("JobWithSpecifiedNameNotFound,")


def test_name_and_id_lookups_find_child_jobs(rs: Runspace, three: list[Job]) -> None:
    child = three[0].ChildJobs[0]
    assert ok(rs, "Get-Job -Name Job2") == [child]
    assert ok(rs, "Get-Job -Id 2") == [child]
    assert ok(rs, f"Get-Job -InstanceId {child.InstanceId}") == [child]


def test_get_job_by_state(rs: Runspace, three: list[Job]) -> None:
    assert names(ok(rs, "Get-Job -State Running")) == ["beta"]
    assert names(ok(rs, "Get-Job -State Completed")) == ["alpha", "gamma"]
    assert ok(rs, "Get-Job -State Failed") == []  # never "not found"


def test_get_job_by_command_is_a_case_insensitive_wildcard(rs: Runspace, three: list[Job]) -> None:
    assert names(ok(rs, "Get-Job -Command 'SLEEP*'")) == ["beta"]
    assert names(ok(rs, "Get-Job -Command *'a'*, *'g'*")) == ["alpha", "gamma"]
    assert ok(rs, "Get-Job -Command nothing") == []


def test_get_job_has_more_data(rs: Runspace, three: list[Job]) -> None:
    assert names(ok(rs, "Get-Job -HasMoreData $true")) == ["alpha", "beta"]
    assert names(ok(rs, "Get-Job -HasMoreData $false")) == ["gamma"]


def test_get_job_include_child_job_and_child_job_state(rs: Runspace, three: list[Job]) -> None:
    assert [j.Id for j in jobs_of(rs, "Get-Job -IncludeChildJob")] == [1, 2, 3, 4, 5, 6]
    assert [j.Id for j in jobs_of(rs, "Get-Job -ChildJobState Running")] == [1, 3, 4, 5]
    assert [j.Id for j in jobs_of(rs, "Get-Job -Name alpha -IncludeChildJob")] == [1, 2]


def test_get_job_newest_before_and_after(rs: Runspace, three: list[Job]) -> None:
    alpha, _beta, gamma = three
    assert alpha.PSEndTime is not None and gamma.PSEndTime is not None
    assert gamma.PSEndTime > alpha.PSEndTime
    assert names(ok(rs, "Get-Job -Newest 1")) == ["gamma"]
    assert names(ok(rs, "Get-Job -Newest 2")) == ["alpha", "gamma"]  # still sorted by Id
    rs.session.global_scope.set("t", gamma.PSEndTime)
    assert names(ok(rs, "Get-Job -Before $t")) == ["alpha"]  # strictly before; running: none
    rs.session.global_scope.set("t", alpha.PSEndTime)
    assert names(ok(rs, "Get-Job -After $t")) == ["gamma"]


def test_get_job_by_instance_id(rs: Runspace, three: list[Job]) -> None:
    assert ok(rs, f"Get-Job -InstanceId {three[1].InstanceId}") == [three[1]]
    missing = uuid.UUID(int=0)
    r = run(f"Get-Job -InstanceId {missing}", rs)
    assert r.messages == [f"The command cannot find a job with the instance identifier {missing}. "
                          "Verify the value of the InstanceId parameter, and then try the command "
                          "again."]


def test_get_job_takes_job_objects_positionally_and_from_the_pipeline(
        rs: Runspace, three: list[Job]) -> None:
    assert ok(rs, "$b = Get-Job -Name beta; Get-Job $b") == [three[1]]
    assert ok(rs, "$b | Get-Job") == [three[1]]


def test_default_get_job_table(rs: Runspace) -> None:
    ok(rs, "$j = Start-Job { sleep 30 }; $t = Start-ThreadJob { 1 + 1 }; Wait-Job $t | Out-Null; "
           "$n = Start-Job { /bin/echo Microsoft.PowerShell.Management } -Name long-name-of-a-job; "
           "Wait-Job $n | Out-Null")
    assert show("Get-Job", rs).text == (
        "\n"
        "Id     Name            PSJobTypeName   State         HasMoreData     Location         "
        "    Command\n"
        "--     ----            -------------   -----         -----------     --------         "
        "    -------\n"
        "1      Job1            BackgroundJob   Running       True            localhost        "
        "     sleep 30\n"
        "3      Job3            ThreadJob       Completed     True            PowerShell       "
        "     1 + 1\n"
        "4      long-name-of-a… BackgroundJob   Completed     True            localhost        "
        "     /bin/echo Microsoft.PowerShe…\n"
        "\n")


# ---------------------------------------------------------------------------- Receive-Job

def test_receive_job_consumes_and_keep_keeps(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { 1; 2; 3 }; Wait-Job $j")
    assert j.HasMoreData is True  # Completed and not yet received
    assert ok(rs, "Receive-Job $j -Keep") == [1, 2, 3]
    assert ok(rs, "Receive-Job $j -Keep") == [1, 2, 3]  # -Keep twice: everything both times
    assert j.HasMoreData is True
    assert ok(rs, "Receive-Job $j") == [1, 2, 3]
    assert j.HasMoreData is False
    assert ok(rs, "Receive-Job $j") == []
    assert ok(rs, "rcjb $j") == []


def test_receive_job_returns_partial_results_then_the_rest(rs: Runspace, tmp_path: Path) -> None:
    gate = fifo(tmp_path)
    j = job(rs, f"Start-Job {{ sh -c 'seq 1 3; read x < {gate}; seq 4 6' }}")
    wait_for_output(rs, j)
    first = ok(rs, f"Receive-Job -Id {j.Id}")
    assert j.State == "Running" and j.HasMoreData is True
    release(gate)
    rest = ok(rs, f"Receive-Job -Id {j.Id} -Wait")
    assert strs(first + rest) == ["1", "2", "3", "4", "5", "6"]  # no gap, no duplicate
    assert strs(first) == ["1", "2", "3"][:len(first)]
    assert j.State == "Completed" and j.HasMoreData is False


def test_a_line_is_never_split_between_two_receives(rs: Runspace, tmp_path: Path) -> None:
    gate = fifo(tmp_path)
    j = job(rs, f"Start-Job {{ sh -c 'printf abc; read x < {gate}; printf \"def\\nlast\"' }}")
    wait_for_output(rs, j)
    assert ok(rs, "Get-Job | Receive-Job") == []  # the half line waits for its end
    release(gate)
    out = ok(rs, "Get-Job | Receive-Job -Wait")
    assert strs(out) == ["abcdef", "last"]
    assert getattr(out[1], "eol", True) is False  # the last fragment has no newline


def test_receive_wait_streams_until_the_job_ends(rs: Runspace) -> None:
    assert strs(ok(rs, "Start-Job { 'a'; Start-Sleep -Milliseconds 50; 'b' } | Receive-Job -Wait")) \
        == ["a", "b"]
    assert one(rs, "(Get-Job)[0].State") == "Completed"


def test_receive_wait_keep_outputs_each_record_once_and_keeps_them(
        rs: Runspace, tmp_path: Path) -> None:
    gate = fifo(tmp_path)
    j = job(rs, f"Start-Job {{ sh -c 'echo one; read x < {gate}; echo two' }}")
    wait_for_output(rs, j)
    threading.Thread(target=release, args=(gate,), daemon=True).start()
    assert strs(ok(rs, f"Receive-Job -Id {j.Id} -Wait -Keep")) == ["one", "two"]
    assert strs(ok(rs, f"Receive-Job -Id {j.Id}")) == ["one", "two"]


def test_receive_wait_auto_remove_job(rs: Runspace) -> None:
    assert strs(ok(rs, "Start-Job { 'x' } | Receive-Job -Wait -AutoRemoveJob")) == ["x"]
    assert ok(rs, "Get-Job") == []


@pytest.mark.parametrize(("switch", "message"), [
    ("AutoRemoveJob", "The -AutoRemoveJob parameter cannot be used without the -Wait parameter"),
    ("WriteEvents", "The WriteEvents parameter cannot be used without the Wait parameter."),
    ("WriteJobInResults",
     "The -WriteJobInResults parameter cannot be used without the -Wait parameter"),
    ("Force", "The -Force parameter cannot be used without the -Wait parameter."),
])
def test_receive_switches_that_need_wait(rs: Runspace, switch: str, message: str) -> None:
    j = job(rs, "$j = Start-Job { 1 }; Wait-Job $j")
    r = run(f"Receive-Job $j -{switch}", rs)
    assert r.messages == [message]
    assert r.output == []
    assert j.HasMoreData is True  # nothing was received


def test_receive_write_job_in_results_outputs_the_job_first(rs: Runspace) -> None:
    out = ok(rs, "$j = Start-Job { 'r' }; Receive-Job $j -Wait -WriteJobInResults")
    assert isinstance(out[0], Job) and strs(out[1:]) == ["r"]


def test_receive_write_events_outputs_state_changes(rs: Runspace) -> None:
    out = ok(rs, "Start-Job { 'r' } | Receive-Job -Wait -WriteEvents")
    assert strs([o for o in out if isinstance(o, str)]) == ["r"]
    events = [o for o in out if not isinstance(o, str)]
    assert events and all(
        "System.Management.Automation.JobStateEventArgs" in type_names(e) for e in events)
    found, info = lookup_property(events[-1], "JobStateInfo")
    assert found and str(info) == "Completed"
    found, previous = lookup_property(events[-1], "PreviousJobStateInfo")
    assert found and str(previous) == "Running"


def test_receive_no_recurse_gets_nothing_from_a_start_job_parent(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { 'x' }; Wait-Job $j")
    assert ok(rs, "Receive-Job $j -NoRecurse") == []
    assert ok(rs, "Receive-Job $j -Wait -NoRecurse") == []
    assert j.HasMoreData is True
    assert strs(ok(rs, "Receive-Job $j")) == ["x"]


def test_receive_location_and_computer_name_select_children(rs: Runspace) -> None:
    ok(rs, "$j = Start-Job { 'x' }; Wait-Job $j | Out-Null")
    assert ok(rs, "Receive-Job $j -Location elsewhere") == []
    assert strs(ok(rs, "Receive-Job $j -Location localhost -Keep")) == ["x"]
    assert strs(ok(rs, "Receive-Job $j localhost -Keep")) == ["x"]  # -Location is position 1
    assert strs(ok(rs, "Receive-Job $j -ComputerName local* -Keep")) == ["x"]
    assert strs(ok(rs, "Receive-Job $j -Cn localhost")) == ["x"]


def test_receive_computer_name_on_a_thread_job_is_an_error(rs: Runspace) -> None:
    r = run("$t = Start-ThreadJob { 1 }; Receive-Job $t -ComputerName localhost -Wait", rs)
    assert r.messages == ["The command cannot retrieve the jobs of the specified computers. The "
                          "ComputerName parameter can be used only with jobs created by using "
                          "PowerShell remoting."]


def test_receive_by_id_name_and_instance_id(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { 'x' } -Name rx; Wait-Job $j")
    assert strs(ok(rs, f"Receive-Job -Id {j.Id} -Keep")) == ["x"]
    assert strs(ok(rs, "Receive-Job -SessionId 1 -Keep")) == ["x"]
    assert strs(ok(rs, "Receive-Job -Name r* -Keep")) == ["x"]
    assert strs(ok(rs, f"Receive-Job -InstanceId {j.InstanceId} -Keep")) == ["x"]
    assert strs(ok(rs, "Receive-Job -Job $j")) == ["x"]


def test_job_streams_come_back_on_their_own_streams(rs: Runspace) -> None:
    r = run("$j = Start-Job { Write-Warning 'w1'; Write-Error 'e1'; Write-Verbose 'v1' -Verbose; "
            "'o1'; Write-Debug 'd1' -Debug; Write-Information 'i1' -InformationAction Continue; "
            "Write-Host 'h1' }; Wait-Job $j | Out-Null; "
            "Receive-Job $j -ErrorVariable ev -WarningVariable wv -InformationVariable iv "
            "-Verbose -Debug; \"ev=$ev\"; \"wv=$wv\"; \"iv=$iv\"", rs)
    assert strs(r.output) == ["o1", "ev=e1", "wv=w1", "iv=i1 h1"]
    assert r.messages == ["e1"]
    streams = host(rs).streams
    assert ("Warning", "w1") in streams and ("Verbose", "v1") in streams
    assert ("Debug", "d1") in streams
    assert "h1\n" in host(rs).text  # Write-Host text is shown whatever the preference


def test_output_and_errors_keep_their_interleaving(rs: Runspace) -> None:
    out = ok(rs, "$j = Start-Job { 'a'; Write-Error 'e'; 'b' }; Wait-Job $j | Out-Null; "
                 "Receive-Job $j 2>&1")
    assert [str(o) if not isinstance(o, ErrorRecord) else "E:" + o.message for o in out] == [
        "a", "E:e", "b"]


def test_native_stderr_lines_become_error_records(rs: Runspace) -> None:
    r = run("Start-Job { sh -c 'echo out; echo err >&2' } | Receive-Job -Wait", rs)
    assert strs(r.output) == ["out"]
    assert r.messages == ["err"]


def test_native_bytes_that_are_not_utf8_survive(rs: Runspace) -> None:
    out = ok(rs, "Start-Job { printf 'ok\\377\\376\\n' } | Receive-Job -Wait")
    assert [str(o).encode("utf-8", "surrogateescape") for o in out] == [b"ok\xff\xfe"]


# ---------------------------------------------------------------------------- Wait-Job

def test_wait_job_waits_for_all_and_outputs_them(rs: Runspace) -> None:
    jobs = jobs_of(rs, "$a = Start-Job { /bin/echo a }; $b = Start-Job { /bin/echo b }; Wait-Job $a, $b")
    assert [j.State for j in jobs] == ["Completed", "Completed"]
    assert ok(rs, "wjb $a") == [jobs[0]]


def test_wait_job_any_returns_the_first_to_finish(rs: Runspace) -> None:
    out = jobs_of(rs, "$slow = Start-Job { sleep 30 }; $quick = Start-Job { /bin/echo q }; "
                 "Wait-Job $slow, $quick -Any")
    assert names(out) == ["Job3"]


@pytest.mark.parametrize("param", ["Timeout", "TimeoutSec"])
def test_wait_job_timeout_returns_nothing_and_the_job_runs_on(rs: Runspace, param: str) -> None:
    r = run(f"$j = Start-Job {{ sleep 30 }}; Wait-Job $j -{param} 1; $j.State", rs)
    assert (r.output, r.errors) == (["Running"], [])


def test_wait_job_timeout_below_minus_one_is_invalid(rs: Runspace) -> None:
    r = run("$j = Start-Job { /bin/true }; Wait-Job $j -Timeout -2", rs)
    assert r.messages == [
        "Cannot validate argument on parameter 'Timeout'. The -2 argument is less than the "
        "minimum allowed range of -1. Supply an argument that is greater than or equal to -1 "
        "and then try the command again."]


def test_wait_job_selectors(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { 'x' } -Name sel; Wait-Job $j")
    assert ok(rs, f"Wait-Job -Id {j.Id}") == [j]
    assert ok(rs, f"Wait-Job {j.Id}") == [j]
    assert ok(rs, "Wait-Job -Name se*") == [j]
    assert ok(rs, f"Wait-Job -InstanceId {j.InstanceId}") == [j]
    assert ok(rs, "Wait-Job -State Completed") == [j]
    assert ok(rs, "Wait-Job -Job $j") == [j]
    assert ok(rs, "$j | Wait-Job") == [j]
    r = run("Wait-Job -Id 42", rs)
    assert r.messages == ["The command cannot find a job with the job ID 42. Verify the value of "
                          "the Id parameter and then try the command again."]


def test_wait_job_collects_piped_jobs_before_waiting(rs: Runspace) -> None:
    jobs = jobs_of(rs, "1..3 | ForEach-Object { Start-Job { /bin/echo x } } | Wait-Job")
    assert [j.State for j in jobs] == ["Completed"] * 3


def test_wait_job_needs_a_selector(rs: Runspace) -> None:
    r = run("Wait-Job", rs)
    assert r.messages == ["Cannot process command because of one or more missing mandatory "
                          "parameters: Id."]


def test_wait_job_on_a_suspended_job_warns_unless_force(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { sleep 30 }; Suspend-Job $j")
    assert ok(rs, "Wait-Job $j") == [j]
    assert ("Warning", "One or more jobs are in a suspended or disconnected state, and cannot "
            "continue without additional user input.  Specify the -Force parameter to continue "
            "to a completed, failed, or stopped state.") in host(rs).streams
    assert ok(rs, "Wait-Job $j -Force -Timeout 1") == []


# ---------------------------------------------------------------------------- Stop-Job

def blocked_outer_job(rs: Runspace, wait: str) -> tuple[Job, Job]:
    """A thread job ($w) blocked in ``wait`` on an inner thread job ($k) that runs on; returns
    (outer, inner) once the outer job has said it is about to wait."""
    outer = job(rs, "$k = Start-ThreadJob { Start-Sleep 100 }; "
                    f"$w = Start-ThreadJob {{ 'waiting'; {wait} }}; $w")
    rs.session.jobs.manager.wait_for_activity([outer])
    inner = one(rs, "$k")
    assert isinstance(inner, Job)
    return outer, inner


@pytest.mark.slow
@pytest.mark.parametrize("wait", ["Wait-Job $using:k", "Receive-Job $using:k -Wait"],
                         ids=["Wait-Job", "Receive-Job-Wait"])
def test_stop_job_of_a_thread_job_blocked_waiting_on_a_job_ends_it_stopped_at_once(
        rs: Runspace, wait: str) -> None:
    outer, inner = blocked_outer_job(rs, wait)
    began = time.monotonic()
    ok(rs, "Stop-Job $w")
    assert outer.state is JobState.Stopped
    assert time.monotonic() - began < 5  # was a hard-coded 15 s that left it Stopping
    assert inner.state is JobState.Running  # stopping the waiter never stops what it waits for


def test_wait_job_cancelled_by_the_token_returns_nothing_and_leaves_the_job_running(
        rs: Runspace) -> None:
    inner = job(rs, "$k = Start-ThreadJob { Start-Sleep 100 }; $k")
    result, took = stop_while_waiting("Wait-Job $k", rs)
    assert result.output == []
    assert took < 5
    assert inner.state is JobState.Running


def test_receive_job_wait_cancelled_by_the_token_returns(rs: Runspace) -> None:
    inner = job(rs, "$k = Start-ThreadJob { 'one'; Start-Sleep 100 }; $k")
    _, took = stop_while_waiting("Receive-Job $k -Wait", rs)
    assert took < 5
    assert inner.state is JobState.Running



def test_stop_job_ends_the_whole_process_group(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { sh -c 'sleep 30 & sleep 31 & wait' }; $j")
    pgid = j.ProcessId
    assert pgid is not None and live_group_members(pgid)
    assert ok(rs, "$j | Stop-Job") == []  # no output without -PassThru
    assert j.State == "Stopped"
    assert live_group_members(pgid) == {}


def test_stop_job_ends_a_worker_and_everything_it_started(rs: Runspace, tmp_path: Path) -> None:
    gate = fifo(tmp_path)
    j = job(rs, f"$j = Start-Job {{ 'go'; sh -c 'sleep 30 & cat {gate}' }}; $j")
    wait_for_output(rs, j)
    pgid = j.ProcessId
    assert pgid is not None
    out = ok(rs, "spjb $j -PassThru")
    assert out == [j] and j.State == "Stopped"
    assert live_group_members(pgid) == {}


def test_stop_job_selectors_and_has_more_data(rs: Runspace) -> None:
    ok(rs, "Start-Job { sleep 30 } -Name s1; Start-Job { sleep 30 } -Name s2; "
           "Start-Job { sleep 30 } -Name s3 | Out-Null")
    assert names(ok(rs, "Stop-Job -Name s1 -PassThru")) == ["s1"]
    assert names(ok(rs, "Stop-Job -Id 3 -PassThru")) == ["s2"]
    assert names(ok(rs, "Stop-Job -State Running -PassThru")) == ["s3"]
    assert [j.State for j in jobs_of(rs, "Get-Job")] == ["Stopped"] * 3
    assert [j.HasMoreData for j in jobs_of(rs, "Get-Job")] == [False] * 3


@pytest.mark.parametrize("start", ["sleep 30 &", "Start-Job { sleep 30 }"])
@pytest.mark.parametrize("stop", ["Stop-Job $j.ChildJobs[0]", "Stop-Job -Id 2"])
def test_stopping_a_child_job_stops_it_and_its_parent_ends_stopped(
        rs: Runspace, start: str, stop: str, caplog: pytest.LogCaptureFixture) -> None:
    parent = job(rs, f"$j = {start}; $j")
    child = parent.ChildJobs[0]
    pgid = child.ProcessId
    assert pgid is not None
    assert ok(rs, stop) == []
    assert child.State == "Stopped"
    # Wait-Job on the parent returns (it derived Stopped from its child), without a timeout.
    assert ok(rs, "Wait-Job $j") == [parent]
    assert parent.State == "Stopped" and live_group_members(pgid) == {}
    assert "job observer failed" not in caplog.text


def test_remove_job_force_returns_after_a_child_job_was_stopped(rs: Runspace) -> None:
    parent = job(rs, "$j = sleep 30 &; $j")
    assert ok(rs, "Stop-Job -Id 2; Get-Job | Remove-Job -Force") == []
    assert ok(rs, "Get-Job") == [] and parent.State == "Stopped"


# ---------------------------------------------------------------------------- Remove-Job

def test_remove_job_deletes_finished_jobs(rs: Runspace) -> None:
    ok(rs, "$j = Start-Job { 1 }; Wait-Job $j | Out-Null")
    assert ok(rs, "Remove-Job $j") == []
    assert ok(rs, "Get-Job") == []


@pytest.mark.parametrize(("selector", "suffix"), [
    ("-Id 1", "(Parameter 'SessionId')"),
    ("1", "(Parameter 'SessionId')"),
    ("-SessionId 1", "(Parameter 'SessionId')"),
    ("-Job $j", "(Parameter 'Job')"),
])
def test_remove_job_refuses_a_running_job_and_keeps_it(
        rs: Runspace, selector: str, suffix: str) -> None:
    j = job(rs, "$j = Start-Job { sleep 30 }; $j")
    r = run(f"Remove-Job {selector}", rs)
    assert r.messages == [NOT_FINISHED.format(1) + " " + suffix]
    assert r.errors[0].FullyQualifiedErrorId == (
        "JobObjectNotFinishedCannotBeRemoved,Microsoft.PowerShell.Commands.RemoveJobCommand")
    assert ok(rs, "Get-Job") == [j] and j.State == "Running"


def test_remove_job_refusal_by_pipeline_name_and_instance_id(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { sleep 30 } -Name busy; $j")
    assert run("$j | Remove-Job", rs).messages == [NOT_FINISHED.format(1) + " (Parameter 'Job')"]
    assert run("Remove-Job -Name busy", rs).messages == [
        "The command cannot remove the job with the job ID 1 and the name busy because the job is "
        "not finished. To remove the job, first stop the job, or use the Force parameter. "
        "(Parameter 'Name')"]
    assert run(f"Remove-Job -InstanceId {j.InstanceId}", rs).messages == [
        f"The command cannot remove the job with the job ID 1 and the instance identifier "
        f"{j.InstanceId} because the job is not finished. To remove the job, first stop the job "
        "or use the Force parameter. (Parameter 'InstanceId')"]
    assert ok(rs, "Get-Job") == [j]


def test_remove_job_force_stops_and_removes(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { sleep 30 }; $j")
    pgid = j.ProcessId
    assert pgid is not None
    assert ok(rs, "Remove-Job $j -Force") == []
    assert ok(rs, "Get-Job") == []
    assert j.State == "Stopped" and live_group_members(pgid) == {}
    ok(rs, "$k = Start-Job { sleep 30 }; rjb $k -F")
    assert ok(rs, "Get-Job") == []


def test_remove_job_by_state_and_command(rs: Runspace) -> None:
    ok(rs, "$a = Start-Job { 'a' }; $b = Start-Job { sleep 30 }; $c = Start-Job { 'c' }; "
           "Wait-Job $a, $c | Out-Null")
    assert ok(rs, "Remove-Job -State Completed") == []
    assert [j.Command for j in jobs_of(rs, "Get-Job")] == [" sleep 30 "]
    ok(rs, "Stop-Job $b; Remove-Job -Command *sleep*")
    assert ok(rs, "Get-Job") == []


def test_remove_job_completed_from_the_pipeline(rs: Runspace) -> None:
    ok(rs, "$a = Start-Job { 'a' }; $b = Start-Job { sleep 30 }; Wait-Job $a | Out-Null")
    ok(rs, "Get-Job -State Completed | Remove-Job")
    assert [j.Id for j in jobs_of(rs, "Get-Job")] == [3]


def test_a_child_job_cannot_be_removed(rs: Runspace) -> None:
    ok(rs, "$j = Start-Job { 1 }; Wait-Job $j | Out-Null")
    r = run("Remove-Job -Id 2", rs)
    assert r.messages == ["The command cannot remove the job because it does not exist or because "
                          "it is a child job. Child jobs can be removed only by removing the "
                          "parent job."]
    assert [j.Id for j in jobs_of(rs, "Get-Job")] == [1]


# ---------------------------------------------------------------------------- Suspend / Resume

def test_suspend_and_resume_stop_and_continue_the_process_group(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { sh -c 'sleep 30 & sleep 31 & echo ready; wait' }; $j")
    wait_for_output(rs, j)  # both sleeps are forked
    pgid = j.ProcessId
    assert pgid is not None
    assert len(live_group_members(pgid)) == 3
    assert ok(rs, "Suspend-Job $j") == [j]
    # Suspend-Job returns once the job's own process has stopped. (Its grandchildren get the
    # same SIGSTOP, but take it when next scheduled: their 'T' is not awaited.)
    assert proc_state(pgid) == "T"
    assert j.State == "Suspended"
    assert ok(rs, "Resume-Job $j") == [j]
    assert j.State == "Running"
    # SIGCONT wakes stopped processes synchronously: none of the group is stopped any more.
    assert "T" not in live_group_members(pgid).values()


def test_suspend_and_resume_a_worker_job(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { Start-Sleep 30 }; $j")
    assert j.ProcessId is not None
    ok(rs, "Suspend-Job -Id 1")
    assert proc_state(j.ProcessId) == "T" and j.State == "Suspended"
    ok(rs, "Resume-Job -Id 1")
    assert proc_state(j.ProcessId) != "T" and j.State == "Running"


def test_bg_resumes_the_most_recently_suspended_job(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { sleep 30 }; Suspend-Job $j")
    assert ok(rs, "bg") == [j]
    assert j.State == "Running"
    assert run("bg", rs).messages == ["There is no suspended job to resume."]


def test_fg_resumes_a_job_and_streams_it_to_the_end(rs: Runspace, tmp_path: Path) -> None:
    gate = fifo(tmp_path)
    j = job(rs, f"$j = Start-Job {{ sh -c 'read x < {gate}; echo done' }}; Suspend-Job $j")
    assert j.State == "Suspended"
    threading.Thread(target=release, args=(gate,), daemon=True).start()
    assert strs(ok(rs, "fg")) == ["done"]
    assert j.State == "Completed"
    assert strs(ok(rs, "Start-Job { 'a'; 'b' } | Out-Null; fg")) == ["a", "b"]


def test_thread_jobs_cannot_be_suspended(rs: Runspace) -> None:
    r = run("$t = Start-ThreadJob { Start-Sleep 30 }; Suspend-Job $t", rs)
    assert r.messages == [
        "Cannot suspend the job that has an ID of 1. Suspending jobs is not supported for some "
        "job types. For more information about support for suspending jobs, see the Help topic "
        "for the job type."]


# ---------------------------------------------------------------------------- the & operator

def test_background_operator_ends_a_statement(rs: Runspace) -> None:
    out = ok(rs, "'a' & 'b'")
    assert isinstance(out[0], Job) and out[1:] == ["b"]
    assert out[0].PSJobTypeName == "BackgroundJob"
    assert strs(ok(rs, "Receive-Job -Id 1 -Wait")) == ["a"]


def test_several_background_statements_start_several_jobs(rs: Runspace) -> None:
    out = jobs_of(rs, "'a' & 'b' & 'c' &")
    assert [j.Id for j in out] == [1, 3, 5]
    assert strs(ok(rs, "Get-Job | Receive-Job -Wait")) == ["a", "b", "c"]


def test_background_operator_runs_a_whole_chain_as_one_job(rs: Runspace) -> None:
    j = job(rs, "/bin/echo a && /bin/echo b &")
    assert j.Command == "/bin/echo a && /bin/echo b"
    assert strs(ok(rs, "Receive-Job -Id 1 -Wait")) == ["a", "b"]
    j = job(rs, "$x = sh -c 'exit 1' || /bin/echo fallback &; $x")
    assert strs(ok(rs, f"Receive-Job -Id {j.Id} -Wait")) == ["fallback"]


def test_background_operator_after_an_expression(rs: Runspace) -> None:
    j = job(rs, "$j = 2 + 3 &; $j")
    assert ok(rs, "Receive-Job $j -Wait") == [5]
    assert j.Command == "2 + 3"


def test_background_operator_copies_the_callers_variables_by_value(rs: Runspace) -> None:
    ok(rs, "$name = 'World'; $n = 4; $j = \"Hi $name $($n * 2) [$nothere]\" &; $name = 'changed'")
    assert strs(ok(rs, "Receive-Job $j -Wait")) == ["Hi World 8 []"]
    # Natives get the copied values as arguments too.
    assert strs(ok(rs, "$arg = 'v a l'; $k = /bin/echo $arg &; Receive-Job $k -Wait")) == ["v a l"]


def test_background_operator_starts_in_the_callers_directory(rs: Runspace, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    ok(rs, "Set-Location d")
    assert strs(ok(rs, "$j = /bin/pwd &; Receive-Job $j -Wait")) == [str(tmp_path / "d")]
    assert strs(ok(rs, "$j = (Get-Location).Path &; Receive-Job $j -Wait")) == [
        str(tmp_path / "d")]


def test_background_operator_inside_parentheses_evaluates_to_the_job(rs: Runspace) -> None:
    j = one(rs, "(Get-Location &)")
    assert isinstance(j, Job)
    (location,) = ok(rs, f"Receive-Job -Id {j.Id} -Wait")
    assert lookup_property(location, "Path") == (True, rs.session.cwd)


def test_background_operator_sets_dollar_question_and_redirects_in_the_job(
        rs: Runspace, tmp_path: Path) -> None:
    assert ok(rs, "$j = Write-Output hello > out.txt &; $?") == [True]
    assert ok(rs, "Receive-Job $j -Wait") == []
    assert (tmp_path / "out.txt").read_text() == "hello\n"


def test_background_operator_before_a_chain_operator_is_a_parse_error(rs: Runspace) -> None:
    r = run("/bin/echo a & && /bin/echo b", rs)
    (message,) = r.messages
    assert message.endswith(
        "\n     | Background operators can only be used at the end of a pipeline chain.")
    assert ok(rs, "Get-Job") == []


# ---------------------------------------------------------------------------- -AsJob

def test_as_job_on_get_child_item_returns_its_own_output_types(rs: Runspace, tmp_path: Path) -> None:
    (tmp_path / "f1").write_text("1")
    (tmp_path / "f2").write_text("22")
    j = job(rs, "Get-ChildItem -AsJob")
    assert (j.PSJobTypeName, j.Location, j.Command) == ("ThreadJob", "PowerShell",
                                                        "Get-ChildItem -AsJob")
    direct = ok(rs, "Get-ChildItem")
    received = ok(rs, f"Receive-Job -Id {j.Id} -Wait")
    assert [type(o) for o in received] == [type(o) for o in direct]
    assert [type_names(o)[0] for o in received] == ["System.IO.FileInfo"] * 2
    assert [(o.Name, o.Length) for o in received] == [("f1", 1), ("f2", 2)]  # type: ignore[attr-defined]


def test_as_job_on_get_process(rs: Runspace) -> None:
    out = ok(rs, "Get-Process -Id $PID -AsJob | Receive-Job -Wait")
    assert len(out) == 1 and type_names(out[0])[0] == "System.Diagnostics.Process"
    assert lookup_property(out[0], "Id") == (True, os.getpid())


def test_as_job_takes_pipeline_input(rs: Runspace) -> None:
    assert ok(rs, "1, 2, 3 | ForEach-Object { $_ * 2 } -AsJob | Receive-Job -Wait") == [2, 4, 6]


def test_as_job_jobs_are_not_held_back_by_the_thread_job_throttle(rs: Runspace) -> None:
    jobs = jobs_of(rs, "foreach ($i in 1..10) { Start-Sleep 30 -AsJob }")
    assert [j.State for j in jobs] == ["Running"] * 10
    ok(rs, "Get-Job | Stop-Job")
    assert [j.State for j in jobs] == ["Stopped"] * 10


# ---------------------------------------------------------------------------- job objects

def test_ids_are_unique_across_parents_children_and_job_types(rs: Runspace) -> None:
    ok(rs, "Start-Job { 1 }; 'x' &; Start-ThreadJob { 1 }; Get-Location -AsJob | Out-Null")
    everything = jobs_of(rs, "Get-Job -IncludeChildJob")
    assert [j.Id for j in everything] == [1, 2, 3, 4, 5, 6]
    assert [j.Name for j in everything] == [f"Job{i}" for i in range(1, 7)]
    assert len({j.InstanceId for j in everything}) == 6
    assert all(isinstance(j.InstanceId, uuid.UUID) for j in everything)
    assert [j.PSJobTypeName for j in everything] == [
        "BackgroundJob", "", "BackgroundJob", "", "ThreadJob", "ThreadJob"]


def test_job_properties_through_a_run(rs: Runspace, tmp_path: Path) -> None:
    gate = fifo(tmp_path)
    j = job(rs, f"Start-Job {{ sh -c 'echo out; read x < {gate}; exit 0' }}")
    child = j.ChildJobs[0]
    assert (j.State, j.JobStateInfo.State, j.JobStateInfo.Reason) == (
        "Running", JobState.Running, None)
    assert j.Location == "localhost" and child.Location == "localhost"
    assert j.Command == f" sh -c 'echo out; read x < {gate}; exit 0' "
    assert j.PSBeginTime is not None and j.PSEndTime is None
    assert j.HasMoreData is True and [j.ExitCode] == [None]
    assert j.ProcessId == child.ProcessId and proc_state(j.ProcessId or 0) is not None
    release(gate)
    ok(rs, f"Wait-Job -Id {j.Id} | Out-Null")
    assert (j.State, child.State, j.ExitCode) == ("Completed", "Completed", 0)
    assert j.PSEndTime is not None and j.PSEndTime >= j.PSBeginTime
    assert j.HasMoreData is True and child.HasMoreData is True
    ok(rs, f"Receive-Job -Id {j.Id} | Out-Null")
    assert j.HasMoreData is False and child.HasMoreData is False
    # The same properties from the language side.
    assert ok(rs, f"$j = Get-Job -Id {j.Id}; $j.State; $j.JobStateInfo.State; "
                  "$j.ChildJobs.Count; $j.ChildJobs[0].Location; $j.HasMoreData") == [
        "Completed", JobState.Completed, 1, "localhost", False]


def test_a_failing_last_native_fails_the_job_with_its_command_and_code(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { sh -c 'exit 3' }; Wait-Job $j")
    assert j.State == "Failed" and j.ExitCode == 3
    assert j.ChildJobs[0].JobStateInfo.Reason == "'sh' exited with code 3"
    assert run("Receive-Job $j", rs).messages == ["'sh' exited with code 3"]
    assert run("Receive-Job $j", rs).messages == []  # reported once


def test_a_failing_last_native_in_a_worker_job(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { 'x'; sh -c 'exit 2' }; Wait-Job $j")
    assert j.State == "Failed" and j.ExitCode == 2
    assert one(rs, "$j.ChildJobs[0].JobStateInfo.Reason") == "'sh' exited with code 2"


def test_a_thrown_error_fails_the_job_and_the_child_carries_the_reason(rs: Runspace) -> None:
    j = job(rs, "$job = Start-Job { 'before'; throw 'MyError' }; Wait-Job $job")
    assert j.State == "Failed"
    assert ok(rs, "$job.ChildJobs[0].JobStateInfo.Reason") == ["MyError"]
    assert j.JobStateInfo.Reason is None  # as in PowerShell, the parent's is blank
    assert [e.message for e in j.ChildJobs[0].Error] == ["MyError"]  # type: ignore[attr-defined]
    r = run("Receive-Job $job", rs)
    assert strs(r.output) == ["before"]
    assert r.messages == ["MyError"]  # exactly once


def test_a_job_killed_by_a_signal_names_it(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { sleep 30 }; $j")
    assert j.ProcessId is not None
    os.kill(j.ProcessId, 9)
    ok(rs, "Wait-Job $j | Out-Null")
    assert (j.State, j.ExitCode) == ("Failed", 137)
    assert j.ChildJobs[0].JobStateInfo.Reason == "'sleep' was terminated by signal SIGKILL"


def test_a_worker_killed_by_a_signal_names_it(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { Start-Sleep 30 }; $j")
    assert j.ProcessId is not None
    os.kill(j.ProcessId, 15)
    ok(rs, "Wait-Job $j | Out-Null")
    assert j.State == "Failed"
    assert j.ChildJobs[0].JobStateInfo.Reason == (
        "The job's process was terminated by signal SIGTERM.")
    assert ok(rs, "'the shell goes on'") == ["the shell goes on"]


def test_a_native_job_whose_program_does_not_exist_fails(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { no-such-program-xyz }; Wait-Job $j")
    assert j.State == "Failed"
    reason = j.ChildJobs[0].JobStateInfo.Reason or ""
    assert reason.startswith("The term 'no-such-program-xyz' is not recognized")


class BytesSink:
    """A downstream sink that takes raw bytes, as a redirection to a file can."""

    native_fd: int | None = None

    def __init__(self) -> None:
        self.items: list[object] = []
        self.data = bytearray()

    def send(self, value: object) -> None:
        self.items.append(value)

    def write_bytes(self, data: bytes) -> None:
        self.data += data


def test_native_output_goes_as_bytes_to_a_sink_that_takes_bytes(rs: Runspace) -> None:
    payload = b"a\xff\xfe\r\nb\x00c\nlast"
    j = job(rs, "$j = Start-Job { printf 'a\\377\\376\\r\\nb\\000c\\nlast' }; Wait-Job $j")
    sink = BytesSink()
    result = rs.run("Receive-Job $j -Keep", out=sink)
    assert result.ok and (bytes(sink.data), sink.items) == (payload, [])
    # Objects are still objects; -OutVariable needs the output as lines.
    sink = BytesSink()
    rs.run("Receive-Job $j -OutVariable lines", out=sink)
    assert (bytes(sink.data), strs(sink.items)) == (b"", ["a\udcff\udcfe", "b\x00c", "last"])
    assert j.HasMoreData is False


def test_lines_not_taken_by_a_stopped_pipeline_stay_for_the_next_receive(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { seq 1 10 }; Wait-Job $j")
    assert strs(ok(rs, "Receive-Job $j | Select-Object -First 3")) == ["1", "2", "3"]
    assert strs(ok(rs, "Receive-Job $j -Wait | Select-Object -First 2")) == ["4", "5"]
    assert j.HasMoreData is True
    assert strs(ok(rs, "Receive-Job $j")) == ["6", "7", "8", "9", "10"]
    assert ok(rs, "Receive-Job $j") == []


def test_a_stop_on_the_last_line_of_a_chunk_loses_and_repeats_nothing(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { printf '1\\n2\\n3\\n' }; Wait-Job $j")
    assert strs(ok(rs, "Receive-Job $j | Select-Object -First 3")) == ["1", "2", "3"]
    assert ok(rs, "Receive-Job $j") == []
    assert j.HasMoreData is False


def test_a_half_written_line_keeps_has_more_data_true(rs: Runspace, tmp_path: Path) -> None:
    gate = fifo(tmp_path)
    j = job(rs, f"$j = Start-Job {{ sh -c 'echo one; printf tw; cat {gate}' }}; $j")
    wait_for_output(rs, j)
    threading.Thread(target=release, args=(gate, "o\n"), daemon=True).start()
    assert strs(ok(rs, "Receive-Job $j -Wait | Select-Object -First 1")) == ["one"]
    ok(rs, "Wait-Job $j | Out-Null")
    assert j.HasMoreData is True
    assert strs(ok(rs, "Receive-Job $j")) == ["two"]
    assert j.HasMoreData is False


def test_stopping_a_thread_job_ends_the_native_program_it_runs(rs: Runspace, tmp_path: Path) -> None:
    gate = fifo(tmp_path)
    t = job(rs, f"$t = Start-ThreadJob {{ sh -c 'echo $$; cat {gate}' }}; $t")
    wait_for_output(rs, t)
    (pid,) = [int(str(x)) for x in ok(rs, "Receive-Job $t")]
    ok(rs, "Stop-Job $t")
    assert t.State == "Stopped"
    assert proc_state(pid) in (None, "Z")


def test_a_stop_arriving_while_a_thread_jobs_native_starts_still_ends_it(
        rs: Runspace, monkeypatch: pytest.MonkeyPatch) -> None:
    # The stop lands after the native was spawned and before its stop callback is in place
    # (Stop-Job, or pjsh leaving, just as the job reaches the native): it must not be lost.
    from pjsh.runtime.pipeline import NativeStage

    started = threading.Event()
    pids: list[int] = []
    original = NativeStage._watch_stop

    def stop_first(stage: NativeStage) -> None:
        assert stage.group is not None
        pids.append(stage.group.procs[0].pid)
        assert started.wait(30)
        rs.session.jobs.manager.stop(holder[0], wait=False)
        original(stage)

    holder: list[Job] = []
    monkeypatch.setattr(NativeStage, "_watch_stop", stop_first)
    t = job(rs, "$t = Start-ThreadJob { sleep 30 }; $t")
    holder.append(t)
    started.set()
    assert ok(rs, "Wait-Job $t -Timeout 20") == [t]
    assert t.State == "Stopped"
    assert pids and proc_state(pids[0]) in (None, "Z")


def test_receive_wait_stops_at_a_suspended_job(rs: Runspace) -> None:
    j = job(rs, "$j = Start-Job { sh -c 'echo before; sleep 30' }; $j")
    wait_for_output(rs, j)
    ok(rs, "Suspend-Job $j")
    assert strs(ok(rs, "Receive-Job $j -Wait")) == ["before"]  # Suspended ends the wait
    assert j.State == "Suspended"


def test_receive_session_on_a_thread_job_is_an_error(rs: Runspace) -> None:
    r = run("$t = Start-ThreadJob { 1 }; Receive-Job $t -Session $null", rs)
    assert r.messages == ["The Session parameter can be used only with PSRemotingJob objects."]
