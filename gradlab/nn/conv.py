"""Convolutions and pooling on NCHW arrays, built on one pair of linear primitives.

``windows`` (im2col) cuts every sliding window out of the last two axes of an array
(``(..., H, W) -> (..., KH, KW, Ho, Wo)``, a strided view of the padded input, copied
once); ``overlap_add`` (col2im) scatter-adds windows back into an image. Each is the
other's transpose, so each one's VJP and JVP is the other one (or itself): derivatives
of every order come for free. Convolution is then ``windows`` followed by one batched
``matmul`` (BLAS), and its transpose is ``matmul`` followed by ``overlap_add`` --
the classic conv / conv-transpose duality.

>>> import numpy as np, gradlab as gl
>>> x, w = np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3))
>>> gl.nn.conv2d(x, w, padding=1)[0, 0].tolist()[0]
[4.0, 6.0, 6.0, 4.0]
"""

from __future__ import annotations

from typing import Union

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._types import Array
from ..core.primitive import Primitive
from ..core.shapes import ShapeDtypeStruct
from ..devices.array_module import get_array_module
from ..ops import linalg as L
from ..ops import reduce as R
from ..ops import shape as S
from ..ops.families import Structural
from ..precision.dtypes import computes_in_float32

# An int, a pair, ``((top, bottom), (left, right))``, 'valid' or 'same'.
Padding = Union[int, tuple[int, int], tuple[tuple[int, int], tuple[int, int]], str]


__all__ = ["conv1d", "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "windows",
           "overlap_add"]

GEOMETRY = ("kernel", "stride", "padding", "dilation")


def _out_size(n, k, s, pad, d):
    return (n + pad[0] + pad[1] - d * (k - 1) - 1) // s + 1


def _windows_impl(x, *, kernel, stride, padding, dilation, pad_value=0.0):
    x = x if hasattr(x, "ndim") else np.asarray(x)
    lead = x.ndim - 2
    if any(p for pair in padding for p in pair):
        x = np.pad(x, [(0, 0)] * lead + [tuple(p) for p in padding], constant_values=pad_value)
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    win = sliding_window_view(x, extent, axis=(-2, -1))  # (..., Hp-e+1, Wp-e+1, eh, ew)
    win = win[..., ::stride[0], ::stride[1], ::dilation[0], ::dilation[1]]
    return np.moveaxis(win, (-2, -1), (-4, -3)).copy()  # C order (as ascontiguousarray)


def _overlap_add_impl(cols, *, shape, kernel, stride, padding, dilation):
    cols = cols if hasattr(cols, "ndim") else np.asarray(cols)
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    ho, wo = cols.shape[-2:]
    (pt, pb), (pl, pr) = padding
    out = get_array_module(cols).zeros(
        cols.shape[:-4] + (shape[0] + pt + pb, shape[1] + pl + pr), cols.dtype)
    for i in range(kh):  # KH*KW vectorised strided adds (not one per output pixel)
        for j in range(kw):
            out[..., i * dh:i * dh + sh * (ho - 1) + 1:sh,
                j * dw:j * dw + sw * (wo - 1) + 1:sw] += cols[..., i, j, :, :]
    return out[..., pt:pt + shape[0], pl:pl + shape[1]]


def _geometry(params):
    return {k: params[k] for k in GEOMETRY}


def _batch_leading(prim, args, dims, params):
    """Both primitives work on any leading axes: move the vmapped one to the front."""
    (x,), (d,) = args, dims
    return prim(S.moveaxis(x, d, 0), **params), 0


def _windows_shape(prim, avals, params):
    (x,) = avals
    (kh, kw), s, p, d = (params[k] for k in GEOMETRY)
    ho = _out_size(x.shape[-2], kh, s[0], p[0], d[0])
    wo = _out_size(x.shape[-1], kw, s[1], p[1], d[1])
    return ShapeDtypeStruct(tuple(x.shape[:-2]) + (kh, kw, ho, wo), x.dtype)


def _overlap_add_shape(prim, avals, params):
    (cols,) = avals
    return ShapeDtypeStruct(tuple(cols.shape[:-4]) + tuple(params["shape"]), cols.dtype)


def _geometry_examples(rng):
    g1 = dict(kernel=(2, 3), stride=(1, 2), padding=((1, 0), (1, 1)), dilation=(1, 1))
    g2 = dict(kernel=(2, 2), stride=(2, 1), padding=((0, 0), (0, 1)), dilation=(2, 1))
    return [(rng.normal(size=(2, 5, 6)), g1), (rng.normal(size=(5, 6)), g2)]


windows = Primitive(
    "windows", computes_in_float32(_windows_impl),
    family=Structural, params=GEOMETRY + ("pad_value",),
    vjp=lambda g, ans, x, **p: overlap_add(g, shape=np.shape(x)[-2:], **_geometry(p)),
    jvp=lambda t, ans, x, **p: windows(t, **_geometry(p)),
    batch=_batch_leading, shape=_windows_shape,
    examples=lambda rng: [((x,), g) for x, g in _geometry_examples(rng)],
    doc="""im2col: the sliding windows of the last two axes, ``(..., KH, KW, Ho, Wo)``.

    ``padding`` is ``((top, bottom), (left, right))``; padded cells hold ``pad_value``.

    >>> import numpy as np, gradlab as gl
    >>> w = gl.nn.windows(np.arange(9.0).reshape(3, 3), kernel=(2, 2), stride=(1, 1),
    ...                   padding=((0, 0), (0, 0)), dilation=(1, 1))
    >>> w.shape, w[:, :, 0, 0].tolist()
    ((2, 2, 2, 2), [[0.0, 1.0], [3.0, 4.0]])
    """)


def _overlap_add_examples(rng):
    out = []
    for x, g in _geometry_examples(rng):
        cols = _windows_impl(x, **g)
        out.append(((rng.normal(size=cols.shape),), dict(g, shape=x.shape[-2:])))
    return out


overlap_add = Primitive(
    "overlap_add", computes_in_float32(_overlap_add_impl),
    family=Structural, params=("shape",) + GEOMETRY,
    vjp=lambda g, ans, cols, *, shape, **p: windows(g, **p),
    jvp=lambda t, ans, cols, **p: overlap_add(t, **p),
    batch=_batch_leading, shape=_overlap_add_shape, examples=_overlap_add_examples,
    doc="""col2im: scatter-add windows ``(..., KH, KW, Ho, Wo)`` into ``(..., *shape)``.

    The transpose (and VJP) of ``windows`` with the same geometry.

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.overlap_add(np.ones((2, 2, 2, 2)), shape=(3, 3), kernel=(2, 2), stride=(1, 1),
    ...                   padding=((0, 0), (0, 0)), dilation=(1, 1))[1].tolist()
    [2.0, 4.0, 2.0]
    """)


def _pair(v, name):
    if isinstance(v, (int, np.integer)):
        return (int(v), int(v))
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise ValueError(f"{name} must be an int or a pair, got {v}")
    return v


def _padding(padding, kernel, dilation, stride):
    """``((top, bottom), (left, right))`` from an int, a pair, pairs, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding.lower() == "valid":
            return ((0, 0), (0, 0))
        if padding.lower() == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' needs stride 1")
            totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    if isinstance(padding, (int, np.integer)):
        return ((int(padding),) * 2,) * 2
    padding = tuple(padding)
    if len(padding) == 2 and all(isinstance(p, (int, np.integer)) for p in padding):
        return tuple((int(p), int(p)) for p in padding)
    return tuple(_pair(p, "padding") for p in padding)


def conv2d(x: Array, w: Array, b: Array | None = None, stride: int | tuple[int, int] = 1,
           padding: Padding = 0, dilation: int | tuple[int, int] = 1,
           groups: int = 1) -> Array:
    """2-D cross-correlation (what deep learning calls convolution), NCHW layout.

    ``x``: ``(..., C, H, W)``; ``w``: ``(O, C // groups, KH, KW)``; ``b``: ``(O,)``.
    ``padding`` is an int, a pair, ``((top, bottom), (left, right))``, ``'valid'`` or
    ``'same'``. Returns ``(..., O, Ho, Wo)``.

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.conv2d(np.ones((1, 2, 5, 5)), np.ones((4, 1, 3, 3)), stride=2, groups=2).shape
    (1, 4, 2, 2)
    """
    out_ch, per_group, kh, kw = np.shape(w)
    channels = np.shape(x)[-3]
    if channels != per_group * groups or out_ch % groups:
        raise ValueError(f"conv2d: input with {channels} channels and weights of shape "
                         f"{np.shape(w)} do not fit groups={groups} (need C == w.shape[1] * "
                         "groups and w.shape[0] divisible by groups)")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    padding = _padding(padding, (kh, kw), dilation, stride)
    cols = windows(x, kernel=(kh, kw), stride=stride, padding=padding, dilation=dilation)
    lead, (ho, wo) = np.shape(cols)[:-5], np.shape(cols)[-2:]
    cols = S.reshape(cols, lead + (groups, per_group * kh * kw, ho * wo))
    wm = S.reshape(w, (groups, out_ch // groups, per_group * kh * kw))
    y = S.reshape(L.matmul(wm, cols), lead + (out_ch, ho, wo))
    return y if b is None else y + S.reshape(b, (out_ch, 1, 1))


def conv_transpose2d(x: Array, w: Array, b: Array | None = None,
                     stride: int | tuple[int, int] = 1,
                     padding: Padding = 0,
                     output_padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1,
                     groups: int = 1) -> Array:
    """The transpose (adjoint) of ``conv2d`` w.r.t. its input: a learned upsampling.

    ``x``: ``(..., C, H, W)``; ``w``: ``(C, O // groups, KH, KW)`` (PyTorch's layout);
    the output is ``(..., O, (H-1)*s - 2p + d*(KH-1) + output_padding + 1, ...)``.

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.conv_transpose2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), stride=2).shape
    (1, 1, 4, 4)
    """
    in_ch, per_group, kh, kw = np.shape(w)
    channels, h, wd = np.shape(x)[-3:]
    if channels != in_ch or in_ch % groups:
        raise ValueError(f"conv_transpose2d: input with {channels} channels and weights of "
                         f"shape {np.shape(w)} do not fit groups={groups}")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    pad, extra = _pair(padding, "padding"), _pair(output_padding, "output_padding")
    assert isinstance(stride, tuple) and isinstance(dilation, tuple)  # for the type checker
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise ValueError("output_padding must be smaller than the stride or the dilation")
    out_hw = tuple((n - 1) * s - 2 * p + d * (k - 1) + e + 1 for n, s, p, d, k, e in zip(
        (h, wd), stride, pad, dilation, (kh, kw), extra))
    lead = np.shape(x)[:-3]
    xm = S.reshape(x, lead + (groups, in_ch // groups, h * wd))
    wm = S.swapaxes(S.reshape(w, (groups, in_ch // groups, per_group * kh * kw)), -1, -2)
    cols = S.reshape(L.matmul(wm, xm), lead + (groups * per_group, kh, kw, h, wd))
    y = overlap_add(cols, shape=out_hw, kernel=(kh, kw), stride=stride,
                    padding=((pad[0], pad[0]), (pad[1], pad[1])), dilation=dilation)
    return y if b is None else y + S.reshape(b, (groups * per_group, 1, 1))


def conv1d(x: Array, w: Array, b: Array | None = None, stride: int = 1,
           padding: Padding = 0, dilation: int = 1, groups: int = 1) -> Array:
    """1-D cross-correlation: ``x`` ``(..., C, L)``, ``w`` ``(O, C // groups, K)``.

    A ``conv2d`` over a height-1 image (exact, so its derivatives are too).

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.conv1d(np.arange(5.0).reshape(1, 1, 5), np.ones((1, 1, 2)))[0, 0].tolist()
    [1.0, 3.0, 5.0, 7.0]
    """
    pad: Padding
    if isinstance(padding, str):
        pad = padding
    else:
        p = (int(padding),) * 2 if isinstance(padding, (int, np.integer)) else tuple(padding)
        pad = ((0, 0), p)  # type: ignore[assignment]  # (left, right) of the one axis
    y = conv2d(S.expand_dims(x, -2), S.expand_dims(w, -2), b, stride=(1, int(stride)),
               padding=pad, dilation=(1, int(dilation)), groups=groups)
    return S.squeeze(y, -2)


def _pool_windows(x, kernel, stride, padding, pad_value):
    kernel = _pair(kernel, "kernel")
    stride = kernel if stride is None else _pair(stride, "stride")
    padding = _padding(padding, kernel, (1, 1), stride)
    return windows(x, kernel=kernel, stride=stride, padding=padding, dilation=(1, 1),
                   pad_value=pad_value)


def max_pool2d(x: Array, kernel: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
               padding: Padding = 0) -> Array:
    """The maximum of each window over the last two axes (padding never wins).

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    """
    return R.max(_pool_windows(x, kernel, stride, padding, -np.inf), axis=(-4, -3))


def avg_pool2d(x: Array, kernel: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
               padding: Padding = 0) -> Array:
    """The mean of each window over the last two axes (padded zeros count, as in PyTorch).

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0].tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    return R.mean(_pool_windows(x, kernel, stride, padding, 0.0), axis=(-4, -3))

