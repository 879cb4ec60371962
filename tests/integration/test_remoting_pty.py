"""Enter-Session in the interactive console, on a real pty (pexpect) against the suite's real
sshd: the remote prompt, Tab completion of the remote host's files and programs, Ctrl+C that
stops the remote command but not the session, and exit back to the local prompt."""

from __future__ import annotations

import os
import pwd
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_repl_pty import Shell, line_out
from tests.ssh_fixture import ALIAS, SSHServer

pytestmark = pytest.mark.slow


@pytest.fixture
def shell(sshd: SSHServer, tmp_path: Path) -> Iterator[Shell]:
    """An interactive pjsh whose HOME knows the test host, at its first prompt."""
    sh = Shell(tmp_path)
    sshd.make_home(sh.home)
    sh.extra_env["SSH_AUTH_SOCK"] = ""
    sh.start()
    try:
        sh.expect_exact(sh.prompt)
        yield sh
    finally:
        sh.kill()


def test_an_entered_session_prompts_completes_and_survives_ctrl_c(sshd: SSHServer,
                                                                   shell: Shell) -> None:
    target = Path(sshd.user_home) / "completion-target.txt"
    target.write_text("remote words\n")
    entry = pwd.getpwnam(sshd.user)
    os.chown(target, entry.pw_uid, entry.pw_gid)
    remote_prompt = f"[{ALIAS}]: PS {sshd.user_home}>"
    shell.pty.send(f"Enter-Session -HostName {ALIAS}\r")
    shell.expect_exact(remote_prompt)
    shell.pty.send("whoami\r")
    shell.expect(line_out(sshd.user))
    shell.expect_exact(remote_prompt)
    # A file only the remote home holds completes with one Tab.
    shell.pty.send("Get-Content complet\t")
    shell.expect_exact("completion-target.txt")
    shell.pty.send("\r")
    shell.expect(line_out("remote words"))
    shell.expect_exact(remote_prompt)
    # Ctrl+C stops the remote command; the session goes on.
    shell.pty.send("'sle' + 'eping'; Start-Sleep 60\r")
    shell.expect(line_out("sleeping"))
    shell.pty.sendcontrol("c")
    shell.expect_exact(remote_prompt)
    shell.pty.send("'al' + 'ive'\r")
    shell.expect(line_out("alive"))
    shell.expect_exact(remote_prompt)
    shell.pty.send("exit\r")
    shell.expect_exact(shell.prompt)
    shell.pty.send("whoami\r")
    shell.expect(line_out("root"))
    assert re.search(re.escape(remote_prompt), str(shell.pty.before)) is None


def test_natives_in_an_entered_session_get_a_terminal_vim_edits_a_remote_file(
        sshd: SSHServer, shell: Shell) -> None:
    remote_prompt = f"[{ALIAS}]: PS {sshd.user_home}>"
    shell.pty.send(f"Enter-Session -HostName {ALIAS}\r")
    shell.expect_exact(remote_prompt)
    # The remote native sees a terminal of the local one's size (pexpect's: 40 x 200).
    shell.pty.send("sh -c 'test -t 0 && test -t 1 && echo tty-$((6*7)); stty size'\r")
    shell.expect_exact("tty-42")
    shell.expect_exact("40 200")
    shell.expect_exact(remote_prompt)
    # Keys typed while it runs reach it.
    shell.pty.send("sh -c 'read x; echo got-$x'\r")
    shell.pty.send("hello\r")
    shell.expect_exact("got-hello")
    shell.expect_exact(remote_prompt)
    shell.pty.send("vim -u NONE -N -n vimmed.txt\r")
    shell.expect(r"\[New")  # vim's message line ("vimmed.txt" [New]): it owns the screen
    shell.pty.send("iwritten in vim\x1b:wq\r")
    shell.expect_exact(remote_prompt)
    assert (Path(sshd.user_home) / "vimmed.txt").read_text() == "written in vim\n"
    shell.pty.send("exit\r")
    shell.expect_exact(shell.prompt)
