"""The pygments adapter colours pjsh input from pjsh's own tokens, covering every character once."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prompt_toolkit.document import Document
from prompt_toolkit.lexers import PygmentsLexer
from pygments.token import (
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

from pjsh.lang.tokens import TokenKind
from pjsh.repl.lexer import TOKEN_TYPES, PjshLexer

SAMPLES = [
    "",
    "Get-ChildItem -Path /tmp | Where-Object { $_.Name -like 'a*' } # note",
    "$x = 1 + 2; [int]$y = \"a $x $(1)\"",
    "if ($true) {\n  \"yes\"\n}",
    "foo `\n  -bar baz",
    "1 +* 2 foo",
    'x "unterminated string',
    "$h = @{ a = 1; b = @(1, 2) }\n$h.a",
    "ls -la > out.txt 2>&1 &",
    "$a = @\"\nhere $x\n\"@\n",
    "Write-Host 'héllo wörld' ✓",
    "   \n\t  ",
]


def lex(text: str) -> list[tuple[int, Any, str]]:
    """The adapter's (offset, token type, text) triples for ``text``."""
    return list(PjshLexer().get_tokens_unprocessed(text))


def kind_of(text: str, piece: str) -> Any:
    """The token type the adapter gives the first piece equal to ``piece``."""
    for _, ttype, value in lex(text):
        if value == piece:
            return ttype
    raise AssertionError(f"{piece!r} not among {lex(text)!r}")


def assert_covers(text: str) -> None:
    """Pieces are contiguous, in order, non-empty, and join back to the input."""
    pos = 0
    for offset, _, value in lex(text):
        assert offset == pos
        assert value
        assert text[offset:offset + len(value)] == value
        pos += len(value)
    assert pos == len(text)


@pytest.mark.parametrize("text", SAMPLES)
def test_pieces_cover_the_input_exactly_once_in_order(text: str) -> None:
    assert_covers(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab$-_ {}()[]|;&'\"`@#.,=+*/\\:\n\t1é<>")),
               max_size=40))
def test_any_input_is_covered_exactly_once(text: str) -> None:
    assert_covers(text)


def test_every_token_kind_has_a_pygments_type() -> None:
    assert set(TOKEN_TYPES) == set(TokenKind)


@pytest.mark.parametrize(("text", "piece", "expected"), [
    ("Get-ChildItem -Recurse", "Get-ChildItem", Name.Function),
    ("Get-ChildItem -Recurse", "-Recurse", Name.Attribute),
    ("$x + 1", "$x", Name.Variable),
    ("$x + 1", "+", Operator),
    ("$x + 1", "1", Number),
    ("echo 'hi'", "'hi'", String),
    ('echo "a $b"', '"a $b"', String),
    ("if ($a) { 1 }", "if", Keyword),
    ("if ($a) { 1 }", "{", Punctuation),
    ("1 # done", "# done", Comment),
    ("[int]'5'", "[int]", Name.Class),
    ("$p.Name", "Name", Name.Property),
    ("$a -eq 2", "-eq", Operator),
    ("ls > out.txt", ">", Operator),
    ("gci @splat", "@splat", Name.Variable),
    ("ls foo.txt", "foo.txt", Text),
])
def test_token_kinds_map_to_pygments_types(text: str, piece: str, expected: Any) -> None:
    assert kind_of(text, piece) is expected


def test_whitespace_between_tokens_is_whitespace() -> None:
    assert kind_of("a   b", "   ") is Text.Whitespace


def test_backtick_continuation_is_plain_text() -> None:
    assert kind_of("foo `\n  -bar", "`") is Text


def test_tail_after_a_syntax_error_is_marked_as_error() -> None:
    pieces = lex("1 +* 2")
    assert [(t, v) for _, t, v in pieces if v.strip()][-2:] == [(Error, "*"), (Error, "2")]


def test_unterminated_string_being_typed_is_coloured_as_string_not_error() -> None:
    pieces = [(t, v) for _, t, v in lex('echo "still typing') if v.strip()]
    assert pieces == [(Name.Function, "echo"), (String, '"still'), (String, "typing")]


def test_incomplete_input_tail_is_not_an_error() -> None:
    assert all(t is not Error for _, t, _ in lex("if ($true) {\n  Get-ChildItem |"))


def test_prompt_toolkit_wrapper_styles_each_line_from_the_same_tokens() -> None:
    text = 'Get-ChildItem -Path /tmp\n$x = "s"'
    lexer = PygmentsLexer(PjshLexer)
    get_line = lexer.lex_document(Document(text))
    first = get_line(0)
    second = get_line(1)
    assert "".join(fragment[1] for fragment in first) == "Get-ChildItem -Path /tmp"
    assert "".join(fragment[1] for fragment in second) == '$x = "s"'
    styles = {fragment[1]: fragment[0] for fragment in first + second}
    assert styles["Get-ChildItem"] == "class:pygments.name.function"
    assert styles["-Path"] == "class:pygments.name.attribute"
    assert styles["$x"] == "class:pygments.name.variable"
    assert styles['"s"'] == "class:pygments.literal.string"
