"""Rule scopes: ``with rules.use(rule, scope=..., **params):`` changes the derivative of
the ops recorded inside the block.

A scope is a level (``RuleScope``) on the level stack, entered and left in order with
the transforms around it. While any scope is live, the derivative levels (reverse and
forward mode) hand every op they are about to record to the live scopes first: the
innermost scope that selects the op decides the rule, and the op is recorded as a
*ruled* clone of its primitive (same implementation, batching and shape rules; the
rule's VJP and JVP). So the rule in force is the one live when the op is **recorded**
(the forward pass), not when the backward pass runs, for activations and parameters
alike; a backward pass run inside a scope does not change ops recorded outside it, and
the ops that compute derivatives (backward walks, transposed rules) are never ruled.

What ``scope=`` selects (``RecordedOp`` is what a predicate receives):

- ``"all"``: every op a derivative flows through.
- ``"activations"``: ops of the activation primitives (``ACTIVATION_PRIMITIVES``:
  ``tanh``, ``sigmoid``, ``softplus``, ``heaviside``, ``sign``, ``maximum``, ``minimum``,
  ``where``, ``arctan``, ``normal_cdf``, and every ``gl.nn.Activation``) applied to
  exactly one traced value; the rule acts on that value's cotangent.
- ``"params"``: ops reading a differentiated input directly (a leaf of what the
  enclosing ``grad`` differentiates: your parameters); the rule acts only on the
  cotangent sent to that input (per-layer clipping, scaling, noise). Reverse mode only.
- a family (``gradlab.ops.families.Elementwise``, or its name ``"elementwise"``,
  ``"reduction"``, ``"structural"``); a list of primitive names (``["tanh"]``); a
  module path of your code (``"mymodel.encoder"``: ops recorded while code of that
  module, or a submodule, is the innermost user code running); a predicate
  ``f(op) -> bool``.

Derivative rules apply only to elementwise ops with one traced operand (elsewhere the
scope leaves the op alone). Scopes nest: the innermost scope selecting an op wins; with
``compose=True`` the inner rule runs first and the enclosing scope's rule after it.
"""

from __future__ import annotations

import contextvars
import sys
from collections.abc import Callable, Collection, Sequence
from types import FrameType
from typing import Any

from .._types import Array
from ..core.primitive import VARIADIC, Primitive
from ..core.rules import PerOperand
from ..core.shapes import shape_of
from ..core.tape import ReverseTrace, Var
from ..core.threads import Lock
from ..core.trace import Trace, Tracer, new_trace
from ..ops.families import Elementwise, Family, broadcast_to_p, unbroadcast
from ..transforms.forward import JVPTrace, JVPTracer
from .registry import BoundRule, RuleError, RuleLike, as_bound, compose, lowered_params, per_op

ACTIVATION_PRIMITIVES = frozenset({
    "tanh", "sigmoid", "softplus", "heaviside", "sign", "maximum", "minimum", "where",
    "arctan", "normal_cdf"})
_FAMILY_NAMES = ("elementwise", "reduction", "structural")
_SCOPES: contextvars.ContextVar[tuple] = contextvars.ContextVar("gradlab_rule_scopes",
                                                                default=())


class RecordedOp:
    """An op about to be recorded, as a scope's predicate sees it.

    ``name`` (the primitive's), ``primitive``, ``operands`` (values; traced ones are
    tracers), ``params`` (the op's keyword parameters), ``traced[i]`` (operand ``i``
    carries a derivative at the recording level), ``is_param[i]`` (it is a differentiated
    input leaf), ``family`` (the family's name), ``module`` (the innermost user module
    running, computed on first use).
    """

    __slots__ = ("primitive", "operands", "params", "traced", "is_param", "_module")

    def __init__(self, primitive: Primitive, operands: Sequence[Array], params: dict[str, Any],
                 traced: Sequence[bool], is_param: Sequence[bool]):
        self.primitive, self.operands, self.params = primitive, operands, params
        self.traced, self.is_param = traced, is_param
        self._module: str | None = None

    name = property(lambda self: self.primitive.name)
    family = property(lambda self: self.primitive.family.name)

    @property
    def module(self) -> str:
        if self._module is None:
            self._module = _user_module()
        return self._module

    def __repr__(self):
        return f"RecordedOp({self.name}, traced={self.traced}, module={self.module!r})"


def _is_engine(module: str) -> bool:
    top = module.split(".", 1)[0]
    if top == "gradlab":
        return not module.startswith("gradlab.examples")
    return top in ("numpy", "scipy", "functools", "contextlib")


def _user_module() -> str:
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not _is_engine(name):
            return name
        frame = frame.f_back
    return ""


def _selector(scope):
    """``(description, predicate over RecordedOp, prefilter over the primitive or None)``
    for a ``scope=`` argument. The prefilter rejects most ops before a ``RecordedOp`` is
    built, so a live scope costs the ops it does not select little."""
    if isinstance(scope, str):
        if scope == "all":
            return "all", lambda op: True, None
        if scope == "activations":
            return "activations", _is_activation, _is_activation_primitive
        if scope == "params":
            return "params", lambda op: any(op.is_param), None
        if scope in _FAMILY_NAMES:
            return scope, lambda op: op.family == scope, lambda p: p.family.name == scope
        path = scope
        return (f"module {path}",
                lambda op: op.module == path or op.module.startswith(path + "."), None)
    if isinstance(scope, type) and issubclass(scope, Family):
        def in_family(prim):
            return isinstance(prim.family, type) and issubclass(prim.family, scope)
        return scope.name, lambda op: in_family(op.primitive), in_family
    if isinstance(scope, (list, tuple, set, frozenset)):
        names = frozenset(scope)
        if not all(isinstance(n, str) for n in names):
            raise TypeError("scope= as a collection lists primitive names (strings)")
        return (f"primitives {sorted(names)}", lambda op: op.name in names,
                lambda p: p.name in names)
    if callable(scope):
        return getattr(scope, "__name__", "predicate"), scope, None
    raise TypeError(f"scope= must be 'activations', 'params', 'all', a family, a list of "
                    f"primitive names, a module path or a predicate; got {scope!r}")


def _is_activation_primitive(prim) -> bool:
    name = prim.name
    return name in ACTIVATION_PRIMITIVES or name.startswith("activation:")


def _is_activation(op) -> bool:
    return _is_activation_primitive(op.primitive) and sum(op.traced) == 1


def _is_elementwise(prim) -> bool:
    fam = prim.family
    return isinstance(fam, type) and issubclass(fam, Elementwise)


class RuleScope(Trace):
    """The level of one ``rules.use`` block: which ops it selects and the rule it applies.

    It boxes no values: the derivative levels consult it as they record (``select``).
    """

    def __init__(self, rule: BoundRule, scope, compose: bool):
        super().__init__()
        self.rule, self.compose = rule, compose
        self.description, self.predicate, self.prefilter = _selector(scope)
        self.params_only = self.description == "params"
        self.count = 0  # ops ruled so far: folded into random rules' keys
        self.cache: dict = {}
        # Primitives no scope of this one's nesting selects (decided from the primitive
        # alone), so the levels pass them by at the cost of a set look-up.
        self.unselected: set = set()

    def __repr__(self):
        return f"rules.use({self.rule!r}, scope={self.description!r})"

    def lower(self, x):
        return x

    def process(self, prim, args, params):  # pragma: no cover - it boxes no values
        raise AssertionError("a rule scope has no tracers of its own")

    def select(self, op: RecordedOp) -> tuple:
        """The operand positions this scope's rule acts on for ``op`` (empty: not selected)."""
        if not self.predicate(op):
            return ()
        flags = op.is_param if self.params_only else op.traced
        positions = tuple(i for i, f in enumerate(flags) if f)
        if self.rule.kind == "derivative" and (
                sum(op.traced) != 1 or len(positions) != 1 or not _is_elementwise(op.primitive)):
            return ()
        return positions


class _Hooks:
    """What a live scope changes, installed while at least one scope is live in any thread
    (the rest of the time every op pays nothing):

    - the derivative levels' ``process`` consults the live scopes before recording;
    - a backward walk, and a rule derived by transposition, run with the scopes masked:
      rules apply to the ops of forward passes, never to the ops that compute
      derivatives (a surrogate's own formula is not ruled by the scope it serves).
    """

    lock = Lock()
    live = 0
    originals: list = []

    @staticmethod
    def _targets():
        from ..core import linear_transpose

        return [(ReverseTrace, "process", _consulting_scopes),
                (JVPTrace, "process", _consulting_scopes),
                (ReverseTrace, "backward", _without_scopes),
                (linear_transpose, "_transpose", _without_scopes)]

    @classmethod
    def acquire(cls):
        with cls.lock:
            cls.live += 1
            if cls.live == 1:
                for owner, name, wrap in cls._targets():
                    original = vars(owner)[name]
                    cls.originals.append((owner, name, original))
                    setattr(owner, name, wrap(original))

    @classmethod
    def release(cls):
        with cls.lock:
            cls.live -= 1
            if cls.live == 0:
                for owner, name, original in cls.originals:
                    setattr(owner, name, original)
                cls.originals.clear()


def _consulting_scopes(original):
    def process(self, prim, args, params):
        scopes = _SCOPES.get()
        if scopes and prim not in scopes[-1].unselected:
            if type(prim) is not RuledPrimitive:
                prim = _rule_for(scopes, self, prim, args, params)
            elif prim.level != self.level:  # ruled above; this level records its own copy
                prim = prim.at_level(self.level)
        return original(self, prim, args, params)

    process.__wrapped__ = original
    return process


def _without_scopes(original):
    def run(*args, **kwargs):
        token = _SCOPES.set(())
        try:
            return original(*args, **kwargs)
        finally:
            _SCOPES.reset(token)

    run.__wrapped__ = original
    return run


def _rule_for(scopes, trace, prim, args, params):
    if prim.name.startswith("checkpoint:"):
        raise RuleError(f"{scopes[-1]!r} is live around {prim.name}: a checkpointed block is "
                        "recomputed in the backward pass, after the scope has exited, so its "
                        "ops would miss the rule. Put the rules.use block inside the "
                        "checkpointed function.")
    candidates = [s for s in reversed(scopes) if s.prefilter is None or s.prefilter(prim)]
    if not candidates:
        scopes[-1].unselected.add(prim)  # no live scope can select it: skip it from now on
        return prim
    traced = tuple(isinstance(a, Tracer) and a._trace is trace for a in args)
    if not any(traced):
        return prim
    is_reverse = isinstance(trace, ReverseTrace)
    is_param = tuple(t and is_reverse and type(a) is Var and a.node[0] is None
                     for t, a in zip(traced, args))
    op = RecordedOp(prim, args, params, traced, is_param)
    chain = []
    for scope in candidates:
        if scope.params_only and not is_reverse:
            raise RuleError(f"{scope!r}: scope='params' selects the inputs a reverse-mode "
                            f"transform (grad, vjp) differentiates; forward mode (jvp) has "
                            f"none. Op {prim.name!r} reached it under jvp.")
        positions = scope.select(op)
        if positions:
            chain.append((scope, positions))
            if not scope.compose:
                break
    if not chain:
        return prim
    return _ruled_primitive(prim, chain, trace.level)


def _ruled_primitive(prim, chain, level):
    """``prim`` recorded with the chain's rules (innermost first) on their operands."""
    inner = chain[0][0]
    random = any(scope.rule.random for scope, _ in chain)
    key = (prim, level, tuple((id(s), p) for s, p in chain))
    if not random and key in inner.cache:
        return inner.cache[key]
    per_operand = {}
    for scope, positions in chain:
        bound = scope.rule
        if bound.random:
            bound = per_op(bound, scope.count)
        scope.count += 1
        for i in positions:
            per_operand.setdefault(i, []).append(bound)
    rules = {i: compose(*bs) for i, bs in per_operand.items()}
    where = " inside ".join(repr(s) for s, _ in chain)
    ruled = RuledPrimitive(prim, rules, where, level)
    if not random:
        inner.cache[key] = ruled
    return ruled


class RuledPrimitive(Primitive):
    """A primitive recorded under a rule scope: the original's implementation, batching and
    shape rules, with the rules' VJP (and JVP, for linear rules) on the ruled operands.

    ``level`` is the level recording it: a rule parameter traced at that level (or above)
    is a constant to its backward pass, so its derivative flows only to the transforms
    that differentiate the backward pass itself (meta-gradients of a learnable slope).
    """

    def __init__(self, base: Primitive, rules: dict, where: str,  # noqa: D107
                 level: int | None = None):
        self.__dict__.update(base.__dict__)
        self.base, self.rules, self.where, self.level = base, rules, where, level
        self._levels: dict[int, RuledPrimitive] = {}
        self.differentiable = True
        self.saves = None  # a rule may read any operand
        vjps = base.vjps if base.vjps is not None else base.vjp_rules()
        jvps = _BaseJVPs(base, vjps)
        nin = base.nin
        if nin is VARIADIC:
            self.vjps = PerOperand(lambda i, *a, **p: self._vjp(i, vjps)(*a, **p))
            self.jvps = PerOperand(lambda i, *a, **p: self._jvp(i, jvps)(*a, **p))
        else:
            self.vjps = tuple(self._vjp(i, vjps) for i in range(nin))
            self.jvps = tuple(self._jvp(i, jvps) for i in range(nin))

    def at_level(self, level: int) -> RuledPrimitive:
        """The same rules, recorded by ``level``."""
        ruled = self._levels.get(level)
        if ruled is None:
            ruled = self._levels[level] = RuledPrimitive(self.base, self.rules, self.where,
                                                         level)
        return ruled

    def __repr__(self):
        return f"<primitive {self.name} ruled by {self.where}>"

    def _rule_at_level(self, rule: BoundRule, g, xs, transform: str) -> BoundRule:
        """``rule`` with its parameters unboxed below the recording level, after refusing
        a second derivative it does not support."""
        if not rule.higher_order and any(isinstance(v, (Var, JVPTracer)) for v in (g, *xs)):
            raise RuleError(f"rule {rule!r} does not support second derivatives: its "
                            f"backward pass is being differentiated ({transform}); declare "
                            "it with higher_order=True if its formula is differentiable")
        return rule if self.level is None else _lowered(rule, self.level - 1)

    def _vjp(self, i, original_vjps):
        original = None if original_vjps is None else original_vjps[i]
        rule = self.rules.get(i)
        if rule is None:
            return original
        if rule.kind == "derivative":
            def vjp(g, ans, *xs, **params):
                x = xs[i]
                ct = self._rule_at_level(rule, g, xs, "grad(grad)").apply(g, x)
                return _fit(ct, shape_of(x))
            return vjp
        if original is None:
            return None

        def cotangent_vjp(g, ans, *xs, **params):
            ct = original(g, ans, *xs, **params)
            return self._rule_at_level(rule, g, xs, "grad(grad)").apply(ct, xs[i])
        return cotangent_vjp

    def _jvp(self, i, original_jvps):
        original = original_jvps[i]
        rule = self.rules.get(i)
        if rule is None:
            return original
        if not rule.linear:
            where = self.where

            def refused(t, ans, *xs, **params):
                raise RuleError(
                    f"rule {rule!r} (op {self.name!r}, {where}) is not linear in the "
                    "cotangent, so it has no forward-mode meaning: jvp, jacfwd, hvp and "
                    "linearize cannot use it. Use reverse mode (grad, jacrev), or a linear "
                    "rule (scale, centralize, the surrogates).")
            return refused
        if rule.kind == "derivative":
            def jvp(t, ans, *xs, **params):
                out = self._rule_at_level(rule, t, xs, "jvp(grad)").apply(t, xs[i])
                shape = shape_of(ans)
                return out if shape_of(out) == shape else broadcast_to_p(out, shape=shape)
            return jvp
        if original is None:
            return None

        def cotangent_jvp(t, ans, *xs, **params):
            t = self._rule_at_level(rule, t, xs, "jvp(grad)").apply(t, xs[i])
            return original(t, ans, *xs, **params)
        return cotangent_jvp


class _BaseJVPs:
    """The base primitive's JVP rules; where it declares only VJPs, they are derived (by
    transposition) when first called, not when an op is recorded."""

    def __init__(self, base, vjps):
        self.base, self.vjps = base, vjps

    def __getitem__(self, i):
        if self.base.jvps is not None:
            return self.base.jvps[i]
        if self.vjps is None or self.vjps[i] is None:
            return None
        base = self.base
        return lambda *args, **params: base.jvp_rules()[i](*args, **params)


def _lowered(rule: BoundRule, level: int) -> BoundRule:
    members = getattr(rule.rule, "members", None)
    if members is not None:
        return compose(*(_lowered(m, level) for m in members))
    if not any(isinstance(v, Tracer) for v in rule.params.values()):
        return rule
    return BoundRule(rule.rule, lowered_params(rule.params, level))


def _fit(ct, shape):
    return ct if shape_of(ct) == shape else unbroadcast(ct, shape)


class use:  # noqa: N801 - used like a function: ``with rules.use(rule, scope=...)``
    """Apply ``rule`` (a name, a ``Rule``, a bound rule or ``rule(g, x, **p)``) with
    ``params`` to the ops recorded inside the block that ``scope`` selects.

    >>> import numpy as np, gradlab as gl
    >>> from gradlab import rules
    >>> def spikes(v):
    ...     with rules.use("fast_sigmoid", scope="activations", slope=1.0):
    ...         s = np.heaviside(v, 0.0)
    ...     return np.sum(s)
    >>> gl.grad(spikes)(np.array([0.0, 1.0])).tolist()   # 1 / (1 + |v|)^2
    [1.0, 0.25]
    """

    __slots__ = ("rule", "scope", "compose", "_level", "_token")

    def __init__(self, rule: RuleLike,
                 scope: str | type[Family] | Collection[str] | Callable = "activations",
                 compose: bool = False, **params: Any):
        self.rule = as_bound(rule, params)
        if self.rule.random:
            _check_keys(self.rule)
        _selector(scope)  # a bad scope= fails here, not at the first op
        self.scope, self.compose = scope, compose
        self._level: new_trace | None = None
        self._token: contextvars.Token | None = None

    def __enter__(self) -> RuleScope:
        self._level = level = new_trace(RuleScope, self.rule, self.scope, self.compose)
        live = level.__enter__()
        _Hooks.acquire()
        self._token = _SCOPES.set(_SCOPES.get() + (live,))
        return live

    def __exit__(self, *exc):
        _SCOPES.reset(self._token)
        _Hooks.release()
        return self._level.__exit__(*exc)


def _check_keys(bound: BoundRule):
    members = getattr(bound.rule, "members", None)
    for m in members if members is not None else (bound,):
        if m.random and m.params.get("key") is None:
            raise RuleError(f"rule {m.name!r} draws random numbers and needs an explicit key: "
                            f"rules.use({m.name!r}, key=gradlab.random.key(seed), ...); the "
                            "same key gives the same draws, so runs are reproducible")


class RuledOpPrimitive(RuledPrimitive):
    """A primitive whose own derivative is a rule (``gl.nn.Activation``): scopes still
    select it like any op, and replace its rule where they do."""


def primitive_with_rule(name: str, impl, rule) -> RuledOpPrimitive:
    """A unary elementwise primitive computing ``impl`` whose derivative is ``rule``.

    >>> import numpy as np, gradlab as gl
    >>> from gradlab.rules.scope import primitive_with_rule
    >>> step = primitive_with_rule("step_doc_example", lambda x: np.heaviside(x, 0.0),
    ...                            gl.rules.fast_sigmoid(slope=1.0))
    >>> gl.grad(lambda x: np.sum(step(x)))(np.array([0.0, 1.0])).tolist()
    [1.0, 0.25]
    """
    from ..core.primitive import PRIMITIVES

    base = Primitive(name, impl, family=Elementwise, nin=1, differentiable=False)
    if PRIMITIVES.get(name) is base:  # a user-level op, not a library primitive
        del PRIMITIVES[name]
    bound = as_bound(rule)
    return RuledOpPrimitive(base, {0: compose(bound)}, f"its rule {bound!r}")
