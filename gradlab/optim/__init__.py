"""``gradlab.optim``: pure optimizers, gradient clipping and learning-rate schedules.

>>> import numpy as np, gradlab as gl
>>> opt = gl.optim.SGD(lr=gl.optim.cosine_decay(0.1, 100), momentum=0.9, clip_norm=1.0)
>>> state = opt.init({"w": np.zeros(3)})
>>> sorted(state)
['step', 'velocity']
"""

from . import schedules
from .optimizers import SGD, Adam, AdamW, Optimizer, RMSProp, clip_by_global_norm, global_norm
from .schedules import constant, cosine_decay, linear_decay, step_decay, warmup

__all__ = ["Adam", "AdamW", "Optimizer", "RMSProp", "SGD", "clip_by_global_norm", "constant",
           "cosine_decay", "global_norm", "linear_decay", "schedules", "step_decay", "warmup"]
