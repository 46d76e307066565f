"""Programs in the style of HIPS autograd's and JAX's examples, ported by changing imports.

Each module is ordinary numpy code (``import numpy as np``; scipy where the original used
``autograd.scipy``) and exposes ``setup()`` -> ``(params, data)`` with small deterministic
data and ``loss(params, *data)`` -> a scalar. ``tests/test_ported_programs.py`` checks them.
"""
