"""The arguments of a numpy call that reaches gradlab, checked against numpy's own signature.

A keyword numpy accepts and gradlab's rule does not (``np.sum(x, where=m)`` before
reductions took ``where``) raises ``NoRuleError`` naming the function and the keyword,
never an internal ``TypeError`` about an implementation's parameters; a keyword given
at numpy's default value (``where=True``, ``casting="same_kind"``) is dropped. A list
or tuple holding traced values, passed where numpy's documentation says ``array_like``
(``np.mean([a, b])``, ``np.linalg.norm([a, b])``), becomes one traced array, as
``np.array([a, b])`` does. What numpy's signature says is read once per function, on
the first call that needs it.

>>> import numpy as np, gradlab as gl
>>> float(gl.grad(lambda a, b: np.mean([a, b * b]), argnum=1)(1.0, 3.0))
3.0
"""

from __future__ import annotations

import inspect
import re

from .errors import NoRuleError, out_refused, user_location
from .trace import seq_has_tracer

# ``nested -> traced array`` for lists/tuples holding tracers: set by gradlab.ops.stacking
# (the stack primitive lives above core).
ARRAY_FROM_NESTED = [None]
_EMPTY = inspect.Parameter.empty
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
# "a : array_like", "x1, x2 : array_like", "a : (..., M, M) array_like" in numpydoc.
_ARRAY_LIKE = re.compile(r"^\s*(\w+(?:\s*,\s*\w+)*)\s*:\s*(?:\([^)\n]*\)\s*)?array_like", re.M)


def _signature(fn):
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def numpy_name(fn) -> str:
    """``np.sum``, ``np.linalg.norm``, ``scipy.special.gammaln``: how the user spells it."""
    module = getattr(fn, "__module__", None) or "numpy"
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", repr(fn))
    if module == "numpy" or module.startswith("numpy."):
        module = "np" + module[5:].replace("._core", "").replace(".fromnumeric", "")
    return f"{module}.{name}"


class CallSignature:
    """What numpy's ``original`` accepts, against what gradlab's replacement takes."""

    def __init__(self, original, gradlab_fn):
        self.name = numpy_name(original)
        self.gradlab_fn = gradlab_fn
        self.family = getattr(gradlab_fn, "family", None)  # a primitive's, with ``keywords``
        theirs = _signature(original)
        params = dict(theirs.parameters) if theirs is not None else {}
        self.numpy_defaults = {k: p.default for k, p in params.items()
                               if p.kind is not inspect.Parameter.VAR_POSITIONAL}
        self.numpy_positional = [k for k, p in params.items() if p.kind in _POSITIONAL]
        names = set()
        for group in _ARRAY_LIKE.findall(getattr(original, "__doc__", None) or ""):
            names.update(n.strip() for n in group.split(","))
        nin = getattr(gradlab_fn, "nin", None)
        self.operand_names = ()
        if isinstance(nin, int):  # a primitive: operands, then its parameters
            self.operand_names = tuple(self.numpy_positional[:nin])
            self.ours = set(getattr(gradlab_fn, "params", ())) | {"out"}
            self.our_positional = nin + len(getattr(gradlab_fn, "params", ()))
            self.array_positions = set(range(nin))
            self.any_keyword = False
        else:
            ours = _signature(gradlab_fn)
            our_params = ours.parameters.values() if ours is not None else ()
            self.ours = {p.name for p in our_params}
            self.any_keyword = ours is None or any(
                p.kind is inspect.Parameter.VAR_KEYWORD for p in our_params)
            self.our_positional = (10 ** 6 if ours is None or any(
                p.kind is inspect.Parameter.VAR_POSITIONAL for p in our_params)
                else sum(p.kind in _POSITIONAL for p in our_params))
            self.array_positions = set()
        self.array_positions |= {i for i, k in enumerate(self.numpy_positional) if k in names}
        self.array_names = names

    def prepare(self, args, kwargs):
        """``(args, kwargs)`` for gradlab's function; raises on what it cannot honour."""
        out = kwargs.get("out") if kwargs else None
        if out is not None and not (type(out) is tuple and all(o is None for o in out)):
            outs = out if type(out) is tuple else (out,)
            raise out_refused(self.name, traced_out=seq_has_tracer(outs))
        if kwargs and self.operand_names and len(args) < len(self.operand_names):
            args, kwargs = self._operands_by_name(args, kwargs)
        if kwargs and self.family is not None:  # ufuncs' ``dtype=``, ``order=``...
            args, kwargs = self.family.keywords(self.gradlab_fn, args, kwargs)
        if len(args) > self.our_positional and self.numpy_positional:
            extra = dict(zip(self.numpy_positional[self.our_positional:],
                             args[self.our_positional:]))
            args, kwargs = args[:self.our_positional], {**extra, **kwargs}
        if self.array_positions and any(type(a) in (list, tuple) for a in args):
            args = tuple(_stacked(a) if i in self.array_positions else a
                         for i, a in enumerate(args))
        if kwargs:
            kwargs = {k: _stacked(v) if k in self.array_names else v
                      for k, v in kwargs.items() if not self._dropped(k, v)}
        return args, kwargs

    def _operands_by_name(self, args, kwargs):
        """``np.linalg.solve(a=A, b=B)``: a primitive's operands given by numpy's names."""
        args, kwargs = list(args), dict(kwargs)
        for name in self.operand_names[len(args):]:
            if name not in kwargs:
                break
            args.append(kwargs.pop(name))
        return tuple(args), kwargs

    def _dropped(self, key, value):
        """Whether ``key=value`` is left out of the call (numpy's default); raises when
        gradlab cannot honour it."""
        if key in self.ours or self.any_keyword:
            return False
        if key not in self.numpy_defaults:
            if not self.numpy_defaults:
                return False  # numpy's signature is unknown: let the call decide
            raise TypeError(f"{self.name}() got an unexpected keyword argument {key!r}")
        if _is_default(value, self.numpy_defaults[key]):
            return True
        supported = sorted(k for k in self.ours if k in self.numpy_defaults and k != "out")
        raise NoRuleError(
            f"{self.name}(..., {key}=...) is not supported on traced values (at "
            f"{user_location()}): gradlab's rule for {self.name} takes "
            f"{', '.join(supported) or 'no keywords'}. Leave {key} out, or compute the "
            "call outside the differentiated function (see docs/rules.md).")


def _is_default(value, default) -> bool:
    if value is default or default is _EMPTY:
        return value is default
    simple = (bool, int, float, str, type(None))
    return type(value) in simple and type(default) in simple and value == default


def _stacked(value):
    if type(value) in (list, tuple) and seq_has_tracer(value):
        return ARRAY_FROM_NESTED[0](value)
    return value


_SIGNATURES: dict = {}  # (numpy function, gradlab's) -> CallSignature, read on first need


def prepare(original, gradlab_fn, args, kwargs):
    """``(args, kwargs)`` of a call of ``original`` that reaches ``gradlab_fn``, checked and
    converted; the signatures are read on the first call that needs them (most entries
    are never called with keywords or lists)."""
    key = (original, gradlab_fn)
    signature = _SIGNATURES.get(key)
    if signature is None:
        signature = _SIGNATURES[key] = CallSignature(original, gradlab_fn)
    return signature.prepare(args, kwargs)
