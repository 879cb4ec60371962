"""The two-way Host protocol: every host reads lines and secrets, asks ShouldContinue-style
questions and hands a process the terminal; hosts that cannot ask fail at once. Read-Host,
SecureString conversion and Out-Host -Paging are built on it."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from pjsh.engine import local_options
from pjsh.jobs.jobhost import JobHost
from pjsh.repl.console_host import PAGING_PROMPT, ConsoleHost
from pjsh.runtime.host import (
    NON_INTERACTIVE_MESSAGE,
    YES_NO,
    YES_NO_ALL,
    HostException,
    MemoryHost,
    StreamHost,
    choice_prompt,
    match_choice,
)
from pjsh.runtime.runspace import create_runspace
from tests.harness import run, show


# ------------------------------------------------------------------ choice prompts
def test_choice_prompt_is_pwsh_should_continue_line() -> None:
    assert choice_prompt(YES_NO_ALL) == (
        '[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [?] Help (default is "Y"): ')


def test_choice_answers_pick_by_hotkey_label_or_default() -> None:
    assert match_choice("", YES_NO_ALL, 2) == 2
    assert match_choice("a", YES_NO_ALL) == 1
    assert match_choice("no to all", YES_NO_ALL) == 3
    assert match_choice("maybe", YES_NO_ALL) is None


# ------------------------------------------------------------------ MemoryHost
def test_memory_host_answers_prompts_from_its_script() -> None:
    host = MemoryHost(answers=["bob"])
    assert host.read_line("Name: ") == "bob"
    assert host.prompts == ["Name: "]
    assert host.output == "Name: bob\n"


def test_memory_host_secret_never_reaches_its_transcript() -> None:
    host = MemoryHost(answers=["hunter2"])
    assert host.read_secret("pw: ") == "hunter2"
    assert "hunter2" not in host.output


def test_memory_host_without_answers_fails_at_once() -> None:
    with pytest.raises(HostException):
        MemoryHost().read_line("x: ")


def test_memory_host_confirm_asks_again_after_help_and_a_wrong_answer() -> None:
    host = MemoryHost(answers=["?", "perhaps", "l"])
    assert host.confirm("Confirm", "Delete it?") == 3
    assert host.prompts == [choice_prompt(YES_NO_ALL)] * 3
    assert "L - Skip this operation and all subsequent operations." in host.output


def test_memory_host_counts_terminal_handoffs() -> None:
    host = MemoryHost()
    with host.terminal():
        pass
    assert host.terminal_handoffs == 1


def test_non_interactive_memory_host_refuses_every_prompt() -> None:
    host = MemoryHost(answers=["y"], non_interactive=True)
    for ask in (lambda: host.read_line("x"), lambda: host.read_secret("x"),
                lambda: host.confirm("c", "m", YES_NO)):
        with pytest.raises(HostException, match="NonInteractive mode"):
            ask()


# ------------------------------------------------------------------ StreamHost
@pytest.fixture
def out_fd() -> Iterator[tuple[int, int]]:
    """A pipe standing for stdout: (write end, read end)."""
    r, w = os.pipe()
    yield w, r
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


def drain(host: StreamHost, fds: tuple[int, int]) -> str:
    """Flush the host and read what reached its stdout."""
    host.flush()
    os.close(fds[0])
    chunks = []
    while data := os.read(fds[1], 4096):
        chunks.append(data)
    return b"".join(chunks).decode()


def test_stream_host_reads_the_next_input_line(out_fd: tuple[int, int]) -> None:
    host = StreamHost(out_fd[0], input=io.BytesIO(b"alice\r\nrest\n"))
    assert host.read_line("Name: ") == "alice"
    assert host.read_secret("pw: ") == "rest"
    assert drain(host, out_fd) == "Name: \npw: \n"


def test_stream_host_at_end_of_input_fails_at_once(out_fd: tuple[int, int]) -> None:
    host = StreamHost(out_fd[0], input=io.BytesIO(b""))
    with pytest.raises(HostException, match="input has ended"):
        host.read_line("x: ")


def test_stream_host_without_input_fails_at_once() -> None:
    with pytest.raises(HostException, match="no input"):
        StreamHost().read_line("x: ")


def test_non_interactive_stream_host_fails_before_reading(out_fd: tuple[int, int]) -> None:
    stdin = io.BytesIO(b"never read\n")
    host = StreamHost(out_fd[0], input=stdin, non_interactive=True)
    with pytest.raises(HostException) as info:
        host.read_line("x: ")
    assert info.value.message == NON_INTERACTIVE_MESSAGE
    assert info.value.category == "InvalidOperation"
    assert stdin.tell() == 0
    with pytest.raises(HostException):
        host.confirm("c", "m")


def test_stream_host_confirm_reads_answers(out_fd: tuple[int, int]) -> None:
    host = StreamHost(out_fd[0], input=io.BytesIO(b"n\n"))
    assert host.confirm("Confirm", "Go on?", YES_NO) == 1
    assert "Go on?\n[Y] Yes  [N] No  [?] Help" in drain(host, out_fd)


def test_stream_host_pages_as_plain_output(out_fd: tuple[int, int]) -> None:
    host = StreamHost(out_fd[0])
    host.write_paged("a\nb\n")
    with host.terminal():
        pass
    assert drain(host, out_fd) == "a\nb\n"


# ------------------------------------------------------------------ JobHost
class _Writer:
    def __init__(self) -> None:
        self.output: list[object] = []

    def write_output(self, value: object) -> None:
        self.output.append(value)


def test_job_host_refuses_prompts_naming_the_job() -> None:
    host = JobHost(_Writer(), "Nightly")  # type: ignore[arg-type]
    for ask in (lambda: host.read_line("Name: "), lambda: host.read_secret("pw: "),
                lambda: host.confirm("c", "Delete?")):
        with pytest.raises(HostException, match="job 'Nightly' does not support user"):
            ask()


def test_job_host_paged_text_becomes_output_lines() -> None:
    writer = _Writer()
    JobHost(writer).write_paged("a\nb\n")  # type: ignore[arg-type]
    assert writer.output == ["a", "b"]


# ------------------------------------------------------------------ ConsoleHost
HostFactory = Callable[..., tuple[ConsoleHost, io.StringIO]]


@pytest.fixture
def console_host() -> Iterator[HostFactory]:
    """Builds console hosts whose prompts read the given keys from a pipe input."""
    with create_pipe_input() as pipe:
        def build(keys: str, **kwargs: object) -> tuple[ConsoleHost, io.StringIO]:
            out = io.StringIO()
            pipe.send_text(keys)
            host = ConsoleHost(out, io.StringIO(), plain=True, prompt_input=pipe,
                               prompt_output=DummyOutput(), **kwargs)  # type: ignore[arg-type]
            return host, out

        yield build


def test_console_host_reads_a_line_with_prompt_toolkit(console_host: HostFactory) -> None:
    host, _ = console_host("carol\r")
    assert host.read_line("Name: ") == "carol"


def test_console_host_reads_a_secret_as_a_password_prompt(console_host: HostFactory) -> None:
    host, out = console_host("s3cret\r")
    assert host.read_secret("pw: ") == "s3cret"
    assert "s3cret" not in out.getvalue()


def test_console_host_confirm_uses_the_choice_line(console_host: HostFactory) -> None:
    host, out = console_host("a\r")
    assert host.confirm("Confirm", "Stop all jobs?") == 1
    assert out.getvalue() == "Confirm\nStop all jobs?\n"


def test_console_host_non_interactive_refuses(console_host: HostFactory) -> None:
    host, _ = console_host("x\r", non_interactive=True)
    with pytest.raises(HostException, match="NonInteractive"):
        host.read_line("q: ")


def test_console_host_terminal_runs_the_handoff_hook(console_host: HostFactory) -> None:
    entered: list[str] = []

    from contextlib import contextmanager

    @contextmanager
    def handoff() -> Iterator[None]:
        entered.append("in")
        yield
        entered.append("out")

    host, _ = console_host("", handoff=handoff)
    with host.terminal():
        entered.append("process")
    assert entered == ["in", "process", "out"]


def test_console_host_pages_a_screenful_then_by_line_and_quits(console_host: HostFactory) -> None:
    keys = iter([" ", "\r", "q"])
    host, out = console_host("", read_key=lambda: next(keys))
    os.environ["LINES"] = "4"
    try:
        host.write_paged("".join(f"{i}\n" for i in range(1, 20)))
    finally:
        del os.environ["LINES"]
    text = out.getvalue()
    shown = [line for line in text.replace(PAGING_PROMPT, "").replace("\r\x1b[2K", "")
             .splitlines() if line]
    # 3 rows a page (the 4th holds the prompt), a page on space, a line on enter, then quit.
    assert shown == [str(i) for i in range(1, 8)]
    assert text.count(PAGING_PROMPT) == 3


# ------------------------------------------------------------------ cmdlets
def test_read_host_adds_colon_space_to_the_prompt() -> None:
    host = MemoryHost(answers=["dave"])
    rs = create_runspace(local_options(host))
    r = run("Read-Host 'Your name'", rs)
    assert r.output == ["dave"]
    assert host.prompts == ["Your name: "]


def test_read_host_joins_unquoted_prompt_words() -> None:
    host = MemoryHost(answers=["x"])
    run("Read-Host Enter a value", create_runspace(local_options(host)))
    assert host.prompts == ["Enter a value: "]


def test_read_host_as_secure_string_hides_its_text() -> None:
    host = MemoryHost(answers=["topsecret"])
    rs = create_runspace(local_options(host))
    r = run('$s = Read-Host pw -AsSecureString; "$s"; $s.Length; '
            '$s.GetType().FullName; ConvertFrom-SecureString $s -AsPlainText', rs)
    assert r.output == ["System.Security.SecureString", 9, "System.Security.SecureString",
                        "topsecret"]
    assert "topsecret" not in host.output


def test_read_host_mask_input_returns_a_plain_string() -> None:
    host = MemoryHost(answers=["masked"])
    r = run("Read-Host -MaskInput pw", create_runspace(local_options(host)))
    assert r.output == ["masked"]
    assert "masked" not in host.output


def test_read_host_without_input_is_a_terminating_error() -> None:
    r = run("$x = Read-Host q; 'after'")
    assert r.messages == ["Cannot read input: no scripted answer is left."]
    assert r.output == ["after"]


def test_read_host_non_interactive_error_is_pwsh_s() -> None:
    rs = create_runspace(local_options(MemoryHost(non_interactive=True)))
    r = run("Read-Host q", rs)
    assert r.messages == [NON_INTERACTIVE_MESSAGE]
    assert r.errors[0].FullyQualifiedErrorId == (
        "System.Management.Automation.PSInvalidOperationException,"
        "Microsoft.PowerShell.Commands.ReadHostCommand")


def test_convert_to_secure_string_needs_force_for_plain_text() -> None:
    r = run("ConvertTo-SecureString 'p' -AsPlainText")
    assert "Force" in r.messages[0]
    r = run("ConvertTo-SecureString 'p' -AsPlainText -Force | "
            "ConvertFrom-SecureString -AsPlainText")
    assert r.output == ["p"]


def test_out_host_paging_pages_through_the_host() -> None:
    r = show("1..3 | Out-Host -Paging")
    assert r.text == "1\n2\n3\n"
