"""Translation rules to PyTorch: ``RULES[primitive name](*tensors, **params)``.

Each rule computes what the primitive's numpy ``impl`` computes, with torch ops that
``torch.autograd`` differentiates. Python scalars stay Python scalars (torch promotes
them weakly, as numpy does).
"""

from __future__ import annotations

import numpy as np
import torch

from .translate import UnsupportedParamsError, kernel_offsets, windows_out_size

RULES: dict = {}


def asarray(x):
    """A numpy array (or scalar) as a tensor of the same dtype."""
    return torch.as_tensor(np.asarray(x))


def to_numpy(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x


def dtype_of(dtype):
    return torch.from_numpy(np.zeros((), dtype=np.dtype(dtype))).dtype


def rule(*names):
    def register(fn):
        for name in names:
            RULES[name] = fn
        return fn
    return register


def _t(x, like=None):
    """``x`` as a tensor. A Python scalar next to a tensor ``like`` takes ``like``'s dtype
    where numpy's weak scalars would (a float next to float32 stays float32); otherwise
    numpy's default (float64, int64), never torch's float32 default."""
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(like, torch.Tensor) and isinstance(x, (bool, int, float, complex)):
        if like.is_complex() or (like.is_floating_point() and not isinstance(x, complex)):
            return torch.as_tensor(x, dtype=like.dtype)
        if not isinstance(x, (bool, float, complex)) and like.dtype != torch.bool:
            return torch.as_tensor(x, dtype=like.dtype)
    return torch.as_tensor(np.asarray(x))


# -- elementwise ---------------------------------------------------------------------------

_SAME_NAME = ("ceil", "cos", "cosh", "exp", "exp2", "expm1", "floor", "isfinite", "isinf",
              "isnan", "isneginf", "isposinf", "log", "log10", "log1p", "log2", "logical_not",
              "sigmoid", "sign", "signbit", "sin", "sinc", "sinh", "sqrt", "tan", "tanh",
              "trunc", "deg2rad", "rad2deg", "angle", "maximum", "minimum", "fmax", "fmin",
              "copysign", "hypot", "fmod", "remainder", "heaviside", "logaddexp2",
              "logical_and", "logical_or", "logical_xor")
_RENAMED = {"absolute": "abs", "arccos": "acos", "arccosh": "acosh", "arcsin": "asin",
            "arcsinh": "asinh", "arctan": "atan", "arctanh": "atanh", "arctan2": "atan2",
            "negative": "neg", "add": "add", "subtract": "sub", "multiply": "mul",
            "divide": "true_divide", "power": "pow", "equal": "eq", "not_equal": "ne",
            "greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le",
            "rint": "round", "floor_divide": "floor_divide"}


def _elementwise(fn):
    def apply(*xs):
        if len(xs) == 2:
            a, b = _t(xs[0], xs[1]), _t(xs[1], xs[0])
            if a.dtype != b.dtype:  # promote explicitly: ONNX export does not (int 0-d)
                dtype = torch.result_type(a, b)
                a, b = a.to(dtype), b.to(dtype)
            return fn(a, b)
        return fn(*(_t(x) for x in xs))
    return apply


for _name in _SAME_NAME + tuple(_RENAMED):
    RULES[_name] = _elementwise(getattr(torch, _RENAMED.get(_name, _name)))


@rule("positive")
def _positive(x):
    return _t(x)


@rule("stop_gradient")
def _stop_gradient(x):
    return _t(x).detach()


@rule("cbrt")
def _cbrt(x):
    x = _t(x)
    return torch.sign(x) * torch.abs(x) ** (1.0 / 3.0)


@rule("logaddexp")
def _logaddexp(a, b):
    """max + log1p(exp(-|a - b|)): torch.logaddexp's value, in ops ONNX export knows."""
    a = _t(a, b)
    b = _t(b, a)
    m = torch.maximum(a, b)
    safe = torch.where(torch.isinf(m), torch.zeros_like(m), a - b)
    return torch.where(torch.isinf(m), m, m + torch.log1p(torch.exp(-torch.abs(safe))))


@rule("softplus")
def _softplus(x):
    return _logaddexp(_t(x), torch.zeros((), dtype=_t(x).dtype))


@rule("normal_cdf")
def _normal_cdf(x):
    return torch.special.ndtr(_t(x))


@rule("round")
def _round(x, decimals=0):
    return torch.round(_t(x), decimals=decimals)


@rule("real")
def _real(x):
    x = _t(x)
    return torch.real(x) if x.is_complex() else x


@rule("imag")
def _imag(x):
    x = _t(x)
    return torch.imag(x) if x.is_complex() else torch.zeros_like(x)


@rule("conj")
def _conj(x):
    x = _t(x)
    return torch.conj(x).resolve_conj() if x.is_complex() else x


@rule("where")
def _where(c, a, b):
    a, b = (_t(a, b), _t(b, a)) if not isinstance(a, torch.Tensor) else (a, _t(b, a))
    return torch.where(_t(c).bool(), a, b)


@rule("isclose")
def _isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return torch.isclose(_t(a), _t(b, a), rtol=rtol, atol=atol, equal_nan=equal_nan)


@rule("astype", "cast_exact")
def _astype(x, dtype):
    return _t(x).to(dtype_of(dtype))


# -- reductions ----------------------------------------------------------------------------

def _dims(x, axis):
    if axis is None:
        return tuple(range(x.ndim))
    return tuple(a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


def _reduction(fn):
    def apply(x, axis=None, keepdims=False, dtype=None, out=None):
        x = _t(x)
        if dtype is not None:
            x = x.to(dtype_of(dtype))
        dims = _dims(x, axis)
        if not dims:
            return x
        return fn(x, dim=dims, keepdim=bool(keepdims))
    return apply


RULES["sum"] = _reduction(torch.sum)
RULES["mean"] = _reduction(lambda x, dim, keepdim: torch.mean(
    x if x.is_floating_point() or x.is_complex() else x.double(), dim=dim, keepdim=keepdim))
RULES["max"] = _reduction(torch.amax)
RULES["min"] = _reduction(torch.amin)
RULES["all"] = _reduction(lambda x, dim, keepdim: torch.all(x.bool(), dim=dim, keepdim=keepdim))
RULES["any"] = _reduction(lambda x, dim, keepdim: torch.any(x.bool(), dim=dim, keepdim=keepdim))
RULES["count_nonzero"] = _reduction(
    lambda x, dim, keepdim: torch.sum(x != 0, dim=dim, keepdim=keepdim))


@rule("prod")
def _prod(x, axis=None, keepdims=False, dtype=None, out=None):
    x = _t(x)
    if dtype is not None:
        x = x.to(dtype_of(dtype))
    for d in sorted(_dims(x, axis), reverse=True):
        x = torch.prod(x, dim=d, keepdim=bool(keepdims))
    return x


def _arg(fn):
    def apply(x, axis=None, keepdims=False, out=None):
        x = _t(x)
        if axis is None:
            out = fn(x.reshape(-1))
            return out.reshape((1,) * x.ndim) if keepdims else out
        return fn(x, dim=axis, keepdim=bool(keepdims))
    return apply


RULES["argmax"] = _arg(torch.argmax)
RULES["argmin"] = _arg(torch.argmin)


def _cum(fn):
    def apply(x, axis=None, dtype=None, out=None):
        x = _t(x)
        return fn(x.reshape(-1), dim=0) if axis is None else fn(x, dim=axis)
    return apply


RULES["cumsum"] = _cum(torch.cumsum)
RULES["cumprod"] = _cum(torch.cumprod)


@rule("argsort")
def _argsort(x, axis=-1, kind=None, order=None):
    x = _t(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.argsort(x, dim=axis, stable=True)


@rule("searchsorted")
def _searchsorted(a, v, side="left", sorter=None):
    if sorter is not None:
        raise UnsupportedParamsError("searchsorted(sorter=...) has no torch translation")
    return torch.searchsorted(_t(a), _t(v, a), right=(side == "right"))


# -- shapes and indexing -------------------------------------------------------------------

@rule("reshape")
def _reshape(x, newshape):
    return _t(x).reshape(newshape)


@rule("transpose")
def _transpose(x, axes=None):
    x = _t(x)
    return x.permute(*(axes if axes is not None else reversed(range(x.ndim))))


@rule("broadcast_to")
def _broadcast_to(x, shape):
    return torch.broadcast_to(_t(x), tuple(shape))


@rule("unbroadcast")
def _unbroadcast(x, shape):
    x, shape = _t(x), tuple(shape)
    lead = x.ndim - len(shape)
    if lead:
        x = x.sum(dim=tuple(range(lead)))
    dims = tuple(i for i, (n, m) in enumerate(zip(shape, x.shape)) if n == 1 and m != 1)
    return x.sum(dim=dims, keepdim=True) if dims else x


@rule("concatenate")
def _concatenate(*xs, axis=0, dtype=None, out=None, casting=None):
    xs = [_t(x) for x in xs]
    if axis is None:
        return torch.cat([x.reshape(-1) for x in xs])
    return torch.cat(xs, dim=axis)


@rule("matmul")
def _matmul(a, b):
    return torch.matmul(_t(a), _t(b))


@rule("einsum")
def _einsum(*xs, subscripts, **kwargs):
    return torch.einsum(subscripts, *(_t(x) for x in xs))


def _index(idx, arrays):
    from ..ops.index import fill

    def one(i):
        if isinstance(i, np.ndarray):
            return torch.as_tensor(i)
        return i

    return tuple(one(i) for i in fill(idx, [a if isinstance(a, torch.Tensor) else
                                            torch.as_tensor(np.asarray(a)) for a in arrays]))


@rule("getitem")
def _getitem(x, *arrays, idx):
    return _t(x)[_index(idx, arrays)]


@rule("index_add")
def _index_add(x, v, *arrays, idx):
    """Any index: the flat positions it selects (the index applied to a grid of positions),
    then one ``index_add`` along them, so repeated positions accumulate as np.add.at."""
    x = _t(x)
    positions = torch.arange(x.numel()).reshape(x.shape)[_index(idx, arrays)]
    v = torch.broadcast_to(_t(v, x), positions.shape).to(x.dtype)
    return x.reshape(-1).index_add(0, positions.reshape(-1), v.reshape(-1)).reshape(x.shape)


@rule("index_set")
def _index_set(x, v, *arrays, idx):
    x = _t(x).clone()
    x[_index(idx, arrays)] = _t(v, x)
    return x


@rule("pad")
def _pad(x, pad_width, constant_values=0, mode="constant"):
    x = _t(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
    flat = [int(w) for pair in reversed(widths.tolist()) for w in pair]
    return torch.nn.functional.pad(x, flat, value=float(constant_values))


@rule("windows")
def _windows(x, kernel, stride, padding, dilation, pad_value=0.0):
    x = _t(x)
    if any(p for pair in padding for p in pair):
        (pt, pb), (pl, pr) = padding
        x = torch.nn.functional.pad(x, (pl, pr, pt, pb), value=float(pad_value))
    out_hw = windows_out_size(x.shape[-2:], kernel, stride, dilation)
    parts = {(i, j): x[index] for i, j, index in kernel_offsets(kernel, stride, dilation,
                                                                 out_hw)}
    return torch.stack([torch.stack([parts[i, j] for j in range(kernel[1])], dim=-3)
                        for i in range(kernel[0])], dim=-4)


@rule("overlap_add")
def _overlap_add(cols, shape, kernel, stride, padding, dilation):
    cols = _t(cols)
    (pt, pb), (pl, pr) = padding
    out = cols.new_zeros(cols.shape[:-4] + (shape[0] + pt + pb, shape[1] + pl + pr))
    for i, j, index in kernel_offsets(kernel, stride, dilation, cols.shape[-2:]):
        out[index] = out[index] + cols[..., i, j, :, :]
    return out[..., pt:pt + shape[0], pl:pl + shape[1]]


# -- linear algebra and FFT ----------------------------------------------------------------

RULES["inv"] = lambda x: torch.linalg.inv(_t(x))
RULES["det"] = lambda x: torch.linalg.det(_t(x))
RULES["ldexp"] = lambda x, e: _t(x) * torch.pow(2.0, _t(e, _t(x)))
RULES["cholesky"] = lambda x: torch.linalg.cholesky(_t(x))
RULES["eigvalsh"] = lambda x, UPLO="L": torch.linalg.eigvalsh(_t(x), UPLO=UPLO)
RULES["svdvals"] = lambda x: torch.linalg.svdvals(_t(x))
RULES["slogdet_sign"] = lambda x: torch.linalg.slogdet(_t(x))[0]
RULES["logabsdet"] = lambda x: torch.linalg.slogdet(_t(x))[1]


# eigh, svd and qr are packed into one array, as gradlab's primitives pack them
# (ops/linalg_decomp.py): eigenvalues / singular values as one more row.
@rule("eigh")
def _eigh(x, UPLO="L"):
    w, v = torch.linalg.eigh(_t(x), UPLO=UPLO)
    return torch.cat([w[..., None, :].to(v.dtype), v], dim=-2)


@rule("svd")
def _svd(x):
    u, s, vh = torch.linalg.svd(_t(x), full_matrices=False)
    return torch.cat([u, s[..., None, :].to(u.dtype), vh.transpose(-1, -2)], dim=-2)


@rule("qr")
def _qr(x):
    q, r = torch.linalg.qr(_t(x))
    return torch.cat([q, r.transpose(-1, -2)], dim=-2)


@rule("solve")
def _solve(a, b):
    a, b = _t(a), _t(b)
    if b.ndim == 1:
        return torch.linalg.solve(a, b[:, None])[..., 0]
    return torch.linalg.solve(a, b)


@rule("pinv")
def _pinv(x, rcond=None, hermitian=False):
    x = _t(x)
    if rcond is None:
        rcond = 1e-15
    return torch.linalg.pinv(x, rtol=rcond, hermitian=hermitian)


def _fft(fn):
    def apply(x, n=None, axis=-1, norm=None):
        return fn(_t(x), n=n, dim=axis, norm=norm)
    return apply


RULES["fft"] = _fft(torch.fft.fft)
RULES["ifft"] = _fft(torch.fft.ifft)
RULES["rfft"] = _fft(torch.fft.rfft)
RULES["irfft"] = _fft(torch.fft.irfft)

del _name
