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
from .placement import (
    Device,
    DeviceUnavailableError,
    Placed,
    current_device,
    device,
    device_spec,
    on_cpu,
    on_device,
    register_device,
    to_device,
)

__all__ = ["Device", "DeviceError", "DeviceUnavailableError", "Placed", "current_device",
           "device", "device_spec", "get_array_module", "is_foreign_array", "on_cpu",
           "on_device", "on_device_of", "register_array_type", "register_device", "to_device"]
