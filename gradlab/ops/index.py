"""Indexing: gather forward, scatter-add backward; functional updates via ``x.at[idx]``."""

from __future__ import annotations

import numpy as np

from ..core.errors import user_location
from ..core.families import Structural, unbroadcast
from ..core.primitive import Primitive
from ..core.trace import Tracer


def _zeros_like(x):
    return np.zeros(np.shape(x), np.result_type(x.dtype if hasattr(x, "dtype") else x))




def _getitem_impl(x, idx):
    return x[idx]


def _index_add_impl(x, v, idx):
    out = np.array(x, copy=True)
    np.add.at(out, idx, v)
    return out


def _index_set_impl(x, v, idx):
    out = np.array(x, copy=True)
    out[idx] = v
    return out


getitem_p = Primitive(
    "getitem", lambda x, *, idx: _getitem_impl(x, idx), family=Structural, params=("idx",),
    vjp=lambda g, ans, x, *, idx: index_add_p(_zeros_like(x), g, idx=idx),
    jvp=lambda t, ans, x, *, idx: getitem_p(t, idx=idx),
    examples=lambda rng: [((rng.normal(size=(4, 3)),), {"idx": (slice(1, 3), 0)}),
                          ((rng.normal(size=(4, 3)),), {"idx": (np.array([0, 2, 0]),)}),
                          ((rng.normal(size=(4, 3)),), {"idx": (Ellipsis, None, 1)})])

# x with v added at idx (repeated indices accumulate, like np.add.at).
index_add_p = Primitive(
    "index_add", lambda x, v, *, idx: _index_add_impl(x, v, idx), family=Structural,
    params=("idx",),
    vjp=(lambda g, ans, x, v, *, idx: g,
         lambda g, ans, x, v, *, idx: unbroadcast(getitem_p(g, idx=idx), np.shape(v))),
    jvp=(lambda t, ans, x, v, *, idx: t,
         lambda t, ans, x, v, *, idx: index_add_p(_zeros_like(ans), t, idx=idx)),
    examples=lambda rng: [((rng.normal(size=(4, 3)), rng.normal(size=(2, 3))),
                           {"idx": (np.array([0, 0]),)})])

# x with the entries at idx replaced by v.
index_set_p = Primitive(
    "index_set", lambda x, v, *, idx: _index_set_impl(x, v, idx), family=Structural,
    params=("idx",),
    vjp=(lambda g, ans, x, v, *, idx: index_set_p(g, 0.0, idx=idx),
         lambda g, ans, x, v, *, idx: unbroadcast(getitem_p(g, idx=idx), np.shape(v))),
    jvp=(lambda t, ans, x, v, *, idx: index_set_p(t, 0.0, idx=idx),
         lambda t, ans, x, v, *, idx: index_set_p(_zeros_like(ans), t, idx=idx)),
    examples=lambda rng: [((rng.normal(size=(4, 3)), rng.normal(size=(3,))),
                           {"idx": (slice(1, 2),)})])


def _check_index(idx):
    parts = idx if isinstance(idx, tuple) else (idx,)
    for p in parts:
        if isinstance(p, Tracer):
            raise TypeError(
                f"indexing with a traced array at {user_location()}: indices carry no "
                "gradient; compute them outside the transform or from integer ops "
                "(argmax, argsort) whose results are plain arrays")
    return idx


def getitem(x, idx):
    """``x[idx]`` for basic and advanced indices (gather; its VJP scatter-adds)."""
    return getitem_p(x, idx=_check_index(idx))


class _IndexUpdate:
    """``x.at[idx]``: functional updates that return a new array (JAX's spelling)."""

    __slots__ = ("x", "idx")

    def __init__(self, x, idx):
        self.x, self.idx = x, _check_index(idx)

    def set(self, v):
        """A copy of ``x`` with ``x[idx] = v``."""
        return index_set_p(self.x, v, idx=self.idx)

    def add(self, v):
        """A copy of ``x`` with ``v`` added at ``idx`` (repeated indices accumulate)."""
        return index_add_p(self.x, v, idx=self.idx)

    def multiply(self, v):
        """A copy of ``x`` with ``x[idx] *= v``."""
        return index_set_p(self.x, getitem(self.x, self.idx) * v, idx=self.idx)

    def get(self):
        """``x[idx]``."""
        return getitem(self.x, self.idx)


class At:
    """The ``.at`` property: ``x.at[idx].set(v)`` / ``.add(v)`` / ``.multiply(v)``."""

    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, idx):
        return _IndexUpdate(self.x, idx)


def at(x):
    """``gl.at(x)[idx].set(v)``: functional updates on plain or traced arrays alike.

    >>> import numpy as np, gradlab as gl
    >>> gl.at(np.zeros(3))[1].set(5.0).tolist()
    [0.0, 5.0, 0.0]
    """
    return At(x)
