"""``np.polyfit``: the least-squares solution numpy computes (scaled Vandermonde
columns, ``lstsq``), differentiable in ``x``, ``y`` and the weights ``w``.

(The evaluation functions of ``numpy.polynomial`` are in ``series.py``, declared on
first use.)

>>> import numpy as np, gradlab as gl
>>> x = np.array([0.0, 1.0, 2.0, 3.0])
>>> slope = lambda y: np.polyfit(x, y, 1)[0]
>>> np.round(gl.grad(slope)(2.0 * x + 1.0), 3).tolist()   # d slope / d y_i = (x_i - 1.5) / 5
[-0.3, -0.1, 0.1, 0.3]
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import implements
from .elementwise import sqrt
from .numeric import vander
from .reduce import sum as sum_
from .shape import reshape


def _polyfit_examples(rng):
    x = np.linspace(-1.0, 1.0, 7) + rng.uniform(-0.05, 0.05, 7)
    return [((x, np.sin(x) + rng.normal(size=7) * 0.1, 2), {}),
            ((x, rng.normal(size=(7, 2)), 1), {}),
            ((x, np.cos(x), 3), {"w": rng.uniform(0.5, 1.5, 7)})]


@implements(np.polyfit, examples=_polyfit_examples)
def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """``np.polyfit``: least-squares coefficients, highest power first (numpy's method).

    ``full=True`` also returns ``(residuals, rank, singular_values, rcond)``; ``cov`` is
    not supported on traced values.
    """
    from .linalg_decomp import lstsq  # numpy.linalg's rules are declared on first use

    if cov:
        raise NotImplementedError("np.polyfit(cov=True) on traced values has no gradlab rule")
    order = int(deg) + 1
    lhs, rhs = vander(x, order), y
    if w is not None:
        lhs = lhs * reshape(w, (-1, 1))
        rhs = rhs * (w if np.ndim(y) == 1 else reshape(w, (-1, 1)))
    if rcond is None:
        rcond = np.shape(x)[0] * np.finfo(np.result_type(x, y, np.float64)).eps
    scale = sqrt(sum_(lhs * lhs, axis=0))
    c, resids, rank, s = lstsq(lhs / scale, rhs, rcond)
    c = c / (scale if np.ndim(c) == 1 else reshape(scale, (-1, 1)))
    return (c, resids, rank, s, rcond) if full else c
