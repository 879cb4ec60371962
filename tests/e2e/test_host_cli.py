"""Prompts through the real ``pjsh``: piped stdin answers Read-Host in scripted mode and -c,
-NonInteractive and an exhausted stdin fail at once, jobs cannot prompt."""

from __future__ import annotations

from tests.e2e.test_cli import pjsh, script

NON_INTERACTIVE = ("Read-Host: PowerShell is in NonInteractive mode. Read and Prompt "
                   "functionality is not available.\n")


def test_scripted_mode_answers_read_host_with_the_next_line() -> None:
    r = script('$n = Read-Host "Name"\nbob\n"hello $n"\n')
    assert (r.stdout, r.stderr, r.returncode) == ("Name: \nhello bob\n", "", 0)


def test_scripted_mode_secret_is_a_secure_string() -> None:
    r = script("$p = Read-Host pw -AsSecureString\nsekret\n\"$p\"\n"
               "ConvertFrom-SecureString $p -AsPlainText\n")
    assert r.stdout == "pw: \nSystem.Security.SecureString\nsekret\n"


def test_command_mode_reads_the_answer_from_piped_stdin() -> None:
    r = pjsh(["-NoProfile", "-c", '$a = Read-Host q; "got $a"'], stdin="yes\n")
    assert (r.stdout, r.returncode) == ("q: \ngot yes\n", 0)


def test_non_interactive_read_host_fails_fast_with_exit_1() -> None:
    r = pjsh(["-NoProfile", "-NonInteractive", "-c", "Read-Host q"], stdin="never read\n")
    assert (r.stdout, r.stderr, r.returncode) == ("", NON_INTERACTIVE, 1)


def test_non_interactive_scripted_mode_fails_fast() -> None:
    r = pjsh(["-NoProfile", "-NonInteractive"], stdin="Read-Host q\n")
    assert (r.stderr, r.returncode) == (NON_INTERACTIVE, 1)


def test_read_host_at_end_of_stdin_fails_instead_of_waiting() -> None:
    r = pjsh(["-NoProfile", "-c", "Read-Host q"], stdin="")
    assert r.returncode == 1
    assert "the input has ended" in r.stderr


def test_a_job_cannot_prompt_and_says_which_job() -> None:
    r = pjsh(["-NoProfile", "-c",
              "Start-Job -Name Asker { Read-Host x } | Receive-Job -Wait"], stdin="y\n")
    assert "job 'Asker' does not support user interaction" in r.stderr
