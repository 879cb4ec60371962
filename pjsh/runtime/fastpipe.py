"""Per-object pipeline work as one call: a ForEach-Object block run straight on each object.

``1..N | ForEach-Object { $_ * 2 }`` used to pass every object through the stage's input, the
binder's Bound record, the cmdlet's ``process``, ``invoke_to_output``, the block invoker,
``run_body``, ``exec_statements``, ``exec_statement`` and the output forwarder before the
statement's compiled closure ran. Once the stage knows that every object binds the same way
(the binder's direct plan, see pjsh.runtime.binder), a cmdlet may hand its stage input a
callable for one object (``Cmdlet.item_processor``); for ForEach-Object's single process
block it is :func:`block_item_runner`: the same steps, in the same order, with everything
that is the same for every object done once. pjsh.runtime.fastpath switches it off with the
other fast paths (tests/unit/test_fastpipe.py compares both ways).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pjsh.lang import ast
from pjsh.runtime.compiled import SUCCESS, expr_fn, plain_value, simple_expression, stmt_fn
from pjsh.runtime.errors import (
    CallDepthOverflow,
    PipelineStoppedSignal,
    PSRuntimeError,
    ReturnSignal,
    StopUpstreamSignal,
)

if TYPE_CHECKING:  # novm: never runs (typing.TypeAlias is 3.10+)
    from typing import TypeAlias

    from pjsh.runtime.compiled import ExprFn
    from pjsh.runtime.interpreter import Frame, Interpreter
    from pjsh.runtime.scriptblock import ScriptBlock
    from pjsh.runtime.streams import Sink

    Entry: TypeAlias = "tuple[str, object] | None"  # a scope's stored entry, or none

def block_item_runner(interp: Interpreter, frame: Frame, block: ScriptBlock,
                      out: Sink) -> Callable[[object], None]:
    """``BlockInvoker(interp, frame, block)(item, out)`` as one callable of the item:
    ``invoke_block(block, frame, [], item, new_scope=False, out=out)``'s steps ($_ and
    $PSItem set in the caller's scope, one call level, ``return`` ends the object, $_
    restored when it was set before) around ``exec_statements`` of the body's statements
    (``run_body`` runs the plain statements, then begin, process and end: one list), each
    statement's compiled closure found once. The caller (a stage input) has just checked
    for a stop, so the first statement's check is that one."""
    scope = frame.scope
    inner = frame.child(scope=scope, source=block.source or frame.source)
    body = block.body
    statements: list[ast.Statement] = list(body.statements or ())
    for named in (body.begin, body.process, body.end):
        if named is not None:
            statements.extend(named.statements)
    steps: Sequence[tuple[ast.Statement, Callable[[Interpreter, Frame, Sink], None] | None]]
    steps = tuple((stmt, stmt_fn(stmt)) for stmt in statements)
    table = scope._vars
    lookup = table.get
    failed = interp.statement_failed
    exec_statement = interp.exec_statement

    def enter(item: object) -> tuple[Entry, Entry]:
        """Set $_ and $PSItem as Scope.set_key does; their old entries, for restoring."""
        saved = lookup("_")
        table["_"] = ("_", item)
        old = lookup("psitem")
        table["psitem"] = (old[0] if old is not None else "PSItem", item)
        nothing = scope._nothing
        if nothing:
            nothing.discard("_")
            nothing.discard("psitem")
        interp.call_depth += 1
        if interp.call_depth > 500:
            interp.call_depth -= 1
            raise CallDepthOverflow
        return saved, old

    def leave(saved: tuple[Entry, Entry]) -> None:
        interp.call_depth -= 1
        scope.restore_entry("_", saved[0])
        scope.restore_entry("psitem", saved[1])

    if len(steps) == 1 and steps[0][1] is not None:
        expr = simple_expression(steps[0][0])
        if expr is not None and plain_value(expr):
            return _value_item_runner(interp, inner, out, expr_fn(expr))
        only = steps[0][1]

        def run_one(item: object) -> None:
            # enter() and leave() written out: this is the path of `ForEach-Object { expr }`.
            saved = lookup("_")
            table["_"] = ("_", item)
            old = lookup("psitem")
            table["psitem"] = (old[0] if old is not None else "PSItem", item)
            if scope._nothing:
                scope._nothing.discard("_")
                scope._nothing.discard("psitem")
            interp.call_depth += 1
            if interp.call_depth > 500:
                interp.call_depth -= 1
                raise CallDepthOverflow
            try:
                only(interp, inner, out)
            except PSRuntimeError as e:
                failed(e, inner)
            except ReturnSignal:
                pass
            finally:
                interp.call_depth -= 1
                # restore_entry("_", saved) and ("psitem", old), written out.
                if saved is None:
                    table.pop("_", None)
                else:
                    table["_"] = saved
                if old is None:
                    table.pop("psitem", None)
                else:
                    table["psitem"] = old
                if scope._nothing:
                    scope._nothing.discard("_")
                    scope._nothing.discard("psitem")

        return run_one

    def run(item: object) -> None:
        saved = enter(item)
        try:
            first = True
            for stmt, fn in steps:
                if first:
                    first = False
                elif interp.stop_event.is_set():
                    raise PipelineStoppedSignal()
                try:
                    if fn is not None:
                        fn(interp, inner, out)
                    else:
                        exec_statement(stmt, inner, out)
                except PSRuntimeError as e:
                    failed(e, inner)
        except ReturnSignal:
            pass
        finally:
            leave(saved)

    return run


def _value_item_runner(interp: Interpreter, inner: Frame, out: Sink,
                       value_of: ExprFn) -> Callable[[object], None]:
    """block_item_runner's ``run_one`` for a block of one expression whose value is sent
    (``{ $_ * 2 }``, see compiled.plain_value), with that statement's closure written in
    (its value sent on, then $? and the last native failure as _succeeded writes them)."""
    scope = inner.scope
    table = scope._vars
    lookup = table.get
    failed = interp.statement_failed
    session = interp.session
    global_table = session.global_scope._vars

    def run_value(item: object) -> None:
        saved = lookup("_")
        table["_"] = ("_", item)
        old = lookup("psitem")
        table["psitem"] = (old[0] if old is not None else "PSItem", item)
        if scope._nothing:
            scope._nothing.discard("_")
            scope._nothing.discard("psitem")
        interp.call_depth += 1
        if interp.call_depth > 500:
            interp.call_depth -= 1
            raise CallDepthOverflow
        try:
            try:
                value = value_of(interp, inner)
                if type(value) is list:
                    send = out.send
                    for each in value:
                        send(each)
                elif isinstance(value, list):
                    for each in value:
                        out.send(each)
                else:
                    out.send(value)
            except StopUpstreamSignal as e:
                if getattr(e, "origin", None) is not None:
                    raise
            session.last_native_failure = None
            global_table["?"] = SUCCESS
            nothing = session.global_scope._nothing
            if nothing:
                nothing.discard("?")
        except PSRuntimeError as e:
            failed(e, inner)
        except ReturnSignal:
            pass
        finally:
            interp.call_depth -= 1
            if saved is None:
                table.pop("_", None)
            else:
                table["_"] = saved
            if old is None:
                table.pop("psitem", None)
            else:
                table["psitem"] = old
            if scope._nothing:
                scope._nothing.discard("_")
                scope._nothing.discard("psitem")

    return run_value
