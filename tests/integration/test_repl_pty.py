"""The interactive shell driven through a real pseudo-terminal (pexpect), as a user types.

Each test starts ``python -m pjsh`` on a pty with HOME and the XDG directories in a temporary
folder. Synchronisation is by expecting output only the command can produce (``6*7`` → ``42``),
never by sleeping: prompt_toolkit redraws the prompt while keys arrive, so the prompt alone does
not prove a command has run.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

pytestmark = pytest.mark.slow

TIMEOUT = 20


class Shell:
    """A pjsh REPL on a pty, with helpers that wait for what a command prints."""

    def __init__(self, tmp_path: Path, args: tuple[str, ...] = (),
                 env: dict[str, str] | None = None) -> None:
        self.home = tmp_path / "home"
        self.config = tmp_path / "config"
        self.state = tmp_path / "state"
        self.work = tmp_path / "work"
        for d in (self.home, self.work):
            d.mkdir(exist_ok=True)
        self.args = args
        self.extra_env = dict(env or {})
        self.child: pexpect.spawn | None = None

    @property
    def profile(self) -> Path:
        """Where pjsh looks for the profile (under XDG_CONFIG_HOME)."""
        return self.config / "pjsh" / "profile.ps1"

    @property
    def history(self) -> Path:
        """Where pjsh keeps its history (under XDG_STATE_HOME)."""
        return self.state / "pjsh" / "history"

    @property
    def prompt(self) -> str:
        """pwsh's default prompt for the working directory (prompt_toolkit draws the trailing
        space as a cursor movement, so it is left out)."""
        return f"PS {self.work}>"

    def start(self) -> Shell:
        """Spawn pjsh and wait for its first prompt."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("NO_COLOR", "COLUMNS", "LINES", "PJSH_NOTIFY")}
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.config),
            XDG_STATE_HOME=str(self.state),
            TERM="xterm-256color",
            # pexpect is not a terminal emulator: it cannot answer cursor-position requests.
            PROMPT_TOOLKIT_NO_CPR="1",
        )
        env.update(self.extra_env)
        self.child = pexpect.spawn(sys.executable, ["-m", "pjsh", *self.args], env=env,
                                   cwd=str(self.work), dimensions=(40, 200), encoding="utf-8",
                                   codec_errors="replace", timeout=TIMEOUT)
        return self

    @property
    def pty(self) -> pexpect.spawn:
        """The running child."""
        assert self.child is not None
        return self.child

    def expect(self, pattern: str) -> str:
        """Wait for a regex; return the text seen before it."""
        self.pty.expect(pattern)
        return str(self.pty.before)

    def expect_exact(self, text: str) -> str:
        """Wait for literal text; return the text seen before it."""
        self.pty.expect_exact(text)
        return str(self.pty.before)

    def run(self, line: str, output: str) -> str:
        """Type a line, wait for ``output`` (a regex) and the next prompt; return the text."""
        self.pty.send(line + "\r")
        seen = self.expect(output) + str(self.pty.after)
        self.expect_exact(self.prompt)
        return seen

    def finish(self) -> int:
        """Wait for the shell to end; return its exit status."""
        self.pty.expect(pexpect.EOF)
        self.pty.close()
        status = self.pty.exitstatus
        assert status is not None, f"pjsh died of signal {self.pty.signalstatus}"
        return int(status)

    def kill(self) -> None:
        """Make sure the child is gone."""
        if self.child is not None and self.child.isalive():
            self.child.close(force=True)


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Shell]:
    """An interactive pjsh, already at its first prompt."""
    sh = Shell(tmp_path).start()
    try:
        sh.expect_exact(sh.prompt)
        yield sh
    finally:
        sh.kill()


def line_out(text: str) -> str:
    """A regex for ``text`` printed on a line of its own (after the echoed input line)."""
    return r"\n(?:\x1b\[[0-9;?]*[A-Za-z])*" + re.escape(text) + r"\r\n"


def test_prompt_shows_the_current_directory_and_an_expression_is_evaluated(shell: Shell) -> None:
    shell.run("6*7", line_out("42"))


def test_incomplete_input_continues_with_a_continuation_prompt(shell: Shell) -> None:
    shell.pty.send("if ($true) {\r")
    shell.expect_exact(">>")
    shell.pty.send('"y" + "es"\r')
    shell.expect_exact(">>")
    shell.run("}", line_out("yes"))


def test_here_string_continues_until_its_terminator(shell: Shell) -> None:
    shell.pty.send('@"\r')
    shell.expect_exact(">>")
    shell.pty.send("here-\r")
    shell.expect_exact(">>")
    shell.pty.send("string\r")
    shell.expect_exact(">>")
    shell.run('"@', line_out("here-\r\nstring"))


def test_ctrl_c_at_the_prompt_drops_the_line_and_keeps_the_shell(shell: Shell) -> None:
    shell.pty.send("'abc' + 'def'")
    shell.expect_exact("'def'")
    shell.pty.sendcontrol("c")
    seen = shell.run("'gh' + 'ij'", line_out("ghij"))
    assert "abcdef" not in seen


def test_ctrl_c_interrupts_a_running_command_quietly(shell: Shell) -> None:
    shell.pty.send("'sle' + 'eping'; Start-Sleep 30\r")
    shell.expect(line_out("sleeping"))
    shell.pty.sendcontrol("c")
    seen = shell.expect_exact(shell.prompt)
    assert "Traceback" not in seen
    assert "KeyboardInterrupt" not in seen
    shell.run("(Get-History -Count 1).ExecutionStatus", line_out("Stopped"))


def test_each_line_is_recorded_for_get_history_with_its_status(shell: Shell) -> None:
    shell.run("Get-Item /no/such/path", "Cannot find path")
    shell.run("6*7", line_out("42"))
    shell.run("(Get-History | ForEach-Object { '{0}:{1}' -f $_.Id, $_.ExecutionStatus }) -join ','",
              line_out("1:Failed,2:Completed"))


def test_parse_error_shows_the_caret_and_the_prompt_comes_back(shell: Shell) -> None:
    seen = shell.run("1 +* 2", r"You must provide a value expression")
    assert "ParserError" in seen
    assert re.search(r"\|\s+\^", seen), seen
    shell.run("6*7", line_out("42"))


def test_exit_n_ends_with_status_n_and_history_is_saved(shell: Shell) -> None:
    shell.run("6*7", line_out("42"))
    shell.pty.send("exit 7\r")
    assert shell.finish() == 7
    text = shell.history.read_text()
    assert "\n+6*7\n" in text
    assert "\n+exit 7\n" in text
    assert stat.S_IMODE(shell.history.stat().st_mode) == 0o600
    assert stat.S_IMODE(shell.history.parent.stat().st_mode) == 0o700


def test_history_is_recalled_in_a_new_session(tmp_path: Path) -> None:
    first = Shell(tmp_path).start()
    try:
        first.expect_exact(first.prompt)
        first.run("'rec' + 'alled'", line_out("recalled"))
        first.pty.sendcontrol("d")
        assert first.finish() == 0
    finally:
        first.kill()
    second = Shell(tmp_path).start()
    try:
        second.expect_exact(second.prompt)
        second.pty.send("\x1b[A")  # Up arrow: the previous session's last line
        second.expect_exact("'alled'")
        second.pty.send("\r")
        second.expect(line_out("recalled"))
    finally:
        second.kill()


def test_ctrl_d_on_an_empty_line_exits(shell: Shell) -> None:
    shell.pty.sendcontrol("d")
    assert shell.finish() == 0


def test_profile_runs_at_start_and_its_prompt_function_is_used(tmp_path: Path) -> None:
    sh = Shell(tmp_path)
    sh.profile.parent.mkdir(parents=True)
    sh.profile.write_text("$greeting = 'hel' + 'lo'\nfunction prompt { 'pj' + '-ready> ' }\n")
    sh.start()
    try:
        sh.expect_exact("pj-ready>")
        sh.pty.send("$greeting\r")
        sh.expect(line_out("hello"))
        sh.expect_exact("pj-ready>")
    finally:
        sh.kill()


def test_no_profile_skips_the_profile(tmp_path: Path) -> None:
    sh = Shell(tmp_path, ("-NoProfile",))
    sh.profile.parent.mkdir(parents=True)
    sh.profile.write_text("$greeting = 'hel' + 'lo'\n")
    sh.start()
    try:
        sh.expect_exact(sh.prompt)
        sh.run('"[" + $greeting + "]"', line_out("[]"))
    finally:
        sh.kill()


def test_tab_completes_a_function_name_from_the_profile(tmp_path: Path) -> None:
    sh = Shell(tmp_path)
    sh.profile.parent.mkdir(parents=True)
    sh.profile.write_text("function Invoke-Zyxwvut { 'zyx' + '-ran' }\n")
    sh.start()
    try:
        sh.expect_exact(sh.prompt)
        sh.pty.send("Invoke-Zyx\t")
        # Only the completed name's tail: prompt_toolkit redraws just what changed.
        sh.expect_exact("wvut")
        sh.run("", line_out("zyx-ran"))
    finally:
        sh.kill()


def test_write_host_colours_reach_the_terminal(shell: Shell) -> None:
    shell.run("Write-Host ('gr' + 'een') -ForegroundColor Green", r"\x1b\[92mgreen\x1b\[0m")


def test_no_color_turns_colours_off(tmp_path: Path) -> None:
    sh = Shell(tmp_path, env={"NO_COLOR": "1"}).start()
    try:
        sh.expect_exact(sh.prompt)
        seen = sh.run("Write-Host ('gr' + 'een') -ForegroundColor Green; Write-Warning ('care' + 'ful')",
                      line_out("WARNING: careful"))
        assert "green\r\nWARNING: careful\r\n" in seen
        assert "\x1b[92m" not in seen
        assert "\x1b[1;33m" not in seen
    finally:
        sh.kill()


def test_leaving_with_running_jobs_warns_first_then_stops_them(shell: Shell) -> None:
    seen = shell.run("$j = sleep 300 &; 'pid=' + $j.ChildJobs[0].ProcessId", r"pid=\d+\r\n")
    found = re.search(r"pid=(\d+)", seen)
    assert found is not None
    pid = int(found.group(1))
    shell.pty.send("exit 3\r")
    shell.expect("There are running jobs \\(Job1\\)")
    shell.expect_exact(shell.prompt)
    shell.pty.send("exit 3\r")
    assert shell.finish() == 3
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        assert state in ("Z", "X"), "the job's process outlived the shell"
    except FileNotFoundError:
        pass
