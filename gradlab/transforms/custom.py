"""User-defined derivative rules: ``custom_vjp`` and ``custom_jvp``.

>>> import numpy as np, gradlab as gl
>>> @gl.custom_vjp
... def clip_grad(x):
...     return x
>>> clip_grad.defvjp(lambda x: (x, None), lambda res, g: (np.clip(g, -1.0, 1.0),))
>>> float(gl.grad(lambda x: 5.0 * clip_grad(x))(2.0))
1.0

Each decorated function becomes its own ``Primitive`` (kept out of the global
registry): its ``impl`` calls the user's function on plain values, its VJP/JVP
rules call the user's rules. Because the rules receive the operands of the level
below (possibly tracers of an enclosing transform), they compose with every other
transform: higher order differentiates the user's rule itself, and ``vmap``
batches a call by binding a *batched* twin whose function and rules are the
user's, vmapped.

The residuals of ``fwd`` are recomputed when the backward pass reaches the call
(``fwd`` runs then, on the operands the tape saved), not stored from the forward
pass: that keeps them traced at every enclosing level, which is what makes the
second derivative of a custom rule correct.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core.errors import user_location
from ..core.linear_transpose import _transpose
from ..core.primitive import PRIMITIVES, VARIADIC, Primitive
from ..core.rules import PerOperand
from ..core.trace import Tracer, bind
from ..core.tree import tree_flatten, tree_unflatten
from ..intercept import instrument
from ..ops.families import Structural, broadcast_to_p
from ..precision.dtypes import is_float_dtype

_WRAPPED = ("__name__", "__qualname__", "__doc__")  # not __module__: numpy's would be guarded


def _dtype(x):
    return x.dtype if isinstance(x, Tracer) else np.result_type(x)


def _zeros_like(x, dtype=None):
    dt = dtype if dtype is not None else _dtype(x)
    if not is_float_dtype(dt):
        dt = np.float64
    return np.zeros(np.shape(x), dt)


class _Memo:
    """One call's cotangents of every operand, computed once for all the per-operand rules.

    Lives in the call's params, so it is freed with the tape node that holds it.
    """

    __slots__ = ("key", "value", "saved")

    def __init__(self):
        self.key = None
        self.value = None
        self.saved = None  # what a checkpoint policy kept from the forward pass

    def get(self, key):
        k = self.key
        if k is not None and len(k) == len(key) and all(a is b for a, b in zip(k, key)):
            return self.value
        return None

    def put(self, key, value):
        self.key, self.value = key, value
        return value


class Static:
    """What a call passes besides its differentiable leaves: structure and fixed arguments.

    ``out`` describes a pytree output once the function has run (see ``pack``).
    """

    __slots__ = ("tree", "nargs", "nondiff", "out")

    def __init__(self, tree, nargs, nondiff):
        self.tree, self.nargs, self.nondiff = tree, nargs, nondiff  # nondiff: {pos: value}
        self.out = None

    def args(self, leaves):
        """The full positional arguments, rebuilt from the leaves."""
        diff = iter(tree_unflatten(self.tree, list(leaves)))
        return [self.nondiff[i] if i in self.nondiff else next(diff) for i in range(self.nargs)]

    def diff_args(self, leaves):
        return tuple(tree_unflatten(self.tree, list(leaves)))

    def nondiff_values(self):
        return [self.nondiff[i] for i in sorted(self.nondiff)]


def pack(out, static):
    """A pytree output as one flat array (a primitive has one output); ``unpack`` inverts it.

    One array passes as it is. A tuple/dict/... of arrays is raveled and concatenated in
    a common dtype, its structure recorded on the call's ``static``. Both directions are
    gradlab ops, so derivatives, batching and shapes flow through them like any code.
    """
    leaves, tree = tree_flatten(out)
    if tree.kind is None:
        return out
    if not leaves:
        raise TypeError("a function under custom_vjp, custom_jvp or checkpoint must return "
                        "at least one array")
    from ..ops.misc import convert, dtype_of
    from ..ops.shape import concatenate, reshape

    dtypes = [dtype_of(x) for x in leaves]
    static.out = (tree, [tuple(np.shape(x)) for x in leaves], dtypes)
    common = np.result_type(*dtypes)
    return concatenate([reshape(convert(x, common), (-1,)) for x in leaves])


def unpack(flat, static):
    """The pytree ``pack`` flattened (``flat`` itself for a one-array output)."""
    if static.out is None:
        return flat
    from ..ops.index import getitem
    from ..ops.misc import convert, dtype_of
    from ..ops.shape import reshape

    tree, shapes, dtypes = static.out
    parts, start = [], 0
    for shape, dtype in zip(shapes, dtypes):
        size = int(np.prod(shape, dtype=np.int64))
        part = reshape(getitem(flat, (slice(start, start + size),)), shape)
        parts.append(part if dtype_of(part) == dtype else convert(part, dtype))
        start += size
    return tree_unflatten(tree, parts)


def split_call(args, nondiff_argnums, name):
    """``(leaves, Static)`` of a call; refuses traced values among the fixed arguments."""
    nargs = len(args)
    nums = {n % nargs for n in nondiff_argnums} if nargs else set()
    nondiff = {i: args[i] for i in nums}
    for i, v in nondiff.items():
        if any(isinstance(x, Tracer) for x in tree_flatten(v)[0]):
            raise TypeError(f"{name}: argument {i} is in nondiff_argnums but holds a traced "
                            f"value at {user_location()}; pass arrays to differentiate as "
                            "ordinary arguments (their cotangent may be zero)")
    diff = tuple(a for i, a in enumerate(args) if i not in nums)
    leaves, tree = tree_flatten(diff)
    return leaves, Static(tree, nargs, nondiff)


class CustomRules:
    """A per-function primitive from functions of flat leaves.

    ``call(leaves, static) -> out``; reverse mode either ``fwd(leaves, static) ->
    (out, res)`` with ``bwd(res, g, leaves, static) -> [ct per leaf]``, or
    ``vjp(g, leaves, static) -> [ct per leaf]``; forward mode ``jvp(leaves, tangents,
    static) -> t_out``, or ``no_jvp`` (a message) to refuse forward mode.
    """

    def __init__(self, name, call, *, fwd=None, bwd=None, vjp=None, jvp=None, no_jvp=None):
        self.name, self.call = name, call
        self.fwd, self.bwd, self.vjp, self.jvp, self.no_jvp = fwd, bwd, vjp, jvp, no_jvp
        self._batched = None
        reverse = fwd is not None or vjp is not None
        self.prim = Primitive(
            name, self._impl, family=Structural, nin=VARIADIC,
            vjp=PerOperand(self._vjp_rule, joint=self._joint_vjp_rule) if reverse
            else PerOperand(self._transposed_jvp_rule),
            jvp=PerOperand(self._jvp_rule, joint=self._joint_jvp_rule), batch=self._batch_rule,
            shape=self._shape_rule,
            doc=f"The user-defined function {name}.")
        del PRIMITIVES[name]  # user functions are not library primitives (nor registry cases)

    def bind(self, leaves, static):
        return bind(self.prim, *leaves, static=static, memo=_Memo())

    def _impl(self, *leaves, static, memo):
        return self.check_output(self.call(leaves, static))

    def check_output(self, out):
        if isinstance(out, (tuple, list, dict)) or out is None:
            raise TypeError(f"{self.name} returned {type(out).__name__}, not an array: "
                            "a pytree output must be packed first (custom.pack)")
        return out

    def _cotangents(self, g, leaves, static, memo):
        key = (g, *leaves)
        cts = memo.get(key)
        if cts is None:
            if self.vjp is not None:
                cts = self.vjp(g, leaves, static)
            else:
                _, res = self.fwd(leaves, static)
                cts = self.bwd(res, g, leaves, static)
            memo.put(key, cts)
        return cts

    def _vjp_rule(self, i, g, ans, *leaves, static, memo):
        return self._cotangents(g, leaves, static, memo)[i]

    def _joint_vjp_rule(self, needed, g, ans, *leaves, static, memo):
        return self._cotangents(g, leaves, static, memo)  # one call for all the leaves

    def _joint_jvp_rule(self, tangents, ans, *leaves, static, memo):
        if self.jvp is None:
            raise TypeError(self.no_jvp.format(location=user_location()))
        dtype = np.result_type(*(_dtype(t) for t in tangents if t is not None))
        tangents = [_zeros_like(x, dtype) if t is None else t for t, x in zip(tangents, leaves)]
        out = self.jvp(leaves, tangents, static)
        if np.shape(out) != np.shape(ans):
            out = broadcast_to_p(out, shape=np.shape(ans))
        return out

    def _jvp_rule(self, i, t, ans, *leaves, static, memo):
        if self.jvp is None:
            raise TypeError(self.no_jvp.format(location=user_location()))
        tangents = [t if j == i else _zeros_like(x, _dtype(t)) for j, x in enumerate(leaves)]
        out = self.jvp(leaves, tangents, static)
        if np.shape(out) != np.shape(ans):
            out = broadcast_to_p(out, shape=np.shape(ans))
        return out

    def _transposed_jvp_rule(self, i, g, ans, *leaves, static, memo):
        rule = functools.partial(self._jvp_rule, i)
        return _transpose(rule, leaves[i], g, ans, leaves, {"static": static, "memo": memo})

    def _shape_rule(self, prim, avals, params):
        from .shapes import eval_shape  # the function itself, evaluated abstractly

        return eval_shape(lambda *leaves: self.call(leaves, params["static"]), *avals)

    def _batch_rule(self, prim, vals, dims, params):
        from ..ops.shape import expand_dims, moveaxis

        size = next(np.shape(v)[d] for v, d in zip(vals, dims) if d is not None)
        moved = [moveaxis(v, d, 0) if d is not None else
                 broadcast_to_p(expand_dims(v, 0), shape=(size,) + tuple(np.shape(v)))
                 for v, d in zip(vals, dims)]
        return self.batched().bind(moved, params["static"]), 0

    def batched(self):
        """The twin that maps this function and its rules over a leading batch axis."""
        if self._batched is None:
            from .batching import vmap

            def over(fn):  # fn(*batched, static), mapped over axis 0 of every batched arg
                if fn is None:
                    return None
                return lambda *a: vmap(lambda *xs: fn(*xs, a[-1]))(*a[:-1])

            self._batched = CustomRules(
                f"{self.name}[batched]", over(self.call), fwd=over(self.fwd),
                bwd=over(self.bwd), vjp=over(self.vjp), jvp=over(self.jvp), no_jvp=self.no_jvp)
        return self._batched


def _check_cotangents(name, cts, static, leaves):
    """The user's per-argument cotangents as one list per leaf (``None`` means zero)."""
    diff = static.diff_args(leaves)
    if not isinstance(cts, (tuple, list)) or len(cts) != len(diff):
        raise TypeError(f"{name}: the bwd rule must return a tuple with one cotangent per "
                        f"differentiable argument ({len(diff)}), got {type(cts).__name__}"
                        + (f" of length {len(cts)}" if isinstance(cts, (tuple, list)) else ""))
    out = []
    for j, (ct, arg) in enumerate(zip(cts, diff)):
        arg_leaves = tree_flatten(arg)[0]
        if ct is None:
            out.extend(_zeros_like(x) for x in arg_leaves)
            continue
        ct_leaves = tree_flatten(ct)[0]
        if len(ct_leaves) != len(arg_leaves):
            raise TypeError(f"{name}: the cotangent of argument {j} has {len(ct_leaves)} "
                            f"leaves, the argument has {len(arg_leaves)}")
        for c, x in zip(ct_leaves, arg_leaves):
            if np.shape(c) != np.shape(x):
                raise ValueError(f"{name}: the cotangent of argument {j} has shape "
                                 f"{np.shape(c)}, the argument has shape {np.shape(x)}")
        out.extend(ct_leaves)
    return out


class custom_vjp:  # noqa: N801 - the decorator's conventional name
    """A function with a user-defined reverse-mode rule: ``f.defvjp(fwd, bwd)``.

    ``fwd(*args) -> (out, residuals)``; ``bwd(*nondiff_args, residuals, g)`` returns a
    tuple with one cotangent (or ``None`` for zero) per differentiable argument.
    Arguments listed in ``nondiff_argnums`` are fixed values (not differentiated).
    ``out`` is an array or a pytree of arrays (the cotangent ``bwd`` receives has the
    same structure).

    >>> import numpy as np, gradlab as gl
    >>> @gl.custom_vjp
    ... def straight_through_round(x):
    ...     return np.round(x)
    >>> straight_through_round.defvjp(lambda x: (np.round(x), None), lambda res, g: (g,))
    >>> float(gl.grad(lambda x: straight_through_round(x) * x)(1.4))
    2.4
    """

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()):
        functools.update_wrapper(self, fun, assigned=_WRAPPED)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.rules = None

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        """Set the forward (``(out, residuals)``) and backward (cotangents) rules."""
        name = f"custom_vjp:{getattr(self.fun, '__qualname__', 'f')}"
        fun, fwd_i, bwd_i = instrument(self.fun), instrument(fwd), instrument(bwd)

        def call(leaves, static):
            return pack(fun(*static.args(leaves)), static)

        def forward(leaves, static):
            result = fwd_i(*static.args(leaves))
            if not isinstance(result, tuple) or len(result) != 2:
                raise TypeError(f"{name}: fwd must return a pair (output, residuals)")
            return result

        def backward(res, g, leaves, static):
            cts = bwd_i(*static.nondiff_values(), res, unpack(g, static))
            return _check_cotangents(name, cts, static, leaves)

        no_jvp = (f"{name} defines only a reverse-mode rule (custom_vjp), so forward mode "
                  "(jvp, jacfwd, hessian, hvp, linearize) cannot differentiate it; reached at "
                  "{location}.\nDefine it with gradlab.custom_jvp (f.defjvp(...)), whose rule "
                  "serves both modes, or use reverse-over-reverse (jacrev(jacrev(f))).")
        self.rules = CustomRules(name, call, fwd=forward, bwd=backward, no_jvp=no_jvp)

    def __call__(self, *args: Any) -> Any:
        if self.rules is None:
            raise TypeError(f"custom_vjp function {self.__qualname__} has no rule yet: call "
                            f"{self.__name__}.defvjp(fwd, bwd) before using it")
        leaves, static = split_call(args, self.nondiff_argnums, self.rules.name)
        return unpack(self.rules.bind(leaves, static), static)


class custom_jvp:  # noqa: N801
    """A function with a user-defined forward-mode rule: ``f.defjvp(rule)``.

    ``rule(*nondiff_args, primals, tangents) -> (out, tangent_out)`` where ``primals``
    and ``tangents`` are tuples of the differentiable arguments. The rule must be
    linear in ``tangents``; reverse mode transposes it, so one rule serves ``grad``,
    ``jvp``, ``vmap`` and every nesting of them.

    >>> import numpy as np, gradlab as gl
    >>> @gl.custom_jvp
    ... def safe_log1pexp(x):
    ...     return np.log1p(np.exp(x))
    >>> safe_log1pexp.defjvp(lambda p, t: (safe_log1pexp(p[0]), t[0] / (1 + np.exp(-p[0]))))
    >>> float(gl.grad(safe_log1pexp)(0.0))
    0.5
    """

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()):
        functools.update_wrapper(self, fun, assigned=_WRAPPED)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.rules = None

    def defjvp(self, rule: Callable[..., Any]) -> None:
        """Set the JVP rule ``rule(*nondiff, primals, tangents) -> (out, tangent_out)``."""
        name = f"custom_jvp:{getattr(self.fun, '__qualname__', 'f')}"
        fun, rule_i = instrument(self.fun), instrument(rule)

        def call(leaves, static):
            return pack(fun(*static.args(leaves)), static)

        def push(leaves, tangents, static):
            result = rule_i(*static.nondiff_values(), static.diff_args(leaves),
                            static.diff_args(tangents))
            if not isinstance(result, tuple) or len(result) != 2:
                raise TypeError(f"{name}: the jvp rule must return a pair (out, tangent_out)")
            return pack(result[1], static)

        self.rules = CustomRules(name, call, jvp=push)

    def __call__(self, *args: Any) -> Any:
        if self.rules is None:
            raise TypeError(f"custom_jvp function {self.__qualname__} has no rule yet: call "
                            f"{self.__name__}.defjvp(rule) before using it")
        leaves, static = split_call(args, self.nondiff_argnums, self.rules.name)
        return unpack(self.rules.bind(leaves, static), static)
