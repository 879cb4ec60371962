"""Source spans and parse errors, with caret rendering (pure: no I/O)."""

from __future__ import annotations

from pjsh.lang.record import dataclass


@dataclass(frozen=True)
class Span:
    """A half-open range [start, end) of character offsets into one source text."""

    start: int
    end: int

    def join(self, other: Span) -> Span:
        """Return the smallest span covering both spans."""
        return Span(min(self.start, other.start), max(self.end, other.end))


def line_col(source: str, offset: int) -> tuple[int, int]:
    """Return the 1-based (line, column) of a character offset."""
    offset = max(0, min(offset, len(source)))
    line = source.count("\n", 0, offset) + 1
    col = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return line, col


def caret_lines(source: str, span: Span) -> list[str]:
    """Return the offending source line and a caret line underneath the span."""
    start = max(0, min(span.start, len(source)))
    line_start = source.rfind("\n", 0, start) + 1
    line_end = source.find("\n", start)
    if line_end < 0:
        line_end = len(source)
    text = source[line_start:line_end]
    col = start - line_start
    width = max(1, min(span.end, line_end) - start)
    return [text, " " * col + "~" * width if width > 1 else " " * col + "^"]


class ParseError(Exception):
    """A syntax error with an error id, a message and the span it points at."""

    def __init__(self, error_id: str, message: str, span: Span, source: str = "") -> None:
        super().__init__(message)
        self.error_id = error_id
        self.message = message
        self.span = span
        self.source = source

    def describe(self, origin: str = "") -> str:
        """Render the error PowerShell-style: where, the source line, a caret, the message."""
        line, col = line_col(self.source, self.span.start)
        where = f"{origin}:{line}:{col}" if origin else f"line {line}, column {col}"
        text, caret = caret_lines(self.source, self.span)
        return (
            f"ParserError: {where}\n"
            f"Line |\n"
            f"{line:>4} |  {text}\n"
            f"     |  {caret}\n"
            f"     | {self.message}"
        )
