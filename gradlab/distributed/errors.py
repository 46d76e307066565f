"""Errors raised on a worker come back with the user's traceback, not Ray's."""

from __future__ import annotations

import os
import traceback

_HIDDEN = (os.sep + "ray" + os.sep, os.path.dirname(os.path.abspath(__file__)))


class WorkerError(RuntimeError):
    """User code failed on a Ray worker. The message holds the worker-side traceback
    (Ray's and gradlab.distributed's own frames removed); ``cause`` is the original
    exception where it could be sent back."""

    def __init__(self, message: str, cause: BaseException | None = None):
        super().__init__(message)
        self.cause = cause


def capture(exc: BaseException, where: str) -> tuple:
    """What a worker sends back for ``exc``: ``("error", where, traceback text, exc)``."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not any(h in f.filename for h in _HIDDEN)]
    text = "".join(traceback.format_list(frames))
    text += "".join(traceback.format_exception_only(type(exc), exc))
    try:
        import pickle

        pickle.dumps(exc)
    except Exception:  # an exception that cannot travel: its text still does
        exc = None
    return ("error", where, text, exc)


def raise_if_error(reply):
    """Raise ``WorkerError`` for a reply made by ``capture``; else return the reply."""
    if isinstance(reply, tuple) and reply and reply[0] == "error":
        _, where, text, exc = reply
        raise WorkerError(f"{where} failed in user code:\nTraceback (on the worker):\n{text}",
                          exc) from exc
    return reply
