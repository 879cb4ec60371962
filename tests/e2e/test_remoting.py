"""Remoting end to end: sessions, Invoke-Command, Enter-Session and remote jobs through the
real ``pjsh`` executable against a real OpenSSH sshd on 127.0.0.1 (tests/ssh_fixture.py),
logged in as a throwaway user, with the remote engine run by the oldest python3 the machine
has (3.8 here)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ssh_fixture import ALIAS, SSHServer

pytestmark = pytest.mark.slow


def pjsh(script: str, home: Path, *, stdin: bool = True, timeout: float = 120,
         extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a script through pjsh's scripted stdin (or -c), as a user would."""
    env = dict(os.environ, HOME=str(home))
    env.pop("SSH_AUTH_SOCK", None)
    env.update(extra_env or {})
    if stdin:
        return subprocess.run(["pjsh", "-NoProfile"], input=script, capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=str(home))
    return subprocess.run(["pjsh", "-NoProfile", "-c", script], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=str(home),
                          stdin=subprocess.DEVNULL)


def test_invoke_command_runs_on_the_host_as_the_remote_user(sshd: SSHServer,
                                                            ssh_home: Path) -> None:
    result = pjsh(f"Invoke-Command -HostName {ALIAS} {{ whoami; $HOME; (Get-Location).Path }}\n",
                  ssh_home)
    assert result.stderr == ""
    assert result.stdout.splitlines() == [sshd.user, sshd.user_home, sshd.user_home]


def test_the_remote_engine_runs_under_the_oldest_python_the_machine_has(
        sshd: SSHServer, ssh_home: Path) -> None:
    if sshd.remote_python is None:
        pytest.skip("no python3 older than this one under pyenv for the remote side")
    result = pjsh(f"Invoke-Command -HostName {ALIAS} {{ Get-Content /proc/$PID/cmdline }}\n",
                  ssh_home)
    assert result.stderr == ""
    assert result.stdout.split("\0")[0] == sshd.remote_python


SEED_ENTER_FLOW = """\
Enter-Session -HostName {alias}
$job = Start-Job {{ "event $((Get-Location).Path)"; whoami }}
Wait-Job $job | Out-Null
Get-Job | Format-Table Id, State, Location -HideTableHeaders
Receive-Job $job > ~/PsLog.txt
Exit-Session
whoami
$s = New-Session -HostName {alias}
Invoke-Command -Session $s {{ Get-Content ~/PsLog.txt }}
"""


def test_seed_flow_enter_start_job_receive_to_a_remote_file_then_read_it_in_a_session(
        sshd: SSHServer, ssh_home: Path) -> None:
    result = pjsh(SEED_ENTER_FLOW.format(alias=ALIAS), ssh_home)
    assert result.stderr == ""
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    # Get-Job inside the session: the job runs on the host, so its Location is localhost.
    assert lines[0].split() == ["1", "Completed", "localhost"]
    assert lines[1] == "root"  # back home after Exit-Session
    assert lines[2:] == [f"event {sshd.user_home}", sshd.user]
    log = Path(sshd.user_home) / "PsLog.txt"
    assert log.stat().st_uid == pwd_uid(sshd.user)  # written on the host, by its user
    assert not (ssh_home / "PsLog.txt").exists()


def pwd_uid(user: str) -> int:
    import pwd
    return pwd.getpwnam(user).pw_uid


def test_seed_flow_invoke_as_job_then_get_job_and_receive_job(sshd: SSHServer,
                                                              ssh_home: Path) -> None:
    script = f"""\
$j = Invoke-Command -HostName {ALIAS} {{ whoami; Write-Warning "w" }} -AsJob -JobName far
$j.PSJobTypeName
Wait-Job $j | Out-Null
Get-Job | Format-Table Name, PSJobTypeName, State, Location -HideTableHeaders
$j.ChildJobs.Count
$j.ChildJobs[0].Location
Receive-Job $j 3>&1
Receive-Job $j
"done"
"""
    result = pjsh(script, ssh_home)
    assert result.stderr == ""
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines == ["RemoteJob", f"far  RemoteJob Completed {ALIAS}".replace("  ", " ")
                     if False else lines[1], "1", ALIAS, sshd.user, "w", "done"]
    assert lines[1].split() == ["far", "RemoteJob", "Completed", ALIAS]


def test_seed_flow_jobs_kept_in_a_session_are_received_with_keep_twice(
        sshd: SSHServer, ssh_home: Path) -> None:
    script = f"""\
$s = New-Session -HostName {ALIAS}
Invoke-Command -Session $s {{ Start-Job {{ "kept on $(whoami)" }} | Out-Null }}
Invoke-Command -Session $s {{ Get-Job | Wait-Job | Format-Table Id, State, Location -HideTableHeaders }}
Invoke-Command -Session $s {{ Receive-Job -Id 1 -Keep }}
Invoke-Command -Session $s {{ Receive-Job -Id 1 -Keep }}
Get-Job | Measure-Object | ForEach-Object Count
"""
    result = pjsh(script, ssh_home)
    assert result.stderr == ""
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines[0].split() == ["1", "Completed", "localhost"]
    assert lines[1:] == [f"kept on {sshd.user}", f"kept on {sshd.user}", "0"]


def test_a_session_keeps_directory_variables_and_functions_and_lists_in_get_session(
        sshd: SSHServer, ssh_home: Path) -> None:
    script = f"""\
$s = New-Session -HostName {ALIAS} -Name web
Invoke-Command -Session $s {{ Set-Location /tmp; $n = 41; function Next {{ $n + 1 }} }}
Invoke-Command -Session $s {{ (Get-Location).Path; Next }}
Get-Session
Get-PSSession -Name web | ForEach-Object {{ "$($_.State) $($_.Availability) $_" }}
Remove-PSSession $s
$s.State
Get-Session | Measure-Object | ForEach-Object Count
Invoke-Command -Session $s {{ 1 }}
"""
    result = pjsh(script, ssh_home)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines[:2] == ["/tmp", "42"]
    assert lines[2].split() == ["Id", "Name", "Transport", "ComputerName", "ComputerType",
                                "State", "ConfigurationName", "Availability"]
    assert lines[4].split() == ["1", "web", "SSH", ALIAS, "RemoteMachine", "Opened",
                                "DefaultShell", "Available"]
    assert lines[5:] == ["Opened Available [PSSession]web", "Closed", "0"]
    assert "InvokeCommandCommandInvalidSessionState" in result.stderr or \
        "is not equal to Open" in result.stderr


def test_entered_lines_run_remotely_until_exit_and_a_temporary_session_stops_its_jobs(
        sshd: SSHServer, ssh_home: Path) -> None:
    script = f"""\
Enter-Session -HostName {ALIAS}
whoami
cd /tmp
$PWD.Path
if ($true) {{
  "multi-line input goes as one piece"
}}
$sleeper = Start-Job {{ Start-Sleep 300 }}
$native = sleep 300 &
exit
whoami
$PWD.Path
"""
    result = pjsh(script, ssh_home)
    assert result.stdout.splitlines() == [sshd.user, "/tmp", "multi-line input goes as one piece",
                                          "root", str(ssh_home)]
    assert result.stderr == (f"WARNING: Leaving the temporary session to {ALIAS} stopped 2 "
                             "running jobs.\n")


def test_a_remote_prompt_answers_from_the_local_host(sshd: SSHServer, ssh_home: Path) -> None:
    script = f"""\
Invoke-Command -HostName {ALIAS} {{ "hello " + (Read-Host "name") }}
ada
"""
    result = pjsh(script, ssh_home)
    assert result.stdout == "name: \nhello ada\n"  # as a local Read-Host in scripted mode


def test_using_values_and_arguments_arrive_literally(sshd: SSHServer, ssh_home: Path) -> None:
    script = f"""\
$word = 'a;b $(c) `d'
Invoke-Command -HostName {ALIAS} {{ param($n) "$n|$using:word" }} -ArgumentList 7
Set-Content local.ps1 'param($n) "file $n ran as $(whoami)"'
Invoke-Command -HostName {ALIAS} -FilePath local.ps1 -ArgumentList 3
"""
    result = pjsh(script, ssh_home)
    assert result.stderr == ""
    assert result.stdout == f"7|a;b $(c) `d\nfile 3 ran as {sshd.user}\n"


INJECTIONS = ["a;touch pwned1", "$(touch pwned2)", "`touch pwned3`", "x\ntouch pwned4",
              "*", "'; touch pwned5; '", "a | touch pwned6"]


@pytest.mark.parametrize("path", ["exec", "engine"])
def test_arguments_create_nothing_and_run_nothing_on_the_host(sshd: SSHServer, ssh_home: Path,
                                                             path: str) -> None:
    folder = Path(sshd.user_home) / f"inject-{path}"
    folder.mkdir()
    os.chown(folder, pwd_uid(sshd.user), -1)
    quoted = " ".join("'" + word.replace("'", "''") + "'" for word in INJECTIONS)
    # One native with literal arguments runs over a plain exec channel; through a variable
    # it goes to the engine, which starts touch with an argv.
    listed = ",".join("'" + word.replace("'", "''") + "'" for word in INJECTIONS)
    body = f"touch {quoted}" if path == "exec" else f"$w = {listed}; touch @w"
    script = f"Invoke-Command -HostName {ALIAS} {{ Set-Location ~/inject-{path}; {body} }}\n" \
        if path == "engine" else \
        f"Invoke-Command -HostName {ALIAS} {{ {body} }}\n"
    if path == "exec":
        # The exec channel starts in the remote home: name the folder in each argument.
        names = " ".join("'inject-exec/" + word.replace("'", "''") + "'" for word in INJECTIONS)
        script = f"Invoke-Command -HostName {ALIAS} {{ touch {names} }}\n"
    result = pjsh(script, ssh_home)
    assert result.stderr == ""
    assert sorted(p.name for p in folder.iterdir()) == sorted(INJECTIONS)
    assert not list(Path(sshd.user_home).glob("pwned*"))


def test_five_megabytes_of_binary_output_arrive_byte_exact(sshd: SSHServer,
                                                           ssh_home: Path) -> None:
    blob = os.urandom(5 * 1024 * 1024)
    remote = Path(sshd.user_home) / "blob.bin"
    remote.write_bytes(blob)
    script = f"""\
Invoke-Command -HostName {ALIAS} {{ cat blob.bin }} > exec.bin
Enter-Session -HostName {ALIAS}
cat blob.bin
exit
"""
    env = dict(os.environ, HOME=str(ssh_home))
    env.pop("SSH_AUTH_SOCK", None)
    with open(ssh_home / "entered.bin", "wb") as out:
        proc = subprocess.run(["pjsh", "-NoProfile"], input=script.encode(), stdout=out,
                              stderr=subprocess.PIPE, env=env, cwd=str(ssh_home), timeout=120)
    assert proc.stderr == b""
    assert (ssh_home / "exec.bin").read_bytes() == blob  # Invoke-Command over exec, to a file
    assert (ssh_home / "entered.bin").read_bytes() == blob  # a native in an entered session


def test_a_fan_out_reports_each_failing_host_once_and_the_others_go_on(
        sshd: SSHServer, ssh_home: Path) -> None:
    script = (f"Invoke-Command -HostName {ALIAS},127.0.0.1:1,nosuchhost.invalid,{ALIAS} "
              "{ whoami } -ErrorVariable bad 2>$null\n"
              "$bad.Count\n$bad | ForEach-Object { $_.FullyQualifiedErrorId }\n")
    result = pjsh(script, ssh_home)
    lines = result.stdout.splitlines()
    assert lines[:2] == [sshd.user, sshd.user]
    assert lines[2] == "2"
    assert all("PSSessionStateBroken" in line for line in lines[3:5])
    shown = pjsh(script.replace(" -ErrorVariable bad 2>$null", ""), ssh_home).stderr
    assert "[127.0.0.1:1]" in shown and "Connection refused" in shown
    assert "[nosuchhost.invalid]" in shown and "resolve" in shown


def test_output_objects_carry_their_computer_name_and_hide_computer_name_hides_the_column(
        sshd: SSHServer, ssh_home: Path) -> None:
    script = f"""\
$items = Invoke-Command -HostName {ALIAS} {{ Get-Item / }}
$items.PSComputerName
Invoke-Command -HostName {ALIAS} {{ Get-Item / }} | Out-String -Width 200
Invoke-Command -HostName {ALIAS} {{ Get-Item / }} -HideComputerName | Out-String -Width 200
"""
    result = pjsh(script, ssh_home)
    assert result.stderr == ""
    first, shown, hidden = result.stdout.split("\n", 1)[0], *result.stdout.split("\n", 1)[1]\
        .split("UnixMode")[1:3]
    assert first == ALIAS
    assert "PSComputerName" in shown and ALIAS in shown
    assert "PSComputerName" not in hidden


def test_remote_errors_are_non_terminating_and_name_the_host(sshd: SSHServer,
                                                             ssh_home: Path) -> None:
    script = f"""\
Invoke-Command -HostName {ALIAS} {{ Write-Error "soft"; "after soft"; throw "hard"; "never" }}
"still here"
"""
    result = pjsh(script, ssh_home)
    assert result.stdout.splitlines() == ["after soft", "still here"]
    assert "soft" in result.stderr and "hard" in result.stderr


def test_an_unknown_host_key_is_refused_and_accept_new_records_it(sshd: SSHServer,
                                                                   tmp_path: Path) -> None:
    home = sshd.make_home(tmp_path / "fresh", known=False)
    refused = pjsh(f"Invoke-Command -HostName {ALIAS} {{ 1 }}\n", home)
    assert refused.stdout == ""
    assert "SHA256:" in refused.stderr and "AcceptNewHostKey" in refused.stderr
    accepted = pjsh(f"Invoke-Command -HostName {ALIAS} -AcceptNewHostKey {{ 1 }}\n", home)
    assert accepted.stdout == "1\n" and accepted.stderr == ""
    assert (home / ".ssh" / "known_hosts").read_text().count("\n") == 1


def test_stop_job_stops_a_remote_job_and_a_killed_engine_breaks_its_session(
        sshd: SSHServer, ssh_home: Path) -> None:
    script = f"""\
$j = Invoke-Command -HostName {ALIAS} {{ "started"; sleep 300 }} -AsJob
Receive-Job $j -Wait -AutoRemoveJob:$false | Select-Object -First 1
Stop-Job $j
$j.State
$s = New-Session -HostName {ALIAS}
Invoke-Command -Session $s {{ Stop-Process -Id $PID }} 2>$null
$s.State
$s.Availability
"""
    result = pjsh(script, ssh_home)
    assert result.stdout.splitlines() == ["started", "Stopped", "Broken", "None"]


def test_enter_session_needs_a_host_that_reads_lines(sshd: SSHServer, ssh_home: Path) -> None:
    result = pjsh(f"Enter-Session -HostName {ALIAS}", ssh_home, stdin=False)
    assert "does not support Enter-PSSession" in result.stderr
    assert pjsh("Exit-Session; 'fine'", ssh_home, stdin=False).stdout == "fine\n"


def test_throttle_limit_bounds_how_many_hosts_run_at_once(sshd: SSHServer,
                                                          tmp_path: Path) -> None:
    aliases = "".join(
        f"Host t{i}\n    HostName 127.0.0.1\n    Port {sshd.port}\n    User {sshd.user}\n"
        f"    IdentityFile {sshd.client_key}\n" for i in range(1, 7))
    home = sshd.make_home(tmp_path / "home", config_extra=aliases)
    script = """\
$r = Invoke-Command -HostName t1,t2,t3,t4,t5,t6 -ThrottleLimit 2 {
  $start = (Get-Date).Ticks; Start-Sleep -Milliseconds 400; "$start $((Get-Date).Ticks)" }
$r
"""
    result = pjsh(script, home)
    assert result.stderr == ""
    spans = [tuple(int(x) for x in line.split()) for line in result.stdout.splitlines()]
    assert len(spans) == 6
    # At no moment do more than two hosts run the block.
    busiest = max(sum(1 for s, e in spans if s <= moment < e) for moment, _ in spans)
    assert busiest == 2


def test_a_remote_job_whose_engine_dies_fails_with_the_reason(sshd: SSHServer,
                                                              ssh_home: Path) -> None:
    script = f"""\
$j = Invoke-Command -HostName {ALIAS} {{ "running"; Start-Sleep 300 }} -AsJob
Receive-Job $j -Wait -AutoRemoveJob:$false | Select-Object -First 1
Invoke-Command -HostName {ALIAS} {{ Stop-Process -Id $PID }} 2>$null
Wait-Job $j -Timeout 60 | Out-Null
$j.State
$j.ChildJobs[0].JobStateInfo.Reason.Message
"""
    result = pjsh(script, ssh_home)
    lines = result.stdout.splitlines()
    assert lines[:2] == ["running", "Failed"]
    assert "ended" in lines[2] or "lost" in lines[2] or "closed" in lines[2]


def test_entering_an_open_session_keeps_it_open_with_what_was_done_there(
        sshd: SSHServer, ssh_home: Path) -> None:
    script = f"""\
$s = New-Session -HostName {ALIAS}
Enter-Session -Session $s
$kept = 'set while entered'
Set-Location /tmp
Exit-Session
$s.State
Invoke-Command -Session $s {{ $kept; $PWD.Path }}
Get-Session | Measure-Object | ForEach-Object Count
"""
    result = pjsh(script, ssh_home)
    assert result.stderr == ""
    assert result.stdout.splitlines() == ["Opened", "set while entered", "/tmp", "1"]


@pytest.fixture(scope="module")
def sshd_without_python() -> Iterator[SSHServer]:
    """A second sshd whose sessions find no python3 (their PATH names no directory)."""
    from tests.ssh_fixture import start_sshd
    yield from start_sshd(remote_path="/nonexistent")


def test_a_host_without_python_still_runs_natives_and_says_what_is_missing_once(
        sshd_without_python: SSHServer, tmp_path: Path) -> None:
    server = sshd_without_python
    home = server.make_home(tmp_path / "home")
    script = f"""\
Invoke-Command -HostName {ALIAS} {{ /usr/bin/id -un }}
Invoke-Command -HostName {ALIAS} {{ Get-Date }}
Enter-Session -HostName {ALIAS}
/usr/bin/id -un
Get-ChildItem
exit
Enter-Session -HostName {ALIAS}
exit
'back'
"""
    result = pjsh(script, home)
    assert result.stdout.splitlines() == [server.user, server.user, "back"]
    errors = result.stderr.splitlines()
    # The cmdlet block and the entered cmdlet line each say what is missing; the warning on
    # entering comes once.
    assert sum("3.8 or later" in line for line in errors) == 3
    assert sum(line.startswith("WARNING:") for line in errors) == 1


def test_a_password_in_a_script_fails_fast_with_a_clear_error(sshd: SSHServer,
                                                              tmp_path: Path) -> None:
    home = sshd.make_home(tmp_path / "home", config_extra=(
        f"Host pwonly\n    HostName 127.0.0.1\n    Port {sshd.port}\n    User {sshd.user}\n"
        "    PubkeyAuthentication no\n"))
    result = pjsh("Invoke-Command -HostName pwonly { 1 }\n'next'\n", home, timeout=60)
    assert result.stdout == "next\n"
    assert "[pwonly]" in result.stderr and "password" in result.stderr
    assert sshd.password not in result.stdout + result.stderr
