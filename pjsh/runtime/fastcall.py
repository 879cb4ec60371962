"""Function calls and per-object script blocks without the general pipeline machinery.

A statement that is nothing but a call of a script function (``f $i``, ``$t = f $i``) used to
build a one-stage pipeline per call: resolve the name, evaluate the arguments, make a
ScriptStage, wire its sinks, run begin/process/end through ``PipelineRunner.run``. The closure
made here (once per statement node, see :mod:`pjsh.runtime.compiled`) does the same steps for
that one case: the name is still resolved on every call, exactly as ``PipelineRunner.resolve``
does (aliases first, then the nearest scope's function, then the global table), and anything
other than a script function (an alias, a cmdlet, a program, a missing command) goes to the
general runner. Splatting, redirections, dot-sourcing and pipelines of several elements never
come here. Binding is ``bind_script_arguments``, ScriptStage's own, until it has bound a call
of the same shape (which elements are named, which carry values) to the same body without
error; from then on a plan made from that outcome binds such calls (see :class:`_Plan`).

:class:`BlockInvoker` is ForEach-Object's and Where-Object's per-object call of a script block
in the caller's scope (``invoke_block(..., new_scope=False)``) with its frame made once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

from pjsh.lang import ast
from pjsh.runtime import fastpath
from pjsh.runtime.binder import Argument, BindingError
from pjsh.runtime.compiled import set_status
from pjsh.runtime.errors import (
    CallDepthOverflow,
    PipelineStoppedSignal,
    PSRuntimeError,
    ReturnSignal,
    StopUpstreamSignal,
)
from pjsh.runtime.scopes import Scope

if TYPE_CHECKING:  # novm: never runs (typing.TypeAlias is 3.10+)
    from typing import TypeAlias

    from pjsh.runtime.binder import BindResult, CommandBinder
    from pjsh.runtime.cmdlet import Param
    from pjsh.runtime.compiled import ExprFn, StmtFn
    from pjsh.runtime.interpreter import Frame, FunctionInfo, Interpreter
    from pjsh.runtime.scriptblock import ScriptBlock
    from pjsh.runtime.session import Session
    from pjsh.runtime.streams import Sink

# String aliases: collections.abc.Callable is not subscriptable at run time on Python 3.8.
ArgFn: TypeAlias = "Callable[[Interpreter, Frame], Argument]"

# The call statement's closure carries this attribute: the call itself, to an assignment
# that captures its output (and says whether the call sets $?: ``$x = f`` sets it right
# after, ``$x += f`` may fail first).
CALL_MARK = "_pjsh_call"


def simple_call(stmt: ast.Statement) -> tuple[ast.Pipeline, ast.Command] | None:
    """The pipeline and command of a statement that is one command by a constant name, with
    no redirection, no dot-sourcing, no chain and no background operator."""
    pipeline: ast.Statement = stmt
    if isinstance(pipeline, ast.PipelineChain):
        if pipeline.rest or pipeline.background:
            return None
        pipeline = pipeline.first
    if not isinstance(pipeline, ast.Pipeline) or len(pipeline.elements) != 1:
        return None
    node = pipeline.elements[0]
    if not isinstance(node, ast.Command) or node.redirections or node.invocation == ".":
        return None
    if not isinstance(node.name, ast.Constant) or not isinstance(node.name.value, str) \
            or not node.name.value:
        return None
    return pipeline, node


def _arg_maker(name: str | None, value_of: ExprFn | None, has_value: bool, text: str,
               index: int, end_of_params: bool = False) -> ArgFn:
    """A closure that makes one Argument (evaluating its value, if it has one)."""
    if value_of is None:
        def constant(interp: Interpreter, frame: Frame) -> Argument:
            return Argument(name, "--" if end_of_params else None, has_value, text, index,
                            end_of_params=end_of_params)

        return constant

    def evaluated(interp: Interpreter, frame: Frame) -> Argument:
        return Argument(name, value_of(interp, frame), has_value, text, index)

    return evaluated


def _arg_makers(node: ast.Command) -> list[ArgFn] | None:
    """PipelineRunner.evaluate_args, one closure per element (None with splatting)."""
    from pjsh.runtime.compiled import expr_fn

    makers: list[ArgFn] = []
    for i, el in enumerate(node.elements):
        if isinstance(el, ast.CommandParameter):
            if el.text == "--":
                makers.append(_arg_maker(None, None, True, "--", i, end_of_params=True))
            elif el.argument is not None:
                makers.append(_arg_maker(None if el.name == "" else el.name,
                                         expr_fn(el.argument), True, el.text, i))
            else:
                makers.append(_arg_maker(el.name, None, False, el.text, i))
            continue
        value_node = el.value
        if isinstance(value_node, ast.Variable) and value_node.splat:
            return None
        text = value_node.text if isinstance(value_node, ast.Constant) else ""
        makers.append(_arg_maker(None, expr_fn(value_node), True, text, i))
    return makers


def compile_call(stmt: ast.Statement) -> StmtFn | None:
    """The closure for a statement that calls a command by name, or None if the statement is
    not such a call (see the module's docstring)."""
    found = simple_call(stmt)
    if found is None:
        return None
    pipeline, node = found
    makers = _arg_makers(node)
    if makers is None:
        return None
    from pjsh.runtime.interpreter import FUNCTION_PREFIX, Frame, FunctionInfo
    from pjsh.runtime.pipeline import bind_script_arguments

    assert isinstance(node.name, ast.Constant)
    low = str(node.name.value).lower()
    function_key = FUNCTION_PREFIX + low
    shape = _shape(node)
    value_fns = _value_fns(node)
    single = value_fns[0] if len(value_fns) == 1 else None
    # What the name meant at the last call and how to call it: (fastpath.GENERATION, the
    # caller's scope, its session, the function or None for anything else, its body's
    # binding plan for this call's shape, the plan's quick binding, the body's runner).
    # Valid while no definition changed anywhere since and the caller's scope and session
    # are the same; kept only once the plan is settled (learnt, or None: the binder binds
    # every call). One tuple, replaced whole: thread jobs share the tree.
    ready: list[_Ready | None] = [None]

    def values_of(interp: Interpreter, frame: Frame) -> list[object]:
        """The elements' values, in order (no listcomp in call: it would make its
        arguments cells)."""
        if single is not None:
            return [single(interp, frame)]
        return [v(interp, frame) for v in value_fns]

    def arguments_of(interp: Interpreter, frame: Frame) -> list[Argument]:
        """The elements as the binder's Arguments, in order."""
        return [m(interp, frame) for m in makers]

    def prepare(interp: Interpreter, frame: Frame, session: Session) -> _Ready:
        """Resolve the name as PipelineRunner.resolve does, for the one answer taken here
        (a script function), and find how to call it."""
        generation = fastpath.GENERATION  # (read before resolving: see definitions_changed)
        fn: object = None
        if low not in session.aliases and low not in session.registry.aliases:
            scope: Scope | None = frame.scope
            while scope is not None:
                entry = scope._vars.get(function_key)
                if entry is not None:
                    fn = entry[1]
                    break
                scope = scope.parent
            if not isinstance(fn, FunctionInfo):
                fn = session.functions.get(low)
        if not isinstance(fn, FunctionInfo):
            found: _Ready = (generation, frame.scope, session, None, None, None, None)
            ready[0] = found
            return found
        body = fn.body
        plan = body.__dict__.get(_PLANS_KEY, _NO_PLANS).get(shape, _UNLEARNT)
        found = (generation, frame.scope, session, fn, plan,
                 plan.quick if type(plan) is _Plan else None,
                 None if fn.is_filter else _body_runner(body))
        if plan is None or type(plan) is _Plan:
            ready[0] = found
        return found

    def call(interp: Interpreter, frame: Frame, out: Sink, status: bool) -> None:
        """The call; ``status`` False leaves $? to the caller (an assignment sets it next)."""
        session = interp.session
        hit = ready[0]
        if hit is None or hit[0] != fastpath.GENERATION or hit[1] is not frame.scope \
                or hit[2] is not session:
            hit = prepare(interp, frame, session)
        _generation, _scope, _session, fn, plan, quick, run_body = hit
        if fn is None:
            interp.pipelines.run(pipeline, frame, out)
            return
        if quick is not None:
            # (The values are taken before the scope is made: nothing they run can see it.)
            inner = Frame(Scope(frame.scope, False, quick(
                [single(interp, frame)] if single is not None else values_of(interp, frame))),
                frame.streams, fn.source or frame.source, frame.origin, fn.name or frame.command)
        else:
            inner = Frame(Scope(frame.scope), frame.streams, fn.source or frame.source,
                          frame.origin, fn.name or frame.command)
            if type(plan) is _Plan:
                plan(interp, values_of(interp, frame), inner, frame, node, fn.name)
            else:
                _binder, result = bind_script_arguments(
                    interp, frame, node, fn.name, fn.body, arguments_of(interp, frame),
                    inner, has_pipeline_input=False)
                if plan is _UNLEARNT:
                    _learn(fn.body, fn.name, shape, result)
        if run_body is None:
            ok = run_function(interp, fn, inner, out)
        else:
            errors_before = interp.errors_written
            run_body(interp, inner, out)
            ok = interp.errors_written == errors_before
        session.last_native_failure = None
        if status:
            set_status(session, ok)

    def run(interp: Interpreter, frame: Frame, out: Sink) -> None:
        call(interp, frame, out, True)

    setattr(run, CALL_MARK, call)
    return run


# See compile_call's ``ready``.
_Ready: TypeAlias = ("tuple[int, Scope, Session, FunctionInfo | None, object, "
                     "QuickBinding | None, BodyRunner | None]")
# A binding plan's quick form: the call's values in, the new scope's table out.
QuickBinding: TypeAlias = "Callable[[list[object]], dict[str, tuple[str, object]]]"
# Runs a plain function body in its frame (see _body_runner).
BodyRunner: TypeAlias = "Callable[[Interpreter, Frame, Sink], None]"
# A body's runner, kept on the body (_NAMED_BLOCKS for a body with named blocks).
_RUNNER_KEY = "_c_runner"


def _named_blocks(interp: Interpreter, inner: Frame, out: Sink) -> None:
    """Marks a body with named blocks: run_function runs those (never called)."""


def _body_runner(body: ast.ScriptBlockBody) -> BodyRunner | None:
    """For a body of plain statements, run_function's steps for it (its end block), with
    exec_statements' compiled; None for a body with named blocks."""
    runner: BodyRunner | None = body.__dict__.get(_RUNNER_KEY)
    if runner is None:
        runner = _named_blocks
        if body.begin is None and body.process is None and body.end is None:
            runner = _plain_body(body.statements)
        body.__dict__[_RUNNER_KEY] = runner
    return None if runner is _named_blocks else runner


def _plain_body(statements: list[ast.Statement]) -> BodyRunner:
    from pjsh.runtime.compiled import _step, expr_fn, plain_value, simple_expression, statements_fn

    if len(statements) == 1:
        expr = simple_expression(statements[0])
        if expr is not None and plain_value(expr):
            return _expression_body(expr_fn(expr))
        return _one_statement_body(statements[0], _step(statements[0]))
    run_statements = statements_fn(statements)

    def run_body(interp: Interpreter, inner: Frame, out: Sink) -> None:
        # scope.set("input", []) on the function's new scope, written out (a parameter may
        # be named Input: its spelling stays).
        table = inner.scope._vars
        old = table.get("input")
        table["input"] = (old[0] if old is not None else "input", [])
        interp.call_depth += 1
        try:
            if interp.call_depth > 500:
                raise CallDepthOverflow
            run_statements(interp, inner, out)
        except ReturnSignal:
            pass
        except StopUpstreamSignal as e:
            if getattr(e, "origin", None) is not None:
                raise
        finally:
            interp.call_depth -= 1

    return run_body


def _one_statement_body(stmt: ast.Statement, step: StmtFn) -> BodyRunner:
    """_plain_body's runner for a body of one statement, exec_statements' steps written in."""
    def run_body(interp: Interpreter, inner: Frame, out: Sink) -> None:
        table = inner.scope._vars
        old = table.get("input")
        table["input"] = (old[0] if old is not None else "input", [])
        interp.call_depth += 1
        try:
            if interp.call_depth > 500:
                raise CallDepthOverflow
            if interp.stop_event._set:
                raise PipelineStoppedSignal
            try:
                step(interp, inner, out)
            except PSRuntimeError as e:
                interp.statement_failed(e, inner)
            # (exec_statements' CallDepthOverflow handler re-raises at a call depth above 0.)
        except ReturnSignal:
            pass
        except StopUpstreamSignal as e:
            if getattr(e, "origin", None) is not None:
                raise
        finally:
            interp.call_depth -= 1

    return run_body


def _expression_body(value_of: ExprFn) -> BodyRunner:
    """_one_statement_body for a body that is one expression whose value is sent (see
    compiled.plain_value), the statement's steps written in too. The statement's own
    success ($? and the last native failure) is not written: the call writes both when the
    body ends, and nothing runs in between."""
    def run_body(interp: Interpreter, inner: Frame, out: Sink) -> None:
        table = inner.scope._vars
        old = table.get("input")
        table["input"] = (old[0] if old is not None else "input", [])
        interp.call_depth += 1
        try:
            if interp.call_depth > 500:
                raise CallDepthOverflow
            if interp.stop_event._set:
                raise PipelineStoppedSignal
            try:
                value = value_of(interp, inner)
                if type(value) is list:
                    send = out.send
                    for item in value:
                        send(item)
                elif isinstance(value, list):
                    for item in value:
                        out.send(item)
                else:
                    out.send(value)
            except PSRuntimeError as e:
                interp.statement_failed(e, inner)
        except ReturnSignal:
            pass
        except StopUpstreamSignal as e:
            # (The statement's handler and the body's are the same rule: one suffices.)
            if getattr(e, "origin", None) is not None:
                raise
        finally:
            interp.call_depth -= 1

    return run_body


# A call's shape: per element, (parameter name as typed or None, whether it carries a value);
# None when the call has `--` (the binder's own business, every call).
_Shape: TypeAlias = "tuple[tuple[str | None, bool], ...] | None"
# A body's plans by shape ({shape: plan or None}), kept on the body (see _learn).
_PLANS_KEY = "_c_calls"
_NO_PLANS: dict[object, object] = {}
_UNLEARNT = object()


def _shape(node: ast.Command) -> _Shape:
    """The call's shape (see _Shape)."""
    out: list[tuple[str | None, bool]] = []
    for el in node.elements:
        if isinstance(el, ast.CommandParameter):
            if el.text == "--":
                return None
            if el.argument is not None:  # as _arg_makers spells it
                out.append((None if el.name == "" else el.name, True))
            else:
                out.append((el.name, False))
        else:
            out.append((None, True))
    return tuple(out)


def _present(interp: Interpreter, frame: Frame) -> object:
    """The value of a switch given without one (``-s``): the binder's raw True."""
    return True


def _value_fns(node: ast.Command) -> list[ExprFn]:
    """One evaluator per element, in element order (the order the makers evaluate them)."""
    from pjsh.runtime.compiled import expr_fn

    fns: list[ExprFn] = []
    for el in node.elements:
        if isinstance(el, ast.CommandParameter):
            fns.append(expr_fn(el.argument) if el.argument is not None else _present)
        else:
            fns.append(expr_fn(el.value))
    return fns


class _Plan:
    """bind_script_arguments for one body and one call shape, once the binder has bound that
    shape without error: which element's value goes to which parameter is then fixed (named
    parameters resolve the same way, positional values fill the same unbound positions, the
    mandatory ones are given), so each call converts the values the binder would convert, in
    its order, and writes the same scope entries in the same order."""

    __slots__ = ("binder", "converts", "fixed", "quick", "writes")

    def __init__(self, binder: CommandBinder | None, converts: list[tuple[int, int, Param]],
                 writes: list[tuple[str, str, int, bool, ast.Expr | None]] | None) -> None:
        self.binder = binder
        # (value index, element index for the error's caret, parameter), in binding order;
        # only parameters whose conversion is not the identity.
        self.converts = converts
        # Per param() entry: (key, name, value index or -1, is a switch, default); None for
        # a body without param() called with positional values only: they are $args.
        self.writes = writes
        # The writes again when no default expression is evaluated (every parameter takes a
        # value, or a switch's False, or $null): (key, name, value index or -1, constant).
        self.fixed: list[tuple[str, str, int, object]] | None = None
        if writes is not None and all(k >= 0 or switch or default is None
                                      for _key, _name, k, switch, default in writes):
            self.fixed = [(key, pname, k, False if switch else None)
                          for key, pname, k, switch, _default in writes]
        # Without conversions, the whole binding as one closure over the new scope's table.
        self.quick: QuickBinding | None = None
        if not converts:
            self.quick = _quick_binding(self.fixed, writes is None)

    def __call__(self, interp: Interpreter, values: list[object], inner: Frame,
                 frame: Frame, node: ast.Command, name: str) -> None:
        """Bind ``values`` (one per element) into ``inner``'s new scope."""
        writes = self.writes
        if writes is None:
            inner.scope._vars["args"] = ("args", values)
            return
        if self.converts:
            self._convert(interp, values, frame, node, name)
        fixed = self.fixed
        if fixed is not None:
            # The scope is new and no code runs while it is filled: plain table writes.
            table = inner.scope._vars
            for key, pname, k, constant in fixed:
                table[key] = (pname, values[k] if k >= 0 else constant)
            table["args"] = ("args", [])
            return
        scope = inner.scope
        table = scope._vars
        plain = True  # the scope is new: until a default runs, nothing else wrote to it
        for key, pname, k, switch, default in writes:
            if k >= 0:
                value = values[k]
            elif switch:
                value = False
            elif default is not None:
                value = interp.eval(default, inner)
                plain = False
            else:
                value = None
            if plain:
                table[key] = (pname, value)
            else:
                scope.set_key(key, pname, value)
        if plain:
            table["args"] = ("args", [])
        else:
            scope.set_key("args", "args", [])

    def _convert(self, interp: Interpreter, values: list[object], frame: Frame,
                 node: ast.Command, name: str) -> None:
        """Convert the values the binder would convert, in its order."""
        for k, at, p in self.converts:
            try:
                values[k] = cast("CommandBinder", self.binder).convert(p, values[k])
            except BindingError as e:
                from pjsh.runtime.pipeline import binding_failure

                e.span_index = at
                raise binding_failure(interp, frame, node, name, e) from None


def _quick_binding(fixed: list[tuple[str, str, int, object]] | None, as_args: bool
                   ) -> QuickBinding | None:
    """_Plan.__call__'s writes, for a plan without conversions or defaults to evaluate, as
    the new scope's table (the same entries in the same order)."""
    if as_args:
        def to_args(values: list[object]) -> dict[str, tuple[str, object]]:
            return {"args": ("args", values)}

        return to_args
    if fixed is None:
        return None
    if len(fixed) == 1 and fixed[0][2] >= 0:
        key, pname, k, _constant = fixed[0]

        def one(values: list[object]) -> dict[str, tuple[str, object]]:
            return {key: (pname, values[k]), "args": ("args", [])}

        return one

    def every(values: list[object]) -> dict[str, tuple[str, object]]:
        table = {key: (pname, values[k] if k >= 0 else constant)
                 for key, pname, k, constant in fixed}
        table["args"] = ("args", [])
        return table

    return every


def _learn(body: ast.ScriptBlockBody, name: str, shape: _Shape, result: BindResult | None) -> None:
    """After the binder bound a call of this shape to this body without error, keep the
    plan for the shape (None where the binder must go on binding every call)."""
    plans: dict[_Shape, _Plan | None] = body.__dict__.setdefault(_PLANS_KEY, {})
    if shape not in plans:
        plans[shape] = _make_plan(body, name, shape, result)


def _make_plan(body: ast.ScriptBlockBody, name: str, shape: _Shape,
               result: BindResult | None) -> _Plan | None:
    """What CommandBinder.bind decides for a shape, for a param() of one parameter set with
    distinct positions, no value left for $args and no `--`; checked against the binder's
    own result for the call just bound."""
    from pjsh.runtime.convert import OBJECT
    from pjsh.runtime.pipeline import script_binder

    params = body.params
    if shape is None:
        return None
    if params is None:
        return _Plan(None, [], None) if all(typed is None for typed, _ in shape) else None
    if result is None:
        return None
    keys = [d.name.lower() for d in params]
    if len(set(keys)) != len(keys) or "args" in keys:
        return None
    binder = script_binder(body, name, params)
    order = binder._positional_only
    if order is None:
        return None
    bound: dict[str, int] = {}  # parameter -> value index
    converts: list[tuple[int, int, Param]] = []
    positional: list[int] = []
    i = 0
    while i < len(shape):
        typed, has_value = shape[i]
        at = i
        i += 1
        if typed is None:
            positional.append(at)
            continue
        try:
            canon, is_common = binder.resolve_name(typed)
        except BindingError:
            return None
        if is_common or canon in bound:
            return None
        p = binder.decl_for(canon, binder.sets)
        if has_value or p.type.is_switch:
            source = at
        elif i < len(shape) and shape[i][0] is None:
            source = i
            i += 1
        else:
            return None
        bound[canon] = source
        converts.append((source, at, p))
    free = [p for p in order if p.name not in bound]
    if len(positional) > len(free):
        return None  # values left for $args
    for at, p in zip(positional, free):
        bound[p.name] = at
        converts.append((at, at, p))
    if set(bound) != result.explicit:
        return None
    converts = [c for c in converts
                if not (c[2].type.convert is OBJECT.convert and c[2].validate is None)]
    writes = [(key, d.name, bound.get(d.name, -1), d.switch, d.default)
              for key, d in zip(keys, params)]
    return _Plan(binder, converts, writes)


def run_function(interp: Interpreter, fn: FunctionInfo, inner: Frame, out: Sink) -> bool:
    """What PipelineRunner.run does, after binding, for a pipeline of one ScriptStage of a
    function without pipeline input (begin block, process block, end block, in that order,
    with the same $_, $input and error accounting); returns the stage's success."""
    body = fn.body
    scope = inner.scope
    errors_before = interp.errors_written
    try:
        if body.begin is not None:
            _run(interp, body.begin.statements, inner, out)
        if fn.is_filter:
            scope.set("_", None)
            scope.set("PSItem", None)
            _run(interp, body.statements, inner, out)
        elif body.process is not None:
            scope.set("_", None)
            scope.set("PSItem", None)
            _run(interp, body.process.statements, inner, out)
    except StopUpstreamSignal as e:
        # The runner's rule: a signal of an enclosing pipeline goes on; one raised directly
        # here stops this stage's upstream (there is none), and its end block still runs.
        if getattr(e, "origin", None) is not None:
            raise
    if not fn.is_filter and (body.end is not None or (body.begin is None
                                                       and body.process is None)):
        try:
            scope.set("input", [])
            _run(interp, body.end.statements if body.end is not None else body.statements,
                 inner, out)
        except StopUpstreamSignal as e:
            if getattr(e, "origin", None) is not None:
                raise
    return interp.errors_written == errors_before


def _run(interp: Interpreter, statements: Sequence[ast.Statement], inner: Frame,
         out: Sink) -> None:
    """ScriptStage._run: one named block, one call level deeper, ``return`` ends it."""
    interp.call_depth += 1
    try:
        if interp.call_depth > 500:
            raise CallDepthOverflow
        interp.exec_statements(statements, inner, out)
    except ReturnSignal:
        pass
    finally:
        interp.call_depth -= 1


class BlockInvoker:
    """``Interpreter.invoke_block(block, frame, [], item, None, new_scope=False, out=out)``
    for one script block called once per pipeline object: the block's frame is made once,
    the rest is invoke_block's, step for step."""

    __slots__ = ("body", "inner", "interp", "scope")

    def __init__(self, interp: Interpreter, frame: Frame, block: ScriptBlock) -> None:
        self.interp = interp
        self.scope = frame.scope
        self.inner = frame.child(scope=frame.scope, source=block.source or frame.source)
        self.body = block.body

    def __call__(self, item: object, out: Sink) -> None:
        """Run the block once with $_ (and $PSItem) set to ``item``, output to ``out``."""
        interp = self.interp
        scope = self.scope
        saved, saved_item = scope.entry("_"), scope.entry("psitem")
        scope.set_key("_", "_", item)
        scope.set_key("psitem", "PSItem", item)
        interp.call_depth += 1
        if interp.call_depth > 500:
            interp.call_depth -= 1
            raise CallDepthOverflow
        try:
            interp.run_body(self.body, self.inner, out)
        except ReturnSignal:
            pass
        finally:
            interp.call_depth -= 1
            scope.restore_entry("_", saved)
            scope.restore_entry("psitem", saved_item)
