"""The terminal owner (pjsh/jobs/tty.py) on a pty pair from os.openpty: no real terminal.

``tcsetpgrp`` works only on the caller's controlling terminal, so each scenario runs in a
small child process that starts a session, makes the pty's slave its controlling terminal,
and reports what it saw as JSON on a pipe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")

PRELUDE = textwrap.dedent("""
    import fcntl, json, os, signal, subprocess, sys, termios
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pty is our controlling terminal now
    from pjsh.engine import local_options
    from pjsh.jobs.tty import TerminalOwner, TerminalJob
    from pjsh.runtime.host import MemoryHost
    from pjsh.runtime.runspace import create_runspace
    notices = []
    owner = TerminalOwner.acquire(0, notify=notices.append)
    rs = create_runspace(local_options(MemoryHost(), interactive=True, terminal=owner))
    report = {}
    from pjsh.runtime.launch import Process
    def spawn(*argv):  # as the launcher's Popen path starts a foreground stage
        p = subprocess.Popen(list(argv), process_group=0, stdin=0, stdout=2, stderr=2)
        return Process(p.pid, p)
    def sigmask(pid, field):
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1], 16)
        return 0
""")


def run_scenario(body: str) -> dict[str, object]:
    """Run ``body`` after the prelude in a child whose controlling terminal is a fresh pty;
    return its ``report``."""
    master, slave = os.openpty()
    read_end, write_end = os.pipe()
    script = PRELUDE + textwrap.dedent(body) + textwrap.dedent(f"""
        owner.release()
        os.write({write_end}, json.dumps(report).encode())
    """)
    try:
        proc = subprocess.Popen([sys.executable, "-c", script], stdin=slave, stdout=slave,
                                stderr=subprocess.PIPE, start_new_session=True,
                                pass_fds=(write_end,))
        os.close(slave)
        os.close(write_end)
        chunks = []
        while chunk := os.read(read_end, 65536):
            chunks.append(chunk)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        return dict(json.loads(b"".join(chunks)))
    finally:
        os.close(master)
        os.close(read_end)


def test_acquire_makes_pjsh_the_foreground_group_and_children_get_default_stop_signals() -> None:
    report = run_scenario("""
        report["foreground"] = os.tcgetpgrp(0) == os.getpgrp()
        p = spawn("sleep", "30")
        tstp = 1 << (signal.SIGTSTP - 1)
        report["child_ignores_or_catches_tstp"] = bool(
            (sigmask(p.pid, "SigIgn") | sigmask(p.pid, "SigCgt")) & tstp)
        p.kill(); p.wait()
    """)
    assert report == {"foreground": True, "child_ignores_or_catches_tstp": False}


def test_a_foreground_pipeline_that_exits_returns_its_codes_and_the_terminal_comes_back() -> None:
    report = run_scenario("""
        p = spawn("sh", "-c", "test $(ps -o tpgid= -p $$) = $(ps -o pgid= -p $$) && exit 3")
        report["codes"] = owner.run_foreground(rs.session, [p], "sh")
        report["back"] = os.tcgetpgrp(0) == os.getpgrp()
    """)
    assert report == {"codes": [3], "back": True}  # 3: it had the terminal while it ran


def test_a_foreground_pipeline_that_stops_becomes_a_suspended_job_with_a_notice() -> None:
    report = run_scenario("""
        p = spawn("sh", "-c", "kill -STOP $$; exit 5")
        report["codes"] = owner.run_foreground(rs.session, [p], "sh -c stop")
        job = rs.session.jobs.manager.jobs()[0]
        report["job"] = [type(job).__name__, job.state.name, job.command]
        report["notices"] = notices
        report["back"] = os.tcgetpgrp(0) == os.getpgrp()
        report["fg"] = owner.foreground_job(rs.session, job)
        report["jobs_after_fg"] = len(rs.session.jobs.manager.jobs())
    """)
    assert report == {
        "codes": None, "job": ["TerminalJob", "Suspended", "sh -c stop"],
        "notices": ["[1]+  Suspended  sh -c stop"], "back": True,
        "fg": [5], "jobs_after_fg": 0,
    }


def test_a_background_terminal_job_follows_stops_and_continues_from_outside() -> None:
    report = run_scenario("""
        import queue
        p = spawn("sh", "-c", "kill -STOP $$; exec sleep 30")
        owner.run_foreground(rs.session, [p], "sh")
        manager = rs.session.jobs.manager
        job = manager.jobs()[0]
        changes = queue.SimpleQueue()
        job.add_observer(lambda e: changes.put(e.state.State.name) if e.state else None)
        manager.resume(job)  # bg
        seen = [changes.get(timeout=20)]
        os.kill(p.pid, signal.SIGSTOP)  # stopped from outside
        seen.append(changes.get(timeout=20))
        os.kill(p.pid, signal.SIGCONT)  # and continued from outside
        seen.append(changes.get(timeout=20))
        manager.stop(job)
        report["seen"] = seen
        report["final"] = job.state.name
    """)
    assert report == {"seen": ["Running", "Suspended", "Running"], "final": "Stopped"}
