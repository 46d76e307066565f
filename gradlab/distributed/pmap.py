"""``map(fn, xs)``: ``fn`` over many inputs on Ray's workers, results in input order."""

from __future__ import annotations

import numpy as np

from ..core.tree import tree_flatten, tree_map, tree_unflatten
from .cluster import ensure_initialized, ship
from .errors import capture, raise_if_error

_REMOTE = None


def _run_chunk(fn, items, first):
    out = []
    for i, x in enumerate(items):
        try:
            out.append(fn(x))
        except Exception as exc:
            return capture(exc, f"map: fn(xs[{first + i}])")
    return ("ok", out)


def map(fn, xs, *, num_workers: int | None = None):  # noqa: A001 - gl.distributed.map
    """``[fn(x) for x in xs]`` computed by Ray tasks, in input order.

    ``xs`` is a list (the results come back as a list), or a pytree of arrays sharing a
    leading axis (``fn`` gets one slice of every leaf; the results are stacked along a new
    leading axis, like ``jax.lax.map``). The inputs are cut into ``num_workers`` chunks
    (default: Ray's CPU count), one task each. A failure in ``fn`` raises ``WorkerError``
    with its traceback on the worker.

    >>> import numpy as np, gradlab as gl                      # doctest: +SKIP
    >>> per_example = gl.distributed.map(lambda xy: gl.grad(loss)(w, *xy), (X, y))
    """
    global _REMOTE
    ray = ensure_initialized()
    if _REMOTE is None:
        _REMOTE = ray.remote(_run_chunk)
    if isinstance(xs, list):
        items, rebuild = xs, None
    else:
        leaves, treedef = tree_flatten(xs)
        n = len(leaves[0])
        items = [tree_unflatten(treedef, [leaf[i] for leaf in leaves]) for i in range(n)]
        rebuild = True
    if not items:
        return [] if rebuild is None else xs
    workers = num_workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    bounds = np.linspace(0, len(items), min(workers, len(items)) + 1).astype(int)
    fn_ref = ray.put(ship(fn))
    futures = [_REMOTE.remote(fn_ref, items[a:b], int(a)) for a, b in zip(bounds, bounds[1:])]
    results = []
    for reply in ray.get(futures):
        results.extend(raise_if_error(reply)[1])
    if rebuild is None:
        return results
    return tree_map(lambda *leaves: np.stack(leaves), *results)


