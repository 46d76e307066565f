"""Batching rules for ``x[idx]`` and ``x.at[idx]``: where vmap's batch axis goes.

numpy places the dimensions of advanced (array) indices at the position of the
first one when they are adjacent in the index, and first otherwise; integers count
as advanced when any array is present. Batching adds one index for the batch axis,
which can change that placement, so each rule works out where the batch axis lands
and, where numpy would put it elsewhere, transposes once.

Two cases:
* the index arrays are unbatched: prepend ``slice(None)`` for the batch axis of x;
* some index array is batched: make every index advanced, give batched arrays the
  batch as their leading axis, and index x's batch axis with ``arange(B)`` (when x
  is batched) so that example b reads only its own row.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import ConcretizationError, user_location
from .families import broadcast_to_p
from .index import Slot, fill, getitem_p
from .shape import expand_dims, moveaxis, reshape, transpose


def _as_tuple(idx):
    return idx if type(idx) is tuple else (idx,)


def _is_array(e):
    return type(e) is Slot or isinstance(e, np.ndarray)


def _advanced(idx, slot_shapes):
    """Positions of the advanced entries, their broadcast shape, and whether adjacent."""
    if not any(_is_array(e) for e in idx):
        return [], (), True
    pos, shapes = [], []
    for i, e in enumerate(idx):
        if type(e) is Slot:
            pos.append(i)
            shapes.append(slot_shapes[e.k])
        elif isinstance(e, np.ndarray):
            pos.append(i)
            shapes.append((int(np.count_nonzero(e)),) if e.dtype == bool else e.shape)
        elif isinstance(e, (int, np.integer)):
            pos.append(i)
            shapes.append(())
    adjacent = pos == list(range(pos[0], pos[0] + len(pos)))
    return pos, np.broadcast_shapes(*shapes), adjacent


def _batch_size(args, dims):
    return next(np.shape(a)[d] for a, d in zip(args, dims) if d is not None)


def _per_example_shape(a, d):
    shape = np.shape(a)
    return shape if d is None else shape[:d] + shape[d + 1:]


def _expand_ellipsis(idx, ndim):
    if not any(e is Ellipsis for e in idx):
        return idx
    used = 0
    for e in idx:
        if isinstance(e, np.ndarray) and e.dtype == bool:
            used += e.ndim
        elif e is not None and e is not Ellipsis:
            used += 1
    out = []
    for e in idx:
        out.extend([slice(None)] * (ndim - used) if e is Ellipsis else [e])
    return tuple(out)


class _Plan:
    """A batched index for the general case (some index array is batched)."""

    def __init__(self, idx, per_x, arrays, adims, size, x_batched):
        idx = _expand_ellipsis(idx, len(per_x))
        entries, shape, ax = [], list(per_x), 0
        for e in idx:
            if e is None:  # a new unit axis: insert it into x, index it with a slice
                shape.insert(ax, 1)
                entries.append(slice(None))
                ax += 1
            elif isinstance(e, np.ndarray) and e.dtype == bool:
                entries.extend(np.nonzero(e))
                ax += e.ndim
            else:
                entries.append(e)
                ax += 1
        self.x_shape = tuple(shape) if len(shape) != len(per_x) else None
        slot_shapes = [_per_example_shape(a, d) for a, d in zip(arrays, adims)]
        pos, S, adjacent = _advanced(tuple(entries), slot_shapes)
        self.arrays, new = [], []
        for e in entries:
            if type(e) is Slot:
                a, d = arrays[e.k], adims[e.k]
                if np.result_type(a.dtype) == np.bool_:
                    raise ConcretizationError(
                        f"a boolean mask index batched by vmap at {user_location()}: each "
                        "example would select a different number of elements. Use "
                        "np.where(mask, x, 0) instead of x[mask].")
                if d is not None:
                    a = moveaxis(a, d, 0)
                    per = np.shape(a)[1:]
                    a = reshape(a, (size,) + (1,) * (len(S) - len(per)) + per)
                e = Slot(len(self.arrays))
                self.arrays.append(a)
            new.append(e)
        self.perm_head, p = None, pos[0]
        if x_batched:
            new.insert(0, np.arange(size).reshape((size,) + (1,) * len(S)))
            self.out_dim = 0
            if adjacent and p > 0:  # numpy moved the block to the front: put it back
                n = len(S)
                self.perm_head = [0] + [1 + n + i for i in range(p)] + [1 + i for i in range(n)]
        else:
            self.out_dim = p if adjacent else 0
        self.idx = tuple(new)

    def perm(self, ndim):
        head = self.perm_head
        return head + list(range(len(head), ndim))


def batch_gather(prim, args, dims, params):
    """``x[idx]`` over a batch of x and/or of the traced index arrays."""
    x, arrays, xd, adims = args[0], args[1:], dims[0], dims[1:]
    idx = _as_tuple(params["idx"])
    if all(d is None for d in adims):
        x = moveaxis(x, xd, 0)
        _, S, adjacent = _advanced(idx, [np.shape(a) for a in arrays])
        out = getitem_p(x, *arrays, idx=(slice(None),) + idx)
        return out, (0 if adjacent else len(S))
    size = _batch_size(args, dims)
    if xd is not None:
        x = moveaxis(x, xd, 0)
    per_x = _per_example_shape(x, 0 if xd is not None else None)
    plan = _Plan(idx, per_x, arrays, adims, size, xd is not None)
    if plan.x_shape is not None:
        x = reshape(x, ((size,) if xd is not None else ()) + plan.x_shape)
    out = getitem_p(x, *plan.arrays, idx=plan.idx)
    if plan.perm_head is not None:
        out = transpose(out, plan.perm(np.ndim(out)))
    return out, plan.out_dim


def _gather_shape(per_x, idx, arrays, adims):
    """The per-example shape of ``x[idx]`` (indexing a zero-stride stand-in)."""
    dummies = [np.zeros(_per_example_shape(a, d), np.intp) for a, d in zip(arrays, adims)]
    stand_in = np.broadcast_to(np.zeros((), np.int8), per_x)
    return np.shape(stand_in[fill(idx, dummies)])


def _batched_to(v, vd, size, shape):
    """``v`` (batched on ``vd`` or not) as a ``(size,) + shape`` batch."""
    if vd is None:
        v = expand_dims(v, 0) if np.ndim(v) else reshape(v, (1,))
        per = np.shape(v)[1:]
    else:
        v = moveaxis(v, vd, 0)
        per = np.shape(v)[1:]
    v = reshape(v, (np.shape(v)[0],) + (1,) * (len(shape) - len(per)) + per)
    target = (size,) + tuple(shape)
    return v if np.shape(v) == target else broadcast_to_p(v, shape=target)


def batch_scatter(prim, args, dims, params):
    """``x.at[idx].add/set(v)`` over a batch of x, v and/or the index arrays."""
    x, v, arrays = args[0], args[1], args[2:]
    xd, vd, adims = dims[0], dims[1], dims[2:]
    idx = _as_tuple(params["idx"])
    size = _batch_size(args, dims)
    per_x = _per_example_shape(x, xd)
    x = _batched_to(x, xd, size, per_x)
    gathered = _gather_shape(per_x, idx, arrays, adims)
    v = _batched_to(v, vd, size, gathered)
    if all(d is None for d in adims):
        _, S, adjacent = _advanced(idx, [np.shape(a) for a in arrays])
        if not adjacent:  # numpy's gather layout is (S, batch, rest): match it
            v = moveaxis(v, 0, len(S))
        return prim(x, v, *arrays, idx=(slice(None),) + idx), 0
    plan = _Plan(idx, per_x, arrays, adims, size, True)
    if plan.x_shape is not None:
        x = reshape(x, (size,) + plan.x_shape)
    if plan.perm_head is not None:
        v = transpose(v, list(np.argsort(plan.perm(np.ndim(v)))))
    out = prim(x, v, *plan.arrays, idx=plan.idx)
    if plan.x_shape is not None:
        out = reshape(out, (size,) + per_x)
    return out, 0
