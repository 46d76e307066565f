"""The public functions of ``gradlab.backends`` (see the package docstring)."""

from __future__ import annotations

import warnings

import numpy as np

from ..core.tree import tree_flatten, tree_unflatten
from .translate import backend, interpret, to_backend, to_numpy

BACKENDS = ("torch", "jax")


def _capture(f, args):
    from ..graph import capture

    return capture(f, *args)


def compile_to(f, target: str, *example_args):
    """``f`` as a function over ``target``'s arrays (``"torch"`` or ``"jax"``).

    ``f`` is captured once on ``example_args`` (numpy arrays and pytrees of them); the
    result takes and returns the same pytrees of torch tensors / jax arrays, and the
    framework's autodiff (``torch.autograd``, ``jax.grad``) differentiates it. The jax
    version is pure, so ``jax.jit`` compiles it. Python control flow follows the branches
    of the captured call. Primitives without a translation raise
    ``MissingTranslationError`` naming them.

    >>> import numpy as np, gradlab as gl, jax
    >>> f_jax = gl.compile_to(lambda x: np.sum(np.sin(x) ** 2), "jax", np.zeros(3))
    >>> g = jax.jit(jax.grad(f_jax))(np.array([0.1, 0.2, 0.3]))
    >>> bool(np.allclose(g, np.sin(2 * np.array([0.1, 0.2, 0.3]))))
    True
    """
    graph = _capture(f, example_args)
    fn = interpret(graph, target)
    fn.graph = graph
    fn.__name__ = f"{getattr(f, '__name__', 'f')}_{target}"
    return fn


def _signature(args):
    leaves, treedef = tree_flatten(tuple(args))
    return treedef, tuple((np.shape(x), np.result_type(x).str) if _is_numeric(x) else x
                          for x in leaves)


def _is_numeric(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic, float, int, complex))


def value_and_grad(fun, target: str, *, has_aux: bool = False):
    """Like ``gl.value_and_grad(fun, has_aux=has_aux)`` (gradient of the first argument),
    computed by ``target``'s autodiff on the captured graph; numpy in, numpy out.

    The graph is captured and translated once per argument signature (shapes, dtypes,
    structure); the jax version is ``jax.jit``-compiled.

    >>> import numpy as np, gradlab as gl
    >>> vg = gl.backends.value_and_grad(lambda w: np.sum(w ** 3), "torch")
    >>> value, grad = vg(np.array([1.0, 2.0]))
    >>> float(value), grad.tolist()
    (9.0, [3.0, 12.0])
    """
    if target not in BACKENDS:
        raise ValueError(f"unknown backend {target!r}; choose one of {list(BACKENDS)}")
    cache: dict = {}

    def value_and_grad_fn(*args):
        key = _signature(args)
        compiled = cache.get(key)
        if compiled is None:
            compiled = cache[key] = _VALUE_AND_GRAD[target](
                interpret(_capture(fun, args), target), has_aux)
        return compiled(*args)

    return value_and_grad_fn


def _numpy(tensor):
    return tensor.detach().cpu().numpy()


def _torch_value_and_grad(run, has_aux):
    import torch

    def compute(*args):
        first, rest = to_backend(args[0], "torch"), to_backend(args[1:], "torch")
        leaves, treedef = tree_flatten(first)
        wrt = [x for x in leaves if isinstance(x, torch.Tensor) and x.is_floating_point()]
        for x in wrt:
            x.requires_grad_(True)
        out = run(first, *rest)
        value = out[0] if has_aux else out
        grads = iter(torch.autograd.grad(value, wrt, allow_unused=True))
        flat = []
        for x in leaves:
            if isinstance(x, torch.Tensor) and x.is_floating_point():
                g = next(grads)
                flat.append(np.zeros(x.shape, _numpy(x).dtype) if g is None else _numpy(g))
            else:
                flat.append(None)
        grad = tree_unflatten(treedef, flat)
        value_np = to_numpy(out, "torch")
        return value_np, grad

    return compute


def _jax_value_and_grad(run, has_aux):
    import jax

    jitted = jax.jit(jax.value_and_grad(run, has_aux=has_aux))

    def compute(*args):
        value, grad = jitted(*to_backend(args, "jax"))
        return to_numpy(value, "jax"), to_numpy(grad, "jax")

    return compute


_VALUE_AND_GRAD = {"torch": _torch_value_and_grad, "jax": _jax_value_and_grad}


def to_torch_module(f, params):
    """A ``torch.nn.Module`` computing ``f(params, *inputs)`` whose parameters are
    ``params``'s arrays (trained weights, say), as ``torch.nn.Parameter``s.

    ``f`` is captured on the first call for each input signature. ``module.params``
    rebuilds the parameter pytree from the module's current values (after fine-tuning in
    torch).

    >>> import numpy as np, gradlab as gl, torch
    >>> m = gl.to_torch_module(lambda p, x: np.tanh(x @ p["w"]), {"w": np.eye(2)})
    >>> m(torch.ones(1, 2)).shape, [n for n, _ in m.named_parameters()]
    (torch.Size([1, 2]), ['w'])
    """
    import torch

    leaves, treedef = tree_flatten(params)
    names = _leaf_names(params, len(leaves))

    class GradlabModule(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self._names = names
            for name, leaf in zip(names, leaves):
                self.register_parameter(name, torch.nn.Parameter(
                    torch.as_tensor(np.array(leaf)),
                    requires_grad=np.issubdtype(np.result_type(leaf), np.inexact)))
            self._graphs: dict = {}

        @property
        def params(self):
            return tree_unflatten(treedef, [getattr(self, n) for n in self._names])

        def forward(self, *inputs):
            numpy_inputs = tuple(to_numpy(x, "torch") for x in inputs)
            key = _signature(numpy_inputs)
            run = self._graphs.get(key)
            if run is None:
                current = tree_unflatten(treedef, [to_numpy(getattr(self, n), "torch")
                                                   for n in self._names])
                run = self._graphs[key] = interpret(
                    _capture(f, (current,) + numpy_inputs), "torch")
            return run(self.params, *inputs)

    GradlabModule.__name__ = GradlabModule.__qualname__ = (
        f"GradlabModule_{getattr(f, '__name__', 'f')}")
    return GradlabModule()


def _leaf_names(params, n):
    from ..graph.capture import _leaf_names as names_of

    raw = names_of((params,), [""])[:n]
    clean = []
    for i, name in enumerate(raw):
        safe = "".join(c if c.isalnum() else "_" for c in str(name)).strip("_") or f"p{i}"
        clean.append(safe if safe not in clean else f"{safe}_{i}")
    return clean


class _Flat:
    """``f``'s torch translation as a module of flat tensor inputs (for tracing/export)."""

    def __init__(self, f, example_args):
        graph = _capture(f, example_args)
        self.graph, self.run = graph, interpret(graph, "torch")
        self.treedef = tree_flatten(tuple(example_args))[1]
        self.flat = [np.asarray(x) for x in graph.flat_args(example_args)]

    def module(self):
        import torch

        outer = self

        class Flat(torch.nn.Module):
            def forward(self, *flat):
                leaves = iter(flat)
                args = tree_unflatten(outer.treedef, [
                    outer.graph.static_args[i] if i in outer.graph.static_args
                    else next(leaves) for i in range(outer.treedef.num_leaves)])
                out = outer.run(*args)
                return tuple(tree_flatten(out)[0])

        return Flat()

    def tensors(self):
        import torch

        return tuple(torch.as_tensor(x) for x in self.flat)


def export_torchscript(f, path, *example_args):
    """Save ``f`` (captured on ``example_args``) as TorchScript at ``path``; the saved module
    takes the flattened array leaves of the arguments and returns a tuple of the output's
    leaves. Returns the loaded ``torch.jit.ScriptModule``.

    >>> import numpy as np, gradlab as gl, torch, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "f.pt")
    >>> m = gl.export_torchscript(lambda x: np.exp(x) * 2, p, np.zeros(2))
    >>> m(torch.zeros(2))[0].tolist()
    [2.0, 2.0]
    """
    import torch

    flat = _Flat(f, example_args)
    traced = torch.jit.trace(flat.module(), flat.tensors(), check_trace=False)
    torch.jit.save(traced, str(path))
    return torch.jit.load(str(path))


def export_onnx(f, path, *example_args, check: bool = True, opset: int = 17,
                rtol: float = 1e-6, atol: float = 1e-8):
    """Write ``f`` (captured on ``example_args``) to an ONNX file at ``path``.

    The ONNX graph's inputs are the flattened array leaves of the arguments (named after
    them, ``x``, ``params_w``...), its outputs the output's leaves. The export goes
    through the torch translation. With ``check=True`` the file is run in onnxruntime on
    ``example_args`` and compared with gradlab's own values (``AssertionError`` if they
    differ beyond ``rtol``/``atol``). Needs ``pip install 'gradlab[onnx]'``. Returns
    ``path``.
    """
    import torch

    flat = _Flat(f, example_args)
    names = [_onnx_name(n, i) for i, n in enumerate(flat.graph.input_names)]
    default = torch.get_default_dtype()
    # The exporter types 0-d constants with torch's default dtype and casts to it: a
    # float64 program is exported under a float64 default so that nothing is narrowed.
    wide = any(np.result_type(x) == np.float64 for x in flat.flat)
    try:
        if wide:
            torch.set_default_dtype(torch.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript-based exporter's deprecation
            torch.onnx.export(flat.module(), flat.tensors(), str(path), input_names=names,
                              opset_version=opset, dynamo=False)
    finally:
        torch.set_default_dtype(default)
    if check:
        expected = tree_flatten(f(*example_args))[0]
        got = run_onnx(path, *flat.flat)
        for e, g in zip(expected, got):
            np.testing.assert_allclose(g, np.asarray(e), rtol=rtol, atol=atol,
                                       err_msg=f"ONNX export of {path} disagrees with gradlab")
    return path


def _onnx_name(name, i):
    safe = "".join(c if c.isalnum() else "_" for c in str(name)).strip("_")
    return safe or f"input_{i}"


def run_onnx(path, *flat_inputs):
    """Run an exported ONNX file in onnxruntime on flat numpy inputs; a list of outputs."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise ImportError("running ONNX files needs onnxruntime: pip install "
                          "'gradlab[onnx]'") from exc
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: np.asarray(x) for i, x in zip(session.get_inputs(), flat_inputs)}
    return session.run(None, feeds)


def coverage() -> dict:
    """``{backend: sorted primitive names it translates}`` for the installed backends."""
    out = {}
    for name in BACKENDS:
        try:
            out[name] = sorted(backend(name).RULES)
        except ImportError:
            continue
    return out
