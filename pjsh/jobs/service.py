"""A runspace's job service: turns Start-Job, ``&``, Start-ThreadJob and -AsJob into jobs.

It owns the session's JobManager (created on first use, so a script that starts no job pays
nothing) and picks the backend: a script block made only of native commands runs those
processes directly (about a fork/exec per job); anything with cmdlets runs in a warm pjsh
worker process; thread jobs run in-process.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pjsh.jobs.jobhost import JobScriptFailed
from pjsh.jobs.manager import JobManager
from pjsh.jobs.model import Job
from pjsh.jobs.storage import Stream
from pjsh.lang import ast
from pjsh.lang.record import fields as record_fields
from pjsh.runtime.convert import to_string

if TYPE_CHECKING:
    from pjsh.jobs.process import NativePipeline, ProcessBackend
    from pjsh.jobs.thread import JobWriter, ThreadBackend
    from pjsh.jobs.workers import WorkerBackend
    from pjsh.runtime.binder import BindResult, CommandBinder
    from pjsh.runtime.cmdlet import Cmdlet
    from pjsh.runtime.interpreter import Frame, Interpreter
    from pjsh.runtime.pipeline import PipelineRunner, Stage
    from pjsh.runtime.runspace import Runspace, RunspaceOptions
    from pjsh.runtime.scopes import Scope
    from pjsh.runtime.scriptblock import ScriptBlock
    from pjsh.runtime.session import Session

# -AsJob jobs are not held back by Start-ThreadJob's session-wide throttle (PowerShell's -AsJob
# jobs are not ThreadJobs either): ten `Cmd -AsJob` calls run at once, as the Azure example
# expects. The bound only keeps a runaway loop from creating unbounded threads at once.
_ASJOB_CONCURRENCY = 256
# Start-ThreadJob's default -ThrottleLimit (the ThreadJob module's).
_THREAD_THROTTLE = 5

# Variables `&` never copies into a job (PowerShell's exception list, plus $?).
_NOT_COPIED = frozenset({"pid", "psversiontable", "psedition", "pshome", "host", "true", "false",
                         "null", "?", "args", "input", "error", "lastexitcode", "pwd", "home"})


def iter_nodes(node: object) -> Iterator[ast.Node]:
    """Every AST node under ``node`` (depth first)."""
    stack: list[object] = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, ast.Node):
            yield cur
            for f in record_fields(cur):
                stack.append(getattr(cur, f.name))
        elif isinstance(cur, (list, tuple)):
            stack.extend(cur)


class JobService:
    """Creates and tracks the jobs of one session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.manager = JobManager()
        # The backends, each built on first use and registered with the manager then (a
        # script that starts no job imports none of them).
        self._workers: WorkerBackend | None = None
        self._asjob: ThreadBackend | None = None
        self._process: ProcessBackend | None = None
        self._threads: ThreadBackend | None = None
        self._lock = threading.Lock()
        # Receive-Job's memory between calls: how far into a job's next native chunk it has
        # output (a line the job has only half written stays in the job), and the failed jobs
        # whose Reason was already reported.
        self.positions: weakref.WeakKeyDictionary[Job, Any] = weakref.WeakKeyDictionary()
        self.reported_failures: weakref.WeakSet[Job] = weakref.WeakSet()

    @property
    def workers(self) -> WorkerBackend:
        """The worker-process backend, with a spare worker warming up."""
        with self._lock:
            if self._workers is None:
                from pjsh.jobs.workers import WorkerBackend

                self._workers = WorkerBackend(
                    self.manager, stop_grace=self.manager.stop_grace,
                    command_modules=self.session.registry.modules,
                    command_manifest=self.session.registry.manifest)
                self.manager.register_backend("worker", self._workers)
                self._workers.warm()
            return self._workers

    @property
    def process_backend(self) -> ProcessBackend:
        """The native-process backend (a BackgroundJob of native commands only)."""
        with self._lock:
            if self._process is None:
                from pjsh.jobs.process import ProcessBackend

                self._process = ProcessBackend(self.manager, stop_grace=self.manager.stop_grace)
                self.manager.register_backend("process", self._process)
            return self._process

    @property
    def thread_backend(self) -> ThreadBackend:
        """The thread backend of Start-ThreadJob (session-wide throttle limit)."""
        with self._lock:
            if self._threads is None:
                from pjsh.jobs.thread import ThreadBackend

                self._threads = ThreadBackend(self.manager, throttle_limit=_THREAD_THROTTLE)
                self.manager.register_backend("thread", self._threads)
            return self._threads

    @property
    def asjob_backend(self) -> ThreadBackend:
        """The thread backend for ``-AsJob`` (its own, unthrottled in practice)."""
        with self._lock:
            if self._asjob is None:
                from pjsh.jobs.thread import ThreadBackend

                self._asjob = ThreadBackend(self.manager, throttle_limit=_ASJOB_CONCURRENCY)
                self.manager.register_backend("asjob", self._asjob)
            return self._asjob

    def job_options(self) -> RunspaceOptions:
        """Options for an in-process job's runspace: the caller's, at its current directory
        and environment (the host, stop token and stdin are the job's own)."""
        from pjsh.runtime.runspace import RunspaceOptions

        base = self.session.options
        if base is None:  # a session built without the factory (unit tests of a session)
            base = RunspaceOptions(host=self.session.host, registry=self.session.registry)
        return base.derive(cwd=self.session.cwd, env=dict(self.session.env),
                           registry=self.session.registry)

    def prewarm(self) -> None:
        """Start the spare worker now (the console does this at start-up)."""
        _ = self.workers

    # ---- native-only detection -------------------------------------------------------------
    def native_pipeline(self, body: ast.ScriptBlockBody, interp: Interpreter, frame: Frame,
                        cwd: str, copy_caller_vars: bool) -> NativePipeline | None:
        """If the block is one pipeline of native commands with simple arguments, build the
        argv pipeline to run directly; else None (it needs a worker)."""
        if body.params or body.begin or body.process or body.end or len(body.statements) != 1:
            return None
        stmt = body.statements[0]
        if isinstance(stmt, ast.PipelineChain):
            if stmt.rest or stmt.background:
                return None
            pipeline = stmt.first
        elif isinstance(stmt, ast.Pipeline):
            pipeline = stmt
        else:
            return None
        from pjsh.jobs.process import NativePipeline

        commands: list[tuple[str, ...]] = []
        stdout_path: str | None = None
        stdout_append = False
        stderr_path: str | None = None
        stderr_append = False
        runner = interp.pipelines
        session = self.session
        # Executables found while choosing this path, handed on when the start would search
        # the same PATH from the same directory and find the same file.
        found: list[str] | None = [] if cwd == session.cwd else None
        for i, el in enumerate(pipeline.elements):
            if not isinstance(el, ast.Command) or el.invocation is not None:
                return None
            if not isinstance(el.name, ast.Constant) or not isinstance(el.name.value, str):
                return None
            kind, target = runner.resolve(el.name.value)
            # A name that is nothing at all runs as a native too: the job then fails at once
            # with PowerShell's "is not recognized" reason instead of starting a worker.
            if kind not in ("native", "missing"):
                return None
            for r in el.redirections:
                last = i == len(pipeline.elements) - 1
                if r.merge_to is not None or r.target is None or not last:
                    return None
                if not self._simple(r.target, copy_caller_vars):
                    return None
                path = to_string(interp.eval(r.target, frame))
                path = os.path.join(cwd, os.path.expanduser(path))
                if r.stream == "1":
                    stdout_path, stdout_append = path, r.append
                elif r.stream == "2":
                    stderr_path, stderr_append = path, r.append
                else:
                    return None
            for part in el.elements:
                value = part.argument if isinstance(part, ast.CommandParameter) else part.value
                if value is not None and not self._simple(value, copy_caller_vars):
                    return None
            argv = runner.native_argv(el, frame)
            name = el.name.value
            commands.append((name, *argv))
            if found is not None:
                low = name.lower()
                if kind == "native" and isinstance(target, str) and os.path.isabs(target) \
                        and not name.startswith("~") and low not in session.aliases \
                        and low not in session.registry.aliases:
                    found.append(target)
                else:
                    found = None
        if not commands:
            return None
        return NativePipeline(tuple(commands), cwd=cwd, env=dict(session.env),
                              stdout_path=stdout_path, stdout_append=stdout_append,
                              stderr_path=stderr_path, stderr_append=stderr_append,
                              executables=tuple(found) if found is not None else None)

    @staticmethod
    def _simple(expr: ast.Expr, copy_caller_vars: bool) -> bool:
        """Arguments that can be evaluated in the caller without side effects or scope change."""
        for node in iter_nodes(expr):
            if isinstance(node, (ast.Constant, ast.ExpandableString, ast.ArrayLiteral)):
                continue
            if isinstance(node, ast.Variable):
                if node.splat:
                    return False
                if node.scope == "using":
                    continue
                if copy_caller_vars and node.scope is None and node.name.lower() not in _NOT_COPIED:
                    continue
                return False
            return False
        return True

    # ---- starting jobs ------------------------------------------------------------------------
    def copied_variables(self, root: object, frame: Frame, interp: Interpreter | None = None,
                         implicit: bool = False) -> dict[str, object]:
        """The caller's variables a job's script refers to, copied by value.

        ``$using:x`` references arrive as ``using:x`` (only ``$using:x`` sees them, as in
        PowerShell); with ``implicit`` (the ``&`` operator) plain ``$x`` references that exist
        in the caller arrive as ``x`` and serve both spellings."""
        out: dict[str, object] = {}
        for node in iter_nodes(root):
            if not isinstance(node, ast.Variable) or node.scope not in (None, "using"):
                continue
            if node.scope is None and not implicit:
                continue
            low = node.name.lower()
            key = node.name if node.scope is None else "using:" + node.name
            # The exception list is for the implicit copy of `&`; an explicit $using:
            # (even $using:PID) always sends the caller's value.
            if key in out or (node.scope is None and low in _NOT_COPIED):
                continue
            found, value = frame.scope.lookup(node.name)
            if found:
                out[key] = value
            elif node.scope == "using" and interp is not None:
                # Automatic variables ($PID, $PWD, $HOME…) live in the interpreter.
                out[key] = interp.get_variable(frame, node.name, None)
        return out

    def start_script_job(self, block: ScriptBlock, interp: Interpreter, frame: Frame, *,
                         name: str | None, args: Sequence[object] = (),
                         input_items: Sequence[object] | None = None, cwd: str | None = None,
                         init: ScriptBlock | None = None, copy_caller_vars: bool = False,
                         command: str | None = None) -> Job:
        """Start a BackgroundJob for a script block (native-only → processes; else a worker)."""
        cwd = cwd or self.session.cwd
        text = command if command is not None else block.text
        if init is None and not args and input_items is None:
            native = self.native_pipeline(block.body, interp, frame, cwd, copy_caller_vars)
            if native is not None:
                backend = self.process_backend
                return backend.start_job(native, name=name, command=text)
        from pjsh.jobs.workers import WorkerRequest

        variables = self.copied_variables(block.body, frame, interp, implicit=copy_caller_vars)
        request = WorkerRequest(script=block.text, cwd=cwd, env=dict(self.session.env),
                                args=list(args),
                                input=list(input_items) if input_items is not None else None,
                                variables=variables, init=init.text if init is not None else None)
        job = self.workers.create_job(request, name=name, command=text)
        self.manager.start(job)
        return job

    def background(self, interp: Interpreter, chain: ast.PipelineChain, frame: Frame) -> Job:
        """The ``&`` operator: the chain runs as a BackgroundJob in the caller's directory,
        with the caller's variables copied by value."""
        from pjsh.runtime.scriptblock import ScriptBlock

        text = frame.source[chain.span.start:chain.span.end].rstrip()
        if text.endswith("&"):
            text = text[:-1].rstrip()
        inner = ast.PipelineChain(chain.span, chain.first, chain.rest, background=False)
        body = ast.ScriptBlockBody(chain.span, None, [inner])
        # The worker re-parses the text; native-only chains run directly from this AST.
        block = ScriptBlock(body, text, frame.source)
        return self.start_script_job(block, interp, frame, name=None, copy_caller_vars=True,
                                     command=text)

    def thread_job(self, block: ScriptBlock, *, name: str | None, args: Sequence[object],
                   input_items: Sequence[object] | None, init: ScriptBlock | None,
                   throttle_limit: int | None, variables: dict[str, object]) -> Job:
        """Start-ThreadJob: run in a fresh runspace on a thread of this process."""
        options = self.job_options()

        def target(writer: JobWriter) -> None:
            run_block_in_new_runspace(block, writer, options, args=args,
                                      input_items=input_items, init=init, variables=variables)

        return self.thread_backend.start_job(target, name=name, command=block.text,
                                                     throttle_limit=throttle_limit)

    def asjob_stage(self, runner: PipelineRunner, frame: Frame, node: ast.Command, name: str,
                    cls: type[Cmdlet], binder: CommandBinder, result: BindResult) -> Stage:
        """The pipeline stage for ``Cmdlet -AsJob``: collects input, then starts a thread job
        that runs the cmdlet with the same bound parameters and outputs the job."""
        from pjsh.runtime.pipeline import Stage

        service = self
        result.common.pop("AsJob", None)
        text = frame.source[node.span.start:node.span.end]

        class AsJobStage(Stage):
            def __init__(self) -> None:
                super().__init__(runner, frame, node, name)
                self.items: list[object] = []
                self.has_input = False

            def process(self, item: object) -> None:
                self.has_input = True
                self.items.append(item)

            def end(self) -> None:
                items = list(self.items) if self.has_input else None
                options = service.job_options()

                def target(writer: JobWriter) -> None:
                    run_cmdlet_in_new_runspace(cls, binder, result, node, name, writer, options,
                                               items)

                job = service.asjob_backend.start_job(target, name=None, command=text)
                self.out.send(job)

        return AsJobStage()

    def shutdown(self) -> None:
        """Stop every running job and its process tree; kill the spare worker."""
        self.manager.shutdown()


def _job_runspace(writer: JobWriter, options: RunspaceOptions) -> Runspace:
    """The runspace of an in-process job: its host writes to the job, Stop-Job's flag is its
    stop token (the interpreter checks it between statements, per loop iteration and per
    pipeline object), natives read /dev/null and get their own process group."""
    from pjsh.jobs.jobhost import JobHost
    from pjsh.runtime.runspace import DEVNULL, create_runspace

    return create_runspace(options.derive(
        host=JobHost(writer), interactive=False, stop_event=writer.stopping,
        native_stdin=DEVNULL, isolate_natives=True, script_args=()))


_NO_ITEM = object()  # run_block_in_new_runspace without $_


def run_block_in_new_runspace(block: ScriptBlock, writer: JobWriter, options: RunspaceOptions,
                              *, args: Sequence[object],
                              input_items: Sequence[object] | None, init: ScriptBlock | None,
                              variables: dict[str, object],
                              dollar_under: object = _NO_ITEM) -> None:
    """Run a script block as a thread job (with ``$_`` set when ``dollar_under`` is given:
    ForEach-Object -Parallel); a terminating error raises (the job fails)."""

    with _job_runspace(writer, options) as rs:
        _run_block(rs, block, writer, args, input_items, init, variables, dollar_under)


def _run_block(rs: Runspace, block: ScriptBlock, writer: JobWriter, args: Sequence[object],
               input_items: Sequence[object] | None, init: ScriptBlock | None,
               variables: dict[str, object], dollar_under: object = _NO_ITEM) -> None:
    from pjsh.runtime.errors import PSRuntimeError
    from pjsh.runtime.interpreter import _MISSING

    g = rs.session.global_scope
    install_copied_variables(g, variables)
    out = writer.output_sink()
    frame = rs.frame(block.source)
    try:
        if init is not None:
            rs.interp.invoke_block(init, rs.frame(init.source), [], new_scope=False, out=out)
        rs.interp.invoke_block(block, frame, list(args),
                               _MISSING if dollar_under is _NO_ITEM else dollar_under,
                               input_items=input_items, new_scope=False, out=out)
    except PSRuntimeError as e:
        writer.write_error(e.record)
        raise JobScriptFailed(e.record.message, e.record, in_stream=True) from None
    if rs.session.last_native_failure:
        raise JobScriptFailed(rs.session.last_native_failure)


def run_cmdlet_in_new_runspace(cls: type[Cmdlet], binder: CommandBinder, result: BindResult,
                               node: ast.Command, name: str, writer: JobWriter,
                               options: RunspaceOptions, items: list[object] | None) -> None:
    """Run one bound cmdlet as a thread job (``-AsJob``)."""
    with _job_runspace(writer, options) as rs:
        _run_cmdlet(rs, cls, binder, result, node, name, writer, items)


def _run_cmdlet(rs: Runspace, cls: type[Cmdlet], binder: CommandBinder, result: BindResult,
                node: ast.Command, name: str, writer: JobWriter,
                items: list[object] | None) -> None:
    from pjsh.runtime.errors import PSRuntimeError
    from pjsh.runtime.pipeline import CmdletStage
    from pjsh.runtime.streams import CallbackSink

    frame = rs.frame("")
    stage = CmdletStage(rs.interp.pipelines, frame, node, name, cls, binder, result)
    stage.out = CallbackSink(writer.write_output)
    try:
        stage.begin()
        if items is None:
            stage.process_no_input()
        else:
            for item in items:
                stage.process(item)
        stage.end()
    except PSRuntimeError as e:
        writer.write_error(e.record)
        raise JobScriptFailed(e.record.message, e.record, in_stream=True) from None


def install_copied_variables(scope: Scope, variables: dict[str, object]) -> None:
    """Put copied caller variables into a job's global scope (see copied_variables)."""
    for name, value in variables.items():
        scope.set(name, value)
        if not name.lower().startswith("using:"):
            scope.set("using:" + name, value)


__all__ = ["JobScriptFailed", "JobService", "Stream", "install_copied_variables", "iter_nodes"]
