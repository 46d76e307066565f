"""Rules, their registry, and composition.

A *rule* is ``rule(g, x, **params) -> g'``: ``g`` a cotangent, ``x`` the op's input,
``params`` the rule's parameters. What ``g`` is depends on the rule's ``kind``:

- ``"derivative"``: ``g`` is the cotangent arriving at the op's output and ``g'`` the
  cotangent of its input: the rule *replaces* the op's derivative (surrogates, jamming,
  ``d_relu``, ``d_linear``). It applies to elementwise ops with one traced operand.
- ``"cotangent"``: the op's own derivative runs first; ``g`` is the cotangent it sends
  to an operand, ``x`` that operand, and ``g'`` what is sent instead (``scale``,
  ``clip_norm``, ``clip_value``, ``noise``, ``centralize``).

Each rule declares how it behaves under the other transforms (``Rule.semantics``):

- ``jvp``: ``"linear"`` rules (linear and self-adjoint in ``g``: ``g * d(x)``, ``s * g``,
  ``g - mean(g)``) act on tangents as they act on cotangents, so forward mode
  (``jvp``, ``jacfwd``, ``hvp``) agrees with reverse mode; any other rule raises
  ``RuleError`` naming the rule and ``jvp``.
- ``vmap``: rules are written with gradlab ops, so they batch; a rule reducing over
  ``g`` (``clip_norm``, ``centralize``) sees one example's cotangent under
  ``vmap(grad(f))``, as a Python loop would.
- second derivatives: the rule's formula is differentiated like any code (the second
  derivative through a surrogate is the surrogate's derivative); a rule declared with
  ``higher_order=False`` raises ``RuleError`` naming the rule and ``grad(grad)``.

>>> import numpy as np
>>> from gradlab import rules
>>> rules.fast_sigmoid(slope=1.0).apply(np.ones(2), np.array([0.0, 1.0])).tolist()
[1.0, 0.25]
>>> rules.compose(rules.scale(2.0), rules.clip_value(-1.0, 1.0)).apply(np.array([0.3, 0.8]),
...                                                                    None).tolist()
[0.6, 1.0]
"""

from __future__ import annotations

from typing import Callable

from ..core.trace import Tracer

_KINDS = ("derivative", "cotangent")
_REGISTRY: dict[str, "Rule"] = {}


class RuleError(TypeError):
    """A rule used where its declared semantics say it has no meaning, or misdeclared."""


class Rule:
    """A named backward rule with its formula, kind, defaults and declared semantics.

    Calling a rule binds parameters: ``rules.fast_sigmoid(slope=10.0)`` is a
    ``BoundRule``; ``rule.apply(g, x, **params)`` evaluates the formula.
    """

    def __init__(self, name: str, fn: Callable, *, kind: str = "derivative",
                 defaults: dict | None = None, linear: bool = False,
                 higher_order: bool = True, random: bool = False, formula: str = "",
                 doc: str = ""):
        if kind not in _KINDS:
            raise ValueError(f"rule {name!r}: kind must be one of {_KINDS}, got {kind!r}")
        self.name, self.fn, self.kind = name, fn, kind
        self.defaults = dict(defaults or {})
        self.linear, self.higher_order, self.random = linear, higher_order, random
        self.formula = formula
        self.__doc__ = doc or f"The backward rule {name!r}: {formula}"

    def __repr__(self):
        return f"<rule {self.name}: {self.formula}>" if self.formula else f"<rule {self.name}>"

    @property
    def semantics(self) -> dict:
        """How the rule behaves under ``jvp``, ``vmap`` and second derivatives."""
        return {
            "jvp": "supported (linear in the cotangent: applied to the tangent)" if self.linear
            else "RuleError (not linear in the cotangent)",
            "vmap": "supported (per example, as a loop)",
            "grad(grad)": "supported (the formula is differentiated)" if self.higher_order
            else "RuleError",
        }

    def __call__(self, *args, **params) -> "BoundRule":
        return self.bind(*args, **params)

    def bind(self, *args, **params) -> "BoundRule":
        """The rule with ``params`` fixed (positional ones in the order of ``defaults``)."""
        names = list(self.defaults)
        if len(args) > len(names):
            raise TypeError(f"rule {self.name!r} takes parameters {tuple(names)}, "
                            f"got {len(args)} positional values")
        params = {**dict(zip(names, args)), **params}
        unknown = set(params) - set(names)
        if unknown:
            raise TypeError(f"rule {self.name!r} has no parameter {sorted(unknown)[0]!r}; "
                            f"its parameters are {tuple(names)}")
        return BoundRule(self, {**self.defaults, **params})

    def apply(self, g, x, **params):
        """The formula evaluated with ``params`` over the defaults."""
        return self.fn(g, x, **{**self.defaults, **params})


class BoundRule:
    """A rule with its parameters: what a scope applies. ``apply(g, x)`` evaluates it."""

    def __init__(self, rule: Rule, params: dict):
        self.rule, self.params = rule, params

    name = property(lambda self: self.rule.name)
    kind = property(lambda self: self.rule.kind)
    linear = property(lambda self: self.rule.linear)
    higher_order = property(lambda self: self.rule.higher_order)
    random = property(lambda self: self.rule.random)
    semantics = property(lambda self: self.rule.semantics)

    def __repr__(self):
        shown = ", ".join(f"{k}={v!r}" for k, v in self.params.items() if k != "key")
        return f"{self.rule.name}({shown})"

    def apply(self, g, x, **extra):
        return self.rule.fn(g, x, **self.params, **extra)

    def with_params(self, params: dict) -> "BoundRule":
        return BoundRule(self.rule, {**self.params, **params})


def as_bound(rule, params: dict | None = None) -> BoundRule:
    """``rule`` (a name, ``Rule``, ``BoundRule`` or plain ``rule(g, x, **p)``) with ``params``."""
    params = params or {}
    if isinstance(rule, str):
        rule = get(rule)
    if isinstance(rule, BoundRule):
        return rule.with_params(params) if params else rule
    if isinstance(rule, Rule):
        return rule.bind(**params)
    if callable(rule):
        name = getattr(rule, "__name__", "rule")
        return BoundRule(Rule(name, rule), dict(params))
    raise TypeError(f"a rule is a registered name, a gradlab.rules.Rule or a function "
                    f"rule(g, x, **params); got {type(rule).__name__}")


def register(name: str, rule: Callable | Rule, **declaration) -> Rule:
    """Add ``rule`` to the registry under ``name``; a duplicate name raises ``ValueError``.

    ``rule`` is a ``Rule`` or a function ``rule(g, x, **params)``; ``declaration`` takes
    ``Rule``'s keywords (``kind``, ``defaults``, ``linear``, ``higher_order``, ``formula``).

    >>> import numpy as np
    >>> from gradlab import rules
    >>> r = rules.register("half_doc_example", lambda g, x: 0.5 * g, linear=True)
    >>> "half_doc_example" in rules.available()
    True
    >>> rules.unregister("half_doc_example")
    """
    if name in _REGISTRY:
        raise ValueError(f"a rule named {name!r} is already registered "
                         f"({_REGISTRY[name]!r}); pick another name")
    if not isinstance(rule, Rule):
        rule = Rule(name, rule, **declaration)
    elif declaration:
        raise TypeError("register(name, Rule(...)) takes the declaration from the Rule")
    _REGISTRY[name] = rule
    return rule


def unregister(name: str) -> None:
    """Remove a rule (for re-run notebook cells and tests)."""
    _REGISTRY.pop(name, None)


def get(name: str) -> Rule:
    """The registered rule called ``name``; ``KeyError`` lists the available ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no rule named {name!r}; available: {', '.join(available())}") from None


def available() -> list[str]:
    """The registered rules' names, sorted."""
    return sorted(_REGISTRY)


def compose(*rules) -> BoundRule:
    """One rule applying ``rules`` left to right: ``compose(a, b)(g, x) = b(a(g, x), x)``.

    The first rule sees the cotangent first. If any member is a derivative rule the
    composition is one (members before it act on the cotangent arriving at the op,
    members after it on the input's cotangent); otherwise it is a cotangent rule. It is
    linear (works under ``jvp``) only if every member is, and supports second
    derivatives only if every member does. Nested scopes with ``compose=True`` use
    ``compose(inner, outer)``.

    >>> import numpy as np
    >>> from gradlab import rules
    >>> r = rules.compose(rules.clip_value(-1.0, 1.0), rules.scale(2.0))
    >>> r.apply(np.array([3.0]), None).tolist()   # clip first, then scale
    [2.0]
    """
    bound = [as_bound(r) for r in rules]
    if not bound:
        raise TypeError("compose needs at least one rule")
    if len(bound) == 1:
        return bound[0]

    def composed(g, x):
        for r in bound:
            g = r.apply(g, x)
        return g

    rule = Rule(f"compose({', '.join(repr(r) for r in bound)})", composed,
                kind="derivative" if any(r.kind == "derivative" for r in bound) else "cotangent",
                linear=all(r.linear for r in bound),
                higher_order=all(r.higher_order for r in bound),
                random=any(r.random for r in bound),
                formula=" then ".join(r.name for r in bound))
    rule.members = bound
    return BoundRule(rule, {})


def lowered_params(params: dict, level: int) -> dict:
    """``params`` with every tracer above ``level`` unboxed to the level below it.

    A rule serves the backward pass of the level that recorded its op; a parameter traced
    at that level (or above) is a constant there, so its derivative flows only to
    transforms that differentiate the backward pass itself (meta-gradients).
    """
    out = {}
    for k, v in params.items():
        while isinstance(v, Tracer) and v._trace.level > level:
            v = v._trace.lower(v)
        out[k] = v
    return out


def per_op(bound: BoundRule, index: int) -> BoundRule:
    """``bound`` with every random member's key folded with ``index`` (one draw per op)."""
    if not bound.random:
        return bound
    members = getattr(bound.rule, "members", None)
    if members is not None:
        return compose(*(per_op(m, index) for m in members))
    from .. import random

    return bound.with_params({"key": random.fold_in(bound.params["key"], index)})
