"""The parser: AST shapes for every construct of SPEC §2, spans that index the source,
argument vs expression mode decided by the first token, incomplete input as a result, and
PowerShell's parse error ids and messages."""

from __future__ import annotations

import pytest

from pjsh.lang import ast
from pjsh.lang.parser import parse


def body(src: str) -> ast.ScriptBlockBody:
    """Parse and insist on success."""
    r = parse(src)
    assert r.error is None, r.error and r.error.describe()
    assert r.body is not None
    return r.body


def stmts(src: str) -> list[ast.Statement]:
    return body(src).statements


def only(src: str) -> ast.Statement:
    s = stmts(src)
    assert len(s) == 1, s
    return s[0]


def pipeline(src: str) -> ast.Pipeline:
    chain = only(src)
    assert isinstance(chain, ast.PipelineChain) and not chain.rest and not chain.background
    return chain.first


def element(src: str) -> ast.PipelineElement:
    p = pipeline(src)
    assert len(p.elements) == 1
    return p.elements[0]


def expr(src: str) -> ast.Expr:
    el = element(src)
    assert isinstance(el, ast.CommandExpression), el
    return el.expr


def command(src: str) -> ast.Command:
    el = element(src)
    assert isinstance(el, ast.Command), el
    return el


def text(src: str, node: ast.Node) -> str:
    return src[node.span.start:node.span.end]


def error(src: str) -> tuple[str, bool]:
    r = parse(src)
    assert r.error is not None, f"{src!r} parsed"
    return r.error.error_id, r.incomplete


# ---------------------------------------------------------------- statements and separators

def test_statements_are_separated_by_newlines_and_semicolons() -> None:
    assert len(stmts("a; b\nc\r\n\n;;d")) == 4


def test_comments_line_and_block_are_ignored() -> None:
    s = stmts("1 # one\n<# a\nblock #> 2 <# inline #>; 3")
    assert [expr_value(x) for x in s] == [1, 2, 3]


def expr_value(stmt: ast.Statement) -> object:
    assert isinstance(stmt, ast.PipelineChain)
    el = stmt.first.elements[0]
    assert isinstance(el, ast.CommandExpression) and isinstance(el.expr, ast.Constant)
    return el.expr.value


def test_empty_input_and_only_comments_give_no_statements() -> None:
    assert stmts("") == []
    assert stmts("  \n # nothing\n<# x #>") == []


# ---------------------------------------------------------------- argument vs expression mode

def test_a_number_first_is_expression_mode() -> None:
    e = expr("2 + 3")
    assert isinstance(e, ast.BinaryOp) and e.op == "+"


def test_a_bareword_first_is_argument_mode_so_plus_is_an_argument() -> None:
    c = command("echo 2 + 3")
    assert isinstance(c.name, ast.Constant) and c.name.value == "echo"
    values = [el.value.value for el in c.elements if isinstance(el, ast.CommandArgument)
              and isinstance(el.value, ast.Constant)]
    assert values == [2, "+", 3]


def test_a_variable_first_is_an_expression_and_as_an_argument_a_value() -> None:
    e = expr("$x")
    assert isinstance(e, ast.Variable) and e.name == "x"
    c = command("Write-Output $x")
    arg = c.elements[0]
    assert isinstance(arg, ast.CommandArgument) and isinstance(arg.value, ast.Variable)


@pytest.mark.parametrize("src", ["'s'", '"s"', "(1)", "@(1)", "@{}", "[int]'1'", "-1", "!$x",
                                 "-not $x", "$(1)", "1..2", ".5", "0x10", "10kb", ",1", "{ 1 }"])
def test_expression_starts(src: str) -> None:
    assert isinstance(element(src), ast.CommandExpression)


@pytest.mark.parametrize("src", ["7z a", "2to3 f", "Get-Item x", "./run.sh", "& 'my cmd'",
                                 ". ./lib.ps1", "-foo", "foo-bar"])
def test_command_starts(src: str) -> None:
    assert isinstance(element(src), ast.Command)


def test_mode_never_depends_on_what_names_exist() -> None:
    # Same text, same tree, whether or not `x` is a variable or a command at run time.
    a, b = parse("x -eq 1"), parse("x -eq 1")
    assert a.body == b.body
    assert isinstance(a.body and a.body.statements[0], ast.PipelineChain)
    c = command("x -eq 1")
    assert isinstance(c.elements[0], ast.CommandParameter) and c.elements[0].name == "eq"


# ---------------------------------------------------------------- commands

def test_parameters_named_with_colon_switches_and_positional() -> None:
    src = "Get-Thing -Name:foo -Force pos1 -Count 3"
    c = command(src)
    kinds = [(type(e).__name__, getattr(e, "name", None)) for e in c.elements]
    assert kinds == [("CommandParameter", "Name"), ("CommandParameter", "Force"),
                     ("CommandArgument", None), ("CommandParameter", "Count"),
                     ("CommandArgument", None)]
    named = c.elements[0]
    assert isinstance(named, ast.CommandParameter) and isinstance(named.argument, ast.Constant)
    assert named.argument.value == "foo" and named.text == "-Name:"
    assert text(src, named) == "-Name:foo"


def test_negative_numbers_and_double_dash_are_arguments_not_parameters() -> None:
    c = command("f -5 -- -x")
    first = c.elements[0]
    assert isinstance(first, ast.CommandArgument) and isinstance(first.value, ast.Constant)
    assert first.value.value == -5
    assert isinstance(c.elements[1], ast.CommandParameter) and c.elements[1].text == "--"


def test_comma_separated_arguments_make_one_array_argument() -> None:
    c = command("f a,b,'c d'")
    arg = c.elements[0]
    assert isinstance(arg, ast.CommandArgument) and isinstance(arg.value, ast.ArrayLiteral)
    assert [i.value for i in arg.value.items if isinstance(i, ast.Constant)] == ["a", "b", "c d"]


def test_barewords_with_variables_are_expandable() -> None:
    src = "echo MyVm$k"
    arg = command(src).elements[0]
    assert isinstance(arg, ast.CommandArgument) and isinstance(arg.value, ast.ExpandableString)
    assert arg.value.parts[0] == "MyVm" and isinstance(arg.value.parts[1], ast.Variable)
    assert text(src, arg) == "MyVm$k"


def test_call_and_dot_source_operators() -> None:
    c = command("& $sb 1 2")
    assert c.invocation == "&" and isinstance(c.name, ast.Variable) and len(c.elements) == 2
    d = command(". ./lib.ps1")
    assert d.invocation == "." and isinstance(d.name, ast.Constant) and d.name.value == "./lib.ps1"
    q = command("& 'my cmd' x")
    assert isinstance(q.name, ast.Constant) and q.name.value == "my cmd"


def test_splatting_argument() -> None:
    arg = command("f @params").elements[0]
    assert isinstance(arg, ast.CommandArgument) and isinstance(arg.value, ast.Variable)
    assert arg.value.splat and arg.value.name == "params"


@pytest.mark.parametrize(("src", "expected"), [
    ("a > f", [("1", False, "f", None)]),
    ("a >> f", [("1", True, "f", None)]),
    ("a 2> e.txt", [("2", False, "e.txt", None)]),
    ("a 2>&1", [("2", False, None, "1")]),
    ("a *> all", [("*", False, "all", None)]),
    ("a 3>&1 > $null", [("3", False, None, "1"), ("1", False, "$null", None)]),
])
def test_redirections(src: str, expected: list[tuple[str, bool, str | None, str | None]]) -> None:
    el = element(src)
    got = [(r.stream, r.append, text(src, r.target) if r.target else None, r.merge_to)
           for r in el.redirections]
    assert got == expected


def test_redirection_on_an_expression() -> None:
    el = element("'x' > out.txt")
    assert isinstance(el, ast.CommandExpression) and el.redirections[0].stream == "1"


# ---------------------------------------------------------------- pipelines and chains

def test_pipeline_elements_and_their_spans() -> None:
    src = "gci | where { $_ } | select -First 1"
    p = pipeline(src)
    assert [text(src, e) for e in p.elements] == ["gci", "where { $_ }", "select -First 1"]
    assert text(src, p) == src


def test_a_pipeline_may_continue_after_a_pipe_on_the_next_line() -> None:
    assert len(pipeline("a |\n  b").elements) == 2


def test_chains_with_and_and_or() -> None:
    chain = only("a && b || c")
    assert isinstance(chain, ast.PipelineChain)
    assert [op for op, _ in chain.rest] == ["&&", "||"]


def test_background_operator_ends_a_statement_and_covers_the_chain() -> None:
    s = stmts("a && b & c")
    assert len(s) == 2
    assert isinstance(s[0], ast.PipelineChain) and s[0].background and len(s[0].rest) == 1
    assign = only("$j = 2+3 &")
    assert isinstance(assign, ast.Assignment)
    assert isinstance(assign.value, ast.PipelineChain) and assign.value.background


def test_background_before_a_chain_operator_is_an_error() -> None:
    assert error("a & && b") == ("BackgroundOperatorInPipelineChain", False)


@pytest.mark.parametrize("src", ["'a' || & { 'b' }", "a && & $sb", "a &&\n  & 'b' -x"])
def test_a_call_operator_may_start_the_pipeline_after_a_chain_operator(src: str) -> None:
    chain = only(src)
    assert isinstance(chain, ast.PipelineChain) and not chain.background
    (_, nxt), = chain.rest
    first = nxt.elements[0]
    assert isinstance(first, ast.Command) and first.invocation == "&"


def test_a_call_after_a_chain_operator_may_itself_run_in_the_background() -> None:
    chain = only("a || & $sb &")
    assert isinstance(chain, ast.PipelineChain) and chain.background and len(chain.rest) == 1


def test_a_chain_operator_right_after_another_is_an_error() -> None:
    assert error("a && && b") == ("MissingExpression", False)


# ---------------------------------------------------------------- expressions

def test_operator_precedence() -> None:
    e = expr("1 + 2 * 3 -eq 7 -and -not $false")
    assert isinstance(e, ast.BinaryOp) and e.op == "and"
    assert isinstance(e.left, ast.BinaryOp) and e.left.op == "eq"
    assert isinstance(e.left.left, ast.BinaryOp) and e.left.left.op == "+"
    assert isinstance(e.left.left.right, ast.BinaryOp) and e.left.left.right.op == "*"
    assert isinstance(e.right, ast.UnaryOp) and e.right.op == "not"


def test_comma_binds_tighter_than_plus_and_range_tighter_than_comma() -> None:
    e = expr("1,2 + 3")
    assert isinstance(e, ast.BinaryOp) and isinstance(e.left, ast.ArrayLiteral)
    r = expr("1..3")
    assert isinstance(r, ast.BinaryOp) and r.op == ".."


@pytest.mark.parametrize("op", ["eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match",
                                "notmatch", "contains", "notcontains", "in", "notin", "replace",
                                "split", "join", "ceq", "ieq", "clike", "cmatch", "is", "as",
                                "band", "bor", "shl", "f"])
def test_dash_operators_parse_case_insensitively(op: str) -> None:
    e = expr(f"$a -{op.upper()} $b")
    assert isinstance(e, ast.BinaryOp) and e.op == op


def test_unary_operators() -> None:
    for src, op in (("-not $a", "not"), ("!$a", "not"), ("-$a", "-"), ("-split $s", "split"),
                    ("-join $a", "join"), ("++$i", "++"), ("--$i", "--"), ("-bnot 5", "bnot")):
        e = expr(src)
        assert isinstance(e, ast.UnaryOp) and e.op == op and not e.postfix, src
    post = expr("$i++")
    assert isinstance(post, ast.UnaryOp) and post.op == "++" and post.postfix


def test_member_access_method_call_index_and_static_member() -> None:
    src = "$a.b.c(1, 2)[0]"
    e = expr(src)
    assert isinstance(e, ast.Index) and isinstance(e.obj, ast.MethodCall)
    assert e.obj.member == "c" and len(e.obj.args) == 2
    assert isinstance(e.obj.obj, ast.MemberAccess) and e.obj.obj.member == "b"
    assert text(src, e.obj) == "$a.b.c(1, 2)"
    s = expr("[math]::Pi")
    assert isinstance(s, ast.MemberAccess) and s.static and isinstance(s.obj, ast.TypeLiteral)
    m = expr("[string]::Join(',', $x)")
    assert isinstance(m, ast.MethodCall) and m.static and m.member == "Join"
    d = expr("$x.$name")
    assert isinstance(d, ast.MemberAccess) and isinstance(d.member, ast.Variable)


def test_cast_applies_to_the_member_expression() -> None:
    e = expr("[int]$x.Length")
    assert isinstance(e, ast.Cast) and e.type_name == "int"
    assert isinstance(e.operand, ast.MemberAccess)


def test_hashtable_and_array_subexpression() -> None:
    h = expr("@{ a = 1; 'b c' = 2\n d = 3 }")
    assert isinstance(h, ast.HashtableLiteral) and len(h.pairs) == 3
    a = expr("@(1; 2)")
    assert isinstance(a, ast.ArrayExpr) and len(a.body.statements) == 2
    s = expr("$(1; 2)")
    assert isinstance(s, ast.SubExpr)


def test_script_block_value_keeps_its_text() -> None:
    e = expr("{ param($a) $a * 2 }")
    assert isinstance(e, ast.ScriptBlockExpr) and e.text == " param($a) $a * 2 "
    assert e.body.params is not None and e.body.params[0].name == "a"


def test_double_quoted_strings_expand_variables_and_subexpressions() -> None:
    e = expr('"a $x b $($y + 1) c`t"')
    assert isinstance(e, ast.ExpandableString)
    assert e.parts[0] == "a " and isinstance(e.parts[1], ast.Variable)
    assert isinstance(e.parts[3], ast.SubExpr) and e.parts[-1] == " c\t"


def test_strings_without_expansion_are_constants() -> None:
    for src, value in (("'lit $x'", "lit $x"), ('"plain"', "plain"), ('"q""q"', 'q"q'),
                       ("'it''s'", "it's"), ('"`$x"', "$x"), ('"`u{1F600}"', "\U0001F600")):
        e = expr(src)
        assert isinstance(e, ast.Constant) and e.value == value, src


def test_here_strings() -> None:
    lit = expr("@'\nraw $x\n  two\n'@")
    assert isinstance(lit, ast.Constant) and lit.value == "raw $x\n  two"
    exp = expr('@"\nv=$x\n"@')
    assert isinstance(exp, ast.ExpandableString) and exp.parts[0] == "v="


def test_scoped_and_env_variables() -> None:
    for src, name, scope in (("$env:HOME", "HOME", "env"), ("$global:x", "x", "global"),
                             ("$script:y", "y", "script"), ("${a b}", "a b", None)):
        e = expr(src)
        assert isinstance(e, ast.Variable) and (e.name, e.scope) == (name, scope)


# ---------------------------------------------------------------- assignments

@pytest.mark.parametrize("op", ["=", "+=", "-=", "*=", "/=", "%="])
def test_assignment_operators(op: str) -> None:
    a = only(f"$x {op} 1")
    assert isinstance(a, ast.Assignment) and a.op == op


def test_assignment_targets_and_pipeline_values() -> None:
    for src in ("$a.b = 1", "$a[0] = 1", "[int]$n = '5'", "$a, $b = 1, 2", "$env:X = 1"):
        assert isinstance(only(src), ast.Assignment), src
    a = only("$x = gci | select -First 1")
    assert isinstance(a, ast.Assignment) and isinstance(a.value, ast.PipelineChain)
    assert len(a.value.first.elements) == 2


def test_assigning_to_a_constant_is_an_error() -> None:
    assert error("1 = 2") == ("InvalidLeftHandSide", False)


# ---------------------------------------------------------------- control flow

def test_if_elseif_else_across_newlines() -> None:
    s = only("if ($a) { 1 }\nelseif ($b) { 2 }\nelse { 3 }")
    assert isinstance(s, ast.IfStatement) and len(s.clauses) == 2 and s.else_body is not None


def test_loops() -> None:
    f = only("for ($i = 0; $i -lt 3; $i++) { $i }")
    assert isinstance(f, ast.ForStatement) and f.init and f.condition and f.iterator
    empty = only("for (;;) { break }")
    assert isinstance(empty, ast.ForStatement) and empty.condition is None
    fe = only("foreach ($x in 1..3) { $x }")
    assert isinstance(fe, ast.ForEachStatement) and fe.variable.name == "x"
    w = only("while ($true) { break }")
    assert isinstance(w, ast.WhileStatement)
    dw = only("do { 1 } while ($false)")
    assert isinstance(dw, ast.DoStatement) and not dw.until
    du = only("do { 1 }\nuntil ($true)")
    assert isinstance(du, ast.DoStatement) and du.until


def test_labels_and_flow_statements() -> None:
    s = only(":outer foreach ($a in 1) { break outer; continue outer }")
    assert isinstance(s, ast.ForEachStatement) and s.label == "outer"
    flows = s.body.statements
    assert [(f.keyword, f.label) for f in flows if isinstance(f, ast.FlowStatement)] == [
        ("break", "outer"), ("continue", "outer")]
    for src, kw in (("return 5", "return"), ("exit 3", "exit"), ("throw 'x'", "throw")):
        f = only(src)
        assert isinstance(f, ast.FlowStatement) and f.keyword == kw and f.value is not None


def test_switch_with_options_and_default() -> None:
    s = only("switch -Regex -CaseSensitive ($x) { 'a' { 1 } { $_ -gt 1 } { 2 } default { 3 } }")
    assert isinstance(s, ast.SwitchStatement)
    assert s.mode == "regex" and s.case_sensitive
    assert [type(p).__name__ if p else None for p, _ in s.clauses] == [
        "Constant", "ScriptBlockExpr", None]


def test_function_with_param_block_attributes_and_named_blocks() -> None:
    src = ("function Get-It { param([Parameter(Mandatory, ValueFromPipelineByPropertyName)]"
           "[string]$Name, [int]$N = 2, [switch]$Force)\n begin {} process { $Name } end {} }")
    f = only(src)
    assert isinstance(f, ast.FunctionDefinition) and f.name == "Get-It"
    params = f.body.params
    assert params is not None
    name, n, force = params
    assert name.mandatory and name.from_pipeline_by_name and name.type_name == "string"
    assert name.position == 0 and n.position == 1 and force.switch and force.position is None
    assert isinstance(n.default, ast.Constant) and n.default.value == 2
    assert f.body.begin is not None and f.body.process is not None and f.body.end is not None
    assert text(src, f) == src


def test_function_with_parenthesised_parameters_and_filter() -> None:
    f = only("function add($a, $b) { $a + $b }")
    assert isinstance(f, ast.FunctionDefinition) and f.body.params is not None
    assert [p.name for p in f.body.params] == ["a", "b"]
    flt = only("filter double { $_ * 2 }")
    assert isinstance(flt, ast.FunctionDefinition) and flt.is_filter


def test_try_catch_types_and_finally() -> None:
    t = only("try { 1 } catch [System.IO.IOException], [Exception] { 2 } catch { 3 } "
             "finally { 4 }")
    assert isinstance(t, ast.TryStatement)
    assert [types for types, _ in t.catches] == [["System.IO.IOException", "Exception"], []]
    assert t.finally_body is not None


# ---------------------------------------------------------------- incomplete input

@pytest.mark.parametrize("src", [
    "if ($x) {", "(1 + 2", "gci |", "a &&", "$x =", "1 +", '"abc', "@{ a = 1", "function f {",
    "foreach ($x in 1..3)", "try { }", "do { } ", "$(", "@(1,", "echo a,", "if ($x) { } else",
    "'x", "<# c", "{", "switch ($x) {",
])
def test_unfinished_input_is_incomplete_not_an_error(src: str) -> None:
    r = parse(src)
    assert r.incomplete, (src, r.error and r.error.error_id)
    assert r.body is None


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize(("src", "error_id"), [
    ("a | | b", "EmptyPipeElement"),
    ("a | 5", "ExpressionsMustBeFirstInPipeline"),
    ("}", "UnexpectedToken"),
    ("1 +* 2", "ExpectedValueExpression"),
    ("$x = )", "ExpectedValueExpression"),
    ("function { }", "MissingNameForFunctionDefinition"),
    ("param($a); param($b)", "UnexpectedToken"),
    ("foreach (x in 1) { }", "MissingVariableNameAfterForeach"),
    ("echo < in.txt", "RedirectionNotSupported"),
    ("switch ($x) { 1 }", "MissingSwitchStatementClause"),
    ("if () { }", "IfStatementMissingCondition"),
    ("else { }", "UnexpectedToken"),
    ("$a[]", "MissingArrayIndexExpression"),
    ("a > ", "MissingFileSpecification"),
    ("switch -bogus ($x) { }", "InvalidSwitchFlag"),
    ("1 2", "UnexpectedToken"),
])
def test_parse_errors_have_powershell_ids(src: str, error_id: str) -> None:
    assert error(src) == (error_id, False)


def test_parse_error_spans_point_at_the_offending_text() -> None:
    r = parse("$a = 1\n$b = (1 +* 2)")
    assert r.error is not None
    assert r.error.span.start == r.error.source.index("*")
    lines = r.error.describe().splitlines()
    assert lines[0] == "ParserError: line 2, column 10"
    assert lines[2] == "   2 |  $b = (1 +* 2)"
    assert lines[3] == "     |           ^"
    assert lines[4] == "     | You must provide a value expression following the '+' operator."


def test_multi_character_error_spans_draw_tildes() -> None:
    r = parse("param($a); param($b)")
    assert r.error is not None
    assert r.error.describe().splitlines()[3] == "     |             ~~~~~"


def test_too_deep_nesting_is_a_parse_error_not_a_crash() -> None:
    r = parse("(" * 3000 + "1" + ")" * 3000)
    assert r.error is not None and r.error.error_id == "NestingTooDeep"


def test_every_node_span_lies_inside_the_source() -> None:
    src = ("function f($a) { if ($a -gt 1) { \"big $a\" } else { @{k=$a}.k } }\n"
           "1..3 | ForEach-Object { f $_ } > $null; $x = try { 1 } finally { 2 }")
    r = parse(src)
    seen = 0

    def walk(node: object) -> None:
        nonlocal seen
        if isinstance(node, ast.Node):
            seen += 1
            assert 0 <= node.span.start <= node.span.end <= len(src), node
            for value in vars(node).values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for item in node:
                walk(item)

    walk(r.body)
    assert r.error is not None or seen > 30


def test_null_coalescing_is_the_loosest_binary_operator() -> None:
    e = expr("$a -and $b ?? $c")
    assert isinstance(e, ast.BinaryOp) and e.op == "??"
    assert isinstance(e.left, ast.BinaryOp) and e.left.op == "and"
    a = only("$x ??= 1")
    assert isinstance(a, ast.Assignment) and a.op == "??="
