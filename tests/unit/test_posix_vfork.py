"""A process blocked in vfork() on a child that a SIGSTOP caught before its exec never stops
(a shell running ``a; b`` stopped by Suspend-Job at the wrong moment): waiting for it to stop
must not hang. Made for real: a helper process posix_spawns (vfork) a child whose exec waits
on a FIFO, and the child is stopped there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from pjsh.runtime.posix import proc_state, vfork_blocked, wait_stopped

HELPER = """
import os, sys
fifo = sys.argv[1]
# glibc's posix_spawn is a vfork: this process waits until the child has exec'd, and the
# child's first file action (opening the FIFO) blocks until a writer comes.
os.posix_spawn("/bin/true", ["true"], dict(os.environ),
               file_actions=[(os.POSIX_SPAWN_OPEN, 3, fifo, os.O_RDONLY, 0)])
"""


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


def test_a_parent_blocked_in_vfork_on_a_stopped_child_counts_as_stopped(tmp_path: Path) -> None:
    fifo = tmp_path / "gate"
    os.mkfifo(fifo)
    helper = subprocess.Popen([sys.executable, "-c", HELPER, str(fifo)])
    try:
        # The child appears, blocked opening the FIFO before its exec (event: the child
        # exists and sleeps in open; the helper is then in its vfork wait).
        child = None
        while child is None:
            found = _children(helper.pid)
            if found and proc_state(found[0]) in ("S", "D"):
                child = found[0]
        assert not vfork_blocked(helper.pid)  # its child is not stopped yet
        os.kill(child, signal.SIGSTOP)
        while proc_state(child) != "T":
            pass  # SIGSTOP takes effect asynchronously; nothing to wait on but its state
        assert proc_state(helper.pid) == "D"
        assert vfork_blocked(helper.pid)
        done = threading.Event()
        waiter = threading.Thread(target=lambda: (wait_stopped([helper.pid]), done.set()))
        waiter.start()
        waiter.join(30)
        assert done.is_set(), "wait_stopped hung on a vfork-blocked parent"
    finally:
        for pid in _children(helper.pid) if helper.poll() is None else []:
            os.kill(pid, signal.SIGKILL)
        helper.kill()
        helper.wait()
