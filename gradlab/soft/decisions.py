"""``audit`` finds the hard decisions plain Python takes on differentiable values;
``relax`` rewrites them into soft ones. Both run the function under the pyccolo
``DecisionTracer`` (``gradlab.soft.tracer``), and only while they run.

>>> import numpy as np, gradlab.soft as soft
>>> def loss(w, t):
...     if w > t:
...         return w * 2.0
...     return w
>>> report = soft.audit(loss)(1.0, 0.5)
>>> [d.kind for d in report]
['if']
"""

from __future__ import annotations

import ast
import operator
import warnings

import numpy as np

from ..core.trace import Tracer
from ..core.tree import tree_leaves
from .tracer import SOFT_HELPER, HardDecision, Session, run_traced, tracer


class RelaxError(ValueError):
    """``relax`` met a decision on a differentiable value that it cannot rewrite."""


class HardDecisionWarning(UserWarning):
    """``gl.grad(..., audit=True)``: a hard decision on a differentiable value."""


class RelaxWarning(UserWarning):
    """``relax`` left a decision hard (a ``while`` loop: use ``bounded_loop``)."""


class AuditReport(list):
    """The hard decisions found, in the order first met (a list of ``HardDecision``);
    ``value`` is what the function returned."""

    def __init__(self, decisions, value):
        super().__init__(decisions)
        self.value = value

    def __str__(self):
        if not self:
            return "no hard decision on a differentiable value"
        return "\n".join(d.message for d in self)

    @property
    def kinds(self) -> list[str]:
        return [d.kind for d in self]


def _merged(decisions: list[HardDecision]) -> list[HardDecision]:
    """Drop a bare comparison on a line that also holds the ``if``/``while`` it decides."""
    lines = {(d.filename, d.lineno) for d in decisions if d.kind != "compare"}
    return [d for d in decisions if d.kind != "compare" or (d.filename, d.lineno) not in lines]


def _float_positions(args) -> tuple:
    """Arguments whose leaves are all plain floats (not already traced)."""
    def is_float(a):
        leaves = tree_leaves(a)
        return bool(leaves) and all(
            not isinstance(x, (bool, np.bool_, Tracer))
            and np.issubdtype(np.result_type(x), np.inexact) for x in leaves)

    return tuple(i for i, a in enumerate(args) if is_float(a))


def _run_differentiable(fn, args, kwargs, session, positions):
    """``fn(*args)`` under the tracer, with ``args[positions]`` made differentiable (a
    reverse level whose tape is dropped), so that decisions on them count as traced."""
    from ..transforms.reverse import vjp

    if not positions:
        return run_traced(fn, args, kwargs, session)
    value, _ = vjp(lambda *a: run_traced(fn, a, kwargs, session), *args, argnums=positions)
    return value


def audit(fn, argnums=None):
    """``audit(f)(*args)``: run ``f`` with its float arguments (or ``argnums``) made
    differentiable and return an ``AuditReport`` of every hard decision taken on a
    differentiable value (``if``/``while`` tests, comparisons, ``max``/``min``/``sorted``),
    in ``f`` and in the user functions it calls, each with file:line and what the
    gradient ignores. See the module docstring for an example.
    """
    name = getattr(fn, "__name__", "f")

    def audited(*args, **kwargs):
        session = Session("audit", name)
        positions = _float_positions(args) if argnums is None else (
            (argnums,) if isinstance(argnums, int) else tuple(argnums))
        value = _run_differentiable(fn, args, kwargs, session, positions)
        return AuditReport(_merged(session.decisions), value)

    return audited


_WARNED: set = set()


def warning_auditor(fun):
    """``fun`` run under the decision tracer, warning once per line that takes a hard
    decision on a differentiable value (what ``gl.grad(f, audit=True)`` differentiates)."""
    name = getattr(fun, "__name__", "f")

    def audited(*args, **kwargs):
        session = Session("audit", name)
        try:
            return run_traced(fun, args, kwargs, session)
        finally:
            for d in _merged(session.decisions):
                if (d.filename, d.lineno) not in _WARNED:
                    _WARNED.add((d.filename, d.lineno))
                    warnings.warn_explicit(d.message, HardDecisionWarning, d.filename,
                                           d.lineno)

    audited.__name__ = name
    return audited


# --- relax ------------------------------------------------------------------------------
def relax(fn, beta=1.0):
    """``fn`` with its hard decisions on differentiable values made soft: an ``if`` whose
    test is one comparison ``a > b`` (``>=``, ``<``, ``<=``) and whose branches assign
    names becomes a ``soft_if`` blend of those names with score ``a - b`` (both branches
    run), and so does ``A if a > b else B``; ``max``/``min``/``sorted`` of traced values
    become ``soft_max``/``soft_min``/``soft_sort``; all at temperature ``1 / beta``.
    Decisions that do not depend on a float argument (loop counters, constants) stay
    exact. The rewrites are listed in ``relaxed.rewrites`` and in a live dual trace's
    ledger; an ``if`` that cannot be rewritten raises ``RelaxError`` naming its line and
    why.

    >>> import numpy as np, gradlab as gl, gradlab.soft as soft
    >>> def step(x):
    ...     if x > 0.0:
    ...         y = 1.0
    ...     else:
    ...         y = 0.0
    ...     return y
    >>> float(gl.grad(soft.relax(step, beta=2.0))(0.0))   # d sigmoid(2x)/dx at 0
    0.5
    """
    name = getattr(fn, "__name__", "f")

    def relaxed(*args, **kwargs):
        session = Session("relax", name, beta)
        try:  # every float argument counts as differentiable, traced or not: the value
            # is the soft program's whatever is being differentiated (and nothing is)
            return _run_differentiable(fn, args, kwargs, session, _float_positions(args))
        finally:
            for r in session.rewrites:
                if r not in relaxed.rewrites:
                    relaxed.rewrites.append(r)

    relaxed.rewrites = []
    relaxed.__name__ = f"relaxed_{name}"
    return relaxed


_UNRELAXABLE: dict = {}  # (filename, lineno) -> why that ``if`` was left as it is
_RELAX_WARNINGS: dict = {}  # warnings' once-per-location registry for RelaxWarning
_FLIP = {"Gt": False, "GtE": False, "Lt": True, "LtE": True}
_COMPARE = {"Gt": operator.gt, "GtE": operator.ge, "Lt": operator.lt, "LtE": operator.le}
_FORBIDDEN = (ast.Return, ast.Break, ast.Continue, ast.Yield, ast.YieldFrom, ast.Global,
              ast.Nonlocal, ast.Await, ast.Delete, ast.FunctionDef, ast.AsyncFunctionDef,
              ast.ClassDef, ast.Import, ast.ImportFrom)


class IfBlendRewriter(ast.NodeTransformer):
    """Rewrites each ``if a <op> b:`` whose branches only assign names into
    ``names = __gradlab_soft__(site, a, b, op, true_branch, false_branch, args)``, and
    each conditional expression ``A if a <op> b else B`` alike."""

    def __init__(self, filename):
        self.filename = filename

    def visit_If(self, node: ast.If):
        self.generic_visit(node)  # an elif chain: the inner ``if`` first
        reason = self._why_not(node)
        if reason is not None:
            _UNRELAXABLE[(self.filename, node.lineno)] = reason
            return node
        true_names, false_names = _stores(node.body), _stores(node.orelse)
        names = sorted(true_names | false_names)
        loaded = _loads(node.body) | _loads(node.orelse)
        one_sided = [n for n in names if n not in true_names & false_names]
        params = [n for n in names if n in loaded or n in one_sided]
        tag = f"__gradlab_if_{node.lineno}_{node.col_offset}"
        result = ast.Tuple([ast.Name(n, ast.Load()) for n in names], ast.Load())

        def branch(suffix, body):
            return ast.FunctionDef(
                name=tag + suffix,
                args=ast.arguments(posonlyargs=[], args=[ast.arg(p) for p in params],
                                   vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                                   defaults=[]),
                body=list(body or [ast.Pass()]) + [ast.Return(result)], decorator_list=[],
                returns=None, **_NEW_FIELDS)

        test = node.test
        call = ast.Call(ast.Name(SOFT_HELPER, ast.Load()), [
            ast.Constant((self.filename, node.lineno, ", ".join(names))), test.left,
            test.comparators[0], ast.Constant(type(test.ops[0]).__name__),
            ast.Name(tag + "_true", ast.Load()), ast.Name(tag + "_false", ast.Load()),
            ast.Tuple([_maybe(p) if p in one_sided else ast.Name(p, ast.Load())
                       for p in params], ast.Load())], [])
        assign = ast.Assign([ast.Tuple([ast.Name(n, ast.Store()) for n in names], ast.Store())],
                            call)
        out = [branch("_true", node.body), branch("_false", node.orelse), assign]
        # A name that only one branch assigns may have had no value before the ``if``: it
        # travels as UNSET, and is unbound again afterwards when the hard path leaves it so.
        # (a call, not a comparison: the tracer must not take it for the user's decision)
        out += [ast.parse(f"if {SOFT_HELPER}.is_unset({n}):\n    del {n}").body[0]
                for n in one_sided]
        for stmt in out:
            ast.copy_location(stmt, node)
            ast.fix_missing_locations(stmt)
        return out

    def visit_IfExp(self, node: ast.IfExp):
        """``A if a > b else B`` -> ``__gradlab_soft__(site, a, b, op, lambda: (A,),
        lambda: (B,), ())[0]`` (left as it is unless its test is one comparison)."""
        self.generic_visit(node)
        test = node.test
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1
                and type(test.ops[0]).__name__ in _FLIP):
            return node

        def thunk(value):
            return ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], vararg=None,
                                                 kwonlyargs=[], kw_defaults=[], kwarg=None,
                                                 defaults=[]),
                              body=ast.Tuple([value], ast.Load()))

        call = ast.Call(ast.Name(SOFT_HELPER, ast.Load()), [
            ast.Constant((self.filename, node.lineno, "<expression>")), test.left,
            test.comparators[0], ast.Constant(type(test.ops[0]).__name__), thunk(node.body),
            thunk(node.orelse), ast.Tuple([], ast.Load())], [])
        out = ast.Subscript(call, ast.Constant(0), ast.Load())
        ast.copy_location(out, node)
        ast.fix_missing_locations(out)
        return out

    def _why_not(self, node: ast.If) -> str | None:
        test = node.test
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1
                and type(test.ops[0]).__name__ in _FLIP):
            return ("its test is not one comparison a > b, a >= b, a < b or a <= b, so it "
                    "has no margin to make a score from")
        for stmt in node.body + node.orelse:
            for sub in ast.walk(stmt):
                if isinstance(sub, _FORBIDDEN):
                    word = _KEYWORD.get(type(sub), type(sub).__name__.lower())
                    return (f"a branch uses `{word}`: both branches must run to completion "
                            "and only assign names")
                if isinstance(sub, (ast.Attribute, ast.Subscript)) and isinstance(
                        sub.ctx, ast.Store):
                    return ("a branch assigns to an attribute or an item; only names can "
                            "be blended")
        if not (_stores(node.body) | _stores(node.orelse)):
            return "its branches assign no names, so there is nothing to blend"
        return None


_NEW_FIELDS = {"type_params": []} if hasattr(ast.FunctionDef(), "type_params") else {}
_KEYWORD = {ast.YieldFrom: "yield from", ast.Delete: "del", ast.FunctionDef: "def",
            ast.AsyncFunctionDef: "async def", ast.ClassDef: "class", ast.ImportFrom: "import"}


def _maybe(name):
    """``__gradlab_soft__.maybe(lambda: name)``: the name's value, or UNSET if unbound."""
    thunk = ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[],
                                          kw_defaults=[], kwarg=None, defaults=[]),
                       body=ast.Name(name, ast.Load()))
    return ast.Call(ast.Attribute(ast.Name(SOFT_HELPER, ast.Load()), "maybe", ast.Load()),
                    [thunk], [])


def _stores(body) -> set:
    return {n.id for stmt in body for n in ast.walk(stmt)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _loads(body) -> set:
    return {n.id for stmt in body for n in ast.walk(stmt)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _session() -> Session:
    return tracer().session


def _record_rewrite(session, kind, filename, lineno, surrogate):
    from .dual import active

    entry = {"kind": kind, "where": f"{filename}:{lineno}", "surrogate": surrogate}
    if entry not in session.rewrites:
        session.rewrites.append(entry)
    tr = active()
    if tr is not None and entry not in tr.rewrites:
        tr.rewrites.append(entry)


def blend_if(site, left, right, op, true_branch, false_branch, args):
    """What a rewritten ``if`` calls: the hard branch for constants, else a ``soft_if``
    blend of every name the branches assign."""
    from ..nn.activations import sigmoid
    from .relaxations import _blend, note_branch
    from .tracer import is_traced

    if not (is_traced(left) or is_traced(right)):
        return (true_branch if _COMPARE[op](left, right) else false_branch)(*args)
    filename, lineno, names = site
    session = _session()
    beta = session.beta
    score = (right - left) if _FLIP[op] else (left - right)
    t, f = true_branch(*args), false_branch(*args)
    for name, a, b in zip(names.split(", "), t, f):
        if a is not b and (a is UNSET or b is UNSET):
            raise RelaxError(
                f"relax cannot blend `{name}` at {filename}:{lineno}: one branch assigns it "
                "and it has no value before the `if`, so the other branch has nothing to give")
        if a is not b and not (_numeric(a) and _numeric(b)):
            raise RelaxError(
                f"relax cannot blend `{name}` at {filename}:{lineno}: the branches give it "
                f"{type(a).__name__} and {type(b).__name__} values, which are not numbers")
    gate = sigmoid(beta * score)
    out = tuple(a if a is b else _blend(gate, a, b) for a, b in zip(t, f))
    surrogate = f"if -> soft_if on {names}, beta={beta:g}"
    note_branch("relax:if", surrogate, "surrogate", beta, score, gate, t, f, out,
                where=f"{filename}:{lineno}")
    _record_rewrite(session, "if -> soft_if", filename, lineno, surrogate)
    session.add("if", filename, lineno)
    return out


class _Unset:
    def __repr__(self):
        return "UNSET"


UNSET = _Unset()  # a name with no value before a rewritten ``if``


def _maybe_value(thunk):
    try:
        return thunk()
    except NameError:  # UnboundLocalError too
        return UNSET


blend_if.is_unset = lambda value: value is UNSET
blend_if.maybe = _maybe_value


def _numeric(x) -> bool:
    from ..core.trace import Tracer

    if isinstance(x, Tracer):
        return True
    try:
        return np.issubdtype(np.result_type(x), np.number) and not isinstance(x, str)
    except TypeError:
        return False


def soft_order_builtin(kind, args, kwargs, session, filename, lineno):
    """``max``/``min``/``sorted`` of traced values, relaxed at temperature ``1 / beta``."""
    from ..ops.shape import stack
    from .relaxations import soft_max, soft_min, soft_sort

    if "key" in kwargs or "default" in kwargs:
        raise RelaxError(f"relax cannot rewrite {kind}(..., key=/default=) at "
                         f"{filename}:{lineno}: only a plain {kind} of numbers has a soft form")
    items = list(args[0]) if len(args) == 1 else list(args)
    tau = 1.0 / session.beta
    x = stack(items)
    if kind == "sorted":
        out = soft_sort(x, tau, descending=bool(kwargs.get("reverse", False)))
        result = [out[i] for i in range(len(items))]
    else:
        result = (soft_max if kind == "max" else soft_min)(x, tau)
    _record_rewrite(session, f"{kind} -> soft_{'sort' if kind == 'sorted' else kind}",
                    filename, lineno, f"{kind} -> soft version, tau={tau:g}")
    return result


def unrelaxed(session, kind, filename, lineno):
    """A traced ``if``/``while`` that ``relax`` could not rewrite ran: say why, and where."""
    from ..core.errors import source_line

    src = source_line(filename, lineno).strip()
    if kind == "while":
        warnings.warn_explicit(
            f"relax leaves the `while` at {filename}:{lineno} ({src}) hard: a loop's exit "
            "cannot be blended; write it with gradlab.soft.bounded_loop", RelaxWarning,
            filename, lineno, registry=_RELAX_WARNINGS)  # the default filter: once per line
        return
    reason = _UNRELAXABLE.get((filename, lineno), "it was not rewritten")
    raise RelaxError(f"relax cannot rewrite the `if` at {filename}:{lineno} ({src}): {reason}. "
                     "Write it with gradlab.soft.soft_if or gradlab.soft.diff_if.")


__all__ = ["AuditReport", "HardDecisionWarning", "RelaxError", "RelaxWarning", "audit",
           "relax"]
