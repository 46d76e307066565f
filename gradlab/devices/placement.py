"""Devices: where arrays live, and moving pytrees of them between the CPU and a GPU.

``"cpu"`` is numpy. ``"cupy"`` is CuPy's current GPU (``pip install 'gradlab[cupy]'``
and a CUDA device). Other array libraries that speak numpy's protocols can be added
with :func:`register_device` (the tests register a fake one to exercise this path on
machines without a GPU).

- ``to_device(tree, "cupy")`` moves every array leaf of a pytree; a leaf wrapped as
  ``on_cpu[x]`` stays on the CPU, ``on_device(x, "cupy")`` goes where it says.
- ``with device("cupy"):`` makes ``"cupy"`` the default of ``to_device`` and ``train``.
- ``@device("cupy")`` on a function moves its arguments there before each call.

>>> import numpy as np, gradlab as gl
>>> tree = {"w": np.ones(2), "table": gl.on_cpu[np.arange(3)]}
>>> moved = gl.to_device(tree, "cpu")
>>> type(moved["w"]).__name__, type(moved["table"]).__name__
('ndarray', 'ndarray')
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import numpy as np

from .._types import Array, PyTree
from ..core.threads import local
from ..core.trace import Tracer
from ..core.tree import tree_map
from .array_module import get_array_module, register_array_type


class DeviceUnavailableError(RuntimeError):
    """A device was named whose library or hardware is not present."""


class DeviceSpec(NamedTuple):
    """A registered device: its array module, its array type, and the two copies.
    (Named tuples, not dataclasses, here: a frozen dataclass costs ~1 ms of ``import
    gradlab``.)"""

    name: str
    module: object
    array_type: type
    put: Callable  # numpy (or any) array -> this device's array
    get: Callable  # this device's array -> numpy array


_DEVICES: dict[str, DeviceSpec] = {}
_LOADERS: dict[str, Callable[[], DeviceSpec]] = {}
_STATE = local()


def register_device(name: str, module: Any, array_type: type, put: Callable,
                    get: Callable) -> DeviceSpec:
    """Add a device: ``module`` is its numpy-like array module (it must implement numpy's
    ``__array_ufunc__`` / ``__array_function__`` protocols on ``array_type``)."""
    spec = DeviceSpec(name, module, array_type, put, get)
    _DEVICES[name] = spec
    register_array_type(array_type, module)
    return spec


def _load_cupy() -> DeviceSpec:
    try:
        import cupy
    except ImportError as exc:
        raise DeviceUnavailableError(
            "device 'cupy' needs CuPy and a CUDA GPU: pip install 'gradlab[cupy]' (or a "
            "cupy-cudaXXx wheel matching your CUDA); CuPy is not installed here") from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken
        raise DeviceUnavailableError(f"device 'cupy': CuPy found no usable GPU ({exc})") from exc
    if count < 1:
        raise DeviceUnavailableError("device 'cupy': CuPy found no GPU")
    return register_device("cupy", cupy, cupy.ndarray, cupy.asarray, cupy.asnumpy)


_LOADERS["cupy"] = _load_cupy
register_device("cpu", np, np.ndarray, np.asarray, np.asarray)


def device_spec(name: str | Device) -> DeviceSpec:
    """The registered device called ``name`` (loading CuPy on first use of ``"cupy"``)."""
    if isinstance(name, Device):
        name = name.name
    spec = _DEVICES.get(name)
    if spec is None and name in _LOADERS:
        spec = _LOADERS[name]()
    if spec is None:
        raise ValueError(f"unknown device {name!r}; known: {sorted(set(_DEVICES) | set(_LOADERS))}"
                         " (register_device adds one)")
    return spec


def current_device() -> str | None:
    """The device of the innermost ``with device(...)`` block of this thread, or None."""
    stack = getattr(_STATE, "stack", None)
    return stack[-1].name if stack else None


class Device:
    """A device by name: a context (the default device), a decorator, a ``device=`` value."""

    def __init__(self, name: str):
        self.name = device_spec(name).name  # fails early, with the reason, if unavailable

    def __repr__(self):
        return f"device({self.name!r})"

    def __enter__(self):
        stack = getattr(_STATE, "stack", None)
        if stack is None:
            stack = _STATE.stack = []
        stack.append(self)
        return self

    def __exit__(self, *exc):
        popped = _STATE.stack.pop()
        assert popped is self, "devices exited out of order"
        return False

    def __call__(self, fn: Callable) -> Callable:
        """``fn`` with every argument moved to this device before the call."""

        @functools.wraps(fn)
        def on_this_device(*args, **kwargs):
            with self:
                return fn(*to_device(args, self.name), **to_device(kwargs, self.name))

        return on_this_device


def device(name: str) -> Device:
    """``device("cupy")``: a context, a function decorator, or the ``device=`` of ``train``.

    >>> import numpy as np, gradlab as gl
    >>> with gl.device("cpu"):
    ...     gl.devices.current_device()
    'cpu'
    """
    return Device(name)


class Placed:
    """A pytree leaf pinned to a device: ``to_device`` puts it there, whatever it is asked.
    (A leaf, so not a tuple: pytree functions would walk into one.)"""

    __slots__ = ("value", "device")

    def __init__(self, value: object, device: str):
        self.value = value
        self.device = device

    def __repr__(self):
        return f"Placed(value={self.value!r}, device={self.device!r})"


class _OnCpu:
    """``on_cpu[x]``: keep ``x`` on the CPU when its pytree moves to a GPU."""

    def __getitem__(self, value):
        return Placed(value, "cpu")

    def __repr__(self):
        return "on_cpu"


on_cpu = _OnCpu()


def on_device(value: Array, name: str) -> Placed:
    """``value`` pinned to device ``name`` when its pytree is moved (see ``to_device``)."""
    return Placed(value, device_spec(name).name)


def _move(leaf, spec: DeviceSpec):
    if isinstance(leaf, Placed):
        return _move(leaf.value, device_spec(leaf.device))
    if isinstance(leaf, Tracer):
        raise TypeError(
            f"to_device({spec.name!r}) got a traced value: move arrays to the device before "
            f"the transform, e.g. gl.device({spec.name!r})(gl.grad(f)), not inside it")
    if not hasattr(leaf, "shape") or isinstance(leaf, np.generic):
        return leaf  # Python and numpy scalars work with every device's arrays
    if type(leaf) is spec.array_type:
        return leaf
    module = get_array_module(leaf)
    if module is not np:  # another device's array: through the CPU
        leaf = _host_copy(leaf)
    return spec.put(leaf)


def _host_copy(leaf):
    for spec in _DEVICES.values():
        if isinstance(leaf, spec.array_type):
            return spec.get(leaf)
    raise TypeError(f"to_device: no registered device holds a {type(leaf).__name__}")


def to_device(tree: PyTree, name: str | None = None) -> PyTree:
    """``tree`` with every array leaf on device ``name`` (default: the current device).

    Scalars stay as they are; ``on_cpu[x]`` and ``on_device(x, name)`` leaves go where
    they say (and lose the wrapper).

    >>> import numpy as np, gradlab as gl
    >>> gl.to_device([np.ones(2), gl.on_cpu[np.zeros(1)], 3.0], "cpu")[2]
    3.0
    """
    if name is None:
        name = current_device() or "cpu"
    spec = device_spec(name)
    return tree_map(lambda leaf: _move(leaf, spec), tree, is_leaf=_is_placed)


def _is_placed(x) -> bool:
    return isinstance(x, Placed)
