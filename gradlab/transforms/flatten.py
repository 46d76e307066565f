"""``flatten``: a pytree of arrays as one vector, and the function that rebuilds it.

Like ``autograd.misc.flatten`` and ``jax.flatten_util.ravel_pytree``: every leaf is
raveled and concatenated in one common dtype; ``unflatten`` splits a vector of that
length back into leaves of the original shapes and dtypes. Both directions are
gradlab ops, so gradients flow through either (an optimiser over one flat vector,
a Hessian of a loss of several parameter arrays).

>>> import numpy as np, gradlab as gl
>>> params = {"w": np.ones((2, 2)), "b": np.zeros(2)}
>>> vec, unflatten = gl.flatten(params)
>>> vec.shape, unflatten(vec)["w"].shape
((6,), (2, 2))
"""

from __future__ import annotations

import numpy as np

from ..core.tree import tree_flatten, tree_unflatten


def flatten(tree):
    """``(vector, unflatten)``: the leaves of ``tree`` raveled into one 1-D array.

    The leaves are ordered as ``gl.tree_leaves`` orders them (dict keys sorted). An
    empty tree gives an empty float64 vector.

    >>> import numpy as np, gradlab as gl
    >>> loss = lambda p: np.sum(p[0] ** 2) + 3.0 * p[1]
    >>> vec, unflatten = gl.flatten((np.array([1.0, 2.0]), 0.5))
    >>> gl.grad(lambda v: loss(unflatten(v)))(vec).tolist()
    [2.0, 4.0, 3.0]
    """
    from ..ops.misc import convert, dtype_of
    from ..ops.shape import concatenate, reshape

    leaves, treedef = tree_flatten(tree)
    shapes = [tuple(np.shape(x)) for x in leaves]
    dtypes = [np.dtype(dtype_of(x)) for x in leaves]
    common = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
    if leaves:
        parts = [reshape(x if d == common else convert(x, common), (-1,))
                 for x, d in zip(leaves, dtypes)]
        vector = concatenate(parts) if len(parts) > 1 else parts[0]
    else:
        vector = np.zeros(0)
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    total = sum(sizes)

    def unflatten(vec):
        """The pytree ``flatten`` took apart, rebuilt from a vector of the same length."""
        if np.shape(vec) != (total,):
            raise ValueError(f"unflatten: expected a vector of shape ({total},), "
                             f"got shape {np.shape(vec)}")
        out, start = [], 0
        for shape, size, dtype in zip(shapes, sizes, dtypes):
            part = reshape(vec[start:start + size], shape)
            out.append(part if dtype_of(part) == dtype else convert(part, dtype))
            start += size
        return tree_unflatten(treedef, out)

    return vector, unflatten
