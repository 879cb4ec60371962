"""The job behaviours of the engine-structure issue through the ``pjsh`` executable: a removed
job is not found, a failure's Reason has a Message, job streams are PSDataCollections,
Remove-Job without an argument is a binding error, Suspend-Job/Resume-Job -Wait, and
Write-Error/Write-Progress parameters that used to be ignored."""

from __future__ import annotations

import os

import pytest

from tests.e2e.test_cli import script

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")


def test_get_job_of_a_removed_job_object_is_not_found() -> None:
    r = script("$j = Start-ThreadJob { 1 }\n$null = Wait-Job $j\nRemove-Job $j\nGet-Job $j\n"
               "'after'\n")
    assert r.stdout == "after\n"
    assert r.stderr == (
        "Get-Job: The command cannot find the job because the job name Job1 was not found. "
        "Verify the value of the Name parameter, and then try the command again.\n")


def test_thread_job_reason_is_the_thrown_message_with_a_message_property() -> None:
    r = script("$t = Start-ThreadJob { throw 'boom' }\n$null = Wait-Job $t\n$t.State\n"
               "$t.JobStateInfo.Reason.Message\n$t.JobStateInfo.Reason\n")
    assert (r.stdout, r.stderr) == ("Failed\nboom\nboom\n", "")


def test_start_job_parent_reason_is_blank_and_the_child_carries_it() -> None:
    r = script("$j = Start-Job { throw 'boom' }\n$null = Wait-Job $j\n"
               "\"[$($j.JobStateInfo.Reason)]\"\n$j.ChildJobs[0].JobStateInfo.Reason.Message\n")
    assert (r.stdout, r.stderr) == ("[]\nboom\n", "")


def test_job_streams_behave_like_psdatacollection() -> None:
    r = script("$j = Start-Job { Write-Verbose 'vv' -Verbose; 5; 6 }\n$null = Wait-Job $j\n"
               "$c = $j.ChildJobs[0]\n$c.Verbose.ReadAll()\n$c.Output.Count\n$c.Output[1]\n"
               "foreach ($o in $c.Output) { \"o=$o\" }\n")
    assert (r.stdout, r.stderr) == ("vv\n2\n6\no=5\no=6\n", "")


def test_remove_job_without_arguments_is_the_missing_mandatory_id_error() -> None:
    r = script("$j = Start-ThreadJob { 1 }\n$null = Wait-Job $j\nRemove-Job\n@(Get-Job).Count\n")
    assert r.stdout == "1\n"
    assert r.stderr == ("Remove-Job: Cannot process command because of one or more missing "
                        "mandatory parameters: Id.\n")


def test_suspend_job_wait_and_resume_job_wait() -> None:
    r = script("$j = Start-Job { sleep 30 }\n(Suspend-Job $j -Wait -Force).State\n"
               "(Resume-Job $j -Wait).State\nStop-Job $j\n$j.State\n")
    assert (r.stdout, r.stderr) == ("Suspended\nRunning\nStopped\n", "")


def test_write_error_category_target_type_and_recommended_action() -> None:
    r = script("$e = Write-Error -Message m -CategoryTargetName tn -CategoryTargetType tt "
               "-RecommendedAction 'do it' 2>&1\n$e.CategoryInfo.GetMessage()\n"
               "$e.ErrorDetails.RecommendedAction\n"
               "$j = Start-Job { Write-Error m -CategoryTargetType tt -RecommendedAction ra }\n"
               "$r = $j | Wait-Job | Receive-Job 2>&1\n$r.CategoryInfo.TargetType\n"
               "$r.ErrorDetails.RecommendedAction\n")
    assert (r.stdout, r.stderr) == (
        "NotSpecified: (tn:tt) [Write-Error], WriteErrorException\ndo it\ntt\nra\n", "")


def test_write_progress_source_id_is_accepted_and_carried_into_a_job() -> None:
    r = script("$j = Start-ThreadJob { Write-Progress -Activity a -SourceId 3 -Id 1 }\n"
               "$null = Wait-Job $j\n$j.Progress.Count\n$j.Progress[0].Activity\n")
    assert (r.stdout, r.stderr) == ("1\na\n", "")
