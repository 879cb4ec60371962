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
from pjsh.runtime.convert import to_bool
from pjsh.runtime.errors import (
    BreakSignal,
    CallDepthOverflow,
    ContinueSignal,
    PipelineStoppedSignal,
    PSRuntimeError,
    StopUpstreamSignal,
)
from pjsh.runtime.members import get_member

if TYPE_CHECKING:  # novm: never runs (typing.TypeAlias is 3.10+)
    from typing import TypeAlias

    from pjsh.runtime.interpreter import Frame, Interpreter
    from pjsh.runtime.scopes import Scope
    from pjsh.runtime.session import Session
    from pjsh.runtime.streams import Sink

# String aliases: collections.abc.Callable is not subscriptable at run time on Python 3.8.
ExprFn: TypeAlias = "Callable[[Interpreter, Frame], object]"
StmtFn: TypeAlias = "Callable[[Interpreter, Frame, Sink], None]"

_UNSEEN = object()
EXPR_KEY = "_c_expr"
STMT_KEY = "_c_stmt"
BLOCK_KEY = "_c_block"

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
SUCCESS = ("?", True)  # the scope entry of $? after a statement that succeeded
_FAILURE = ("?", False)


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
    key = _plain_key(e.left)
    constant = e.right.value if isinstance(e.right, ast.Constant) else None
    if key is not None and (type(constant) is int or type(constant) is float):
        # `$name OP number`, the commonest shape in loops: the variable read (see
        # _compile_variable) and the operator in one closure.
        fast = _variable_number(e, key, constant, low, left)
        if fast is not None:
            return fast
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


def _variable_number(e: ast.BinaryOp, key: str, number: float, low: str,
                     read: ExprFn) -> ExprFn | None:
    """``$name OP number`` for an arithmetic operator or an integer comparison, or None."""
    op = e.op
    arithmetic = _ARITHMETIC.get(low)
    if arithmetic is not None:
        def arith(interp: Interpreter, frame: Frame) -> object:
            scope: Scope | None = frame.scope
            while scope is not None:
                entry = scope._vars.get(key)
                if entry is not None:
                    a = entry[1]
                    break
                scope = scope.parent
            else:
                a = read(interp, frame)  # not set: the general reader's fall-backs
            ta = type(a)
            if ta is int or ta is float:
                return arithmetic(a, number)
            return interp.binary(op, a, number, frame, e)

        return arith
    base = low[1:] if low[:1] in ("c", "i") and low[1:] in _COMPARE else low
    compare = _COMPARE.get(base)
    if compare is None or type(number) is not int:
        return None

    def comparison(interp: Interpreter, frame: Frame) -> object:
        scope: Scope | None = frame.scope
        while scope is not None:
            entry = scope._vars.get(key)
            if entry is not None:
                a = entry[1]
                break
            scope = scope.parent
        else:
            a = read(interp, frame)
        if type(a) is int:
            return compare(a, number)
        return interp.binary(op, a, number, frame, e)

    return comparison


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
    if isinstance(stmt, ast.ForEachStatement):
        return _compile_foreach(stmt)
    if isinstance(stmt, ast.IfStatement):
        return _compile_if(stmt)
    if isinstance(stmt, ast.WhileStatement):
        return _compile_while(stmt)
    if isinstance(stmt, ast.ForStatement):
        return _compile_for(stmt)
    from pjsh.runtime.fastcall import compile_call

    return compile_call(stmt)


def _plain_key(expr: ast.Expr) -> str | None:
    """The table key of a reference to a plain variable (no scope, no splat, not one
    get_variable answers itself), or None."""
    if not isinstance(expr, ast.Variable) or expr.splat or expr.scope is not None:
        return None
    key = expr.name.lower()
    return None if key in _SPECIAL_READ or key in _CONSTANT_VALUES else key


def plain_value(expr: ast.Expr) -> bool:
    """Whether an expression statement of ``expr`` just sends its value (enumerated): not a
    range (streamed), an increment (silent), a method call ($null is silent) or a variable
    (AutomationNull sends nothing)."""
    if isinstance(expr, ast.BinaryOp) and expr.op == "..":
        return False
    if isinstance(expr, ast.UnaryOp) and expr.op in ("++", "--"):
        return False
    return not isinstance(expr, (ast.MethodCall, ast.Variable))


def _compile_expression_statement(expr: ast.Expr) -> StmtFn:
    """What PipelineRunner.run does for a pipeline of one ExpressionStage (see its
    run_first), without building the stage; the kind of expression is decided here."""
    value_of = expr_fn(expr)
    if isinstance(expr, ast.BinaryOp) and expr.op == "..":
        def run_range(interp: Interpreter, frame: Frame, out: Sink) -> None:
            try:
                numbers = interp.lazy_range(expr, frame)
                assert numbers is not None
                send = out.send
                for n in numbers:
                    send(n)
            except StopUpstreamSignal as e:
                # Asked by a stage of an enclosing pipeline: not this one's to absorb.
                if getattr(e, "origin", None) is not None:
                    raise
            _succeeded(interp)

        return run_range
    if isinstance(expr, ast.UnaryOp) and expr.op in ("++", "--"):
        def run_silent(interp: Interpreter, frame: Frame, out: Sink) -> None:
            try:
                value_of(interp, frame)
            except StopUpstreamSignal as e:
                if getattr(e, "origin", None) is not None:
                    raise
            _succeeded(interp)

        return run_silent
    silent_none = isinstance(expr, ast.MethodCall)
    variable = expr if isinstance(expr, ast.Variable) else None
    key = _plain_key(expr)
    if plain_value(expr):
        def run_value(interp: Interpreter, frame: Frame, out: Sink) -> None:
            try:
                value = value_of(interp, frame)
                if type(value) is list:
                    send = out.send
                    for item in value:
                        send(item)
                elif isinstance(value, list):
                    for item in value:
                        out.send(item)
                else:
                    out.send(value)
            except StopUpstreamSignal as e:
                if getattr(e, "origin", None) is not None:
                    raise
            # _succeeded(interp), written out: this runs once per statement.
            session = interp.session
            session.last_native_failure = None
            scope = session.global_scope
            scope._vars["?"] = SUCCESS
            if scope._nothing:
                scope._nothing.discard("?")

        return run_value

    def run(interp: Interpreter, frame: Frame, out: Sink) -> None:
        try:
            if key is not None:
                if frame.scope.holds_nothing(key):
                    _succeeded(interp)
                    return
            elif variable is not None and interp.holds_nothing(variable, frame):
                _succeeded(interp)
                return
            value = value_of(interp, frame)
            if type(value) is list:
                send = out.send
                for item in value:
                    send(item)
            elif isinstance(value, list):
                for item in value:
                    out.send(item)
            elif value is not None or not silent_none:
                out.send(value)
        except StopUpstreamSignal as e:
            if getattr(e, "origin", None) is not None:
                raise
        _succeeded(interp)

    return run


def set_status(session: Session, ok: bool) -> None:
    """Interpreter.set_success, i.e. global_scope.set_key("?", "?", ok), written out: the
    entry of "?" is always named "?"."""
    scope = session.global_scope
    scope._vars["?"] = SUCCESS if ok else _FAILURE
    if scope._nothing:
        scope._nothing.discard("?")


def _succeeded(interp: Interpreter) -> None:
    """The end of a pipeline that ran without errors and without natives."""
    session = interp.session
    session.last_native_failure = None
    # Interpreter.set_success(True), i.e. global_scope.set_key("?", "?", True), written out:
    # the entry of "?" is always named "?", so the stored pair is always this one.
    scope = session.global_scope
    scope._vars["?"] = SUCCESS
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
        variable = expr if isinstance(expr, ast.Variable) else None
        source_key = _plain_key(expr)

        def assign(interp: Interpreter, frame: Frame, out: Sink) -> None:
            if source_key is not None:
                nothing = frame.scope.holds_nothing(source_key)
            else:
                nothing = variable is not None and interp.holds_nothing(variable, frame)
            if nothing:
                interp.assign_nothing(target, frame)
            else:
                frame.scope.set_key(key, name, value_of(interp, frame))
            set_status(interp.session, True)

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
        set_status(interp.session, True)

    return update


def _compile_call_assignment(stmt: ast.Assignment, target: ast.Variable,
                             key: str) -> StmtFn | None:
    """``$name = f ...`` and ``$name op= f ...`` where the right side is a call statement
    (see pjsh.runtime.fastcall): exec_assignment's steps, the call captured as
    capture_result / capture_value would."""
    from pjsh.runtime.fastcall import CALL_MARK
    from pjsh.runtime.streams import CollectSink

    call: Callable[[Interpreter, Frame, Sink, bool], None] | None = getattr(
        stmt_fn(stmt.value), CALL_MARK, None)
    if call is None:
        return None
    name = target.name
    if stmt.op == "=":
        def assign(interp: Interpreter, frame: Frame, out: Sink) -> None:
            # capture_result: the output collapsed (nothing at all is AutomationNull).
            sink = CollectSink()
            call(interp, frame, sink, False)
            if not sink:
                interp.assign_nothing(target, frame)
            else:
                # frame.scope.set_key(key, name, value), written out.
                scope = frame.scope
                table = scope._vars
                old = table.get(key)
                table[key] = (old[0] if old is not None else name,
                              sink[0] if len(sink) == 1 else list(sink))
                if scope._nothing:
                    scope._nothing.discard(key)
            # set_status(interp.session, True), written out.
            scope = interp.session.global_scope
            scope._vars["?"] = SUCCESS
            if scope._nothing:
                scope._nothing.discard("?")

        return assign
    op = stmt.op[0]
    current_of = expr_fn(target)

    def update(interp: Interpreter, frame: Frame, out: Sink) -> None:
        sink = CollectSink()
        call(interp, frame, sink, True)
        value = None if not sink else sink[0] if len(sink) == 1 else list(sink)
        current = current_of(interp, frame)
        frame.scope.set_key(key, name, interp.binary(op, current, value, frame, stmt))
        interp.set_success(True)

    return update


# ---------------------------------------------------------------- blocks and control flow
def block_fn(block: ast.StatementBlock) -> StmtFn:
    """The closure that runs a block's statements as ``Interpreter.exec_statements`` does
    (not at the top level), made on first use and kept on the node."""
    fn: StmtFn | None = block.__dict__.get(BLOCK_KEY)
    if fn is None:
        fn = block.__dict__[BLOCK_KEY] = statements_fn(block.statements)
    return fn


def _step(stmt: ast.Statement) -> StmtFn:
    """A statement's closure, or the tree-walker's general path for it."""
    fn = stmt_fn(stmt)
    if fn is not None:
        return fn

    def walk(interp: Interpreter, frame: Frame, out: Sink) -> None:
        interp.exec_statement(stmt, frame, out)

    return walk


def statements_fn(statements: list[ast.Statement]) -> StmtFn:
    """``Interpreter.exec_statements`` for these statements (not at the top level): a stop
    request is checked before each, a statement's error is reported (or unwinds, see
    statement_failed) and the next one runs."""
    steps = [(stmt, _step(stmt)) for stmt in statements]
    if len(steps) == 1:
        only, fn = steps[0]

        def run_one(interp: Interpreter, frame: Frame, out: Sink) -> None:
            # CancelToken.is_set() read as its flag: this runs once per loop iteration.
            if interp.stop_event._set:
                raise PipelineStoppedSignal
            try:
                fn(interp, frame, out)
            except PSRuntimeError as e:
                interp.statement_failed(e, frame)
            except CallDepthOverflow as e:
                interp.depth_overflow(e, only, frame)

        return run_one

    def run(interp: Interpreter, frame: Frame, out: Sink) -> None:
        stop = interp.stop_event
        for stmt, step in steps:
            if stop._set:
                raise PipelineStoppedSignal
            try:
                step(interp, frame, out)
            except PSRuntimeError as e:
                interp.statement_failed(e, frame)
            except CallDepthOverflow as e:
                interp.depth_overflow(e, stmt, frame)

    return run


def condition_fn(stmt: ast.Statement) -> ExprFn:
    """``Interpreter.condition``: the statement's value (collapsed, as capture_value does)
    taken for truth."""
    expr = simple_expression(stmt)
    if expr is None or not isinstance(stmt, ast.PipelineChain):
        # (capture_value evaluates only a chain's lone expression directly; anything else is
        # captured and collapsed.)
        def general(interp: Interpreter, frame: Frame) -> object:
            return to_bool(interp.capture_value(stmt, frame))

        return general
    value_of = expr_fn(expr)

    def truth(interp: Interpreter, frame: Frame) -> object:
        value = value_of(interp, frame)
        if value is True or value is False:
            return value
        return to_bool(value)

    return truth


def _matches(label: str | None, low_label: str | None) -> bool:
    """Whether a break/continue with ``label`` is meant for a loop labelled ``low_label``
    (lower-cased): an unlabelled one is meant for the innermost loop."""
    return label is None or (low_label is not None and label.lower() == low_label)


def _compile_foreach(stmt: ast.ForEachStatement) -> StmtFn | None:
    """exec_foreach's fast path (a plain loop variable) with its body compiled."""
    var = stmt.variable
    key = var.name.lower()
    if var.scope is not None or var.splat or key in _SPECIAL_WRITE:
        return None
    low_label = stmt.label.lower() if stmt.label else None
    statements = stmt.body.statements
    if len(statements) == 1:
        # A body of one statement: statements_fn's runner for it is written into the loop
        # (the loop's stop check before the body is the statement's).
        return _foreach_loop(stmt, key, _step(statements[0]), statements[0], low_label)
    return _foreach_loop(stmt, key, block_fn(stmt.body), None, low_label)


def _foreach_loop(stmt: ast.ForEachStatement, key: str, body: StmtFn,
                  only: ast.Statement | None, low_label: str | None) -> StmtFn:
    """_compile_foreach's loop; ``body`` is the one statement ``only``'s closure (its errors
    handled here) or the block's runner (which handles its statements' errors)."""
    name = stmt.variable.name
    iterable = stmt.iterable

    def run(interp: Interpreter, frame: Frame, out: Sink) -> None:
        items: Any = interp.lazy_range(iterable, frame)
        if items is None:
            value = interp.capture_value(iterable, frame)
            items = list(value) if isinstance(value, list) else ([] if value is None else [value])
        scope = frame.scope
        table = scope._vars
        stop = interp.stop_event
        for item in items:
            # scope.set_key(key, name, item), written out: once per iteration.
            old = table.get(key)
            table[key] = (old[0] if old is not None else name, item)
            if scope._nothing:
                scope._nothing.discard(key)
            if stop._set:
                raise PipelineStoppedSignal
            try:
                if only is None:
                    body(interp, frame, out)
                else:
                    try:
                        body(interp, frame, out)
                    except PSRuntimeError as e:
                        interp.statement_failed(e, frame)
                    except CallDepthOverflow as e:
                        interp.depth_overflow(e, only, frame)
            except BreakSignal as b:
                if _matches(b.label, low_label):
                    break
                raise
            except ContinueSignal as c:
                if _matches(c.label, low_label):
                    continue
                raise

    return run


def _compile_if(stmt: ast.IfStatement) -> StmtFn:
    """exec_if."""
    clauses = [(condition_fn(cond), block_fn(body)) for cond, body in stmt.clauses]
    otherwise = block_fn(stmt.else_body) if stmt.else_body is not None else None

    def run(interp: Interpreter, frame: Frame, out: Sink) -> None:
        for holds, body in clauses:
            if holds(interp, frame):
                body(interp, frame, out)
                return
        if otherwise is not None:
            otherwise(interp, frame, out)

    return run


def _loop_step(body: StmtFn, low_label: str | None) -> Callable[[Interpreter, Frame, Sink], bool]:
    """Interpreter._loop_body: run the body once; False when a break ends the loop."""
    def once(interp: Interpreter, frame: Frame, out: Sink) -> bool:
        if interp.stop_event._set:
            raise PipelineStoppedSignal
        try:
            body(interp, frame, out)
        except BreakSignal as b:
            if _matches(b.label, low_label):
                return False
            raise
        except ContinueSignal as c:
            if _matches(c.label, low_label):
                return True
            raise
        return True

    return once


def _compile_while(stmt: ast.WhileStatement) -> StmtFn:
    """exec_while."""
    holds = condition_fn(stmt.condition)
    once = _loop_step(block_fn(stmt.body), stmt.label.lower() if stmt.label else None)

    def run(interp: Interpreter, frame: Frame, out: Sink) -> None:
        while holds(interp, frame):
            if not once(interp, frame, out):
                break

    return run


def _compile_for(stmt: ast.ForStatement) -> StmtFn:
    """exec_for (its init and iterator statements' output is discarded)."""
    from pjsh.runtime.streams import ListSink

    init = _step(stmt.init) if stmt.init is not None else None
    holds = condition_fn(stmt.condition) if stmt.condition is not None else None
    iterate = _step(stmt.iterator) if stmt.iterator is not None else None
    once = _loop_step(block_fn(stmt.body), stmt.label.lower() if stmt.label else None)

    def run(interp: Interpreter, frame: Frame, out: Sink) -> None:
        if init is not None:
            init(interp, frame, ListSink())
        while holds is None or holds(interp, frame):
            if not once(interp, frame, out):
                break
            if iterate is not None:
                iterate(interp, frame, ListSink())

    return run
