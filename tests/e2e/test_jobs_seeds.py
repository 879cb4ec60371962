"""The job examples of the reference documents in shared/seeds, translated to Linux and run end
to end through the installed ``pjsh`` in scripted mode (statements on stdin, as typed).

- 001 about_Jobs (French): every example.
- 000/002/003 about_Remote_Jobs (French, Russian, Japanese): the local-job steps only
  (``start-job``, ``get-job $job``, ``receive-job $job > file``, ``receive-job -id``,
  ``receive-job -sessionid 2 -keep``). Enter-PSSession, Exit-PSSession, New-PSSession and
  Invoke-Command belong to the remoting issue.
- 004 Azure PowerShell's -AsJob article: context passed with -Arguments, a cmdlet with -AsJob,
  and the ``for`` loop starting ten jobs that finish in about one job's time.

Windows programs become Linux ones: Get-EventLog reads a log file (Get-Content), a registry
write that is refused becomes a mkdir that is refused, New-AzureRmVM creates a directory.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.e2e.test_cli import script
from tests.e2e.test_jobs_cli import Shell, live_group_members, release

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")

HEADER = ("Id     Name            PSJobTypeName   State         HasMoreData     Location         "
          "    Command")
RULE = ("--     ----            -------------   -----         -----------     --------         "
        "    -------")


def row(job_id: int, name: str, type_name: str, state: str, more: bool, location: str,
        command: str) -> str:
    """A Get-Job table row with PowerShell's column widths; Command takes the rest of the
    120-column line (a longer command cut with '…')."""
    if len(command) > 30:
        command = command[:29] + "…"
    return (f"{job_id:<6} {name:<15} {type_name:<15} {state:<13} {more!s:<15} {location:<20} "
            f"{command}").rstrip()


# ---------------------------------------------------------------------------- 001 about_Jobs

def test_about_jobs_start_job_returns_a_job_object_shown_as_a_table() -> None:
    # Start-Job -ScriptBlock {Get-Process}
    r = script("Start-Job -ScriptBlock {Get-Process}\n")
    assert r.stdout.splitlines()[:4] == [
        "", HEADER, RULE, row(1, "Job1", "BackgroundJob", "Running", True, "localhost",
                              "Get-Process")]


def test_about_jobs_the_background_operator_is_equivalent_to_start_job() -> None:
    # $job = Start-Job -ScriptBlock {Get-Process}   /   $job = Get-Process &
    r = script("$job = Start-Job -ScriptBlock {Get-Process}\n$job2 = Get-Process &\n"
               "$job2.PSJobTypeName; $job2.Command\n"
               "$a = Receive-Job $job -Wait; $b = Receive-Job $job2 -Wait\n"
               "$a[0].GetType().FullName; $b[0].GetType().FullName\n"
               "@($a | Where-Object Id -eq $PID).Count; @($b | Where-Object Id -eq $PID).Count\n")
    assert r.stdout.splitlines() == [
        "BackgroundJob", "Get-Process",
        "Deserialized.System.Diagnostics.Process", "Deserialized.System.Diagnostics.Process",
        "1", "1"]  # both saw the shell's own process


def test_about_jobs_get_job_and_get_job_by_id() -> None:
    # Get-Job ; $job = Get-Job -Id 1 ; Get-Job (the state column shows Completed)
    r = script("Start-Job -ScriptBlock {Get-Process} | Out-Null\n"
               "$job = Get-Job -Id 1\n$job | Wait-Job | Out-Null\nGet-Job\n")
    assert r.stdout.splitlines() == [
        "", HEADER, RULE,
        row(1, "Job1", "BackgroundJob", "Completed", True, "localhost", "Get-Process"), ""]


def test_about_jobs_receive_job_into_the_console_a_variable_and_a_file(tmp_path: Path) -> None:
    # Receive-Job -Job $job ; $results = Receive-Job -Job $job ; Receive-Job -Job $job > results.txt
    r = script("$job = Start-Job -ScriptBlock {Get-Process -Id $using:PID}\n"
               "$job | Wait-Job | Out-Null\n"
               "Receive-Job -Job $job -Keep\n"
               "$results = Receive-Job -Job $job -Keep\n'=== end of table'\n$results.Id -eq $PID\n"
               "Receive-Job -Job $job > results.txt\n$job.HasMoreData\n", cwd=tmp_path)
    shown, _, rest = r.stdout.partition("=== end of table\n")
    assert rest == "True\nFalse\n"
    table = shown.splitlines()
    assert table[1].split() == ["PM(M)", "WS(M)", "CPU(s)", "Id", "SI", "ProcessName"]
    assert len(table) == 5 and table[4] == ""  # one process row
    assert (tmp_path / "results.txt").read_text() == shown


def test_about_jobs_partial_results_are_received_once(tmp_path: Path) -> None:
    # Two Receive-Job while the job runs: the first gets what is there, the second the rest.
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    with Shell(tmp_path) as sh:
        sh.run(f"$job = Start-Job {{ 'audiodg'; 'CcmExec'; Get-Content '{gate}' | Out-Null; "
               "'ccmsetup'; 'communicator'; 'csrss'; 'explorer' }")
        first = sh.run("Receive-Job -Job $job -Wait | Select-Object -First 2")
        release(gate)
        sh.run("$job | Wait-Job | Out-Null")
        second = sh.run("Receive-Job -Job $job")
        assert first == ["audiodg", "CcmExec"]
        assert second == ["ccmsetup", "communicator", "csrss", "explorer"]
        assert sh.run("Receive-Job -Job $job") == []


def test_about_jobs_keep_returns_everything_received_so_far(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    with Shell(tmp_path) as sh:
        sh.run(f"$job = Start-Job {{ 'audiodg'; 'CcmExec'; Get-Content '{gate}' | Out-Null; "
               "'ccmsetup'; 'communicator'; 'csrss'; 'explorer' }")
        first = sh.run("Receive-Job -Job $job -Keep -Wait | Select-Object -First 2")
        release(gate)
        sh.run("$job | Wait-Job | Out-Null")
        second = sh.run("Receive-Job -Job $job -Keep")
        assert first == ["audiodg", "CcmExec"]
        assert second == ["audiodg", "CcmExec", "ccmsetup", "communicator", "csrss", "explorer"]
        assert sh.run("Receive-Job -Job $job -Keep") == second


def test_about_jobs_waiting_for_the_results(tmp_path: Path) -> None:
    # Get-Job (one job still running) ; Wait-Job -ID n ; Wait-Job -ID n -Timeout ...
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    with Shell(tmp_path) as sh:
        sh.run("Start-Job -ScriptBlock {Get-Process} | Wait-Job | Out-Null")
        sh.run(f"Start-Job -ScriptBlock {{ cat {gate} }} | Out-Null")
        sh.run("Start-Job -ScriptBlock {Get-ChildItem -Path / -Recurse -Depth 1} | Wait-Job | "
               "Out-Null")
        assert sh.run("Get-Job") == [
            "", HEADER, RULE,
            row(1, "Job1", "BackgroundJob", "Completed", True, "localhost", "Get-Process"),
            row(3, "Job3", "BackgroundJob", "Running", True, "localhost", f" cat {gate} "),
            row(5, "Job5", "BackgroundJob", "Completed", True, "localhost",
                "Get-ChildItem -Path / -Recurse -Depth 1"),
            ""]
        # The prompt comes back after the timeout; the job goes on.
        assert sh.run("Wait-Job -ID 3 -Timeout 1") == []
        assert sh.run("(Get-Job -Id 3).State") == ["Running"]
        release(gate, "the end\n")
        assert sh.run("Wait-Job -ID 3") == [
            "", HEADER, RULE,
            row(3, "Job3", "BackgroundJob", "Completed", True, "localhost", f" cat {gate} "),
            ""]
        assert sh.run("Receive-Job -Id 3") == ["the end"]


def test_about_jobs_stopping_and_deleting_a_job(tmp_path: Path) -> None:
    # $job = Start-Job -ScriptBlock {Get-EventLog -Log System} ; $job | Stop-Job ; Remove-Job
    (tmp_path / "system.log").write_text("boot\n")
    with Shell(tmp_path) as sh:
        (pid,) = sh.run("$job = Start-Job -ScriptBlock {Get-Content -Path system.log -Wait}; "
                        "Receive-Job $job -Wait | Select-Object -First 1 | Out-Null; "
                        "$job.ProcessId")
        assert live_group_members(int(pid))
        assert sh.run("$job | Stop-Job") == []
        assert sh.run("$job.State") == ["Stopped"]
        assert live_group_members(int(pid)) == {}
        assert sh.run("Remove-Job -Job $job; @(Get-Job).Count") == ["0"]


def test_about_jobs_investigating_a_failed_job() -> None:
    # $job = Start-Job -ScriptBlock {New-Item -Path HKLM:\Software\MyCompany}
    # $job.ChildJobs[0].JobStateInfo.Reason
    r = script("$job = Start-Job -ScriptBlock {mkdir /proc/MyCompany}\n"
               "$job | Wait-Job | Out-Null\n$job\n$job.ChildJobs[0].JobStateInfo.Reason\n")
    assert r.stdout.splitlines() == [
        "", HEADER, RULE,
        row(1, "Job1", "BackgroundJob", "Failed", True, "localhost", "mkdir /proc/MyCompany"),
        "", "'mkdir' exited with code 1"]


# ---------------------------------------------------------------------------- about_Remote_Jobs

def test_remote_jobs_local_steps_start_get_receive_into_a_file(tmp_path: Path) -> None:
    # $job = start-job -scriptblock {get-eventlog "Windows PowerShell"}
    # get-job $job ; receive-job $job > c:\logs\PsLog.txt
    (tmp_path / "logs").mkdir()
    (tmp_path / "powershell.log").write_text("event 1\névénement 2\nイベント 3\n")
    r = script("$job = start-job -scriptblock {get-content \"powershell.log\"}\n"
               "wait-job $job | out-null\nget-job $job\n"
               "receive-job $job > logs/PsLog.txt\n", cwd=tmp_path)
    assert r.stdout.splitlines() == [
        "", HEADER, RULE,
        row(1, "Job1", "BackgroundJob", "Completed", True, "localhost",
            "get-content \"powershell.log\""), ""]
    assert (tmp_path / "logs" / "PsLog.txt").read_text() == (
        tmp_path / "powershell.log").read_text()


def test_remote_jobs_receive_by_id_and_by_session_id(tmp_path: Path) -> None:
    # $results = receive-job -id 1 ; receive-job -sessionid 2 -keep ; receive-job -sessionid 2 > f
    r = script("start-job -scriptblock {'system 1'; 'system 2'} | wait-job | out-null\n"
               "$results = receive-job -sessionid 1 -keep\n$results.Count\n"
               "receive-job -sessionid 2 -keep\n"
               "receive-job -sessionid 1 > pslog.txt\n$results = receive-job -id 1\n"
               "$null -eq $results\n", cwd=tmp_path)
    assert (r.stdout, r.stderr) == ("2\nsystem 1\nsystem 2\nTrue\n", "")
    assert (tmp_path / "pslog.txt").read_text() == "system 1\nsystem 2\n"


# ---------------------------------------------------------------------------- 004 Azure -AsJob

def test_azure_context_is_passed_to_the_job_with_arguments(tmp_path: Path) -> None:
    # $job = Start-Job { param($context,$vmadmin) New-AzureRmVM -Name MyVm ... } -Arguments ...
    r = script("$creds = 'vmadmin'\n"
               "$job = Start-Job { param($context,$vmadmin) New-Item -ItemType Directory "
               "-Path \"$context/MyVm\"; \"admin: $vmadmin\" } -Arguments (Get-Location).Path,"
               "$creds\n$vm = Receive-Job $job -Wait\n$vm[0].Name; $vm[1]\n"
               "$job2 = Start-Job { param($vmadmin) \"only $vmadmin\" } -Arguments $creds\n"
               "Receive-Job $job2 -Wait\n", cwd=tmp_path)
    assert (r.stdout, r.stderr) == ("MyVm\nadmin: vmadmin\nonly vmadmin\n", "")
    assert (tmp_path / "MyVm").is_dir()


def test_azure_as_job_returns_what_the_cmdlet_returns(tmp_path: Path) -> None:
    # $job = New-AzureRmVM -Name MyVm -Credential $creds -AsJob ; Get-Job $job ; Receive-Job $job
    r = script("$job = New-Item -ItemType Directory -Name MyVm -AsJob\nGet-Job $job | "
               "ForEach-Object { $_.PSJobTypeName; $_.Command }\n$job | Wait-Job | Out-Null\n"
               "$vm = Receive-Job $job\n$vm.GetType().FullName\n"
               "(New-Item -ItemType Directory -Name Direct).GetType().FullName\n$vm.Name\n",
               cwd=tmp_path)
    assert (r.stdout, r.stderr) == (
        "ThreadJob\nNew-Item -ItemType Directory -Name MyVm -AsJob\nSystem.IO.DirectoryInfo\n"
        "System.IO.DirectoryInfo\nMyVm\n", "")


def azure_loop(count: int) -> str:
    """The article's loop, with New-AzureRmVm as a one-second cmdlet run with -AsJob."""
    return (f"for($k = 0; $k -lt {count}; $k++) {{\n"
            "    ForEach-Object -InputObject MyVm$k -Process { Start-Sleep 1; "
            "New-Item -ItemType Directory -Path $_ } -AsJob\n}\n"
            "Get-Job | Wait-Job\n\"All jobs completed\"\n"
            "Get-ChildItem -Directory | ForEach-Object Name\n")


def timed_script(text: str, cwd: Path) -> tuple[float, str, str]:
    started = time.monotonic()
    r = script(text, cwd=cwd)
    return time.monotonic() - started, r.stdout, r.stderr


def test_azure_ten_jobs_finish_in_about_one_jobs_time(tmp_path: Path) -> None:
    # for($k = 0; $k -lt 10; $k++) { New-AzureRmVm -Name MyVm$k -Credential $creds -AsJob }
    # Get-Job | Wait-Job ; "All jobs completed" ; Get-AzureRmVM
    (tmp_path / "one").mkdir()
    (tmp_path / "ten").mkdir()
    one_job, _, _ = timed_script(azure_loop(1), tmp_path / "one")
    elapsed, stdout, stderr = timed_script(azure_loop(10), tmp_path / "ten")
    assert stderr == ""
    # Ten one-second jobs side by side take about as long as one (in sequence they would add
    # nine seconds): a ratio, so a loaded machine slows both alike.
    print(f"\nAzure loop: 1 job {one_job:.2f} s, 10 jobs {elapsed:.2f} s")
    assert elapsed < 3 * one_job, (elapsed, one_job)
    lines = stdout.splitlines()
    assert lines[lines.index("All jobs completed"):] == [
        "All jobs completed", *[f"MyVm{k}" for k in range(10)]]
    command = "ForEach-Object -InputObject MyVm$k -Process { ... } -AsJob"
    running = [row(i, f"Job{i}", "ThreadJob", "Running", False, "PowerShell", command)
               for i in range(1, 11)]
    completed = [row(i, f"Job{i}", "ThreadJob", "Completed", True, "PowerShell", command)
                 for i in range(1, 11)]
    # As in the article: one table of ten running jobs (the for statement's output), then
    # Wait-Job's table of the same ten completed.
    assert lines == [
        "", HEADER, RULE, *running, "", "", HEADER, RULE, *completed, "",
        "All jobs completed", *[f"MyVm{k}" for k in range(10)]]


def background_loop(count: int) -> str:
    return (f"for($k = 0; $k -lt {count}; $k++) {{\n"
            "    Start-Job { param($name) Start-Sleep 1; New-Item -ItemType Directory $name } "
            "-Arguments MyVm$k | Out-Null\n}\n"
            "(Get-Job | Wait-Job).State | Sort-Object -Unique\n"
            "@(Get-ChildItem -Directory).Count\n")


def test_azure_ten_background_jobs_also_run_side_by_side(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "ten").mkdir()
    one_job, stdout1, _ = timed_script(background_loop(1), tmp_path / "one")
    elapsed, stdout, stderr = timed_script(background_loop(10), tmp_path / "ten")
    assert (stdout1, stdout, stderr) == ("Completed\n1\n", "Completed\n10\n", "")
    print(f"\nStart-Job loop: 1 job {one_job:.2f} s, 10 jobs {elapsed:.2f} s")
    # Each job is its own process, started in a burst of Python start-ups (CPU-bound), yet ten
    # of them overlap: in sequence they would take ten times one.
    assert elapsed < 5 * one_job, (elapsed, one_job)
