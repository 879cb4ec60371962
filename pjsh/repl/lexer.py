"""Syntax highlighting: a pygments lexer that reuses pjsh's own tokens.

There is one lexer (:func:`pjsh.lang.parser.tokenize`) for the parser, the highlighter and the
completer, so what is coloured as a command is exactly what runs as one. This module only maps
token kinds to pygments token types and fills the gaps between tokens (whitespace, line
continuations, the unparsed tail after a syntax error) so that the whole input is covered
exactly once, in order. Imported only by the REPL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pygments.lexer import Lexer  # type: ignore[import-untyped, unused-ignore]
from pygments.token import (  # type: ignore[import-untyped, unused-ignore]
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
)

from pjsh.lang.parser import parse
from pjsh.lang.tokens import TokenKind

TOKEN_TYPES: dict[TokenKind, Any] = {
    TokenKind.NEWLINE: Text.Whitespace,
    TokenKind.SEMI: Punctuation,
    TokenKind.EOF: Text,
    TokenKind.COMMENT: Comment,
    TokenKind.VARIABLE: Name.Variable,
    TokenKind.SPLAT: Name.Variable,
    TokenKind.NUMBER: Number,
    TokenKind.STRING: String,
    TokenKind.GENERIC: Text,
    TokenKind.COMMAND: Name.Function,
    TokenKind.PARAMETER: Name.Attribute,
    TokenKind.KEYWORD: Keyword,
    TokenKind.OPERATOR: Operator,
    TokenKind.PUNCT: Punctuation,
    TokenKind.TYPE: Name.Class,
    TokenKind.MEMBER: Name.Property,
    TokenKind.REDIRECTION: Operator,
}

# PSReadLine's default colours, as prompt_toolkit style classes (pygments.<token type>).
PJSH_STYLE: dict[str, str] = {
    "pygments.name.function": "ansibrightyellow",  # Command: Yellow
    "pygments.name.attribute": "ansibrightblack",  # Parameter: DarkGray
    "pygments.name.variable": "ansibrightgreen",  # Variable: Green
    "pygments.literal.string": "ansicyan",  # String: DarkCyan
    "pygments.literal.number": "",  # Number: White (the default colour)
    "pygments.keyword": "ansibrightgreen",  # Keyword: Green
    "pygments.operator": "ansibrightblack",  # Operator: DarkGray
    "pygments.comment": "ansigreen",  # Comment: DarkGreen
    "pygments.name.class": "ansiwhite",  # Type: Gray
    "pygments.name.property": "",  # Member: White
    "pygments.error": "ansibrightred",  # Error: Red
}

_QUOTES = ("'", '"', "@'", '@"', "‘", "’", "“", "”")


def _gap(text: str, start: int, end: int, tail_type: Any) -> Iterator[tuple[int, Any, str]]:
    """Split ``text[start:end]`` into whitespace runs and other runs of type ``tail_type``."""
    pos = start
    while pos < end:
        space = text[pos].isspace()
        stop = pos + 1
        while stop < end and text[stop].isspace() == space:
            stop += 1
        yield pos, (Text.Whitespace if space else tail_type), text[pos:stop]
        pos = stop


class PjshLexer(Lexer):  # type: ignore[misc, unused-ignore]
    """Pygments lexer for pjsh input, driven by pjsh's own tokenizer."""

    name = "pjsh"
    aliases = ["pjsh"]
    filenames = ["*.ps1"]

    def get_tokens_unprocessed(self, text: str) -> Iterator[tuple[int, Any, str]]:
        """Yield ``(offset, token type, text)`` covering ``text`` exactly once, in order."""
        result = parse(text)
        pos = 0
        for token in result.tokens:
            start = max(token.span.start, pos)
            end = min(token.span.end, len(text))
            if end <= start:
                continue
            if start > pos:
                # Between tokens: whitespace, or a backtick line continuation.
                yield from _gap(text, pos, start, Text)
            yield start, TOKEN_TYPES.get(token.kind, Text), text[start:end]
            pos = end
        if pos < len(text):
            yield from _gap(text, pos, len(text), self._tail_type(text, pos, result))

    @staticmethod
    def _tail_type(text: str, pos: int, result: Any) -> Any:
        """What the unparsed tail is: a string still being typed, plain text, or an error."""
        if result.error is None:
            return Text
        if result.incomplete:
            return String if text[pos:].lstrip().startswith(_QUOTES) else Text
        return Error
