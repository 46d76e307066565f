"""Translation rules to JAX: ``RULES[primitive name](*arrays, **params)``.

``jax.numpy`` mirrors numpy, so most primitives translate to the ``jnp`` function of the
same name with the same parameters; the rest are written out below. Every rule is pure
and traceable, so the translated function works under ``jax.jit`` and ``jax.grad``.
float64 needs ``jax.config.update("jax_enable_x64", True)``, which importing this module
does (gradlab computes in the dtypes numpy gives).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .translate import UnsupportedParamsError, kernel_offsets, windows_out_size

jax.config.update("jax_enable_x64", True)

RULES: dict = {}


def asarray(x):
    return jnp.asarray(x)


def to_numpy(x):
    return np.asarray(x)


def rule(*names):
    def register(fn):
        for name in names:
            RULES[name] = fn
        return fn
    return register


def _same_name(name, drop=("out",)):
    fn = getattr(jnp, name)

    def apply(*xs, **params):
        return fn(*xs, **{k: v for k, v in params.items() if k not in drop})

    apply.__name__ = name
    return apply


for _name in (
        "absolute", "add", "angle", "arccos", "arccosh", "arcsin", "arcsinh", "arctan",
        "arctan2", "arctanh", "cbrt", "ceil", "conj", "copysign", "cos", "cosh", "deg2rad",
        "divide", "equal", "exp", "exp2", "expm1", "floor", "floor_divide", "fmax", "fmin",
        "fmod", "greater", "greater_equal", "heaviside", "hypot", "imag", "isclose",
        "isfinite", "isinf", "isnan", "isneginf", "isposinf", "ldexp", "less", "less_equal",
        "log", "log10", "log1p", "log2", "logaddexp", "logaddexp2", "logical_and",
        "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "multiply",
        "negative", "not_equal", "positive", "power", "rad2deg", "real", "remainder", "rint",
        "round", "sign", "signbit", "sin", "sinc", "sinh", "sqrt", "subtract", "tan", "tanh",
        "trunc", "where", "sum", "mean", "prod", "max", "min", "all", "any", "argmax", "argmin",
        "count_nonzero", "cumsum", "cumprod", "broadcast_to", "transpose", "matmul"):
    RULES[_name] = _same_name(_name)
del _name

RULES["sigmoid"] = jax.nn.sigmoid
RULES["softplus"] = lambda x: jnp.logaddexp(x, 0.0)
RULES["normal_cdf"] = jax.scipy.stats.norm.cdf
RULES["stop_gradient"] = jax.lax.stop_gradient
RULES["astype"] = RULES["cast_exact"] = lambda x, dtype: jnp.asarray(x).astype(dtype)
RULES["reshape"] = lambda x, newshape: jnp.reshape(x, newshape)
RULES["concatenate"] = lambda *xs, axis=0, **_: jnp.concatenate(
    xs if axis is not None else [jnp.ravel(x) for x in xs], axis=axis or 0)
RULES["einsum"] = lambda *xs, subscripts, **_: jnp.einsum(subscripts, *xs)
RULES["argsort"] = lambda x, axis=-1, kind=None, order=None: jnp.argsort(x, axis=axis,
                                                                         stable=True)


@rule("searchsorted")
def _searchsorted(a, v, side="left", sorter=None):
    if sorter is not None:
        raise UnsupportedParamsError("searchsorted(sorter=...) has no jax translation")
    return jnp.searchsorted(a, v, side=side)


@rule("unbroadcast")
def _unbroadcast(x, shape):
    shape = tuple(shape)
    lead = jnp.ndim(x) - len(shape)
    if lead:
        x = jnp.sum(x, axis=tuple(range(lead)))
    dims = tuple(i for i, (n, m) in enumerate(zip(shape, jnp.shape(x))) if n == 1 and m != 1)
    return jnp.sum(x, axis=dims, keepdims=True) if dims else x


def _index(idx, arrays):
    from ..ops.index import fill

    return tuple(fill(idx, list(arrays)))


RULES["getitem"] = lambda x, *arrays, idx: jnp.asarray(x)[_index(idx, arrays)]
RULES["index_add"] = lambda x, v, *arrays, idx: jnp.asarray(x).at[_index(idx, arrays)].add(v)
RULES["index_set"] = lambda x, v, *arrays, idx: jnp.asarray(x).at[_index(idx, arrays)].set(v)


@rule("pad")
def _pad(x, pad_width, constant_values=0, mode="constant"):
    return jnp.pad(x, pad_width, constant_values=constant_values)


@rule("windows")
def _windows(x, kernel, stride, padding, dilation, pad_value=0.0):
    lead = jnp.ndim(x) - 2
    x = jnp.pad(x, [(0, 0)] * lead + [tuple(p) for p in padding], constant_values=pad_value)
    out_hw = windows_out_size(x.shape[-2:], kernel, stride, dilation)
    parts = {(i, j): x[index] for i, j, index in kernel_offsets(kernel, stride, dilation,
                                                                 out_hw)}
    return jnp.stack([jnp.stack([parts[i, j] for j in range(kernel[1])], axis=-3)
                      for i in range(kernel[0])], axis=-4)


@rule("overlap_add")
def _overlap_add(cols, shape, kernel, stride, padding, dilation):
    (pt, pb), (pl, pr) = padding
    out = jnp.zeros(cols.shape[:-4] + (shape[0] + pt + pb, shape[1] + pl + pr), cols.dtype)
    for i, j, index in kernel_offsets(kernel, stride, dilation, cols.shape[-2:]):
        out = out.at[index].add(cols[..., i, j, :, :])
    return out[..., pt:pt + shape[0], pl:pl + shape[1]]


RULES["inv"] = jnp.linalg.inv
RULES["det"] = jnp.linalg.det
RULES["cholesky"] = jnp.linalg.cholesky
RULES["solve"] = jnp.linalg.solve
RULES["eigvalsh"] = lambda x, UPLO="L": jnp.linalg.eigvalsh(x, UPLO=UPLO)


# eigh, svd and qr are packed into one array, as gradlab's primitives pack them.
@rule("eigh")
def _eigh(x, UPLO="L"):
    w, v = jnp.linalg.eigh(x, UPLO=UPLO, symmetrize_input=False)
    return jnp.concatenate([w[..., None, :].astype(v.dtype), v], axis=-2)


@rule("svd")
def _svd(x):
    u, s, vh = jnp.linalg.svd(x, full_matrices=False)
    return jnp.concatenate([u, s[..., None, :].astype(u.dtype), jnp.swapaxes(vh, -1, -2)],
                           axis=-2)


@rule("qr")
def _qr(x):
    q, r = jnp.linalg.qr(x)
    return jnp.concatenate([q, jnp.swapaxes(r, -1, -2)], axis=-2)


RULES["svdvals"] = lambda x: jnp.linalg.svd(x, compute_uv=False)
RULES["slogdet_sign"] = lambda x: jnp.linalg.slogdet(x)[0]
RULES["logabsdet"] = lambda x: jnp.linalg.slogdet(x)[1]
RULES["pinv"] = lambda x, rcond=None, hermitian=False: jnp.linalg.pinv(
    x, rtol=1e-15 if rcond is None else rcond, hermitian=hermitian)
for _name in ("fft", "ifft", "rfft", "irfft"):
    RULES[_name] = (lambda fn: lambda x, n=None, axis=-1, norm=None: fn(x, n=n, axis=axis,
                                                                        norm=norm))(
        getattr(jnp.fft, _name))
del _name
