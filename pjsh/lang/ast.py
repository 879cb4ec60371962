"""The syntax tree. Every node carries the source span it came from."""

from __future__ import annotations

from pjsh.lang.record import dataclass, field
from pjsh.lang.source import Span


@dataclass
class Node:
    """Base of all nodes."""

    span: Span

    def __getstate__(self) -> dict[str, object]:
        """The fields only: closures the runtime caches on a node (``_c_*``) are not data."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_c_")}


# ---------------------------------------------------------------- expressions
@dataclass
class Expr(Node):
    """Base of expressions."""


@dataclass
class Constant(Expr):
    """A number, a literal string or a bareword argument without expansion."""

    value: object
    text: str = ""  # original text (numbers passed to natives keep their spelling)


@dataclass
class ExpandableString(Expr):
    """A double-quoted string or bareword with ``$var`` / ``$(...)`` parts."""

    parts: list[str | Expr]


@dataclass
class Variable(Expr):
    """``$name``, ``$scope:name`` or ``${name}``; ``splat`` for ``@name``."""

    name: str
    scope: str | None = None
    splat: bool = False


@dataclass
class ArrayLiteral(Expr):
    """``a, b, c``."""

    items: list[Expr]


@dataclass
class ArrayExpr(Expr):
    """``@( statements )``: always an array."""

    body: StatementBlock


@dataclass
class SubExpr(Expr):
    """``$( statements )``."""

    body: StatementBlock


@dataclass
class ParenExpr(Expr):
    """``( pipeline )``."""

    statement: Statement


@dataclass
class HashtableLiteral(Expr):
    """``@{ key = value; ... }``."""

    pairs: list[tuple[Expr, Statement]]


@dataclass
class ScriptBlockExpr(Expr):
    """``{ ... }`` as a value."""

    body: ScriptBlockBody
    text: str


@dataclass
class BinaryOp(Expr):
    """``left op right`` (``op`` is the lower-case operator text without a dash)."""

    op: str
    left: Expr
    right: Expr


@dataclass
class UnaryOp(Expr):
    """Prefix operators (``-not``, ``!``, ``-``, ``+``, ``-bnot``, ``,``, ``-split``, ``-join``,
    ``++``, ``--``) and postfix ``++``/``--`` (``postfix=True``)."""

    op: str
    operand: Expr
    postfix: bool = False


@dataclass
class TypeLiteral(Expr):
    """``[int]``."""

    name: str


@dataclass
class Cast(Expr):
    """``[int]$x``."""

    type_name: str
    operand: Expr


@dataclass
class MemberAccess(Expr):
    """``obj.name`` or ``obj::name`` (``static``); name may be computed (``$x.$prop``)."""

    obj: Expr
    member: str | Expr
    static: bool = False


@dataclass
class MethodCall(Expr):
    """``obj.name(args)`` or ``[type]::name(args)``."""

    obj: Expr
    member: str
    args: list[Expr]
    static: bool = False


@dataclass
class Index(Expr):
    """``obj[index]``."""

    obj: Expr
    index: Expr


# ---------------------------------------------------------------- commands and pipelines
@dataclass
class Redirection(Node):
    """``>``, ``>>``, ``2>``, ``2>&1``, ``*>``: ``stream`` is '1','2',...,'*'; ``target`` is a
    file expression, or None when merging into ``merge_to``."""

    stream: str
    append: bool
    target: Expr | None = None
    merge_to: str | None = None


@dataclass
class CommandParameter(Node):
    """``-Name`` or ``-Name:value`` as written."""

    name: str
    argument: Expr | None = None
    text: str = ""


@dataclass
class CommandArgument(Node):
    """A positional argument value."""

    value: Expr


@dataclass
class PipelineElement(Node):
    """Base of pipeline elements."""

    redirections: list[Redirection] = field(default_factory=list, kw_only=True)


@dataclass
class Command(PipelineElement):
    """A command invocation: name (a Constant for barewords, else an expression) and elements."""

    name: Expr
    elements: list[CommandParameter | CommandArgument]
    invocation: str | None = None  # '&' (call operator), '.' (dot-source) or None


@dataclass
class CommandExpression(PipelineElement):
    """An expression used as the first element of a pipeline."""

    expr: Expr


@dataclass
class Statement(Node):
    """Base of statements."""


@dataclass
class Pipeline(Statement):
    """``a | b | c``."""

    elements: list[PipelineElement]


@dataclass
class PipelineChain(Statement):
    """``a && b || c`` with an optional trailing background operator ``&``."""

    first: Pipeline
    rest: list[tuple[str, Pipeline]] = field(default_factory=list)
    background: bool = False


@dataclass
class Assignment(Statement):
    """``target op= value`` where value is a statement (pipelines allowed on the right)."""

    target: Expr
    op: str
    value: Statement


@dataclass
class StatementBlock(Node):
    """A braced list of statements."""

    statements: list[Statement]


@dataclass
class IfStatement(Statement):
    """``if (c) {..} elseif (c) {..} else {..}``."""

    clauses: list[tuple[Statement, StatementBlock]]
    else_body: StatementBlock | None = None


@dataclass
class WhileStatement(Statement):
    """``while (c) {..}``."""

    condition: Statement
    body: StatementBlock
    label: str | None = None


@dataclass
class DoStatement(Statement):
    """``do {..} while (c)`` / ``do {..} until (c)``."""

    body: StatementBlock
    condition: Statement
    until: bool
    label: str | None = None


@dataclass
class ForStatement(Statement):
    """``for (init; cond; iter) {..}``."""

    init: Statement | None
    condition: Statement | None
    iterator: Statement | None
    body: StatementBlock
    label: str | None = None


@dataclass
class ForEachStatement(Statement):
    """``foreach ($x in expr) {..}``."""

    variable: Variable
    iterable: Statement
    body: StatementBlock
    label: str | None = None


@dataclass
class SwitchStatement(Statement):
    """``switch [-regex|-wildcard|-exact|-casesensitive] (value) { pattern {..} default {..} }``."""

    subject: Statement
    clauses: list[tuple[Expr | None, StatementBlock]]  # None pattern = default
    mode: str = "exact"
    case_sensitive: bool = False
    label: str | None = None


@dataclass
class ParameterDecl(Node):
    """One parameter in ``param(...)`` or a function's parenthesised list."""

    name: str
    type_name: str | None = None
    default: Expr | None = None
    mandatory: bool = False
    position: int | None = None
    from_pipeline: bool = False
    from_pipeline_by_name: bool = False
    switch: bool = False


@dataclass
class ScriptBlockBody(Node):
    """The inside of a script block or script: ``param()``, then statements or named blocks."""

    params: list[ParameterDecl] | None
    statements: list[Statement]
    begin: StatementBlock | None = None
    process: StatementBlock | None = None
    end: StatementBlock | None = None


@dataclass
class FunctionDefinition(Statement):
    """``function name { ... }`` / ``filter name { ... }``."""

    name: str
    body: ScriptBlockBody
    text: str
    is_filter: bool = False
    # The comment-based help (`<# .SYNOPSIS ... #>` or `#` lines, markers stripped) found
    # before the keyword or at the start or end of the body; None when there is none.
    help_comment: str | None = None


@dataclass
class TryStatement(Statement):
    """``try {..} catch [T1],[T2] {..} finally {..}``."""

    body: StatementBlock
    catches: list[tuple[list[str], StatementBlock]]
    finally_body: StatementBlock | None = None


@dataclass
class FlowStatement(Statement):
    """``return``/``throw``/``exit`` (with an optional pipeline) and ``break``/``continue``
    (with an optional label)."""

    keyword: str
    value: Statement | None = None
    label: str | None = None
