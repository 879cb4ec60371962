"""Running a pipeline: resolving commands, binding, wiring stages, streams and redirections.

Stages are push-based like PowerShell's: the first stage produces, each object is handed to
the next stage's ``process`` at once, so output streams. Adjacent native commands form one
stage connected by OS pipes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pjsh.lang import ast
from pjsh.runtime import fastpath
from pjsh.runtime.binder import Argument, BindingError, BindResult, CommandBinder
from pjsh.runtime.cancel import CancelToken
from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandSpec, Param, Taken, bulk_strings
from pjsh.runtime.convert import OBJECT, SWITCH, TypeSpec, to_string
from pjsh.runtime.errors import (
    CallDepthOverflow,
    ErrorRecord,
    PipelineStoppedSignal,
    PSRuntimeError,
    StopUpstreamSignal,
    make_error,
)
from pjsh.runtime.fastcall import BlockInvoker
from pjsh.runtime.native import (
    LaunchRefused,
    LineSplitter,
    NativeGroup,
    NativeSpec,
    encode_text,
    expand_native_arg,
)
from pjsh.runtime.posix import Cancellable, find_executable, signal_name, terminate_group
from pjsh.runtime.scopes import Scope
from pjsh.runtime.scriptblock import ScriptBlock
from pjsh.runtime.streams import ByteSink, ListSink, NullSink, Sink, Streams
from pjsh.runtime.values import is_scalar

if TYPE_CHECKING:
    from pjsh.runtime.formatting import ViewTable
    from pjsh.runtime.interpreter import Frame, Interpreter

_MISSING = object()
_QUOTES = ("'", '"', "\u2018", "\u2019", "\u201c", "\u201d", "@")


class StageInput:
    """The sink that feeds one stage; marks the stage that asked upstream to stop.

    Begin blocks run first to last, as in PowerShell, so a stage's begin block may write
    before the next stage has begun (`ForEach-Object -Begin {"header"} | Sort-Object`). Such
    objects wait here and reach the stage, in order, as soon as its own begin has run.
    """

    native_fd: int | None = None

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.begun = False
        self.early: list[object] = []
        # The stage's per-object callable, once it has one (Stage.item_fn): what
        # ``stage.process`` does for each later object, without the binding.
        self.fast: Callable[[object], None] | None = None

    def open(self) -> None:
        """The stage has begun: deliver what arrived before, then pass objects straight on."""
        self.begun = True
        early, self.early = self.early, []
        for value in early:
            self.send(value)

    def send(self, value: object) -> None:
        fast = self.fast
        if fast is not None:
            # CancelToken.is_set() read as its flag: this runs per object and stage.
            if self.stage.interp.stop_event._set:
                raise PipelineStoppedSignal()
            try:
                fast(value)
            except StopUpstreamSignal as e:
                if getattr(e, "origin", None) is None:
                    e.origin = self.stage  # type: ignore[attr-defined]
                    self.stage.stopped_upstream = True
                raise
            return
        if not self.begun:
            self.early.append(value)
            return
        self.stage.interp.check_stop()
        try:
            self.stage.process(value)
            self.fast = self.stage.item_fn
        except StopUpstreamSignal as e:
            # The first input that sees the signal wraps the stage that raised it; outer
            # stages the signal merely passes through must not claim it.
            if getattr(e, "origin", None) is None:
                e.origin = self.stage  # type: ignore[attr-defined]
                self.stage.stopped_upstream = True
            raise

    def send_many(self, values: Sequence[object], taken: Taken) -> None:
        """Objects in order, as one ``send`` each would deliver them; a block of plain
        strings goes to a stage that takes blocks in one call."""
        if not self.begun:
            self.early.extend(values)
            taken.count += len(values)
            return
        stage = self.stage
        interp = stage.interp
        try:
            if isinstance(stage, CmdletStage) and stage.cls.bulk_parameter and bulk_strings(values):
                interp.check_stop()
                stage.process_many(values, taken)
                return
            process = stage.process
            for value in values:
                taken.count += 1
                interp.check_stop()
                process(value)
        except StopUpstreamSignal as e:
            if getattr(e, "origin", None) is None:
                e.origin = stage  # type: ignore[attr-defined]
                stage.stopped_upstream = True
            raise


class NativeStageInput(StageInput):
    """The input of a native stage: takes raw bytes too (a job's native output), which go to
    the program's stdin as they are, never decoded or split into lines."""

    def write_bytes(self, data: bytes) -> None:
        """Raw bytes for the native's stdin."""
        stage = self.stage
        assert isinstance(stage, NativeStage)
        stage.interp.check_stop()
        try:
            stage.feed_bytes(data)
        except StopUpstreamSignal as e:
            if getattr(e, "origin", None) is None:
                e.origin = stage  # type: ignore[attr-defined]
                stage.stopped_upstream = True
            raise


class FileSink:
    """Redirection target: objects are formatted to text and written to a file.

    A write that fails (a full disk, an I/O error: at a write or at the final flush) becomes
    ``on_error``'s PowerShell error, which ends the statement; the file is closed either way.
    """

    native_fd: int | None = None

    def __init__(self, path: str, append: bool, views: ViewTable,
                 on_error: Callable[[OSError], Exception]) -> None:
        from pjsh.runtime.formatting import Block, OutDefault, render_text

        self.path = path
        self.on_error = on_error
        self.failed = False
        self.fh = open(path, "a" if append else "w", encoding="utf-8",  # noqa: SIM115
                       errors="surrogateescape")
        def emit(blocks: list[Block]) -> None:
            self.fh.write(render_text(blocks, 120))

        self._out = OutDefault(emit, views)

    def _failure(self, e: OSError) -> Exception:
        self.failed = True
        return self.on_error(e)

    def send(self, value: object) -> None:
        try:
            if isinstance(value, ErrorRecord):
                self._out.add(value.describe())
                return
            if isinstance(value, str):
                self._out.flush()
                # A native line received without its newline (the last bytes of a job's
                # output) is written as it came, so a received file is byte-exact.
                self.fh.write(value if getattr(value, "eol", True) is False else value + "\n")
                return
            self._out.add(value)
        except OSError as e:
            raise self._failure(e) from None

    def write_bytes(self, data: bytes) -> None:
        """Raw native output (Receive-Job of native bytes): written exactly, no decoding."""
        try:
            self._out.flush()
            self.fh.flush()
            self.fh.buffer.write(data)
        except OSError as e:
            raise self._failure(e) from None

    def close(self) -> None:
        """Flush and close the file (closed even when the flush fails)."""
        try:
            if not self.failed:
                self._out.flush()
            self.fh.close()
        except OSError as e:
            with contextlib.suppress(OSError):
                self.fh.close()
            if not self.failed:  # the first failure is the one reported
                raise self._failure(e) from None


class Stage:
    """One element of a running pipeline."""

    def __init__(self, runner: PipelineRunner, frame: Frame, node: ast.PipelineElement,
                 name: str) -> None:
        self.runner = runner
        self.interp = runner.interp
        self.frame = frame
        self.node = node
        self.name = name
        self.out: Sink = NullSink()
        self.streams: Streams = frame.streams
        self.had_error = False
        self.stopped_upstream = False
        self.exit_code: int | None = None
        self.files: list[FileSink] = []
        self.stdout_file: tuple[str, bool] | None = None  # (path, append) for natives
        self.stderr_file: tuple[str, bool] | None = None
        self.merge_stderr = False
        # Set by a stage whose every later object needs only this call (see StageInput.fast).
        self.item_fn: Callable[[object], None] | None = None

    def begin(self) -> None:
        """Before any input."""

    def run_first(self) -> None:
        """Produce output as the first stage (no pipeline input)."""
        self.process_no_input()

    def process_no_input(self) -> None:
        """Run once without input."""

    def process(self, item: object) -> None:
        """Handle one input object."""

    def end(self) -> None:
        """After the last input."""

    def abort(self) -> None:
        """The pipeline stopped early: release processes."""

    def close_files(self) -> None:
        """Close redirection files: every one, then raise the first failure (a write error
        surfacing at the last flush)."""
        failure: Exception | None = None
        for f in self.files:
            try:
                f.close()
            except Exception as e:
                failure = failure or e
        self.files.clear()
        if failure is not None:
            raise failure


class ExpressionStage(Stage):
    """An expression as the first pipeline element."""

    def run_first(self) -> None:
        assert isinstance(self.node, ast.CommandExpression)
        expr = self.node.expr
        if isinstance(expr, ast.Variable) and self.interp.holds_nothing(expr, self.frame):
            return  # AutomationNull enumerates as nothing: @($r) is empty, `$r | f` runs f on none
        numbers = self.interp.lazy_range(expr, self.frame)
        if numbers is not None:
            for n in numbers:
                self.out.send(n)
            return
        value = self.interp.eval(expr, self.frame)
        if isinstance(expr, ast.UnaryOp) and expr.op in ("++", "--"):
            return  # `$i++` as a statement outputs nothing
        if isinstance(expr, ast.MethodCall) and value is None:
            return  # a void method (`$h.Add(1, 2)`) writes nothing to the pipeline
        if isinstance(value, list):
            for item in value:
                self.out.send(item)
        else:
            self.out.send(value)

    def process(self, item: object) -> None:
        raise self.interp.fail(self.frame, self.node,
                               "Expressions are only allowed as the first element of a pipeline.",
                               "ExpressionsMustBeFirstInPipeline", "ParserError")


class CmdletContext:
    """The CommandContext a built-in cmdlet writes to."""

    def __init__(self, stage: CmdletStage) -> None:
        self.stage = stage
        self.command_name = stage.name
        self.session = stage.interp.session
        self.common = stage.result.common
        self.out_var: list[object] | None = [] if "OutVariable" in self.common else None
        self.err_var: list[object] | None = [] if "ErrorVariable" in self.common else None
        self.warn_var: list[object] | None = [] if "WarningVariable" in self.common else None
        self.info_var: list[object] | None = [] if "InformationVariable" in self.common else None
        pv = self.common.get("PipelineVariable")
        self.pipeline_var: str | None = to_string(pv) if pv else None
        self._forwarder: _OutputForwarder | None = None  # one per command, not per call
        # Per script block called with $_ per object: its BlockInvoker (frame made once).
        self._invokers: dict[int, tuple[ScriptBlock, BlockInvoker]] = {}

    def common_parameter(self, name: str) -> object:
        """The value of a common parameter given to this cmdlet (None if not given)."""
        return self.common.get(name)

    def caller(self) -> tuple[Interpreter, Frame]:
        """The interpreter and frame running this cmdlet."""
        return self.stage.interp, self.stage.frame

    def byte_writer(self) -> Callable[[bytes], None] | None:
        """Where raw bytes may go straight downstream: a file redirection's writer, unless
        something needs the output as objects (-OutVariable)."""
        sink = self.stage.out
        if self.out_var is not None or not isinstance(sink, ByteSink):
            return None
        return sink.write_bytes

    def write_many(self, values: Sequence[object], taken: Taken) -> None:
        """``write_output`` of each value, in one call to a next stage that takes blocks
        (pjsh.runtime.cmdlet.write_all); ``taken`` counts the values delivered."""
        send_many = getattr(self.stage.out, "send_many", None)
        if send_many is None or self.out_var is not None or self.pipeline_var is not None:
            write = self.write_output
            for value in values:
                taken.count += 1
                write(value)
            return
        send_many(values, taken)

    def _pref(self, common_name: str, var: str, default: str) -> str:
        if common_name in self.common:
            return to_string(self.common[common_name])
        if common_name == "VerboseSwitch":
            return default
        value = self.stage.interp.get_variable(self.stage.frame, var, None)
        return to_string(value) if value is not None else default

    def write_output(self, value: object) -> None:
        if self.out_var is not None:
            self.out_var.append(value)
        if self.pipeline_var is not None:
            # -PipelineVariable: later commands of this pipeline see the current object.
            self.stage.interp.set_variable(self.stage.frame, self.pipeline_var, value)
        self.stage.out.send(value)

    def write_error(self, record: ErrorRecord) -> None:
        if not record.InvocationInfo.MyCommand:
            record.InvocationInfo.MyCommand = self.command_name
        self.stage.had_error = True
        action = self._pref("ErrorAction", "ErrorActionPreference", "Continue").lower()
        if action == "ignore":
            return
        if self.err_var is not None:
            self.err_var.append(record)
        if action == "stop":
            from pjsh.runtime.interpreter import PSRuntimeFailure
            raise PSRuntimeFailure(record, script_terminating=True)
        self.session.record_error(record)
        if action != "silentlycontinue":
            self.stage.interp.errors_written += 1
            self.stage.streams.write_error(record)

    def write_warning(self, text: str) -> None:
        action = self._pref("WarningAction", "WarningPreference", "Continue").lower()
        if action in ("ignore",):
            return
        if self.warn_var is not None:
            self.warn_var.append(text)
        if action == "stop":
            from pjsh.runtime.interpreter import PSRuntimeFailure

            raise PSRuntimeFailure(self.error(
                f"The running command stopped because the preference variable "
                f'"WarningPreference" or common parameter is set to Stop: {text}',
                "ActionPreferenceStop", "OperationStopped",
                exception_type="System.Management.Automation.ActionPreferenceStopException"),
                script_terminating=True)
        if action != "silentlycontinue":
            self.stage.streams.write_warning(text)

    def write_verbose(self, text: str) -> None:
        if "Verbose" in self.common:
            on = bool(self.common["Verbose"])
        else:
            on = self._pref("", "VerbosePreference", "SilentlyContinue").lower() != \
                "silentlycontinue"
        if on:
            self.stage.streams.write_verbose(text)

    def write_debug(self, text: str) -> None:
        if "Debug" in self.common:
            on = bool(self.common["Debug"])
        else:
            on = self._pref("", "DebugPreference", "SilentlyContinue").lower() != "silentlycontinue"
        if on:
            self.stage.streams.write_debug(text)

    def write_information(self, value: object, tags: Sequence[str] = ()) -> None:
        if self.info_var is not None:
            self.info_var.append(value)
        action = self._pref("InformationAction", "InformationPreference",
                            "SilentlyContinue").lower()
        if action in ("silentlycontinue", "ignore"):
            return
        self.stage.streams.write_information(value)

    def write_progress(self, record: object) -> None:
        action = self._pref("ProgressAction", "ProgressPreference", "Continue").lower()
        if action in ("silentlycontinue", "ignore"):
            return
        self.stage.streams.write_progress(record)

    def write_host(self, text: str, newline: bool = True, fg: str | None = None,
                   bg: str | None = None) -> None:
        if self.info_var is not None:
            self.info_var.append(text)
        action = self._pref("InformationAction", "InformationPreference", "Continue").lower()
        if "InformationAction" in self.common and action in ("silentlycontinue", "ignore"):
            return
        self.stage.streams.write_host(text, newline, fg, bg)

    def error(self, message: str, error_id: str, category: str = "NotSpecified",
              target: object = None,
              exception_type: str = "System.Management.Automation.RuntimeException",
              ) -> ErrorRecord:
        command = self.command_name
        if command == "Write-Error" and self.stage.frame.command:
            # Write-Error reports on behalf of the function that called it (`f: message`).
            command = self.stage.frame.command
        # In a script, the record points at this command's place in the source.
        return self.stage.interp.error_at(self.stage.frame, self.stage.node.span, message,
                                          error_id, category, exception_type, target=target,
                                          command=command)

    def throw(self, message: str, error_id: str, category: str = "NotSpecified",
              target: object = None,
              exception_type: str = "System.Management.Automation.RuntimeException",
              ) -> None:
        from pjsh.runtime.interpreter import PSRuntimeFailure

        raise PSRuntimeFailure(self.error(message, error_id, category, target, exception_type))

    def invoke(self, block: ScriptBlock, args: Sequence[object] = (),
               dollar_under: object = _MISSING, input: Sequence[object] | None = None,
               ) -> list[object]:
        """Run a script block in the caller's scope (as ForEach-Object does) and collect."""
        if fastpath.ENABLED and not args and input is None and dollar_under is not _MISSING \
                and dollar_under is not ...:
            sink = ListSink()
            self._invoker(block)(dollar_under, sink)
            return sink.items
        from pjsh.runtime.interpreter import _MISSING as IM

        return self.stage.interp.invoke_block(
            block, self.stage.frame, list(args),
            IM if dollar_under is _MISSING or dollar_under is ... else dollar_under,
            input, new_scope=False)

    def invoke_to_output(self, block: ScriptBlock, args: Sequence[object] = (),
                         dollar_under: object = _MISSING) -> None:
        """Run a script block in the caller's scope, streaming to this command's output."""
        forwarder = self._forwarder
        if forwarder is None:
            forwarder = self._forwarder = _OutputForwarder(self)
        if fastpath.ENABLED and not args and dollar_under is not _MISSING \
                and dollar_under is not ...:
            found = self._invokers.get(id(block))
            (found[1] if found is not None else self._invoker(block))(dollar_under, forwarder)
            return
        from pjsh.runtime.interpreter import _MISSING as IM

        self.stage.interp.invoke_block(
            block, self.stage.frame, list(args),
            IM if dollar_under is _MISSING or dollar_under is ... else dollar_under,
            None, new_scope=False, out=forwarder)

    def block_runner(self, block: ScriptBlock) -> Callable[[object], None] | None:
        """``invoke_to_output(block, dollar_under=item)`` as one callable of the item, the
        block's output going straight to the next stage when nothing else needs to see it
        (no -OutVariable, no -PipelineVariable); None with the fast paths off."""
        if not fastpath.ENABLED:
            return None
        from pjsh.runtime.fastpipe import block_item_runner

        out: Sink
        if self.out_var is None and self.pipeline_var is None:
            out = self.stage.out
        else:
            forwarder = self._forwarder or _OutputForwarder(self)
            out = self._forwarder = forwarder
        return block_item_runner(self.stage.interp, self.stage.frame, block, out)

    def _invoker(self, block: ScriptBlock) -> BlockInvoker:
        """The block's BlockInvoker for this command (the block is kept with it, so its id
        stays its own)."""
        found = self._invokers.get(id(block))
        if found is None:
            found = self._invokers[id(block)] = (
                block, BlockInvoker(self.stage.interp, self.stage.frame, block))
        return found[1]

    @property
    def stopping(self) -> bool:
        return self.stage.interp.stop_event.is_set()

    @property
    def cancel(self) -> CancelToken:
        return self.stage.interp.stop_event

    def finish_variables(self) -> None:
        """Store -OutVariable/-ErrorVariable/... results."""
        interp, frame = self.stage.interp, self.stage.frame
        for common_name, values in (("OutVariable", self.out_var), ("ErrorVariable", self.err_var),
                                    ("WarningVariable", self.warn_var),
                                    ("InformationVariable", self.info_var)):
            if values is None:
                continue
            name = to_string(self.common[common_name])
            if name.startswith("+"):
                _, old = frame.scope.lookup(name[1:])
                base = list(old) if isinstance(old, list) else ([] if old is None else [old])
                interp.set_variable(frame, name[1:], base + values)
            else:
                interp.set_variable(frame, name, list(values))


class _OutputForwarder:
    native_fd: int | None = None

    def __init__(self, ctx: CmdletContext) -> None:
        self.ctx = ctx

    def send(self, value: object) -> None:
        self.ctx.write_output(value)


class CmdletStage(Stage):
    """A built-in cmdlet."""

    def __init__(self, runner: PipelineRunner, frame: Frame, node: ast.Command, name: str,
                 cls: type[Cmdlet], binder: CommandBinder, result: BindResult) -> None:
        super().__init__(runner, frame, node, name)
        self.cls = cls
        self.binder = binder
        self.result = result
        self.ctx: CmdletContext | None = None
        self.cmd: Cmdlet | None = None
        self.cmdline_bound: Bound | None = None
        self.got_input = False
        self.asked_item_fn = False

    def begin(self) -> None:
        self.ctx = CmdletContext(self)
        self.cmd = self.cls(self.ctx)
        sets = self.result.candidate_sets
        self.cmdline_bound = self.result.bound(sets[0] if sets else "", self.cls.args_type)
        self.cmd.begin(self.cmdline_bound)

    def process_no_input(self) -> None:
        assert self.cmd is not None and self.cmdline_bound is not None
        self.cmd.process(self.cmdline_bound)

    def process(self, item: object) -> None:
        assert self.cmd is not None and self.ctx is not None
        self.got_input = True
        try:
            bound = self.binder.bind_pipeline(self.result, item)
        except BindingError as e:
            record = make_error(e.message, e.error_id + "," + self.cls.__name__, e.category,
                                target=item, command=self.name,
                                exception_type="System.Management.Automation.ParameterBindingException")
            self.ctx.write_error(record)
            return
        self.cmd.process(bound)
        if not self.asked_item_fn:
            self.asked_item_fn = True
            plan = self.result.plan
            if fastpath.ENABLED and plan is not None and plan.direct is not None:
                # Every later object binds as this one did, the object aside.
                self.item_fn = self.cmd.item_processor(bound)

    def process_many(self, values: Sequence[object], taken: Taken) -> None:
        """A block of plain strings: bound once (for the first), then handed to the
        cmdlet's ``process_many`` when each string binds alone to its bulk parameter, as
        it is; otherwise one by one."""
        assert self.cmd is not None
        name = self.cls.bulk_parameter
        first = values[0] if values else None
        bound: Bound | None = None
        if name is not None and first is not None:
            try:
                bound = self.binder.bind_pipeline(self.result, first)
            except BindingError:
                bound = None
        if (name is None or bound is None or bound.get(name) is not first
                or bound.explicit_names() - self.result.explicit != {name}):
            for value in values:
                taken.count += 1
                self.process(value)
            return
        self.got_input = True
        self.cmd.process_many(bound, values, taken)

    def end(self) -> None:
        assert self.cmd is not None and self.cmdline_bound is not None and self.ctx is not None
        self.cmd.end(self.cmdline_bound)
        self.ctx.finish_variables()


class ScriptStage(Stage):
    """A function, filter or script block invoked as a command."""

    def __init__(self, runner: PipelineRunner, frame: Frame, node: ast.Command, name: str,
                 block: ScriptBlock, is_filter: bool, args: list[Argument],
                 dot_source: bool = False) -> None:
        super().__init__(runner, frame, node, name)
        self.block = block
        self.is_filter = is_filter
        self.args = args
        self.dot_source = dot_source
        self.inputs: list[object] = []
        scope = frame.scope if dot_source else Scope(frame.scope)
        self.inner = type(frame)(scope, frame.streams, block.source or frame.source, frame.origin,
                        command=name or frame.command)
        self.bound_result: BindResult | None = None
        self.binder: CommandBinder | None = None

    def bind(self) -> None:
        """Bind command-line arguments to the block's param() (or $args)."""
        assert isinstance(self.node, ast.Command)
        self.binder, self.bound_result = bind_script_arguments(
            self.interp, self.frame, self.node, self.name, self.block.body, self.args,
            self.inner, has_pipeline_input=self.index > 0)

    index = 0

    def _run(self, block: ast.StatementBlock | None, statements: Sequence[ast.Statement] | None,
             dollar_under: object = _MISSING) -> None:
        from pjsh.runtime.errors import ReturnSignal

        if dollar_under is not _MISSING:
            self.inner.scope.set("_", dollar_under)
            self.inner.scope.set("PSItem", dollar_under)
        stmts = block.statements if block is not None else (statements or [])
        errors_before = self.interp.errors_written
        self.interp.call_depth += 1
        try:
            if self.interp.call_depth > 500:
                raise CallDepthOverflow
            self.interp.exec_statements(stmts, self.inner, self.out)
        except ReturnSignal:
            pass
        finally:
            self.interp.call_depth -= 1
            if self.interp.errors_written != errors_before:
                self.had_error = True

    def begin(self) -> None:
        # Redirections of this element (`f *> file`) apply to everything the body writes.
        self.inner.streams = self.streams
        self.bind()
        body = self.block.body
        if body.begin is not None:
            self._run(body.begin, None)

    def process_no_input(self) -> None:
        body = self.block.body
        if self.is_filter:
            self._run(None, body.statements, None)
        elif body.process is not None:
            self._run(body.process, None, None)

    def process(self, item: object) -> None:
        body = self.block.body
        if self.binder is not None and self.bound_result is not None and \
                self.bound_result.expects_pipeline:
            try:
                bound = self.binder.bind_pipeline(self.bound_result, item)
                params = body.params or []
                for d in params:
                    if d.name in bound:
                        self.inner.scope.set(d.name, bound.get(d.name))
            except BindingError:
                pass
        if self.is_filter:
            self._run(None, body.statements, item)
        elif body.process is not None:
            self._run(body.process, None, item)
        else:
            self.inputs.append(item)

    def end(self) -> None:
        body = self.block.body
        if self.is_filter:
            return
        if body.end is not None or (body.begin is None and body.process is None):
            self.inner.scope.set("input", list(self.inputs))
            self._run(body.end, body.statements if body.end is None else None)


def bind_script_arguments(interp: Interpreter, frame: Frame, node: ast.Command, name: str,
                          body: ast.ScriptBlockBody, args: list[Argument], inner: Frame,
                          has_pipeline_input: bool,
                          ) -> tuple[CommandBinder | None, BindResult | None]:
    """Bind a script's command-line arguments into its scope (``inner``): its param() through
    the binder, or $args when it has none. A binding failure is a statement error at the
    argument (``frame`` is the caller's). Shared by ScriptStage and the compiled call."""
    params = body.params
    scope = inner.scope
    if params is None:
        raw: list[object] = []
        for a in args:
            if a.name is not None:
                raw.append("-" + a.name + (":" if a.has_value else ""))
                if a.has_value:
                    raw[-1] = to_string(raw[-1]) + to_string(a.value)
            elif not a.end_of_params:
                raw.append(a.value)
        scope.set("args", raw)
        return None, None
    binder = script_binder(body, name, params)
    try:
        result = binder.bind(args, has_pipeline_input=has_pipeline_input)
    except BindingError as e:
        raise binding_failure(interp, frame, node, name, e) from None
    values, explicit = result.values, result.explicit
    for d in params:
        if d.name in explicit:
            scope.set(d.name, values.get(d.name))
        elif d.switch:
            scope.set(d.name, False)
        elif d.default is not None:
            scope.set(d.name, interp.eval(d.default, inner))
        else:
            scope.set(d.name, None)
    rest = values.get("__args") if "__args" in explicit else None
    scope.set("args", [] if rest is None else (list(rest) if isinstance(rest, list) else [rest]))
    return binder, result


def binding_failure(interp: Interpreter, frame: Frame, node: ast.Command, name: str,
                    e: BindingError) -> PSRuntimeError:
    """A script's binding failure as a statement error at the argument (``frame`` is the
    caller's)."""
    span = node.span
    if e.span_index is not None and e.span_index < len(node.elements):
        span = node.elements[e.span_index].span
    record = interp.error_at(
        frame, span, e.message, f"{e.error_id},{name or 'ScriptBlock'}",
        e.category, "System.Management.Automation.ParameterBindingException",
        command=name)
    from pjsh.runtime.interpreter import PSRuntimeFailure

    return PSRuntimeFailure(record)


def script_binder(body: ast.ScriptBlockBody, name: str,
                  params: list[ast.ParameterDecl]) -> CommandBinder:
    """The binder for a script's param(); with the fast paths on, made once per body and
    kept on it (a binder holds nothing of one call: it only caches what the spec implies)."""
    if fastpath.ENABLED:
        cached = body.__dict__.get("_c_binder")
        if isinstance(cached, CommandBinder):
            return cached
    binder = CommandBinder(script_spec(name, params))
    binder.common = {}
    binder.script_params = True
    if fastpath.ENABLED:
        body.__dict__["_c_binder"] = binder
    return binder


def _caster(type_name: str) -> Callable[[object], object]:
    """A converter that casts to a script parameter's declared type."""
    from pjsh.runtime.convert import ConversionError
    from pjsh.runtime.dotnet import TypeError_, cast

    def convert(value: object) -> object:
        try:
            return cast(type_name, value)
        except TypeError_ as e:  # an unknown type is a conversion failure for the binder
            raise ConversionError(e.message) from None
        except (ValueError, OverflowError) as e:
            raise ConversionError(str(e)) from None

    return convert


def script_spec(name: str, params: list[ast.ParameterDecl]) -> CommandSpec:
    """A CommandSpec for a script's param() so the one binder binds functions too."""
    out: list[Param] = []
    for d in params:
        if d.switch:
            t: TypeSpec = SWITCH
        elif d.type_name:
            t = TypeSpec(d.type_name, _caster(d.type_name))
        else:
            t = OBJECT
        out.append(Param(d.name, t, position=d.position, mandatory=d.mandatory,
                         pipeline=d.from_pipeline, pipeline_by_name=d.from_pipeline_by_name))
    out.append(Param("__args", OBJECT, remaining=True))
    return CommandSpec(name, tuple(out), supports_as_job=False)


class NativeStage(Stage):
    """One or more adjacent native commands, connected by OS pipes."""

    def __init__(self, runner: PipelineRunner, frame: Frame, node: ast.Command,
                 specs: list[NativeSpec], members: list[Stage]) -> None:
        super().__init__(runner, frame, node, specs[-1].display)
        self.specs = specs
        self.members = members  # per-command redirection info
        self.group: NativeGroup | None = None
        self.first = False
        self.last_in_pipeline = False
        self._fds: list[int] = []
        self._formatter: object = None
        self._err_split: LineSplitter | None = None
        self._stop_token: int | None = None  # the stop callback on the interpreter's token
        self._stop_kill: Cancellable | None = None  # the pending SIGKILL after a stop
        self._terminal = False  # lent the console's terminal (job control)
        # Text for the native's stdin is written in blocks, not one write() per object.
        self._input = bytearray()
        self._last_feed = 0.0
        self._idle_token: int | None = None
        self._thread = 0  # the thread running this pipeline (idle flushes happen only there)

    def _open(self, path: str, append: bool) -> int:
        """Open a redirection target; the native writes to it directly (no bytes via Python)."""
        if path != os.devnull:
            self.interp.check_writable(self.frame, self.node, path)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        try:
            fd = os.open(path, flags, 0o666)
        except OSError as e:
            for opened in self._fds:
                os.close(opened)
            self._fds.clear()
            raise self.interp.file_error(self.frame, self.node, path, e) from None
        self._fds.append(fd)
        return fd

    def begin(self) -> None:
        session = self.interp.session
        stdin: int | None = session.native_stdin if self.first else -1  # -1 → PIPE
        last = self.members[-1]
        stdout: int | None
        on_stdout: Callable[[bytes], None] | None = None
        if last.stdout_file is not None:
            path, append = last.stdout_file
            stdout = self._open(path, append) if path != os.devnull else self._open(os.devnull,
                                                                                    False)
        elif self.last_in_pipeline and getattr(self.out, "native_fd", None) is not None:
            stdout = getattr(self.out, "native_fd", None)
        elif self.last_in_pipeline and isinstance(self.out, ByteSink):
            # A sink that keeps bytes (a thread job's output): the program's bytes go there
            # as they are, never split into lines or decoded (CR, NUL, no final newline…).
            stdout = -1
            write_bytes = self.out.write_bytes

            def on_stdout(chunk: bytes) -> None:
                if chunk:
                    write_bytes(chunk)
        else:
            stdout = -1
            on_stdout = LineSplitter(self.out.send)
        stderrs: list[int | None] = []
        merges: list[bool] = []
        capture_err = False
        for m in self.members:
            merges.append(m.merge_stderr)
            if m.stderr_file is not None:
                stderrs.append(self._open(*m.stderr_file))
            elif self.streams.native_err_fd is not None:
                stderrs.append(self.streams.native_err_fd)
            elif self.streams.error is None and session.host.native_stdio()[1] is not None:
                stderrs.append(session.host.native_stdio()[1])
            else:
                stderrs.append(-1)
                capture_err = True
        if capture_err:
            self._err_split = LineSplitter(self._stderr_line)
        session.host.flush()
        import subprocess

        def pipe(v: int | None) -> int | None:
            return subprocess.PIPE if v == -1 else v

        # Job control: a pipeline of natives alone, reading and writing the terminal (or
        # files), runs in its own process group and is lent the terminal (pjsh.jobs.tty).
        self._terminal = (session.terminal is not None and not session.isolate_natives
                          and self.first and self.last_in_pipeline and stdin is None
                          and stdout != -1 and not capture_err)
        try:
            self.group = NativeGroup(
                self.specs, session.cwd, session.env, pipe(stdin), pipe(stdout),
                [pipe(e) for e in stderrs], merges, on_stdout=on_stdout,
                on_stderr=self._err_split,
                new_group=session.isolate_natives or self._terminal,
                detached=session.isolate_natives)
            if session.isolate_natives:
                self._watch_stop()
            if not self.first:
                # A producer about to block (Start-Sleep, Get-Content -Wait, Receive-Job
                # -Wait) first hands over what is buffered for this native.
                self._thread = threading.get_ident()
                self._idle_token = self.interp.stop_event.add_idle(self._on_idle)
        except LaunchRefused as e:
            for fd in self._fds:
                os.close(fd)
            self._fds.clear()
            raise self.interp.fail(self.frame, self.node,
                                   f"Program '{self.specs[e.stage].display}' failed to run: {e}",
                                   "NativeCommandFailed", "InvalidArgument") from None
        except PermissionError as e:
            raise self.interp.fail(self.frame, self.node,
                                   f"Program '{self.specs[0].display}' failed to run: {e.strerror}.",
                                   "NativeCommandFailed", "ResourceUnavailable") from None
        except OSError as e:
            raise self.interp.fail(self.frame, self.node,
                                   f"Program '{self.specs[0].display}' failed to run: {e}.",
                                   "NativeCommandFailed", "ResourceUnavailable") from None

    def _watch_stop(self) -> None:
        """In a job's runspace a stop request ends the natives too: their group gets
        SIGTERM at once (and SIGKILL after a grace), which unblocks the reads here."""
        group = self.group
        if group is None or not group.procs:
            return
        leader = group.procs[0]
        token = self.interp.stop_event
        done = threading.Lock()  # the group is terminated once, by whichever path comes first

        def stop() -> None:
            # Runs in whatever thread set the token: only signals, and a timer thread for
            # the SIGKILL. Called off once the leader is reaped (its id may be reused then).
            if not done.acquire(blocking=False):
                return
            self._stop_kill = terminate_group(leader.pid, _NATIVE_STOP_GRACE,
                                              still_ours=lambda: leader.returncode is None)

        self._stop_token = token.add_callback(stop)
        if token.is_set():
            # The stop came while the natives were being started (a job stopped as it
            # reached them, pjsh leaving): set() ran before our callback was there.
            stop()

    def _on_idle(self) -> None:
        if threading.get_ident() != self._thread:
            return  # another thread waiting on the same token: not ours to write from
        with contextlib.suppress(StopUpstreamSignal):  # seen at the next object
            self._flush_input()

    def _unwatch_stop(self) -> None:
        idle = self._idle_token
        if idle is not None:
            self.interp.stop_event.remove_idle(idle)
            self._idle_token = None
        token = self._stop_token
        if token is not None:
            self.interp.stop_event.remove_callback(token)
            self._stop_token = None
        kill = self._stop_kill
        if kill is not None:
            kill.cancel()
            self._stop_kill = None

    def _stderr_line(self, line: str) -> None:
        record = make_error(line, "NativeCommandError", "NotSpecified", target=line,
                            exception_type="System.Management.Automation.RemoteException")
        self.streams.write_error(record)

    def process(self, item: object) -> None:
        assert self.group is not None
        if isinstance(item, str) or is_scalar(item):
            self._flush_formatter()
            self._buffer(encode_text(to_string(item) + "\n"))
            return
        # Objects become the text Out-String would make of the whole run of them (one table
        # header for many rows), so the formatter is shared across items.
        from pjsh.runtime.formatting import OutDefault, render_text

        if self._formatter is None:
            self._formatter = OutDefault(
                lambda blocks: self._buffer(encode_text(render_text(blocks, 120))),
                self.interp.session.registry.views)
        assert isinstance(self._formatter, OutDefault)
        self._formatter.add(item)

    def _buffer(self, data: bytes) -> None:
        """Queue text for the native's stdin; written once a block is full, or at once when
        the last write was a while ago (a slow producer's lines are not held back)."""
        self._input += data
        if len(self._input) >= _FEED_BLOCK or \
                time.monotonic() - self._last_feed >= _FEED_LATENCY:
            self._flush_input()

    def _flush_input(self) -> None:
        """Write what is buffered; StopUpstreamSignal once the native no longer reads its
        stdin (it exited, as `head` does): the producers upstream are stopped, as SIGPIPE
        stops them in bash."""
        group = self.group
        if group is None:
            return
        if self._input:
            data, self._input = self._input, bytearray()
            group.feed(data)
            self._last_feed = time.monotonic()
        if group.stdin_broken:
            raise StopUpstreamSignal()

    def feed_bytes(self, data: bytes) -> None:
        """Raw bytes (a job's native output) straight to the native's stdin, in order after
        any text queued before them."""
        self._flush_formatter()
        if len(self._input) + len(data) < _FEED_BLOCK:
            self._buffer(data)
            return
        self._flush_input()
        assert self.group is not None
        self.group.feed(data)
        self._last_feed = time.monotonic()
        if self.group.stdin_broken:
            raise StopUpstreamSignal()

    def _flush_formatter(self) -> None:
        if self._formatter is not None:
            from pjsh.runtime.formatting import OutDefault

            assert isinstance(self._formatter, OutDefault)
            self._formatter.flush()

    def end(self) -> None:
        assert self.group is not None
        self._flush_formatter()
        with contextlib.suppress(StopUpstreamSignal):  # nothing is upstream any more
            self._flush_input()
        terminal = self.interp.session.terminal
        try:
            if self._terminal and terminal is not None:
                command = " | ".join(" ".join(spec.argv) for spec in self.specs)
                # The host steps aside (progress bar, any prompt) while the group owns the
                # terminal; the terminal owner does the process-group hand-over itself.
                with self.interp.session.host.terminal():
                    got = terminal.run_foreground(self.interp.session, self.group.procs,
                                                  command)
                if got is None:
                    # Suspended: it is a job now, which owns the processes.
                    self.group.procs = []
                    self.interp.session.last_exit_code = self.exit_code = 128 + signal.SIGTSTP
                    return
                codes = got
            else:
                codes = self.group.finish()
        finally:
            self._unwatch_stop()
            for fd in self._fds:
                os.close(fd)
            self._fds.clear()
        code = codes[-1]
        if code < 0:
            self.interp.session.last_exit_code = 128 - code
            self.exit_code = 128 - code
            self.had_error = True
            if -code not in (2, 13):  # SIGINT / SIGPIPE are the user's or normal
                self.streams.write_error(make_error(
                    f"Program '{self.specs[-1].display}' was terminated by signal "
                    f"{signal_name(-code)}.", "NativeCommandSignaled", "OperationStopped"))
        else:
            self.interp.session.last_exit_code = code
            self.exit_code = code
            self.had_error = code != 0

    def abort(self) -> None:
        self._unwatch_stop()
        self._input = bytearray()
        if self.group is not None:
            # Nobody wants the rest of the output: drop it instead of splitting it into lines.
            self.group.on_stdout = None
            self.group.kill()
            try:
                self.group.finish()
            except OSError:
                pass
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()


class PipelineRunner:
    """Builds and runs pipelines for an interpreter."""

    def __init__(self, interp: Interpreter) -> None:
        self.interp = interp

    # ---------------------------------------------------------------- building
    def evaluate_args(self, node: ast.Command, frame: Frame) -> list[Argument]:
        """Evaluate a command's elements into binder arguments (splatting expanded)."""
        from pjsh.runtime.values import Hashtable

        args: list[Argument] = []
        for i, el in enumerate(node.elements):
            if isinstance(el, ast.CommandParameter):
                if el.text == "--":
                    args.append(Argument(None, "--", True, "--", i, end_of_params=True))
                    continue
                if el.name == "" and el.argument is not None:
                    value = self.interp.eval(el.argument, frame)
                    args.append(Argument(None, value, True, el.text, i))
                    continue
                if el.argument is not None:
                    args.append(Argument(el.name, self.interp.eval(el.argument, frame), True,
                                         el.text, i))
                else:
                    args.append(Argument(el.name, None, False, el.text, i))
                continue
            value_node = el.value
            if isinstance(value_node, ast.Variable) and value_node.splat:
                value = self.interp.eval_Variable(
                    ast.Variable(value_node.span, value_node.name, value_node.scope), frame)
                if isinstance(value, Hashtable):
                    for k, v in value.items():
                        if v is True:
                            args.append(Argument(to_string(k), True, True, "-" + to_string(k), i))
                        else:
                            args.append(Argument(to_string(k), v, True, "-" + to_string(k), i))
                elif isinstance(value, list):
                    for v in value:
                        args.append(Argument(None, v, True, "", i))
                elif value is not None:
                    args.append(Argument(None, value, True, "", i))
                continue
            text = value_node.text if isinstance(value_node, ast.Constant) else ""
            args.append(Argument(None, self.interp.eval(value_node, frame), True, text, i))
        return args

    def native_argv(self, node: ast.Command, frame: Frame) -> list[str]:
        """Evaluate a native command's arguments into argv strings."""
        argv: list[str] = []
        cwd = self.interp.session.cwd
        for el in node.elements:
            if isinstance(el, ast.CommandParameter):
                if el.name == "" and el.argument is not None:
                    argv.extend(expand_native_arg(self.interp.eval(el.argument, frame), False, cwd))
                elif el.argument is not None:
                    value = self.interp.eval(el.argument, frame)
                    argv.append(el.text + to_string(value))
                else:
                    argv.append(el.text)
                continue
            v = el.value
            if isinstance(v, ast.Variable) and v.splat:
                value = self.interp.eval_Variable(ast.Variable(v.span, v.name, v.scope), frame)
                argv.extend(expand_native_arg(value, False, cwd))
                continue
            if isinstance(v, ast.ArrayLiteral):
                argv.extend(self.native_array_argument(v, frame))
                continue
            if isinstance(v, ast.Constant):
                quoted = v.text[:1] in ("'", '"', "\u2018", "\u2019", "\u201c", "\u201d", "@")
                if isinstance(v.value, (int, float)) and not isinstance(v.value, bool) and v.text:
                    argv.append(v.text)  # numbers keep their spelling (0x10 stays 0x10)
                    continue
                argv.extend(expand_native_arg(v.value, not quoted and "'" not in v.text
                                              and '"' not in v.text, cwd))
                continue
            argv.extend(expand_native_arg(self.interp.eval(v, frame), False, cwd))
        return argv

    def native_array_argument(self, node: ast.ArrayLiteral, frame: Frame) -> list[str]:
        """Argv for an array literal written as a native's argument.

        pwsh 7.3+ (NativeCommandParameterBinder, Standard argument passing) passes such an
        argument as its source text split at spaces, each piece globbed like a bareword:
        ``ps -eo pid,cmd`` gets one argument ``pid,cmd``, ``echo a, b`` gets ``a,`` and ``b``.
        That is done here when every element is an unquoted word or number. Otherwise
        (quoted strings, variables, expressions) pwsh would pass the source text verbatim,
        quotes and ``$`` included; pjsh passes one argument of the elements' values joined
        by commas instead, which is what the classic command line (Legacy passing) gave.
        """
        cwd = self.interp.session.cwd
        items = node.items
        if all(isinstance(i, ast.Constant) and i.text and i.text[:1] not in _QUOTES
               for i in items):
            text = frame.source[node.span.start:node.span.end]
            if "".join(text.split()).replace(",", "") == "".join(
                    i.text for i in items if isinstance(i, ast.Constant)):
                out: list[str] = []
                for piece in text.split():
                    out.extend(expand_native_arg(piece, True, cwd))
                return out
        value = self.interp.eval(node, frame)
        values = value if isinstance(value, list) else [value]
        return [",".join(to_string(v) for v in values if v is not None)]

    def resolve(self, name: str, frame: Frame | None = None) -> tuple[str, object]:
        """Find what a command name means: ('alias'→resolved), 'function', 'cmdlet', 'native',
        'script', or 'missing'."""
        session = self.interp.session
        low = name.lower()
        seen = 0
        while seen < 10:
            target = session.aliases.get(low) or session.registry.aliases.get(low)
            if target is None:
                break
            low = target.lower()
            name = target
            seen += 1
        fn = self.interp.find_function(frame, low)
        if fn is not None:
            return "function", fn
        cls = session.registry.commands.get(low)
        if cls is not None:
            return "cmdlet", cls
        path = (find_executable(name, session.env.get("PATH"), session.cwd)
                if self.interp.natives_enabled else None)
        if path is not None:
            if path.endswith(".ps1"):
                return "script", path
            return "native", path
        if name.endswith(".ps1"):
            full = session.resolve_path(name) if "/" in name else None
            if full and os.path.isfile(full):
                return "script", full
        return "missing", name

    def not_found(self, frame: Frame, node: ast.Node, name: str) -> PSRuntimeError:
        """The CommandNotFoundException error."""
        record = self.interp.error_at(
            frame, node.span,
            f"The term '{name}' is not recognized as a name of a cmdlet, function, script file, "
            "or executable program.\nCheck the spelling of the name, or if a path was included, "
            "verify that the path is correct and try again.",
            "CommandNotFoundException", "ObjectNotFound",
            "System.Management.Automation.CommandNotFoundException", target=name, command=name)
        from pjsh.runtime.interpreter import PSRuntimeFailure

        return PSRuntimeFailure(record)

    def build_stage(self, node: ast.PipelineElement, frame: Frame, index: int) -> Stage:
        """Resolve and bind one pipeline element."""
        if isinstance(node, ast.CommandExpression):
            return ExpressionStage(self, frame, node, "")
        assert isinstance(node, ast.Command)
        name_value: object
        if isinstance(node.name, ast.Constant):
            name_value = node.name.value
        else:
            name_value = self.interp.eval(node.name, frame)
        if isinstance(name_value, ScriptBlock):
            st = ScriptStage(self, frame, node, "", name_value, False,
                             self.evaluate_args(node, frame), dot_source=node.invocation == ".")
            st.index = index
            return st
        from pjsh.runtime.interpreter import FunctionInfo

        target: object
        if isinstance(name_value, FunctionInfo):
            kind, target = "function", name_value
            name = name_value.name
        else:
            name = to_string(name_value)
            if not name:
                raise self.interp.fail(frame, node,
                                       "The expression after '&' in a pipeline element produced an "
                                       "object that was not valid. It must result in a command "
                                       "name, a script block, or a CommandInfo object.",
                                       "BadExpression", "InvalidOperation")
            kind, target = self.resolve(name, frame)
        if kind == "missing":
            raise self.not_found(frame, node.name, name)
        if kind == "function":
            assert isinstance(target, FunctionInfo)
            st = ScriptStage(self, frame, node, target.name, target.scriptblock(), target.is_filter,
                             self.evaluate_args(node, frame), dot_source=node.invocation == ".")
            st.index = index
            return st
        if kind == "script":
            assert isinstance(target, str)
            block = self.interp_load_script(target, frame, node)
            st = ScriptStage(self, frame, node, name, block, False, self.evaluate_args(node, frame),
                             dot_source=node.invocation == ".")
            st.inner.scope.is_script = node.invocation != "."
            st.inner.origin = target
            st.index = index
            return st
        if kind == "cmdlet":
            assert isinstance(target, type) and issubclass(target, Cmdlet)
            cls: type[Cmdlet] = target
            binder = CommandBinder(cls.spec, cls.args_type)
            args = self.evaluate_args(node, frame)
            try:
                result = binder.bind(args, has_pipeline_input=index > 0)
            except BindingError as e:
                span = node.span
                if e.span_index is not None and e.span_index < len(node.elements):
                    span = node.elements[e.span_index].span
                record = self.interp.error_at(
                    frame, span, e.message, f"{e.error_id},{cls.__name__}", e.category,
                    "System.Management.Automation.ParameterBindingException",
                    command=cls.spec.name)
                from pjsh.runtime.interpreter import PSRuntimeFailure

                raise PSRuntimeFailure(record) from None
            if result.common.get("AsJob") and not any(
                    name in result.explicit for name in cls.own_as_job_with):
                return self.interp.session.jobs.asjob_stage(self, frame, node, cls.spec.name,
                                                            cls, binder, result)
            return CmdletStage(self, frame, node, cls.spec.name, cls, binder, result)
        assert isinstance(target, str)
        spec = NativeSpec([name, *self.native_argv(node, frame)], target, name)
        st2 = NativeStage(self, frame, node, [spec], [])
        return st2

    def interp_load_script(self, path: str, frame: Frame, node: ast.Node) -> ScriptBlock:
        """Parse a .ps1 file into a script block (parse errors are statement errors)."""
        from pjsh.lang.parser import parse

        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as fh:
                text = fh.read()
        except OSError as e:
            raise self.interp.fail(frame, node, f"Cannot read script '{path}': {e.strerror}.",
                                   "ScriptReadError", "ReadError") from None
        result = parse(text)
        if result.error is not None or result.body is None:
            from pjsh.runtime.interpreter import PSRuntimeFailure

            err = result.error
            assert err is not None
            raise PSRuntimeFailure(make_error(err.describe(path), err.error_id, "ParserError",
                                              exception_type="System.Management.Automation."
                                                             "ParseException"))
        return ScriptBlock(result.body, text, text)

    def apply_redirections(self, stage: Stage, frame: Frame) -> None:
        """Route a stage's output and streams according to its redirections."""
        base_out = stage.out
        streams = stage.streams
        changed = False
        for r in stage.node.redirections:
            target_path: str | None = None
            to_null = False
            if r.target is not None:
                if isinstance(r.target, ast.Variable) and r.target.name.lower() == "null":
                    to_null = True
                else:
                    target_path = self.interp.session.resolve_path(
                        to_string(self.interp.eval(r.target, frame)))
            if not changed:
                streams = streams.copy()
                changed = True
            native = isinstance(stage, NativeStage)
            streams_affected = ["1", "2", "3", "4", "5", "6"] if r.stream == "*" else [r.stream]
            for s in streams_affected:
                if r.merge_to is not None:
                    if s == "2":
                        stage.merge_stderr = True
                        streams.error = lambda rec, st=stage: st.out.send(rec)
                    elif s == "3":
                        streams.warning = lambda t, st=stage: st.out.send(t)
                    elif s == "4":
                        streams.verbose = lambda t, st=stage: st.out.send(t)
                    elif s == "5":
                        streams.debug = lambda t, st=stage: st.out.send(t)
                    elif s == "6":
                        streams.information = lambda v, st=stage: st.out.send(v)
                    continue
                if s == "1":
                    if native:
                        stage.stdout_file = (os.devnull, False) if to_null else (
                            target_path or os.devnull, r.append)
                        stage.out = NullSink()
                    elif to_null:
                        stage.out = NullSink()
                    else:
                        assert target_path is not None
                        stage.out = self._file_sink(stage, target_path, r.append)
                    continue
                sink: Sink
                if to_null:
                    sink = NullSink()
                    if s == "2" and native:
                        stage.stderr_file = (os.devnull, False)
                else:
                    assert target_path is not None
                    if s == "2" and native:
                        stage.stderr_file = (target_path, r.append)
                        continue
                    sink = self._file_sink(stage, target_path, r.append)
                if s == "2":
                    streams.error = lambda rec, sk=sink: sk.send(rec)
                elif s == "3":
                    streams.warning = lambda t, sk=sink: sk.send("WARNING: " + t)
                elif s == "4":
                    streams.verbose = lambda t, sk=sink: sk.send("VERBOSE: " + t)
                elif s == "5":
                    streams.debug = lambda t, sk=sink: sk.send("DEBUG: " + t)
                elif s == "6":
                    streams.information = lambda v, sk=sink: sk.send(v)
                    streams.host_text = lambda t, nl, fg, bg, sk=sink: sk.send(t)
        del base_out
        stage.streams = streams

    def _file_sink(self, stage: Stage, path: str, append: bool) -> FileSink:
        """One writer per file per stage, so `*> f` keeps the streams' order in the file."""
        for f in stage.files:
            if f.path == path:
                return f
        self.interp.check_writable(stage.frame, stage.node, path)
        def on_error(e: OSError) -> Exception:
            return self.interp.file_error(stage.frame, stage.node, path, e, writing=True)

        try:
            fs = FileSink(path, append, self.interp.session.registry.views, on_error)
        except OSError as e:
            raise self.interp.file_error(stage.frame, stage.node, path, e) from None
        stage.files.append(fs)
        return fs

    # ---------------------------------------------------------------- running
    def run(self, pipeline: ast.Pipeline, frame: Frame, out: Sink) -> bool:
        """Run a pipeline; returns success (for $? and && / ||)."""
        interp = self.interp
        stages: list[Stage] = []
        try:
            built = [self.build_stage(el, frame, i) for i, el in enumerate(pipeline.elements)]
            # Merge adjacent natives into one OS-pipe-connected stage.
            for st in built:
                if isinstance(st, NativeStage) and stages and isinstance(stages[-1], NativeStage) \
                        and stages[-1].members \
                        and not _has_stdout_redirect(stages[-1].members[-1].node):
                    prev = stages[-1]
                    prev.specs.extend(st.specs)
                    prev.members.append(st)
                    self.apply_redirections_member(st, frame)
                    prev.node = st.node
                    prev.name = st.name
                    continue
                stages.append(st)
                if isinstance(st, NativeStage):
                    st.members.append(st)
            n = len(stages)
            for i, st in enumerate(stages):
                if i + 1 < n:
                    after = stages[i + 1]
                    st.out = (NativeStageInput(after) if isinstance(after, NativeStage)
                              else StageInput(after))
                else:
                    st.out = out
                if isinstance(st, NativeStage):
                    st.first = i == 0
                    st.last_in_pipeline = i == n - 1
                    # Redirections of the group's last command decide its stdout.
                    if st.members and st.members[0] is st:
                        self.apply_redirections(st, frame)
                else:
                    self.apply_redirections(st, frame)
        except PSRuntimeError:
            with contextlib.suppress(Exception):  # the binding error is the one to report
                _close_all(stages)
            raise
        started: list[Stage] = []
        try:
            first_active = 0
            try:
                for i, st in enumerate(stages):
                    st.begin()
                    started.append(st)
                    feed = stages[i - 1].out if i else None
                    if isinstance(feed, StageInput):
                        try:
                            feed.open()
                        except StopUpstreamSignal as e:
                            # Enough came from begin blocks alone: upstream stops, the
                            # stages after this one still begin and end.
                            k = _stopper_index(e, stages, default=i)
                            for s in stages[first_active:k]:
                                s.abort()
                            first_active = max(first_active, k)
                if first_active == 0:
                    stages[0].run_first()
            except StopUpstreamSignal as e:
                k = _stopper_index(e, stages, default=0)
                for s in stages[first_active:k]:
                    s.abort()
                first_active = max(first_active, k)
            i = first_active
            while i < n:
                try:
                    stages[i].end()
                except StopUpstreamSignal as e:
                    k = _stopper_index(e, stages, default=i)
                    for s in stages[i:k]:
                        s.abort()
                    i = max(i, k)
                i += 1
        except BaseException:
            for st in started:
                st.abort()
            raise
        finally:
            _close_all(stages)
        ok = not any(s.had_error for s in stages)
        last = stages[-1]
        if isinstance(last, NativeStage):
            ok = ok and last.exit_code == 0
        # A job whose last command is a failing native ends Failed with this reason.
        interp.session.last_native_failure = native_failure_reason(last)
        interp.set_success(ok)
        return ok

    def apply_redirections_member(self, st: NativeStage, frame: Frame) -> None:
        """Redirections of a native that joined a group (stderr handling per command)."""
        self.apply_redirections(st, frame)


def _stopper_index(e: StopUpstreamSignal, stages: list[Stage], default: int) -> int:
    """Which of this pipeline's stages asked to stop its upstream. A signal raised directly by
    a stage (no StageInput in between) counts for ``default``; one that belongs to an enclosing
    pipeline is re-raised, because it is not this pipeline's to absorb."""
    origin = getattr(e, "origin", None)
    if origin is None:
        return default
    for index, stage in enumerate(stages):
        if stage is origin:
            return index
    raise e


def _close_all(stages: list[Stage]) -> None:
    """Close every stage's redirection files, then raise the first failure to close one."""
    failure: Exception | None = None
    for st in stages:
        try:
            st.close_files()
        except Exception as e:
            failure = failure or e
    if failure is not None:
        raise failure


def _has_stdout_redirect(node: ast.PipelineElement) -> bool:
    return any(r.stream in ("1", "*") and r.merge_to is None for r in node.redirections)

__all__ = ["ListSink", "PipelineRunner"]

# How long a job's natives get between SIGTERM and SIGKILL when the job is stopped.
_NATIVE_STOP_GRACE = 2.0
# Text for a native's stdin is written in blocks of this size (one write() per object cost
# ~20 µs a line)…
_FEED_BLOCK = 64 * 1024
# …or at once when the previous write is older than this (seconds): a slow producer's lines
# are not held back; a fast one's are batched.
_FEED_LATENCY = 0.01


def native_failure_reason(stage: object) -> str | None:
    """``'make' exited with code 2`` when a pipeline's last stage is a failing native."""
    if not isinstance(stage, NativeStage) or stage.exit_code in (None, 0):
        return None
    name = stage.specs[-1].display
    code = stage.exit_code
    assert code is not None
    if code > 128:
        return f"'{name}' was terminated by signal {signal_name(code - 128)}"
    return f"'{name}' exited with code {code}"
