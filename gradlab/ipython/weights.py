"""``Weights``: what a ``with params{ ... } as weights:`` block builds.

A ``Weights`` is a dict-like view of a ``gradlab.nn`` parameter tree (``weights.tree``,
``frozen``/``tied`` entries included) with the few methods a notebook needs:
``grad(objective)``, ``value_and_grad``, ``step(grads, lr)`` and ``train``. The
objective takes no parameters: it reads ``weights['w1']`` (which is what a bare ``w1``
inside the block becomes), and while a gradient is being taken those reads return the
traced values.

>>> import numpy as np
>>> w = Weights({"a": np.array([1.0, 2.0]), "s": frozen(3.0)})
>>> w.grad(lambda: np.sum(w["a"] ** 2) * w["s"])["a"].tolist()
[6.0, 12.0]
>>> w.step({"a": np.array([1.0, 1.0]), "s": w.tree["s"]}, lr=0.5)["a"].tolist()
[0.5, 1.5]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.tree import register_pytree, tree_map
from ..intercept import instrument
from ..nn.params import Frozen, Tied, count_params, frozen, resolve, tied
from ..transforms.reverse import value_and_grad

if TYPE_CHECKING:
    from ..optim.optimizers import Optimizer
    from ..training import TrainResult


__all__ = ["Weights", "params_block", "train", "frozen", "tied"]


def _as_float(x):
    """Trainable leaves are float arrays (integers cannot be differentiated)."""
    if isinstance(x, (Frozen, Tied)) or x is None:
        return x
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.inexact) else x.astype(np.float64)


def _describe(node) -> str:
    if isinstance(node, Frozen):
        return f"frozen {_describe(node.value)}"
    if isinstance(node, Tied):
        return "tied to " + "/".join(map(str, node.path))
    if isinstance(node, dict):
        return "{" + ", ".join(f"{k}: {_describe(v)}" for k, v in node.items()) + "}"
    shape = getattr(node, "shape", None)
    return f"{np.result_type(node)}{list(shape)}" if shape is not None else repr(node)


class Weights(Mapping):
    """Named parameters (a ``gradlab.nn`` tree) that objectives read by name.

    ``weights[name]`` is the current value (``frozen`` entries as their array, ``tied``
    ones as the entry they share); ``weights.tree`` is the underlying parameter tree,
    ready for ``gradlab.optim`` and ``gl.train``. A ``Weights`` is a pytree whose
    leaves are the trainable arrays.

    >>> import numpy as np
    >>> w = Weights({"emb": np.eye(2), "out": tied("emb")})
    >>> w["out"].tolist(), len(w), w.count()
    ([[1.0, 0.0], [0.0, 1.0]], 2, 4)
    """

    def __init__(self, tree: dict):
        if not isinstance(tree, dict):
            raise TypeError(f"Weights wants a dict of parameters, got {type(tree).__name__}")
        # one tree_map per entry: a whole-dict tree_map would sort the keys
        self._tree = {k: tree_map(_as_float, v, is_leaf=lambda x: isinstance(x, (Frozen, Tied)))
                      for k, v in tree.items()}
        self._resolved = None

    @classmethod
    def _wrap(cls, tree):
        out = cls.__new__(cls)
        out._tree, out._resolved = tree, None
        return out

    @property
    def tree(self) -> dict:
        """The parameter tree (a dict; ``frozen``/``tied`` entries as markers)."""
        return self._tree

    @tree.setter
    def tree(self, tree: dict):
        if not isinstance(tree, dict) or tree.keys() != self._tree.keys():
            raise ValueError(f"new parameters must have the keys {list(self._tree)}")
        # tree_map and the optimizers sort dict keys; keep the order of the header
        self._tree, self._resolved = {k: tree[k] for k in self._tree}, None

    def __getitem__(self, name):
        if self._resolved is None:
            self._resolved = resolve(self._tree)
        return self._resolved[name]

    def __setitem__(self, name, value):
        """Replace a parameter's value (a frozen one stays frozen; a tied one cannot)."""
        if name not in self._tree:
            raise KeyError(f"{name!r} is not a parameter; these are: {', '.join(self._tree)}")
        old = self._tree[name]
        if isinstance(old, Tied):
            raise TypeError(f"{name!r} is tied to {'/'.join(map(str, old.path))}; "
                            "assign that parameter instead")
        new = dict(self._tree)
        new[name] = frozen(value) if isinstance(old, Frozen) else _as_float(value)
        self._tree, self._resolved = new, None

    def __iter__(self):
        return iter(self._tree)

    def __len__(self):
        return len(self._tree)

    # Identity, not Mapping's value equality (which would compare arrays elementwise).
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __repr__(self):
        body = ", ".join(f"{k}: {_describe(v)}" for k, v in self._tree.items())
        return f"Weights({body})"

    def __enter__(self):  # ``with params{...} as weights:`` binds the Weights itself
        return self

    def __exit__(self, *exc):
        return None

    def count(self, trainable_only: bool = True) -> int:
        """The number of scalars trained (every scalar with ``trainable_only=False``)."""
        return count_params(self._tree, trainable_only)

    @contextlib.contextmanager
    def _holding(self, tree):
        """Objectives read ``tree`` (e.g. traced values) instead of the current one."""
        saved = self._tree, self._resolved
        self._tree, self._resolved = tree, None
        try:
            yield
        finally:
            self._tree, self._resolved = saved

    def functional(self, objective: Callable[..., Any]) -> Callable[..., Any]:
        """``objective`` as a pure function ``f(tree, *args)`` of a parameter tree.

        For the transforms that want one: ``gl.check_grads(w.functional(obj), w.tree)``.

        >>> import numpy as np
        >>> w = Weights({"x": np.array(3.0)})
        >>> float(w.functional(lambda k: k * w["x"])({"x": np.array(5.0)}, 2.0))
        10.0
        """
        f = instrument(objective)  # the objective's numpy calls become gradlab's

        def of_tree(tree, *args, **kwargs):
            with self._holding(tree):
                return f(*args, **kwargs)

        return of_tree

    def value_and_grad(self, objective: Callable[..., Any], *args: Any, has_aux: bool = False,
                       jit: bool = False, backend: str | None = None,
                       **kwargs: Any) -> tuple[Any, dict]:
        """``(objective(*args), gradient)``: the gradient is a tree like ``weights.tree``.

        ``jit=True`` compiles the objective and its gradient (``gradlab.jit``) on the first
        call with a given ``objective`` and shapes, and replays it on the next ones.
        ``backend="torch"`` or ``"jax"`` computes them with that framework's autodiff on
        the captured objective (``gradlab.backends``); the result is numpy all the same.

        >>> import numpy as np
        >>> w = Weights({"x": np.array(3.0)})
        >>> v, g = w.value_and_grad(lambda: w["x"] ** 2)
        >>> float(v), float(g["x"])
        (9.0, 6.0)
        """
        if jit or backend is not None:
            compiled = self._compiled(objective, has_aux, jit, backend)
            value, grads = compiled(self._tree, *args, **kwargs)
        else:
            loss = self.functional(objective)
            value, grads = value_and_grad(loss, has_aux=has_aux)(self._tree, *args, **kwargs)
        return value, _no_gradient_as_none(grads)

    def _compiled(self, objective, has_aux, jit, backend):
        """The jitted, or backend-computed, ``value_and_grad`` of ``objective``, made once
        per objective."""
        cache = self.__dict__.setdefault("_jit_cache", {})
        key = (objective, has_aux, jit, backend)
        if key not in cache:
            loss = self.functional(objective)
            if backend is not None:
                from ..backends import value_and_grad as on_backend

                cache[key] = on_backend(loss, backend, has_aux=has_aux)
            else:
                from ..graph import jit as compile_jit

                cache[key] = compile_jit(value_and_grad(loss, has_aux=has_aux))
        return cache[key]

    def grad(self, objective: Callable[..., Any], *args: Any, has_aux: bool = False,
             jit: bool = False, backend: str | None = None, **kwargs: Any) -> Any:
        """The gradient of ``objective(*args)`` w.r.t. every trainable parameter.

        ``frozen`` entries' gradients are ``None``, and so are ``tied`` ones' (their
        gradient is added into the entry they share). ``jit=True``: compiled once per
        objective and shapes; ``backend="torch"|"jax"``: computed by that framework (see
        ``value_and_grad``).

        >>> import numpy as np
        >>> w = Weights({"a": np.array(2.0), "b": tied("a"), "s": frozen(1.0)})
        >>> g = w.grad(lambda: w["a"] * w["b"] * w["s"])
        >>> float(g["a"]), g["b"], g["s"]  # d(a*a)/da
        (4.0, None, None)
        """
        value, grads = self.value_and_grad(objective, *args, has_aux=has_aux, jit=jit,
                                           backend=backend, **kwargs)
        return (grads, value[1]) if has_aux else grads

    def step(self, grads: dict | Weights, lr: float) -> Weights:
        """Gradient descent in place: ``p -= lr * g`` for every trainable ``p``; returns self.

        >>> import numpy as np
        >>> w = Weights({"a": np.array([1.0])})
        >>> w.step({"a": np.array([2.0])}, lr=0.25)["a"].tolist()
        [0.5]
        """
        grads = grads.tree if isinstance(grads, Weights) else grads
        self.tree = _descend(self._tree, grads, lr)
        return self

    def check_grads(self, objective: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """``gl.check_grads`` of ``objective(*args)`` w.r.t. the trainable parameters.

        Keywords (``modes``, ``order``, ``eps``, ...) go to ``gl.check_grads``.

        >>> import numpy as np
        >>> w = Weights({"x": np.array([0.5, -1.0]), "s": frozen(2.0)})
        >>> w.check_grads(lambda: np.sum(np.sin(w["x"]) * w["s"]))
        """
        from ..check import check_grads

        loss = self.functional(objective)
        check_grads(lambda tree: loss(tree, *args), self._tree, **kwargs)

    def train(self, objective: Callable[..., Any], steps: int, optimizer: Optimizer,
              **kwargs: Any) -> TrainResult:
        """``train(self, objective, steps, optimizer, **kwargs)`` (see ``train``)."""
        return train(self, objective, steps, optimizer, **kwargs)


def _descend(params, grads, lr):
    """``params - lr * grads`` where ``grads`` has an entry (``None``: no gradient)."""
    if grads is None or isinstance(params, (Frozen, Tied)):
        return params
    if isinstance(params, dict):
        return {k: _descend(v, grads.get(k), lr) for k, v in params.items()}
    if isinstance(params, (list, tuple)):
        return type(params)(_descend(p, g, lr) for p, g in zip(params, grads))
    return params - lr * grads


def _no_gradient_as_none(grads):
    """``frozen``/``tied`` entries of a gradient tree (their markers) become ``None``."""
    if isinstance(grads, (Frozen, Tied)):
        return None
    if type(grads) is dict:
        return {k: _no_gradient_as_none(v) for k, v in grads.items()}
    if type(grads) in (list, tuple):
        return type(grads)(_no_gradient_as_none(v) for v in grads)
    return grads


register_pytree(Weights, lambda w: ([w._tree], None), lambda _, children: Weights._wrap(
    children[0]))


def train(weights: Weights, objective: Callable[..., Any], steps: int, optimizer: Optimizer, *,
          data: Any = (), **kwargs: Any) -> TrainResult:
    """Train ``weights`` in place for ``steps`` steps; returns ``gl.train``'s result.

    ``objective(*batch)`` reads the weights by name and returns a scalar loss (or
    ``(loss, metrics)``); ``data`` is what ``gl.train`` takes (a fixed batch, a
    function ``step -> batch``; by default no arguments). Other keywords (``progress``,
    ``log_every``, ``plot``, ...) go to ``gl.train``.

    >>> import numpy as np, gradlab as gl
    >>> w = Weights({"x": np.array([3.0, -1.0])})
    >>> r = train(w, lambda: np.sum((w["x"] - 1.0) ** 2), 200, gl.optim.Adam(0.1),
    ...           progress=False)
    >>> np.round(w["x"], 3).tolist(), r.steps
    ([1.0, 1.0], 200)
    """
    from ..training import train as train_tree

    if not isinstance(weights, Weights):
        raise TypeError("train(weights, objective, steps, optimizer): weights must be the "
                        f"Weights of a params{{...}} block, got {type(weights).__name__}")
    result = train_tree(weights.functional(objective), weights.tree, data, steps,
                        optimizer, **kwargs)
    weights.tree = result.params
    return result


class _Frozen:
    """``frozen[value]`` (or ``frozen(value)``) inside a ``params{...}`` header."""

    def __getitem__(self, value):
        return frozen(value)

    def __call__(self, value):
        return frozen(value)

    def __repr__(self):
        return "frozen"


class _Header:
    """Records a header's parameters in order, so ``tied(w)`` can find ``w``'s name."""

    def __init__(self):
        self.values: dict = {}

    def param(self, name, value):
        self.values[name] = value
        return value

    def tied(self, target, *path):
        """``tied(w)`` for an earlier parameter ``w`` (or ``tied("w")``, ``tied("enc", "w")``)."""
        if isinstance(target, str):
            if target.split("/")[0] not in self.values:
                raise NameError(f"tied({target!r}): no earlier parameter is called {target!r}"
                                f" (defined so far: {', '.join(self.values) or 'none'})")
            return tied(target, *path)
        for name, value in self.values.items():
            if value is target:
                return tied(name, *path)
        raise ValueError("tied(...) takes a parameter defined earlier in the same "
                         "params{...} header, e.g. params{ w = ...; w_out = tied(w) }")


def params_block(names: tuple, header: Callable[..., Any]) -> Weights:
    """Run a lowered ``params{...}`` header; returns its ``Weights``.

    ``header(frozen, tied, param)`` evaluates the header's assignments in its own
    scope (nothing is bound in the caller's namespace).

    >>> w = params_block(("a", "b"), lambda frozen, tied, param: (
    ...     a := param("a", 1.0), b := param("b", tied(a))))
    >>> w
    Weights(a: float64[], b: tied to a)
    """
    h = _Header()
    header(_Frozen(), h.tied, h.param)
    missing = [n for n in names if n not in h.values]
    if missing:  # pragma: no cover - the lowering always records every name
        raise RuntimeError(f"params block did not define {missing}")
    return Weights({n: h.values[n] for n in names})
