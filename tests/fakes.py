"""A fake command context for unit-testing cmdlets without the interpreter."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pjsh.runtime.cancel import CancelToken
from pjsh.runtime.cmdlet import Cmdlet
from pjsh.runtime.errors import ErrorRecord, PSRuntimeError, make_error
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.session import Session


def fake_session(host: Any = None, **fields: Any) -> Session:
    """A bare session with the built-in commands (for cmdlet unit tests without a runspace)."""
    from pjsh.commands import builtin_registry

    return Session(host=host if host is not None else MemoryHost(),
                   registry=builtin_registry(), **fields)


@dataclass
class FakeContext:
    """Records everything a cmdlet writes. Script blocks cannot run here: use tests.harness."""

    command_name: str
    session: Session
    output: list[object] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    streams: list[tuple[str, object]] = field(default_factory=list)
    cancel: CancelToken = field(default_factory=CancelToken)

    def write_output(self, value: object) -> None:
        self.output.append(value)

    def write_error(self, record: ErrorRecord) -> None:
        self.errors.append(record)

    def write_warning(self, text: str) -> None:
        self.streams.append(("Warning", text))

    def write_verbose(self, text: str) -> None:
        self.streams.append(("Verbose", text))

    def write_debug(self, text: str) -> None:
        self.streams.append(("Debug", text))

    def write_information(self, value: object, tags: Sequence[str] = ()) -> None:
        self.streams.append(("Information", value))

    def write_progress(self, record: object) -> None:
        self.streams.append(("Progress", record))

    def write_host(self, text: str, newline: bool = True, fg: str | None = None,
                   bg: str | None = None) -> None:
        self.streams.append(("Host", text + ("\n" if newline else "")))

    def error(self, message: str, error_id: str, category: str = "NotSpecified",
              target: object = None,
              exception_type: str = "System.Management.Automation.RuntimeException") -> ErrorRecord:
        return make_error(message, error_id, category, target=target, command=self.command_name,
                          exception_type=exception_type)

    def throw(self, message: str, error_id: str, category: str = "NotSpecified",
              target: object = None,
              exception_type: str = "System.Management.Automation.RuntimeException") -> None:
        raise PSRuntimeError(self.error(message, error_id, category, target, exception_type))

    def invoke(self, block: Any, args: Sequence[object] = (), dollar_under: object = ...,
               input: Sequence[object] | None = None) -> list[object]:
        raise NotImplementedError("script blocks need the interpreter: use tests.harness.run")

    def invoke_to_output(self, block: Any, args: Sequence[object] = (),
                         dollar_under: object = ...) -> None:
        raise NotImplementedError("script blocks need the interpreter: use tests.harness.run")

    def byte_writer(self) -> None:
        return None

    def common_parameter(self, name: str) -> object:
        return None

    def caller(self) -> Any:
        raise NotImplementedError("the caller's scope needs the interpreter: use tests.harness.run")

    @property
    def stopping(self) -> bool:
        return self.cancel.is_set()


def run_cmdlet(cls: type[Cmdlet], params: dict[str, object] | None = None,
               pipeline: list[object] | None = None, session: Session | None = None,
               pipeline_param: str | None = None) -> FakeContext:
    """Run a cmdlet with already-converted parameter values (defaults filled from its spec).

    With ``pipeline``, each item is bound to ``pipeline_param`` and process() runs per item.
    """
    session = session or fake_session()
    ctx = FakeContext(cls.spec.name, session)
    values: dict[str, object] = {}
    for p in cls.spec.params:
        values.setdefault(p.name, p.default)
    values.update(params or {})
    bound = cls.args_type(values, cls.spec.default_set or "")
    bound.mark_explicit(set(params or {}))
    cmd = cls(ctx)  # type: ignore[arg-type]
    cmd.begin(bound)
    if pipeline is None:
        cmd.process(bound)
    else:
        for item in pipeline:
            vals = dict(values)
            if pipeline_param:
                vals[pipeline_param] = item
            b = cls.args_type(vals, bound.parameter_set)
            b.mark_explicit(set(params or {}) | ({pipeline_param} if pipeline_param else set()))
            cmd.process(b)
    cmd.end(bound)
    return ctx


class WaitSpy(CancelToken):
    """A cancel token that says (``waiting``) when a wait starts using it: tests request a
    stop exactly while a command is blocked, without sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(timeout)

    def add_callback(self, callback: Callable[[], None]) -> int:
        key = super().add_callback(callback)
        self.waiting.set()
        return key
