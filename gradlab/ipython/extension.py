"""``%load_ext gradlab``: the DSL in IPython and Jupyter, and ``%unload_ext`` to undo it.

Loading installs exactly two things, and unloading removes exactly those:

- an input transformer (``shell.input_transformers_post``) that lowers each cell's
  DSL to plain Python before IPython compiles and caches it (see ``lower``), so
  ``linecache`` holds plain Python and gradlab can re-read and instrument functions
  defined in DSL cells;
- an exception display hook (``shell.set_custom_exc``, only when no other handler is
  installed) that shows tracebacks with the cell lines as the user wrote them, ``|>``
  and all, rather than their lowered form. The line numbers are the same either way.

No names are added to the user's namespace, no AST transformers or event callbacks
are registered, and nothing is patched on the shell's class.
"""

from __future__ import annotations

import contextlib
import linecache
import traceback
import warnings
from collections import OrderedDict
from typing import Any

from ..core.errors import SOURCE_LINE_HOOKS
from .lower import DSLSyntaxError, lower

MAX_REMEMBERED_CELLS = 1000  # lowered cell text -> what the user wrote, for tracebacks

_LOADED: dict = {}  # id(shell) -> its _Extension


class _Extension:
    def __init__(self, shell):
        self.shell = shell
        self.originals: OrderedDict = OrderedDict()
        self.transformer = self.transform  # the one bound method object we install
        self.saved_custom_exc = None

    # the input transformer ------------------------------------------------------------

    def transform(self, lines: list[str]) -> list[str]:
        """IPython input transformer: the cell's DSL lowered to Python, line for line."""
        source = "".join(lines)
        try:
            lowered = lower(source, filename=self._cell_name(source))
        except DSLSyntaxError:
            raise  # IPython shows it as the cell's syntax error, nothing runs
        except Exception as exc:  # a bug in the lowering must not block a valid cell
            warnings.warn(f"gradlab DSL: could not rewrite this cell ({type(exc).__name__}: "
                          f"{exc}); running it as written", RuntimeWarning, stacklevel=2)
            return lines
        if lowered is source:
            return lines
        key = tuple(lowered.splitlines())
        self.originals[key] = source
        self.originals.move_to_end(key)
        while len(self.originals) > MAX_REMEMBERED_CELLS:
            self.originals.popitem(last=False)
        return lowered.splitlines(keepends=True)

    def _cell_name(self, source: str) -> str:
        """The name IPython will give this cell (used in DSL syntax errors)."""
        try:
            return self.shell.compile.get_code_name(source, source,
                                                    self.shell.execution_count)
        except Exception:  # an unusual host: a generic name is fine in a message
            return "<cell>"

    # tracebacks --------------------------------------------------------------------------

    @contextlib.contextmanager
    def original_source(self, exc: BaseException):
        """While active, ``linecache`` shows the user's DSL text for lowered cells."""
        swapped: dict = {}
        for frame, _ in _frames(exc):
            name = frame.f_code.co_filename
            entry = linecache.cache.get(name)
            if name in swapped or not entry or len(entry) != 4:
                continue
            original = self.originals.get(tuple("".join(entry[2]).splitlines()))
            if original is not None:
                swapped[name] = entry
                lines = [line + "\n" for line in original.splitlines()]
                linecache.cache[name] = (len(original), None, lines, name)
        try:
            yield
        finally:
            linecache.cache.update(swapped)

    def show_error(self, shell, etype, value, tb, tb_offset=None):
        """The custom exception handler: IPython's own display, over the user's text."""
        with self.original_source(value):
            if issubclass(etype, IndentationError):  # raised while compiling the cell
                shell.showindentationerror()
            elif issubclass(etype, SyntaxError):
                shell.showsyntaxerror()
            else:
                shell.showtraceback((etype, value, tb), tb_offset=tb_offset,
                                    running_compiled_code=True)
        return None

    def original_line(self, filename: str, lineno: int):
        """The DSL text of a lowered cell's line, for gradlab's own error messages."""
        entry = linecache.cache.get(filename)
        if not entry or len(entry) != 4:
            return None
        original = self.originals.get(tuple("".join(entry[2]).splitlines()))
        if original is None:
            return None
        lines = original.splitlines()
        return lines[lineno - 1] if 0 < lineno <= len(lines) else None

    # load / unload ---------------------------------------------------------------------

    def load(self):
        SOURCE_LINE_HOOKS.append(self.original_line)
        self.shell.input_transformers_post.append(self.transformer)
        if not self.shell.custom_exceptions:
            self.saved_custom_exc = (self.shell.custom_exceptions, self.shell.CustomTB)
            self.shell.set_custom_exc((Exception,), self.show_error)

    def unload(self):
        if self.original_line in SOURCE_LINE_HOOKS:
            SOURCE_LINE_HOOKS.remove(self.original_line)
        post = self.shell.input_transformers_post
        for i in reversed(range(len(post))):
            if post[i] is self.transformer:
                del post[i]
        if self.saved_custom_exc is not None:
            self.shell.custom_exceptions, self.shell.CustomTB = self.saved_custom_exc


def _frames(exc: BaseException | None):
    """Every traceback frame of ``exc`` and of the exceptions chained to it."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield from traceback.walk_tb(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext gradlab``: turn on the ``|>`` / ``params{...}`` DSL in this shell."""
    if id(shell) in _LOADED:
        return
    ext = _Extension(shell)
    ext.load()
    _LOADED[id(shell)] = ext


def unload_ipython_extension(shell: Any) -> None:
    """``%unload_ext gradlab``: remove everything ``load_ipython_extension`` installed."""
    ext = _LOADED.pop(id(shell), None)
    if ext is not None:
        ext.unload()
