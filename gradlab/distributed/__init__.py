"""Scale-out on Ray: data-parallel training and parallel maps that give the
single-process answer (``pip install 'gradlab[distributed]'``).

>>> import numpy as np, gradlab as gl              # doctest: +SKIP
>>> gl.distributed.init()                          # a local Ray; RAY_ADDRESS joins a cluster
>>> result = gl.distributed.train(loss, params, (X, y), steps=100,
...                               optimizer=gl.optim.Adam(0.01), num_workers=2,
...                               batch_size=64, key=gl.random.key(0))

``train`` equals single-process ``gl.train`` on the same global batches
(``sharded_batches``), survives a killed worker without losing or repeating a step,
and resumes from its last checkpoint bit for bit. See docs/distributed.md.
"""

from .cluster import init, is_initialized, shutdown
from .errors import WorkerError
from .pmap import map
from .trainer import Trainer, sharded_batches, train

__all__ = ["init", "is_initialized", "shutdown", "train", "Trainer", "sharded_batches", "map",
           "WorkerError"]
