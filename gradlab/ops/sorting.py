"""Sorting and order statistics: sort, partition, median, quantile and their NaN forms.

``argsort``/``argpartition``/``searchsorted`` are zero-derivative primitives (they
return indices; ``vmap`` batches them). ``sort`` is ``take_along_axis(a, argsort(a))``:
the gradient of a sorted value flows to the element it came from (one of a tie,
in argsort's stable order). Quantiles interpolate linearly between two order
statistics, so their gradient is split between those two elements.

>>> import numpy as np, gradlab as gl
>>> gl.grad(lambda x: np.median(x))(np.array([3.0, 1.0, 2.0, 4.0])).tolist()
[0.5, 0.0, 0.5, 0.0]
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive, implements
from ..core.shapes import ShapeDtypeStruct, normalize_axes
from ..core.trace import Tracer
from .cumulative import batch_axis_param
from .families import Structural, broadcast_to_p
from .index import take_along_axis
from .misc import convert, dtype_of
from .shape import expand_dims, moveaxis, ravel, reshape, squeeze, transpose


def _index_shape(prim, avals, params):
    (x,) = avals
    shape = (x.size,) if params.get("axis", -1) is None else tuple(x.shape)
    return ShapeDtypeStruct(shape, np.dtype(np.intp))


def _argsort_impl(x, *, axis=-1, kind=None, order=None, stable=None):
    return np.argsort(x, axis=axis, kind=kind, stable=stable)


argsort = Primitive(
    "argsort", _argsort_impl, family=Structural, numpy=(np.argsort,),
    params=("axis", "kind", "order"), differentiable=False, batch=batch_axis_param,
    shape=_index_shape,
    examples=lambda rng: [((rng.normal(size=(5,)),), {}), ((rng.normal(size=(3, 4)),),
                                                            {"axis": 0}),
                          ((rng.normal(size=(2, 3)),), {"axis": None})],
    doc="``np.argsort``: integer indices, so no derivative.")


def _argpartition_impl(x, kth, *, axis=-1, kind="introselect", order=None):
    return np.argpartition(x, kth, axis=axis)


def _batch_argpartition(prim, args, dims, params):
    (x, kth), (d, dk) = args, dims
    if dk is not None:
        raise NotImplementedError("argpartition with a kth batched by vmap")
    return batch_axis_param(lambda a, **p: prim(a, kth, **p), (x,), (d,), params)


argpartition = Primitive(
    "argpartition", _argpartition_impl, family=Structural, numpy=(np.argpartition,),
    nin=2, params=("axis", "kind", "order"), differentiable=False,
    batch=_batch_argpartition,
    shape=lambda prim, avals, params: _index_shape(prim, avals[:1], params),
    examples=lambda rng: [((rng.normal(size=(6,)), 2), {}),
                          ((rng.normal(size=(3, 4)), 1), {"axis": 0})],
    doc="``np.argpartition``: integer indices, so no derivative.")


def _searchsorted_impl(a, v, *, side="left", sorter=None):
    return np.searchsorted(a, v, side=side, sorter=sorter)


def _batch_searchsorted(prim, args, dims, params):
    (a, v), (da, dv) = args, dims
    if params.get("sorter") is not None:
        return Structural.batch(prim, args, dims, params)
    if da is None:  # elementwise in v
        return prim(a, v, **params), dv
    # A batch of sorted rows: the insertion index is the count of entries before v.
    from .constants import count_nonzero
    from .elementwise import less, less_equal

    a = moveaxis(a, da, 0)
    v = moveaxis(v, dv, 0) if dv is not None else expand_dims(v, 0)
    per_v = np.shape(v)[1:]
    rows = reshape(a, (np.shape(a)[0],) + (1,) * len(per_v) + (-1,))
    before = (less if params.get("side", "left") == "left" else less_equal)(
        rows, expand_dims(v, -1))
    return count_nonzero(before, axis=-1), 0


searchsorted = Primitive(
    "searchsorted", _searchsorted_impl, family=Structural, numpy=(np.searchsorted,), nin=2,
    params=("side", "sorter"), differentiable=False, batch=_batch_searchsorted,
    shape=lambda prim, avals, params: ShapeDtypeStruct(tuple(avals[1].shape), np.dtype(np.intp)),
    examples=lambda rng: [((np.sort(rng.normal(size=(6,))), rng.normal(size=(4,))), {}),
                          ((np.sort(rng.normal(size=(5,))), rng.normal(size=(2, 3))),
                           {"side": "right"})],
    doc="``np.searchsorted``: insertion indices, so no derivative.")


@implements(np.digitize)
def digitize(x, bins, right=False):
    """``np.digitize`` for increasing ``bins``: ``searchsorted`` (indices: no derivative)."""
    if np.ndim(bins) == 1 and np.all(np.diff(bins) >= 0):
        return searchsorted(bins, x, side="left" if right else "right")
    raise NotImplementedError("np.digitize on traced values supports increasing 1-D bins")


digitize.__gradlab_kind__ = "constant"  # for docs/ops.md


def _sorted_examples(rng):
    x = rng.normal(size=(3, 4))
    return [((x,), {}), ((x,), {"axis": 0}), ((x,), {"axis": None})]


@implements(np.sort, examples=_sorted_examples)
def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """``np.sort``: each sorted value's gradient goes to the element it came from."""
    if axis is None:
        a, axis = ravel(a), 0
    return take_along_axis(a, argsort(a, axis=axis, kind=kind, stable=stable), axis)


@implements(np.partition, examples=lambda rng: [((rng.normal(size=(6,)), 2), {}),
                                                ((rng.normal(size=(3, 4)), (0, 3)), {})])
def partition(a, kth, axis=-1, kind="introselect", order=None):
    """``np.partition``: a gather by ``argpartition``."""
    if axis is None:
        a, axis = ravel(a), 0
    return take_along_axis(a, argpartition(a, kth, axis=axis), axis)


# --- quantiles ----------------------------------------------------------------------
def _round_positions(pos, method):
    """numpy's fractional position ``q * (n - 1)`` (method ``linear``), rounded per ``method``."""
    from .elementwise import ceil, floor, round

    if method == "linear":
        return pos
    if method == "lower":
        return floor(pos)
    if method == "higher":
        return ceil(pos)
    if method == "nearest":
        return round(pos)  # half to even, as numpy
    if method == "midpoint":
        return (floor(pos) + ceil(pos)) / 2
    raise NotImplementedError(f"quantile method={method!r}: gradlab supports linear, lower, "
                              "higher, nearest and midpoint")


def _order_statistic(s, index):
    """``s[..., index]``: ``index`` is an int, or an int array of shape ``s.shape[:-1]``."""
    if np.ndim(index) == 0 and not isinstance(index, Tracer):
        return s[..., int(index)]
    if np.shape(index) != np.shape(s)[:-1]:
        index = broadcast_to_p(index, shape=np.shape(s)[:-1])
    return squeeze(take_along_axis(s, expand_dims(index, -1), -1), -1)


def _interpolate(s, pos):
    """Linear interpolation between the order statistics of sorted ``s`` around ``pos``."""
    from .elementwise import floor, maximum, minimum
    from .misc import cast_exact

    n = np.shape(s)[-1]
    if np.ndim(pos) == 0 and not isinstance(pos, Tracer):  # one position for every slice
        pos = float(pos)
        lo = int(min(max(np.floor(pos), 0), n - 1))
        low, weight = s[..., lo], pos - lo
        return low if weight == 0 else low + (s[..., min(lo + 1, n - 1)] - low) * weight
    lo = minimum(maximum(floor(pos), 0.0), n - 1.0)  # per-slice positions (the NaN forms)
    hi = minimum(lo + 1.0, n - 1.0)
    low = _order_statistic(s, cast_exact(lo, dtype=np.intp))
    high = _order_statistic(s, cast_exact(hi, dtype=np.intp))
    return low + (high - low) * convert(pos - lo, dtype_of(low))


def _quantile(a, q, axis, method, keepdims, ignore_nan):
    from .constants import count_nonzero, isnan, logical_not
    from .shape import stack

    if isinstance(q, (list, tuple)) and any(isinstance(v, Tracer) for v in q):
        q = stack(q)
    if not isinstance(q, Tracer):  # a traced q is differentiable: d/dq = (n-1)(high-low)
        q = np.asarray(q, dtype=np.float64)
        if np.any(q < 0) or np.any(q > 1):
            raise ValueError("Quantiles must be in the range [0, 1]")
    axes = normalize_axes(axis, np.ndim(a))
    kept = tuple(1 if i in axes else n for i, n in enumerate(np.shape(a)))
    rest = [i for i in range(np.ndim(a)) if i not in axes]
    a = transpose(a, rest + list(axes))  # the reduced axes, last and merged into one
    a = reshape(a, np.shape(a)[:len(rest)] + (-1,))
    s = sort(a, axis=-1)  # NaNs sort to the end, after the valid entries
    last = np.shape(a)[-1] - 1
    if ignore_nan:
        last = count_nonzero(logical_not(isnan(a)), axis=-1) - 1
    levels = [q] if np.ndim(q) == 0 else list(reshape(q, (-1,)))
    outs = [_interpolate(s, _round_positions(last * qi, method)) for qi in levels]
    if not ignore_nan:  # as numpy: a NaN anywhere in a slice makes its quantiles NaN
        from .constants import any_
        from .elementwise import where

        has_nan = any_(isnan(a), axis=-1)
        outs = [where(has_nan, np.nan, o) for o in outs]
    out = outs[0] if np.ndim(q) == 0 else reshape(stack(outs, axis=0), np.shape(q) + np.shape(
        outs[0]))
    if keepdims:
        out = reshape(out, np.shape(q) + kept)
    return out


def _q_examples(rng):
    x = rng.normal(size=(4, 5))
    return [((x, 0.3), {}), ((x, [0.1, 0.45]), {"axis": 1}),
            ((x, 0.75), {"axis": 0, "keepdims": True}), ((x, 0.5), {"method": "lower"}),
            ((x, [0.3, 0.6]), {"axis": 1, "method": "nearest"}),
            ((x, 0.4), {"axis": 1, "method": "midpoint"})]


@implements(np.quantile, examples=_q_examples)
def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None):
    """``np.quantile`` (methods linear/lower/higher/nearest/midpoint; constant ``q``)."""
    if weights is not None:
        raise NotImplementedError("np.quantile(weights=...) on traced values")
    return _quantile(a, q, axis, method, keepdims, ignore_nan=False)


def _over_100(q):
    return q / 100.0 if isinstance(q, Tracer) else np.asarray(q, dtype=np.float64) / 100


@implements(np.percentile, examples=lambda rng: [((rng.normal(size=(4, 5)), 30.0), {})])
def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None):
    """``np.percentile``: ``quantile(a, q / 100)``."""
    return quantile(a, _over_100(q), axis, method=method, keepdims=keepdims, weights=weights)


@implements(np.median, examples=lambda rng: [((rng.normal(size=(4, 5)),), {}),
                                             ((rng.normal(size=(4, 5)),), {"axis": -1})])
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``np.median``: the mean of the middle one or two order statistics."""
    return quantile(a, 0.5, axis, keepdims=keepdims)


_NAN_X = np.array([[1.0, np.nan, 3.0, -2.0], [0.5, 2.0, np.nan, np.nan], [4.0, 1.0, 2.5, 0.2]])


@implements(np.nanquantile, examples=lambda rng: [((_NAN_X, 0.4), {"axis": 1}),
                                                  ((_NAN_X, [0.2, 0.9]), {"axis": 1})])
def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False, *, weights=None):
    """``np.nanquantile``: order statistics of the non-NaN entries of each slice."""
    return _quantile(a, q, axis, method, keepdims, ignore_nan=True)


@implements(np.nanpercentile, examples=lambda rng: [((_NAN_X, 60.0), {"axis": 1})])
def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                  keepdims=False, *, weights=None):
    """``np.nanpercentile``: ``nanquantile(a, q / 100)``."""
    return nanquantile(a, _over_100(q), axis, method=method, keepdims=keepdims)


@implements(np.nanmedian, examples=lambda rng: [((_NAN_X,), {"axis": 1})])
def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``np.nanmedian``."""
    return nanquantile(a, 0.5, axis, keepdims=keepdims)
