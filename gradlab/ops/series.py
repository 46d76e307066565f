"""The evaluation functions of ``numpy.polynomial``, declared on first use.

The series are evaluated by the same recurrences numpy uses (Horner's rule for power
series, Clenshaw's for Chebyshev, Legendre, Hermite and Laguerre series), written with
gradlab ops, so they are differentiable in ``x`` and in the coefficients ``c`` to any
order. ``c`` follows numpy's conventions: its first axis indexes the coefficients, and
with ``tensor=True`` (the default) every column of a multi-dimensional ``c`` is
evaluated at every ``x``. A ``Polynomial``/``Chebyshev``/... object called on a traced
value evaluates the same way (after mapping its domain to its window).

``import gradlab`` does not import ``numpy.polynomial`` (numpy itself loads it only
when asked, and it costs about a tenth of ``import numpy``): the first time the
call-site resolver or a tracer's protocol meets one of its callables,
``gradlab.intercept.lazy_rules`` imports this module.

>>> import numpy as np, gradlab as gl
>>> from numpy.polynomial import chebyshev as C
>>> float(gl.grad(lambda x: C.chebval(x, [0.0, 0.0, 1.0]))(0.5))   # T2 = 2x^2 - 1
2.0
"""

from __future__ import annotations

import numpy as np
import numpy.polynomial as P

from ..core.primitive import implements
from ..core.trace import Tracer
from .shape import reshape


def _coefficients(c, x, tensor):
    """numpy's preparation: ``c`` as an array; with ``tensor`` one axis per ``x`` axis."""
    c = c if isinstance(c, Tracer) else np.asarray(c)
    if np.asarray(c).dtype.kind in "iub" if not isinstance(c, Tracer) else False:
        c = c.astype(np.float64)
    if tensor and np.ndim(c) > 0:
        c = reshape(c, tuple(np.shape(c)) + (1,) * np.ndim(x))
    return c


def _horner(x, c):
    out = c[-1] + 0.0 * x
    for k in range(2, np.shape(c)[0] + 1):
        out = c[-k] + out * x
    return out


def _clenshaw(x, c, step, finish):
    """The three-term recurrences of numpy's chebval/legval/hermval/hermeval/lagval."""
    n = np.shape(c)[0]
    if n == 1:
        return c[0] + 0.0 * x
    c0, c1 = c[-2], c[-1]
    for i in range(3, n + 1):
        c0, c1 = step(c[-i], c0, c1, x, n - i + 3)  # numpy's nd, before its decrement
    return finish(c0, c1, x)


def _cheb_step(ci, c0, c1, x, nd):
    return ci - c1, c0 + c1 * (2.0 * x)


def _leg_step(ci, c0, c1, x, nd):
    nd -= 1
    return ci - c1 * ((nd - 1) / nd), c0 + c1 * x * ((2 * nd - 1) / nd)


def _herm_step(ci, c0, c1, x, nd):
    nd -= 1
    return ci - c1 * (2.0 * (nd - 1)), c0 + c1 * (2.0 * x)


def _herme_step(ci, c0, c1, x, nd):
    nd -= 1
    return ci - c1 * (nd - 1.0), c0 + c1 * x


def _lag_step(ci, c0, c1, x, nd):
    nd -= 1
    return ci - c1 * ((nd - 1) / nd), c0 + c1 * ((2 * nd - 1) - x) / nd


SERIES = {  # numpy's evaluation function -> (module, recurrence, final combination)
    "polyval": (P.polynomial, None, None),
    "chebval": (P.chebyshev, _cheb_step, lambda c0, c1, x: c0 + c1 * x),
    "legval": (P.legendre, _leg_step, lambda c0, c1, x: c0 + c1 * x),
    "hermval": (P.hermite, _herm_step, lambda c0, c1, x: c0 + c1 * (2.0 * x)),
    "hermeval": (P.hermite_e, _herme_step, lambda c0, c1, x: c0 + c1 * x),
    "lagval": (P.laguerre, _lag_step, lambda c0, c1, x: c0 + c1 * (1.0 - x)),
}


def _val_examples(rng):
    return [((rng.normal(size=4), rng.normal(size=3)), {}),
            ((rng.normal(size=(2, 3)), rng.normal(size=(4, 2))), {}),
            ((rng.normal(size=2), rng.normal(size=(3, 2))), {"tensor": False}),
            ((0.3, rng.normal(size=1)), {})]


def _grid_examples(rng, k):
    return [((*[rng.normal(size=3) for _ in range(k)], rng.normal(size=(3,) * k)), {})]


def _renamed(fn):
    """A fresh function calling ``fn`` (each numpy spelling gets its own name and doc)."""
    def wrapper(*args):
        return fn(*args)
    return wrapper


def _make_series(name, module, step, finish):
    def val(x, c, tensor=True):
        c = _coefficients(c, x, tensor)
        return _horner(x, c) if step is None else _clenshaw(x, c, step, finish)

    def val_nd(*points_and_c):
        *points, c = points_and_c
        out = val(points[0], c)
        for x in points[1:]:
            out = val(x, out, tensor=False)
        return out

    def grid_nd(*points_and_c):
        *points, c = points_and_c
        for x in points:
            c = val(x, c)
        return c

    prefix = name[:-3]
    val.__name__ = val.__qualname__ = name
    val.__doc__ = f"``np.polynomial.{module.__name__.split('.')[-1]}.{name}``."
    fns = {name: val}
    for k in (2, 3):
        for kind, fn, examples in (("val", val_nd, lambda rng, k=k: _grid_examples(rng, k)),
                                   ("grid", grid_nd, lambda rng, k=k: _grid_examples(rng, k))):
            spelled = f"{prefix}{kind}{k}d"
            wrapper = _renamed(fn)
            wrapper.__name__ = wrapper.__qualname__ = spelled
            wrapper.__doc__ = f"``{module.__name__}.{spelled}``: nested ``{name}`` calls."
            implements(getattr(module, spelled), examples=examples)(wrapper)
            fns[spelled] = wrapper
    implements(getattr(module, name), examples=_val_examples)(val)
    return val


_EVALUATORS = {getattr(module, name): _make_series(name, module, step, finish)
               for name, (module, step, finish) in SERIES.items()}


def _class_examples(rng):
    return [((P.Polynomial([1.0, -2.0, 0.5]), rng.normal(size=3)), {}),
            ((P.Chebyshev([0.5, 1.0, -1.0], domain=[-2.0, 2.0]), rng.normal(size=3)), {}),
            ((P.Legendre([0.0, 1.0, 2.0], domain=[0.0, 1.0]), rng.uniform(size=3)), {})]


@implements(P._polybase.ABCPolyBase.__call__, examples=_class_examples)
def series_call(self, arg):
    """Calling a ``numpy.polynomial`` series object (``Polynomial``, ``Chebyshev``, ...)."""
    val = _EVALUATORS.get(type(self)._val)
    if val is None:
        from ..core.errors import NoRuleError

        raise NoRuleError(f"{type(self).__name__}(...)(x) has no gradlab rule")
    off, scl = P.polyutils.mapparms(self.domain, self.window)
    return val(off + scl * arg, self.coef)
