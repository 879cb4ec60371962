"""The mode-aware lexer: token kinds and exact spans, number literals, comments, strings,
variables with scopes, and incomplete input as a result (never an exception)."""

from __future__ import annotations

import pytest

from pjsh.lang.lexer import Lexer, dash_operator_at, is_keyword, number_value, split_scope
from pjsh.lang.parser import parse, tokenize
from pjsh.lang.source import ParseError, Span, caret_lines, line_col
from pjsh.lang.tokens import TokenKind


def kinds(src: str) -> list[tuple[str, str]]:
    """(kind, text) of every token."""
    return [(t.kind.name, t.text) for t in tokenize(src)]


def test_a_command_line_tokenizes_into_command_parameter_argument_and_comment() -> None:
    assert kinds("Get-ChildItem -Path /tmp | Sort-Object # why") == [
        ("COMMAND", "Get-ChildItem"), ("PARAMETER", "-Path"), ("GENERIC", "/tmp"),
        ("PUNCT", "|"), ("COMMAND", "Sort-Object"), ("COMMENT", "# why")]


def test_an_expression_statement_tokenizes_variables_operators_and_numbers() -> None:
    assert kinds('$x = "a $b" + 0x10') == [
        ("VARIABLE", "$x"), ("OPERATOR", "="), ("STRING", '"a $b"'), ("OPERATOR", "+"),
        ("NUMBER", "0x10")]


def test_keywords_types_and_members_have_their_own_kinds() -> None:
    toks = kinds("if ([int]$a.Length -eq 1) { 2 } else { 3 }")
    assert ("KEYWORD", "if") in toks and ("KEYWORD", "else") in toks
    assert ("TYPE", "[int]") in toks and ("MEMBER", "Length") in toks
    assert ("OPERATOR", "-eq") in toks


def test_block_comments_and_redirections_are_tokens() -> None:
    assert kinds("<# c\n #> echo x 2>&1 > out.txt") == [
        ("COMMENT", "<# c\n #>"), ("COMMAND", "echo"), ("GENERIC", "x"),
        ("REDIRECTION", "2>&1"), ("REDIRECTION", ">"), ("GENERIC", "out.txt")]


@pytest.mark.parametrize("src", [
    "Get-ChildItem -Path /tmp | Where-Object { $_.Length -gt 10kb } # note",
    "$h = @{ a = 1; 'b c' = \"x$($y)z\" }; $h['a']",
    "function f { param([int]$n = 3) $n * 2 }; f -n:4",
    "foreach ($i in 1..3) { \"$i\" } ; while ($false) {}",
])
def test_every_token_text_is_exactly_its_span_in_the_source(src: str) -> None:
    toks = tokenize(src)
    assert toks, src
    for t in toks:
        assert src[t.span.start:t.span.end] == t.text
    starts = [t.span.start for t in toks]
    assert starts == sorted(starts)


@pytest.mark.parametrize(("text", "value"), [
    ("10", 10), ("0x1F", 31), ("1.5", 1.5), ("1e3", 1000.0), ("10kb", 10240), ("2MB", 2097152),
    ("1gb", 1 << 30), ("5L", 5), ("3d", 3.0), (".5", 0.5), ("1.5kb", 1536), ("0x10kb", 16384),
])
def test_number_literals_have_powershell_values(text: str, value: object) -> None:
    v = number_value(text)
    assert v == value and type(v) is type(value)


def test_a_word_that_starts_with_digits_is_not_a_number() -> None:
    assert number_value("7z") is None
    lx = Lexer("2to3 x")
    assert lx.read_number() is None and lx.pos == 0


@pytest.mark.parametrize(("src", "expected"), [
    ("$env:HOME", ("HOME", "env", False)), ("$global:x", ("x", "global", False)),
    ("${a b}", ("a b", None, True)), ("${env:PATH}", ("PATH", "env", True)),
    ("$_", ("_", None, False)), ("$?", ("?", None, False)), ("$$", ("$", None, False)),
])
def test_variable_names_with_scopes_and_braces(src: str, expected: tuple[object, ...]) -> None:
    lx = Lexer(src)
    lx.pos = 1
    assert lx.read_variable_name() == expected


def test_scope_split_only_for_known_scopes() -> None:
    assert split_scope("script:x") == ("script", "x")
    assert split_scope("Using:y") == ("using", "y")
    assert split_scope("c:foo") == (None, "c:foo")


def test_dash_operators_are_recognised_case_insensitively_and_with_unicode_dashes() -> None:
    assert dash_operator_at("-EQ 1", 0) == "eq"
    assert dash_operator_at("\u2013like x", 0) == "like"
    assert dash_operator_at("-cnotmatch x", 0) == "cnotmatch"
    assert dash_operator_at("-eqx", 0) is None
    assert dash_operator_at("-Path", 0) is None
    assert is_keyword("ForEach") and not is_keyword("Get-Item")


def test_single_quoted_strings_double_the_quote_to_escape_it() -> None:
    lx = Lexer("'it''s'")
    lx.pos = 1
    assert lx.read_single_quoted(0) == "it's"


@pytest.mark.parametrize(("src", "error_id"), [
    ("'abc", "TerminatorExpectedAtEndOfString"),
    ('"abc', "TerminatorExpectedAtEndOfString"),
    ("<# open", "MissingEndOfComment"),
    ("@'\nbody", "TerminatorExpectedAtEndOfString"),
    ("${name", "IncompleteDollarVariableReference"),
    ("echo a `\n", "IncompleteInput"),
])
def test_unterminated_input_is_an_incomplete_result(src: str, error_id: str) -> None:
    r = parse(src)
    assert r.incomplete, src
    assert r.error is not None and r.error.error_id == error_id


def test_here_string_header_must_end_its_line() -> None:
    r = parse("@\" x\nbody\n\"@")
    assert r.error is not None and not r.incomplete
    assert r.error.error_id == "UnexpectedCharactersAfterHereStringHeader"


def test_line_col_and_caret_lines_point_at_the_span() -> None:
    src = "first\n  second line"
    assert line_col(src, 0) == (1, 1)
    assert line_col(src, 8) == (2, 3)
    assert caret_lines(src, Span(8, 14)) == ["  second line", "  ~~~~~~"]
    assert caret_lines(src, Span(8, 9)) == ["  second line", "  ^"]


def test_parse_error_describe_has_position_source_line_and_caret() -> None:
    err = ParseError("X", "Bad thing.", Span(4, 5), "$a = )")
    text = err.describe()
    assert text.splitlines() == [
        "ParserError: line 1, column 5",
        "Line |",
        "   1 |  $a = )",
        "     |      ^",
        "     | Bad thing.",
    ]
    assert err.describe("s.ps1").startswith("ParserError: s.ps1:1:5")


def test_comment_token_kind_is_comment() -> None:
    toks = tokenize("1 # c")
    assert toks[-1].kind is TokenKind.COMMENT
