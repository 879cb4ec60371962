"""Run pjsh script text through the real engine with an in-memory host."""

from __future__ import annotations

from dataclasses import dataclass, field

from pjsh.engine import local_options
from pjsh.runtime.errors import ErrorRecord
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.runspace import Runspace, create_runspace
from pjsh.runtime.streams import ListSink


@dataclass
class RunResult:
    """Output objects, errors shown, and the host's text for one run."""

    output: list[object]
    errors: list[ErrorRecord]
    text: str
    ok: bool
    exit_code: int | None
    host: MemoryHost = field(repr=False, default_factory=MemoryHost)
    runspace: Runspace | None = field(repr=False, default=None)

    @property
    def messages(self) -> list[str]:
        """The error messages, in order."""
        return [e.message for e in self.errors]


def new_runspace(cwd: str | None = None) -> Runspace:
    """A fresh runspace on a memory host."""
    return create_runspace(local_options(MemoryHost(), cwd=cwd))


def run(text: str, runspace: Runspace | None = None, cwd: str | None = None) -> RunResult:
    """Run text; success output objects are captured (not formatted) in ``output``."""
    rs = runspace or new_runspace(cwd)
    host = rs.session.host
    assert isinstance(host, MemoryHost)
    before = len(host.errors)
    sink = ListSink()
    result = rs.run(text, out=sink)
    if result.parse_error is not None and not result.incomplete:
        pass
    return RunResult(sink.items, host.errors[before:], host.output, result.ok, result.exit_code,
                     host, rs)


def show(text: str, runspace: Runspace | None = None, cwd: str | None = None) -> RunResult:
    """Run text with default (formatted) output, as the console would show it."""
    rs = runspace or new_runspace(cwd)
    host = rs.session.host
    assert isinstance(host, MemoryHost)
    before_err = len(host.errors)
    before_text = len(host.text)
    result = rs.run(text)
    return RunResult([], host.errors[before_err:], "".join(host.text[before_text:]), result.ok,
                     result.exit_code, host, rs)
