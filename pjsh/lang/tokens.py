"""Token kinds and tokens. One lexer produces these for the parser, highlighter and completer."""

from __future__ import annotations

import enum

from pjsh.lang.record import dataclass
from pjsh.lang.source import Span


class TokenKind(enum.Enum):
    """What a token is; the highlighter maps each kind to a style."""

    NEWLINE = "newline"
    SEMI = "semi"
    EOF = "eof"
    COMMENT = "comment"
    VARIABLE = "variable"
    SPLAT = "splat"
    NUMBER = "number"
    STRING = "string"  # quoted strings and here-strings, literal or expandable
    GENERIC = "generic"  # barewords: command names and arguments
    COMMAND = "command"  # a generic token in command-name position
    PARAMETER = "parameter"
    KEYWORD = "keyword"
    OPERATOR = "operator"
    PUNCT = "punct"
    TYPE = "type"
    MEMBER = "member"
    REDIRECTION = "redirection"


@dataclass(frozen=True)
class Token:
    """A token: its kind, exact source text and span."""

    kind: TokenKind
    text: str
    span: Span


KEYWORDS = frozenset({
    "if", "elseif", "else", "for", "foreach", "while", "do", "until", "function", "filter",
    "param", "return", "break", "continue", "exit", "throw", "try", "catch", "finally", "in",
    "begin", "process", "end", "switch", "trap", "class", "data", "dynamicparam",
})

# Operators spelled with a dash: -eq, -like ... (with c/i case prefixes where PowerShell has them).
_CASE_OPS = ("eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch", "contains",
             "notcontains", "in", "notin", "replace", "split")
DASH_OPERATORS = frozenset(
    list(_CASE_OPS) + ["c" + o for o in _CASE_OPS] + ["i" + o for o in _CASE_OPS]
    + ["and", "or", "xor", "not", "band", "bor", "bxor", "bnot", "shl", "shr", "f", "join",
       "is", "isnot", "as"]
)
