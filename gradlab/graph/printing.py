"""``print(graph)``: a jaxpr-like listing.

>>> import numpy as np, gradlab as gl
>>> print(gl.capture(lambda x: x * 2.0 + 1.0, np.ones(2)))
{ lambda ; a:f64[2] . let
    b:f64[2] = multiply a 2.0
    c:f64[2] = add b 1.0
  in (c) }
"""

from __future__ import annotations

import numpy as np

_SHORT = {"float64": "f64", "float32": "f32", "float16": "f16", "int64": "i64",
          "int32": "i32", "int8": "i8", "uint8": "u8", "bool": "bool",
          "complex128": "c128", "complex64": "c64"}


def dtype_name(dtype) -> str:
    name = np.dtype(dtype).name
    return _SHORT.get(name, name)


def aval_text(aval) -> str:
    return f"{dtype_name(aval.dtype)}[{','.join(map(str, aval.shape))}]"


def _letters(n: int) -> str:
    """0 -> a, 25 -> z, 26 -> ba, ... (jaxpr's naming)."""
    out = ""
    while True:
        out = chr(ord("a") + n % 26) + out
        n //= 26
        if n == 0:
            return out


def is_literal(value) -> bool:
    """Constants shown inline: Python scalars and 0-d arrays."""
    return isinstance(value, (bool, int, float, complex)) or (
        isinstance(value, np.ndarray) and value.ndim == 0) or isinstance(value, np.generic)


def value_names(graph) -> dict:
    """``{value id: printed name}``: inputs, array constants, then results in order."""
    names: dict[int, str] = {}
    counter = 0

    def name(v):
        nonlocal counter
        names[v] = _letters(counter)
        counter += 1

    for v, c in graph.consts.items():
        if not is_literal(c):
            name(v)
        else:
            names[v] = repr(c.item() if hasattr(c, "item") else c)
    for v in graph.inputs:
        name(v)
    for e in graph.eqns:
        for o in e.outputs:
            name(o)
    return names


def _param_text(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array{aval_text(value)}" if value.size > 6 else repr(value.tolist())
    if isinstance(value, np.dtype):
        return value.name
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def format_graph(graph) -> str:
    names = value_names(graph)
    consts = [v for v, c in graph.consts.items() if not is_literal(c)]
    avals = graph.avals

    def typed(v):
        return f"{names[v]}:{aval_text(avals[v])}"

    header = " ".join(typed(v) for v in consts)
    inputs = " ".join(typed(v) for v in graph.inputs)
    lines = [f"{{ lambda {header + ' ' if header else ''}; {inputs} . let"]
    guards = {}
    for g in graph.guards:
        guards.setdefault(g.after, []).append(g)
    for g in guards.get(-1, ()):
        lines.append(f"    guard {_guard_text(g, names)}")
    for n, e in enumerate(graph.eqns):
        outs = " ".join(typed(o) for o in e.outputs)
        params = ", ".join(f"{k}={_param_text(v)}" for k, v in e.params.items())
        prim = f"{e.primitive.name}[{params}]" if params else e.primitive.name
        args = " ".join(names[i] for i in e.inputs)
        lines.append(f"    {outs} = {prim} {args}".rstrip())
        for g in guards.get(n, ()):
            lines.append(f"    guard {_guard_text(g, names)}")
    lines.append(f"  in ({', '.join(names[o] for o in graph.outputs)}) }}")
    return "\n".join(lines)


def _guard_text(guard, names) -> str:
    where = guard.location.split(": ", 1)[0].rsplit("/", 1)[-1]
    if guard.kind == "bool":
        return f"{names[guard.value]} is {guard.expected}  # {where}"
    return f"{names[guard.value]} == {_param_text(guard.expected)}  # {where}"
