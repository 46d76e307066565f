"""Primitives: one declaration carries impl, VJP, JVP, batching and shape rules.

>>> import math, numpy as np
>>> exp = Primitive("exp", np.exp, numpy=(np.exp, math.exp),
...                 vjp=lambda g, ans, x: g * ans,
...                 jvp=lambda t, ans, x: t * ans)   # doctest: +SKIP

``vjp`` and ``jvp`` are one rule per operand (a tuple; a bare callable for a unary
primitive): ``vjp_i(g, ans, *operands, **params)`` is operand i's cotangent and
``jvp_i(t_i, ans, *operands, **params)`` its contribution to the output tangent.
Rules are written with gradlab's own ops, so backward passes are themselves
traceable and higher derivatives come for free. A *family* (``Elementwise``,
``Reduction``, ...) supplies what most primitives share: un-broadcasting of
cotangents, the batching rule, the shape rule and sample inputs for the registry
test. The interception table (numpy/math callable -> gradlab) is derived from the
``numpy=`` fields and ``@implements`` declarations; nothing is kept in sync by hand.
"""

from __future__ import annotations

import functools
import sys
from typing import Callable

from .arguments import prepare
from .errors import out_refused
from .trace import Tracer, bind, seq_has_tracer, shape_error

PRIMITIVES: dict[str, "Primitive"] = {}
VARIADIC = "variadic"  # ``nin`` of a primitive taking any number of operands
# numpy/math/scipy callable -> the gradlab callable that replaces it in traced code.
NUMPY_TABLE: dict[Callable, Callable] = {}
# Called with each numpy callable whose entry changes (the interception cache listens).
TABLE_LISTENERS: list[Callable] = []
# gradlab callable -> the composition's metadata (for docs and the registry test).
COMPOSITIONS: dict[str, "Composition"] = {}
# Declare rules on first use: each loader takes a callable that has no entry and returns
# True if it declared new rules (``gradlab.intercept.lazy_rules`` appends SciPy's and
# numpy.polynomial's loader here; core never imports it).
RULE_LOADERS: list[Callable] = []


def table_entry(fn) -> Callable | None:
    """The entry for numpy/scipy callable ``fn``, declaring its package's rules first if
    they are declared on first use; None if it has no rule."""
    try:
        entry = NUMPY_TABLE.get(fn)
    except TypeError:  # unhashable: a callable object (a Polynomial), never a key itself
        return _loaded_entry(fn)
    return entry if entry is not None else _loaded_entry(fn)


def _loaded_entry(fn) -> Callable | None:
    """``fn``'s entry once the loaders have declared its package's rules. Looked up again
    whatever they answer: another thread may have been declaring them meanwhile (a loader
    waits for it, then has nothing new to declare itself)."""
    if not RULE_LOADERS:
        return None
    for load in RULE_LOADERS:
        load(fn)
    try:
        return NUMPY_TABLE.get(fn)
    except TypeError:
        return None


# Instruments a user's rule like traced code, so a rule that calls ``np.sum`` on the
# tracers of an enclosing transform differentiates. ``gradlab.intercept`` (a layer above,
# which core never imports) appends its instrumenter here; empty, rules run as written.
RULE_INSTRUMENTERS: list[Callable] = []


def _instrumented(rules):
    """``rules`` with every user rule instrumented (gradlab's own are left as they are)."""

    def one(rule):
        if rule is None or getattr(rule, "__code__", None) is None:
            return rule
        for instrumenter in RULE_INSTRUMENTERS:
            rule = instrumenter(rule)
        return rule

    if rules is None or (callable(rules) and not hasattr(rules, "__getitem__")):
        return one(rules)
    if hasattr(rules, "fn"):  # PerOperand
        rules.fn = one(rules.fn)
        return rules
    return tuple(one(r) for r in rules)


def _as_rules(rules, nin):
    if rules is None or nin is VARIADIC:
        return rules
    if callable(rules):
        rules = (rules,)
    rules = tuple(rules)
    if len(rules) != nin:
        raise ValueError(f"expected {nin} rules (one per operand), got {len(rules)}")
    return rules


class Primitive:
    """An op every transform level understands. See the module docstring."""

    # The family of a primitive that names none: ``gradlab.ops.families`` sets it to
    # ``Elementwise`` (families' default rules are written with ops, a layer above core).
    default_family = None

    def __init__(self, name: str, impl: Callable, *, vjp=None, jvp=None, family=None,
                 numpy=(), params=(), nin=None, batch=None, shape=None, examples=None,
                 domain=(-2.0, 2.0), differentiable=True, saves=None, doc=""):
        self.name = name
        self.impl = impl
        self.family = family or self.default_family
        if nin is None:
            rules = vjp if vjp is not None else jvp
            nin = 1 if rules is None or callable(rules) else len(rules)
        self.nin = nin
        self.params = tuple(params)  # names of positional parameters after the operands
        self.differentiable = differentiable and (vjp is not None or jvp is not None)
        self.vjps = _as_rules(_instrumented(vjp), nin)
        self.jvps = _as_rules(_instrumented(jvp), nin)
        if self.vjps is not None and nin is not VARIADIC:
            self.vjps = tuple(None if r is None else self.family.wrap_vjp(self, i, r)
                              for i, r in enumerate(self.vjps))
        if self.jvps is not None and nin is not VARIADIC:
            self.jvps = tuple(None if r is None else self.family.wrap_jvp(self, i, r)
                              for i, r in enumerate(self.jvps))
        # What the VJP rules read, so the tape keeps only that: ``saves=("ans",)`` (tanh,
        # exp), ``saves=(0, 1)`` (matmul: operands, not its result), ``("operands",)`` (all
        # of a variadic primitive's operands); None keeps everything.
        if saves is None:
            self.saves = None
        elif "operands" in saves or nin is VARIADIC or all(i in saves for i in range(nin)):
            self.saves = ("ans" in saves, None)  # None: every operand
        else:
            self.saves = ("ans" in saves, tuple(i in saves for i in range(nin)))
        self.batch_rule = batch
        self.shape_rule = shape
        self.examples = examples
        self.domain = domain
        self.numpy = tuple(numpy)
        self.__doc__ = doc or f"gradlab primitive {name!r}."
        self.declared_in = _declaring_module()
        # A re-declaration (a re-run notebook cell) replaces the earlier one.
        PRIMITIVES[name] = self
        for fn in self.numpy:
            _register_entry(fn, self)

    def __repr__(self):
        return f"<primitive {self.name}>"

    def __call__(self, *args, **kwargs):
        if len(args) == self.nin and (not kwargs or "out" not in kwargs):  # the common case:
            for a in args:                                      # operands, keyword params
                if isinstance(a, Tracer):
                    return bind(self, *args, **kwargs) if kwargs else bind(self, *args)
            try:  # bind's no-transform fast path, inlined: rules call primitives a lot
                return self.impl(*args, **kwargs) if kwargs else self.impl(*args)
            except (ValueError, TypeError) as exc:
                error = shape_error(self, args, kwargs, exc)
                if error is exc:
                    raise
                raise error from exc
        nin = self.nin
        if nin is not VARIADIC and len(args) > nin:
            extra = args[nin:]
            if len(extra) > len(self.params):
                raise TypeError(f"{self.name}() takes {nin} operands and parameters "
                                f"{self.params}; got {len(args)} positional arguments")
            kwargs.update(zip(self.params, extra))
            args = args[:nin]
        out = kwargs.get("out")
        if out is not None:
            outs = out if type(out) is tuple else (out,)
            raise out_refused(f"np.{self.name}", traced_out=seq_has_tracer(outs))
        kwargs.pop("out", None)
        return bind(self, *args, **kwargs)

    def defvjp(self, *rules):
        """Set (or replace) the VJP rules, one per operand, autograd style.

        >>> import numpy as np
        >>> @primitive
        ... def cube(x):
        ...     return x ** 3
        >>> cube.defvjp(lambda g, ans, x: 3 * g * x ** 2)   # doctest: +ELLIPSIS
        <primitive cube>
        """
        rules = _as_rules(_instrumented(rules[0] if len(rules) == 1 else rules), self.nin)
        self.vjps = tuple(None if r is None else self.family.wrap_vjp(self, i, r)
                          for i, r in enumerate(rules))
        self.differentiable = True
        self.saves = None  # new rules may read anything
        return self

    def defjvp(self, *rules):
        """Set (or replace) the JVP rules, one per operand."""
        rules = _as_rules(_instrumented(rules[0] if len(rules) == 1 else rules), self.nin)
        self.jvps = tuple(None if r is None else self.family.wrap_jvp(self, i, r)
                          for i, r in enumerate(rules))
        self.differentiable = True
        return self

    def jvp_rules(self):
        """Per-operand JVP rules; derived by transposing the VJP where none is declared."""
        if self.jvps is None and self.vjps is not None:
            from .linear_transpose import jvp_from_vjp

            self.jvps = tuple(None if r is None else self.family.wrap_jvp(
                self, i, jvp_from_vjp(self, i)) for i, r in enumerate(self.vjps))
        return self.jvps

    def vjp_rules(self):
        """Per-operand VJP rules; derived by transposing the JVP where none is declared."""
        if self.vjps is None and self.jvps is not None:
            from .linear_transpose import vjp_from_jvp

            self.vjps = tuple(None if r is None else self.family.wrap_vjp(
                self, i, vjp_from_jvp(self, i)) for i, r in enumerate(self.jvps))
        return self.vjps


def _declaring_module() -> str:
    """The module whose code declared the primitive being built."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    return frame.f_globals.get("__name__", "") if frame is not None else ""


def _register_entry(original: Callable, gradlab_fn: Callable) -> None:
    NUMPY_TABLE[original] = _entry(original, gradlab_fn)
    for listener in TABLE_LISTENERS:
        listener(original)


def _has_tracer(args, kwargs) -> bool:
    for a in args:
        if isinstance(a, Tracer):
            return True
        if type(a) in (list, tuple) and seq_has_tracer(a):
            return True
    for a in kwargs.values():
        if isinstance(a, Tracer):
            return True
        if type(a) in (list, tuple) and seq_has_tracer(a):  # odeint(..., args=(k,))
            return True
    return False


_NO_PARAMS: dict = {}  # shared by parameterless calls; never mutated
_SEQUENCES = frozenset((list, tuple))


def _entry(original: Callable, gradlab_fn: Callable) -> Callable:
    """What traced code calls in place of ``original``: numpy itself unless a tracer is in.

    Keywords and list arguments go through ``arguments.prepare``: checked against
    numpy's signature, lists of traced values stacked where numpy takes an array.
    """
    if isinstance(gradlab_fn, Primitive):
        # Primitives take arrays as operands: a flat scan finds the common case.
        prim, nin = gradlab_fn, gradlab_fn.nin

        def entry(*args, **kwargs):
            for a in args:
                if isinstance(a, Tracer):
                    if kwargs or len(args) != nin:
                        args, kwargs = prepare(original, prim, args, kwargs)
                        return prim(*args, **kwargs)
                    if nin == 1:  # one operand: its own level processes it, no scan needed
                        return a._trace.process(prim, args, _NO_PARAMS)
                    for b in args:
                        if type(b) in (list, tuple):  # np.add(x, [a, b])
                            return prim(*prepare(original, prim, args, kwargs)[0])
                    return bind(prim, *args)
            if _has_tracer(args, kwargs):  # in a keyword, or a list of traced values
                args, kwargs = prepare(original, prim, args, kwargs)
                return prim(*args, **kwargs)
            return original(*args, **kwargs)
    else:
        def entry(*args, **kwargs):
            if _has_tracer(args, kwargs):
                if kwargs or not _SEQUENCES.isdisjoint(map(type, args)):
                    args, kwargs = prepare(original, gradlab_fn, args, kwargs)
                return gradlab_fn(*args, **kwargs)
            return original(*args, **kwargs)

    functools.update_wrapper(entry, original)
    entry.__gradlab__ = gradlab_fn
    return entry


def primitive(name_or_impl, impl=None, **declaration):
    """Declare a primitive: ``primitive("name", impl, vjp=..., jvp=..., ...)``.

    Also a decorator, autograd style: ``@primitive`` on a function declares it (named
    after the function, ``nin`` its positional parameters), then ``.defvjp(...)`` /
    ``.defjvp(...)`` add its rules.
    """
    if callable(name_or_impl) and impl is None:
        fn = name_or_impl
        code = getattr(fn, "__code__", None)
        if code is not None and "nin" not in declaration:
            declaration["nin"] = code.co_argcount - len(fn.__defaults__ or ())
        prim = Primitive(fn.__name__, fn, **declaration)
        functools.update_wrapper(prim, fn, updated=())
        return prim
    return Primitive(name_or_impl, impl, **declaration)


class Composition:
    """A numpy function implemented by composing primitives (exact, so derivatives are too)."""

    def __init__(self, fn, numpy, examples, doc):
        self.fn, self.numpy, self.examples, self.name = fn, numpy, examples, fn.__name__
        self.__doc__ = doc


def implements(*numpy_fns, examples=None):
    """Declare ``fn`` as gradlab's version of ``numpy_fns`` (a composition of primitives).

    >>> import numpy as np
    >>> @implements(np.cosh)            # doctest: +SKIP
    ... def cosh(x):
    ...     return (np.exp(x) + np.exp(-x)) / 2
    """

    def register(fn):
        name = fn.__name__
        if name in COMPOSITIONS and COMPOSITIONS[name].fn is not fn:
            name = f"{fn.__module__.rsplit('.', 1)[-1]}.{name}"
        COMPOSITIONS[name] = Composition(fn, numpy_fns, examples, fn.__doc__)
        for np_fn in numpy_fns:
            _register_entry(np_fn, fn)
        return fn

    return register
