"""The one launcher (pjsh.runtime.launch): every native stage pjsh starts goes through it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pjsh.runtime import launch
from pjsh.runtime.launch import MERGE, LaunchFailed, start_chain

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")

SH = "/bin/sh"


def read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def children_commands() -> list[str]:
    """The command names of this process's children (zombies included)."""
    names = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat.rsplit(")", 1)[1]
            if int(rest.split()[1]) == os.getpid():
                names.append(comm)
    return names


def pgid_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])


@pytest.mark.parametrize("fast", [True, False], ids=["posix_spawn", "popen"])
def test_a_chain_pipes_stage_to_stage_and_shares_one_new_group(fast: bool) -> None:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    procs = start_chain(
        [(SH, ["sh", "-c", "printf 'b\\na\\n'; echo oops >&2"]), ("/usr/bin/sort", ["sort"])],
        os.open(os.devnull, os.O_RDONLY), out_w, [err_w, err_w], cwd=os.getcwd(), env=None,
        new_group=True, fast=fast)
    os.close(out_w)
    os.close(err_w)
    groups = {pgid_of(p.pid) for p in procs if p.poll() is None}
    assert read_all(out_r) == b"a\nb\n"
    assert read_all(err_r) == b"oops\n"
    assert [p.wait() for p in procs] == [0, 0]
    assert groups <= {procs[0].pid} and os.getpgrp() not in groups
    assert (procs[0].popen is None) is fast  # posix_spawn where it can, Popen otherwise


def test_posix_spawn_is_used_only_in_the_shells_directory(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    spawned: list[str] = []
    real = launch.spawn
    monkeypatch.setattr(launch, "spawn", lambda exe, *a, **k: spawned.append(exe) or real(
        exe, *a, **k))
    for cwd in (os.getcwd(), str(tmp_path)):
        out_r, out_w = os.pipe()
        (proc,) = start_chain([("/bin/pwd", ["pwd"])], os.open(os.devnull, os.O_RDONLY), out_w,
                              [out_w], cwd=cwd, env=None, new_group=False)
        os.close(out_w)
        assert read_all(out_r) == f"{os.path.realpath(cwd)}\n".encode()
        assert proc.wait() == 0
    assert spawned == ["/bin/pwd"]  # the second one had to change directory: Popen


def test_merge_sends_a_stages_errors_where_its_output_goes() -> None:
    out_r, out_w = os.pipe()
    (proc,) = start_chain([(SH, ["sh", "-c", "echo one; echo two >&2"])],
                          os.open(os.devnull, os.O_RDONLY), out_w, [MERGE], cwd=os.getcwd(),
                          env=None, new_group=False)
    os.close(out_w)
    assert read_all(out_r) == b"one\ntwo\n"
    assert proc.wait() == 0


def test_a_stage_that_cannot_start_takes_down_the_ones_before_it() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    try:
        with pytest.raises(LaunchFailed) as caught:
            start_chain([("/bin/sleep", ["sleep", "100"]), ("/nonexistent/x", ["x"])], null, null,
                        [null, null], cwd=os.getcwd(), env=None, new_group=True)
        assert caught.value.stage == 1
        assert isinstance(caught.value.error, FileNotFoundError)
        # The sleep was killed and reaped: no child of ours runs it, not even as a zombie.
        assert "sleep" not in children_commands()
    finally:
        os.close(null)


def test_the_guard_hears_of_the_group_at_once_and_a_failure_after_it_takes_all_down() -> None:
    """A signal's SystemExit can land just after the first stage started (here: in the
    guard call): that stage is killed and reaped, the guard told to forget the group, and
    the pipe for the second stage closed. (A killed script once left such a job running.)"""
    told: list[str] = []
    seen: dict[str, object] = {}

    def guard(pgid: int) -> None:
        told.append(f"+{pgid}")
        seen["pgid_alive"] = pgid_of(pgid) == pgid
        raise SystemExit(131)

    before = set(os.listdir("/proc/self/fd"))
    null = os.open(os.devnull, os.O_RDWR)
    try:
        with pytest.raises(SystemExit):
            start_chain([("/bin/sleep", ["sleep", "100"]), ("/bin/cat", ["cat"])], null, null,
                        [null, null], cwd=os.getcwd(), env=None, new_group=True, guard=guard,
                        unguard=lambda pgid: told.append(f"-{pgid}"))
    finally:
        os.close(null)
    assert seen == {"pgid_alive": True}
    assert len(told) == 2 and told[1] == "-" + told[0][1:]
    assert "sleep" not in children_commands() and "cat" not in children_commands()
    assert set(os.listdir("/proc/self/fd")) == before  # no pipe end left open


@pytest.mark.parametrize("fast", [True, False], ids=["posix_spawn", "popen"])
def test_a_signalled_stage_reports_minus_the_signal(fast: bool) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    try:
        (proc,) = start_chain([("/bin/sleep", ["sleep", "100"])], null, null, [null],
                              cwd=os.getcwd(), env=None, new_group=True, fast=fast)
    finally:
        os.close(null)
    assert proc.poll() is None
    proc.terminate()
    assert proc.wait() == -signal.SIGTERM
    proc.kill()  # reaped: its pid may be someone else's now, so nothing is sent


def test_stages_start_with_the_job_control_stops_at_their_default_action() -> None:
    old = signal.signal(signal.SIGTSTP, signal.SIG_IGN)  # as a console ignores it
    null = os.open(os.devnull, os.O_RDWR)
    try:
        (proc,) = start_chain([("/bin/sleep", ["sleep", "100"])], null, null, [null],
                              cwd=os.getcwd(), env=None, new_group=True)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        ignored = int(status.split("SigIgn:")[1].split()[0], 16)
        assert not ignored & (1 << (signal.SIGTSTP - 1))
    finally:
        signal.signal(signal.SIGTSTP, old)
        os.close(null)
        proc.kill()
        proc.wait()


def test_the_fork_server_starts_stages_with_this_launcher() -> None:
    """spawner.py imports nothing from pjsh; it loads this very file by its path."""
    from pjsh.jobs import spawner

    assert spawner._launch.__file__ == launch.__file__
    assert spawner._launch.spawn.__code__.co_code == launch.spawn.__code__.co_code


@pytest.mark.parametrize("script", ["$j = /bin/true &; $null = Wait-Job $j",
                                    "$t = Start-ThreadJob { /bin/true }; $null = Wait-Job $t"])
def test_the_guard_runs_before_a_guarded_group_has_its_first_process(script: str) -> None:
    # Started after the first process, the guard's own spawn lay between that process and the
    # line naming its group: pjsh killed then left the group running. (A fresh process: the
    # guard starts once per process.)
    program = (
        "import subprocess\n"
        "from pjsh.runtime import launch, posix\n"
        "from pjsh.runtime.host import MemoryHost\n"
        "from pjsh.engine import local_options\n"
        "from pjsh.runtime.runspace import create_runspace\n"
        "seen = []\n"
        "real = launch.spawn\n"
        "def spawn(*args, **kwargs):\n"
        "    seen.append(posix._guard_fd is not None)\n"
        "    return real(*args, **kwargs)\n"
        "launch.spawn = spawn\n"
        "rs = create_runspace(local_options(MemoryHost()))\n"
        f"rs.run({script!r})\n"
        "print(seen)\n"
        "rs.close()\n"
    )
    env = {**os.environ, "PJSH_SPAWNER": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[True]"


@pytest.mark.parametrize("use_awk", [True, False], ids=["awk", "python"])
def test_the_guard_kills_the_groups_still_named_when_its_pipe_closes(use_awk: bool) -> None:
    """Both forms of the guard: a group named (+) and not unnamed (-) is SIGKILLed at EOF,
    an unnamed one is left alone, and it ignores the signals a terminal or a session
    sends."""
    import fcntl
    import termios
    import time

    from pjsh.runtime.posix import guard_argv

    argv = guard_argv(use_awk)
    has_awk = any(os.access(p, os.X_OK) for p in ("/usr/bin/awk", "/bin/awk"))
    assert (argv[0] == "/bin/sh") == (use_awk and has_awk)
    named = subprocess.Popen(["sleep", "60"], start_new_session=True)
    unnamed = subprocess.Popen(["sleep", "60"], start_new_session=True)
    read_end, write_end = os.pipe()
    guard = subprocess.Popen(argv, stdin=read_end, stdout=subprocess.DEVNULL, close_fds=True,
                             start_new_session=True, cwd="/")
    try:
        os.write(write_end, f"+{named.pid}\n+{unnamed.pid}\n-{unnamed.pid}\n+1\n".encode())
        # The guard has read the lines (so its own code runs, signals ignored) once the pipe
        # holds no byte: watched through the read end, still open here.
        deadline = time.monotonic() + 30
        while int.from_bytes(fcntl.ioctl(read_end, termios.FIONREAD, b"\0" * 4), "little"):
            assert time.monotonic() < deadline, "the guard never read its pipe"
            time.sleep(0.01)
        ignored = int(next(line.split()[1] for line in
                           Path(f"/proc/{guard.pid}/status").read_text().splitlines()
                           if line.startswith("SigIgn:")), 16)
        for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGTERM,
                    signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGPIPE):
            assert ignored & (1 << (sig - 1)), sig
    finally:
        os.close(read_end)
        os.close(write_end)
    assert guard.wait(30) == 0
    assert named.wait(30) == -signal.SIGKILL  # (group 1, also named, is never touched)
    assert unnamed.poll() is None
    unnamed.kill()
    unnamed.wait()
