"""The hand-written, mode-aware lexer.

PowerShell tokenizes differently in expression mode and argument mode, so the parser asks
for the next token in the mode it is in. Every token handed out is recorded (in source order),
which is how the highlighter and completer reuse this one lexer.
"""

from __future__ import annotations

import re

from pjsh.lang.source import ParseError, Span
from pjsh.lang.tokens import DASH_OPERATORS, KEYWORDS, Token, TokenKind

# Characters that end a bareword in argument mode.
ARG_TERMINATORS = frozenset(" \t\r\n;|&(){},<>")
# Characters that end a command name.
_VAR_CHARS = re.compile(r"[A-Za-z0-9_?]")
_NUMBER_RE = re.compile(
    r"0[xX][0-9a-fA-F]+(?:[lL])?(?:[kKmMgGtTpP][bB])?"
    r"|(?:\d+(?:\.(?!\.)\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)(?:[dDlL])?(?:[kKmMgGtTpP][bB])?"
)
_SYMBOL_OPS = (
    "2>&1", "1>&2", "*>&1", "3>&1", "4>&1", "5>&1", "6>&1",
    "*>>", "2>>", "1>>", "3>>", "4>>", "5>>", "6>>",
    "&&", "||", "++", "--", "+=", "-=", "*=", "/=", "%=", "..", "::", ">>", "*>", "2>", "1>", "3>",
    "4>", "5>", "6>", "@(", "@{", "$(", "==",
    "=", "+", "-", "*", "/", "%", "!", ",", ".", "|", "&", ">", "<", "(", ")", "{", "}", "[", "]",
    ";",
)
REDIRECTION_OPS = frozenset({"2>&1", "1>&2", "*>&1", "3>&1", "4>&1", "5>&1", "6>&1", "*>>",
                             "2>>", "1>>", "3>>", "4>>", "5>>", "6>>", ">>", "*>", "2>", "1>",
                             "3>", "4>", "5>", "6>", ">"})
DASHES = "-\u2013\u2014\u2015"


class IncompleteInput(ParseError):
    """Input ended where more was needed (open brace or quote, trailing pipe)."""


class Lexer:
    """A character scanner with mode-specific token readers, used by the parser."""

    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.tokens: list[Token] = []

    # ------------------------------------------------------------ basics
    def peek_char(self, offset: int = 0) -> str:
        """The character at pos+offset, or NUL at the end (so membership tests stay false)."""
        i = self.pos + offset
        return self.src[i] if i < len(self.src) else "\0"

    def at_end(self) -> bool:
        """True at the end of the source."""
        return self.pos >= len(self.src)

    def emit(self, kind: TokenKind, start: int, end: int | None = None) -> Token:
        """Record and return a token spanning [start, end)."""
        end = self.pos if end is None else end
        tok = Token(kind, self.src[start:end], Span(start, end))
        if self.tokens and self.tokens[-1].span.start >= start:
            # The parser re-read this region (it backtracked): drop the stale tokens.
            while self.tokens and self.tokens[-1].span.start >= start:
                self.tokens.pop()
        self.tokens.append(tok)
        return tok

    def error(self, error_id: str, message: str, start: int, end: int | None = None) -> ParseError:
        """Build a parse error at [start, end)."""
        return ParseError(error_id, message, Span(start, end if end is not None else start + 1),
                          self.src)

    def incomplete(self, error_id: str, message: str, start: int | None = None) -> IncompleteInput:
        """Build an incomplete-input result at the end of the source (or at ``start``)."""
        s = len(self.src) if start is None else start
        return IncompleteInput(error_id, message, Span(s, max(s + 1, len(self.src))), self.src)

    def skip_space(self, newlines: bool = False) -> None:
        """Skip blanks, line continuations and comments (and newlines when asked)."""
        src = self.src
        while self.pos < len(src):
            c = src[self.pos]
            if c in " \t\f\v\u00a0\ufeff":
                self.pos += 1
            elif c == "`" and self.pos + 1 < len(src) and src[self.pos + 1] in "\r\n":
                self.pos += 2
                if src[self.pos - 1] == "\r" and self.peek_char() == "\n":
                    self.pos += 1
                if self.pos >= len(src):
                    # A line continuation at the end of the input asks for the next line.
                    raise self.incomplete("IncompleteInput", "Unexpected end of input.")
            elif c == "#":
                start = self.pos
                end = src.find("\n", self.pos)
                self.pos = len(src) if end < 0 else end
                self.emit(TokenKind.COMMENT, start)
            elif c == "<" and self.peek_char(1) == "#":
                start = self.pos
                end = src.find("#>", self.pos + 2)
                if end < 0:
                    raise self.incomplete("MissingEndOfComment",
                                          "The string is missing the terminator: #>.", start)
                self.pos = end + 2
                self.emit(TokenKind.COMMENT, start)
            elif newlines and c in "\r\n":
                self.pos += 1
            else:
                break

    def skip_newlines_and_space(self) -> None:
        """Skip blanks, comments and newlines."""
        self.skip_space(newlines=True)

    def match(self, text: str) -> bool:
        """Consume ``text`` if the source continues with it."""
        if self.src.startswith(text, self.pos):
            self.pos += len(text)
            return True
        return False

    def looking_at(self, text: str) -> bool:
        """Tell whether the source continues with ``text``."""
        return self.src.startswith(text, self.pos)

    # ------------------------------------------------------------ readers
    def read_symbol(self) -> str | None:
        """Read the longest symbol operator at pos (no token emitted)."""
        for op in _SYMBOL_OPS:
            if self.src.startswith(op, self.pos):
                self.pos += len(op)
                return op
        return None

    def peek_symbol(self) -> str | None:
        """The symbol operator at pos, without consuming it."""
        save = self.pos
        op = self.read_symbol()
        self.pos = save
        return op

    def read_number(self) -> tuple[object, str] | None:
        """Read a number literal if one is at pos (followed by a non-word character)."""
        m = _NUMBER_RE.match(self.src, self.pos)
        if not m or not m.group(0):
            return None
        end = m.end()
        if end < len(self.src) and (self.src[end].isalnum() or self.src[end] == "_"):
            return None
        text = m.group(0)
        value = number_value(text)
        if value is None:
            return None
        self.pos = end
        return value, text

    def read_variable_name(self) -> tuple[str, str | None, bool]:
        """Read after ``$``/``@``: returns (name, scope, braced). pos is after the sigil."""
        src = self.src
        if self.peek_char() == "{":
            end = src.find("}", self.pos + 1)
            if end < 0:
                raise self.incomplete("IncompleteDollarVariableReference",
                                      "Missing '}' in variable reference.")
            full = src[self.pos + 1:end]
            self.pos = end + 1
            scope, name = split_scope(full)
            return name, scope, True
        c = self.peek_char()
        if c in ("$", "?", "^") :
            self.pos += 1
            return c, None, False
        start = self.pos
        while self.pos < len(src) and (src[self.pos].isalnum() or src[self.pos] == "_"
                                       or (src[self.pos] == "?" and self.pos == start)):
            self.pos += 1
        # scope prefix: $env:HOME, $global:x, $using:x
        if (self.pos < len(src) and src[self.pos] == ":" and self.pos > start
                and self.pos + 1 < len(src) and (src[self.pos + 1].isalnum()
                                                 or src[self.pos + 1] == "_")):
            scope = src[start:self.pos]
            self.pos += 1
            nstart = self.pos
            while self.pos < len(src) and (src[self.pos].isalnum() or src[self.pos] in "_"):
                self.pos += 1
            return src[nstart:self.pos], scope, False
        return src[start:self.pos], None, False

    def read_single_quoted(self, start: int) -> str:
        """Read a '...' string (pos after the opening quote); '' is an escaped quote."""
        src = self.src
        out: list[str] = []
        while True:
            if self.pos >= len(src):
                raise self.incomplete("TerminatorExpectedAtEndOfString",
                                      "The string is missing the terminator: '.", start)
            c = src[self.pos]
            if c in "'\u2018\u2019\u201a\u201b":
                if self.pos + 1 < len(src) and src[self.pos + 1] in "'\u2018\u2019\u201a\u201b":
                    out.append("'")
                    self.pos += 2
                    continue
                self.pos += 1
                return "".join(out)
            out.append(c)
            self.pos += 1

    def find_double_quoted_end(self, start: int) -> int:
        """Find the closing quote of a "..." string whose body starts at pos; return its index.
        ``$( ... )`` bodies are skipped with their own nesting and quotes."""
        src = self.src
        i = self.pos
        while i < len(src):
            c = src[i]
            if c == "`":
                i += 2
                continue
            if c in '"\u201c\u201d\u201e':
                if i + 1 < len(src) and src[i + 1] in '"\u201c\u201d\u201e':
                    i += 2
                    continue
                return i
            if c == "$" and i + 1 < len(src) and src[i + 1] == "(":
                i = self.skip_balanced(i + 1, start)
                continue
            i += 1
        raise self.incomplete("TerminatorExpectedAtEndOfString",
                              'The string is missing the terminator: ".', start)

    def skip_balanced(self, i: int, start: int) -> int:
        """From an opening paren at i, return the index after its matching close."""
        src = self.src
        depth = 0
        while i < len(src):
            c = src[i]
            if c in "({":
                depth += 1
            elif c in ")}":
                depth -= 1
                if depth == 0:
                    return i + 1
            elif c == "'":
                j = i + 1
                while j < len(src) and src[j] != "'":
                    j += 1
                i = j
            elif c == '"':
                j = i + 1
                while j < len(src) and src[j] != '"':
                    j += 2 if src[j] == "`" else 1
                i = j
            elif c == "`":
                i += 1
            i += 1
        raise self.incomplete("TerminatorExpectedAtEndOfString",
                              "Missing closing ')' in subexpression.", start)

    def read_here_string(self, quote: str, start: int) -> tuple[str, int]:
        """Read a here-string body (pos after @" or @'); returns (body, body_start)."""
        src = self.src
        # the opening must be followed by a newline
        self.skip_space()
        if self.peek_char() not in "\r\n":
            raise self.error("UnexpectedCharactersAfterHereStringHeader",
                             "No characters are allowed after a here-string header but before "
                             "the end of the line.", self.pos)
        if self.match("\r\n") or self.match("\n") or self.match("\r"):
            pass
        body_start = self.pos
        pattern = re.compile(r"\r?\n" + re.escape(quote) + "@")
        m = pattern.search(src, self.pos)
        if m is None:
            # An empty here-string closes on the very next line.
            if src.startswith(quote + "@", self.pos):
                self.pos += 2
                return "", body_start
            raise self.incomplete("TerminatorExpectedAtEndOfString",
                                  f"The string is missing the terminator: {quote}@.", start)
        body = src[body_start:m.start()]
        self.pos = m.end()
        return body, body_start


def split_scope(full: str) -> tuple[str | None, str]:
    """Split ``scope:name`` (only for known scopes and drives) into (scope, name)."""
    if ":" in full:
        scope, _, name = full.partition(":")
        if scope.lower() in ("global", "local", "script", "private", "using", "env", "variable",
                             "function"):
            return scope.lower(), name
    return None, full


def number_value(text: str) -> int | float | None:
    """The value of a number literal (``0x10``, ``1.5e3``, ``10kb``, ``5L``)."""
    t = text.lower()
    mult = 1
    for suffix, m in (("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("tb", 1 << 40),
                      ("pb", 1 << 50)):
        if t.endswith(suffix):
            t, mult = t[:-2], m
            break
    if t.startswith("0x"):
        t = t.rstrip("l")
        try:
            return int(t, 16) * mult
        except ValueError:
            return None
    kind = ""
    if t and t[-1] in "dl":
        kind, t = t[-1], t[:-1]
    try:
        if any(ch in t for ch in ".e") or kind == "d":
            value: int | float = float(t) * mult
            if kind != "d" and mult != 1 and float(value).is_integer():
                return int(value)
            return value
        return int(t) * mult
    except ValueError:
        return None


def is_dash(c: str) -> bool:
    """Tell whether c is a dash (PowerShell accepts en/em dashes too)."""
    return c != "" and c in DASHES


def dash_operator_at(src: str, pos: int) -> str | None:
    """If a dash operator like ``-eq`` starts at pos, return its lower-case name."""
    if pos >= len(src) or not is_dash(src[pos]):
        return None
    end = pos + 1
    while end < len(src) and src[end].isalpha():
        end += 1
    name = src[pos + 1:end].lower()
    if name in DASH_OPERATORS and (end >= len(src) or not (src[end].isalnum() or src[end] in "_")):
        return name
    return None


def is_keyword(word: str) -> bool:
    """Tell whether a bareword is a language keyword."""
    return word.lower() in KEYWORDS
