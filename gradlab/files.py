"""Files gradlab writes: whole or not at all.

``atomic_write(path)`` gives a temporary file in the target's own folder; once the
block finishes, the data is flushed and fsynced and the file renamed over ``path``
(``os.replace``, atomic on POSIX and Windows). A crash, an exception or a kill while
writing leaves the previous file as it was. Every checkpoint writer uses it.

>>> import os, tempfile
>>> from gradlab.files import atomic_write
>>> path = os.path.join(tempfile.mkdtemp(), "notes.bin")
>>> with atomic_write(path) as f:
...     _ = f.write(b"complete")
>>> open(path, "rb").read()
b'complete'
"""

from __future__ import annotations

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """A file object whose contents replace ``path`` only once the block succeeds."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.",
                                suffix=".partial")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _sync_folder(folder)


def _sync_folder(folder):
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
