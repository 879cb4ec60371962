"""ForEach-Object -Parallel: the script block runs once per input object on a thread of the
shell, each in its own runspace with ``$_`` set, at most -ThrottleLimit at a time.

Each run is a thread task (a ThreadJob of its own backend, so the limit is this command's, not
the session's Start-ThreadJob limit). Without -AsJob the tasks are no jobs of the session (Id
0, not in Get-Job) and their records are received as they arrive, so output comes in the order
the tasks produce it; with -AsJob they are the children of one PSTaskJob that is output.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING

from pjsh.runtime.cmdlet import Cmdlet

if TYPE_CHECKING:
    from pjsh.jobs.model import Job
    from pjsh.jobs.thread import JobWriter, ThreadBackend
    from pjsh.runtime.scriptblock import ScriptBlock


class ParallelRun:
    """One ForEach-Object -Parallel invocation: its tasks and how their records come back."""

    def __init__(self, cmd: Cmdlet, block: ScriptBlock, throttle_limit: int,
                 timeout_seconds: int, as_job: bool) -> None:
        from pjsh.commands.jobs import ReceiveJob, ReceiveJobArgs, _caller, service
        from pjsh.jobs.thread import ThreadBackend

        self.cmd = cmd
        self.block = block
        self.as_job = as_job
        svc = service(cmd)
        self.manager = svc.manager
        interp, frame = _caller(cmd)
        # As Start-ThreadJob: only $using: variables reach the block, copied by value.
        self.variables = svc.copied_variables(block.body, frame, interp)
        self.backend: ThreadBackend = ThreadBackend(svc.manager, throttle_limit=throttle_limit)
        # pwsh numbers the PSTaskJob before its children.
        self.parent_id = svc.manager.next_id() if as_job else 0
        self.tasks: list[Job] = []
        self.active: list[Job] = []
        self.deadline = time.monotonic() + timeout_seconds if timeout_seconds > 0 else None
        self.activity = threading.Event()
        # Tasks in the order their records and state changes arrived: receiving them in this
        # order outputs in the order the tasks produced (completion order), across tasks.
        self.arrivals: deque[Job] = deque()
        self.options = svc.job_options()
        self.receiver = ReceiveJob(cmd.ctx)
        # Receive-Job's own record with its defaults (no -Keep: each record is output once).
        defaults = {p.name: bool(p.default) if p.type.is_switch else p.default
                    for p in ReceiveJob.spec.params}
        self.receive_args = ReceiveJobArgs(defaults, "Location")

    def add(self, item: object) -> None:
        """Make the task for one input object; without -AsJob it starts at once."""
        from pjsh.jobs.service import run_block_in_new_runspace

        block, variables, options = self.block, self.variables, self.options

        def target(writer: JobWriter) -> None:
            run_block_in_new_runspace(block, writer, options, args=(), input_items=None,
                                      init=None, variables=variables, dollar_under=item)

        task = self.backend.create_job(target, command=block.text,
                                       job_id=None if self.as_job else 0)
        self.tasks.append(task)
        if self.as_job:
            return
        task.add_observer(self._wake)
        self.active.append(task)
        self.backend.start(task)
        try:
            self.receive()
        except BaseException:
            self.abandon()  # the pipeline stopped (Select-Object -First, Ctrl+C)
            raise

    def _wake(self, event: object) -> None:
        job = getattr(event, "job", None)
        if job is not None:
            self.arrivals.append(job)
        self.activity.set()

    def receive(self) -> None:
        """Output what the tasks produced so far (records on their own streams), task by task
        in the order their records arrived."""
        # A task seen finished here has all its record events queued already (records are
        # stored, and announced, before the state changes): this pass outputs all of them.
        finished = [t for t in self.active if t.is_finished()]
        while self.arrivals:
            self.receiver.receive(self.arrivals.popleft(), self.receive_args)
        if finished:
            self.active = [t for t in self.active if t not in finished]

    def finish(self) -> None:
        """-AsJob: start and output the PSTaskJob; else wait for the tasks, streaming."""
        if self.as_job:
            self._start_job()
            return
        try:
            while True:
                self.activity.clear()
                done = all(t.is_finished() for t in self.active)
                self.receive()
                if done:
                    break
                if self.deadline is None:
                    self.activity.wait()
                    continue
                left = self.deadline - time.monotonic()
                if left <= 0:
                    # -TimeoutSeconds: running blocks are stopped, queued input is dropped.
                    self.deadline = None
                    self.stop()
                    continue
                self.activity.wait(left)
        except BaseException:
            self.stop()  # a stopped pipeline (Select-Object -First, Ctrl+C) ends the tasks
            raise
        finally:
            self.backend.close()

    def abandon(self) -> None:
        """Stop the tasks and let the pool end: no more input will come."""
        try:
            self.stop()
        finally:
            self.backend.close()

    def stop(self) -> None:
        """Stop every task not finished yet."""
        # Closed first, so that no queued task starts while the running ones are stopped (each
        # that ends frees a slot, and would start the next queued one before it is stopped).
        self.backend.close()
        for task in self.tasks:
            if not task.is_finished():
                self.manager.call(self.backend.stop(task))

    def _start_job(self) -> None:
        from pjsh.jobs.model import JobEventKind, JobState, PSTaskJob

        job = PSTaskJob(self.parent_id, command=self.block.text, location="PowerShell",
                        children=self.tasks)
        backend = self.backend

        def close_when_done(event: object) -> None:
            if getattr(event, "kind", None) is JobEventKind.STATE_CHANGED and job.is_finished():
                backend.close()

        job.add_observer(close_when_done, output=False)
        self.manager.start(job)
        if not self.tasks:
            # No input: nothing to run, the job is done at once.
            job.set_state(JobState.Running)
            job.set_state(JobState.Completed)
        self.cmd.ctx.write_output(job)
