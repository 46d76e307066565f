"""Random programs for the compiled tape's property checks (tests and ``make bench``).

A *spec* is ``(n_inputs, ops)``: ``ops`` is a list of ``(name, i, j)`` applying the
primitive ``name`` to earlier values ``i`` (and ``j`` for a binary one), where values
are numbered inputs first, then one per op. ``dag_function(spec)`` is the plain
numpy function the spec describes; its output is the sum of the last value and of
every value no op reads (so no op is dead code).

>>> f = dag_function((2, [("multiply", 0, 1), ("add", 2, 0)]))
>>> import numpy as np
>>> float(f(np.array([2.0]), np.array([3.0])))
8.0
"""

from __future__ import annotations

import numpy as np

UNARY_EXACT = {"negative": np.negative}
BINARY_EXACT = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply}
UNARY_FLOAT = {**UNARY_EXACT, "tanh": np.tanh, "sin": np.sin, "cos": np.cos,
               "exp_tanh": lambda x: np.exp(np.tanh(x))}
BINARY_FLOAT = {**BINARY_EXACT, "maximum": np.maximum,
                "hypot1": lambda a, b: np.sqrt(a * a + b * b + 1.0)}


def dag_function(spec, exact: bool = True):
    """The numpy function of ``spec`` (see the module docstring)."""
    n_inputs, ops = spec
    unary = UNARY_EXACT if exact else UNARY_FLOAT
    binary = BINARY_EXACT if exact else BINARY_FLOAT

    def f(*xs):
        values = list(xs)
        read = set()
        for name, i, j in ops:
            if name in unary:
                values.append(unary[name](values[i]))
                read.add(i)
            else:
                values.append(binary[name](values[i], values[j]))
                read.update((i, j))
        unread = [v for k, v in enumerate(values[n_inputs:-1], n_inputs) if k not in read]
        total = np.sum(values[-1])
        for v in unread:
            total = total + np.sum(v)
        return total

    return f


def random_spec(rng, n_inputs=3, n_ops=12, exact=True):
    """A random spec drawn with a numpy ``Generator``."""
    names = list((UNARY_EXACT if exact else UNARY_FLOAT)) + list(
        (BINARY_EXACT if exact else BINARY_FLOAT))
    ops = []
    for k in range(n_ops):
        n = n_inputs + k
        ops.append((names[rng.integers(len(names))], int(rng.integers(n)),
                    int(rng.integers(n))))
    return n_inputs, ops


def spec_inputs(rng, spec, exact=True, size=3):
    """Inputs for a spec: small integers as float64 (exact), else normal floats."""
    n_inputs, _ = spec
    if exact:
        return tuple(rng.integers(-3, 4, size=size).astype(np.float64) for _ in range(n_inputs))
    return tuple(rng.normal(size=size) for _ in range(n_inputs))
