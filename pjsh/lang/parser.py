"""Recursive-descent parser: source text → AST (pure: no I/O).

The first token of a statement decides whether it is parsed in expression mode (``$x``,
numbers, quotes, parentheses...) or argument mode (a command name), never runtime state.
Input that stops where more is needed gives an *incomplete* result, not an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pjsh.lang import ast
from pjsh.lang.lexer import (
    ARG_TERMINATORS,
    REDIRECTION_OPS,
    IncompleteInput,
    Lexer,
    dash_operator_at,
    is_dash,
    split_scope,
)
from pjsh.lang.record import dataclass, field
from pjsh.lang.source import ParseError, Span
from pjsh.lang.tokens import KEYWORDS, Token, TokenKind

_LOGICAL = ("and", "or", "xor")
_COMPARISON = frozenset(
    [p + o for p in ("", "c", "i") for o in ("eq", "ne", "gt", "ge", "lt", "le", "like", "notlike",
                                             "match", "notmatch", "contains", "notcontains", "in",
                                             "notin", "replace", "split")]
    + ["join", "is", "isnot", "as"]
)
_BITWISE = ("band", "bor", "bxor", "shl", "shr")
_ASSIGN_OPS = ("=", "+=", "-=", "*=", "/=", "%=")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "a": "\a", "b": "\b", "e": "\x1b",
            "f": "\f", "v": "\v"}


@dataclass
class ParseResult:
    """The outcome of parsing: an AST, or an error; ``incomplete`` means "need more lines"."""

    body: ast.ScriptBlockBody | None
    error: ParseError | None = None
    tokens: list[Token] = field(default_factory=list)

    @property
    def incomplete(self) -> bool:
        """True when the input ended where more was needed (open brace, quote, trailing |)."""
        return isinstance(self.error, IncompleteInput)


def parse(source: str) -> ParseResult:
    """Parse a whole script."""
    p = Parser(source)
    try:
        body = p.parse_script()
        return ParseResult(body, None, p.lx.tokens)
    except ParseError as e:
        return ParseResult(None, e, p.lx.tokens)
    except RecursionError:
        # Nesting deeper than the parser's recursion allows is a parse error, not a crash.
        at = min(p.lx.pos, max(len(source) - 1, 0))
        err = ParseError("NestingTooDeep", "The script is nested too deeply to be parsed.",
                         Span(at, at + 1), source)
        return ParseResult(None, err, p.lx.tokens)


def tokenize(source: str) -> list[Token]:
    """Tokens of as much of ``source`` as parses (for highlighting and completion)."""
    return parse(source).tokens


class Parser:
    """The parser; drives the mode-aware lexer directly."""

    def __init__(self, source: str) -> None:
        self.src = source
        self.lx = Lexer(source)

    # ------------------------------------------------------------ helpers
    @property
    def pos(self) -> int:
        return self.lx.pos

    def ch(self, offset: int = 0) -> str:
        return self.lx.peek_char(offset)

    def span_from(self, start: int) -> Span:
        """The span from ``start`` to here, without the blanks skipped after the last token."""
        end = self.lx.pos
        while end > start and self.src[end - 1] in " \t" and not (
                end - 2 >= start and self.src[end - 2] == "`"):
            end -= 1
        return Span(start, max(start, end))

    def fail(self, error_id: str, message: str, start: int | None = None,
             end: int | None = None) -> ParseError:
        """An error at ``start`` (default: here); at the end of input it is 'incomplete'."""
        s = self.pos if start is None else start
        if s >= len(self.src) or (s >= self.pos and not self.src[s:].strip()):
            # Only blanks left: the construct continues on a line not typed yet.
            return self.lx.incomplete(error_id, message)
        return self.lx.error(error_id, message, s, end if end is not None else s + 1)

    def unexpected(self) -> ParseError:
        """'Unexpected token' at the current position."""
        start = self.pos
        if start >= len(self.src):
            return self.lx.incomplete("IncompleteInput", "Unexpected end of input.")
        end = start + 1
        while end < len(self.src) and self.src[end] not in " \t\r\n;|(){}":
            end += 1
        text = self.src[start:end]
        return self.lx.error("UnexpectedToken",
                             f"Unexpected token '{text}' in expression or statement.", start, end)

    def expect(self, text: str, error_id: str, message: str) -> None:
        """Consume ``text`` or fail (incomplete at end of input)."""
        if not self.lx.looking_at(text):
            raise self.fail(error_id, message)
        start = self.pos
        self.lx.pos += len(text)
        self.lx.emit(TokenKind.PUNCT, start)

    def punct(self, text: str) -> bool:
        """Consume a punctuation token if present."""
        if self.lx.looking_at(text):
            start = self.pos
            self.lx.pos += len(text)
            self.lx.emit(TokenKind.PUNCT, start)
            return True
        return False

    def peek_word(self) -> str:
        """The bareword at pos (up to a terminator), lower-cased, without consuming."""
        src = self.src
        i = self.pos
        while i < len(src) and src[i] not in ARG_TERMINATORS and src[i] not in "=,'\"$[":
            i += 1
        return src[self.pos:i].lower()

    def take_word(self, kind: TokenKind = TokenKind.KEYWORD) -> str:
        """Consume the bareword at pos."""
        start = self.pos
        word = self.peek_word()
        self.lx.pos += len(word)
        self.lx.emit(kind, start)
        return word

    def at_statement_end(self) -> bool:
        """Newline, ';', '}', ')' or end of input."""
        c = self.ch()
        return c == "\0" or c in "\r\n;})"

    # ------------------------------------------------------------ scripts and blocks
    def parse_script(self) -> ast.ScriptBlockBody:
        """Parse the whole source as a script."""
        body = self.parse_body(None)
        if self.pos < len(self.src):
            raise self.unexpected()
        return body

    def parse_body(self, terminator: str | None) -> ast.ScriptBlockBody:
        """A script block body: optional param(), then statements or begin/process/end."""
        start = self.pos
        self.skip_separators()
        params: list[ast.ParameterDecl] | None = None
        # Attributes like [CmdletBinding()] may precede param().
        save = self.pos
        while self.ch() == "[":
            self.skip_attribute()
            self.skip_separators()
        if self.peek_word() == "param" and self.src[self.pos + 5:self.pos + 6] in ("(", " ", "\t",
                                                                                  "\n", "\r"):
            self.take_word()
            self.lx.skip_space(newlines=True)
            params = self.parse_param_list()
        else:
            self.lx.pos = save
        self.skip_separators()
        named: dict[str, ast.StatementBlock] = {}
        while True:
            word = self.peek_word()
            if word in ("begin", "process", "end") and self.next_nonspace_after_word(word) == "{":
                self.take_word()
                self.lx.skip_space(newlines=True)
                named[word] = self.parse_block()
                self.skip_separators()
                continue
            break
        if named:
            return ast.ScriptBlockBody(self.span_from(start), params, [], named.get("begin"),
                                       named.get("process"), named.get("end"))
        statements = self.parse_statements(terminator)
        return ast.ScriptBlockBody(self.span_from(start), params, statements)

    def next_nonspace_after_word(self, word: str) -> str:
        i = self.pos + len(word)
        while i < len(self.src) and self.src[i] in " \t\r\n":
            i += 1
        return self.src[i] if i < len(self.src) else ""

    def skip_separators(self) -> None:
        """Skip newlines, semicolons, blanks and comments."""
        while True:
            self.lx.skip_space(newlines=True)
            if self.ch() == ";":
                start = self.pos
                self.lx.pos += 1
                self.lx.emit(TokenKind.SEMI, start)
                continue
            break

    def parse_statements(self, terminator: str | None) -> list[ast.Statement]:
        """Statements until ``terminator`` (not consumed) or the end of input."""
        out: list[ast.Statement] = []
        while True:
            self.skip_separators()
            c = self.ch()
            if c == "\0":
                if terminator is not None:
                    raise self.lx.incomplete(
                        "MissingEndCurlyBrace" if terminator == "}" else "MissingEndParenthesis",
                        "Missing closing '}' in statement block or type definition."
                        if terminator == "}" else "Missing closing ')' in expression.")
                return out
            if terminator is not None and c == terminator:
                return out
            if c in ")}":
                raise self.unexpected()
            stmt = self.parse_statement()
            out.append(stmt)
            if ends_with_background(stmt):
                continue  # `a & b`: the background operator also ends the statement
            self.lx.skip_space()
            c = self.ch()
            if c not in ("\0", "\r", "\n", ";") and c != terminator:
                if c in ")}" and terminator is None:
                    raise self.unexpected()
                if c not in ")}":
                    raise self.unexpected()

    def parse_block(self) -> ast.StatementBlock:
        """``{ statements }``."""
        start = self.pos
        if self.ch() != "{":
            raise self.fail("MissingStatementBlock", "Missing statement block.")
        self.punct("{")
        statements = self.parse_statements("}")
        self.expect("}", "MissingEndCurlyBrace",
                    "Missing closing '}' in statement block or type definition.")
        return ast.StatementBlock(self.span_from(start), statements)

    # ------------------------------------------------------------ statements
    def parse_statement(self) -> ast.Statement:
        """One statement: a keyword statement, an assignment or a pipeline chain."""
        self.lx.skip_space()
        label: str | None = None
        if self.ch() == ":" and (self.ch(1).isalpha() or self.ch(1) == "_"):
            start = self.pos
            self.lx.pos += 1
            while self.ch().isalnum() or self.ch() == "_":
                self.lx.pos += 1
            label = self.src[start + 1:self.pos]
            self.lx.emit(TokenKind.KEYWORD, start)
            self.lx.skip_space(newlines=True)
        word = self.peek_word()
        if word in KEYWORDS and word not in ("in", "begin", "process", "end", "until", "data",
                                             "dynamicparam", "class"):
            handler = getattr(self, f"parse_{word}_statement", None)
            if handler is not None:
                stmt: ast.Statement = handler(label)
                return stmt
            if word in ("elseif", "else", "catch", "finally"):
                start = self.pos
                raise self.lx.error("UnexpectedToken",
                                    f"Unexpected token '{word}' in expression or statement.",
                                    start, start + len(word))
            if word == "param":
                start = self.pos
                raise self.lx.error("UnexpectedToken",
                                    "The param block must be the first statement in a script "
                                    "block.", start, start + 5)
        return self.parse_chain()

    def parse_chain(self) -> ast.Statement:
        """A pipeline chain with ``&&``/``||`` and an optional trailing ``&``."""
        start = self.pos
        first = self.parse_pipeline(allow_assignment=True)
        if isinstance(first, ast.Assignment):
            return first
        rest: list[tuple[str, ast.Pipeline]] = []
        background = False
        while True:
            self.lx.skip_space()
            if self.lx.looking_at("&&") or self.lx.looking_at("||"):
                op_start = self.pos
                op = self.src[self.pos:self.pos + 2]
                self.lx.pos += 2
                self.lx.emit(TokenKind.OPERATOR, op_start)
                self.lx.skip_space(newlines=True)
                if self.pos >= len(self.src):
                    raise self.lx.incomplete("EmptyPipelineChainElement",
                                             "A pipeline chain operator must be followed by a "
                                             "pipeline.")
                # A lone '&' here is the call operator starting the next pipeline (`a || & $sb`);
                # only a second chain operator (`a && && b`) leaves the element empty.
                if self.at_statement_end() or self.lx.looking_at("&&"):
                    raise self.lx.error("MissingExpression",
                                        f"Missing expression after '{op}' in pipeline element.",
                                        self.pos)
                nxt = self.parse_pipeline(allow_assignment=False)
                assert isinstance(nxt, ast.Pipeline)
                rest.append((op, nxt))
                continue
            if self.ch() == "&":
                amp = self.pos
                self.lx.pos += 1
                self.lx.emit(TokenKind.OPERATOR, amp)
                self.lx.skip_space()
                if self.lx.looking_at("&&") or self.lx.looking_at("||"):
                    raise self.lx.error("BackgroundOperatorInPipelineChain",
                                        "Background operators can only be used at the end of a "
                                        "pipeline chain.", amp)
                background = True
            break
        return ast.PipelineChain(self.span_from(start), first, rest, background)

    def parse_pipeline(self, allow_assignment: bool) -> ast.Pipeline | ast.Assignment:
        """``element | element ...``; an expression first element may be an assignment target."""
        start = self.pos
        elements: list[ast.PipelineElement] = []
        if self.is_expression_start():
            expr = self.parse_expression()
            self.lx.skip_space()
            op = self.peek_assignment()
            if op is not None:
                if not allow_assignment:
                    raise self.lx.error("UnexpectedToken",
                                        f"Unexpected token '{op}' in expression or statement.",
                                        self.pos, self.pos + len(op))
                check_assignable(expr, self.lx)
                op_start = self.pos
                self.lx.pos += len(op)
                self.lx.emit(TokenKind.OPERATOR, op_start)
                self.lx.skip_space(newlines=True)
                if self.pos >= len(self.src):
                    raise self.lx.incomplete("ExpectedValueExpression",
                                             f"You must provide a value expression following the "
                                             f"'{op}' operator.")
                if self.at_statement_end():
                    raise self.lx.error("ExpectedValueExpression",
                                        f"You must provide a value expression following the "
                                        f"'{op}' operator.", self.pos)
                value = self.parse_statement()
                return ast.Assignment(self.span_from(start), expr, op, value)
            element: ast.PipelineElement = ast.CommandExpression(self.span_from(start), expr)
            self.parse_redirections(element)
            elements.append(element)
        else:
            elements.append(self.parse_command())
        while True:
            self.lx.skip_space()
            if self.ch() == "|" and self.ch(1) != "|":
                pipe = self.pos
                self.lx.pos += 1
                self.lx.emit(TokenKind.PUNCT, pipe)
                self.lx.skip_space(newlines=True)
                if self.pos >= len(self.src):
                    raise self.lx.incomplete("EmptyPipeElement",
                                             "An empty pipe element is not allowed.")
                # `| & {...}` invokes a block as a stage; only `| &&` lacks an element.
                if self.at_statement_end() or self.ch() == "|" or self.lx.looking_at("&&"):
                    raise self.lx.error("EmptyPipeElement", "An empty pipe element is not allowed.",
                                        pipe)
                if self.is_expression_start() and self.ch() not in "{":
                    raise self.lx.error("ExpressionsMustBeFirstInPipeline",
                                        "Expressions are only allowed as the first element of a "
                                        "pipeline.", self.pos)
                elements.append(self.parse_command())
                continue
            break
        return ast.Pipeline(self.span_from(start), elements)

    def peek_assignment(self) -> str | None:
        for op in ("+=", "-=", "*=", "/=", "%=", "??="):
            if self.lx.looking_at(op):
                return op
        if self.ch() == "=" and self.ch(1) != "=":
            return "="
        return None

    def is_expression_start(self) -> bool:
        """Decide the mode of a statement or pipeline element from its first characters."""
        c, n = self.ch(), self.ch(1)
        if c == "\0":
            return False
        if c in "$'\"(\u2018\u2019\u201c\u201d[{!,":
            return True
        if c == "@":
            return n in "({\"'"
        if c.isdigit():
            # 7z or 2to3 are commands; 10, 0x1f, 1.5 and 10kb are numbers.
            save = self.pos
            num = self.lx.read_number()
            self.lx.pos = save
            return num is not None
        if c == "." and n.isdigit():
            return True
        if is_dash(c):
            # -@{...}, -[double]@(): a minus operator, as no parameter name starts with @ or [.
            if n.isdigit() or n in "$(.@[" or (n == "-" and self.ch(2) in "$("):
                return True
            op = dash_operator_at(self.src, self.pos)
            return op in ("not", "bnot", "split", "join")
        return c == "+" and (n.isdigit() or n in "+$(@[")

    # ------------------------------------------------------------ keyword statements
    def _condition(self, keyword: str, block_follows: bool = True) -> ast.Statement:
        self.lx.skip_space(newlines=True)
        if self.ch() != "(":
            raise self.fail("MissingOpenParenthesisInIfStatement" if keyword == "if"
                            else "MissingOpenParenthesisAfterKeyword",
                            f"Missing '(' after '{keyword}' in {keyword} statement.")
        self.punct("(")
        self.lx.skip_space(newlines=True)
        if self.ch() == ")":
            raise self.lx.error("IfStatementMissingCondition" if keyword == "if"
                                else "MissingExpressionAfterKeyword",
                                f"Missing condition in {keyword} statement after "
                                f"'{keyword} ('.", self.pos)
        cond = self.parse_statement()
        self.lx.skip_space(newlines=True)
        self.expect(")", "MissingEndParenthesisAfterStatement",
                    f"Missing closing ')' after expression in '{keyword}' statement.")
        if block_follows:  # a do loop's condition ends the statement: its newline is the end
            self.lx.skip_space(newlines=True)
        return cond

    def _block_after(self, what: str) -> ast.StatementBlock:
        self.lx.skip_space(newlines=True)
        if self.ch() != "{":
            raise self.fail("MissingStatementBlock", f"Missing statement block after {what}.")
        return self.parse_block()

    def _peek_after_newlines(self, words: tuple[str, ...]) -> str | None:
        """Look past newlines for one of ``words``; restore position if none follows."""
        save = self.pos
        self.lx.skip_space(newlines=True)
        w = self.peek_word()
        if w in words:
            return w
        self.lx.pos = save
        return None

    def parse_if_statement(self, label: str | None) -> ast.Statement:
        start = self.pos
        self.take_word()
        clauses: list[tuple[ast.Statement, ast.StatementBlock]] = []
        cond = self._condition("if")
        clauses.append((cond, self._block_after("if ( condition )")))
        else_body: ast.StatementBlock | None = None
        while True:
            w = self._peek_after_newlines(("elseif", "else"))
            if w == "elseif":
                self.take_word()
                cond = self._condition("elseif")
                clauses.append((cond, self._block_after("elseif ( condition )")))
                continue
            if w == "else":
                self.take_word()
                else_body = self._block_after("else")
            break
        return ast.IfStatement(self.span_from(start), clauses, else_body)

    def parse_while_statement(self, label: str | None) -> ast.Statement:
        start = self.pos
        self.take_word()
        cond = self._condition("while")
        body = self._block_after("while ( condition )")
        return ast.WhileStatement(self.span_from(start), cond, body, label)

    def parse_do_statement(self, label: str | None) -> ast.Statement:
        start = self.pos
        self.take_word()
        body = self._block_after("do")
        w = self._peek_after_newlines(("while", "until"))
        if w is None:
            raise self.fail("MissingWhileOrUntilInDoWhile",
                            "Missing while or until keyword in do loop.")
        self.take_word()
        cond = self._condition(w, block_follows=False)
        return ast.DoStatement(self.span_from(start), body, cond, w == "until", label)

    def parse_for_statement(self, label: str | None) -> ast.Statement:
        start = self.pos
        self.take_word()
        self.lx.skip_space(newlines=True)
        self.expect("(", "MissingOpenParenthesisAfterKeyword",
                    "Missing opening '(' after keyword 'for'.")
        parts: list[ast.Statement | None] = []
        for i in range(3):
            self.lx.skip_space(newlines=True)
            if self.ch() in (";", ")") if i < 2 else self.ch() == ")":
                parts.append(None)
            else:
                parts.append(self.parse_statement())
            self.lx.skip_space(newlines=True)
            if i < 2:
                if self.ch() == ";":
                    self.punct(";")
                elif self.ch() == ")":
                    parts.extend([None] * (2 - i))
                    break
                else:
                    raise self.fail("MissingEndParenthesisAfterStatement",
                                    "Missing closing ')' after expression in 'for' statement.")
        self.lx.skip_space(newlines=True)
        self.expect(")", "MissingEndParenthesisAfterStatement",
                    "Missing closing ')' after expression in 'for' statement.")
        body = self._block_after("for ( ... )")
        return ast.ForStatement(self.span_from(start), parts[0], parts[1], parts[2], body, label)

    def parse_foreach_statement(self, label: str | None) -> ast.Statement:
        start = self.pos
        self.take_word()
        self.lx.skip_space(newlines=True)
        self.expect("(", "MissingOpenParenthesisAfterKeyword",
                    "Missing opening '(' after keyword 'foreach'.")
        self.lx.skip_space(newlines=True)
        if self.ch() != "$":
            raise self.fail("MissingVariableNameAfterForeach",
                            "Missing variable name after foreach.")
        var = self.parse_primary()
        if not isinstance(var, ast.Variable):
            raise self.lx.error("MissingVariableNameAfterForeach",
                                "Missing variable name after foreach.", var.span.start)
        self.lx.skip_space(newlines=True)
        if self.peek_word() != "in":
            raise self.fail("MissingInInForeach", "Missing 'in' after variable in foreach loop.")
        self.take_word()
        self.lx.skip_space(newlines=True)
        if self.ch() == ")":
            raise self.fail("MissingForeachExpression",
                            "Missing foreach loop expression after 'in'.")
        iterable = self.parse_statement()
        self.lx.skip_space(newlines=True)
        self.expect(")", "MissingEndParenthesisAfterForeach",
                    "Missing closing ')' after expression in 'foreach' statement.")
        body = self._block_after("foreach ( ... )")
        return ast.ForEachStatement(self.span_from(start), var, iterable, body, label)

    def parse_switch_statement(self, label: str | None) -> ast.Statement:
        start = self.pos
        self.take_word()
        mode = "exact"
        case_sensitive = False
        while True:
            self.lx.skip_space()
            if is_dash(self.ch()):
                opt_start = self.pos
                self.lx.pos += 1
                w = self.take_word(TokenKind.PARAMETER)
                if w in ("regex", "wildcard", "exact"):
                    mode = w
                elif w == "casesensitive":
                    case_sensitive = True
                else:
                    raise self.lx.error("InvalidSwitchFlag",
                                        f"'{w}' is not a valid switch parameter.", opt_start,
                                        self.pos)
                continue
            break
        subject = self._condition("switch")
        self.lx.skip_space(newlines=True)
        self.expect("{", "MissingCurlyBraceInSwitchStatement",
                    "Missing '{' in switch statement.")
        clauses: list[tuple[ast.Expr | None, ast.StatementBlock]] = []
        while True:
            self.skip_separators()
            if self.ch() == "}":
                self.punct("}")
                break
            if self.ch() == "\0":
                raise self.lx.incomplete("MissingEndCurlyBrace",
                                         "Missing closing '}' in statement block or type "
                                         "definition.")
            pstart = self.pos
            pattern: ast.Expr | None
            if self.peek_word() == "default" and self.next_nonspace_after_word("default") == "{":
                self.take_word()
                pattern = None
            elif self.ch() == "{":
                pattern = self.parse_primary()
            elif self.is_expression_start():
                pattern = self.parse_unary()
            else:
                pattern = self.parse_arg_value()
            self.lx.skip_space(newlines=True)
            if self.ch() != "{":
                raise self.fail("MissingSwitchStatementClause",
                                "Missing statement block in switch statement clause.", pstart)
            clauses.append((pattern, self.parse_block()))
        return ast.SwitchStatement(self.span_from(start), subject, clauses, mode, case_sensitive,
                                   label)

    def parse_function_statement(self, label: str | None, is_filter: bool = False) -> ast.Statement:
        start = self.pos
        self.take_word()
        self.lx.skip_space()
        name_start = self.pos
        while self.ch() != "\0" and self.ch() not in " \t\r\n{}();":
            self.lx.pos += 1
        name = self.src[name_start:self.pos]
        if not name:
            raise self.fail("MissingNameForFunctionDefinition",
                            "Missing function name after function keyword.")
        self.lx.emit(TokenKind.COMMAND, name_start)
        self.lx.skip_space(newlines=True)
        params: list[ast.ParameterDecl] | None = None
        if self.ch() == "(":
            params = self.parse_param_list()
            self.lx.skip_space(newlines=True)
        if self.ch() != "{":
            raise self.fail("MissingFunctionBody", "Missing function body in function declaration.")
        body_start = self.pos
        self.punct("{")
        body = self.parse_body("}")
        self.expect("}", "MissingEndCurlyBrace",
                    "Missing closing '}' in statement block or type definition.")
        if params is not None:
            if body.params is not None:
                raise self.lx.error("OnlyOneParameterListAllowed",
                                    "A function cannot have both a parameter list and a param "
                                    "block.", start, self.pos)
            body.params = params
        text = self.src[body_start + 1:self.pos - 1]
        return ast.FunctionDefinition(self.span_from(start), name, body, text, is_filter,
                                      self.help_comment(start, body_start, self.pos - 1))

    def help_comment(self, keyword: int, body_start: int, body_end: int) -> str | None:
        """A function's comment-based help, from the comment tokens: just before the keyword
        (at most one blank line between), at the start of the body, or at its end."""
        toks = self.lx.tokens
        last = len(toks) - 1
        while last >= 0 and toks[last].span.start >= body_end:
            last -= 1
        first_in_body = last
        while first_in_body >= 0 and toks[first_in_body].span.start > body_start:
            first_in_body -= 1
        before = first_in_body
        while before >= 0 and toks[before].span.start >= keyword:
            before -= 1
        runs = [
            _comment_run(self.src, toks, before, -1, keyword, max_newlines=2),
            _comment_run(self.src, toks, first_in_body + 1, 1, body_start + 1, _ANY),
            _comment_run(self.src, toks, last, -1, body_end, _ANY),
        ]
        for run in runs:
            help_text = _help_text(run)
            if help_text is not None:
                return help_text
        return None

    def parse_filter_statement(self, label: str | None) -> ast.Statement:
        return self.parse_function_statement(label, is_filter=True)

    def parse_try_statement(self, label: str | None) -> ast.Statement:
        start = self.pos
        self.take_word()
        body = self._block_after("try")
        catches: list[tuple[list[str], ast.StatementBlock]] = []
        finally_body: ast.StatementBlock | None = None
        while True:
            w = self._peek_after_newlines(("catch", "finally"))
            if w == "catch":
                self.take_word()
                types: list[str] = []
                while True:
                    self.lx.skip_space(newlines=True)
                    if self.ch() == "[":
                        tl = self.parse_type_literal()
                        types.append(tl)
                        self.lx.skip_space(newlines=True)
                        if self.ch() == ",":
                            self.punct(",")
                            continue
                    break
                catches.append((types, self._block_after("catch")))
                continue
            if w == "finally":
                self.take_word()
                finally_body = self._block_after("finally")
            break
        if not catches and finally_body is None:
            raise self.fail("MissingCatchOrFinally",
                            "The Try statement is missing its Catch or Finally block.")
        return ast.TryStatement(self.span_from(start), body, catches, finally_body)

    def _flow(self, label: str | None) -> ast.Statement:
        start = self.pos
        word = self.take_word()
        self.lx.skip_space()
        if word in ("break", "continue"):
            target: str | None = None
            if not self.at_statement_end() and self.ch() not in "|&":
                tstart = self.pos
                while self.ch() != "\0" and self.ch() not in " \t\r\n;}":
                    self.lx.pos += 1
                target = self.src[tstart:self.pos].lstrip(":")
                self.lx.emit(TokenKind.GENERIC, tstart)
            return ast.FlowStatement(self.span_from(start), word, None, target)
        value: ast.Statement | None = None
        if not self.at_statement_end() and self.ch() != "|":
            value = self.parse_chain()
        return ast.FlowStatement(self.span_from(start), word, value)

    parse_return_statement = _flow
    parse_throw_statement = _flow
    parse_exit_statement = _flow
    parse_break_statement = _flow
    parse_continue_statement = _flow

    # ------------------------------------------------------------ param blocks
    def skip_attribute(self) -> str:
        """Consume ``[Name(...)]`` and return its text."""
        start = self.pos
        depth = 0
        while self.pos < len(self.src):
            c = self.ch()
            if c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
                if depth == 0:
                    self.lx.pos += 1
                    self.lx.emit(TokenKind.TYPE, start)
                    return self.src[start:self.pos]
            elif c in "'\"":
                q = c
                self.lx.pos += 1
                while self.ch() != "\0" and self.ch() != q:
                    self.lx.pos += 1
            self.lx.pos += 1
        raise self.lx.incomplete("EndSquareBracketExpectedAtEndOfAttribute",
                                 "Missing ] at end of attribute or type literal.")

    def parse_param_list(self) -> list[ast.ParameterDecl]:
        """``( [attr] [type] $name = default, ... )``."""
        self.expect("(", "MissingOpenParenthesis", "Missing '(' in parameter list.")
        params: list[ast.ParameterDecl] = []
        position = 0
        while True:
            self.lx.skip_space(newlines=True)
            if self.ch() == ")":
                self.punct(")")
                return params
            pstart = self.pos
            decl = ast.ParameterDecl(Span(pstart, pstart), "")
            while self.ch() == "[":
                text = self.skip_attribute()
                inner = text[1:-1].strip()
                low = inner.lower().replace(" ", "")
                if low.startswith("parameter(") or low == "parameter()":
                    if "mandatory" in low and "mandatory=$false" not in low:
                        decl.mandatory = True
                    if "valuefrompipelinebypropertyname" in low:
                        decl.from_pipeline_by_name = True
                        if "valuefrompipeline," in low or low.endswith("valuefrompipeline)"):
                            decl.from_pipeline = True
                    elif "valuefrompipeline" in low:
                        decl.from_pipeline = True
                    if "position=" in low:
                        num = low.split("position=", 1)[1]
                        digits = "".join(ch for ch in num if ch.isdigit())
                        if digits:
                            decl.position = int(digits)
                elif "(" not in inner:
                    decl.type_name = inner
                    if inner.lower() in ("switch", "switchparameter"):
                        decl.switch = True
                self.lx.skip_space(newlines=True)
            if self.ch() != "$":
                raise self.fail("InvalidFunctionParameter",
                                "Missing argument in parameter list.")
            var = self.parse_primary()
            if not isinstance(var, ast.Variable):
                raise self.lx.error("InvalidFunctionParameter", "Missing argument in parameter list.",
                                    pstart)
            decl.name = var.name
            self.lx.skip_space(newlines=True)
            if self.ch() == "=":
                self.punct("=")
                self.lx.skip_space(newlines=True)
                # ',' separates parameters here, so the default is parsed below the comma level.
                decl.default = self._call_arg()
                self.lx.skip_space(newlines=True)
            decl.span = self.span_from(pstart)
            if decl.position is None and not decl.switch:
                decl.position = position
                position += 1
            params.append(decl)
            self.lx.skip_space(newlines=True)
            if self.ch() == ",":
                self.punct(",")
                continue
            if self.ch() == ")":
                continue
            raise self.fail("MissingEndParenthesisInFunctionParameterList",
                            "Missing ')' in function parameter list.")

    # ------------------------------------------------------------ commands (argument mode)
    def parse_command(self) -> ast.PipelineElement:
        """A command and its arguments, in argument mode."""
        start = self.pos
        invocation: str | None = None
        name: ast.Expr
        if self.ch() == "&" and self.ch(1) not in "&":
            self.lx.pos += 1
            self.lx.emit(TokenKind.OPERATOR, start)
            invocation = "&"
            self.lx.skip_space()
            name = self.parse_command_name_expr()
        elif self.ch() == "." and self.ch(1) in " \t":
            self.lx.pos += 1
            self.lx.emit(TokenKind.OPERATOR, start)
            invocation = "."
            self.lx.skip_space()
            name = self.parse_command_name_expr()
        elif self.ch() == "{":
            # `{...} | ...` as a non-first element is not valid; as a command name with &.
            name = self.parse_primary()
            invocation = "&"
        else:
            name = self.parse_command_name()
        elements: list[ast.CommandParameter | ast.CommandArgument] = []
        cmd = ast.Command(Span(start, start), name, elements, invocation)
        while True:
            self.lx.skip_space()
            c = self.ch()
            if c == "\0" or c in "\r\n;|)}":
                break
            if c == "&":
                break
            if self.try_redirection(cmd):
                continue
            if c == "<":
                raise self.lx.error("RedirectionNotSupported",
                                    "The '<' operator is reserved for future use.", self.pos)
            if is_dash(c) and self.is_parameter_start():
                elements.append(self.parse_parameter())
                continue
            arg_start = self.pos
            value = self.parse_arg_list_value()
            elements.append(ast.CommandArgument(self.span_from(arg_start), value))
        cmd.span = self.span_from(start)
        return cmd

    def is_parameter_start(self) -> bool:
        n = self.ch(1)
        if n == "\0" or n in " \t\r\n":
            return False
        if n.isdigit() or n == ".":
            return False
        if is_dash(n):
            # `--` alone ends parameters; `--foo` is a plain argument for natives.
            return self.ch(2) in ("\0", " ", "\t", "\r", "\n", ";", "|", ")", "}")
        return n.isalpha() or n in "_?"

    def parse_parameter(self) -> ast.CommandParameter:
        start = self.pos
        self.lx.pos += 1
        if is_dash(self.ch()):
            self.lx.pos += 1
            self.lx.emit(TokenKind.PARAMETER, start)
            return ast.CommandParameter(self.span_from(start), "", None, "--")
        while self.ch() != "\0" and self.ch() not in ARG_TERMINATORS and self.ch() not in ":,'\"$":
            self.lx.pos += 1
        name = self.src[start + 1:self.pos]
        if self.ch() == ":":
            self.lx.pos += 1
            self.lx.emit(TokenKind.PARAMETER, start)
            text = self.src[start:self.pos]
            self.lx.skip_space()
            if self.ch() == "\0" or self.ch() in "\r\n;|)}&":
                raise self.fail("ParameterRequiresArgument",
                                f"Missing an argument for parameter '{name}'.", start)
            value = self.parse_arg_list_value()
            return ast.CommandParameter(self.span_from(start), name, value, text)
        if self.ch() != "\0" and self.ch() not in ARG_TERMINATORS and self.ch() != ",":
            # -foo'bar' or -foo$x: a bareword argument that happens to start with a dash.
            self.lx.pos = start
            value = self.parse_arg_value()
            return ast.CommandParameter(self.span_from(start), "", value, "")
        self.lx.emit(TokenKind.PARAMETER, start)
        return ast.CommandParameter(self.span_from(start), name, None, self.src[start:self.pos])

    def parse_command_name(self) -> ast.Expr:
        """A bareword command name (may include quotes: ``'my cmd'``)."""
        return self.parse_arg_value(command_name=True)

    def parse_command_name_expr(self) -> ast.Expr:
        """The operand of ``&`` / ``.``: a string, variable, script block or bareword."""
        if self.ch() in "$'\"({@":
            return self.parse_postfix(self.parse_primary())
        return self.parse_command_name()

    def parse_arg_list_value(self) -> ast.Expr:
        """An argument, with commas building arrays (``a,b,c``)."""
        start = self.pos
        first = self.parse_arg_value()
        if self.ch() != ",":
            return first
        items = [first]
        while self.ch() == ",":
            self.punct(",")
            self.lx.skip_space(newlines=True)
            if self.ch() == "\0" :
                raise self.lx.incomplete("MissingExpressionAfterToken",
                                         "Missing argument in parameter list.")
            items.append(self.parse_arg_value())
        return ast.ArrayLiteral(self.span_from(start), items)

    def parse_arg_value(self, command_name: bool = False) -> ast.Expr:
        """One argument-mode token: barewords, quotes, variables and sub-expressions, glued
        together when written without spaces (``MyVm$k``, ``a"b c"``)."""
        start = self.pos
        c = self.ch()
        # Standalone structured values.
        if c == "(":
            return self.parse_postfix(self.parse_primary())
        if c == "{" and not command_name:
            return self.parse_primary()
        if c == "@" and self.ch(1) in "({":
            return self.parse_postfix(self.parse_primary())
        if c == "@" and (self.ch(1).isalnum() or self.ch(1) == "_"):
            self.lx.pos += 1
            name, scope, _ = self.lx.read_variable_name()
            self.lx.emit(TokenKind.SPLAT, start)
            return ast.Variable(self.span_from(start), name, scope, splat=True)
        if not command_name and (c.isdigit() or ((is_dash(c) or c in "+.") and self.ch(1).isdigit())
                                 or (c == "." and self.ch(1).isdigit())):
            save = self.pos
            sign = ""
            if is_dash(c) or c == "+":
                sign = "-" if is_dash(c) else ""
                self.lx.pos += 1
            num = self.lx.read_number()
            if num is not None and (self.ch() == "\0" or self.ch() in ARG_TERMINATORS or self.ch() == ","):
                self.lx.emit(TokenKind.NUMBER, save)
                value, _ = num
                if sign:
                    value = -value  # type: ignore[operator]
                return ast.Constant(self.span_from(save), value, self.src[save:self.pos])
            self.lx.pos = save
        parts: list[str | ast.Expr] = []
        literal: list[str] = []
        quoted = False

        def flush() -> None:
            if literal:
                parts.append("".join(literal))
                literal.clear()

        word_start = self.pos
        while True:
            c = self.ch()
            if c == "\0" or c in ARG_TERMINATORS or (c == "," and not command_name):
                break
            if c in "'\u2018\u2019":
                if self.pos > word_start:
                    self.lx.emit(TokenKind.COMMAND if command_name else TokenKind.GENERIC,
                                 word_start)
                qs = self.pos
                self.lx.pos += 1
                literal.append(self.lx.read_single_quoted(qs))
                self.lx.emit(TokenKind.STRING, qs)
                quoted = True
                word_start = self.pos
                continue
            if c in '"\u201c\u201d':
                if self.pos > word_start:
                    self.lx.emit(TokenKind.COMMAND if command_name else TokenKind.GENERIC,
                                 word_start)
                flush()
                s = self.parse_double_quoted()
                if isinstance(s, ast.ExpandableString):
                    parts.extend(s.parts)
                elif isinstance(s, ast.Constant):
                    literal.append(str(s.value))
                quoted = True
                word_start = self.pos
                continue
            if c == "$" and (self.ch(1).isalnum() or self.ch(1) in "_{(?$^:"):
                if self.pos > word_start:
                    self.lx.emit(TokenKind.COMMAND if command_name else TokenKind.GENERIC,
                                 word_start)
                flush()
                # pwsh: only an argument that starts with a variable takes member access and
                # indexing (`$k.Length`); after a prefix the bareword is an expandable string,
                # so `MyVm$k.txt` expands `$k` alone and `.txt` stays text.
                at_start = self.pos == start
                expr = self.parse_primary()
                if at_start:
                    expr = self.parse_postfix(expr, arg_mode=True)
                parts.append(expr)
                word_start = self.pos
                continue
            if c == "`":
                nxt = self.ch(1)
                if nxt == "\0":
                    raise self.lx.incomplete("IncompleteInput", "Unexpected end of input.")
                if nxt in "\r\n":
                    break  # a line continuation ends the word
                literal.append(_ESCAPES.get(nxt, nxt))
                self.lx.pos += 2
                continue
            literal.append(c)
            self.lx.pos += 1
        if self.pos > word_start:
            self.lx.emit(TokenKind.COMMAND if command_name else TokenKind.GENERIC, word_start)
        flush()
        span = self.span_from(start)
        raw = self.src[start:self.pos]
        if not parts:
            if command_name:
                raise self.unexpected()
            raise self.unexpected()
        if len(parts) == 1 and isinstance(parts[0], str):
            return ast.Constant(span, parts[0], raw)
        if len(parts) == 1 and isinstance(parts[0], ast.Expr) and not quoted:
            return parts[0]
        return ast.ExpandableString(span, parts)

    def try_redirection(self, element: ast.PipelineElement) -> bool:
        """Parse a redirection (``> file``, ``2>&1``...) onto ``element`` if one is here."""
        for op in sorted(REDIRECTION_OPS, key=len, reverse=True):
            if self.lx.looking_at(op):
                break
        else:
            return False
        start = self.pos
        if op == "1>&2":
            # Only merging into the success stream (n>&1) exists, as in PowerShell.
            raise self.lx.error("RedirectionNotSupported",
                                "The '1>&2' operator is reserved for future use.", start,
                                start + len(op))
        self.lx.pos += len(op)
        self.lx.emit(TokenKind.REDIRECTION, start)
        stream = op[0] if op[0] in "123456*" else "1"
        if "&" in op:
            element.redirections.append(
                ast.Redirection(self.span_from(start), stream, False, None, op[-1]))
            return True
        append = op.endswith(">>")
        self.lx.skip_space()
        if self.at_statement_end() or self.ch() in "|&":
            raise self.fail("MissingFileSpecification",
                            "Missing file specification after redirection operator.", start)
        target = self.parse_arg_value()
        element.redirections.append(
            ast.Redirection(self.span_from(start), stream, append, target, None))
        return True

    def parse_redirections(self, element: ast.PipelineElement) -> None:
        """Redirections after an expression element."""
        while True:
            self.lx.skip_space()
            if not self.try_redirection(element):
                if self.ch() == "<":
                    raise self.lx.error("RedirectionNotSupported",
                                        "The '<' operator is reserved for future use.", self.pos)
                return

    # ------------------------------------------------------------ expressions
    def parse_expression(self) -> ast.Expr:
        """A full expression (lowest precedence: -and/-or/-xor)."""
        return self.parse_binary_level(0)

    # Lowest precedence first; `??` (PowerShell 7) binds more loosely than -and/-or.
    _LEVELS: tuple[tuple[str, ...] | frozenset[str], ...] = (
        ("??",), _LOGICAL, _COMPARISON, _BITWISE, ("+", "-"), ("*", "/", "%"), ("f",), ("..",),
    )

    def _peek_binary(self, level: int) -> tuple[str, int] | None:
        """The binary operator of this level at pos: (name, length)."""
        ops = self._LEVELS[level]
        c = self.ch()
        if is_dash(c):
            name = dash_operator_at(self.src, self.pos)
            if name is not None:
                return (name, len(name) + 1) if name in ops else None
        if level == 0:
            if self.lx.looking_at("??") and not self.lx.looking_at("??="):
                return "??", 2
            return None
        if level == 4 and (c == "+" or is_dash(c)):
            if self.ch(1) in ("=", "+") or (is_dash(c) and (self.ch(1) == "=" or is_dash(self.ch(1)))):
                return None
            return ("+" if c == "+" else "-"), 1
        if level == 5 and c in "*/%" and self.ch(1) != "=" and not (c == "*" and self.ch(1) == ">"):
            return c, 1  # `*>` is always a redirection (`'x' *> file`), as in PowerShell
        if level == 7 and self.lx.looking_at(".."):
            return "..", 2
        return None

    def parse_binary_level(self, level: int, commas: bool = True) -> ast.Expr:
        """Binary operators from ``level`` up; below them the comma level (``commas``) or,
        where ',' separates arguments (method calls, parameter defaults), unary expressions."""
        if level >= len(self._LEVELS):
            return self.parse_comma() if commas else self.parse_unary()
        start = self.pos
        left = self.parse_binary_level(level + 1, commas)
        while True:
            save = self.pos
            self.lx.skip_space()
            found = self._peek_binary(level)
            if found is None:
                self.lx.pos = save
                return left
            name, length = found
            op_start = self.pos
            self.lx.pos += length
            self.lx.emit(TokenKind.OPERATOR, op_start)
            self.lx.skip_space(newlines=True)
            if commas:
                self._require_operand(op_start, length)
            right = self._operand(op_start, length,
                                  lambda: self.parse_binary_level(level + 1, commas))
            left = ast.BinaryOp(self.span_from(start), name.lower(), left, right)

    def _require_operand(self, op_start: int, length: int) -> None:
        """Input that ends, or a statement that ends, right after a binary operator."""
        op = self.src[op_start:op_start + length]
        message = f"You must provide a value expression following the '{op}' operator."
        if self.pos >= len(self.src):
            raise self.lx.incomplete("ExpectedValueExpression", message)
        if self.at_statement_end() or (self.ch() in "|&" and self.ch(1) != "&"
                                       and self.ch() != "&"):
            raise self.lx.error("ExpectedValueExpression", message, self.pos)

    def _operand(self, op_start: int, length: int, parse: Callable[[], ast.Expr]) -> ast.Expr:
        """Parse a binary operator's right operand; a token that cannot start one is reported
        as PowerShell does ("You must provide a value expression following the '+' operator")."""
        here = self.pos
        try:
            return parse()
        except ParseError as e:
            if isinstance(e, IncompleteInput) or e.span.start != here:
                raise
            op = self.src[op_start:op_start + length]
            raise self.lx.error("ExpectedValueExpression",
                                f"You must provide a value expression following the '{op}' "
                                "operator.", here, e.span.end) from None

    def parse_comma(self) -> ast.Expr:
        start = self.pos
        first = self.parse_unary()
        save = self.pos
        self.lx.skip_space()
        if self.ch() != ",":
            self.lx.pos = save
            return first
        items = [first]
        while True:
            save = self.pos
            self.lx.skip_space()
            if self.ch() != ",":
                self.lx.pos = save
                break
            self.punct(",")
            self.lx.skip_space(newlines=True)
            if self.pos >= len(self.src):
                raise self.lx.incomplete("MissingExpressionAfterToken",
                                         "Missing expression after ','.")
            if self.at_statement_end():
                raise self.lx.error("MissingExpressionAfterToken", "Missing expression after ','.",
                                    self.pos)
            items.append(self.parse_unary())
        return ast.ArrayLiteral(self.span_from(start), items)

    def parse_unary(self) -> ast.Expr:
        """Prefix operators and casts, then a postfix expression."""
        start = self.pos
        c = self.ch()
        op: str | None = None
        length = 0
        if c == "!":
            op, length = "not", 1
        elif is_dash(c):
            name = dash_operator_at(self.src, self.pos)
            if name in ("not", "bnot", "split", "join"):
                op, length = name, len(name) + 1
            elif name is None and is_dash(self.ch(1)) and self.ch(2) in "$(":
                op, length = "--", 2
            elif name is None:
                # Negative number literal binds directly: -1 is a constant.
                if self.ch(1).isdigit() or self.ch(1) == ".":
                    save = self.pos
                    self.lx.pos += 1
                    num = self.lx.read_number()
                    if num is not None:
                        self.lx.emit(TokenKind.NUMBER, save)
                        value, text = num
                        return self.parse_postfix(
                            ast.Constant(self.span_from(save), -value, "-" + text))  # type: ignore[operator]
                    self.lx.pos = save
                op, length = "-", 1
        elif c == "+":
            if self.ch(1) == "+":
                op, length = "++", 2
            else:
                op, length = "+", 1
        elif c == ",":
            op, length = ",", 1
        if op is not None:
            self.lx.pos += length
            self.lx.emit(TokenKind.OPERATOR, start)
            self.lx.skip_space(newlines=op in ("not", "bnot", "-", "+", ","))
            if self.pos >= len(self.src) or self.at_statement_end():
                op_text = self.src[start:start + length]
                raise self.fail("MissingExpressionAfterOperator",
                                f"Missing expression after unary operator '{op_text}'.")
            operand = self.parse_unary()
            return ast.UnaryOp(self.span_from(start), op, operand)
        if c == "[":
            type_name = self.parse_type_literal()
            if self.lx.looking_at("::"):
                return self.parse_postfix(ast.TypeLiteral(self.span_from(start), type_name))
            save = self.pos
            self.lx.skip_space()
            nc = self.ch()
            if nc != "\0" and (nc in "$('\"[@{!" or nc.isdigit() or self._unary_operator_follows()):
                # A cast applies to a unary expression: [int]-not 0, [bool]!$x, [int]-$x.
                operand = self.parse_unary()
                return ast.Cast(self.span_from(start), type_name, operand)
            self.lx.pos = save
            return self.parse_postfix(ast.TypeLiteral(self.span_from(start), type_name))
        return self.parse_postfix(self.parse_primary())

    def _unary_operator_follows(self) -> bool:
        """Tell whether a prefix operator (``-x``, ``+x``, ``-not``, ``-bnot``) starts here."""
        c, n = self.ch(), self.ch(1)
        if is_dash(c):
            return (n.isdigit() or n in "$(@[.+" or is_dash(n)
                    or dash_operator_at(self.src, self.pos) in ("not", "bnot"))
        return c == "+" and (n.isdigit() or n in "$(@[+")

    def parse_type_literal(self) -> str:
        """``[TypeName]`` → the name."""
        start = self.pos
        self.lx.pos += 1
        depth = 1
        while self.pos < len(self.src) and depth:
            if self.ch() == "[":
                depth += 1
            elif self.ch() == "]":
                depth -= 1
                if depth == 0:
                    break
            elif self.ch() in "\r\n":
                break
            self.lx.pos += 1
        if self.ch() != "]":
            raise self.fail("EndSquareBracketExpectedAtEndOfType",
                            "Missing ] at end of attribute or type literal.")
        self.lx.pos += 1
        self.lx.emit(TokenKind.TYPE, start)
        name = self.src[start + 1:self.pos - 1].strip()
        if not name:
            raise self.lx.error("MissingTypename", "Type name expected.", start, self.pos)
        return name

    def parse_postfix(self, expr: ast.Expr, arg_mode: bool = False) -> ast.Expr:
        """Member access, method calls, indexing and postfix ++/-- (no space before them)."""
        start = expr.span.start
        while True:
            c = self.ch()
            if (c == "." and self.ch(1) != ".") or self.lx.looking_at("::"):
                static = c == ":"
                nc = self.ch(2 if static else 1)
                if not (nc.isalpha() or nc in "_$'\""):
                    if arg_mode:
                        return expr
                    raise self.fail("MissingPropertyName",
                                    "Missing property name after reference operator.")
                op_start = self.pos
                self.lx.pos += 2 if static else 1
                self.lx.emit(TokenKind.OPERATOR, op_start)
                member: str | ast.Expr
                if self.ch() == "$":
                    member = self.parse_primary()
                elif self.ch() in "'\"":
                    m = self.parse_primary()
                    member = str(m.value) if isinstance(m, ast.Constant) else m
                else:
                    mstart = self.pos
                    while self.ch().isalnum() or self.ch() == "_":
                        self.lx.pos += 1
                    member = self.src[mstart:self.pos]
                    self.lx.emit(TokenKind.MEMBER, mstart)
                if self.ch() == "(" and isinstance(member, str):
                    args = self.parse_call_args()
                    expr = ast.MethodCall(self.span_from(start), expr, member, args, static)
                else:
                    expr = ast.MemberAccess(self.span_from(start), expr, member, static)
                continue
            if c == "[":
                self.punct("[")
                self.lx.skip_space(newlines=True)
                if self.ch() == "]":
                    raise self.lx.error("MissingArrayIndexExpression",
                                        "Array index expression is missing or not valid.",
                                        self.pos)
                index = self.parse_expression()
                self.lx.skip_space(newlines=True)
                self.expect("]", "MissingEndSquareBracket",
                            "Missing ']' after array index expression.")
                expr = ast.Index(self.span_from(start), expr, index)
                continue
            if not arg_mode and (self.lx.looking_at("++") or self.lx.looking_at("--")):
                nxt = self.ch(2)
                if nxt == "\0" or not (nxt.isalnum() or nxt in "$("):
                    op = self.src[self.pos:self.pos + 2]
                    op_start = self.pos
                    self.lx.pos += 2
                    self.lx.emit(TokenKind.OPERATOR, op_start)
                    expr = ast.UnaryOp(self.span_from(start), op, expr, postfix=True)
                    continue
            return expr

    def parse_call_args(self) -> list[ast.Expr]:
        self.punct("(")
        args: list[ast.Expr] = []
        self.lx.skip_space(newlines=True)
        if self.ch() == ")":
            self.punct(")")
            return args
        while True:
            self.lx.skip_space(newlines=True)
            args.append(self._call_arg())
            self.lx.skip_space(newlines=True)
            if self.ch() == ",":
                self.punct(",")
                continue
            self.expect(")", "MissingEndParenthesisInMethodCall",
                        "Missing closing ')' in method call.")
            return args

    def _call_arg(self) -> ast.Expr:
        """One method argument or parameter default: ',' separates them, so parse below the
        comma level."""
        return self.parse_binary_level(0, commas=False)

    def parse_primary(self) -> ast.Expr:
        """Literals, variables, grouping and blocks."""
        start = self.pos
        c = self.ch()
        if c == "\0":
            raise self.lx.incomplete("IncompleteInput", "Unexpected end of input.")
        if c == "$":
            n = self.ch(1)
            if n == "(":
                self.lx.pos += 2
                self.lx.emit(TokenKind.PUNCT, start)
                statements = self.parse_statements(")")
                self.expect(")", "MissingEndParenthesisInSubexpression",
                            "Missing closing ')' in subexpression.")
                return ast.SubExpr(self.span_from(start),
                                   ast.StatementBlock(self.span_from(start), statements))
            if not (n.isalnum() or n in "_{?$^:"):
                raise self.lx.error("InvalidVariableReference",
                                    "Variable reference is not valid. '$' was not followed by a "
                                    "valid variable name character. Consider using ${} to "
                                    "delimit the name.", start)
            self.lx.pos += 1
            name, scope, _ = self.lx.read_variable_name()
            self.lx.emit(TokenKind.VARIABLE, start)
            return ast.Variable(self.span_from(start), name, scope)
        if c == "@":
            n = self.ch(1)
            if n == "(":
                self.lx.pos += 2
                self.lx.emit(TokenKind.PUNCT, start)
                statements = self.parse_statements(")")
                self.expect(")", "MissingEndParenthesisInSubexpression",
                            "Missing closing ')' in subexpression.")
                return ast.ArrayExpr(self.span_from(start),
                                     ast.StatementBlock(self.span_from(start), statements))
            if n == "{":
                return self.parse_hashtable()
            if n in "\"'":
                self.lx.pos += 2
                body, body_start = self.lx.read_here_string(n, start)
                if n == "'":
                    self.lx.emit(TokenKind.STRING, start)
                    return ast.Constant(self.span_from(start), body, self.src[start:self.pos])
                self.lx.emit(TokenKind.STRING, start)
                end = self.pos
                expr = self.expand_string_body(body_start, body_start + len(body), start, end)
                self.lx.pos = end
                return expr
            if n.isalnum() or n == "_":
                self.lx.pos += 1
                name, scope, _ = self.lx.read_variable_name()
                self.lx.emit(TokenKind.SPLAT, start)
                return ast.Variable(self.span_from(start), name, scope, splat=True)
            raise self.unexpected()
        if c in "'\u2018\u2019":
            self.lx.pos += 1
            text = self.lx.read_single_quoted(start)
            self.lx.emit(TokenKind.STRING, start)
            return ast.Constant(self.span_from(start), text, self.src[start:self.pos])
        if c in '"\u201c\u201d':
            return self.parse_double_quoted()
        if c == "(":
            self.punct("(")
            self.lx.skip_space(newlines=True)
            if self.ch() == ")":
                raise self.lx.error("ExpectedExpression", "An expression was expected after '('.",
                                    self.pos)
            stmt = self.parse_statement()
            self.lx.skip_space(newlines=True)
            self.expect(")", "MissingEndParenthesisInExpression",
                        "Missing closing ')' in expression.")
            return ast.ParenExpr(self.span_from(start), stmt)
        if c == "{":
            self.punct("{")
            block = self.parse_body("}")
            self.expect("}", "MissingEndCurlyBrace",
                        "Missing closing '}' in statement block or type definition.")
            return ast.ScriptBlockExpr(self.span_from(start), block,
                                       self.src[start + 1:self.pos - 1])
        if c.isdigit() or (c == "." and self.ch(1).isdigit()):
            num = self.lx.read_number()
            if num is None:
                raise self.unexpected()
            self.lx.emit(TokenKind.NUMBER, start)
            return ast.Constant(self.span_from(start), num[0], num[1])
        if c == "[":
            return ast.TypeLiteral(self.span_from(start), self.parse_type_literal())
        raise self.unexpected()

    def parse_hashtable(self) -> ast.Expr:
        start = self.pos
        self.lx.pos += 2
        self.lx.emit(TokenKind.PUNCT, start)
        pairs: list[tuple[ast.Expr, ast.Statement]] = []
        while True:
            self.skip_separators()
            if self.ch() == "}":
                self.punct("}")
                return ast.HashtableLiteral(self.span_from(start), pairs)
            if self.ch() == "\0":
                raise self.lx.incomplete("MissingEndCurlyBrace",
                                         "Missing closing '}' in statement block or type "
                                         "definition.")
            kstart = self.pos
            key: ast.Expr
            if self.ch() in "'\"$(" or self.ch().isdigit():
                key = self.parse_unary()
            else:
                while self.ch() != "\0" and self.ch() not in " \t\r\n=;}":
                    self.lx.pos += 1
                if self.pos == kstart:
                    raise self.unexpected()
                self.lx.emit(TokenKind.MEMBER, kstart)
                key = ast.Constant(self.span_from(kstart), self.src[kstart:self.pos],
                                   self.src[kstart:self.pos])
            self.lx.skip_space()
            if self.ch() != "=":
                raise self.fail("MissingEqualsInHashLiteral",
                                "Missing '=' operator after key in hash literal.")
            self.punct("=")
            self.lx.skip_space(newlines=True)
            if self.ch() == "\0":
                raise self.lx.incomplete("MissingStatementInHashLiteral",
                                         "Missing statement after '=' in hash literal.")
            value = self.parse_statement()
            pairs.append((key, value))
            self.lx.skip_space()
            if self.ch() not in ("\0", "\r", "\n", ";", "}"):
                raise self.fail("MissingEndCurlyBrace",
                                "The hash literal was incomplete.")

    def parse_double_quoted(self) -> ast.Expr:
        """``"..."``: a Constant when nothing expands, else an ExpandableString."""
        start = self.pos
        self.lx.pos += 1
        end = self.lx.find_double_quoted_end(start)
        self.lx.pos = end + 1
        self.lx.emit(TokenKind.STRING, start)
        after = self.pos
        expr = self.expand_string_body(start + 1, end, start, after)
        self.lx.pos = after
        return expr

    def expand_string_body(self, body_start: int, body_end: int, start: int,
                           end: int) -> ast.Expr:
        """Split a double-quoted body into literal text and ``$var``/``$(...)`` parts."""
        src = self.src
        parts: list[str | ast.Expr] = []
        buf: list[str] = []
        i = body_start
        tokens_before = len(self.lx.tokens)
        while i < body_end:
            c = src[i]
            if c == "`" and i + 1 < body_end:
                n = src[i + 1]
                if n == "u" and i + 2 < body_end and src[i + 2] == "{":
                    close = src.find("}", i + 3, body_end)
                    if close > 0:
                        try:
                            buf.append(chr(int(src[i + 3:close], 16)))
                            i = close + 1
                            continue
                        except ValueError:
                            pass
                buf.append(_ESCAPES.get(n, n))
                i += 2
                continue
            if c in '"\u201c\u201d\u201e' and i + 1 < body_end and src[i + 1] in '"\u201c\u201d\u201e':
                buf.append('"')
                i += 2
                continue
            if c == "$" and i + 1 < body_end:
                n = src[i + 1]
                if n == "(":
                    if buf:
                        parts.append("".join(buf))
                        buf = []
                    self.lx.pos = i
                    parts.append(self.parse_primary())
                    i = self.pos
                    continue
                if n.isalnum() or n in "_{?$^:":
                    if n == ":" and not (i + 2 < body_end and src[i + 2].isalnum()):
                        buf.append(c)
                        i += 1
                        continue
                    if buf:
                        parts.append("".join(buf))
                        buf = []
                    self.lx.pos = i + 1
                    name, scope, _ = self.lx.read_variable_name()
                    parts.append(ast.Variable(Span(i, self.pos), name, scope))
                    i = self.pos
                    continue
            buf.append(c)
            i += 1
        if buf:
            parts.append("".join(buf))
        # Tokens from inside the string are highlighted as part of the string.
        del self.lx.tokens[tokens_before:]
        span = Span(start, end)
        if not any(isinstance(p, ast.Expr) for p in parts):
            return ast.Constant(span, "".join(p for p in parts if isinstance(p, str)),
                                src[start:end])
        return ast.ExpandableString(span, parts)


_HELP_KEYWORD = re.compile(
    r"^\s*\.(SYNOPSIS|DESCRIPTION|PARAMETER|EXAMPLE|INPUTS|OUTPUTS|NOTES|LINK|COMPONENT|ROLE|"
    r"FUNCTIONALITY|FORWARDHELPTARGETNAME|FORWARDHELPCATEGORY|REMOTEHELPRUNSPACE|"
    r"EXTERNALHELP)\b", re.IGNORECASE | re.MULTILINE)


_ANY = 1 << 30  # no limit on the blank lines between a body's brace and its help


def _comment_run(src: str, toks: list[Token], index: int, step: int, edge: int,
                 max_newlines: int = 1) -> list[Token]:
    """The comment tokens from ``toks[index]`` going ``step`` (-1 back, 1 forward) that touch
    ``edge`` (only blanks between, at most ``max_newlines`` line breaks): one ``<# #>``
    block, or consecutive ``#`` lines."""
    run: list[Token] = []
    while 0 <= index < len(toks) and toks[index].kind is TokenKind.COMMENT:
        tok = toks[index]
        gap = src[tok.span.end:edge] if step < 0 else src[edge:tok.span.start]
        if gap.strip() or gap.count("\n") > (max_newlines if not run else 1):
            break
        if run and (tok.text.startswith("<#") or run[-1].text.startswith("<#")):
            break  # a block comment stands alone
        run.append(tok)
        edge = tok.span.start if step < 0 else tok.span.end
        index += step
    if step < 0:
        run.reverse()
    return run


def _help_text(run: list[Token]) -> str | None:
    """The text of a comment run without its markers, if it is comment-based help."""
    if not run:
        return None
    if run[0].text.startswith("<#"):
        text = run[0].text[2:-2]
    else:
        text = "\n".join(t.text[1:] for t in run)
    return text if _HELP_KEYWORD.search(text) else None


def ends_with_background(stmt: ast.Statement) -> bool:
    """Tell whether a statement ends with the background operator ``&``."""
    while isinstance(stmt, ast.Assignment):
        stmt = stmt.value
    return isinstance(stmt, ast.PipelineChain) and stmt.background


def check_assignable(expr: ast.Expr, lx: Lexer) -> None:
    """Only variables, members, indexes (and casts of those, and arrays of them) are targets."""
    target = expr
    while isinstance(target, ast.Cast):
        target = target.operand
    if isinstance(target, ast.ArrayLiteral):
        for item in target.items:
            check_assignable(item, lx)
        return
    if isinstance(target, (ast.Variable, ast.MemberAccess, ast.Index)):
        return
    raise lx.error("InvalidLeftHandSide",
                   "The assignment expression is not valid. The input to an assignment operator "
                   "must be an object that is able to accept assignments, such as a variable or a "
                   "property.", expr.span.start, expr.span.end)


__all__ = ["ParseResult", "Parser", "parse", "split_scope", "tokenize"]
