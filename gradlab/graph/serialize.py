"""``Graph.to_json`` / ``Graph.from_json``: the IR as plain JSON.

>>> import numpy as np, gradlab as gl
>>> g = gl.capture(lambda x: np.sum(x[1:] * 3.0), np.arange(4.0))
>>> h = gl.Graph.from_json(g.to_json())
>>> float(h(np.ones(4)))
9.0

Values that JSON lacks are tagged objects: ``{"ndarray": list, "dtype": ..., "shape": ...}``,
``{"slice": [start, stop, step]}``, ``{"ellipsis": true}``, ``{"tuple": [...]}``,
``{"dtype": "float32"}``, ``{"slot": k}`` (an index array operand's place). Pytree
structures of tuples, lists, dicts and ``None`` are supported.
"""

from __future__ import annotations

import json

import numpy as np

from ..core.primitive import PRIMITIVES
from ..core.shapes import ShapeDtypeStruct
from ..core.tree import TreeDef
from ..intercept.lazy_rules import load_all
from .ir import Eqn, Graph, Guard

VERSION = 1


def encode(x):
    """A JSON-ready form of a parameter or constant value."""
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, np.generic):
        return {"float": repr(x)} if isinstance(x, float) and not np.isfinite(x) else x
    if isinstance(x, complex):
        return {"complex": [x.real, x.imag]}
    if isinstance(x, (np.ndarray, np.generic)):
        arr = np.asarray(x)
        data = arr.tolist()
        if arr.dtype.kind == "c":
            data = [arr.real.tolist(), arr.imag.tolist()]
        elif arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            data = np.vectorize(repr)(arr).tolist()
        return {"ndarray": data, "dtype": arr.dtype.name, "shape": list(arr.shape),
                "scalar": isinstance(x, np.generic)}
    if isinstance(x, slice):
        return {"slice": [encode(x.start), encode(x.stop), encode(x.step)]}
    if x is Ellipsis:
        return {"ellipsis": True}
    if isinstance(x, np.dtype) or (isinstance(x, type) and issubclass(x, np.generic)):
        return {"dtype": np.dtype(x).name}
    if type(x) is tuple:
        return {"tuple": [encode(v) for v in x]}
    if type(x) is list:
        return [encode(v) for v in x]
    if type(x).__name__ == "Slot":
        return {"slot": x.k}
    raise TypeError(f"to_json: cannot encode a {type(x).__name__} ({x!r:.60}); graphs "
                    "holding Python callables (custom rules, checkpoints) are not serialisable")


def decode(x):
    if isinstance(x, list):
        return [decode(v) for v in x]
    if not isinstance(x, dict):
        return x
    if "ndarray" in x:
        dtype = np.dtype(x["dtype"])
        data = x["ndarray"]
        if dtype.kind == "c":
            arr = np.asarray(data[0]) + 1j * np.asarray(data[1])
        else:
            arr = np.asarray(data, dtype=float if dtype.kind == "f" else None)
        arr = arr.astype(dtype).reshape(x["shape"])
        return arr[()] if x.get("scalar") else arr
    if "float" in x:
        return float(x["float"])
    if "complex" in x:
        return complex(*x["complex"])
    if "slice" in x:
        return slice(*[decode(v) for v in x["slice"]])
    if "ellipsis" in x:
        return Ellipsis
    if "dtype" in x:
        return np.dtype(x["dtype"])
    if "tuple" in x:
        return tuple(decode(v) for v in x["tuple"])
    if "slot" in x:
        from ..ops.index import Slot

        return Slot(x["slot"])
    return {k: decode(v) for k, v in x.items()}


_KINDS = {"tuple": tuple, "list": list, "dict": dict, "none": type(None)}


def encode_tree(td: TreeDef):
    if td.kind is None:
        return "*"
    for name, kind in _KINDS.items():
        if td.kind is kind:
            aux = list(td.aux) if kind is dict else None
            return {"kind": name, "keys": aux, "children": [encode_tree(c) for c in td.children]}
    raise TypeError(f"to_json: the pytree node type {td.kind.__name__} is not serialisable "
                    "(tuples, lists, dicts and None are)")


def decode_tree(x) -> TreeDef:
    if x == "*":
        return TreeDef(None, None, ())
    kind = _KINDS[x["kind"]]
    aux = tuple(x["keys"]) if kind is dict else None
    return TreeDef(kind, aux, tuple(decode_tree(c) for c in x["children"]))


def graph_to_json(graph: Graph) -> str:
    doc = {
        "version": VERSION,
        "inputs": [{"id": v, "name": n} for v, n in zip(graph.inputs, graph.input_names)],
        "in_tree": encode_tree(graph.in_tree),
        "static_args": {str(k): encode(v) for k, v in graph.static_args.items()},
        "avals": {str(v): [list(a.shape), np.dtype(a.dtype).name] for v, a in graph.avals.items()},
        "consts": [{"id": v, "value": encode(c)} for v, c in graph.consts.items()],
        "eqns": [{"primitive": e.primitive.name, "inputs": list(e.inputs),
                  "params": {k: encode(p) for k, p in e.params.items()},
                  "outputs": list(e.outputs), "multiple": e.multiple} for e in graph.eqns],
        "outputs": list(graph.outputs),
        "out_tree": encode_tree(graph.out_tree),
        "guards": [{"value": g.value, "kind": g.kind, "expected": encode(g.expected),
                    "location": g.location, "after": g.after} for g in graph.guards],
        "next_id": graph.next_id,
    }
    return json.dumps(doc)


def graph_from_json(text: str) -> Graph:
    doc = json.loads(text)
    if doc.get("version") != VERSION:
        raise ValueError(f"graph JSON version {doc.get('version')!r}; expected {VERSION}")
    g = Graph()
    g.inputs = [i["id"] for i in doc["inputs"]]
    g.input_names = [i["name"] for i in doc["inputs"]]
    g.in_tree = decode_tree(doc["in_tree"])
    g.static_args = {int(k): decode(v) for k, v in doc["static_args"].items()}
    g.avals = {int(v): ShapeDtypeStruct(tuple(s), np.dtype(d)) for v, (s, d) in
               doc["avals"].items()}
    g.consts = {c["id"]: decode(c["value"]) for c in doc["consts"]}
    for e in doc["eqns"]:
        prim = PRIMITIVES.get(e["primitive"])
        if prim is None:  # SciPy's, numpy.fft's: declared on first use, maybe not yet
            load_all()
            prim = PRIMITIVES.get(e["primitive"])
        if prim is None:
            raise KeyError(f"from_json: no primitive named {e['primitive']!r} is declared")
        g.eqns.append(Eqn(prim, e["inputs"], {k: decode(p) for k, p in e["params"].items()},
                          e["outputs"], e["multiple"]))
    g.outputs = list(doc["outputs"])
    g.out_tree = decode_tree(doc["out_tree"])
    g.guards = [Guard(d["value"], d["kind"], decode(d["expected"]), d["location"], d["after"])
                for d in doc["guards"]]
    g.next_id = doc["next_id"]
    return g
