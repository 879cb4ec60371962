"""Statements and expressions turned into Python closures, once per syntax-tree node.

The tree-walker (:mod:`pjsh.runtime.interpreter`) decides at every evaluation what a node is,
lower-cases variable names, walks the operator table and, for the plainest statement (an
expression), builds and runs a one-stage pipeline. A closure made here has done all that once:
the variable's table key, the operator's Python function, which kind of statement it is. What
depends on runtime values (an operand's type, whether a variable exists) is still decided per
run, and anything unusual falls back to the tree-walker's own method for that node, so the
results, errors and side effects are the tree-walker's (pjsh.runtime.fastpath switches this off
for the tests that compare both).

The closures are kept on the node (``node.__dict__``, under ``_c_expr`` / ``_c_stmt``), which
ast.Node leaves out when a tree is pickled. They take the interpreter and frame as arguments,
so one tree may run in several runspaces (thread jobs) at once.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pjsh.lang import ast
from pjsh.runtime.errors import StopUpstreamSignal
from pjsh.runtime.members import get_member

if TYPE_CHECKING:  # novm: never runs (typing.TypeAlias is 3.10+)
    from typing import TypeAlias

    from pjsh.runtime.interpreter import Frame, Interpreter
    from pjsh.runtime.scopes import Scope
    from pjsh.runtime.streams import Sink

# String aliases: collections.abc.Callable is not subscriptable at run time on Python 3.8.
ExprFn: TypeAlias = "Callable[[Interpreter, Frame], object]"
StmtFn: TypeAlias = "Callable[[Interpreter, Frame, Sink], None]"

_UNSEEN = object()
EXPR_KEY = "_c_expr"
STMT_KEY = "_c_stmt"

# Variable names get_variable answers before looking in the scopes (see its body).
_SPECIAL_READ = frozenset({"true", "false", "null", "pwd", "pid", "lastexitcode", "error", "home"})
# Names set_variable treats specially (read-only, discarded, or kept elsewhere).
_SPECIAL_WRITE = frozenset({"true", "false", "null", "pwd", "pid", "home", "lastexitcode"})
_CONSTANT_VALUES: dict[str, object] = {"true": True, "false": False, "null": None}

# Operators whose result for two plain numbers is Python's own: for exact int/float operands
# ops.add/subtract/multiply return exactly left OP right (Python ints do not overflow, and no
# conversion applies); for exact ints, the comparisons are Python's.
_ARITHMETIC: dict[str, Callable[[Any, Any], object]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul,
}
_COMPARE: dict[str, Callable[[Any, Any], object]] = {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
    "gt": operator.gt, "ge": operator.ge,
}
_NUMBER_TYPES = (int, float)
_SUCCESS = ("?", True)  # the scope entry of $? after a statement that succeeded


def expr_fn(e: ast.Expr) -> ExprFn:
    """The closure that evaluates ``e`` (made on first use, then kept on the node)."""
    fn: ExprFn | None = e.__dict__.get(EXPR_KEY)
    if fn is None:
        fn = _compile_expr(e)
        e.__dict__[EXPR_KEY] = fn
    return fn


def stmt_fn(stmt: ast.Statement) -> StmtFn | None:
    """The closure that runs ``stmt``, or None where the tree-walker's general path is the
    one to take (the answer is kept on the node either way)."""
    found: StmtFn | None = stmt.__dict__.get(STMT_KEY, _UNSEEN)
    if found is _UNSEEN:
        found = stmt.__dict__[STMT_KEY] = _compile_stmt(stmt)
    return found  # (not typing.cast: a call per statement run)


# ---------------------------------------------------------------- expressions
def _generic(e: ast.Expr) -> ExprFn:
    """The tree-walker's own method for this kind of node (not ``eval``, which would come
    back here)."""
    from pjsh.runtime.interpreter import Interpreter

    method = getattr(Interpreter, "eval_" + type(e).__name__)

    def run(interp: Interpreter, frame: Frame) -> object:
        result: object = method(interp, e, frame)
        return result

    return run


def _compile_expr(e: ast.Expr) -> ExprFn:
    if isinstance(e, ast.Constant):
        value = e.value
        return lambda interp, frame: value
    if isinstance(e, ast.Variable):
        return _compile_variable(e)
    if isinstance(e, ast.BinaryOp):
        return _compile_binary(e)
    if isinstance(e, ast.MemberAccess) and not e.static and isinstance(e.member, str):
        obj = expr_fn(e.obj)
        name = e.member
        return lambda interp, frame: get_member(obj(interp, frame), name)
    return _generic(e)


def _compile_variable(e: ast.Variable) -> ExprFn:
    if e.splat or e.scope is not None:
        return _generic(e)
    key = e.name.lower()
    if key in _CONSTANT_VALUES:
        value = _CONSTANT_VALUES[key]
        return lambda interp, frame: value
    if key in _SPECIAL_READ:
        return _generic(e)
    name = e.name

    def read(interp: Interpreter, frame: Frame) -> object:
        scope: Scope | None = frame.scope
        while scope is not None:
            entry = scope._vars.get(key)
            if entry is not None:
                return entry[1]
            scope = scope.parent
        # Not set: the general reader has the fall-backs ($PSItem is $_, $? ...).
        return interp.get_variable(frame, name, None, e)

    return read


def _compile_binary(e: ast.BinaryOp) -> ExprFn:
    op = e.op
    low = op.lower()
    if low in ("??", "and", "or", "is", "isnot", "as"):
        return _generic(e)  # short-circuits, or a type operand that is not evaluated
    left = expr_fn(e.left)
    right = expr_fn(e.right)
    arithmetic = _ARITHMETIC.get(low)
    if arithmetic is not None:
        def arith(interp: Interpreter, frame: Frame) -> object:
            a = left(interp, frame)
            b = right(interp, frame)
            ta, tb = type(a), type(b)
            if (ta is int or ta is float) and (tb is int or tb is float):
                return arithmetic(a, b)
            return interp.binary(op, a, b, frame, e)

        return arith
    base = low[1:] if low[:1] in ("c", "i") and low[1:] in _COMPARE else low
    compare = _COMPARE.get(base)
    if compare is not None:
        def comparison(interp: Interpreter, frame: Frame) -> object:
            a = left(interp, frame)
            b = right(interp, frame)
            if type(a) is int and type(b) is int:
                return compare(a, b)
            return interp.binary(op, a, b, frame, e)

        return comparison

    def binary(interp: Interpreter, frame: Frame) -> object:
        a = left(interp, frame)
        return interp.binary(op, a, right(interp, frame), frame, e)

    return binary


# ---------------------------------------------------------------- statements
def simple_expression(stmt: ast.Statement) -> ast.Expr | None:
    """The expression of a statement that is nothing but one (no redirection, no chain)."""
    node: ast.Statement = stmt
    if isinstance(node, ast.PipelineChain):
        if node.rest or node.background:
            return None
        node = node.first
    if not isinstance(node, ast.Pipeline) or len(node.elements) != 1:
        return None
    element = node.elements[0]
    if isinstance(element, ast.CommandExpression) and not element.redirections:
        return element.expr
    return None


def _compile_stmt(stmt: ast.Statement) -> StmtFn | None:
    expr = simple_expression(stmt)
    if expr is not None:
        return _compile_expression_statement(expr)
    if isinstance(stmt, ast.Assignment):
        return _compile_assignment(stmt)
    from pjsh.runtime.fastcall import compile_call

    return compile_call(stmt)


def _compile_expression_statement(expr: ast.Expr) -> StmtFn:
    """What PipelineRunner.run does for a pipeline of one ExpressionStage (see its
    run_first), without building the stage."""
    value_of = expr_fn(expr)
    is_variable = isinstance(expr, ast.Variable)
    is_range = isinstance(expr, ast.BinaryOp) and expr.op == ".."
    silent_none = isinstance(expr, ast.MethodCall)
    silent = isinstance(expr, ast.UnaryOp) and expr.op in ("++", "--")

    def run(interp: Interpreter, frame: Frame, out: Sink) -> None:
        try:
            if is_variable:
                assert isinstance(expr, ast.Variable)
                if interp.holds_nothing(expr, frame):
                    _succeeded(interp)
                    return
            if is_range:
                numbers = interp.lazy_range(expr, frame)
                assert numbers is not None
                send = out.send
                for n in numbers:
                    send(n)
            else:
                value = value_of(interp, frame)
                if silent or (silent_none and value is None):
                    pass
                elif type(value) is list:
                    send = out.send
                    for item in value:
                        send(item)
                elif isinstance(value, list):
                    for item in value:
                        out.send(item)
                else:
                    out.send(value)
        except StopUpstreamSignal as e:
            # Asked by a stage of an enclosing pipeline: not this one's to absorb.
            if getattr(e, "origin", None) is not None:
                raise
        _succeeded(interp)

    return run


def _succeeded(interp: Interpreter) -> None:
    """The end of a pipeline that ran without errors and without natives."""
    session = interp.session
    session.last_native_failure = None
    # Interpreter.set_success(True), i.e. global_scope.set_key("?", "?", True), written out:
    # the entry of "?" is always named "?", so the stored pair is always this one.
    scope = session.global_scope
    scope._vars["?"] = _SUCCESS
    if scope._nothing:
        scope._nothing.discard("?")


def _compile_assignment(stmt: ast.Assignment) -> StmtFn | None:
    """``$name = expr`` and ``$name op= expr`` for a plain variable (exec_assignment's
    steps, in its order)."""
    target = stmt.target
    if not isinstance(target, ast.Variable) or target.scope is not None or target.splat:
        return None
    key = target.name.lower()
    if key in _SPECIAL_WRITE or key in _SPECIAL_READ:
        return None
    if stmt.op == "??=":
        return None
    expr = simple_expression(stmt.value)
    if expr is None:
        return _compile_call_assignment(stmt, target, key)
    name = target.name
    value_of = expr_fn(expr)
    if stmt.op == "=":
        is_variable = isinstance(expr, ast.Variable)

        def assign(interp: Interpreter, frame: Frame, out: Sink) -> None:
            if is_variable:
                assert isinstance(expr, ast.Variable)
                if interp.holds_nothing(expr, frame):
                    interp.assign_nothing(target, frame)
                    interp.set_success(True)
                    return
            frame.scope.set_key(key, name, value_of(interp, frame))
            interp.set_success(True)

        return assign
    op = stmt.op[0]
    current_of = expr_fn(target)
    arithmetic = _ARITHMETIC.get(op)

    def update(interp: Interpreter, frame: Frame, out: Sink) -> None:
        value = value_of(interp, frame)
        current = current_of(interp, frame)
        tc, tv = type(current), type(value)
        if arithmetic is not None and (tc is int or tc is float) and (tv is int or tv is float):
            result = arithmetic(current, value)
        else:
            result = interp.binary(op, current, value, frame, stmt)
        frame.scope.set_key(key, name, result)
        interp.set_success(True)

    return update


def _compile_call_assignment(stmt: ast.Assignment, target: ast.Variable,
                             key: str) -> StmtFn | None:
    """``$name = f ...`` and ``$name op= f ...`` where the right side is a call statement
    (see pjsh.runtime.fastcall): exec_assignment's steps, the call captured as
    capture_result / capture_value would."""
    from pjsh.runtime.fastcall import CALL_MARK

    call = stmt_fn(stmt.value)
    capture_call: Callable[[Interpreter, Frame, bool], tuple[object, bool]] | None = getattr(
        call, CALL_MARK, None)
    if capture_call is None:
        return None
    name = target.name
    if stmt.op == "=":
        def assign(interp: Interpreter, frame: Frame, out: Sink) -> None:
            value, nothing = capture_call(interp, frame, False)
            if nothing:
                interp.assign_nothing(target, frame)
            else:
                frame.scope.set_key(key, name, value)
            interp.set_success(True)

        return assign
    op = stmt.op[0]
    current_of = expr_fn(target)

    def update(interp: Interpreter, frame: Frame, out: Sink) -> None:
        value = capture_call(interp, frame, True)[0]
        current = current_of(interp, frame)
        frame.scope.set_key(key, name, interp.binary(op, current, value, frame, stmt))
        interp.set_success(True)

    return update
