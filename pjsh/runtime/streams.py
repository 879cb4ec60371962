"""Output sinks and the non-success streams, with preference handling and redirection."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pjsh.lang.record import dataclass, field
from pjsh.runtime.errors import ErrorRecord
from pjsh.runtime.values import FormatOutput

if TYPE_CHECKING:
    from pjsh.runtime.session import Session


class Sink(Protocol):
    """Where a pipeline stage sends its output objects."""

    def send(self, value: object) -> None:
        """Accept one object."""


@runtime_checkable
class ByteSink(Sink, Protocol):
    """A sink that also takes raw bytes (a file redirection): a job's native output reaches
    it exactly as the program wrote it, never decoded."""

    def write_bytes(self, data: bytes) -> None:
        """Accept raw bytes."""


class ListSink:
    """Collects objects (for `$x = ...`, `$(...)`, captured function output)."""

    native_fd: int | None = None

    def __init__(self) -> None:
        self.items: list[object] = []

    def send(self, value: object) -> None:
        self.items.append(value)


class CollectSink(list):  # type: ignore[type-arg]
    """A ListSink that is its own list of items: made and filled once per captured function
    call, where ListSink's attribute and method call cost more than the call's own work."""

    native_fd: int | None = None
    send = list.append


class NullSink:
    """Discards objects (`> $null`, `Out-Null`)."""

    native_fd: int | None = None

    def send(self, value: object) -> None:
        return


class CallbackSink:
    """Calls a function per object."""

    native_fd: int | None = None

    def __init__(self, fn: Callable[[object], None]) -> None:
        self.fn = fn

    def send(self, value: object) -> None:
        self.fn(value)


class CallbackByteSink(CallbackSink):
    """Calls a function per object and another per chunk of raw native bytes (a job's
    output: a native's bytes are stored as bytes, as the process backend stores them)."""

    def __init__(self, fn: Callable[[object], None], bytes_fn: Callable[[bytes], None]) -> None:
        super().__init__(fn)
        self.bytes_fn = bytes_fn

    def write_bytes(self, data: bytes) -> None:
        """Raw bytes, as the program wrote them."""
        self.bytes_fn(data)


class HostSink:
    """The default output: objects are formatted and shown by the host (Out-Default).
    A native command writing here may inherit the host's stdout descriptor directly."""

    def __init__(self, session: Session) -> None:
        from pjsh.runtime.formatting import OutDefault

        self.session = session
        self._out = OutDefault(lambda blocks: session.host.write_format(blocks),
                               session.registry.views)
        self.native_fd = session.host.native_stdio()[0]

    def send(self, value: object) -> None:
        if isinstance(value, FormatOutput):  # Format-Table/-List output: already formatted
            self._out.flush()
            self.session.host.write_format(value.blocks)
            return
        self._out.add(value)

    def flush(self) -> None:
        """Emit anything the formatter is holding back (end of a statement)."""
        self._out.flush()
        self.session.host.flush()


PREFERENCE_VARS = {
    "Error": "ErrorActionPreference",
    "Warning": "WarningPreference",
    "Verbose": "VerbosePreference",
    "Debug": "DebugPreference",
    "Information": "InformationPreference",
    "Progress": "ProgressPreference",
}


@dataclass
class Streams:
    """The six non-success streams of a running command, routed to the host by default.
    Redirections replace individual routes; preferences decide what is shown."""

    session: Session
    error: Callable[[ErrorRecord], None] | None = None
    warning: Callable[[str], None] | None = None
    verbose: Callable[[str], None] | None = None
    debug: Callable[[str], None] | None = None
    information: Callable[[object], None] | None = None
    host_text: Callable[[str, bool, str | None, str | None], None] | None = None
    progress: Callable[[object], None] | None = None
    native_err_fd: int | None = field(default=None)

    def copy(self) -> Streams:
        """A copy whose routes can be replaced without touching this one."""
        return Streams(self.session, self.error, self.warning, self.verbose, self.debug,
                       self.information, self.host_text, self.progress, self.native_err_fd)

    def write_error(self, record: ErrorRecord) -> None:
        """Route an error record (already filtered by -ErrorAction)."""
        if self.error is not None:
            self.error(record)
        else:
            self.session.host.write_error(record)

    def write_warning(self, text: str) -> None:
        if self.warning is not None:
            self.warning(text)
        else:
            self.session.host.write_stream("Warning", text)

    def write_verbose(self, text: str) -> None:
        if self.verbose is not None:
            self.verbose(text)
        else:
            self.session.host.write_stream("Verbose", text)

    def write_debug(self, text: str) -> None:
        if self.debug is not None:
            self.debug(text)
        else:
            self.session.host.write_stream("Debug", text)

    def write_information(self, value: object) -> None:
        if self.information is not None:
            self.information(value)
        else:
            from pjsh.runtime.convert import to_string

            self.session.host.write_stream("Information", to_string(value))

    def write_host(self, text: str, newline: bool, fg: str | None, bg: str | None) -> None:
        if self.host_text is not None:
            self.host_text(text, newline, fg, bg)
        else:
            self.session.host.write_host(text, newline, fg, bg)

    def write_progress(self, record: object) -> None:
        if self.progress is not None:
            self.progress(record)
        else:
            self.session.host.write_progress(record)
