"""Parameters: nested dicts of arrays, initialisers, frozen and tied entries, save/load.

A model's parameters are a plain pytree (nested dicts, lists, tuples of arrays).
Two markers change how an entry takes part in training:

- ``frozen(value)``: a constant. It has no leaves, so ``grad`` never differentiates it
  and optimizers never touch it.
- ``tied("path", "to", "entry")``: the same array as another entry. It has no leaves of
  its own; ``resolve(params)`` substitutes the entry it points to, so both uses add
  their gradients into that one entry.

Call ``resolve(params)`` at the top of a loss function (``gl.train`` does it for
you) to turn the markers into arrays.

>>> import numpy as np, gradlab as gl
>>> params = {"emb": np.eye(3), "out": gl.nn.tied("emb"), "scale": gl.nn.frozen(2.0)}
>>> def loss(p):
...     p = gl.nn.resolve(p)
...     return np.sum(p["emb"] * p["out"] * p["scale"])
>>> g = gl.grad(loss)(params)
>>> g["emb"].tolist() == (4 * np.eye(3)).tolist(), gl.nn.count_params(params)
(True, 10)
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import random as _random
from .._types import Array, DTypeLike, Key, PyTree, Shape
from ..core.tree import register_pytree, tree_flatten

__all__ = ["Frozen", "Tied", "frozen", "tied", "resolve", "is_trainable", "count_params",
           "glorot", "he", "normal", "zeros", "ones", "init_linear", "init_conv2d",
           "init_embedding", "init_layer_norm", "init_mha", "init_gru", "init_lstm", "save",
           "load"]


class _Held:
    """A constant kept in a tree structure; equal to another holding an equal array."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        if not isinstance(other, _Held):
            return NotImplemented
        a, b = self.value, other.value
        return a is b or (a.shape == b.shape and a.dtype == b.dtype and bool(np.all(a == b)))

    def __hash__(self):
        return hash((self.value.shape, self.value.dtype.str))

    def __repr__(self):
        return f"frozen{self.value.shape}"


class Frozen:
    """A parameter that is never differentiated or updated (see ``frozen``)."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = np.asarray(value)

    shape = property(lambda self: self.value.shape)
    dtype = property(lambda self: self.value.dtype)

    def __array__(self, dtype=None, copy=None):
        return self.value if dtype is None else self.value.astype(dtype)

    def __repr__(self):
        return f"frozen({self.value!r})"


class Tied:
    """A reference to another entry of the same parameter tree (see ``tied``)."""

    __slots__ = ("path",)

    def __init__(self, path: tuple):
        self.path = tuple(path)

    def __eq__(self, other):
        return isinstance(other, Tied) and other.path == self.path

    def __hash__(self):
        return hash(self.path)

    def __repr__(self):
        return f"tied{self.path!r}"


register_pytree(Frozen, lambda f: ((), _Held(f.value)), lambda aux, _: Frozen(aux.value))
register_pytree(Tied, lambda t: ((), t.path), lambda aux, _: Tied(aux))


def frozen(value: Any) -> Frozen:
    """Mark ``value`` as a constant parameter: no gradient, no optimizer update.

    >>> import numpy as np, gradlab as gl
    >>> gl.grad(lambda p: np.sum(gl.nn.resolve(p)["w"] * p["b"]))(
    ...     {"w": gl.nn.frozen(np.ones(2)), "b": np.ones(2)})["b"].tolist()
    [1.0, 1.0]
    """
    return value if isinstance(value, Frozen) else Frozen(value)


def tied(*path: str | int) -> Tied:
    """A parameter that is the entry at ``path`` of the same tree (``tied("enc", "w")``).

    A single string with slashes also works: ``tied("enc/w")``.

    >>> tied("enc/w")
    tied('enc', 'w')
    """
    if len(path) == 1 and isinstance(path[0], str) and "/" in path[0]:
        path = tuple(path[0].split("/"))
    if not path:
        raise ValueError("tied() needs the path of the entry it shares, e.g. tied('emb')")
    return Tied(path)


def is_trainable(x: Any) -> bool:
    """Whether a leaf position is trained (not ``None``, ``frozen`` or ``tied``)."""
    return not (x is None or isinstance(x, (Frozen, Tied)))


def _lookup(root, path, seen):
    node = root
    for part in path:
        try:
            node = node[part if not isinstance(node, (list, tuple)) else int(part)]
        except (KeyError, IndexError, TypeError, ValueError):
            raise KeyError(f"tied{path!r} points to no entry of the parameter tree "
                           f"(missing {part!r})") from None
    if isinstance(node, Tied):
        if node.path in seen:
            raise ValueError(f"tied parameters form a cycle: {' -> '.join(map(str, seen))}")
        return _lookup(root, node.path, seen + (node.path,))
    return node.value if isinstance(node, Frozen) else node


def resolve(params: PyTree) -> PyTree:
    """``params`` with ``frozen`` entries as their arrays and ``tied`` ones as their target.

    >>> import gradlab as gl
    >>> gl.nn.resolve({"a": 1.0, "b": gl.nn.tied("a"), "c": gl.nn.frozen(3.0)})["b"]
    1.0
    """

    def walk(node):
        if isinstance(node, Frozen):
            return node.value
        if isinstance(node, Tied):
            return _lookup(params, node.path, (node.path,))
        if type(node) is dict:
            return {k: walk(v) for k, v in node.items()}
        if type(node) in (list, tuple):
            return type(node)(walk(v) for v in node)
        return node

    return walk(params)


def count_params(params: PyTree, trainable_only: bool = False) -> int:
    """The number of scalars in ``params`` (frozen ones too unless ``trainable_only``).

    ``tied`` entries share storage and count zero.

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.count_params({"w": np.ones((3, 2)), "b": gl.nn.frozen(np.ones(2))}, True)
    6
    """
    leaves, _ = tree_flatten(params, is_leaf=lambda x: isinstance(x, (Frozen, Tied)))
    total = 0
    for leaf in leaves:
        if isinstance(leaf, Tied) or (trainable_only and isinstance(leaf, Frozen)):
            continue
        total += int(np.size(leaf.value if isinstance(leaf, Frozen) else leaf))
    return total


# --- initialisers ---------------------------------------------------------------------


def _fans(shape):
    """Fan-in and fan-out: ``(in, out)`` for a matrix, ``(out, in, *kernel)`` beyond."""
    if len(shape) < 2:
        n = shape[0] if shape else 1
        return n, n
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def glorot(key: Key, shape: tuple[int, ...], dtype: DTypeLike = np.float64,
           distribution: str = "uniform") -> np.ndarray:
    """Glorot/Xavier: variance ``2 / (fan_in + fan_out)``, uniform or normal.

    >>> import gradlab as gl
    >>> w = gl.nn.glorot(gl.random.key(0), (64, 32))
    >>> bool(abs(w).max() <= (6 / 96) ** 0.5)
    True
    """
    fan_in, fan_out = _fans(tuple(shape))
    std = math.sqrt(2.0 / (fan_in + fan_out))
    return _scaled(key, shape, dtype, std, distribution)


def he(key: Key, shape: tuple[int, ...], dtype: DTypeLike = np.float64,
       distribution: str = "normal") -> np.ndarray:
    """He/Kaiming for ReLU layers: variance ``2 / fan_in``.

    >>> import gradlab as gl
    >>> round(float(gl.nn.he(gl.random.key(0), (1000, 100)).std()), 2)
    0.04
    """
    fan_in, _ = _fans(tuple(shape))
    return _scaled(key, shape, dtype, math.sqrt(2.0 / fan_in), distribution)


def _scaled(key, shape, dtype, std, distribution):
    if distribution == "uniform":
        limit = std * math.sqrt(3.0)
        return _random.uniform(key, shape, dtype, -limit, limit)
    if distribution == "normal":
        return (_random.normal(key, shape, dtype) * std).astype(dtype)
    raise ValueError(f"distribution must be 'uniform' or 'normal', got {distribution!r}")


def normal(key: Key, shape: Shape, std: float = 0.01, dtype: DTypeLike = np.float64) -> np.ndarray:
    """Normal samples with standard deviation ``std``.

    >>> import gradlab as gl
    >>> gl.nn.normal(gl.random.key(0), (1000,), std=0.5).std().round(1)
    np.float64(0.5)
    """
    return (_random.normal(key, shape, dtype) * std).astype(dtype)


def zeros(shape: Shape, dtype: DTypeLike = np.float64) -> np.ndarray:
    """``np.zeros(shape)`` (for symmetry with the other initialisers)."""
    return np.zeros(shape, dtype)


def ones(shape: Shape, dtype: DTypeLike = np.float64) -> np.ndarray:
    """``np.ones(shape)``."""
    return np.ones(shape, dtype)


# --- parameters of the layers in gradlab.nn --------------------------------------------


def init_linear(key: Key, n_in: int, n_out: int, bias: bool = True,
                init: Callable[..., Array] = glorot,
                dtype: DTypeLike = np.float64) -> dict[str, np.ndarray]:
    """``{"w": (n_in, n_out), "b": (n_out,)}`` for ``gradlab.nn.linear``.

    >>> import gradlab as gl
    >>> {k: v.shape for k, v in gl.nn.init_linear(gl.random.key(0), 3, 2).items()}
    {'w': (3, 2), 'b': (2,)}
    """
    p = {"w": init(key, (n_in, n_out), dtype)}
    if bias:
        p["b"] = np.zeros(n_out, dtype)
    return p


def init_conv2d(key: Key, c_in: int, c_out: int, kernel: int | tuple[int, int], groups: int = 1,
                bias: bool = True, init: Callable[..., Array] = he,
                dtype: DTypeLike = np.float64) -> dict[str, np.ndarray]:
    """``{"w": (c_out, c_in // groups, KH, KW), "b": (c_out,)}`` for ``conv2d``.

    >>> import gradlab as gl
    >>> gl.nn.init_conv2d(gl.random.key(0), 4, 8, 3, groups=2)["w"].shape
    (8, 2, 3, 3)
    """
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    p = {"w": init(key, (c_out, c_in // groups, kh, kw), dtype)}
    if bias:
        p["b"] = np.zeros(c_out, dtype)
    return p


def init_embedding(key: Key, vocab: int, dim: int, std: float | None = None,
                   dtype: DTypeLike = np.float64) -> np.ndarray:
    """A ``(vocab, dim)`` table with entries of standard deviation ``1/sqrt(dim)``.

    >>> import gradlab as gl
    >>> gl.nn.init_embedding(gl.random.key(0), 10, 4).shape
    (10, 4)
    """
    return normal(key, (vocab, dim), 1.0 / math.sqrt(dim) if std is None else std, dtype)


def init_layer_norm(dim: int, dtype: DTypeLike = np.float64) -> dict[str, np.ndarray]:
    """``{"gamma": ones, "beta": zeros}`` of shape ``(dim,)``.

    >>> import gradlab as gl
    >>> gl.nn.init_layer_norm(2)["gamma"].tolist()
    [1.0, 1.0]
    """
    return {"gamma": np.ones(dim, dtype), "beta": np.zeros(dim, dtype)}


def init_mha(key: Key, dim: int, bias: bool = True,
             dtype: DTypeLike = np.float64) -> dict[str, np.ndarray]:
    """``wq wk wv wo`` (``(dim, dim)``, Glorot) and zero biases for multi-head attention.

    >>> import gradlab as gl
    >>> sorted(gl.nn.init_mha(gl.random.key(0), 4))
    ['bk', 'bo', 'bq', 'bv', 'wk', 'wo', 'wq', 'wv']
    """
    keys = _random.split(key, 4)
    p = {f"w{n}": glorot(k, (dim, dim), dtype) for n, k in zip("qkvo", keys)}
    if bias:
        p.update({f"b{n}": np.zeros(dim, dtype) for n in "qkvo"})
    return p


def _init_recurrent(key, n_in, hidden, gates, dtype):
    kx, kh = _random.split(key)
    bound = 1.0 / math.sqrt(hidden)  # PyTorch's uniform(-1/sqrt(H), 1/sqrt(H))
    return {"wx": _random.uniform(kx, (n_in, gates * hidden), dtype, -bound, bound),
            "wh": _random.uniform(kh, (hidden, gates * hidden), dtype, -bound, bound)}


def init_gru(key: Key, n_in: int, hidden: int,
             dtype: DTypeLike = np.float64) -> dict[str, np.ndarray]:
    """``wx (n_in, 3H)``, ``wh (H, 3H)``, ``bx``, ``bh`` for ``gru_cell``.

    >>> import gradlab as gl
    >>> gl.nn.init_gru(gl.random.key(0), 2, 5)["wh"].shape
    (5, 15)
    """
    p = _init_recurrent(key, n_in, hidden, 3, dtype)
    p.update(bx=np.zeros(3 * hidden, dtype), bh=np.zeros(3 * hidden, dtype))
    return p


def init_lstm(key: Key, n_in: int, hidden: int, forget_bias: float = 1.0,
              dtype: DTypeLike = np.float64) -> dict[str, np.ndarray]:
    """``wx (n_in, 4H)``, ``wh (H, 4H)``, ``b`` (forget gate bias ``forget_bias``).

    >>> import gradlab as gl
    >>> gl.nn.init_lstm(gl.random.key(0), 2, 3)["b"].tolist()
    [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    p = _init_recurrent(key, n_in, hidden, 4, dtype)
    b = np.zeros(4 * hidden, dtype)
    b[hidden:2 * hidden] = forget_bias
    p["b"] = b
    return p


# --- save / load ----------------------------------------------------------------------
# A tree is stored as one .npz entry per leaf, named by its path: dict keys are
# percent-quoted (so "/" and ":" inside keys are safe), list items are "[i]", tuple
# items "(i)"; a ":kind" suffix marks what is not a plain array (a frozen or tied
# entry, None, a Python scalar, an empty container). No pickles: loading is safe.

_EMPTY = {"dict": dict, "list": list, "tuple": tuple}


def _encode(tree, prefix, out):
    from urllib.parse import quote

    if isinstance(tree, Frozen):
        out[prefix + ":frozen"] = tree.value
    elif isinstance(tree, Tied):
        out[prefix + ":tied"] = np.array([quote(str(p), safe="") for p in tree.path])
    elif tree is None:
        out[prefix + ":none"] = np.zeros(0)
    elif type(tree) in (bool, int, float, complex):
        out[prefix + ":" + type(tree).__name__] = np.asarray(tree)
    elif type(tree) in (dict, list, tuple):
        if not tree:
            out[prefix + ":empty" + type(tree).__name__] = np.zeros(0)
        items = tree.items() if type(tree) is dict else enumerate(tree)
        for k, v in items:
            if type(tree) is dict and not isinstance(k, str):
                raise TypeError(f"save: dict keys must be strings, got {k!r} at {prefix!r}")
            part = quote(k, safe="") if type(tree) is dict else (
                f"[{k}]" if type(tree) is list else f"({k})")
            _encode(v, f"{prefix}/{part}", out)
    elif isinstance(tree, (np.ndarray, np.generic)):
        if tree.dtype == object:
            raise TypeError(f"save: object arrays cannot be saved without pickle ({prefix!r})")
        out[prefix] = tree
    else:
        raise TypeError(f"save: cannot store {type(tree).__name__} at {prefix!r}; trees of "
                        "dicts, lists, tuples, arrays, scalars, None, frozen and tied only")


def save(path: str | os.PathLike, **trees: PyTree) -> None:
    """Save named trees (parameters, optimizer state, a step count...) to one ``.npz``.

    Dtypes, shapes and values are kept exactly, so training resumed from a loaded
    checkpoint continues bit for bit as if it had never stopped. The file is written
    atomically: a crash or kill mid-save leaves the previous checkpoint as it was.

    >>> import numpy as np, gradlab as gl, tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
    >>> gl.nn.save(f, params={"w": np.ones(2, np.float32), "b": gl.nn.frozen(0.5)}, step=3)
    >>> ck = gl.nn.load(f)
    >>> ck["params"]["w"].dtype, ck["params"]["b"], ck["step"]
    (dtype('float32'), frozen(array(0.5)), 3)
    """
    from urllib.parse import quote

    entries: dict = {}
    for name, tree in trees.items():
        _encode(tree, quote(name, safe=""), entries)
    from ..files import atomic_write

    with atomic_write(path) as f:  # a kill mid-save leaves the previous checkpoint intact
        np.savez(f, **entries)


def _container(children: dict):
    """Build the dict/list/tuple whose encoded child names are ``children``'s keys."""
    from urllib.parse import unquote

    names = list(children)
    if names and all(n.startswith("[") for n in names):
        return [children[n] for n in sorted(names, key=lambda n: int(n[1:-1]))]
    if names and all(n.startswith("(") for n in names):
        return tuple(children[n] for n in sorted(names, key=lambda n: int(n[1:-1])))
    return {unquote(n): v for n, v in children.items()}


def _decode(name, value):
    from urllib.parse import unquote

    base, _, kind = name.partition(":")
    if kind == "":
        return base, value
    if kind == "frozen":
        return base, Frozen(value)
    if kind == "tied":
        return base, Tied(tuple(unquote(str(p)) for p in value))
    if kind == "none":
        return base, None
    if kind in ("bool", "int", "float", "complex"):
        return base, value.item()
    if kind.startswith("empty") and kind[5:] in _EMPTY:
        return base, _EMPTY[kind[5:]]()
    raise ValueError(f"load: unknown entry kind {kind!r} in {name!r}")


def _open_checkpoint(path):
    data = np.load(path, allow_pickle=False)
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"a single {type(data).__name__} (np.save), not the .npz archive "
                         "gl.nn.save writes")
    return data


def load(path: str | os.PathLike) -> dict:
    """The named trees saved by ``save``, as a dict ``{name: tree}``.

    A truncated file, or one ``save`` did not write, raises ``ValueError`` naming it.

    >>> import numpy as np, gradlab as gl, tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "p.npz")
    >>> gl.nn.save(f, params={"layers": [{"w": np.eye(2)}], "tie": gl.nn.tied("layers/0/w")})
    >>> gl.nn.load(f)["params"]["tie"]
    tied('layers', '0', 'w')
    """
    from urllib.parse import unquote

    root: dict = {}
    try:
        with _open_checkpoint(path) as data:
            for name in data.files:
                *dirs, last = name.split("/")
                last, value = _decode(last, data[name])
                node = root
                for d in dirs:
                    node = node.setdefault(d, {})
                node[last] = value
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"load: {os.fspath(path)!r} is not a complete gradlab checkpoint "
                         f"(truncated, or another kind of file): {exc}") from exc

    def build(node):
        return _container({k: build(v) for k, v in node.items()}) if type(node) is dict else node

    return {unquote(k): build(v) for k, v in root.items()}
