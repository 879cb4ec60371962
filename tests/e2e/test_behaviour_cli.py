"""Behaviours fixed after defects found against pwsh, seen through the installed ``pjsh``."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.test_cli import command, pjsh_command, pjsh_env, script


def test_a_bareword_with_a_variable_keeps_its_suffix() -> None:
    r = command("$k=3; Write-Output MyVm$k.txt; /bin/echo a$k.b")
    assert (r.stdout, r.stderr) == ("MyVm3.txt\na3.b\n", "")


def test_the_azure_loop_writes_suffixed_file_names(tmp_path: Path) -> None:
    r = script("for ($k = 1; $k -le 3; $k++) {\n"
               "    Set-Content -Path MyVm$k.txt -Value \"vm $k\"\n}\n"
               "(Get-ChildItem -Name MyVm*) -join ','\n", cwd=tmp_path)
    assert (r.stdout, r.stderr) == ("MyVm1.txt,MyVm2.txt,MyVm3.txt\n", "")
    assert (tmp_path / "MyVm3.txt").read_text().strip() == "vm 3"


def test_a_received_location_prints_as_its_path_in_a_string(tmp_path: Path) -> None:
    r = command('"$(Start-Job { Get-Location } | Wait-Job | Receive-Job)"', cwd=tmp_path)
    assert (r.stdout, r.stderr) == (f"{tmp_path}\n", "")


def test_a_job_in_a_string_is_its_type_name() -> None:
    r = command('$j = Start-Job { 1 }; "$j"; $null = $j | Wait-Job')
    assert (r.stdout, r.stderr) == ("System.Management.Automation.PSRemotingJob\n", "")


def test_environment_methods_use_the_shells_environment() -> None:
    r = command("$env:PJSH_E2E = 'from-env'; [Environment]::GetEnvironmentVariable('PJSH_E2E'); "
                "[Environment]::SetEnvironmentVariable('PJSH_E2E', 'set'); "
                "/bin/sh -c 'echo child sees $PJSH_E2E'")
    assert (r.stdout, r.stderr) == ("from-env\nchild sees set\n", "")


def test_format_list_and_json_of_a_job_show_no_python_reprs() -> None:
    r = command("$j = Start-Job { 1 }; $null = $j | Wait-Job; $j | Format-List ChildJobs; "
                "$j | ConvertTo-Json -Depth 1 -WarningAction Ignore")
    assert r.stderr == ""
    assert "ChildJobs : {Job2}" in r.stdout
    assert '"ChildJobs": [\n    "System.Management.Automation.PSRemotingChildJob"\n  ]' in r.stdout
    assert "<" not in r.stdout


def test_get_job_shows_the_whole_command_on_a_wide_terminal() -> None:
    long = "'" + "x" * 60 + "'"
    proc = subprocess.run(
        [*pjsh_command(), "-NoProfile", "-c",
         f"$j = Start-ThreadJob {{ {long} }}; $null = $j | Wait-Job; Get-Job"],
        capture_output=True, text=True, env=pjsh_env(COLUMNS="160"), timeout=60, check=False)
    assert proc.stderr == ""
    assert proc.stdout.splitlines()[3].endswith(f" {long}")


def test_foreach_object_parallel_and_its_job() -> None:
    r = command("$k = 10; (1..3 | ForEach-Object -Parallel { $_ * $using:k } | Sort-Object) "
                "-join ','; $j = 1..2 | ForEach-Object -Parallel { \"item $_\" } -AsJob; "
                "($j | Receive-Job -Wait | Sort-Object) -join ','; $j.PSJobTypeName; "
                "$j.ChildJobs.Count; 1 | ForEach-Object -Parallel { Write-Error 'from block' }")
    assert r.stdout == "10,20,30\nitem 1,item 2\nPSTaskJob\n2\n"
    assert "from block" in r.stderr


def test_format_table_group_by() -> None:
    r = command("@([pscustomobject]@{N='a'; S='x'}, [pscustomobject]@{N='b'; S='y'}) | "
                "Format-Table -GroupBy S")
    assert (r.stdout, r.stderr) == (
        "\n   S: x\n\nN S\n- -\na x\n\n   S: y\n\nN S\n- -\nb y\n\n", "")


def test_get_help_of_a_function_with_comment_based_help() -> None:
    r = command("<#\n.SYNOPSIS\nGreets someone.\n.PARAMETER Name\nWho to greet.\n.EXAMPLE\n"
                "Get-Greeting -Name World\n#>\nfunction Get-Greeting { param($Name) }\n"
                "Get-Help Get-Greeting; Get-Help Get-Greeting -Parameter Name; "
                "Get-Help Get-Greeting -Examples")
    assert r.stderr == ""
    assert "SYNOPSIS\n    Greets someone.\n" in r.stdout
    assert "-Name <System.Object>\n    Who to greet.\n" in r.stdout
    assert "    PS > Get-Greeting -Name World\n" in r.stdout
