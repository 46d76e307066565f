"""Contractions: ``einsum`` (one primitive), ``tensordot`` and the named products.

``einsum`` is normalised once (interleaved form -> subscripts, implicit output ->
explicit, ``...`` -> fresh labels), so the primitive sees only explicit labels. Its
VJP for operand i is another einsum, of the cotangent with the other operands,
producing operand i's labels; a label repeated in operand i (a trace, a diagonal)
is produced under a fresh name and tied back by an identity matrix, and a label
summed only within operand i comes from a ones vector. Batching adds one label.
``tensordot`` (and ``dot``/``inner`` on N-D arrays) is transpose + reshape + matmul,
so every derivative is a BLAS call.

>>> import numpy as np, gradlab as gl
>>> gl.grad(lambda a: np.einsum("ii->", a))(np.ones((2, 2))).tolist()
[[1.0, 0.0], [0.0, 1.0]]
"""

from __future__ import annotations

import functools

import numpy as np

from ..core.errors import ShapeError
from ..core.primitive import VARIADIC, Primitive, implements
from ..core.rules import PerOperand
from ..core.shapes import ShapeDtypeStruct
from ..core.trace import Tracer
from ..devices.array_module import get_array_module
from ..precision.dtypes import float32_einsum
from .families import Structural, unbroadcast
from .misc import dtype_of
from .shape import moveaxis, ravel, reshape, stack, transpose

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # string.ascii_letters


def _split(subscripts):
    ins, out = subscripts.split("->")
    return ins.split(","), out


def _fresh(used):
    for c in _LETTERS:
        if c not in used:
            used.add(c)
            return c
    raise ValueError("einsum: more than 52 distinct labels")


def _label_sizes(ins, shapes):
    sizes = {}
    for labels, shape in zip(ins, shapes):
        if len(labels) != len(shape):
            raise ShapeError(f"einsum: operand with subscripts {labels!r} has shape {shape}")
        for c, n in zip(labels, shape):
            sizes[c] = n if sizes.get(c, 1) == 1 else sizes[c]
    return sizes


@functools.lru_cache(maxsize=512)
def _path(subscripts, shapes):
    """The contraction order numpy's optimiser picks, computed once per signature."""
    operands = [np.broadcast_to(np.zeros((), np.float64), s) for s in shapes]
    return np.einsum_path(subscripts, *operands, optimize="greedy")[0]


def _einsum_impl(*operands, subscripts):
    if len(operands) < 2:
        return float32_einsum(subscripts, *operands)
    return float32_einsum(subscripts, *operands,
                          optimize=_path(subscripts, tuple(np.shape(o) for o in operands)))


def _einsum_vjp(i, g, ans, *operands, subscripts):
    ins, out = _split(subscripts)
    sizes = _label_sizes(ins, [np.shape(o) for o in operands])
    used = set(subscripts) - {",", "-", ">"}
    dtype = dtype_of(g)
    new_ins = [out] + [s for j, s in enumerate(ins) if j != i]
    new_ops = [g] + [o for j, o in enumerate(operands) if j != i]
    target, seen = [], set()
    for c in ins[i]:
        if c in seen:  # a repeated label: a fresh one, tied to it by an identity matrix
            f = _fresh(used)
            new_ins.append(c + f)
            new_ops.append(get_array_module(g).eye(sizes[c], dtype=dtype))
            c = f
        seen.add(c)
        target.append(c)
    present = set("".join(new_ins))
    for c in target:
        if c not in present:  # summed within operand i alone: its cotangent is spread
            new_ins.append(c)
            new_ops.append(get_array_module(g).ones(sizes[c], dtype=dtype))
            present.add(c)
    ct = einsum_p(*new_ops, subscripts=",".join(new_ins) + "->" + "".join(target))
    return unbroadcast(ct, np.shape(operands[i]))


def _einsum_jvp(i, t, ans, *operands, subscripts):
    ops = list(operands)
    ops[i] = t
    return einsum_p(*ops, subscripts=subscripts)


def _batch_einsum(prim, args, dims, params):
    ins, out = _split(params["subscripts"])
    b = _fresh(set(params["subscripts"]))
    moved = [a if d is None else moveaxis(a, d, 0) for a, d in zip(args, dims)]
    ins = [s if d is None else b + s for s, d in zip(ins, dims)]
    return einsum_p(*moved, subscripts=",".join(ins) + "->" + b + out), 0


def _einsum_shape(prim, avals, params):
    ins, out = _split(params["subscripts"])
    sizes = _label_sizes(ins, [tuple(a.shape) for a in avals])
    return ShapeDtypeStruct(tuple(sizes[c] for c in out),
                            np.result_type(*(np.dtype(a.dtype) for a in avals)))


def _einsum_examples(rng):
    n = rng.normal
    return [((n(size=(2, 3)), n(size=(3, 4))), {"subscripts": "ij,jk->ik"}),
            ((n(size=(3, 3)),), {"subscripts": "ii->"}),
            ((n(size=(3, 3)),), {"subscripts": "ii->i"}),
            ((n(size=(2, 3)),), {"subscripts": "ij->j"}),
            ((n(size=(3,)), n(size=(3,))), {"subscripts": "i,i->"}),
            ((n(size=(2, 3, 4)), n(size=(3, 5)), n(size=(5, 4))), {"subscripts": "ijk,jl,lk->i"}),
            ((n(size=(2, 1, 3)), n(size=(4, 3))), {"subscripts": "abi,ci->abc"}),
            ((n(size=(2, 2, 3)),), {"subscripts": "iij->ji"}),
            ((n(size=(3,)), n(size=(4,))), {"subscripts": "i,j->ij"})]


einsum_p = Primitive(
    "einsum", _einsum_impl, family=Structural, nin=VARIADIC, params=("subscripts",),
    vjp=PerOperand(_einsum_vjp), jvp=PerOperand(_einsum_jvp), batch=_batch_einsum,
    shape=_einsum_shape, examples=_einsum_examples,
    doc="``np.einsum`` with explicit subscripts (``einsum`` normalises every other form).")


# --- normalising numpy's einsum forms -------------------------------------------------------
def _interleaved(args):
    """``einsum(a, [0, 1], b, [1, 2], [0, 2])`` -> ``("AB,BC->AC", (a, b))``."""
    def letters(sub):  # numpy's mapping: 0-25 are A-Z, 26-51 are a-z
        return "".join("..." if x is Ellipsis else (_LETTERS[26:] + _LETTERS[:26])
                       [int(x)] for x in sub)

    out = None
    if len(args) % 2:  # operand, sublist pairs, then the output's sublist
        args, out = args[:-1], args[-1]
    operands, subs = list(args[0::2]), list(args[1::2])
    spec = ",".join(letters(s) for s in subs)
    if out is not None:
        spec += "->" + letters(out)
    return spec, operands


def _explicit(spec, operands):
    """Implicit output made explicit and ``...`` replaced by fresh labels."""
    spec = spec.replace(" ", "")
    ins, out = (spec.split("->") + [None])[:2]
    ins = ins.split(",")
    if len(ins) != len(operands):
        raise ValueError(f"einsum: {len(ins)} subscripts for {len(operands)} operands")
    if out is None:
        counts = {c: "".join(ins).count(c) for c in set("".join(ins)) if c != "."}
        out = ("..." if any("..." in s for s in ins) else "") + "".join(
            sorted(c for c, k in counts.items() if k == 1))
    used = set(spec) - set(".,->")
    widths = [np.ndim(o) - (len(s) - 3) for s, o in zip(ins, operands) if "..." in s]
    ell = "".join(_fresh(used) for _ in range(max(widths, default=0)))
    full = [s.replace("...", ell[len(ell) - (np.ndim(o) - (len(s) - 3)):]) if "..." in s
            else s for s, o in zip(ins, operands)]
    return ",".join(full) + "->" + out.replace("...", ell)


def _einsum_composition_examples(rng):
    n = rng.normal
    return [(("ij,jk", n(size=(2, 3)), n(size=(3, 4))), {}),
            (("...ij,...jk->...ik", n(size=(5, 2, 3)), n(size=(3, 4))), {}),
            (("i...->...", n(size=(2, 3, 4))), {}),
            ((n(size=(2, 3)), [0, 1], n(size=(3,)), [1], [0]), {}),
            (("ij,jk,kl->il", n(size=(2, 3)), n(size=(3, 4)), n(size=(4, 2))), {}),
            (("ii", n(size=(3, 3))), {})]


@implements(np.einsum, examples=_einsum_composition_examples)
def einsum(*operands, out=None, optimize=False, dtype=None, casting="safe", order="K"):
    """``np.einsum`` in every form: subscripts or interleaved, implicit or explicit output,
    ``...``, repeated labels, any number of operands."""
    if isinstance(operands[0], str):
        spec, ops = operands[0], list(operands[1:])
    else:
        spec, ops = _interleaved(operands)
    ops = [o if isinstance(o, Tracer) else np.asarray(o) for o in ops]
    result = einsum_p(*ops, subscripts=_explicit(spec, ops))
    if dtype is not None:
        from .misc import convert

        result = convert(result, dtype)
    return result


# --- tensordot and the named products -------------------------------------------------------
def _prod(shape):
    return int(np.prod(shape, dtype=np.int64))


@implements(np.tensordot, examples=lambda rng: [
    ((rng.normal(size=(2, 3, 4)), rng.normal(size=(3, 4, 5))), {}),
    ((rng.normal(size=(2, 3)), rng.normal(size=(3, 2))), {"axes": ([0, 1], [1, 0])}),
    ((rng.normal(size=(2, 3)), rng.normal(size=(4,))), {"axes": 0}),
    ((rng.normal(size=(3, 2)), rng.normal(size=(3,))), {"axes": (0, 0)})])
def tensordot(a, b, axes=2):
    """``np.tensordot`` as transpose + reshape + matmul (derivatives are matmuls too)."""
    from .linalg import matmul

    na, nb = np.ndim(a), np.ndim(b)
    if np.ndim(axes) == 0:
        k = int(axes)
        axes_a, axes_b = list(range(na - k, na)), list(range(k))
    else:
        axes_a, axes_b = ([int(x)] if np.ndim(x) == 0 else [int(v) for v in x] for x in axes)
    axes_a, axes_b = [x % na for x in axes_a], [x % nb for x in axes_b]
    sa, sb = np.shape(a), np.shape(b)
    if [sa[x] for x in axes_a] != [sb[x] for x in axes_b]:
        raise ShapeError(f"tensordot: shape-mismatch for sum ({sa} axes {axes_a}, {sb} axes "
                         f"{axes_b})")
    free_a = [x for x in range(na) if x not in axes_a]
    free_b = [x for x in range(nb) if x not in axes_b]
    inner = _prod([sa[x] for x in axes_a])
    a2 = reshape(transpose(a, free_a + axes_a), (_prod([sa[x] for x in free_a]), inner))
    b2 = reshape(transpose(b, axes_b + free_b), (inner, _prod([sb[x] for x in free_b])))
    return reshape(matmul(a2, b2), tuple(sa[x] for x in free_a) + tuple(sb[x] for x in free_b))


@implements(np.inner, examples=lambda rng: [
    ((rng.normal(size=(3,)), rng.normal(size=(3,))), {}),
    ((rng.normal(size=(2, 3)), rng.normal(size=(4, 3))), {}), ((2.0, rng.normal(size=(3,))), {})])
def inner(a, b):
    """``np.inner``: contracts the last axes."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return a * b
    return tensordot(a, b, axes=([-1], [-1]))


@implements(np.outer, examples=lambda rng: [
    ((rng.normal(size=(3,)), rng.normal(size=(4,))), {}),
    ((rng.normal(size=(2, 2)), rng.normal(size=(3,))), {})])
def outer(a, b, out=None):
    """``np.outer`` of the flattened inputs."""
    return reshape(ravel(a), (-1, 1)) * reshape(ravel(b), (1, -1))


@implements(np.vdot, examples=lambda rng: [
    ((rng.normal(size=(3,)), rng.normal(size=(3,))), {}),
    ((rng.normal(size=(2, 3)), rng.normal(size=(3, 2))), {})])
def vdot(a, b):
    """``np.vdot``: ``sum(conj(a) * b)`` over the flattened inputs."""
    from .linalg import matmul

    a, b = ravel(a), ravel(b)
    if np.iscomplexobj(a):
        from .complex import conj

        a = conj(a)
    return matmul(a, b)


@implements(np.kron, examples=lambda rng: [
    ((rng.normal(size=(2, 2)), rng.normal(size=(3, 2))), {}),
    ((rng.normal(size=(3,)), rng.normal(size=(2, 2))), {})])
def kron(a, b):
    """``np.kron`` as one broadcast product and a reshape."""
    nd = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (nd - np.ndim(a)) + np.shape(a)
    sb = (1,) * (nd - np.ndim(b)) + np.shape(b)
    a2 = reshape(a, tuple(n for s in sa for n in (s, 1)))
    b2 = reshape(b, tuple(n for s in sb for n in (1, s)))
    return reshape(a2 * b2, tuple(x * y for x, y in zip(sa, sb)))


@implements(np.trace, examples=lambda rng: [((rng.normal(size=(3, 3)),), {}),
                                            ((rng.normal(size=(2, 3, 4)), 1, 1, 2), {})])
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """``np.trace``: the sum of a diagonal."""
    from .manip import diagonal
    from .reduce import sum as sum_

    return sum_(diagonal(a, offset, axis1, axis2), axis=-1)


def _components(v, n):
    return [v[..., i] for i in range(n)] + [None] * (3 - n)


@implements(np.cross, examples=lambda rng: [
    ((rng.normal(size=(3,)), rng.normal(size=(3,))), {}),
    ((rng.normal(size=(4, 3)), rng.normal(size=(3,))), {}),
    ((rng.normal(size=(3, 2)), rng.normal(size=(2, 3))), {"axisa": 0, "axisb": -1})])
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """``np.cross`` of 3-vectors (and of 2-vectors, whose cross product is a scalar)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    na, nb = np.shape(a)[-1], np.shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product (dimension must be 2 or 3)")
    (a0, a1, a2), (b0, b1, b2) = _components(a, na), _components(b, nb)
    z = a0 * b1 - a1 * b0
    if na == nb == 2:
        return z
    x = (a1 * b2 if b2 is not None else 0.0) - (a2 * b1 if a2 is not None else 0.0)
    y = (a2 * b0 if a2 is not None else 0.0) - (a0 * b2 if b2 is not None else 0.0)
    shape = np.broadcast_shapes(*(np.shape(c) for c in (x, y, z)))
    from .stacking import broadcast_to

    out = stack([broadcast_to(c, shape) for c in (x, y, z)], axis=-1)
    return moveaxis(out, -1, axisc)
