"""Recurrent cells (GRU, LSTM) as pure functions of the input, the carry and parameters.

Gate layouts follow PyTorch: GRU ``r, z, n`` and LSTM ``i, f, g, o`` concatenated
along the last axis of ``wx`` ``(in, k * H)``, ``wh`` ``(H, k * H)`` and the biases.
See ``gradlab.nn.init_gru`` / ``init_lstm``.

>>> import numpy as np, gradlab as gl
>>> p = gl.nn.init_gru(gl.random.key(0), 3, 4)
>>> h = gl.nn.gru_cell(np.ones((2, 3)), np.zeros((2, 4)), p)
>>> h.shape
(2, 4)
"""

from __future__ import annotations

import numpy as np

from .._types import Array
from ..ops import elementwise as E
from ..ops import linalg as L
from .activations import sigmoid

__all__ = ["gru_cell", "lstm_cell"]


def _gates(z, k):
    h = np.shape(z)[-1] // k
    return [z[..., i * h:(i + 1) * h] for i in range(k)]


def gru_cell(x: Array, h: Array, params: dict[str, Array]) -> Array:
    """One GRU step: ``h' = (1 - z) * n + z * h``.

    ``r = sigmoid(x Wr + bxr + h Ur + bhr)``, ``z`` likewise and
    ``n = tanh(x Wn + bxn + r * (h Un + bhn))``; ``params`` has ``wx wh bx bh``.

    >>> import numpy as np, gradlab as gl
    >>> p = gl.nn.init_gru(gl.random.key(0), 2, 3)
    >>> h = np.ones(3)
    >>> p["wx"][:, 3:6] = 0; p["wh"][:, 3:6] = 0; p["bx"][3:6] = 50.0  # z = 1: keep h
    >>> np.allclose(gl.nn.gru_cell(np.ones(2), h, p), h)
    True
    """
    xr, xz, xn = _gates(L.matmul(x, params["wx"]) + params["bx"], 3)
    hr, hz, hn = _gates(L.matmul(h, params["wh"]) + params["bh"], 3)
    r = sigmoid(xr + hr)
    z = sigmoid(xz + hz)
    n = E.tanh(xn + r * hn)
    return (1.0 - z) * n + z * h


def lstm_cell(x: Array, carry: tuple[Array, Array],
              params: dict[str, Array]) -> tuple[Array, Array]:
    """One LSTM step; ``carry`` is ``(h, c)`` and so is the result.

    ``c' = f * c + i * g`` and ``h' = o * tanh(c')`` with ``i, f, o`` sigmoid gates and
    ``g`` a tanh gate of ``x wx + h wh + b``; ``params`` has ``wx wh b``.

    >>> import numpy as np, gradlab as gl
    >>> p = gl.nn.init_lstm(gl.random.key(0), 2, 3)
    >>> h, c = gl.nn.lstm_cell(np.ones((4, 2)), (np.zeros((4, 3)), np.zeros((4, 3))), p)
    >>> h.shape, c.shape
    ((4, 3), (4, 3))
    """
    h, c = carry
    zi, zf, zg, zo = _gates(L.matmul(x, params["wx"]) + L.matmul(h, params["wh"])
                            + params["b"], 4)
    c_new = sigmoid(zf) * c + sigmoid(zi) * E.tanh(zg)
    return sigmoid(zo) * E.tanh(c_new), c_new
