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

try:
    from .lower import DSLSyntaxError, lower
except ModuleNotFoundError as exc:  # the DSL's tokenizer is an optional dependency
    missing = (exc.name or "").split(".")[0]
    if missing not in ("pipescript", "pyccolo"):
        raise
    raise ModuleNotFoundError(
        f"gradlab's notebook DSL (%load_ext gradlab) needs {missing}, which is not "
        "installed. Install it with: pip install 'gradlab[ipython]'", name=exc.name) from exc
from .extension import load_ipython_extension, unload_ipython_extension
from .weights import Weights, frozen, params_block, tied, train

__all__ = ["DSLSyntaxError", "Weights", "frozen", "load_ipython_extension", "lower",
           "params_block", "tied", "train", "unload_ipython_extension"]
