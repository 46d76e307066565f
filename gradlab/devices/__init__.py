"""Devices and array modules: the same programs on numpy (CPU) and CuPy (GPU) arrays.

``get_array_module`` answers which array module a value belongs to (numpy, CuPy, a
registered device's); ``device``/``to_device``/``on_cpu``/``on_device`` place pytrees.
See docs/devices.md.

>>> import numpy as np, gradlab as gl
>>> gl.devices.get_array_module(np.ones(2)) is np
True
"""

from __future__ import annotations

from ..core.errors import DeviceError
from .array_module import get_array_module, is_foreign_array, on_device_of, register_array_type

# Placement (``device``, ``to_device``...) is imported on first use: ``import gradlab``
# needs only ``get_array_module``.
_PLACEMENT = ("Device", "DeviceUnavailableError", "Placed", "current_device", "device",
              "device_spec", "on_cpu", "on_device", "register_device", "to_device")


def __getattr__(name):
    if name not in _PLACEMENT:
        raise AttributeError(f"module 'gradlab.devices' has no attribute {name!r}")
    from . import placement

    value = getattr(placement, name)
    globals()[name] = value
    return value


__all__ = ["DeviceError", "get_array_module", "is_foreign_array", "on_device_of",
           "register_array_type", *_PLACEMENT]
