"""Job notices: the queue hears the job engine's events, words them as bash/pwsh would, waits
while a command runs, and prints above a prompt without touching the line being typed."""

from __future__ import annotations

import asyncio
import io
import threading

from prompt_toolkit import PromptSession
from prompt_toolkit.application import create_app_session
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output
from prompt_toolkit.patch_stdout import StdoutProxy

from pjsh.engine import local_options
from pjsh.repl.app import preference
from pjsh.repl.notices import JobNotice, NoticeQueue, format_elapsed
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.runspace import Runspace, create_runspace
from tests.harness import run


def interactive_runspace() -> tuple[Runspace, NoticeQueue]:
    """An interactive runspace whose job events feed a notice queue (as the REPL builds)."""
    holder: list[Runspace] = []
    queue = NoticeQueue(lambda: bool(holder) and preference(holder[0], "PjshNotifyJobs"))
    rs = create_runspace(local_options(MemoryHost(), interactive=True,
                                       job_subscribers=(queue.on_job_event,)))
    holder.append(rs)
    return rs, queue


# ------------------------------------------------------------------ wording
def test_notice_line_names_id_state_command_and_time() -> None:
    assert JobNotice(3, "Completed", "make -j4", elapsed=12.4).line() == (
        "[3] Completed  make -j4  (12.4 s)")
    assert JobNotice(4, "Failed", "pytest", "exit code 1", 0.8).line() == (
        "[4] Failed  pytest  exit code 1 (0.8 s)")


def test_elapsed_time_grows_coarser_with_length() -> None:
    assert [format_elapsed(s) for s in (0.04, 75, 7380)] == ["0.0 s", "1 min 15 s",
                                                             "2 h 03 min"]


# ------------------------------------------------------------------ fed by the job engine
def test_a_finished_thread_job_queues_one_notice() -> None:
    rs, queue = interactive_runspace()
    run("Start-ThreadJob -Name quick { 1 } | Wait-Job | Out-Null", rs)
    notices = queue.take()
    assert [(n.id, n.state) for n in notices] == [(1, "Completed")]
    assert notices[0].command.strip() == "1"
    assert queue.toolbar_text() == "jobs: 0 running, 1 finished"


def test_a_failed_job_notice_gives_the_reason() -> None:
    rs, queue = interactive_runspace()
    run("Start-ThreadJob { throw 'boom' } | Wait-Job | Out-Null", rs)
    (notice,) = queue.take()
    assert (notice.state, notice.detail) == ("Failed", "boom")
    assert "(1 failed)" in queue.toolbar_text()


def test_pjsh_notify_jobs_false_silences_notices() -> None:
    rs, queue = interactive_runspace()
    run("$PjshNotifyJobs = $false; Start-ThreadJob { 1 } | Wait-Job | Out-Null", rs)
    assert queue.take() == []


def test_a_job_ending_in_the_foreground_gives_no_notice_but_its_stop_does() -> None:
    from pjsh.jobs.model import Job, JobState

    queue = NoticeQueue()
    stopped, ended = Job(1, command="vim notes.txt"), Job(2, command="cat")
    for job in (stopped, ended):
        job.add_observer(queue.on_job_event)
        job.set_state(JobState.Running)
        job.in_foreground = True  # what fg sets while the job has the terminal
    stopped.set_state(JobState.Suspended)
    ended.set_state(JobState.Completed)
    assert [n.line() for n in queue.take()] == ["[1]+  Suspended  vim notes.txt"]


def test_a_non_interactive_runspace_has_no_subscribers() -> None:
    queue = NoticeQueue()
    rs = create_runspace(local_options(MemoryHost(), job_subscribers=(queue.on_job_event,)))
    run("Start-ThreadJob { 1 } | Wait-Job | Out-Null", rs)
    assert queue.take() == []


def test_notices_wait_while_detached_and_flush_on_attach() -> None:
    queue = NoticeQueue()
    queue.push(JobNotice(1, "Completed", "a"))
    queue.push(JobNotice(2, "Stopped", "b"))
    written: list[str] = []
    queue.attach(written.append)
    queue.push(JobNotice(3, "Suspended", "c"))
    queue.detach()
    queue.push(JobNotice(4, "Completed", "d"))
    assert written == ["[1] Completed  a\n[2] Stopped  b\n", "[3]+  Suspended  c\n"]
    assert [n.id for n in queue.take()] == [4]


# ------------------------------------------------------------------ above the prompt
class _Screen(io.StringIO):
    """The terminal's byte stream; signals when some text has been written."""

    def __init__(self, wanted: str) -> None:
        super().__init__()
        self.wanted = wanted
        self.seen = threading.Event()

    def write(self, s: str) -> int:
        n = super().write(s)
        if self.wanted in self.getvalue():
            self.seen.set()
        return n


def test_notice_above_a_half_typed_line_keeps_the_line_intact() -> None:
    notice = JobNotice(3, "Completed", "make -j4", elapsed=12.4)
    screen = _Screen(notice.line())
    output = Vt100_Output(screen, lambda: Size(rows=24, columns=80), term="xterm")
    queue = NoticeQueue()

    async def scenario() -> tuple[str, str]:
        with create_pipe_input() as pipe, create_app_session(input=pipe, output=output):
            proxy = StdoutProxy(raw=True, sleep_between_writes=0)
            session: PromptSession[str] = PromptSession()
            typed = asyncio.Event()

            def changed(_buffer: object) -> None:
                if session.default_buffer.text == "Get-Jo":
                    typed.set()

            session.default_buffer.on_text_changed += changed
            task = asyncio.create_task(session.prompt_async("PS> "))
            pipe.send_text("Get-Jo")
            await typed.wait()
            queue.attach(proxy.write)
            queue.push(notice)
            await asyncio.get_running_loop().run_in_executor(None, screen.seen.wait)
            during = session.default_buffer.text
            pipe.send_text("b\r")
            result = await task
            queue.detach()
            proxy.close()
            return during, result

    during, result = asyncio.run(scenario())
    assert (during, result) == ("Get-Jo", "Get-Job")
    after_notice = screen.getvalue().split(notice.line(), 1)[1]
    # The prompt and the half-typed line are drawn again below the notice.
    assert "PS> " in after_notice and "Get-Jo" in after_notice


# ------------------------------------------------------------------ progress of waits
def test_wait_job_on_several_jobs_shows_a_progress_line_at_the_prompt() -> None:
    host = MemoryHost()
    rs = create_runspace(local_options(host, interactive=True))
    run("1..3 | ForEach-Object { Start-ThreadJob { 1 } } | Wait-Job | Out-Null", rs)
    kinds = [(p.Activity, p.RecordType) for p in host.progress]
    assert kinds[0] == ("Wait-Job", "Processing")
    assert kinds[-1] == ("Wait-Job", "Completed")
    assert "of 3 jobs done" in host.progress[0].StatusDescription


def test_receive_job_wait_on_several_jobs_shows_progress() -> None:
    host = MemoryHost()
    rs = create_runspace(local_options(host, interactive=True))
    r = run("$a = Start-ThreadJob { 1 }; $b = Start-ThreadJob { 2 }; "
            "Receive-Job -Job $a, $b -Wait", rs)
    assert sorted(r.output) == [1, 2]  # type: ignore[type-var]
    assert [p.RecordType for p in host.progress][-1] == "Completed"


def test_scripts_get_no_wait_progress() -> None:
    host = MemoryHost()
    rs = create_runspace(local_options(host))
    run("1..3 | ForEach-Object { Start-ThreadJob { 1 } } | Wait-Job | Out-Null", rs)
    assert host.progress == []
