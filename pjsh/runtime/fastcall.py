"""Function calls and per-object script blocks without the general pipeline machinery.

A statement that is nothing but a call of a script function (``f $i``, ``$t = f $i``) used to
build a one-stage pipeline per call: resolve the name, evaluate the arguments, make a
ScriptStage, wire its sinks, run begin/process/end through ``PipelineRunner.run``. The closure
made here (once per statement node, see :mod:`pjsh.runtime.compiled`) does the same steps for
that one case: the name is still resolved on every call, exactly as ``PipelineRunner.resolve``
does (aliases first, then the nearest scope's function, then the global table), and anything
other than a script function (an alias, a cmdlet, a program, a missing command) goes to the
general runner. Splatting, redirections, dot-sourcing and pipelines of several elements never
come here. Binding is ``bind_script_arguments``, ScriptStage's own.

:class:`BlockInvoker` is ForEach-Object's and Where-Object's per-object call of a script block
in the caller's scope (``invoke_block(..., new_scope=False)``) with its frame made once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pjsh.lang import ast
from pjsh.runtime.binder import Argument
from pjsh.runtime.errors import CallDepthOverflow, ReturnSignal, StopUpstreamSignal
from pjsh.runtime.scopes import Scope
from pjsh.runtime.streams import ListSink

if TYPE_CHECKING:  # novm: never runs (typing.TypeAlias is 3.10+)
    from typing import TypeAlias

    from pjsh.runtime.compiled import ExprFn, StmtFn
    from pjsh.runtime.interpreter import Frame, FunctionInfo, Interpreter
    from pjsh.runtime.scriptblock import ScriptBlock
    from pjsh.runtime.streams import Sink

# String aliases: collections.abc.Callable is not subscriptable at run time on Python 3.8.
ArgFn: TypeAlias = "Callable[[Interpreter, Frame], Argument]"

# The call statement's closure carries this attribute, so an assignment can capture it.
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
    from pjsh.runtime.compiled import expr_fn
    from pjsh.runtime.interpreter import FUNCTION_PREFIX, Frame, FunctionInfo
    from pjsh.runtime.pipeline import bind_script_arguments

    assert isinstance(node.name, ast.Constant)
    low = str(node.name.value).lower()
    function_key = FUNCTION_PREFIX + low
    # Only positional values (`f $a 1`): once a body's binding of that many values is known
    # to be plain (see _learn_positional), the values go to their parameters directly.
    values_of = [expr_fn(el.value) for el in node.elements
                 if isinstance(el, ast.CommandArgument)]
    positional = len(values_of) == len(node.elements)
    count = len(values_of)

    def run(interp: Interpreter, frame: Frame, out: Sink) -> None:
        session = interp.session
        # PipelineRunner.resolve, for the one answer taken here: a script function.
        fn: object = None
        if session.aliases.get(low) is None and session.registry.aliases.get(low) is None:
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
            interp.pipelines.run(pipeline, frame, out)
            return
        body = fn.body
        inner = Frame(Scope(frame.scope), frame.streams, fn.source or frame.source,
                      frame.origin, command=fn.name or frame.command)
        plan = body.__dict__.get(_POSITIONAL_KEY) if positional else None
        steps = plan.get(count) if plan is not None else None
        if steps is not None:
            values = [v(interp, frame) for v in values_of]
            _bind_planned(interp, steps, values, inner)
        else:
            bind_script_arguments(interp, frame, node, fn.name, body,
                                  [m(interp, frame) for m in makers], inner,
                                  has_pipeline_input=False)
            if positional:
                _learn_positional(body, fn.name, count)
        ok = run_function(interp, fn, inner, out)
        session.last_native_failure = None
        interp.set_success(ok)

    setattr(run, CALL_MARK, True)
    return run


# A body's plain positional bindings: {number of values: steps} (see _learn_positional).
_POSITIONAL_KEY = "_c_positional"
# One step per param() entry: (name, index of its value or -1, is a switch, default).
_Steps: TypeAlias = "list[tuple[str, int, bool, ast.Expr | None]]"


def _learn_positional(body: ast.ScriptBlockBody, name: str, count: int) -> None:
    """After the binder bound ``count`` positional values to this body without error: if
    that binding can never fail nor convert (each value goes to the next positional
    parameter, of no type and no validation, none left over for $args), remember its steps,
    so the next such call binds without the binder. Without param() the values are $args."""
    from pjsh.runtime.convert import OBJECT
    from pjsh.runtime.pipeline import script_binder

    plan: dict[int, _Steps | None] = body.__dict__.setdefault(_POSITIONAL_KEY, {})
    if count in plan:
        return
    params = body.params
    steps: _Steps | None = None
    if params is None:
        steps = []
    else:
        binder = script_binder(body, name, params)
        order = binder._positional_only
        if order is not None and count <= len(order) and all(
                p.type.convert is OBJECT.convert and p.validate is None
                for p in order[:count]):
            index = {p.name: k for k, p in enumerate(order[:count])}
            steps = [(d.name, index.get(d.name, -1), d.switch, d.default) for d in params]
    plan[count] = steps


def _bind_planned(interp: Interpreter, steps: _Steps, values: list[object],
                  inner: Frame) -> None:
    """bind_script_arguments for positional values through a body's learnt steps (the same
    scope writes in the same order; a default is evaluated in the function's frame)."""
    scope = inner.scope
    if not steps and values:  # no param(): the values are $args
        scope.set("args", values)
        return
    for name, k, switch, default in steps:
        if k >= 0:
            scope.set(name, values[k])
        elif switch:
            scope.set(name, False)
        elif default is not None:
            scope.set(name, interp.eval(default, inner))
        else:
            scope.set(name, None)
    scope.set("args", [])


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


def capture_call(call: StmtFn, interp: Interpreter, frame: Frame) -> tuple[object, bool]:
    """``capture_result`` of a call statement: its collapsed output and whether it output
    nothing at all."""
    sink = ListSink()
    call(interp, frame, sink)
    items = sink.items
    if not items:
        return None, True
    return (items[0] if len(items) == 1 else items), False


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
