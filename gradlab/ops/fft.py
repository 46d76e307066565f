"""FFTs: four 1-D primitives (fft, ifft, rfft, irfft); the rest (n-D, hfft, shifts) compose.

numpy's own ``fftn``/``rfftn``/``irfftn`` are loops of 1-D transforms over the axes,
so gradlab's compositions repeat numpy's loop exactly (same values, bit for bit)
and repeated axes just work. Each transform is linear, so its JVP is itself; with
autograd's complex convention (docs/complex.md) its VJP is the *transpose*: the
DFT matrix is symmetric, so ``fft``'s VJP is ``fft`` of the cotangent, cut or
zero-padded back to the input's length when ``n`` padded or cut it. ``rfft``
keeps half the spectrum; ``irfft`` reads half of one and weights the mirrored bins
twice, so their VJPs pad or weight accordingly.

>>> import numpy as np, gradlab as gl
>>> x = np.array([1.0, 2.0, 0.5, -1.0])
>>> g = gl.grad(lambda x: np.sum(np.abs(np.fft.fft(x)) ** 2))(x)   # Parseval: 4 |x|^2
>>> np.allclose(g, 8 * x)
True
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive, implements
from ..core.shapes import ShapeDtypeStruct
from ..devices.array_module import get_array_module, on_device_of
from ..precision.dtypes import computes_in_float32
from .complex import conj, real
from .families import Structural
from .shape import concatenate, moveaxis

_DUAL_NORM = {None: "forward", "backward": "forward", "forward": "backward", "ortho": "ortho"}


def _dtype(x):
    return np.dtype(x.dtype) if hasattr(x, "dtype") else np.result_type(x)


def _complex_dtype(dtype):
    return np.result_type(dtype, np.complex64)


def _real_dtype(dtype):
    return np.finfo(_complex_dtype(dtype)).dtype


def _fit(y, length, axis):
    """``y`` cut or zero-padded to ``length`` along ``axis`` (what ``n=`` does to an input)."""
    shape = np.shape(y)
    if shape[axis] == length:
        return y
    if shape[axis] > length:
        idx = (slice(None),) * axis + (slice(0, length),)
        return y[idx]
    pad = shape[:axis] + (length - shape[axis],) + shape[axis + 1:]
    return concatenate([y, get_array_module(y).zeros(pad, _dtype(y))], axis=axis)


def _length(x, n, axis):
    return np.shape(x)[axis] if n is None else n


def _irfft_length(x, n, axis):
    return 2 * (np.shape(x)[axis] - 1) if n is None else n


def _batch_fft(prim, args, dims, params):
    (x,), (d,) = args, dims
    axis = params["axis"] % (np.ndim(x) - 1)
    return prim(moveaxis(x, d, 0), **dict(params, axis=axis + 1)), 0


def _fft_shape(kind):
    def shape(prim, avals, params):
        (x,) = avals
        axis, n = params["axis"] % len(x.shape), params.get("n")
        m = x.shape[axis]
        out = {"c2c": m if n is None else n, "r2c": (m if n is None else n) // 2 + 1,
               "c2r": 2 * (m - 1) if n is None else n}[kind]
        dtype = _real_dtype(x.dtype) if kind == "c2r" else _complex_dtype(x.dtype)
        return ShapeDtypeStruct(tuple(x.shape[:axis]) + (out,) + tuple(x.shape[axis + 1:]),
                                dtype)

    return shape


def _examples(kind):
    def examples(rng):
        def z(*shape):
            return rng.normal(size=shape) + 1j * rng.normal(size=shape)

        if kind == "c2r":
            return [((z(5),), {"n": None, "axis": 0, "norm": None}),
                    ((z(2, 4),), {"n": 7, "axis": 1, "norm": "ortho"}),
                    ((z(3, 2),), {"n": 6, "axis": 0, "norm": "forward"})]
        x = z if kind == "c2c" else (lambda *s: rng.normal(size=s))
        return [((x(6),), {"n": None, "axis": 0, "norm": None}),
                ((x(2, 5),), {"n": 8, "axis": 1, "norm": "ortho"}),
                ((x(5, 3),), {"n": 3, "axis": 0, "norm": "forward"})]

    return examples


def _fft_impl(x, *, n=None, axis=-1, norm=None):
    return np.fft.fft(x, n=n, axis=axis, norm=norm)


def _ifft_impl(x, *, n=None, axis=-1, norm=None):
    return np.fft.ifft(x, n=n, axis=axis, norm=norm)


def _rfft_impl(x, *, n=None, axis=-1, norm=None):
    return np.fft.rfft(x, n=n, axis=axis, norm=norm)


def _irfft_impl(x, *, n=None, axis=-1, norm=None):
    return np.fft.irfft(x, n=n, axis=axis, norm=norm)


def _c2c_vjp(prim, g, x, *, n=None, axis=-1, norm=None):
    axis %= np.ndim(x)
    return _fit(prim(g, n=None, axis=axis, norm=norm), np.shape(x)[axis], axis)


fft_p = Primitive(
    "fft", computes_in_float32(_fft_impl), family=Structural, params=("n", "axis", "norm"),
    vjp=lambda g, ans, x, **p: _c2c_vjp(fft_p, g, x, **p),
    jvp=lambda t, ans, x, **p: fft_p(t, **p),
    batch=_batch_fft, shape=_fft_shape("c2c"), examples=_examples("c2c"),
    doc="np.fft.fft along one axis; its VJP is fft (the DFT matrix is symmetric).")

ifft_p = Primitive(
    "ifft", computes_in_float32(_ifft_impl), family=Structural, params=("n", "axis", "norm"),
    vjp=lambda g, ans, x, **p: _c2c_vjp(ifft_p, g, x, **p),
    jvp=lambda t, ans, x, **p: ifft_p(t, **p),
    batch=_batch_fft, shape=_fft_shape("c2c"), examples=_examples("c2c"),
    doc="np.fft.ifft along one axis; its VJP is ifft.")


def _rfft_vjp(g, ans, x, *, n=None, axis=-1, norm=None):
    """Transpose of 'keep the first n//2+1 bins of fft': zero-pad the bins, then fft."""
    axis %= np.ndim(x)
    full = fft_p(g, n=_length(x, n, axis), axis=axis, norm=norm)
    return real(_fit(full, np.shape(x)[axis], axis))


rfft_p = Primitive(
    "rfft", computes_in_float32(_rfft_impl), family=Structural, params=("n", "axis", "norm"),
    vjp=_rfft_vjp, jvp=lambda t, ans, x, **p: rfft_p(t, **p),
    batch=_batch_fft, shape=_fft_shape("r2c"), examples=_examples("r2c"),
    doc="np.fft.rfft along one axis (real input, the non-negative frequencies).")


def _irfft_vjp(g, ans, x, *, n=None, axis=-1, norm=None):
    """irfft reads bin k of a Hermitian spectrum once (k = 0, n/2) or twice (its mirror).

    So bin k's cotangent is that weight times ``conj(rfft(g))[k]``, scaled as the
    inverse transform is (``rfft`` with the dual norm).
    """
    axis %= np.ndim(x)
    length = _irfft_length(x, n, axis)
    bins = length // 2 + 1
    weights = np.full(bins, 2.0, _real_dtype(_dtype(g)))
    weights[0] = 1.0
    if length % 2 == 0:
        weights[-1] = 1.0
    weights = on_device_of(g, weights.reshape((bins,) + (1,) * (np.ndim(g) - 1 - axis)))
    spectrum = conj(rfft_p(g, n=length, axis=axis, norm=_DUAL_NORM[norm])) * weights
    return _fit(spectrum, np.shape(x)[axis], axis)


irfft_p = Primitive(
    "irfft", computes_in_float32(_irfft_impl), family=Structural, params=("n", "axis", "norm"),
    vjp=_irfft_vjp, jvp=lambda t, ans, x, **p: irfft_p(t, **p),
    batch=_batch_fft, shape=_fft_shape("c2r"), examples=_examples("c2r"),
    doc="np.fft.irfft along one axis (Hermitian half spectrum in, real signal out).")


def _z(rng, *shape):
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


def _nd_examples(real_input=False, inverse_real=False):
    """Examples for the n-D compositions: default, explicit s/axes/norm, a repeated axis."""

    def examples(rng):
        x = (lambda *s: rng.normal(size=s)) if real_input else (lambda *s: _z(rng, *s))
        if inverse_real:
            return [((x(4, 3),), {}), ((x(3, 4, 3),), {"s": (5, 6), "axes": (2, 0),
                                                         "norm": "ortho"})]
        return [((x(3, 4),), {}), ((x(2, 3, 4),), {"s": (4, 3), "axes": (2, 0),
                                                    "norm": "ortho"}),
                ((x(3, 2),), {"axes": (0, 0)} if not real_input else {"s": (5, 3), "axes": (0, 1)})]

    return examples


def _one_d_examples(real_input=False):
    def examples(rng):
        x = (lambda *s: rng.normal(size=s)) if real_input else (lambda *s: _z(rng, *s))
        return [((x(5),), {}), ((x(3, 4),), {"n": 6, "axis": 0, "norm": "forward"})]

    return examples


def _one_d(prim, a, n, axis, norm):
    nd = np.ndim(a)
    if nd == 0:
        raise ValueError("an FFT needs an array with at least one dimension")
    return prim(a, n=None if n is None else int(n), axis=int(axis) % nd, norm=norm)


@implements(np.fft.fft, examples=_one_d_examples())
def fft(a, n=None, axis=-1, norm=None, out=None):
    """``np.fft.fft``."""
    return _one_d(fft_p, a, n, axis, norm)


@implements(np.fft.ifft, examples=_one_d_examples())
def ifft(a, n=None, axis=-1, norm=None, out=None):
    """``np.fft.ifft``."""
    return _one_d(ifft_p, a, n, axis, norm)


@implements(np.fft.rfft, examples=_one_d_examples(real_input=True))
def rfft(a, n=None, axis=-1, norm=None, out=None):
    """``np.fft.rfft`` (a complex input is an error in numpy too)."""
    return _one_d(rfft_p, a, n, axis, norm)


@implements(np.fft.irfft, examples=_one_d_examples())
def irfft(a, n=None, axis=-1, norm=None, out=None):
    """``np.fft.irfft``."""
    return _one_d(irfft_p, a, n, axis, norm)


@implements(np.fft.hfft, examples=_one_d_examples())
def hfft(a, n=None, axis=-1, norm=None, out=None):
    """``np.fft.hfft``: numpy's own definition, ``irfft(conj(a))`` with the swapped norm."""
    return _one_d(irfft_p, conj(a), n, axis, _DUAL_NORM[norm])


@implements(np.fft.ihfft, examples=_one_d_examples(real_input=True))
def ihfft(a, n=None, axis=-1, norm=None, out=None):
    """``np.fft.ihfft``: ``conj(rfft(a))`` with the swapped norm."""
    return conj(_one_d(rfft_p, a, n, axis, _DUAL_NORM[norm]))


def _cook(a, s, axes, invreal=False):
    """numpy's defaults for ``s`` and ``axes`` (its ``_cook_nd_args``)."""
    shape = np.shape(a)
    if s is None:
        s = [shape[ax] for ax in axes] if axes is not None else list(shape)
        if invreal:
            last = axes[-1] if axes is not None else -1
            s[-1] = (shape[last] - 1) * 2
    s = list(s)
    axes = list(range(-len(s), 0)) if axes is None else list(axes)
    if len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    return [shape[ax] if n in (None, -1) else int(n) for n, ax in zip(s, axes)], axes


@implements(np.fft.fftn, examples=_nd_examples())
def fftn(a, s=None, axes=None, norm=None, out=None):
    """``np.fft.fftn``: 1-D ffts over ``axes``, last axis first (numpy's order)."""
    s, axes = _cook(a, s, axes)
    for n, axis in reversed(list(zip(s, axes))):
        a = _one_d(fft_p, a, n, axis, norm)
    return a


@implements(np.fft.ifftn, examples=_nd_examples())
def ifftn(a, s=None, axes=None, norm=None, out=None):
    """``np.fft.ifftn``."""
    s, axes = _cook(a, s, axes)
    for n, axis in reversed(list(zip(s, axes))):
        a = _one_d(ifft_p, a, n, axis, norm)
    return a


@implements(np.fft.fft2, examples=lambda rng: [((_z(rng, 2, 3, 4),), {})])
def fft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """``np.fft.fft2``."""
    return fftn(a, s, axes, norm)


@implements(np.fft.ifft2, examples=lambda rng: [((_z(rng, 3, 4),), {})])
def ifft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """``np.fft.ifft2``."""
    return ifftn(a, s, axes, norm)


@implements(np.fft.rfftn, examples=_nd_examples(real_input=True))
def rfftn(a, s=None, axes=None, norm=None, out=None):
    """``np.fft.rfftn``: rfft over the last axis, then ffts over the others."""
    s, axes = _cook(a, s, axes)
    a = _one_d(rfft_p, a, s[-1], axes[-1], norm)
    for n, axis in reversed(list(zip(s[:-1], axes[:-1]))):
        a = _one_d(fft_p, a, n, axis, norm)
    return a


@implements(np.fft.irfftn, examples=_nd_examples(inverse_real=True))
def irfftn(a, s=None, axes=None, norm=None, out=None):
    """``np.fft.irfftn``: iffts over all but the last axis, then irfft over it."""
    s, axes = _cook(a, s, axes, invreal=True)
    for n, axis in zip(s[:-1], axes[:-1]):
        a = _one_d(ifft_p, a, n, axis, norm)
    return _one_d(irfft_p, a, s[-1], axes[-1], norm)


@implements(np.fft.rfft2, examples=lambda rng: [((rng.normal(size=(4, 5)),), {})])
def rfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """``np.fft.rfft2``."""
    return rfftn(a, s, axes, norm)


@implements(np.fft.irfft2, examples=lambda rng: [((_z(rng, 4, 3),), {"s": (4, 5)})])
def irfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """``np.fft.irfft2``."""
    return irfftn(a, s, axes, norm)


def _roll(x, shift, axis):
    """``np.roll`` along one axis, as a concatenation of two slices."""
    n = np.shape(x)[axis]
    shift %= n
    if shift == 0:
        return x
    head = (slice(None),) * axis
    return concatenate([x[head + (slice(n - shift, None),)], x[head + (slice(0, n - shift),)]],
                       axis=axis)


def _shift_examples(rng):
    return [((rng.normal(size=(5, 4)),), {}), ((rng.normal(size=(5, 4)),), {"axes": 0}),
            ((_z(rng, 7),), {"axes": (-1,)})]


def _shift(x, axes, sign):
    nd = np.ndim(x)
    axes = range(nd) if axes is None else [axes] if np.ndim(axes) == 0 else axes
    for axis in axes:
        axis = int(axis) % nd
        x = _roll(x, sign * (np.shape(x)[axis] // 2), axis)
    return x


@implements(np.fft.fftshift, examples=_shift_examples)
def fftshift(x, axes=None):
    """``np.fft.fftshift``: the zero frequency to the centre."""
    return _shift(x, axes, 1)


@implements(np.fft.ifftshift, examples=_shift_examples)
def ifftshift(x, axes=None):
    """``np.fft.ifftshift``: the inverse of ``fftshift``."""
    return _shift(x, axes, -1)


def _freq_examples(rng):
    return [((8,), {"d": rng.uniform(0.5, 2.0)}), ((7,), {"d": rng.uniform(0.5, 2.0)})]


@implements(np.fft.fftfreq, examples=_freq_examples)
def fftfreq(n, d=1.0, device=None):
    """``np.fft.fftfreq``: a constant of ``n`` divided by the sample spacing ``d`` (which
    may be traced). Without a traced ``d`` this is numpy's own call."""
    return np.fft.fftfreq(n, device=device) / d


@implements(np.fft.rfftfreq, examples=_freq_examples)
def rfftfreq(n, d=1.0, device=None):
    """``np.fft.rfftfreq``: a constant of ``n`` divided by the sample spacing ``d``."""
    return np.fft.rfftfreq(n, device=device) / d
