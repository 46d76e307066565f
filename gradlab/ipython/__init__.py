"""gradlab's notebook DSL: ``%load_ext gradlab``, then ``|>`` pipelines and ``params{...}``.

In IPython or Jupyter::

    %load_ext gradlab
    with params{ w1 = 0.1 * rng.normal(size=(4, 16)); b1 = np.zeros(16)
                 w2 = 0.1 * rng.normal(size=(16, 3)); b2 = np.zeros(3) } as weights:
        logits = $ |> $ @ w1 + b1 |> relu |> $ @ w2 + b2
        loss = lambda: cross_entropy(logits(X), y)
        train(weights, loss, 200, Adam(1e-2))

``$ |> ...`` defines a function of one argument; ``x |> f |> $ + 1`` is a value.
Inside the block ``w1`` means ``weights['w1']``: the weights are never written into
the notebook's globals. The same lowering is available outside IPython as
``gradlab.ipython.lower(source)``; see ``docs/dsl.md`` for the whole language.

>>> import numpy as np
>>> ns = {"np": np}
>>> exec(lower("f = $ |> $ * 2 |> np.sum"), ns)
>>> float(ns["f"](np.ones(3)))
6.0
"""

from .extension import load_ipython_extension, unload_ipython_extension
from .lower import DSLSyntaxError, lower
from .weights import Weights, frozen, params_block, tied, train

__all__ = ["DSLSyntaxError", "Weights", "frozen", "load_ipython_extension", "lower",
           "params_block", "tied", "train", "unload_ipython_extension"]
