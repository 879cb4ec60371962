"""Render the engine's format model on the console with rich.

The layout (columns, widths, ``…`` truncation, blank lines) comes from
:func:`pjsh.runtime.formatting.layout_lines`, the same code that produces the plain-text
rendering, so the terminal and ``Out-String`` never disagree; this module only adds
PowerShell's colours: table headers and list labels in bold green (``$PSStyle.Formatting``'s
TableHeader and FormatAccent), errors in red.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rich.console import Console
from rich.text import Text

from pjsh.runtime.formatting import ROLE_HEADER, ROLE_LABEL, Block, layout_lines

TABLE_HEADER_STYLE = "bold green"
FORMAT_ACCENT_STYLE = "bold green"
ERROR_STYLE = "red"

_STYLES = {ROLE_HEADER: TABLE_HEADER_STYLE, ROLE_LABEL: FORMAT_ACCENT_STYLE}


class Describable(Protocol):
    """Anything that renders itself as error text (ErrorRecord, ParseError)."""

    def describe(self) -> str:
        """Return the error as PowerShell shows it."""


def blocks_to_text(blocks: Sequence[Block], width: int) -> Text:
    """Lay blocks out for ``width`` columns as one styled rich Text (one line per row)."""
    text = Text(end="")
    for line in layout_lines(blocks, width):
        for segment, role in line:
            text.append(segment, _STYLES.get(role))
        text.append("\n")
    return text


def render_blocks(blocks: Sequence[Block], console: Console) -> None:
    """Print format blocks on a rich console, laid out for the console's width."""
    text = blocks_to_text(blocks, console.width)
    if text.plain:
        # The lines are already laid out: rich must neither wrap nor crop them. Long text
        # lines (plain strings) are left to the terminal to wrap, like any shell output.
        console.print(text, soft_wrap=True, highlight=False, end="")


def render_error(record: Describable, console: Console) -> None:
    """Print an error record (its ConciseView text) in red."""
    console.print(
        Text(record.describe(), style=ERROR_STYLE), soft_wrap=True, highlight=False
    )
