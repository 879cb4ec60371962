"""A runspace: a session plus its interpreter, and the entry points hosts call."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

from pjsh import __version__
from pjsh.lang import ast
from pjsh.lang.parser import ParseResult, parse
from pjsh.lang.record import dataclass
from pjsh.lang.source import ParseError
from pjsh.runtime.cancel import CancelToken
from pjsh.runtime.cmdlet import Registry
from pjsh.runtime.errors import (
    ErrorRecord,
    ExitSignal,
    FlowControl,
    PipelineStoppedSignal,
    PSRuntimeError,
    make_error,
)
from pjsh.runtime.host import Host
from pjsh.runtime.interpreter import Frame, Interpreter
from pjsh.runtime.scopes import Scope
from pjsh.runtime.session import ForegroundTerminal, JobEngineFactory, Session
from pjsh.runtime.streams import HostSink, Sink, Streams
from pjsh.runtime.values import Hashtable

# The error id of a Python exception that escaped the engine (a bug, reported not raised).
INTERNAL_ERROR_ID = "PjshInternalError"


@dataclass
class RunResult:
    """What running one piece of text did."""

    ok: bool  # $? after the last statement
    exit_code: int | None = None  # set by `exit N`
    incomplete: bool = False
    parse_error: ParseError | None = None
    stopped: bool = False  # ended early by Interpreter.request_stop()


# `native_stdin` value: the runspace opens /dev/null for its natives (and closes it with itself).
DEVNULL = -2


@dataclass(frozen=True)
class RunspaceOptions:
    """Everything a runspace is built from. Every runspace (the interactive shell, ``-c`` and
    scripts, thread jobs, ``-AsJob``, worker processes, a remote engine) is built by
    :func:`create_runspace` from one of these; nothing is patched into a runspace afterwards.
    """

    host: Host
    # The command table; the runspace takes a copy, so it cannot change the caller's.
    registry: Registry
    interactive: bool = False
    cwd: str | None = None  # None: the process's current directory
    env: Mapping[str, str] | None = None  # None: the process environment
    # The stop token: setting it stops the running script at its next check (Ctrl+C,
    # Stop-Job). None: the runspace makes its own.
    stop_event: CancelToken | None = None
    # stdin of foreground natives: None inherits pjsh's, DEVNULL gives them /dev/null (jobs,
    # scripted stdin: a native must never swallow the script or a terminal it does not own).
    native_stdin: int | None = None
    # Natives get their own process group (a job's runspace: Stop-Job ends them).
    isolate_natives: bool = False
    script_args: tuple[object, ...] = ()
    # Builds the session's job service on first use (None: this runspace cannot start jobs).
    jobs: JobEngineFactory | None = None
    # Sandboxing (fuzzing, untrusted text): False keeps PATH lookups from ever starting a
    # program; a write root confines redirections to files below it.
    natives_enabled: bool = True
    write_root: str | None = None
    # The console's terminal, lent to foreground native pipelines (job control). Never
    # inherited by a job's runspace (see derive).
    terminal: ForegroundTerminal | None = None
    # The host reads more input lines after this one (the console, scripted stdin), so
    # Enter-Session can send them to a remote runspace. Never inherited by a job's runspace.
    reads_lines: bool = False

    def derive(self, **changes: object) -> RunspaceOptions:
        """A copy with some fields changed (a job's runspace from its caller's options)."""
        values = {name: getattr(self, name) for name in _OPTION_FIELDS}
        values["terminal"] = None  # a job's natives never get the console's terminal
        values["reads_lines"] = False
        values.update(changes)
        return RunspaceOptions(**values)


_OPTION_FIELDS = ("host", "registry", "interactive", "cwd", "env", "stop_event", "native_stdin",
                  "isolate_natives", "script_args", "jobs", "natives_enabled", "write_root",
                  "reads_lines")


def create_runspace(options: RunspaceOptions) -> Runspace:
    """Build a runspace from its options (the one place runspaces are made)."""
    return Runspace(options)


class Runspace:
    """The engine for one session: run text, keep variables, directory and history."""

    def __init__(self, options: RunspaceOptions) -> None:
        self.options = options
        self._devnull: int | None = None
        stdin = options.native_stdin
        if stdin == DEVNULL:
            stdin = self._devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self.session = Session(
            host=options.host,
            interactive=options.interactive,
            cwd=options.cwd or _safe_cwd(),
            registry=options.registry.copy(),
            env=dict(os.environ if options.env is None else options.env),
            native_stdin=stdin,
            isolate_natives=options.isolate_natives,
            script_args=list(options.script_args),
            job_factory=options.jobs,
            terminal=options.terminal,
            options=options,
        )
        self.interp = Interpreter(self.session, options.stop_event or CancelToken())
        self.interp.natives_enabled = options.natives_enabled
        self.interp.write_root = options.write_root
        self._depth = 0  # nesting of run() calls (a cmdlet may run text while a script runs)
        self._init_variables()
        self.streams = Streams(self.session)

    def close(self) -> None:
        """Release what the runspace opened (its /dev/null for natives). Jobs are not
        stopped here: that is :meth:`Session.shutdown`, which the host decides on."""
        if self._devnull is not None:
            os.close(self._devnull)
            self._devnull = None

    def __enter__(self) -> Runspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _init_variables(self) -> None:
        g = self.session.global_scope
        g.is_script = True
        defaults: dict[str, object] = {
            "ErrorActionPreference": "Continue",
            "WarningPreference": "Continue",
            "VerbosePreference": "SilentlyContinue",
            "DebugPreference": "SilentlyContinue",
            "InformationPreference": "SilentlyContinue",
            "ProgressPreference": "Continue",
            "ConfirmPreference": "High",
            "?": True,
            "IsLinux": sys.platform.startswith("linux"),
            "IsMacOS": sys.platform == "darwin",
            "IsWindows": False,
            "IsCoreCLR": True,
            "PSVersionTable": Hashtable([("PSVersion", __version__), ("PSEdition", "Core"),
                                         ("Platform", "Unix"), ("OS", " ".join(os.uname()[:3])),
                                         ("PjshVersion", __version__)]),
            "PSEdition": "Core",
            "PSHOME": os.path.dirname(os.path.abspath(__file__)),
            "MaximumHistoryCount": 4096,
            "PjshNotifyJobs": True,
            "PjshJobToolbar": False,
            "ShellId": "pjsh",
            "NestedPromptLevel": 0,
            "args": list(self.session.script_args),
        }
        for k, v in defaults.items():
            g.set(k, v)

    def frame(self, source: str, origin: str = "", scope: Scope | None = None) -> Frame:
        """A top-level frame for some source text."""
        return Frame(scope or self.session.global_scope, self.streams, source, origin)

    def parse(self, text: str) -> ParseResult:
        """Parse without running (the REPL uses this to decide on continuation lines)."""
        return parse(text)

    def run(self, text: str, origin: str = "", out: Sink | None = None,
            scope: Scope | None = None, parsed: ParseResult | None = None) -> RunResult:
        """Parse (unless ``parsed`` is the parse of ``text``) and run text. Errors are shown
        through the host; nothing escapes."""
        result = parsed if parsed is not None else parse(text)
        if result.error is not None:
            if result.incomplete:
                return RunResult(False, incomplete=True, parse_error=result.error)
            self.report_parse_error(result.error, origin)
            return RunResult(False, parse_error=result.error)
        assert result.body is not None
        body = result.body
        sink = out if out is not None else HostSink(self.session)
        frame = self.frame(text, origin, scope)
        return self._execute(lambda: self.interp.run_body(body, frame, sink, top_level=True),
                             frame, sink)

    def _execute(self, work: Callable[[], None], frame: Frame, sink: Sink) -> RunResult:
        """Run ``work`` with the top-level error policy: errors are shown, nothing escapes
        but KeyboardInterrupt (and a stop of a nested run)."""
        # A stop asked for while nothing ran (Ctrl+C at an idle prompt) is not carried over.
        # (Checked first: clearing takes the event's lock, on every statement of a script.)
        if self._depth == 0 and self.interp.stop_event.is_set():
            self.interp.stop_event.clear()
        self._depth += 1
        try:
            work()
        except ExitSignal as e:
            self._flush(sink)
            self.session.exit_code = e.code
            return RunResult(e.code == 0, exit_code=e.code)
        except PSRuntimeError as e:
            self._flush(sink)
            self.interp.report(e.record, frame)
        except FlowControl:
            # break/continue/return outside a loop or function end the script quietly.
            pass
        except KeyboardInterrupt:
            self._flush(sink)
            self.interp.set_success(False)
            raise
        except PipelineStoppedSignal:
            self._flush(sink)
            self.interp.set_success(False)
            if self._depth > 1:
                raise  # a nested run (Invoke-Expression) stops its caller too
            return RunResult(False, stopped=True)
        except RecursionError:
            self._flush(sink)
            self.interp.report(make_error("The script failed due to call depth overflow.",
                                          "CallDepthOverflow", "InvalidOperation"), frame)
        except Exception as e:  # a bug must not end the shell
            # An engine or cmdlet bug: report it like any error, and keep the shell alive.
            self._flush(sink)
            self.interp.report(make_error(
                f"pjsh internal error: {type(e).__name__}: {e}. This is a bug in pjsh; "
                "please report it with the input that caused it.", INTERNAL_ERROR_ID,
                "NotSpecified", exception_type="System.InvalidOperationException"), frame)
        finally:
            self._depth -= 1
        self._flush(sink)
        ok = bool(self.session.global_scope.lookup("?")[1])
        return RunResult(ok)

    @staticmethod
    def _flush(sink: Sink) -> None:
        flush = getattr(sink, "flush", None)
        if flush is not None:
            flush()

    def report_parse_error(self, error: ParseError, origin: str = "") -> None:
        """Show a parse error (with its caret) and record it in $Error."""
        record = make_error(error.describe(origin), error.error_id, "ParserError",
                            exception_type="System.Management.Automation.ParseException")
        record.InvocationInfo.PositionMessage = ""
        self._show_raw(record)
        self.interp.set_success(False)

    def _show_raw(self, record: ErrorRecord) -> None:
        self.session.record_error(record)
        self.session.host.write_error(record)

    def run_file(self, path: str, args: list[str]) -> RunResult:
        """Run a script file with ``$args``."""
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as fh:
                text = fh.read()
        except OSError as e:
            self._show_raw(make_error(
                f"The argument '{path}' is not recognized as the name of a script file. Check the "
                f"spelling of the name, or if a path was included, verify that the path is correct "
                f"and try again. ({e.strerror})", "ScriptFileNotFound", "ObjectNotFound"))
            return RunResult(False, exit_code=64)
        scope = Scope(self.session.global_scope, is_script=True)
        scope.set("args", list(args))
        scope.set("PSCommandPath", os.path.abspath(path))
        scope.set("PSScriptRoot", os.path.dirname(os.path.abspath(path)))
        if text.startswith("#!"):
            text = "#" + text[2:]
        parsed = parse(text)
        if parsed.body is not None and parsed.body.params is not None:
            return self._run_script_with_params(parsed.body, text, os.path.abspath(path), args)
        result = self.run(text, origin=os.path.abspath(path), scope=scope)
        if result.incomplete and result.parse_error is not None:
            self.report_parse_error(result.parse_error, path)
            return RunResult(False)
        return result

    def _run_script_with_params(self, body: ast.ScriptBlockBody, text: str, path: str,
                                argv: list[str]) -> RunResult:
        """``pjsh script.ps1 -Name x 1``: the script's param() binds the command line like a
        command's parameters (named, abbreviated, positional, switches)."""
        from pjsh.lang.source import Span
        from pjsh.runtime.binder import Argument
        from pjsh.runtime.pipeline import ScriptStage
        from pjsh.runtime.scriptblock import ScriptBlock

        arguments: list[Argument] = []
        for i, word in enumerate(argv):
            if word == "--":
                arguments.append(Argument(None, word, True, word, i, end_of_params=True))
            elif len(word) > 1 and word[0] == "-" and (word[1].isalpha() or word[1] == "_"):
                name, colon, value = word[1:].partition(":")
                arguments.append(Argument(name, value if colon else None, bool(colon), word, i))
            else:
                arguments.append(Argument(None, word, True, word, i))
        here = Span(0, 0)
        node = ast.Command(here, ast.Constant(here, path, path), [], None)
        frame = self.frame(text, path)
        sink = HostSink(self.session)
        stage = ScriptStage(self.interp.pipelines, frame, node, os.path.basename(path),
                            ScriptBlock(body, text, text), False, arguments)
        inner = stage.inner.scope
        inner.is_script = True
        inner.set("PSCommandPath", path)
        inner.set("PSScriptRoot", os.path.dirname(path))
        stage.out = sink

        def work() -> None:
            stage.begin()
            stage.process_no_input()
            stage.end()

        return self._execute(work, frame, sink)


def _safe_cwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        return os.path.expanduser("~")
