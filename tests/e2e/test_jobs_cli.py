"""Jobs through the installed ``pjsh`` executable: ``-c`` and scripted mode, fed line by line
like a person typing, with the issue's "what it must show" list: partial output then the rest,
``-Keep`` twice, ``Wait-Job -Timeout``, ``$job | Stop-Job`` leaving no process, ``Remove-Job``
refusing a running job, a throwing job's Reason. :class:`Shell` is shared by the other job e2e
modules. Synchronisation is on output: a statement's output ends at a marker line the test asks
pjsh to print after it, and jobs that must still be running wait at a FIFO."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import pytest

from tests.e2e.test_cli import command, pjsh_command, pjsh_env, script

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")


class Shell:
    """A pjsh process in scripted mode (stdin a pipe) that the test talks to statement by
    statement. ``run`` sends text and returns the stdout lines it produced."""

    def __init__(self, cwd: str | Path | None = None, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*pjsh_command(), "-NoProfile", *args], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=pjsh_env(),
            start_new_session=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._out = self.proc.stdout.fileno()
        self._buf = b""
        self._marks = 0
        self._err: list[bytes] = []
        stderr = self.proc.stderr
        assert stderr is not None
        self._err_reader = threading.Thread(target=self._drain_stderr, args=(stderr,),
                                            daemon=True)
        self._err_reader.start()

    def _drain_stderr(self, stream: BinaryIO) -> None:
        while True:
            chunk = stream.read1(65536)  # type: ignore[attr-defined]
            if not chunk:
                return
            self._err.append(chunk)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def stderr(self) -> str:
        """Everything pjsh wrote to stderr so far."""
        return b"".join(self._err).decode("utf-8", "surrogateescape")

    def send(self, text: str) -> None:
        """Type lines into pjsh (no waiting)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def read_line(self, timeout: float = 60) -> str:
        """The next stdout line (without its newline)."""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self._out, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise TimeoutError(f"no line from pjsh; so far {self._buf!r}; "
                                       f"stderr {self.stderr!r}")
                chunk = os.read(self._out, 1 << 20)
                if not chunk:
                    raise EOFError(f"pjsh closed its output; stderr {self.stderr!r}")
                self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode("utf-8", "surrogateescape")

    def run(self, text: str, timeout: float = 60) -> list[str]:
        """Run statements; their stdout lines once pjsh has finished them."""
        self._marks += 1
        marker = f"--end of statement {self._marks}--"
        self.send(text)
        self.send(f"'{marker}'")
        lines: list[str] = []
        while True:
            line = self.read_line(timeout)
            if line == marker:
                return lines
            lines.append(line)

    def close(self, timeout: float = 60) -> int:
        """End of input; pjsh's exit status."""
        assert self.proc.stdin is not None
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        code = self.proc.wait(timeout)
        self._err_reader.join(timeout)
        return code

    def __enter__(self) -> Shell:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.proc.poll() is None:
            try:
                self.close(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def live_group_members(pgid: int) -> dict[int, str]:
    """pid -> state of every process of a group that has not exited (zombies excluded)."""
    members: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members[int(entry)] = fields[0]
    return members


def release(path: Path, data: str = "\n") -> None:
    """Let a job blocked reading the FIFO go on."""
    with open(path, "w") as fh:
        fh.write(data)


# ---------------------------------------------------------------------------- -c and scripted

def test_the_briefs_example_through_dash_c() -> None:
    r = command("$j = Start-Job { \"hi\"; 1+1 }; $j | Wait-Job | Receive-Job; Get-Job")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == (
        "hi\n2\n\n"
        "Id     Name            PSJobTypeName   State         HasMoreData     Location         "
        "    Command\n"
        "--     ----            -------------   -----         -----------     --------         "
        "    -------\n"
        "1      Job1            BackgroundJob   Completed     False           localhost        "
        "     \"hi\"; 1+1\n\n")


def test_start_job_shows_a_one_row_table_at_the_prompt() -> None:
    r = script("Start-Job { sleep 30 } -Name nap\n")
    assert r.stdout.splitlines()[1:4] == [
        "Id     Name            PSJobTypeName   State         HasMoreData     Location         "
        "    Command",
        "--     ----            -------------   -----         -----------     --------         "
        "    -------",
        "1      nap             BackgroundJob   Running       True            localhost        "
        "     sleep 30"]


def test_partial_output_then_the_rest_without_gaps_or_duplicates(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    with Shell(tmp_path) as sh:
        sh.run(f"$j = Start-Job {{ sh -c 'seq 1 500; read x < {gate}; seq 501 1000' }}")
        # Event-driven: -Wait streams, Select-Object stops it after the first 500 lines.
        first = sh.run("Receive-Job $j -Wait | Select-Object -First 500")
        assert sh.run("$j.State") == ["Running"]
        more = sh.run("Receive-Job $j")  # nothing new yet, and nothing repeated
        release(gate)
        rest = sh.run("Receive-Job $j -Wait")
        assert first + more + rest == [str(i) for i in range(1, 1001)]
        assert sh.run("$j.State; $j.HasMoreData") == ["Completed", "False"]


def test_keep_twice_returns_everything_both_times() -> None:
    r = script("$j = Start-Job { 1..3 }\n$j | Wait-Job | Out-Null\n"
               "Receive-Job $j -Keep\n'--'\nReceive-Job $j -Keep\n'--'\nReceive-Job $j\n'--'\n"
               "Receive-Job $j\n$j.HasMoreData\n")
    assert r.stdout.split() == ["1", "2", "3", "--", "1", "2", "3", "--", "1", "2", "3", "--",
                                "False"]


def test_wait_job_timeout_returns_nothing_and_the_job_is_still_running() -> None:
    started = time.monotonic()
    r = script("$j = Start-Job { sleep 30 }\nWait-Job $j -Timeout 1\n'after'\n$j.State\n")
    assert (r.stdout, r.stderr) == ("after\nRunning\n",
                                    "pjsh: stopping 1 running job(s) before exit: Job1\n")
    assert time.monotonic() - started < 25  # pjsh stopped the job when it left


def test_stop_job_leaves_no_process_of_the_jobs_tree(tmp_path: Path) -> None:
    with Shell(tmp_path) as sh:
        (native,) = sh.run("$n = Start-Job { sh -c 'sleep 300 & sleep 301 & echo up; wait' }; "
                           "Receive-Job $n -Wait | Select-Object -First 1 | Out-Null; $n.ProcessId")
        (worker,) = sh.run("$w = Start-Job { 'w'; sh -c 'sleep 302 & sleep 303 & echo up; wait' }; "
                           "Receive-Job $w -Wait | Select-Object -First 2 | Out-Null; $w.ProcessId")
        assert len(live_group_members(int(native))) == 3
        assert len(live_group_members(int(worker))) == 4  # the worker, sh and the two sleeps
        assert sh.run("$n | Stop-Job; $w | Stop-Job; $n.State; $w.State") == ["Stopped",
                                                                               "Stopped"]
        assert live_group_members(int(native)) == {}
        assert live_group_members(int(worker)) == {}
        assert sh.run("'still here'") == ["still here"]


def test_remove_job_refuses_a_running_job_and_keeps_it() -> None:
    r = script("$j = Start-Job { sleep 30 }\nRemove-Job $j\n(Get-Job).State\nRemove-Job -Id 1\n"
               "Remove-Job $j -Force\n@(Get-Job).Count\n")
    message = ("The command cannot remove the job with the job ID 1 because the job is not "
               "finished. To remove the job, first stop the job, or use the Force parameter.")
    assert r.stdout == "Running\n0\n"
    assert r.stderr == (f"Remove-Job: {message} (Parameter 'Job')\n"
                        f"Remove-Job: {message} (Parameter 'SessionId')\n")


def test_a_throwing_job_is_failed_and_its_child_carries_the_reason() -> None:
    r = script("$job = Start-Job { throw 'MyError' }\n$job | Wait-Job | Out-Null\n$job.State\n"
               "$job.ChildJobs[0].JobStateInfo.Reason\n")
    assert (r.stdout, r.stderr) == ("Failed\nMyError\n", "")


def test_a_failed_native_job_names_the_command_and_the_code() -> None:
    r = script("$j = Start-Job { sh -c 'exit 2' }\n$j | Wait-Job | Out-Null\n$j.State\n"
               "$j.ChildJobs[0].JobStateInfo.Reason\n$j.ExitCode\nReceive-Job $j\n")
    assert r.stdout == "Failed\n'sh' exited with code 2\n2\n"
    assert r.stderr == "Receive-Job: 'sh' exited with code 2\n"


def test_background_operator_in_scripted_mode(tmp_path: Path) -> None:
    r = script("$x = 'copied'\n$j = /bin/echo $x &\n$k = \"in $x\" &\n"
               "Get-Job | Wait-Job | Receive-Job\n", cwd=tmp_path)
    assert (r.stdout, r.stderr) == ("copied\nin copied\n", "")


def test_exit_status_of_dash_c_with_a_job_still_running() -> None:
    started = time.monotonic()
    r = command("$j = Start-Job { sleep 30 }; 'started'")
    assert (r.returncode, r.stdout) == (0, "started\n")
    assert time.monotonic() - started < 25
