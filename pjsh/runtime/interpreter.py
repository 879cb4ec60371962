"""The tree-walking interpreter: statements, expressions, scopes, functions and script blocks.

Pipelines are executed by :mod:`pjsh.runtime.pipeline`; this module evaluates everything else
and decides how errors travel: statement-terminating errors are reported and the script goes
on, script-terminating ones (``throw``, ``-ErrorAction Stop``) unwind to a ``try`` or the top.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from pjsh.lang import ast
from pjsh.lang.record import dataclass
from pjsh.lang.source import Span
from pjsh.runtime import fastpath
from pjsh.runtime import operators as ops
from pjsh.runtime.cancel import CancelToken
from pjsh.runtime.compiled import EXPR_KEY, expr_fn, stmt_fn
from pjsh.runtime.convert import ConversionError, to_bool, to_int, to_number, to_string
from pjsh.runtime.dotnet import (
    TypeError_,
    as_type,
    cast,
    format_operator,
    is_type,
    static_call,
    static_member,
)
from pjsh.runtime.errors import (
    BreakSignal,
    CallDepthOverflow,
    ContinueSignal,
    ErrorRecord,
    ExceptionInfo,
    ExitSignal,
    FlowControl,
    PipelineStoppedSignal,
    PSRuntimeError,
    ReturnSignal,
    exception_type_chain,
    make_error,
)
from pjsh.runtime.members import MemberError, call_method, get_member, set_member
from pjsh.runtime.native import env_entry_problem
from pjsh.runtime.scopes import Scope
from pjsh.runtime.scriptblock import ScriptBlock
from pjsh.runtime.streams import ListSink, Sink, Streams
from pjsh.runtime.values import Hashtable, PathInfo, PSObject

if TYPE_CHECKING:
    from pjsh.runtime.session import Session

_MISSING = object()
# Functions defined below the global scope are kept in their scope under this prefix (a name
# no variable can have: ':' would make it a scope-qualified name).
FUNCTION_PREFIX = "function:"


class Frame:
    """Where code is running: its scope, streams and the source text its spans index."""

    # A plain class with slots rather than a record: a frame is made per function call, and
    # the generated __init__ with a default factory cost more than the rest of a plain call.
    __slots__ = ("command", "origin", "scope", "source", "streams")

    def __init__(self, scope: Scope, streams: Streams, source: str, origin: str = "",
                 command: str = "") -> None:
        self.scope = scope
        self.streams = streams
        self.source = source
        self.origin = origin  # script file path ('' for typed input)
        self.command = command  # the function or script running here ('' at top level)

    def __repr__(self) -> str:
        return f"Frame(command={self.command!r}, origin={self.origin!r})"

    def child(self, scope: Scope | None = None, source: str | None = None,
              origin: str | None = None) -> Frame:
        """A frame for nested code (new scope and/or another source text)."""
        return Frame(scope or self.scope, self.streams,
                     self.source if source is None else source,
                     self.origin if origin is None else origin, self.command)


class PSRuntimeFailure(PSRuntimeError):
    """A terminating error raised by the interpreter; ``script_terminating`` for throw/Stop."""

    def __init__(self, record: ErrorRecord, script_terminating: bool = False) -> None:
        super().__init__(record)
        self.script_terminating = script_terminating


def is_script_terminating(e: PSRuntimeError) -> bool:
    """Tell whether an error should unwind past the current statement."""
    return bool(getattr(e, "script_terminating", False))


def unroll(value: object) -> Iterable[object]:
    """Enumerate a value the way the pipeline does: arrays one level, $null as nothing? No —
    $null is sent as one object by an expression, but an empty array sends nothing."""
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    return (value,)


def collapse(items: list[object]) -> object:
    """Captured output: nothing → $null, one object → itself, more → an array."""
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    return items


class Interpreter:
    """Evaluates AST nodes for one session."""

    def __init__(self, session: Session, stop_event: CancelToken) -> None:
        self.session = session
        self.try_depth = 0
        self.call_depth = 0
        # Error records written so far (reported statement errors, cmdlets' errors): a
        # function or script whose body wrote any failed as a command, so its caller's $?
        # is False, as in PowerShell (a call depth overflow deep inside included).
        self.errors_written = 0
        # Cooperative cancellation: set from another thread (a Ctrl+C handler, Stop-Job, a
        # test's time budget); checked between statements, per loop iteration and per
        # pipeline object, where it raises PipelineStoppedSignal.
        self.stop_event = stop_event
        # False keeps PATH lookups from ever starting a program (sandboxed runs, fuzzing).
        self.natives_enabled = True
        # When set, redirections may only write files below this directory (sandboxed runs).
        self.write_root: str | None = None
        from pjsh.runtime.pipeline import PipelineRunner

        self.pipelines = PipelineRunner(self)

    # ---------------------------------------------------------------- cancellation
    def request_stop(self) -> None:
        """Ask the running script to stop at its next check (thread-safe)."""
        self.stop_event.set()

    def check_stop(self) -> None:
        """Raise PipelineStoppedSignal if a stop was requested."""
        if self.stop_event.is_set():
            raise PipelineStoppedSignal()

    def find_function(self, frame: Frame | None, name: str) -> FunctionInfo | None:
        """The function a name means here: the nearest scope's, else a global one."""
        low = name.lower()
        if frame is not None:
            found, value = frame.scope.lookup(FUNCTION_PREFIX + low)
            if found and isinstance(value, FunctionInfo):
                return value
        fn = self.session.functions.get(low)
        return fn if isinstance(fn, FunctionInfo) else None

    # ---------------------------------------------------------------- files
    def check_writable(self, frame: Frame, node: ast.Node, path: str) -> None:
        """Refuse a redirection target outside ``write_root`` (when one is set)."""
        if self.write_root is None:
            return
        root = os.path.realpath(self.write_root)
        real = os.path.realpath(path)
        if real != root and not real.startswith(root.rstrip("/") + "/"):
            raise self.fail(frame, node, f"Access to the path '{path}' is denied.",
                            "UnauthorizedAccess", "PermissionDenied",
                            "System.UnauthorizedAccessException")

    def file_error(self, frame: Frame, node: ast.Node, path: str,
                   e: OSError, writing: bool = False) -> PSRuntimeFailure:
        """The error .NET would raise for a file that cannot be opened for writing (or,
        ``writing``, that failed while written or flushed: a full disk, an I/O error)."""
        if isinstance(e, (PermissionError, IsADirectoryError)):
            return self.fail(frame, node, f"Access to the path '{path}' is denied.",
                             "UnauthorizedAccess", "PermissionDenied",
                             "System.UnauthorizedAccessException")
        if isinstance(e, (FileNotFoundError, NotADirectoryError)):
            return self.fail(frame, node, f"Could not find a part of the path '{path}'.",
                             "DirectoryNotFound", "ObjectNotFound",
                             "System.IO.DirectoryNotFoundException")
        # .NET's words for an I/O error on Unix: the system's reason, then the path.
        return self.fail(frame, node, f"{e.strerror or e} : '{path}'",
                         "FileWriteFailure" if writing else "FileOpenFailure",
                         "WriteError" if writing else "OpenError", "System.IO.IOException")

    # ---------------------------------------------------------------- errors
    def error_at(self, frame: Frame, span: Span | None, message: str, error_id: str,
                 category: str = "InvalidOperation",
                 exception_type: str = "System.Management.Automation.RuntimeException",
                 target: object = None, command: str = "") -> ErrorRecord:
        """An error record pointing at ``span`` (with a caret for multi-line sources)."""
        positioned = span is not None and ("\n" in frame.source.strip() or bool(frame.origin))
        return make_error(message, error_id, category, target=target, command=command,
                          exception_type=exception_type,
                          span=span if positioned else None, source=frame.source,
                          script_name=frame.origin)

    def fail(self, frame: Frame, node: ast.Node | None, message: str, error_id: str,
             category: str = "InvalidOperation",
             exception_type: str = "System.Management.Automation.RuntimeException") -> PSRuntimeFailure:
        """A statement-terminating error at a node."""
        return PSRuntimeFailure(self.error_at(frame, node.span if node else None, message,
                                              error_id, category, exception_type))

    def report(self, record: ErrorRecord, frame: Frame) -> None:
        """Record an error in $Error and show it."""
        self.errors_written += 1
        self.session.record_error(record)
        frame.streams.write_error(record)
        self.set_success(False)

    def set_success(self, ok: bool) -> None:
        """Set $?."""
        self.session.global_scope.set_key("?", "?", ok)

    def error_action(self, frame: Frame) -> str:
        """The effective $ErrorActionPreference."""
        return to_string(self.get_variable(frame, "ErrorActionPreference", None)) or "Continue"

    # ---------------------------------------------------------------- script bodies
    def run_body(self, body: ast.ScriptBlockBody, frame: Frame, out: Sink,
                 top_level: bool = False) -> None:
        """Run a script's statements (named blocks run begin, process, end). At the top level
        each statement's output is formatted on its own, as PowerShell's Out-Default does."""
        if body.statements:
            self.exec_statements(body.statements, frame, out, top_level)
        for block in (body.begin, body.process, body.end):
            if block is not None:
                self.exec_statements(block.statements, frame, out, top_level)

    def exec_statements(self, statements: Sequence[ast.Statement], frame: Frame, out: Sink,
                        top_level: bool = False) -> None:
        """Run statements in order; statement-terminating errors are reported unless a try
        is active, and the next statement runs. ``top_level`` flushes the formatter after
        each statement (never inside loops or functions: their output forms one table)."""
        for stmt in statements:
            self.check_stop()
            try:
                self.exec_statement(stmt, frame, out)
            except PSRuntimeError as e:
                self.statement_failed(e, frame)
            except CallDepthOverflow as e:
                self.depth_overflow(e, stmt, frame)
            if top_level:
                flush = getattr(out, "flush", None)
                if flush is not None:
                    flush()

    def depth_overflow(self, e: CallDepthOverflow, stmt: ast.Statement, frame: Frame) -> None:
        """A statement of ``exec_statements`` raised CallDepthOverflow: unwind every level of
        the recursion, then report it at the script's statement."""
        if self.call_depth > 0:
            raise e
        self.report(self.error_at(frame, stmt.span, str(e),
                                  "CallDepthOverflow", "InvalidOperation",
                                  "System.Management.Automation.ScriptCallDepthException"),
                    frame)

    def statement_failed(self, e: PSRuntimeError, frame: Frame) -> None:
        """A statement of ``exec_statements`` raised ``e``: unwind (a try is active, the
        error ends the script, or $ErrorActionPreference is Stop) or report it and go on."""
        if self.try_depth > 0 or is_script_terminating(e):
            raise e
        if self.error_action(frame).lower() == "stop":
            raise PSRuntimeFailure(e.record, script_terminating=True) from None
        self.report(e.record, frame)

    def exec_statement(self, stmt: ast.Statement, frame: Frame, out: Sink) -> None:
        """Run one statement, sending its output to ``out``."""
        if fastpath.ENABLED:
            compiled = stmt_fn(stmt)
            if compiled is not None:
                compiled(self, frame, out)
                return
        if isinstance(stmt, ast.PipelineChain):
            self.run_chain(stmt, frame, out)
        elif isinstance(stmt, ast.Pipeline):
            self.pipelines.run(stmt, frame, out)
        elif isinstance(stmt, ast.Assignment):
            self.exec_assignment(stmt, frame)
            self.set_success(True)
        elif isinstance(stmt, ast.IfStatement):
            self.exec_if(stmt, frame, out)
        elif isinstance(stmt, ast.ForEachStatement):
            self.exec_foreach(stmt, frame, out)
        elif isinstance(stmt, ast.ForStatement):
            self.exec_for(stmt, frame, out)
        elif isinstance(stmt, ast.WhileStatement):
            self.exec_while(stmt, frame, out)
        elif isinstance(stmt, ast.DoStatement):
            self.exec_do(stmt, frame, out)
        elif isinstance(stmt, ast.SwitchStatement):
            self.exec_switch(stmt, frame, out)
        elif isinstance(stmt, ast.FunctionDefinition):
            info = FunctionInfo(stmt.name, stmt.body, stmt.text, frame.source, stmt.is_filter,
                                stmt.help_comment)
            if frame.scope is self.session.global_scope:
                self.session.functions[stmt.name.lower()] = info
            else:
                # A function defined inside a function or script lives in that scope only.
                frame.scope.set(FUNCTION_PREFIX + stmt.name.lower(), info)
            fastpath.definitions_changed()
        elif isinstance(stmt, ast.TryStatement):
            self.exec_try(stmt, frame, out)
        elif isinstance(stmt, ast.FlowStatement):
            self.exec_flow(stmt, frame, out)
        else:  # pragma: no cover - the parser produces nothing else
            raise self.fail(frame, stmt, f"Unsupported statement {type(stmt).__name__}.",
                            "NotSupported")

    def run_chain(self, chain: ast.PipelineChain, frame: Frame, out: Sink) -> None:
        """``a && b || c`` (and the background operator)."""
        if chain.background:
            self.start_background(chain, frame, out)
            return
        ok = self.pipelines.run(chain.first, frame, out)
        for op, pipeline in chain.rest:
            if (op == "&&") == ok:
                ok = self.pipelines.run(pipeline, frame, out)

    def start_background(self, chain: ast.PipelineChain, frame: Frame, out: Sink) -> None:
        """Hand the chain to the job engine (``a &``)."""
        if not self.session.has_jobs and self.natives_enabled:
            # The first `&` of the session: most run native commands, so the job engine may
            # start its helpers (the fork server) now, to boot while it is imported.
            self.session.prepare_jobs()
        job = self.session.jobs.background(self, chain, frame)
        out.send(job)
        self.set_success(True)

    # ---------------------------------------------------------------- capture
    def capture(self, stmt: ast.Statement, frame: Frame) -> list[object]:
        """Run a statement and return its output objects."""
        sink = ListSink()
        self.exec_statement(stmt, frame, sink)
        return sink.items

    def capture_value(self, stmt: ast.Statement, frame: Frame) -> object:
        """Run a statement and collapse its output to a value."""
        if isinstance(stmt, ast.PipelineChain) and not stmt.rest and not stmt.background:
            elements = stmt.first.elements
            if len(elements) == 1 and isinstance(elements[0], ast.CommandExpression) \
                    and not elements[0].redirections:
                # Fast path and exact value semantics: `$x = 1,2` keeps the array as is.
                return self.eval(elements[0].expr, frame)
        return collapse(self.capture(stmt, frame))

    def capture_block(self, statements: Sequence[ast.Statement], frame: Frame) -> list[object]:
        """Run statements (with per-statement error handling) and return their output."""
        sink = ListSink()
        self.exec_statements(statements, frame, sink)
        return sink.items

    # ---------------------------------------------------------------- control flow
    def condition(self, stmt: ast.Statement, frame: Frame) -> bool:
        """Evaluate a condition statement for truth."""
        return to_bool(self.capture_value(stmt, frame))

    def exec_if(self, stmt: ast.IfStatement, frame: Frame, out: Sink) -> None:
        for cond, body in stmt.clauses:
            if self.condition(cond, frame):
                self.exec_statements(body.statements, frame, out)
                return
        if stmt.else_body is not None:
            self.exec_statements(stmt.else_body.statements, frame, out)

    def _loop_body(self, body: ast.StatementBlock, frame: Frame, out: Sink,
                   label: str | None) -> str:
        """Run a loop body once: returns 'next', 'break' or 'continue'."""
        self.check_stop()
        try:
            self.exec_statements(body.statements, frame, out)
        except BreakSignal as b:
            if b.label is None or (label is not None and b.label.lower() == label.lower()):
                return "break"
            raise
        except ContinueSignal as c:
            if c.label is None or (label is not None and c.label.lower() == label.lower()):
                return "continue"
            raise
        return "next"

    def exec_foreach(self, stmt: ast.ForEachStatement, frame: Frame, out: Sink) -> None:
        items: Iterable[object]
        numbers = self.lazy_range(stmt.iterable, frame)
        if numbers is not None:
            items = numbers
        else:
            value = self.capture_value(stmt.iterable, frame)
            items = list(value) if isinstance(value, list) else ([] if value is None else [value])
        var = stmt.variable
        key = var.name.lower()
        if fastpath.ENABLED and var.scope is None and key not in _CONSTANTS \
                and key not in ("pid", "home", "pwd", "lastexitcode"):
            # A plain loop variable: set_variable's checks all pass, its key is known.
            scope, name = frame.scope, var.name
            for item in items:
                scope.set_key(key, name, item)
                if self._loop_body(stmt.body, frame, out, stmt.label) == "break":
                    break
            return
        for item in items:
            self.assign_variable(var, item, frame)
            if self._loop_body(stmt.body, frame, out, stmt.label) == "break":
                break

    def exec_for(self, stmt: ast.ForStatement, frame: Frame, out: Sink) -> None:
        if stmt.init is not None:
            self.exec_statement(stmt.init, frame, ListSink())
        while stmt.condition is None or self.condition(stmt.condition, frame):
            if self._loop_body(stmt.body, frame, out, stmt.label) == "break":
                break
            if stmt.iterator is not None:
                self.exec_statement(stmt.iterator, frame, ListSink())

    def exec_while(self, stmt: ast.WhileStatement, frame: Frame, out: Sink) -> None:
        while self.condition(stmt.condition, frame):
            if self._loop_body(stmt.body, frame, out, stmt.label) == "break":
                break

    def exec_do(self, stmt: ast.DoStatement, frame: Frame, out: Sink) -> None:
        while True:
            if self._loop_body(stmt.body, frame, out, stmt.label) == "break":
                break
            result = self.condition(stmt.condition, frame)
            if result == stmt.until:
                break

    def exec_switch(self, stmt: ast.SwitchStatement, frame: Frame, out: Sink) -> None:
        value = self.capture_value(stmt.subject, frame)
        items = value if isinstance(value, list) else [value]
        for item in items:
            matched = False
            self.set_variable(frame, "_", item)
            broke = False
            for pattern, body in stmt.clauses:
                if pattern is None:
                    continue
                if self._switch_match(stmt, pattern, item, frame):
                    matched = True
                    action = self._loop_body(body, frame, out, stmt.label)
                    if action == "break":
                        broke = True
                        break
                    if action == "continue":
                        break
            if broke:
                break
            if not matched:
                for pattern, body in stmt.clauses:
                    if pattern is None:
                        action = self._loop_body(body, frame, out, stmt.label)
                        if action == "break":
                            return

    def _switch_match(self, stmt: ast.SwitchStatement, pattern: ast.Expr, item: object,
                      frame: Frame) -> bool:
        if isinstance(pattern, ast.ScriptBlockExpr):
            sb = ScriptBlock(pattern.body, pattern.text, frame.source)
            return to_bool(collapse(self.invoke_block(sb, frame, [], dollar_under=item,
                                                      new_scope=False)))
        pv = self.eval(pattern, frame)
        cs = stmt.case_sensitive
        try:
            if stmt.mode == "regex":
                m = ops.compile_regex(to_string(pv), cs).search(to_string(item))
                if m:
                    frame.scope.set("Matches", ops.match_groups(m))
                return m is not None
            if stmt.mode == "wildcard":
                return ops.like(item, pv, cs)
            return ops.equals(item, pv, cs) if not isinstance(item, str) else ops.equals(
                item, to_string(pv), cs)
        except Exception as exc:  # a bad -regex or -wildcard pattern is the script's error
            raise self.operator_failure(exc, frame, pattern) from None

    def exec_try(self, stmt: ast.TryStatement, frame: Frame, out: Sink) -> None:
        self.try_depth += 1
        try:
            try:
                self.exec_statements(stmt.body.statements, frame, out)
            finally:
                self.try_depth -= 1
        except PSRuntimeError as e:
            handler = self._find_catch(stmt, e.record)
            if handler is None:
                if stmt.finally_body is not None:
                    self.exec_statements(stmt.finally_body.statements, frame, out)
                raise
            saved = frame.scope.lookup("_")
            frame.scope.set("_", e.record)
            frame.scope.set("PSItem", e.record)
            self.session.record_error(e.record)
            try:
                self.exec_statements(handler.statements, frame, out)
            finally:
                if saved[0]:
                    frame.scope.set("_", saved[1])
                if stmt.finally_body is not None:
                    self.exec_statements(stmt.finally_body.statements, frame, out)
            return
        except PipelineStoppedSignal:
            if stmt.finally_body is not None:
                # Clean-up runs even when stopping; a second stop request interrupts it.
                self.stop_event.clear()
                try:
                    self.exec_statements(stmt.finally_body.statements, frame, out)
                finally:
                    self.stop_event.set()
            raise
        except (BreakSignal, ContinueSignal, ReturnSignal, ExitSignal, KeyboardInterrupt):
            if stmt.finally_body is not None:
                self.exec_statements(stmt.finally_body.statements, frame, out)
            raise
        if stmt.finally_body is not None:
            self.exec_statements(stmt.finally_body.statements, frame, out)

    @staticmethod
    def _find_catch(stmt: ast.TryStatement, record: ErrorRecord) -> ast.StatementBlock | None:
        """The first catch clause whose types match the error's exception (or an exception it
        wraps), counting base classes: ``catch [System.ArithmeticException]`` catches 1/$x."""
        chain: list[str] = []
        exc: ExceptionInfo | None = record.Exception
        while exc is not None:
            chain.extend(exception_type_chain(exc.TypeName))
            exc = exc.InnerException
        shorts = {t.rsplit(".", 1)[-1] for t in chain}
        for types, block in stmt.catches:
            if not types:
                return block
            for t in types:
                tl = t.lower().strip()
                if tl in chain or ("system." + tl) in chain or ("." not in tl and tl in shorts):
                    return block
        return None

    def exec_flow(self, stmt: ast.FlowStatement, frame: Frame, out: Sink) -> None:
        kw = stmt.keyword
        if kw == "break":
            raise BreakSignal(stmt.label)
        if kw == "continue":
            raise ContinueSignal(stmt.label)
        if kw == "return":
            if stmt.value is not None:
                self.exec_statement(stmt.value, frame, out)
            raise ReturnSignal()
        if kw == "exit":
            code = 0
            if stmt.value is not None:
                v = self.capture_value(stmt.value, frame)
                try:
                    code = to_int(v) if v is not None else 0
                except ConversionError:
                    code = 1
            raise ExitSignal(code)
        # throw
        value = self.capture_value(stmt.value, frame) if stmt.value is not None else None
        if isinstance(value, ErrorRecord):
            record = value
        else:
            message = to_string(value) if value is not None else "ScriptHalted"
            record = self.error_at(frame, stmt.span, message,
                                   message if value is not None else "ScriptHalted",
                                   "OperationStopped", "System.Management.Automation.RuntimeException",
                                   target=value)
            record.Exception.WasThrownFromThrowStatement = True
        raise PSRuntimeFailure(record, script_terminating=True)

    # ---------------------------------------------------------------- variables
    def get_variable(self, frame: Frame, name: str, scope: str | None,
                     node: ast.Node | None = None) -> object:
        """Read a variable, with automatic variables and drives (``$env:``)."""
        low = name.lower()
        if scope == "env":
            return self.session.env.get(name)
        if scope == "using":
            found, value = frame.scope.lookup("using:" + name)
            if found:
                return value
            found, value = frame.scope.lookup(name)
            return value if found else None
        if scope in ("global",):
            found, value = self.session.global_scope.get_local(name)
            return value if found else None
        if scope == "script":
            found, value = frame.scope.script_scope.lookup(name)
            return value if found else None
        if scope == "local" or scope == "private":
            found, value = frame.scope.get_local(name)
            return value if found else None
        if scope == "function":
            return self.find_function(frame, name)
        if low in _CONSTANTS:
            return _CONSTANTS[low]
        if low == "pwd":
            return PathInfo(self.session.cwd)
        if low == "pid":
            return os.getpid()
        if low == "lastexitcode":
            return self.session.last_exit_value
        if low == "error":
            return self.session.errors
        if low == "home":
            return self.session.env.get("HOME", os.path.expanduser("~"))
        found, value = frame.scope.lookup(name)
        if found:
            return value
        if low == "psitem":
            found, value = frame.scope.lookup("_")
            return value if found else None
        if low == "?":
            return True
        return None

    def set_variable(self, frame: Frame, name: str, value: object, scope: str | None = None) -> None:
        """Assign a variable in the right scope (``$global:x``, ``$env:X`` ...)."""
        low = name.lower()
        if scope == "env":
            text = None if value is None or value == "" else to_string(value)
            # What the environment cannot hold is refused here, so it never reaches a spawn.
            problem = env_entry_problem(name, text)
            if problem is not None:
                raise PSRuntimeFailure(make_error(problem, "ArgumentException", "InvalidArgument",
                                                  target=name,
                                                  exception_type="System.ArgumentException"))
            if text is None:
                self.session.env.pop(name, None)
            else:
                self.session.env[name] = text
            return
        if low == "null" and scope is None:
            return  # `$null = expr` discards the value, as in PowerShell
        if low in _CONSTANTS or low in ("pid", "home", "pwd"):
            raise PSRuntimeFailure(make_error(
                f"Cannot overwrite variable {name} because it is read-only or constant.",
                "VariableNotWritable", "WriteError",
                exception_type="System.Management.Automation.SessionStateUnauthorizedAccessException"))
        if low == "lastexitcode":
            self.session.last_exit_value = value
            return
        if scope == "global":
            self.session.global_scope.set(name, value)
        elif scope == "script":
            frame.scope.script_scope.set(name, value)
        else:
            frame.scope.set(name, value)

    def assign_variable(self, var: ast.Variable, value: object, frame: Frame) -> None:
        """Assign to a ``$name`` node."""
        self.set_variable(frame, var.name, value, var.scope)

    # ---------------------------------------------------------------- assignment
    def exec_assignment(self, stmt: ast.Assignment, frame: Frame) -> None:
        if stmt.op == "??=":
            # Only evaluated (and assigned) when the target is $null.
            if self.eval(stmt.target, frame) is not None:
                return
            self.assign_to(stmt.target, self.capture_value(stmt.value, frame), frame)
            return
        if stmt.op == "=" and isinstance(stmt.target, ast.Variable) \
                and stmt.target.scope in (None, "local", "script", "global"):
            value, nothing = self.capture_result(stmt.value, frame)
            if nothing:
                # `$r = <command that output nothing>` holds AutomationNull, as in PowerShell.
                self.assign_nothing(stmt.target, frame)
                return
            self.assign_to(stmt.target, value, frame)
            return
        value = self.capture_value(stmt.value, frame)
        if stmt.op != "=":
            current = self.eval(stmt.target, frame)
            value = self.binary(stmt.op[0], current, value, frame, stmt)
        self.assign_to(stmt.target, value, frame)

    def capture_result(self, stmt: ast.Statement, frame: Frame) -> tuple[object, bool]:
        """A statement's value as ``capture_value`` makes it, and whether it output nothing
        at all (AutomationNull), which a lone ``$null`` output is not."""
        if isinstance(stmt, ast.PipelineChain) and not stmt.rest and not stmt.background:
            elements = stmt.first.elements
            if len(elements) == 1 and isinstance(elements[0], ast.CommandExpression) \
                    and not elements[0].redirections:
                expr = elements[0].expr
                if isinstance(expr, ast.Variable) and self.holds_nothing(expr, frame):
                    return None, True
                return self.eval(expr, frame), False
        items = self.capture(stmt, frame)
        return collapse(items), not items

    def holds_nothing(self, var: ast.Variable, frame: Frame) -> bool:
        """Whether a variable reference reads a variable holding AutomationNull."""
        if var.splat:
            return False
        if var.scope is None:
            return frame.scope.holds_nothing(var.name)
        if var.scope == "global":
            return self.session.global_scope.holds_nothing(var.name)
        if var.scope == "script":
            return frame.scope.script_scope.holds_nothing(var.name)
        return False

    def assign_nothing(self, var: ast.Variable, frame: Frame) -> None:
        """Store AutomationNull in a variable (read-only checks as for any assignment)."""
        self.set_variable(frame, var.name, None, var.scope)
        if var.name.lower() in ("null", "lastexitcode"):
            return
        if var.scope == "global":
            self.session.global_scope.set_nothing(var.name)
        elif var.scope == "script":
            frame.scope.script_scope.set_nothing(var.name)
        else:
            frame.scope.set_nothing(var.name)

    def assign_to(self, target: ast.Expr, value: object, frame: Frame) -> None:
        """Store ``value`` into an assignable expression."""
        if isinstance(target, ast.Cast):
            try:
                value = cast(target.type_name, value)
            except (ConversionError, TypeError_) as e:
                raise self.fail(frame, target, getattr(e, "message", str(e)),
                                "ConvertToFinalInvalidCastException", "InvalidArgument") from None
            self.assign_to(target.operand, value, frame)
            return
        if isinstance(target, ast.Variable):
            self.assign_variable(target, value, frame)
            return
        if isinstance(target, ast.ArrayLiteral):
            values = value if isinstance(value, list) else [value]
            n = len(target.items)
            for i, item in enumerate(target.items):
                if i < n - 1:
                    self.assign_to(item, values[i] if i < len(values) else None, frame)
                else:
                    rest = values[i:]
                    self.assign_to(item, collapse(list(rest)) if len(rest) != 1 else rest[0], frame)
            return
        if isinstance(target, ast.MemberAccess):
            obj = self.eval(target.obj, frame)
            name = target.member if isinstance(target.member, str) else to_string(
                self.eval(target.member, frame))
            try:
                set_member(obj, name, value)
            except MemberError as e:
                raise self.fail(frame, target, e.message, e.error_id) from None
            return
        if isinstance(target, ast.Index):
            obj = self.eval(target.obj, frame)
            index = self.eval(target.index, frame)
            if isinstance(obj, Hashtable):
                if index is None:
                    raise self.fail(frame, target, "Index operation failed; the array index "
                                    "evaluated to null.", "NullArrayIndex")
                obj[index] = value
                return
            if isinstance(obj, list):
                i = to_int(index)
                if not -len(obj) <= i < len(obj):
                    raise self.fail(frame, target, "Index was outside the bounds of the array.",
                                    "IndexOutOfRange")
                obj[i] = value
                return
            if isinstance(obj, PSObject):
                obj.set(to_string(index), value)
                return
            raise self.fail(frame, target, f"Unable to index into an object of type "
                            f"{type(obj).__name__}.", "CannotIndex")
        raise self.fail(frame, target, "The assignment expression is not valid.",
                        "InvalidLeftHandSide")

    # ---------------------------------------------------------------- expressions
    def eval(self, expr: ast.Expr, frame: Frame) -> object:
        """Evaluate an expression to a value."""
        if fastpath.ENABLED:
            return (expr.__dict__.get(EXPR_KEY) or expr_fn(expr))(self, frame)
        method = getattr(self, "eval_" + type(expr).__name__)
        result: object = method(expr, frame)
        return result

    def eval_Constant(self, e: ast.Constant, frame: Frame) -> object:
        return e.value

    def eval_ExpandableString(self, e: ast.ExpandableString, frame: Frame) -> object:
        out: list[str] = []
        for part in e.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(self.stringify(self.eval(part, frame), frame))
        return "".join(out)

    def stringify(self, value: object, frame: Frame) -> str:
        """Convert for string expansion: arrays join with $OFS (default space)."""
        if isinstance(value, list):
            ofs = self.get_variable(frame, "OFS", None)
            sep = " " if ofs is None else to_string(ofs)
            return sep.join(to_string(v) for v in value)
        return to_string(value)

    def eval_Variable(self, e: ast.Variable, frame: Frame) -> object:
        return self.get_variable(frame, e.name, e.scope, e)

    def eval_ArrayLiteral(self, e: ast.ArrayLiteral, frame: Frame) -> object:
        return [self.eval(item, frame) for item in e.items]

    def eval_ArrayExpr(self, e: ast.ArrayExpr, frame: Frame) -> object:
        items = self.capture_block(e.body.statements, frame)
        return list(items)

    def eval_SubExpr(self, e: ast.SubExpr, frame: Frame) -> object:
        return collapse(self.capture_block(e.body.statements, frame))

    def eval_ParenExpr(self, e: ast.ParenExpr, frame: Frame) -> object:
        stmt = e.statement
        if isinstance(stmt, ast.Assignment):
            self.exec_assignment(stmt, frame)
            return self.eval(stmt.target, frame)
        return self.capture_value(stmt, frame)

    def eval_HashtableLiteral(self, e: ast.HashtableLiteral, frame: Frame) -> object:
        table = Hashtable()
        for key_expr, value_stmt in e.pairs:
            key = self.eval(key_expr, frame)
            if key in table:
                raise self.fail(frame, key_expr,
                                f"Duplicate keys '{to_string(key)}' are not allowed in hash "
                                "literals.", "DuplicateKeyInHashLiteral", "ParserError")
            table[key] = self.capture_value(value_stmt, frame)
        return table

    def eval_ScriptBlockExpr(self, e: ast.ScriptBlockExpr, frame: Frame) -> object:
        return ScriptBlock(e.body, e.text, frame.source)

    def eval_TypeLiteral(self, e: ast.TypeLiteral, frame: Frame) -> object:
        from pjsh.runtime.dotnet import known_type
        if not known_type(e.name):
            raise self.fail(frame, e, f"Unable to find type [{e.name}].", "TypeNotFound",
                            "InvalidOperation")
        return TypeName(e.name)

    def eval_Cast(self, e: ast.Cast, frame: Frame) -> object:
        value = self.eval(e.operand, frame)
        try:
            return cast(e.type_name, value)
        except TypeError_ as te:
            raise self.fail(frame, e, te.message, te.error_id) from None
        except (ConversionError, ValueError, OverflowError) as ce:
            raise self.fail(frame, e, str(ce), "InvalidCastParseTargetInvocation",
                            "InvalidArgument") from None

    def eval_UnaryOp(self, e: ast.UnaryOp, frame: Frame) -> object:
        op = e.op
        if op in ("++", "--"):
            current = self.eval(e.operand, frame)
            try:
                n = to_number(current)
            except ConversionError as ce:
                raise self.fail(frame, e, str(ce), "InvalidCast") from None
            new = n + 1 if op == "++" else n - 1
            self.assign_to(e.operand, new, frame)
            return current if e.postfix else new
        value = self.eval(e.operand, frame)
        try:
            return self.unary(op, value)
        except Exception as exc:
            raise self.operator_failure(exc, frame, e) from None

    def unary(self, op: str, value: object) -> object:
        """Apply a prefix operator to a value (errors as ``binary``'s, see operator_failure)."""
        if op == "not":
            return not to_bool(value)
        if op == "-":
            return -to_number(value)
        if op == "+":
            return to_number(value)
        if op == "bnot":
            return ~to_int(value)
        if op == ",":
            return [value]
        if op == "split":
            return ops.split(value, None)
        if op == "join":
            return ops.join(value, "")
        raise ops.OperatorError("NotSupported", f"Unsupported operator '{op}'.")

    def eval_BinaryOp(self, e: ast.BinaryOp, frame: Frame) -> object:
        op = e.op
        if op == "??":
            first = self.eval(e.left, frame)
            return first if first is not None else self.eval(e.right, frame)
        if op in ("and", "or"):
            left = to_bool(self.eval(e.left, frame))
            if op == "and" and not left:
                return False
            if op == "or" and left:
                return True
            return to_bool(self.eval(e.right, frame))
        left_v = self.eval(e.left, frame)
        if op in ("is", "isnot", "as"):
            right_node = e.right
            tname = right_node.name if isinstance(right_node, ast.TypeLiteral) else to_string(
                self.eval(right_node, frame))
            try:
                if op == "as":
                    return as_type(left_v, tname)
                result = is_type(left_v, tname)
            except TypeError_ as te:
                raise self.fail(frame, e.right, te.message, te.error_id) from None
            return result if op == "is" else not result
        right_v = self.eval(e.right, frame)
        return self.binary(op, left_v, right_v, frame, e)

    def binary(self, op: str, left: object, right: object, frame: Frame,
               node: ast.Node) -> object:
        """Apply a binary operator to two values."""
        try:
            if op == "+":
                return ops.add(left, right)
            if op == "-":
                return ops.subtract(left, right)
            if op == "*":
                return ops.multiply(left, right)
            if op == "/":
                return ops.divide(left, right)
            if op == "%":
                return ops.modulo(left, right)
            if op == "..":
                return list(self.range_values(left, right))
            if op == "f":
                return format_operator(left, right)
            if op == "xor":
                return to_bool(left) != to_bool(right)
            if op in ("band", "bor", "bxor"):
                a, b = to_int(left), to_int(right)
                return {"band": a & b, "bor": a | b, "bxor": a ^ b}[op]
            if op in ("shl", "shr"):
                return ops.shift(op, to_int(left), to_int(right))
            base, cs = ops.split_op(op)
            if base == "replace":
                return ops.replace(left, right, cs)
            if base == "split":
                return ops.split(left, right, cs)
            if op == "join":
                return ops.join(left, right)
            result, matches = ops.comparison(op, left, right)
            if matches is not None:
                frame.scope.set("Matches", matches)
            return result
        except Exception as exc:
            raise self.operator_failure(exc, frame, node) from None

    def operator_failure(self, exc: Exception, frame: Frame, node: ast.Node) -> Exception:
        """The PowerShell error for what an operator raised; anything else is re-raised as it
        is (a bug, or a signal such as a stop). One place for unary and binary operators."""
        if isinstance(exc, ops.OperatorError):
            failure = self.fail(frame, node, exc.message, exc.error_id,
                                "NotSpecified" if exc.inner_type else "InvalidOperation")
            if exc.inner_type:
                failure.record.Exception.InnerException = ExceptionInfo(exc.message,
                                                                        exc.inner_type)
            return failure
        if isinstance(exc, ConversionError):
            return self.fail(frame, node, str(exc), "InvalidCastFromStringToInteger",
                             "InvalidArgument")
        if isinstance(exc, TypeError_):
            return self.fail(frame, node, exc.message, exc.error_id)
        if isinstance(exc, (OverflowError, ValueError)):
            return self.fail(frame, node, str(exc), "RuntimeException")
        return exc

    @staticmethod
    def range_values(left: object, right: object, lazy: bool = False) -> range:
        """The numbers of ``left..right`` (either direction); materialized ranges are bounded."""
        a, b = to_int(left), to_int(right)
        if not lazy:
            ops.check_items(abs(b - a) + 1)
        return range(a, b + 1) if a <= b else range(a, b - 1, -1)

    def lazy_range(self, stmt: ast.Statement | ast.Expr, frame: Frame) -> range | None:
        """If a statement is just ``a..b``, its numbers without building a list (so
        ``foreach ($i in 1..1e8)`` and ``1..1e8 | ...`` stream, as in PowerShell)."""
        node: object = stmt
        if isinstance(node, ast.PipelineChain) and not node.rest and not node.background:
            node = node.first
        if isinstance(node, ast.Pipeline) and len(node.elements) == 1:
            node = node.elements[0]
        if isinstance(node, ast.CommandExpression) and not node.redirections:
            node = node.expr
        if not (isinstance(node, ast.BinaryOp) and node.op == ".."):
            return None
        left = self.eval(node.left, frame)
        right = self.eval(node.right, frame)
        try:
            return self.range_values(left, right, lazy=True)
        except ConversionError as ce:
            raise self.fail(frame, node, str(ce), "InvalidCastFromStringToInteger",
                            "InvalidArgument") from None

    def eval_MemberAccess(self, e: ast.MemberAccess, frame: Frame) -> object:
        obj = self.eval(e.obj, frame)
        name = e.member if isinstance(e.member, str) else to_string(self.eval(e.member, frame))
        if e.static:
            if not isinstance(obj, TypeName):
                raise self.fail(frame, e, "Static members need a type: [type]::Member.",
                                "StaticMemberOnNonType")
            try:
                return static_member(obj.name, name)
            except TypeError_ as te:
                raise self.fail(frame, e, te.message, te.error_id) from None
        return get_member(obj, name)

    def eval_MethodCall(self, e: ast.MethodCall, frame: Frame) -> object:
        obj = self.eval(e.obj, frame)
        args = [self.eval(a, frame) for a in e.args]
        if e.static and not isinstance(obj, TypeName):
            raise self.fail(frame, e, "Static methods need a type: [type]::Method().",
                            "StaticMemberOnNonType")
        if isinstance(obj, ScriptBlock) and e.member.lower() in ("invoke", "invokereturnasis"):
            return collapse(self.invoke_block(obj, frame, args))
        if obj is self.session.errors and e.member.lower() in ("clear", "removeat"):
            # $Error is an ArrayList in PowerShell: scripts clear it.
            if e.member.lower() == "clear":
                self.session.errors.clear()
            elif args:
                i = to_int(args[0])
                if 0 <= i < len(self.session.errors):
                    del self.session.errors[i]
            return None
        try:
            if e.static:
                assert isinstance(obj, TypeName)
                result = static_call(obj.name, e.member, args, self.session.env)
                if isinstance(result, tuple) and result and result[0] == "__console__":
                    text = "".join(to_string(a) for a in result[2])
                    frame.streams.write_host(text, result[1] == "writeline", None, None)
                    return None
                return result
            if isinstance(obj, TypeName) and e.member.lower() == "new":
                return cast(obj.name, args[0] if len(args) == 1 else args)
            return call_method(obj, e.member, args)
        except MemberError as me:
            if me.error_id == "MethodNotFound":
                raise self.fail(frame, e, me.message, me.error_id) from None
            raise self._method_failure(frame, e, len(args), me.message) from None
        except TypeError_ as te:
            if te.error_id in ("MethodNotFound", "TypeNotFound"):
                raise self.fail(frame, e, te.message, te.error_id) from None
            raise self._method_failure(frame, e, len(args), te.message) from None
        except (PSRuntimeError, FlowControl):
            raise
        except Exception as ex:  # a .NET method that throws is a PS error
            message = getattr(ex, "message", None) or str(ex) or type(ex).__name__
            raise self._method_failure(frame, e, len(args), message) from None

    def _method_failure(self, frame: Frame, e: ast.MethodCall, argc: int,
                        message: str) -> PSRuntimeFailure:
        """PowerShell's MethodInvocationException wording for a method that failed."""
        return self.fail(frame, e, f'Exception calling "{e.member}" with "{argc}" argument(s): '
                         f'"{message}"', "MethodInvocationException", "NotSpecified",
                         "System.Management.Automation.MethodInvocationException")

    def eval_Index(self, e: ast.Index, frame: Frame) -> object:
        obj = self.eval(e.obj, frame)
        index = self.eval(e.index, frame)
        return self.index_value(obj, index, frame, e)

    def index_value(self, obj: object, index: object, frame: Frame, node: ast.Node) -> object:
        """``obj[index]`` with PowerShell's forgiving semantics (out of range → $null)."""
        if obj is None:
            raise self.fail(frame, node, "Cannot index into a null array.", "NullArray")
        if isinstance(obj, Hashtable):
            if isinstance(index, list):
                return [obj.get(i) for i in index]
            return obj.get(index)
        if isinstance(obj, PSObject):
            return obj.get(to_string(index))
        if isinstance(obj, (list, str)):
            if isinstance(index, list):
                return [self.index_value(obj, i, frame, node) for i in index]
            try:
                i = to_int(index)
            except ConversionError:
                return None
            if -len(obj) <= i < len(obj):
                return obj[i]
            return None
        # Scalars index like one-element arrays.
        try:
            i = to_int(index)
        except ConversionError:
            return None
        return obj if i in (0, -1) else None

    # ---------------------------------------------------------------- invocation
    def invoke_block(self, block: ScriptBlock, frame: Frame, args: Sequence[object],
                     dollar_under: object = _MISSING, input_items: Sequence[object] | None = None,
                     new_scope: bool = True, out: Sink | None = None,
                     named: dict[str, object] | None = None) -> list[object]:
        """Run a script block (``& {}``, ForEach-Object ...) and return or stream its output."""
        sink = out if out is not None else ListSink()
        scope = Scope(frame.scope) if new_scope else frame.scope
        inner = frame.child(scope=scope, source=block.source or frame.source)
        # $_ (and $PSItem, the same variable in pwsh) is put back as it was afterwards, or
        # removed when it was not set here (a new scope goes away with its variables).
        restore = not new_scope and dollar_under is not _MISSING
        saved_under = (scope.entry("_"), scope.entry("psitem")) if restore else (None, None)
        if dollar_under is not _MISSING:
            scope.set_key("_", "_", dollar_under)
            scope.set_key("psitem", "PSItem", dollar_under)
        if new_scope or args:
            self.bind_script_params(block.body.params, list(args), named or {}, inner, block)
        if input_items is not None:
            scope.set("input", list(input_items))
        self.call_depth += 1
        if self.call_depth > 500:
            self.call_depth -= 1
            raise CallDepthOverflow
        try:
            self.run_body(block.body, inner, sink)
        except ReturnSignal:
            pass
        finally:
            self.call_depth -= 1
            if restore:
                scope.restore_entry("_", saved_under[0])
                scope.restore_entry("psitem", saved_under[1])
        return sink.items if isinstance(sink, ListSink) else []

    def bind_script_params(self, params: list[ast.ParameterDecl] | None, positional: list[object],
                           named: dict[str, object], frame: Frame, block: object) -> None:
        """Bind arguments to a script block's param() (simple binder for script code)."""
        scope = frame.scope
        remaining = list(positional)
        decls = params or []
        bound: set[str] = set()
        for d in decls:
            key = next((k for k in named if k.lower() == d.name.lower()), None)
            if key is not None:
                scope.set(d.name, self._convert_param(d, named[key], frame))
                bound.add(d.name.lower())
        for d in sorted((d for d in decls if d.position is not None and not d.switch),
                        key=lambda d: d.position or 0):
            if d.name.lower() in bound:
                continue
            if remaining:
                scope.set(d.name, self._convert_param(d, remaining.pop(0), frame))
                bound.add(d.name.lower())
        for d in decls:
            if d.name.lower() in bound:
                continue
            if d.switch:
                scope.set(d.name, False)
            elif d.default is not None:
                scope.set(d.name, self.eval(d.default, frame))
            else:
                scope.set(d.name, None)
        scope.set("args", remaining)

    def _convert_param(self, d: ast.ParameterDecl, value: object, frame: Frame) -> object:
        if d.type_name is None:
            return value
        try:
            return cast(d.type_name, value)
        except (ConversionError, TypeError_) as e:
            raise PSRuntimeFailure(make_error(
                f"Cannot process argument transformation on parameter '{d.name}'. "
                f"{getattr(e, 'message', str(e))}",
                "ParameterArgumentTransformationError", "InvalidData")) from None


@dataclass(frozen=True)
class TypeName:
    """The value of a type literal like ``[int]``."""

    name: str

    ps_type_names = ("System.RuntimeType",)
    ps_property_names = ("Name", "FullName")

    @property
    def Name(self) -> str:
        return self.name

    @property
    def FullName(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


@dataclass
class FunctionInfo:
    """A function defined by script code."""

    name: str
    body: ast.ScriptBlockBody
    text: str
    source: str
    is_filter: bool = False
    help_comment: str | None = None  # comment-based help text (see ast.FunctionDefinition)

    def scriptblock(self) -> ScriptBlock:
        """The function body as a script block."""
        return ScriptBlock(self.body, self.text, self.source)


_CONSTANTS: dict[str, object] = {"true": True, "false": False, "null": None}
