"""Explicit, splittable random keys: no hidden global state, same key -> same numbers.

A key is a small ``uint32`` array of shape ``(2,)``. Every sampler takes a key and is a
pure function of it; to draw again, derive new keys with ``split`` (several
independent children) or ``fold_in`` (a child for a step number or a layer index).
Keys are derived with numpy's ``SeedSequence`` hashing, so children of one key are
statistically independent of each other and of their parent.

>>> import gradlab as gl
>>> k = gl.random.key(0)
>>> k_init, k_data = gl.random.split(k)
>>> x = gl.random.normal(k_data, (2, 3))
>>> bool((x == gl.random.normal(k_data, (2, 3))).all())  # same key, same numbers
True
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ._types import Array, DTypeLike, Key, Shape
from .core.primitive import Primitive
from .core.shapes import ShapeDtypeStruct
from .core.trace import Tracer
from .ops.families import Structural

__all__ = ["key", "PRNGKey", "split", "fold_in", "normal", "uniform", "bernoulli", "permutation",
           "randint", "categorical", "is_key"]

# Distinct tags so that split, fold_in and sampling never derive the same child.
_SPLIT, _FOLD, _SAMPLE = 0x5917, 0xF01D, 0x5A39


def _per_key(k, *, fn, args, kwargs):
    return fn(k, *args, **kwargs)


def _batch_per_key(prim, vals, dims, params):
    """A batch of keys: one call per key, stacked (each key's numbers are its own)."""
    from .ops.shape import moveaxis, stack

    keys = moveaxis(vals[0], dims[0], 0)
    return stack([prim(keys[i], **params) for i in range(keys.shape[0])]), 0


def _normal(k, shape):
    return normal(k, shape)


def _per_key_shape(prim, avals, params):
    out = params["fn"](np.zeros(2, np.uint32), *params["args"], **params["kwargs"])
    return ShapeDtypeStruct(np.shape(out), np.result_type(out))


# A sampler applied to a traced key (under vmap: a batch of keys). Random numbers carry
# no derivative; the primitive exists so that vmap maps a sampler over its keys.
per_key = Primitive(
    "random_per_key", _per_key, nin=1, family=Structural, differentiable=False,
    batch=_batch_per_key, shape=_per_key_shape,
    examples=lambda rng: [((np.array([0, 7], np.uint32),),
                           {"fn": _normal, "args": ((2, 3),), "kwargs": {}})])


def _maps_over_keys(fn):
    """``fn(k, ...)`` as is for a concrete key; through ``per_key`` for a traced one."""

    @functools.wraps(fn)
    def sampler(k, *args, **kwargs):
        if isinstance(k, Tracer):
            return per_key(k, fn=fn, args=args, kwargs=kwargs)
        return fn(k, *args, **kwargs)

    return sampler


def key(seed: int) -> np.ndarray:
    """A key from a non-negative integer seed (up to 64 bits).

    >>> key(42).dtype, key(42).shape
    (dtype('uint32'), (2,))
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"gradlab.random.key(seed) needs an int seed, got {type(seed).__name__}")
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"gradlab.random.key(seed): seed must be in [0, 2**64), got {seed}")
    return np.array([seed >> 32, seed & 0xFFFFFFFF], dtype=np.uint32)



PRNGKey = key  # JAX's name: ``gl.random.PRNGKey(0)`` is ``gl.random.key(0)``

def is_key(k: Any) -> bool:
    """Whether ``k`` looks like a key made by ``key``/``split``/``fold_in``."""
    return isinstance(k, np.ndarray) and k.dtype == np.uint32 and k.shape == (2,)


def _check(k, fn: str) -> list[int]:
    if not is_key(k):
        got = f"{type(k).__name__}" + (f" of dtype {k.dtype} and shape {k.shape}"
                                        if isinstance(k, np.ndarray) else f" {k!r}")
        raise TypeError(f"gradlab.random.{fn} expects a key from gradlab.random.key(seed), "
                        f"split or fold_in (a uint32 array of shape (2,)); got {got}")
    return [int(k[0]), int(k[1])]


@_maps_over_keys
def split(k: Key, num: int = 2) -> np.ndarray:
    """``num`` independent child keys, as an array of shape ``(num, 2)``.

    >>> k1, k2 = split(key(0))
    >>> bool((k1 != k2).any())
    True
    """
    words = _check(k, "split")
    if int(num) < 1:
        raise ValueError(f"gradlab.random.split: num must be >= 1, got {num}")
    state = np.random.SeedSequence(words + [_SPLIT]).generate_state(2 * int(num), np.uint32)
    return state.reshape(int(num), 2)


@_maps_over_keys
def fold_in(k: Key, data: int) -> np.ndarray:
    """A child key determined by ``k`` and the integer ``data`` (a step, a layer index).

    >>> bool((fold_in(key(0), 1) == fold_in(key(0), 1)).all())
    True
    """
    words = _check(k, "fold_in")
    data = int(data)
    if not 0 <= data < 2**64:
        raise ValueError(f"gradlab.random.fold_in: data must be in [0, 2**64), got {data}")
    entropy = words + [_FOLD, data >> 32, data & 0xFFFFFFFF]
    return np.random.SeedSequence(entropy).generate_state(2, np.uint32)


def _generator(k, fn: str) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(_check(k, fn) + [_SAMPLE])))


def _shape(shape) -> tuple:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)


@_maps_over_keys
def normal(k: Key, shape: Shape = (), dtype: DTypeLike = np.float64) -> np.ndarray:
    """Standard normal samples of ``shape`` (float32 or float64).

    >>> normal(key(0), (3,)).shape
    (3,)
    """
    return _generator(k, "normal").standard_normal(_shape(shape), dtype=np.dtype(dtype))  # type: ignore[arg-type]


@_maps_over_keys
def uniform(k: Key, shape: Shape = (), dtype: DTypeLike = np.float64, minval: float = 0.0,
            maxval: float = 1.0) -> np.ndarray:
    """Uniform samples in ``[minval, maxval)``.

    >>> bool(((u := uniform(key(1), (100,))) >= 0).all() and (u < 1).all())
    True
    """
    u = _generator(k, "uniform").random(_shape(shape), dtype=np.dtype(dtype))  # type: ignore[arg-type]
    return (u * (maxval - minval) + minval).astype(dtype, copy=False)


@_maps_over_keys
def bernoulli(k: Key, p: float | Array = 0.5, shape: Shape | None = None) -> np.ndarray:
    """Boolean samples that are True with probability ``p`` (shape defaults to p's).

    >>> bernoulli(key(0), 0.0, (4,)).tolist()
    [False, False, False, False]
    """
    p = np.asarray(p, dtype=np.float64)
    shape = p.shape if shape is None else _shape(shape)
    return _generator(k, "bernoulli").random(shape) < p


@_maps_over_keys
def randint(k: Key, shape: Shape, minval: int, maxval: int) -> np.ndarray:
    """Integers in ``[minval, maxval)``.

    >>> int(randint(key(0), (), 3, 4))
    3
    """
    return _generator(k, "randint").integers(minval, maxval, _shape(shape))


@_maps_over_keys
def permutation(k: Key, x: int | Array, axis: int = 0) -> np.ndarray:
    """A permutation of ``range(x)`` (int ``x``) or of ``x``'s entries along ``axis``.

    >>> sorted(permutation(key(0), 5).tolist())
    [0, 1, 2, 3, 4]
    """
    gen = _generator(k, "permutation")
    if isinstance(x, (int, np.integer)):
        return gen.permutation(int(x))
    x = np.asarray(x)
    return np.take(x, gen.permutation(x.shape[axis]), axis=axis)


@_maps_over_keys
def categorical(k: Key, logits: Array, axis: int = -1) -> np.ndarray:
    """Samples of class indices with probabilities ``softmax(logits)`` along ``axis``.

    Uses the Gumbel-max trick, so it is stable for any logits (even 1e4).

    >>> int(categorical(key(0), [0.0, 1e4, 0.0]))
    1
    """
    logits = np.asarray(logits, dtype=np.float64)
    u = _generator(k, "categorical").random(logits.shape)
    gumbel = -np.log(-np.log(np.clip(u, 1e-300, 1.0)) + 1e-300)
    return np.argmax(logits + gumbel, axis=axis)
