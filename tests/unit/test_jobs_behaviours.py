"""Job behaviours fixed from the engine-structure issue, through the engine (tests.harness):
a removed job is not found by Get-Job, a failure's Reason has a Message, job streams are
PSDataCollections, Remove-Job without an argument is a binding error, Suspend-Job/Resume-Job
-Wait wait for the state, and Write-Error/Write-Progress carry every parameter they take."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pjsh.engine import local_options
from pjsh.jobs.fake import FakeBackend
from pjsh.jobs.model import Job, JobObserver, JobState
from pjsh.runtime.errors import ErrorRecord
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.runspace import Runspace, create_runspace
from tests.harness import new_runspace, run

S = JobState


@pytest.fixture
def rs(tmp_path: Path) -> Iterator[Runspace]:
    runspace = new_runspace(cwd=str(tmp_path))
    yield runspace
    runspace.session.shutdown()


def ok(rs: Runspace, text: str) -> list[object]:
    r = run(text, rs)
    assert r.errors == [], r.messages
    return r.output


def errors(rs: Runspace, text: str) -> list[ErrorRecord]:
    r = run(text, rs)
    assert all(isinstance(e, ErrorRecord) for e in r.errors)
    return [e for e in r.errors if isinstance(e, ErrorRecord)]


# ---- 1. Get-Job of a removed job -------------------------------------------------------------

def test_get_job_of_a_removed_job_object_is_not_found(rs: Runspace) -> None:
    ok(rs, "$j = Start-ThreadJob { 1 }; $null = Wait-Job $j; Remove-Job $j")
    r = run("Get-Job $j", rs)
    assert r.output == []
    [error] = r.errors
    assert isinstance(error, ErrorRecord)
    assert error.message == (
        "The command cannot find the job because the job name Job1 was not found. Verify the "
        "value of the Name parameter, and then try the command again.")
    assert error.FullyQualifiedErrorId == \
        "JobWithSpecifiedNameNotFound,Microsoft.PowerShell.Commands.GetJobCommand"
    [error] = errors(rs, "Get-Job -Id $j.Id")
    assert error.message.startswith("The command cannot find a job with the job ID 1.")


def test_get_job_of_a_job_object_still_in_the_session_returns_it(rs: Runspace) -> None:
    out = ok(rs, "$j = Start-ThreadJob { 1 }; $null = Wait-Job $j; Get-Job $j")
    assert len(out) == 1 and isinstance(out[0], Job)


# ---- 2. the failure reason ------------------------------------------------------------------

def test_thread_job_reason_is_the_thrown_message_with_a_message_property(rs: Runspace) -> None:
    out = ok(rs, "$t = Start-ThreadJob { throw 'boom' }; $null = Wait-Job $t; $t.State; "
                 "$t.JobStateInfo.Reason.Message; \"$($t.JobStateInfo.Reason)\"")
    assert out == ["Failed", "boom", "boom"]


def test_start_job_parent_reason_is_blank_and_the_child_carries_it(rs: Runspace) -> None:
    out = ok(rs, "$j = Start-Job { throw 'boom' }; $null = Wait-Job $j; $j.State; "
                 "$null -eq $j.JobStateInfo.Reason; $j.ChildJobs[0].JobStateInfo.Reason.Message")
    assert out == ["Failed", True, "boom"]


# ---- 3. stream collections -------------------------------------------------------------------

def test_job_streams_behave_like_psdatacollection(rs: Runspace) -> None:
    ok(rs, "$j = Start-ThreadJob { Write-Verbose 'v1' -Verbose; Write-Verbose 'v2' -Verbose; "
           "Write-Warning 'w'; 5; 6 }; $null = Wait-Job $j")
    assert ok(rs, "$j.Verbose.Count; $j.Verbose[1]; $j.Output[0]") == [2, "v2", 5]
    assert ok(rs, "$j.Verbose.ReadAll()") == ["v1", "v2"]
    assert ok(rs, "foreach ($o in $j.Output) { $o * 10 }") == [50, 60]
    assert ok(rs, "$c = $j.Warning; $c.ReadAll(); $c.Count") == ["w", 0]
    assert ok(rs, "$j.Output.GetType().FullName") == [
        "System.Management.Automation.PSDataCollection`1[[System.Management.Automation."
        "PSObject]]"]
    for stream in ("Output", "Error", "Verbose", "Debug", "Warning", "Information", "Progress"):
        assert ok(rs, f"$j.{stream}.ReadAll().Count -ge 0") == [True]


def test_child_job_verbose_readall_of_a_start_job(rs: Runspace) -> None:
    out = ok(rs, "$j = Start-Job { Write-Verbose 'vv' -Verbose; 1 }; $null = Wait-Job $j; "
                 "$j.ChildJobs[0].Verbose.ReadAll(); $j.ChildJobs[0].Output.Count")
    assert [str(o) for o in out] == ["vv", "1"]


# ---- 4. Remove-Job without arguments ----------------------------------------------------------

def test_remove_job_without_arguments_is_the_missing_mandatory_id_error(rs: Runspace) -> None:
    ok(rs, "$j = Start-ThreadJob { 1 }; $null = Wait-Job $j")
    [error] = errors(rs, "Remove-Job")
    assert error.message == \
        "Cannot process command because of one or more missing mandatory parameters: Id."
    assert error.FullyQualifiedErrorId.startswith("MissingMandatoryParameter,")
    assert "internal error" not in error.message
    assert len(ok(rs, "Get-Job")) == 1  # nothing was removed


# ---- 5. parameters that were declared and never read ---------------------------------------

def test_suspend_job_wait_returns_once_suspended_and_resume_job_wait_once_running(
    rs: Runspace,
) -> None:
    ok(rs, "$j = Start-Job { sleep 30 }")
    assert ok(rs, "(Suspend-Job $j -Wait -Force).State") == ["Suspended"]
    assert ok(rs, "(Resume-Job $j -Wait).State") == ["Running"]
    ok(rs, "Stop-Job $j")


def test_suspend_job_wait_waits_for_a_backend_that_suspends_later(rs: Runspace) -> None:
    # A backend may report Suspended after suspend() returns (through Suspending): -Wait must
    # block until then. Here Suspended comes only once -Wait watches the job, so without
    # -Wait the state seen would be Suspending.
    manager = rs.session.jobs.manager
    fake = FakeBackend(manager)
    manager.register_backend("fake", fake)
    job = manager.start(fake.create_job())
    watched = threading.Event()
    real_add = job.add_observer

    def add_observer(observer: JobObserver, output: bool = True) -> None:
        real_add(observer, output)
        watched.set()

    async def suspending(j: Job) -> None:
        j.set_state(S.Suspending)
        watched.clear()
        job.add_observer = add_observer  # type: ignore[method-assign]

    def suspend_when_watched() -> None:
        assert watched.wait(30)
        job.set_state(S.Suspended)

    fake.suspend = suspending  # type: ignore[method-assign]
    rs.session.global_scope.set("f", job)
    assert ok(rs, "(Suspend-Job $f).State") == ["Suspending"]
    job.set_state(S.Running)
    helper = threading.Thread(target=suspend_when_watched)
    helper.start()
    assert ok(rs, "(Suspend-Job $f -Wait).State") == ["Suspended"]
    helper.join()


def test_write_error_sets_category_target_type_and_recommended_action(rs: Runspace) -> None:
    out = ok(rs, "$e = Write-Error -Message m -CategoryTargetName tn -CategoryTargetType tt "
                 "-CategoryActivity act -CategoryReason why -RecommendedAction 'do it' 2>&1; "
                 "$e.CategoryInfo.TargetType; $e.CategoryInfo.GetMessage(); "
                 "$e.ErrorDetails.Message; $e.ErrorDetails.RecommendedAction")
    assert out == ["tt", "NotSpecified: (tn:tt) [act], why", "m", "do it"]
    assert ok(rs, "$e = Write-Error m 2>&1; $null -eq $e.ErrorDetails") == [True]


def test_write_progress_source_id_is_carried_on_the_record() -> None:
    host = MemoryHost()
    runspace = create_runspace(local_options(host))
    try:
        run("Write-Progress -Activity a -SourceId 7 -Id 2", runspace)
    finally:
        runspace.session.shutdown()
    records = [r for r in host.progress]
    assert [(getattr(r, "SourceId", None), getattr(r, "ActivityId", None)) for r in records] \
        == [(7, 2)]
