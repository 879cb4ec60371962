"""Jobs leak nothing: thousands of jobs of each kind (``&`` with a native, Start-Job,
Start-ThreadJob, ``-AsJob``) started, waited for, received and removed in batches in ONE pjsh
process under ``ulimit -n 256`` leave its open descriptors, its thread count and its child
processes where they were after a warm-up batch.

The children pjsh keeps by design (docs/architecture.md) are the fork servers
(``pjsh/jobs/spawner.py``) and the one warm spare worker (``python -m pjsh.jobs.worker``); they
are counted by kind, and none may be more numerous than after the warm-up (a burst of Start-Jobs
leaves a few spare workers, which later jobs use up).

``PJSH_LEAK_JOBS`` jobs of each kind (default 1000) in batches of 50, except Start-Job:
``PJSH_LEAK_WORKER_JOBS`` (default 20, in batches of 10), since each one starts a worker process;
the defaults take about a minute on two shared cores (the issue's full figure is 5000 of each).
The figures are printed; run with ``-s`` to see them."""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pjsh.jobs.workers import _MAX_SPARES as MAX_SPARES
from tests.e2e.test_cli import pjsh_command, pjsh_env
from tests.e2e.test_jobs_cli import Shell

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")]

JOBS = int(os.environ.get("PJSH_LEAK_JOBS", "1000"))
# Start-Job starts a worker process per job (a Python start-up and the engine's imports), so it
# gets its own, smaller count.
WORKER_JOBS = int(os.environ.get("PJSH_LEAK_WORKER_JOBS", "20"))
FD_LIMIT = 256


@dataclass(frozen=True)
class Kind:
    """One way of starting jobs: the statement starting one, a warm-up statement whose jobs
    overlap (so pools reach the size they keep), the count and the batch size."""

    start: str
    warm: str
    jobs: int
    batch: int


# `&` runs a native (the process backend); the others a script block or a bound cmdlet.
KINDS = {
    "native &": Kind("/bin/echo $i &", "/bin/sleep 0.2 &", JOBS, 50),
    "Start-Job": Kind("Start-Job { 1 }", "Start-Job { Start-Sleep -Milliseconds 200 }",
                      WORKER_JOBS, 10),
    "Start-ThreadJob": Kind("Start-ThreadJob { 1 }",
                            "Start-ThreadJob { Start-Sleep -Milliseconds 100 }", JOBS, 50),
    # -AsJob jobs run on a pool that grows to the most jobs ever running at once (up to 256)
    # and keeps its threads: the warm-up runs a whole batch at once.
    "-AsJob": Kind("Get-Date -AsJob", "Start-Sleep -Milliseconds 300 -AsJob", JOBS, 50),
}


def batch(start: str, n: int) -> str:
    """A statement running one batch of n jobs and printing how many gave output."""
    return (f"$b = foreach ($i in 1..{n}) {{ {start} }}; $null = $b | Wait-Job; "
            "$r = @($b | Receive-Job); "
            "$bad = @($b | Where-Object State -ne 'Completed'); $b | Remove-Job; "
            "\"batch $($r.Count) $($bad.Count)\" + -join ($bad | ForEach-Object { "
            "\" | $($_.State): $($_.JobStateInfo.Reason) $($_.ChildJobs.JobStateInfo.Reason)\" })")


class LimitedShell(Shell):
    """A scripted pjsh (see Shell) started with at most FD_LIMIT open descriptors."""

    def __init__(self, cwd: Path) -> None:
        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))

        self.proc = subprocess.Popen(
            [*pjsh_command(), "-NoProfile"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=cwd, env=pjsh_env(), start_new_session=True,
            preexec_fn=limit)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._out = self.proc.stdout.fileno()
        self._buf = b""
        self._marks = 0
        self._err: list[bytes] = []
        self._err_reader = threading.Thread(target=self._drain_stderr, args=(self.proc.stderr,),
                                            daemon=True)
        self._err_reader.start()


def children(pid: int) -> dict[int, str]:
    """pjsh's live children: pid -> kind (fork server, spare worker, or other: its command)."""
    kinds: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) != pid or fields[0] == "Z":
            continue
        if "pjsh/jobs/spawner.py" in cmd:
            kinds[int(entry)] = "fork server"
        elif "pjsh.jobs.worker" in cmd:
            kinds[int(entry)] = "spare worker"
        else:
            kinds[int(entry)] = "other: " + cmd.strip()
    return kinds


def fd_targets(pid: int) -> list[str]:
    """Where each open descriptor of a process points (``pipe:[123]``, a path ...)."""
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return targets


@dataclass(frozen=True)
class Figures:
    """One measurement of a pjsh process."""

    fds: int  # open descriptors, as pjsh counts them itself
    threads: int  # threads, from pjsh's own /proc/$PID/status
    children: dict[str, int]  # live children by kind
    channel_fds: int  # descriptors that are pipes or sockets to a by-design child

    @property
    def own_fds(self) -> int:
        """Descriptors other than the channels to the fork servers and spare workers."""
        return self.fds - self.channel_fds

    @property
    def own_threads(self) -> int:
        """Threads other than those watching the spare workers: before 3.12, asyncio waits for
        each child process on a thread of its own (ThreadedChildWatcher)."""
        per_worker = 1 if sys.version_info < (3, 12) else 0
        return self.threads - per_worker * self.children.get("spare worker", 0)

    def __str__(self) -> str:
        return (f"{self.fds} fds ({self.own_fds} besides channels to helpers), {self.threads} "
                f"threads ({self.own_threads} besides worker watchers), children {self.children}")


def measure(sh: Shell) -> Figures:
    """Open descriptors and threads (read by pjsh itself from /proc), and children."""
    (line,) = sh.run("\"$((Get-ChildItem /proc/$PID/fd).Count) "
                     "$(((Get-Content /proc/$PID/status) -match '^Threads:') -replace '\\D', '')\"")
    fds, threads = (int(x) for x in line.split())
    kids = children(sh.pid)
    channels = set()
    for child in kids:
        with contextlib.suppress(OSError):
            channels.update(t for t in fd_targets(child) if t.startswith(("pipe:", "socket:")))
    # pjsh's own count includes the directory handle Get-ChildItem had open; so does every
    # measurement, so the figures compare.
    channel_fds = sum(1 for t in fd_targets(sh.pid) if t in channels)
    by_kind: dict[str, int] = {}
    for kind in kids.values():
        by_kind[kind] = by_kind.get(kind, 0) + 1
    return Figures(fds, threads, by_kind, channel_fds)


def no_more(now: dict[str, int], before: dict[str, int]) -> bool:
    """True if no kind of child is more numerous than before, spare workers aside: their
    number follows the demand by design, between 1 and MAX_SPARES (a burst of Start-Jobs
    raises it, later jobs use the extra spares up)."""
    return all(count <= (MAX_SPARES if kind == "spare worker" else before.get(kind, 0))
               for kind, count in now.items())


def back_to(now: Figures, before: Figures) -> bool:
    """True if nothing grew since ``before``."""
    return (now.own_fds <= before.own_fds and now.own_threads <= before.own_threads
            and no_more(now.children, before.children))


def settled(sh: Shell, before: Figures, timeout: float = 15) -> Figures:
    """Measure until the figures are back to ``before`` or ``timeout`` passes: a spare worker
    being started, or a pool thread finishing its last job, is not a leak."""
    deadline = time.monotonic() + timeout
    while True:
        now = measure(sh)
        if back_to(now, before) or time.monotonic() > deadline:
            return now
        time.sleep(0.2)


def test_thousands_of_jobs_of_every_kind_leak_no_descriptor_thread_or_process(
        tmp_path: Path) -> None:
    with LimitedShell(tmp_path) as sh:
        assert sh.run("(Get-Content /proc/$PID/limits) -match 'open files' -replace '\\s+', ' '") \
            == [f"Max open files {FD_LIMIT} {FD_LIMIT} files "]
        for kind in KINDS.values():  # warm-up: every kind's machinery is up, pools full
            # A pool grows to the most jobs ever running at once, and how many overlap in a
            # warm-up batch depends on the machine's load: warm up until a batch adds no
            # thread (at most 5 batches).
            threads = measure(sh).threads
            for _ in range(5):
                (warm,) = sh.run(batch(kind.warm, kind.batch), timeout=300)
                assert warm.startswith("batch ") and warm.endswith(" 0"), warm
                previous, threads = threads, measure(sh).threads
                if threads <= previous:
                    break
            assert sh.run(batch(kind.start, kind.batch), timeout=300) == [f"batch {kind.batch} 0"]
        before = measure(sh)
        started = time.monotonic()
        timings = {}
        for name, kind in KINDS.items():
            t0 = time.monotonic()
            for _ in range(max(1, kind.jobs // kind.batch)):
                assert sh.run(batch(kind.start, kind.batch), timeout=300) == [
                    f"batch {kind.batch} 0"], name
            timings[name] = (max(1, kind.jobs // kind.batch) * kind.batch,
                             time.monotonic() - t0)
        elapsed = time.monotonic() - started
        after = settled(sh, before)
        stderr = sh.stderr
    print(f"\njobs run and removed in {elapsed:.1f} s ("
          + ", ".join(f"{n} {k}: {t:.1f} s" for k, (n, t) in timings.items())
          + f")\n  after warm-up: {before}\n  at the end:    {after}")
    assert stderr == ""
    assert after.own_fds <= before.own_fds, "descriptors leaked"
    assert after.own_threads <= before.own_threads, "threads leaked"
    assert no_more(after.children, before.children), "child processes leaked"
