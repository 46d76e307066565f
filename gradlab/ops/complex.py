"""Complex numbers: ``real``, ``imag``, ``conj``, ``angle``, ``real_if_close`` (``abs`` is in
elementwise.py).

gradlab follows HIPS autograd's convention (docs/complex.md): for a real-valued
``f`` of complex ``z = x + iy``, ``grad(f)(z) = df/dx - i df/dy``, and a VJP rule
multiplies by the *plain* (not conjugated) derivative of a holomorphic op, so
``exp``, ``matmul``, ``fft`` ... need nothing special. Only the non-holomorphic
ops below state their own rules. A real value's cotangent is always real: the
reverse tape drops the imaginary part where a real value fed a complex one.

>>> import numpy as np, gradlab as gl
>>> bool(np.isclose(gl.grad(lambda z: np.abs(z) ** 2)(3.0 + 4.0j), 6 - 8j))
True
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive, implements
from ..core.tape import register_real_part
from ..core.trace import Tracer, concrete
from ..devices.array_module import get_array_module
from .families import Elementwise


def is_complex(x) -> bool:
    """Whether ``x`` (array, scalar or tracer) has a complex dtype."""
    dt = getattr(x, "dtype", None)
    if dt is None:
        return isinstance(x, complex)
    return np.dtype(dt).kind == "c"


def _complex_examples(rng):
    def z(*shape):
        return rng.normal(size=shape) + 1j * rng.normal(size=shape)

    return [((z(3),), {}), ((z(2, 3),), {}), ((z(),), {})]


def abs_derivative(ans, x):
    """``d|x|/dx`` as a VJP factor: ``sign(x)`` if real, ``conj(x)/|x|`` (0 at 0) if complex."""
    from .elementwise import sign, where  # elementwise imports this module

    if not is_complex(x):
        return sign(x)
    return conj(x) / where(ans == 0, 1.0, ans)


def _abs2(x):
    """``|x|**2`` as a real array."""
    return real(x * conj(x))


real_p = Primitive(
    "real", np.real, family=Elementwise, examples=_complex_examples,
    vjp=lambda g, ans, x: g + 0j if is_complex(x) else g,
    jvp=lambda t, ans, x: real(t),
    doc="The real part of a complex array (its cotangent is the real cotangent, as complex).")

imag_p = Primitive(
    "imag", np.imag, family=Elementwise, examples=_complex_examples,
    vjp=lambda g, ans, x: -1j * g,
    jvp=lambda t, ans, x: imag(t),
    doc="The imaginary part of a complex array (cotangent ``-1j * g``: d/dx - i d/dy).")

conj_p = Primitive(
    "conj", np.conj, family=Elementwise, examples=_complex_examples,
    vjp=lambda g, ans, x: conj(g),
    jvp=lambda t, ans, x: conj(t),
    doc="The complex conjugate (its own transpose: conj in, conj out).")

angle_p = Primitive(
    "angle", np.angle, family=Elementwise, examples=_complex_examples,
    vjp=lambda g, ans, x: g * (-1j * conj(x)) / _abs2(x),
    jvp=lambda t, ans, x: imag(conj(x) * t) / _abs2(x),
    doc="The argument of a complex number: ``d angle = Im(conj(z) dz) / |z|**2``.")


@implements(np.real)
def real(val):
    """``np.real``: the real part; a real array is returned as is (no tape node)."""
    return real_p(val) if is_complex(val) else val


@implements(np.imag)
def imag(val):
    """``np.imag``: the imaginary part; zeros (a constant) for a real array."""
    if is_complex(val):
        return imag_p(val)
    dtype = val.dtype if hasattr(val, "dtype") else np.result_type(val)
    return get_array_module(val).zeros(np.shape(val), dtype)


@implements(np.conj, np.conjugate)
def conj(x):
    """``np.conj``: the complex conjugate; a real array is returned as is."""
    return conj_p(x) if is_complex(x) else x


@implements(np.angle)
def angle(z, deg=False):
    """``np.angle``: the argument in radians (degrees with ``deg=True``)."""
    out = angle_p(z)
    return out * (180.0 / np.pi) if deg else out


# Array attributes of every tracer (``z.real``, ``z.imag``, ``z.conj()``), as on ndarray.
Tracer.real = property(real)
Tracer.imag = property(imag)
Tracer.conj = conj
Tracer.conjugate = conj
register_real_part(real)  # the backward walk's real part of a complex cotangent


@implements(np.real_if_close, examples=lambda rng: [
    ((rng.normal(size=3) + 1e-18j,), {}), ((rng.normal(size=3) + 0.5j,), {})])
def real_if_close(a, tol=100):
    """``np.real_if_close``: the real part when every imaginary part is nearly zero.

    "Nearly" is ``tol`` machine epsilons; the choice reads the value, so not under ``vmap``.
    """
    if not is_complex(a):
        return a
    value = np.asarray(concrete(a, "np.real_if_close"))
    limit = tol * np.finfo(value.dtype).eps if tol > 1 else tol
    return real(a) if np.all(np.abs(value.imag) < limit) else a
