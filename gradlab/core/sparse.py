"""Indexed cotangents: the backward walk's O(size of the index) cotangent of ``x[idx]``.

Reading a traced array element by element (``for i in range(n): s = s + x[i] * w[i]``)
gives ``x`` n cotangents, each zero but at one index. As dense arrays, n of them
cost O(n^2) to build and add. At the lowest level the walk receives them as
``IndexedCotangent``s instead (zeros with ``values`` added at ``idx``) and scatters
them into one buffer it allocated itself, so the backward pass stays O(n).

Only the walk of ``ReverseTrace`` ever sees one: the rule that makes them
(``PerOperand.sparse``) is consulted by the walk alone, which densifies a node's
cotangent before any VJP rule reads it and an input's before returning it. Above
the lowest level cotangents are tracers, and the rules build them from gradlab ops
(so that they can be differentiated again): no indexed cotangent is made there.

>>> import numpy as np
>>> IndexedCotangent((3,), np.dtype(float), (np.array([0, 0, 2]),),
...                  np.array([1.0, 2.0, 5.0])).dense().tolist()
[3.0, 0.0, 5.0]
"""

from __future__ import annotations

import numpy as np


def is_basic_index(idx) -> bool:
    """Whether ``idx`` is a basic index (integer scalars, slices, ``None``, ``...``): it
    selects each element at most once, so ``buf[idx] += v`` adds every value (no
    ``np.add.at``, several times slower for one element)."""
    parts = idx if type(idx) is tuple else (idx,)
    return all(p is None or p is Ellipsis or type(p) in (int, slice)
               or isinstance(p, np.integer) for p in parts)


class IndexedCotangent:
    """``zeros(shape, dtype)`` with ``values`` added at ``idx`` (numpy indexing; repeated
    integer indices accumulate, as with ``np.add.at``). ``values`` already has ``dtype``
    where it is real, so that adding it matches adding the dense array bit for bit."""

    __slots__ = ("shape", "dtype", "idx", "values")

    def __init__(self, shape, dtype, idx, values):
        self.shape, self.dtype, self.idx, self.values = shape, dtype, idx, values

    def add_into(self, buf: np.ndarray) -> None:
        """Add ``values`` at ``idx`` into ``buf`` (shaped ``shape``) in place."""
        if is_basic_index(self.idx):
            buf[self.idx] += self.values
        else:
            np.add.at(buf, self.idx, self.values)

    def dense(self) -> np.ndarray:
        """The cotangent as a fresh array."""
        buf = np.zeros(self.shape, self.dtype)
        self.add_into(buf)
        return buf

    def __repr__(self):
        return f"IndexedCotangent(shape={self.shape}, dtype={self.dtype}, idx={self.idx!r})"


class CotangentSum:
    """The walk's accumulation once an indexed cotangent has appeared in it.

    ``owned`` maps ``id(buf)`` to each buffer the walk allocated itself and has not
    handed out: only those are written in place. A buffer stops being owned when it
    leaves its slot: read as a node's ``g`` (rules may pass ``g`` itself on to several
    parents), returned as an input's cotangent, or replaced by a sum. Holding the buffer
    in the dict keeps its id from being reused by another array while it is owned.
    """

    __slots__ = ("owned",)

    def __init__(self):
        self.owned: dict[int, np.ndarray] = {}

    def add(self, prev, ct):
        """The slot's new content: ``prev`` (the slot's, maybe ``None``) plus ``ct``."""
        if prev is None:
            return ct
        owned = self.owned
        if type(ct) is IndexedCotangent:
            if type(prev) is IndexedCotangent:
                buf = np.zeros(ct.shape, np.result_type(prev.dtype, ct.dtype))
                prev.add_into(buf)
            elif owned.get(id(prev)) is prev:
                buf = prev
                if ct.dtype != buf.dtype and np.result_type(buf.dtype, ct.dtype) != buf.dtype:
                    del owned[id(buf)]  # promotes: a new buffer of the wider dtype
                    buf = buf.astype(np.result_type(buf.dtype, ct.dtype))
            elif type(prev) is np.ndarray and prev.shape == ct.shape:
                buf = prev.astype(np.result_type(prev.dtype, ct.dtype), copy=True)
            else:  # a tracer or a broadcast shape: numpy's (or gradlab's) own add
                return prev + ct.dense()
            ct.add_into(buf)
            owned[id(buf)] = buf
            return buf
        if type(prev) is IndexedCotangent:
            if type(ct) is np.ndarray and ct.shape == prev.shape:
                buf = ct.astype(np.result_type(ct.dtype, prev.dtype), copy=True)
                prev.add_into(buf)
                owned[id(buf)] = buf
                return buf
            return prev.dense() + ct
        if owned:
            owned.pop(id(prev), None)  # replaced by the sum below (which is not owned)
        return prev + ct

    def take(self, g):
        """A slot's content handed out (to the rules, or as an input's cotangent): dense,
        and no longer the walk's to write into."""
        if type(g) is IndexedCotangent:
            return g.dense()
        if self.owned:
            self.owned.pop(id(g), None)
        return g
