"""Job control on a real terminal (tmux): Ctrl+Z, bg, fg, Ctrl+C/Ctrl+\\ reaching only the
foreground job, and hang-ups leaving no job process behind.

Each scenario runs twice: pjsh as the pty's session leader (a tmux pane, a login shell) and
pjsh started from an interactive bash (with bash's own job control around it). Every step
waits for screen content with a deadline; nothing sleeps in place of synchronisation.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]

TIMEOUT = 30.0


class Pane:
    """A tmux server with one pane running pjsh, and helpers that wait for the screen."""

    def __init__(self, tmp_path: Path, mode: str) -> None:
        self.socket = f"pjsh-tty-{uuid.uuid4().hex[:8]}"
        self.mode = mode
        self.work = tmp_path / "work"
        self.work.mkdir()
        home = tmp_path / "home"
        home.mkdir()
        bindir = os.path.dirname(sys.executable)
        self.env = {
            "PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home), "TERM": "xterm-256color", "LANG": "C.UTF-8",
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "PS1": "bash$ ",
        }

    def tmux(self, *args: str) -> str:
        """Run a tmux command against this pane's server."""
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, env=self.env, check=False).stdout

    def start(self) -> Pane:
        """Start pjsh (directly, or from bash) and wait for its prompt."""
        pjsh = shutil.which("pjsh", path=self.env["PATH"]) or "pjsh"
        if self.mode == "leader":
            command = f"cd {self.work} && exec {pjsh} -NoProfile"
        else:
            command = f"cd {self.work} && PS1='bash$ ' exec bash --norc --noprofile -i"
        self.tmux("new-session", "-d", "-x", "150", "-y", "40", "-s", "t", command)
        if self.mode == "bash":
            self.wait_for("bash$")
            self.type(f"{pjsh} -NoProfile")
        self.wait_for("PS ")
        return self

    @property
    def pid(self) -> int:
        """The pid of pjsh itself."""
        if self.mode == "leader":
            return int(self.tmux("display", "-p", "-t", "t", "#{pane_pid}").strip())
        bash = int(self.tmux("display", "-p", "-t", "t", "#{pane_pid}").strip())
        for name in os.listdir("/proc"):
            if name.isdigit() and _ppid(int(name)) == bash and "pjsh" in _cmdline(int(name)):
                return int(name)
        raise AssertionError("pjsh is not running under bash")

    def screen(self) -> str:
        """The pane's text as rendered."""
        return self.tmux("capture-pane", "-p", "-J", "-t", "t")

    def wait_until(self, check: Callable[[str], bool], what: str) -> str:
        """Wait (with a deadline) until ``check(screen)`` holds."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            text = self.screen()
            if check(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what!r}; screen:\n{text}")
            time.sleep(0.05)  # the poll interval of the deadline wait, not a synchronisation

    def wait_for(self, needle: str, count: int = 1) -> str:
        """Wait until ``needle`` appears ``count`` times on the screen."""
        return self.wait_until(lambda s: s.count(needle) >= count, needle)

    def type(self, text: str) -> None:
        """Type a line and press Enter."""
        self.tmux("send-keys", "-t", "t", "-l", text)
        self.tmux("send-keys", "-t", "t", "Enter")

    def keys(self, *keys: str) -> None:
        """Press keys (tmux names: C-z, C-c, Escape ...)."""
        self.tmux("send-keys", "-t", "t", *keys)

    def run(self, command: str, marker: str) -> str:
        """Type ``command; 'marker'`` and wait for the marker's output line."""
        self.type(f"{command}; '{marker}'")
        return self.wait_until(lambda s: any(line.strip() == marker for line in s.splitlines()),
                               marker)

    def wait_foreground(self, name: str) -> int:
        """Wait until pjsh's child running ``name`` has the terminal (typed keys reach it,
        not pjsh's prompt); its pid."""
        found: list[int] = []

        def check(_screen: str) -> bool:
            for pid in _children(self.pid):
                fields = _stat(pid)
                if name in _cmdline(pid) and fields and fields[0] != "T" \
                        and fields[2] == fields[5]:  # pgrp == the terminal's foreground
                    found.append(pid)
                    return True
            return False

        self.wait_until(check, f"{name} in the foreground")
        return found[0]

    def close(self) -> None:
        """Kill the tmux server (and with it the pane's terminal)."""
        self.tmux("kill-server")


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat after the name: state ppid pgrp session tty_nr tpgid ..."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return []
    return stat[stat.rfind(b")") + 2:].decode().split()


def _ppid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return -1
    return int(stat[stat.rfind(b")") + 2:].split()[1])


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:].split()[0] != b"Z"


def _with_marker(marker: str) -> list[int]:
    """Live processes whose command line contains ``marker``."""
    return [int(n) for n in os.listdir("/proc")
            if n.isdigit() and marker in _cmdline(int(n)) and _alive(int(n))]


def _describe(pid: int) -> str:
    """A process's state, parent, command line and where its threads wait, for a failure."""
    fields = _stat(pid)
    threads = []
    for tid in os.listdir(f"/proc/{pid}/task") if os.path.isdir(f"/proc/{pid}/task") else []:
        try:
            with open(f"/proc/{pid}/task/{tid}/wchan") as fh:
                threads.append(fh.read() or "-")
        except OSError:
            pass
    signals = []
    try:
        with open(f"/proc/{pid}/status") as fh:
            signals = [line.replace("\t", " ") for line in fh.read().splitlines()
                       if line.startswith(("SigPnd", "ShdPnd", "SigBlk", "SigCgt"))]
    except OSError:
        pass
    return (f"{pid} state={fields[0] if fields else '?'} ppid={fields[1] if fields else '?'} "
            f"{_cmdline(pid)!r} waiting in {threads} {signals}")


def _wait_gone(pids: Callable[[], list[int]]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while pids():
        if time.monotonic() > deadline:
            raise AssertionError("processes still running:\n" + "\n".join(
                _describe(pid) for pid in pids()))
        time.sleep(0.05)


@pytest.fixture(params=["leader", "bash"])
def pane(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pane]:
    """pjsh on a pty, as the session leader or as a child of an interactive bash."""
    p = Pane(tmp_path, request.param).start()
    try:
        yield p
    finally:
        p.close()


def test_ctrl_z_suspends_sleep_into_a_job_that_bg_continues_and_stop_job_ends(
        pane: Pane) -> None:
    pane.type("sleep 100")
    pane.wait_foreground("sleep")
    pane.keys("C-z")
    pane.wait_for("[1]+  Suspended  sleep 100")
    pane.run("(Get-Job -Id 1).State", "m1")
    assert "Suspended" in pane.screen()
    pane.run("bg", "m2")
    pane.run("'state:' + (Get-Job -Id 1).State", "m3")
    assert "state:Running" in pane.screen()
    pane.run("Stop-Job -Id 1; 'state:' + (Get-Job -Id 1).State", "m4")
    assert "state:Stopped" in pane.screen()
    assert not [p for p in _children(pane.pid) if "sleep" in _cmdline(p)]
    pane.run("6*7", "m5")
    assert "42" in pane.screen()  # pjsh itself was never stopped


def _children(pid: int) -> list[int]:
    return [int(n) for n in os.listdir("/proc") if n.isdigit() and _ppid(int(n)) == pid
            and _alive(int(n))]


def test_a_stopped_cat_brought_back_with_fg_echoes_and_ends_with_ctrl_d(pane: Pane) -> None:
    pane.type("cat")
    pane.wait_foreground("cat")
    pane.type("first-line")
    pane.wait_for("first-line", 2)  # the terminal's echo and cat's copy
    pane.keys("C-z")
    pane.wait_for("Suspended  cat")
    pane.type("fg %1")
    pane.wait_foreground("cat")
    pane.type("second-line")
    pane.wait_for("second-line", 2)
    pane.keys("C-d")
    pane.run("'jobs:' + @(Get-Job).Count", "m1")
    screen = pane.screen()
    assert "jobs:0" in screen  # ended in the foreground: no job left, as bash
    lines = screen.splitlines()
    fg_at = next(i for i, line in enumerate(lines) if line.endswith("> fg %1"))
    assert lines[fg_at + 1].strip() == "cat"  # fg says which job it continues, as bash
    assert "Completed" not in screen  # it ended where it was watched: no notice


def test_ctrl_c_during_fg_ends_the_job_not_pjsh(pane: Pane) -> None:
    pane.type("sleep 200")
    pane.wait_foreground("sleep")
    pane.keys("C-z")
    pane.wait_for("Suspended  sleep 200")
    pane.type("fg")
    pane.wait_foreground("sleep")
    pane.keys("C-c")
    pane.run("'jobs:' + @(Get-Job).Count", "m1")
    assert "jobs:0" in pane.screen()
    assert "Stopped" not in pane.screen()  # ended in the foreground: no notice, as bash
    assert not [p for p in _children(pane.pid) if "sleep" in _cmdline(p)]


def test_ctrl_backslash_reaches_only_the_foreground_job(pane: Pane) -> None:
    pane.type("sleep 300")
    pane.wait_foreground("sleep")
    pane.keys("C-\\")
    pane.run("6*7", "m1")
    assert "42" in pane.screen()


@pytest.mark.skipif(shutil.which("vim") is None, reason="needs vim")
def test_vim_suspended_and_brought_back_with_fg_edits_and_writes_a_file(pane: Pane) -> None:
    target = pane.work / "notes.txt"
    pane.type("vim -u NONE -i NONE -N notes.txt")
    pane.wait_foreground("vim")
    pane.wait_for('"notes.txt"')
    pane.keys("i", "hello from vim", "Escape")
    pane.wait_for("hello from vim")
    pane.keys("C-z")
    pane.wait_for("Suspended  vim -u NONE -i NONE -N notes.txt")
    pane.run("'state:' + (Get-Job -Id 1).State", "m1")
    assert "state:Suspended" in pane.screen()
    pane.type("fg")
    pane.wait_foreground("vim")
    pane.wait_until(lambda s: s.splitlines()[0].startswith("hello from vim"), "vim redrawn")
    pane.keys(":wq", "Enter")
    pane.run("Get-Content notes.txt", "m2")
    assert target.read_text() == "hello from vim\n"


@pytest.mark.skipif(shutil.which("vim") is None, reason="needs vim")
def test_fg_on_a_captured_vim_job_says_it_cannot_have_the_terminal_and_ctrl_c_stops_it(
        pane: Pane) -> None:
    pane.type("vim -u NONE -i NONE -N x.txt &")
    pane.wait_for("Running")
    pane.type("fg")
    pane.wait_for("cannot be given the terminal")
    pane.wait_for("Output is not to a terminal")  # its captured output, streamed
    pane.keys("C-c")
    pane.run("'state:' + (Get-Job -Id 1).State", "m1")
    assert "state:Stopped" in pane.screen()


def test_closing_the_terminal_leaves_no_job_process(pane: Pane) -> None:
    marker = f"pjsh-hup-{uuid.uuid4().hex[:6]}"
    pane.type(f"sleep 400 # {marker}")
    pane.wait_foreground("sleep")
    pane.keys("C-z")
    pane.wait_for("Suspended")
    # A worker job (cmdlets) that starts a child of its own, and a native & job.
    pane.run(f"$w = Start-Job {{ sh -c 'sleep 401; : {marker}' }}; $n = sh -c "
             f"'sleep 402; : {marker}' &", "m1")
    pane.wait_until(lambda s: len(_with_marker(marker)) >= 2, "jobs started")
    pjsh = pane.pid
    sleepers = [p for p in _children(pjsh) if "sleep" in _cmdline(p)]
    pane.close()
    _wait_gone(lambda: [p for p in [pjsh, *sleepers] if _alive(p)] + _with_marker(marker))


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_a_signal_to_the_console_stops_every_job_tree(tmp_path: Path, sig: int) -> None:
    p = Pane(tmp_path, "leader").start()
    try:
        marker = f"pjsh-sig-{uuid.uuid4().hex[:6]}"
        p.run(f"$w = Start-Job {{ sh -c 'sleep 401; : {marker}' }}; $n = sh -c "
              f"'sleep 402; : {marker}' &", "m1")
        p.wait_until(lambda s: len(_with_marker(marker)) >= 2, "jobs started")
        pjsh = p.pid
        os.kill(pjsh, sig)
        _wait_gone(lambda: ([pjsh] if _alive(pjsh) else []) + _with_marker(marker))
    finally:
        p.close()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGQUIT])
def test_a_killed_script_leaves_no_worker_job_behind(tmp_path: Path, sig: int) -> None:
    marker = f"pjsh-kill-{uuid.uuid4().hex[:6]}"
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pjsh", "-NoProfile", "-c",
         f"$w = Start-Job {{ sh -c 'touch {ready}; sleep 403; : {marker}' }}; Wait-Job $w"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (ready.exists() and _with_marker(marker)):
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.05)
        proc.send_signal(sig)
        proc.wait(TIMEOUT)
        _wait_gone(lambda: _with_marker(marker))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
