"""Reductions over ``axis`` with ``keepdims``; ties in ``max``/``min`` split the gradient.

``prod``'s derivatives are exact where the input has zeros; the ``nan*`` forms treat
NaNs as missing (no gradient flows to them).

>>> import numpy as np, gradlab as gl
>>> gl.grad(np.max)(np.array([1.0, 3.0, 3.0])).tolist()
[0.0, 0.5, 0.5]
>>> gl.grad(np.prod)(np.array([2.0, 0.0, 3.0])).tolist()
[0.0, 6.0, 0.0]
"""

from __future__ import annotations

import math

import numpy as np

from ..core.primitive import Primitive, implements
from ..core.shapes import ndim_of, normalize_axes, shape_of
from ..devices.array_module import get_array_module
from ..precision.dtypes import PLAIN_DTYPES, computes_in_float32_composition, float32_sum
from .cumulative import cumprod_p
from .elementwise import maximum, minimum, sqrt, where
from .families import Reduction, broadcast_to_p
from .misc import convert, dtype_of
from .shape import concatenate, reshape, transpose

REDUCE_PARAMS = ("axis", "dtype", "out", "keepdims")


def restore_axes(g, x_shape, axis, keepdims):
    """Reshape a reduction's output (or cotangent) so it broadcasts against the input."""
    if keepdims or ndim_of(g) == 0:
        return g  # a 0-d cotangent broadcasts against the input as it is
    axes = normalize_axes(axis, len(x_shape))
    shape = tuple(1 if i in axes else n for i, n in enumerate(x_shape))
    return reshape(g, shape)


def spread(g, x, axis, keepdims):
    """Broadcast a reduction's cotangent back over the reduced axes of ``x``."""
    shape = shape_of(x)
    return broadcast_to_p(restore_axes(g, shape, axis, keepdims), shape=shape)


def _sum_impl(x, *, axis=None, keepdims=False, dtype=None):
    if type(x) is np.ndarray:  # the ufunc's own reduce: np.sum's Python wrapper costs ~1 µs
        if dtype is None and PLAIN_DTYPES.get(x.dtype, 1) is not None:
            return float32_sum(x, axis, keepdims)  # float16, bfloat16, float8: no running sum
        return np.add.reduce(x, axis=axis, keepdims=keepdims, dtype=dtype)
    return np.sum(x, axis=axis, keepdims=keepdims, dtype=dtype)


sum = Primitive(  # noqa: A001 - the numpy name
    "sum", _sum_impl, family=Reduction, params=REDUCE_PARAMS,
    vjp=lambda g, ans, x, *, axis=None, keepdims=False, dtype=None: spread(g, x, axis, keepdims),
    jvp=lambda t, ans, x, *, axis=None, keepdims=False, dtype=None: sum(
        t, axis=axis, keepdims=keepdims))


def _extremum_vjp(g, ans, x, *, axis=None, keepdims=False):
    ans_b = restore_axes(ans, np.shape(x), axis, keepdims)
    mask = convert(x == ans_b, dtype_of(ans))
    count = sum(mask, axis=normalize_axes(axis, np.ndim(x)), keepdims=True)
    return spread(g, x, axis, keepdims) * (mask / count)


def _extremum_jvp(t, ans, x, *, axis=None, keepdims=False):
    ans_b = restore_axes(ans, np.shape(x), axis, keepdims)
    mask = convert(x == ans_b, dtype_of(ans))
    count = sum(mask, axis=normalize_axes(axis, np.ndim(x)), keepdims=keepdims)
    return sum(t * mask, axis=axis, keepdims=keepdims) / count


def _reducer(np_fn):
    def impl(x, *, axis=None, keepdims=False):
        return np_fn(x, axis=axis, keepdims=keepdims)

    return impl


max = Primitive(  # noqa: A001
    "max", _reducer(np.max), family=Reduction,
    params=("axis", "out", "keepdims"), vjp=_extremum_vjp, jvp=_extremum_jvp)
min = Primitive(  # noqa: A001
    "min", _reducer(np.min), family=Reduction,
    params=("axis", "out", "keepdims"), vjp=_extremum_vjp, jvp=_extremum_jvp)


def _prod_others(x, axis):
    """For each element, the product of the *other* elements along ``axis``.

    The product of an exclusive cumulative product from the left and one from the
    right: exact with zeros (``ans / x`` is not), and its own derivatives are too.
    """
    ndim = np.ndim(x)
    axes = normalize_axes(axis, ndim)
    if not axes:
        return get_array_module(x).ones(np.shape(x), dtype_of(x))
    keep = [i for i in range(ndim) if i not in axes]
    moved = transpose(x, keep + list(axes))
    moved_shape = np.shape(moved)
    flat = reshape(moved, moved_shape[:len(keep)] + (-1,))
    ones = get_array_module(x).ones(np.shape(flat)[:-1] + (1,), dtype_of(x))
    left = concatenate([ones, cumprod_p(flat[..., :-1], axis=-1)], axis=-1)
    flipped = flat[..., ::-1]
    right = concatenate([ones, cumprod_p(flipped[..., :-1], axis=-1)], axis=-1)[..., ::-1]
    others = reshape(left * right, moved_shape)
    return transpose(others, list(np.argsort(keep + list(axes))))


def _prod_vjp(g, ans, x, *, axis=None, keepdims=False, dtype=None):
    return spread(g, x, axis, keepdims) * _prod_others(x, axis)


def _prod_impl(x, *, axis=None, keepdims=False, dtype=None):
    return np.prod(x, axis=axis, keepdims=keepdims, dtype=dtype)


prod = Primitive(
    "prod", _prod_impl, family=Reduction,
    params=REDUCE_PARAMS, vjp=_prod_vjp,
    examples=lambda rng: Reduction.examples(prod, rng) + [
        ((np.array([[1.5, 0.0, -2.0], [0.0, 0.0, 3.0], [0.5, 2.0, 1.2]]),), {"axis": 1}),
        ((np.array([[1.5, 0.0], [0.7, -2.0]]),), {})],
    jvp=lambda t, ans, x, *, axis=None, keepdims=False, dtype=None: sum(
        t * _prod_others(x, axis), axis=axis, keepdims=keepdims))


# --- numpy's keywords: where= masks, initial= identities --------------------------------
_NO_VALUE = np._NoValue  # numpy's marker for "not given"


def _masked(a, mask, fill):
    """``a`` where the reduction's ``where=`` mask holds, ``fill`` elsewhere."""
    if mask is True:
        return a
    return where(mask, a, fill)


def _reduction(prim, a, axis, dtype, out, keepdims):
    if axis is None and dtype is None and out is None and not keepdims:
        return prim(a)  # the common call, on the primitive's fast path
    if dtype is None:
        return prim(a, axis=axis, out=out, keepdims=keepdims)
    return prim(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims)


def _where_examples(rng):
    x = rng.normal(size=(3, 4))
    mask = np.array([[True, False, True, True], [False, True, True, False],
                     [True, True, False, True]])
    return [((x,), {}), ((x,), {"axis": 1, "where": mask}), ((x,), {"initial": 0.5}),
            ((x,), {"axis": (0, 1), "keepdims": True, "where": mask[0], "initial": -1.0})]


@implements(np.sum, examples=_where_examples)
def numpy_sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=_NO_VALUE,
              where=True):
    """``np.sum`` with every keyword: ``where=`` sums the masked entries (the others get
    no gradient), ``initial=`` is added."""
    if where is True and initial is _NO_VALUE and axis is None and dtype is None \
            and out is None and not keepdims:
        return sum(a)  # np.sum(x): straight to the primitive
    total = _reduction(sum, _masked(a, where, 0), axis, dtype, out, keepdims)
    return total if initial is _NO_VALUE else total + initial


@implements(np.prod, examples=_where_examples)
def numpy_prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=_NO_VALUE,
               where=True):
    """``np.prod`` with every keyword: ``where=`` multiplies the masked entries,
    ``initial=`` multiplies the result."""
    total = _reduction(prod, _masked(a, where, 1), axis, dtype, out, keepdims)
    return total if initial is _NO_VALUE else total * initial


def _extremum(prim, combine, name, a, axis, out, keepdims, initial, mask):
    if mask is not True:
        if initial is _NO_VALUE:
            raise ValueError(f"reduction operation '{name}' does not have an identity, so to "
                             "use a where mask one has to specify 'initial'")
        a = _masked(a, mask, initial)
    result = _reduction(prim, a, axis, None, out, keepdims)
    return result if initial is _NO_VALUE else combine(result, initial)


def _extremum_examples(rng):
    x = rng.normal(size=(3, 4))
    return [((x,), {}), ((x,), {"axis": 0, "initial": 0.3}),
            ((x,), {"axis": 1, "initial": -5.0, "where": x[0] > -0.5})]


@implements(np.max, np.amax, examples=_extremum_examples)
def numpy_max(a, axis=None, out=None, keepdims=False, initial=_NO_VALUE, where=True):
    """``np.max`` with every keyword: ``initial=`` takes part in the maximum (and the
    gradient goes to it where it wins), ``where=`` (with ``initial``) masks entries."""
    return _extremum(max, maximum, "maximum", a, axis, out, keepdims, initial, where)


@implements(np.min, np.amin, examples=_extremum_examples)
def numpy_min(a, axis=None, out=None, keepdims=False, initial=_NO_VALUE, where=True):
    """``np.min`` with every keyword, as ``np.max``."""
    return _extremum(min, minimum, "minimum", a, axis, out, keepdims, initial, where)


def _count(x, axis):
    """How many elements a reduction over ``axis`` combines."""
    shape = shape_of(x)
    if axis is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in normalize_axes(axis, len(shape)))


def _examples(rng):
    x = rng.normal(size=(3, 4))
    return [((x,), {}), ((x,), {"axis": 0}), ((x,), {"axis": -1, "keepdims": True}),
            ((rng.normal(size=(2, 3, 2)),), {"axis": (0, 2)})]


def _where_count(a, axis, keepdims, mask):
    """How many entries a masked reduction combines (a float array, for division)."""
    from .misc import convert as cast

    ones = broadcast_to_p(cast(mask, dtype_of(a) if dtype_of(a).kind in "fc" else np.float64),
                          shape=np.broadcast_shapes(np.shape(a), np.shape(mask)))
    return sum(ones, axis=axis, keepdims=keepdims)


def _mean_examples(rng):
    x = rng.normal(size=(3, 4))
    return _examples(rng) + [((x,), {"axis": 1, "where": x > -0.8})]


def _mean_impl(x, *, axis=None, keepdims=False, dtype=None):
    if type(x) is np.ndarray and x.dtype == np.float64 and dtype is None:
        # np.mean's own steps for float64 (a sum, then one division), without its
        # Python wrapper (~4 µs): the same bits. Other dtypes round as np.mean does.
        return np.add.reduce(x, axis=axis, keepdims=keepdims) / (
            x.size if axis is None else _count(x, axis))
    return np.mean(x, axis=axis, keepdims=keepdims, dtype=dtype)


mean_p = Primitive(
    "mean", _mean_impl, family=Reduction, params=REDUCE_PARAMS,
    vjp=lambda g, ans, x, *, axis=None, keepdims=False, dtype=None: spread(
        g / _count(x, axis), x, axis, keepdims),
    jvp=lambda t, ans, x, *, axis=None, keepdims=False, dtype=None: mean_p(
        t, axis=axis, keepdims=keepdims),
    doc="np.mean without where=: one node on the tape (its cotangent is spread and "
        "divided by the count), not a sum and a division.")


@implements(np.mean, examples=_mean_examples)
@computes_in_float32_composition  # n may not fit float8 (e4m3fn's largest is 448)
def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    """``sum(a) / n`` over ``axis``; with ``where=``, over the masked entries."""
    if dtype is not None:
        a = convert(a, dtype)
    if where is True:
        return mean_p(a, axis=axis, keepdims=keepdims)
    return (sum(_masked(a, where, 0), axis=axis, keepdims=keepdims)
            / _where_count(a, axis, keepdims, where))


_mean = mean  # var's ``mean=`` keyword hides the function


def _ddof(ddof, correction):
    if correction is _NO_VALUE:
        return ddof
    if ddof != 0:
        raise ValueError("ddof and correction can't be provided simultaneously.")
    return correction


def _var_examples(rng):
    x = rng.normal(size=(3, 4))
    return _examples(rng) + [((rng.normal(size=(5,)),), {"ddof": 1}),
                             ((x,), {"axis": 0, "where": x > -0.8, "correction": 1})]


@implements(np.var, examples=_var_examples)
@computes_in_float32_composition
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True,
        mean=_NO_VALUE, correction=_NO_VALUE):  # noqa: A002 - numpy's keyword names
    """Mean squared deviation, divided by ``n - ddof`` (``correction`` is ``ddof``);
    ``where=`` restricts it to the masked entries, ``mean=`` gives the mean."""
    ddof = _ddof(ddof, correction)
    if dtype is not None:
        a = convert(a, dtype)
    mu = _mean(a, axis=axis, keepdims=True, where=where) if mean is _NO_VALUE else mean
    centered = a - mu
    if dtype_of(centered).kind == "c":  # numpy's variance of complex data is real: |x - m|^2
        from .complex import conj, real

        squares = real(centered * conj(centered))
    else:
        squares = centered * centered
    count = _count(a, axis) if where is True else _where_count(a, axis, keepdims, where)
    return sum(_masked(squares, where, 0), axis=axis, keepdims=keepdims) / (count - ddof)


def sqrt_of_spread(v):
    """``sqrt(v)`` for a variance: where ``v`` is zero (no spread) its derivative is the
    subgradient 0, not ``inf * 0 = nan`` (as in autograd)."""
    positive = v > 0
    return where(positive, sqrt(where(positive, v, 1.0)), 0.0)


@implements(np.std, examples=_var_examples)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True,
        mean=_NO_VALUE, correction=_NO_VALUE):  # noqa: A002 - numpy's keyword names
    """``sqrt(var(a))``; zero spread has derivative 0 (the subgradient)."""
    return sqrt_of_spread(var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims,
                              where=where, mean=mean, correction=correction))


@implements(np.ptp, examples=_examples)
def ptp(a, axis=None, out=None, keepdims=False):
    """``max - min`` over ``axis`` (ties split the gradient, as in ``max``)."""
    return max(a, axis=axis, keepdims=keepdims) - min(a, axis=axis, keepdims=keepdims)


def _weights_like(a, weights, axis):
    """``weights`` broadcast against ``a`` (a 1-D weight vector lies along ``axis``)."""
    if np.shape(weights) == np.shape(a):
        return weights
    if axis is None:
        raise TypeError("np.average: axis must be given when weights and a differ in shape")
    if np.ndim(weights) != 1:
        raise TypeError("np.average: 1-D weights expected when shapes of a and weights differ")
    shape = [1] * np.ndim(a)
    shape[int(axis) % np.ndim(a)] = np.shape(weights)[0]
    return broadcast_to_p(reshape(weights, tuple(shape)), shape=np.shape(a))


@implements(np.average, examples=lambda rng: [
    ((rng.normal(size=(3, 4)),), {}),
    ((rng.normal(size=(3, 4)), 0, rng.uniform(0.5, 2, (3,))), {}),
    ((rng.normal(size=(3, 4)), None, rng.uniform(0.5, 2, (3, 4))), {"keepdims": True}),
    ((rng.normal(size=(3, 4)), -1, rng.uniform(0.5, 2, (4,))), {"returned": True})])
def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """``np.average``: weighted mean, differentiable in ``a`` and in ``weights``."""
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        scale = get_array_module(avg).full(np.shape(avg), float(_count(a, axis)), dtype_of(avg))
    else:
        w = _weights_like(a, weights, axis)
        scale = sum(w, axis=axis, keepdims=keepdims)
        avg = sum(a * w, axis=axis, keepdims=keepdims) / scale
    if returned:
        if np.shape(scale) != np.shape(avg):
            scale = broadcast_to_p(scale, shape=np.shape(avg))
        return avg, scale
    return avg


# --- NaN-ignoring reductions: NaNs become the identity and get no gradient ----------
def _nan_mask(a):
    from .constants import isnan

    return isnan(a)


def _valid(a, mask):
    """The entries a NaN-ignoring reduction combines: not NaN, and in ``where=``."""
    from .constants import logical_and, logical_not

    valid = logical_not(_nan_mask(a))
    return valid if mask is True else logical_and(valid, mask)


def _valid_count(a, axis, keepdims, mask=True):
    from .constants import count_nonzero

    valid = _valid(a, mask)
    if np.shape(valid) != np.shape(a):
        valid = broadcast_to_p(valid, shape=np.shape(a))
    count = count_nonzero(valid, axis=axis, keepdims=keepdims)
    return convert(count, dtype_of(a))  # an integer count would promote float32


def _nan_examples(rng):
    x = np.array([[1.0, np.nan, 2.0, 0.3], [0.5, -1.0, np.nan, 1.5]])
    return [((x,), {"axis": 1}), ((rng.normal(size=(3, 4)),), {}),
            ((x,), {"where": np.array([True, True, False, True]), "keepdims": True})]


@implements(np.nansum, examples=lambda rng: _nan_examples(rng) + [
    ((rng.normal(size=(3, 4)),), {"axis": 0, "initial": 2.0})])
def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=_NO_VALUE, where=True):
    """``np.nansum``."""
    return numpy_sum(_masked(a, _valid(a, True), 0.0), axis, dtype, out, keepdims, initial,
                     where)


@implements(np.nanprod, examples=lambda rng: _nan_examples(rng) + [
    ((rng.normal(size=(3, 4)),), {"axis": 0, "initial": 2.0})])
def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=_NO_VALUE,
            where=True):
    """``np.nanprod``."""
    return numpy_prod(_masked(a, _valid(a, True), 1.0), axis, dtype, out, keepdims, initial,
                      where)


@implements(np.nanmean, examples=_nan_examples)
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    """``np.nanmean``: the mean of the non-NaN entries (in ``where=``)."""
    return (sum(_masked(a, _valid(a, where), 0.0), axis=axis, keepdims=keepdims)
            / _valid_count(a, axis, keepdims, where))


def _nan_extremum(a, axis, keepdims, reduce, combine, initial, mask):
    fill = (-np.inf if reduce is max else np.inf) if initial is _NO_VALUE else initial
    result = reduce(_masked(a, _valid(a, mask), fill), axis=axis, keepdims=keepdims)
    if initial is not _NO_VALUE:
        return combine(result, initial)
    return where(_valid_count(a, axis, keepdims, mask) == 0, np.nan, result)  # all NaN


def _nan_extremum_examples(rng):
    x = np.array([[1.0, np.nan, 2.0], [0.5, -1.0, np.nan]])
    return _nan_examples(rng)[:2] + [((x,), {"initial": 0.7, "axis": 1}), (
        (x,), {"initial": -3.0, "axis": 0, "where": np.array([True, True, False])})]


@implements(np.nanmax, examples=_nan_extremum_examples)
def nanmax(a, axis=None, out=None, keepdims=False, initial=_NO_VALUE, where=True):
    """``np.nanmax``: ties split the gradient; an all-NaN slice gives NaN."""
    return _nan_extremum(a, axis, keepdims, max, maximum, initial, where)


@implements(np.nanmin, examples=_nan_extremum_examples)
def nanmin(a, axis=None, out=None, keepdims=False, initial=_NO_VALUE, where=True):
    """``np.nanmin``: ties split the gradient; an all-NaN slice gives NaN."""
    return _nan_extremum(a, axis, keepdims, min, minimum, initial, where)


@implements(np.nanvar, examples=lambda rng: _nan_examples(rng) + [
    ((np.array([[1.0, np.nan, 2.0], [0.5, -1.0, 3.0]]),), {"ddof": 1})])
def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True,
           mean=_NO_VALUE, correction=_NO_VALUE):  # noqa: A002 - numpy's keyword names
    """``np.nanvar``: the variance of the non-NaN entries, divided by ``n - ddof``."""
    ddof = _ddof(ddof, correction)
    mu = nanmean(a, axis=axis, keepdims=True, where=where) if mean is _NO_VALUE else mean
    centered = _masked(a - mu, _valid(a, where), 0.0)
    return sum(centered * centered, axis=axis, keepdims=keepdims) / (
        _valid_count(a, axis, keepdims, where) - ddof)


@implements(np.nanstd, examples=_nan_examples)
def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True,
           mean=_NO_VALUE, correction=_NO_VALUE):  # noqa: A002 - numpy's keyword names
    """``np.nanstd``: ``sqrt(nanvar)``; zero spread has derivative 0."""
    return sqrt_of_spread(nanvar(a, axis=axis, ddof=ddof, keepdims=keepdims, where=where,
                                 mean=mean, correction=correction))


@implements(np.nanargmax)
def nanargmax(a, axis=None, out=None, *, keepdims=False):
    """``np.nanargmax``: an index, so a constant."""
    from .constants import argmax

    return argmax(where(_nan_mask(a), -np.inf, a), axis=axis, keepdims=keepdims)


@implements(np.nanargmin)
def nanargmin(a, axis=None, out=None, *, keepdims=False):
    """``np.nanargmin``: an index, so a constant."""
    from .constants import argmin

    return argmin(where(_nan_mask(a), np.inf, a), axis=axis, keepdims=keepdims)


nanargmax.__gradlab_kind__ = nanargmin.__gradlab_kind__ = "constant"  # for docs/ops.md
