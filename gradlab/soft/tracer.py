"""The pyccolo tracer that makes plain Python decisions visible (``audit`` and ``relax``).

``DecisionTracer`` listens to ``if``/``while`` tests, comparisons and calls. It is
entered only inside ``gradlab.soft.audit`` and ``gradlab.soft.relax`` (and
``gl.grad(..., audit=True)``); the ordinary path never loads pyccolo.

A function run under the tracer is recompiled from its source with pyccolo's events
woven in (at its real file and line numbers, closure cells kept). Calls made from it
are resolved at the ``before_call`` event: numpy functions to gradlab's primitives, as
gradlab's own call-site rewrite does; user helpers to their own instrumented copy, so
a decision inside a helper in another module is seen too; ``max``/``min``/``sorted``
to a version that notices traced arguments (and, under ``relax``, to soft versions).
"""

from __future__ import annotations

import ast
import builtins
import types
from dataclasses import dataclass

import pyccolo as pyc

from ..core.errors import is_library_file, source_line
from ..core.trace import Tracer
from ..intercept.resolve import resolve
from ..intercept.source import NoSourceError, _find_code, _find_def, _find_lambda, _parse_block

SOFT_HELPER = "__gradlab_soft__"  # the name relax's rewritten ``if`` calls
_ORDER_BUILTINS = {builtins.max: "max", builtins.min: "min", builtins.sorted: "sorted"}


@dataclass
class HardDecision:
    """One hard decision taken on a differentiable value in plain Python code."""

    kind: str  # "if", "while", "compare", "max", "min", "sorted"
    filename: str
    lineno: int
    source: str
    function: str  # the function whose gradient is being taken (audit's target)

    @property
    def where(self) -> str:
        return f"{self.filename}:{self.lineno}"

    @property
    def message(self) -> str:
        what = {
            "if": "an `if` tests a differentiable value: the gradient of `{f}` does not see "
                  "this branch (it is the derivative of the branch taken only)",
            "while": "a `while` test reads a differentiable value: the gradient of `{f}` does "
                     "not see how many iterations run",
            "compare": "a comparison of differentiable values: its result is constant to the "
                       "gradient of `{f}`",
            "max": "max() of differentiable values: the gradient of `{f}` flows to the winner "
                   "only and does not see which one wins",
            "min": "min() of differentiable values: the gradient of `{f}` flows to the winner "
                   "only and does not see which one wins",
            "sorted": "sorted() of differentiable values: the gradient of `{f}` follows the "
                      "permutation and does not see the order change",
        }[self.kind].format(f=self.function)
        return f"{self.where}: {what}\n    {self.source}"


class Session:
    """What one audit/relax run collects; the tracer holds a stack of them."""

    def __init__(self, mode, function, beta=1.0):
        self.mode, self.function, self.beta = mode, function, beta
        self.decisions: list[HardDecision] = []
        self._seen: set = set()
        self.traced_compares: set = set()  # ids of Compare nodes that saw a traced operand
        self.rewrites: list[dict] = []
        self.unrelaxable: dict = {}  # (filename, lineno) -> why an ``if`` was not rewritten

    def add(self, kind, filename, lineno):
        key = (kind, filename, lineno)
        if key in self._seen:
            return
        self._seen.add(key)
        self.decisions.append(HardDecision(kind, filename, lineno,
                                           source_line(filename, lineno).strip(),
                                           self.function))


def is_traced(x, depth=0) -> bool:
    """A tracer, or a list/tuple/dict holding one (a few levels deep)."""
    if isinstance(x, Tracer):
        return True
    if depth < 3 and isinstance(x, (list, tuple)):
        return any(is_traced(v, depth + 1) for v in x)
    if depth < 3 and isinstance(x, dict):
        return any(is_traced(v, depth + 1) for v in x.values())
    return False


class DecisionTracer(pyc.BaseTracer):
    """See the module docstring. One instance, entered per audit/relax call."""

    should_patch_meta_path = False  # never instrument modules imported while active
    multiple_threads_allowed = True
    bytecode_caching_allowed = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sessions: list[Session] = []
        self.files: set = set()
        self.code_cache: dict = {}

    def should_instrument_file(self, filename: str) -> bool:
        return filename in self.files

    def file_passes_filter_for_event(self, evt: str, filename: str) -> bool:
        return filename in self.files

    def should_propagate_handler_exception(self, evt, exc) -> bool:
        from .decisions import RelaxError

        return isinstance(exc, RelaxError)

    @property
    def session(self) -> Session | None:
        return self.sessions[-1] if self.sessions else None

    # --- events -----------------------------------------------------------------------
    @pyc.register_handler(pyc.before_compare)
    def on_compare(self, ret, node, frame, *_, **__):
        compare, session = ret, self.session
        if session is None:
            return None

        def watched(x, *ys):
            if isinstance(x, Tracer) or any(isinstance(y, Tracer) for y in ys):
                session.traced_compares.add(id(node))
                session.add("compare", frame.f_code.co_filename, node.lineno)
            return compare(x, *ys)

        return watched

    @pyc.register_handler((pyc.after_if_test, pyc.after_while_test))
    def on_test(self, ret, node, frame, event, *_, **__):
        session = self.session
        if session is None:
            return None
        traced = isinstance(ret, Tracer) or any(
            id(n) in session.traced_compares for n in ast.walk(node.test))
        if not traced:
            return None
        kind = "if" if event == pyc.after_if_test else "while"
        filename = frame.f_code.co_filename
        session.add(kind, filename, node.lineno)
        if session.mode == "relax":
            from .decisions import unrelaxed

            unrelaxed(session, kind, filename, node.lineno)
        return None

    @pyc.register_handler(pyc.before_call)
    def on_call(self, ret, node, frame, *_, **__):
        session = self.session
        if session is None:
            return None
        fn = ret
        try:
            kind = _ORDER_BUILTINS.get(fn)
        except TypeError:  # unhashable callable
            kind = None
        if kind is not None:
            return self._order_builtin(fn, kind, session, frame.f_code.co_filename, node.lineno)
        if type(fn) is types.FunctionType and _is_user(fn):
            return self.instrument(fn, session.mode == "relax")
        if type(fn) is types.MethodType and type(fn.__func__) is types.FunctionType \
                and _is_user(fn.__func__):
            return types.MethodType(self.instrument(fn.__func__, session.mode == "relax"),
                                    fn.__self__)
        return resolve(fn)  # numpy -> gradlab, as the call-site rewrite does

    def _order_builtin(self, fn, kind, session, filename, lineno):
        def watched(*args, **kwargs):
            if len(args) == 1 and not isinstance(args[0], Tracer):
                args = (list(args[0]),)  # a generator is consumed once: keep its items
            if is_traced(args):
                session.add(kind, filename, lineno)
                if session.mode == "relax":
                    from .decisions import soft_order_builtin

                    return soft_order_builtin(kind, args, kwargs, session, filename, lineno)
            return resolve(fn)(*args, **kwargs)  # gradlab's own max/min, as without audit

        return watched

    # --- instrumentation ----------------------------------------------------------
    def instrument(self, fn: types.FunctionType, relax: bool):
        """``fn`` recompiled with this tracer's events (and, for relax, ``if`` blends)."""
        key = (fn.__code__, relax)
        code = self.code_cache.get(key)
        if code is None:
            code = self.code_cache[key] = self._compile(fn, relax)
        if code is fn.__code__:
            return fn
        cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
        if relax:
            from .decisions import blend_if

            cells[SOFT_HELPER] = types.CellType(blend_if)
        closure = tuple(cells[name] for name in code.co_freevars)
        new = types.FunctionType(code, fn.__globals__, fn.__name__, fn.__defaults__, closure)
        new.__kwdefaults__ = fn.__kwdefaults__
        new.__wrapped__ = fn
        return new

    def _compile(self, fn, relax):
        code = fn.__code__
        try:
            tree, _ = _parse_block(fn)
        except NoSourceError:
            return code  # no source: run it as it is (its decisions go unseen)
        if code.co_name == "<lambda>":
            lam = _find_lambda(tree, code)
            target = ast.FunctionDef(name="__gradlab_lambda__", args=lam.args,
                                     body=[ast.Return(lam.body)], decorator_list=[],
                                     returns=None, **_NEW_FIELDS)
            ast.copy_location(target, lam)
            name = "__gradlab_lambda__"
        else:
            target, name = _find_def(tree, code), code.co_name
            target.decorator_list = []
        if relax:
            from .decisions import IfBlendRewriter

            IfBlendRewriter(code.co_filename).visit(target)
        params = [v for v in code.co_freevars if v != "__class__"] + ([SOFT_HELPER] if relax
                                                                      else [])
        factory = ast.FunctionDef(
            name="__gradlab_soft_factory__",
            args=ast.arguments(posonlyargs=[], args=[ast.arg(p) for p in params],
                               vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                               defaults=[]),
            body=[target], decorator_list=[], returns=None, **_NEW_FIELDS)
        ast.copy_location(factory, target)
        ast.fix_missing_locations(factory)
        self.files.add(code.co_filename)
        with self.tracing_disabled():
            # Only this tracer's events: another pyccolo tracer (the notebook DSL's) may
            # be live, and must not be woven into code it never asked for.
            rewriter = self.make_ast_rewriter(code.co_filename, tracers=[self])
            rewriter.gc_bookkeeping = False
            module = ast.Module(body=[rewriter.visit(factory)], type_ignores=[])
            ast.fix_missing_locations(module)
            compiled = compile(module, code.co_filename, "exec")
        found = _find_code(compiled, name)
        return code if found is None else found


_NEW_FIELDS = {"type_params": []} if hasattr(ast.FunctionDef(), "type_params") else {}


def _is_user(fn) -> bool:
    fname = fn.__code__.co_filename
    if fname.startswith("<"):
        return not fname.startswith("<frozen")
    return not is_library_file(fname)


_TRACER: DecisionTracer | None = None


def tracer() -> DecisionTracer:
    """The one ``DecisionTracer`` (made on first use)."""
    global _TRACER
    if _TRACER is None:
        _TRACER = DecisionTracer.instance()
    return _TRACER


def run_traced(fn, args, kwargs, session: Session):
    """Call ``fn(*args, **kwargs)`` with the tracer active and ``session`` collecting."""
    t = tracer()
    relax = session.mode == "relax"
    target = fn
    if type(fn) is types.FunctionType and _is_user(fn):
        target = t.instrument(fn, relax)
    elif type(fn) is types.MethodType and type(fn.__func__) is types.FunctionType \
            and _is_user(fn.__func__):
        target = types.MethodType(t.instrument(fn.__func__, relax), fn.__self__)
    t.sessions.append(session)
    try:
        with t.tracing_enabled():
            return target(*args, **kwargs)
    finally:
        t.sessions.pop()
