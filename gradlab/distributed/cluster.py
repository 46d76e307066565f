"""Starting or joining Ray: the embedded local default, or an existing cluster."""

from __future__ import annotations

import os
import sys
from typing import Any


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise ImportError("gradlab.distributed needs Ray: pip install 'gradlab[distributed]' "
                          "(or pip install ray)") from exc
    return ray


def is_initialized() -> bool:
    """Whether this process is connected to a Ray cluster."""
    return _ray().is_initialized()


def init(address: str | None = None, *, num_cpus: int | None = None, **ray_kwargs: Any) -> Any:
    """Connect to Ray, starting a local one when there is nothing to join.

    With no ``address`` and no ``RAY_ADDRESS`` in the environment, a local Ray starts on
    this machine (no dashboard, no set-up); its workers see this process's ``sys.path``,
    so functions defined in scripts and test modules unpickle there. ``address``
    (``"ray://host:10001"``, ``"auto"``) or ``RAY_ADDRESS`` joins an existing cluster.
    Calling ``init`` again while connected does nothing. Returns Ray's context.

    >>> import gradlab as gl                 # doctest: +SKIP
    >>> gl.distributed.init(num_cpus=2)
    """
    ray = _ray()
    if ray.is_initialized():
        return ray.get_runtime_context()
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        return ray.init(address=address, **ray_kwargs)
    ray_kwargs.setdefault("include_dashboard", False)
    ray_kwargs.setdefault("log_to_driver", True)
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    env = ray_kwargs.pop("runtime_env", None) or {}
    env.setdefault("env_vars", {}).setdefault("PYTHONPATH", os.pathsep.join(paths))
    for attempt in range(STARTUP_ATTEMPTS):
        try:
            return ray.init(num_cpus=num_cpus, runtime_env=env, **ray_kwargs)
        except Exception as exc:  # noqa: BLE001 - Ray raises a bare Exception for this
            # A busy machine can keep a local node from answering within Ray's startup
            # deadline ("timed out during startup"); a second start usually succeeds.
            if "timed out during startup" not in str(exc) or attempt + 1 == STARTUP_ATTEMPTS:
                raise
            ray.shutdown()
    raise AssertionError("unreachable")  # pragma: no cover


STARTUP_ATTEMPTS = 2  # tries to start a local Ray before its startup error is raised


def shutdown() -> None:
    """Disconnect from Ray (and stop the local one that ``init`` started)."""
    ray = _ray()
    if ray.is_initialized():
        ray.shutdown()


def ensure_initialized():
    """Ray, connected (``init()`` with its defaults on first use)."""
    ray = _ray()
    if not ray.is_initialized():
        init()
    return ray


def ship(fn):
    """``fn`` ready to send to workers: a function from the user's own code (a script, a
    notebook, a test module) travels by value, so workers need not import its module
    (they may run on another machine); installed libraries travel by reference."""
    from ..core.errors import is_library_file

    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    path = getattr(module, "__file__", None)
    if module is not None and path and module.__name__ != "__main__" \
            and not is_library_file(path):
        from ray import cloudpickle

        cloudpickle.register_pickle_by_value(module)
    return fn
