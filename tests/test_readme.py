"""The documentation's code runs: every ```python block of README.md and docs/*.md.

Each file's blocks run in order in one fresh module namespace (so later blocks see
earlier definitions), with the real file name and line numbers, so a failure points at
the Markdown line. A block fenced as ```python no-run is shown but not executed (for
sketches of API that does not exist yet, or code that needs a shell or network). A
block fenced as ```python ipython runs as a cell of a real IPython InteractiveShell (one
shell per file, its own namespace), for IPython syntax such as ``%load_ext gradlab``.
"""

from __future__ import annotations

import configparser
import re
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>.*)$")
SKIP_MARKER = "no-run"
IPYTHON_MARKER = "ipython"


@dataclass
class Block:
    lang: str
    options: list[str]
    line: int  # 1-based line of the first code line
    source: str


def extract_blocks(text: str) -> list[Block]:
    """All fenced code blocks of a Markdown text, with their info strings and lines."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE_OPEN.match(lines[i])
        if not m or (m["fence"][0] == "`" and "`" in m["info"]):  # inline code, not a fence
            i += 1
            continue
        indent, fence, info = m["indent"], m["fence"], m["info"].split()
        body, j = [], i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        lang = info[0].lower() if info else ""
        blocks.append(Block(lang, info[1:], i + 2, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def python_blocks(path: Path) -> list[Block]:
    return [b for b in extract_blocks(path.read_text()) if b.lang in ("python", "py")]


def run_blocks(path: Path, blocks: list[Block]) -> None:
    """Run blocks in one module namespace; fail naming the Markdown line on error."""
    name = "_doc_" + re.sub(r"\W", "_", path.stem)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module  # dataclasses, pickle, inspect look modules up by name
    shell = None
    try:
        for block in blocks:
            if SKIP_MARKER in block.options:
                continue
            if IPYTHON_MARKER in block.options:
                shell = shell or _new_shell()
                failure = run_ipython_block(path, block, shell)
            else:
                failure = run_block(path, block, module.__dict__)
            if failure:
                pytest.fail(failure, pytrace=False)
    finally:
        sys.modules.pop(name, None)
        if shell is not None:
            type(shell).clear_instance()


def _new_shell():
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    return InteractiveShell.instance()


def run_ipython_block(path: Path, block: Block, shell) -> str | None:
    """Run one block as an IPython cell; return a failure message, or None."""
    result = shell.run_cell(block.source, store_history=True)
    error = result.error_before_exec or result.error_in_exec
    if error is None:
        return None
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    if isinstance(error, SyntaxError):
        cell_line = error.lineno or 1
    else:  # the innermost frame of the cell itself (the frame after IPython's run_code)
        frames = traceback.extract_tb(error.__traceback__)
        cell = frames[1].filename if len(frames) > 1 else None
        cell_line = ([f.lineno for f in frames if f.filename == cell] or [1])[-1]
    return (f"{shown}:{block.line + cell_line - 1}: {type(error).__name__}: {error}\n"
            f"(in the ```python ipython block starting at line {block.line})")


def run_block(path: Path, block: Block, namespace: dict) -> str | None:
    """Execute one block; return a failure message naming the Markdown line, or None."""
    # Pad with blank lines so tracebacks and inspect.getsource see real line numbers.
    padded = "\n" * (block.line - 1) + block.source
    try:
        exec(compile(padded, str(path), "exec"), namespace)
    except Exception as exc:  # SystemExit and KeyboardInterrupt propagate
        line = error_line(exc, str(path)) or block.line
        tb = "".join(traceback.format_exception(exc))
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
        return (
            f"{shown}:{line}: {type(exc).__name__}: {exc}\n"
            f"(in the ```python block starting at line {block.line})\n\n{tb}"
        )
    return None


def error_line(exc: BaseException, filename: str) -> int | None:
    """The innermost traceback line that lies in the Markdown file itself."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            found = frame.lineno
    return found


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_doc_code_blocks_run(path, tmp_path, monkeypatch):
    blocks = python_blocks(path)
    if path.name == "README.md":
        assert blocks, "README.md has no ```python blocks to run"
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    run_blocks(path, blocks)


def test_readme_starts_with_install_then_the_two_commands():
    install, first = extract_blocks((ROOT / "README.md").read_text())[:2]
    commands = [line.strip() for line in first.source.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    pips = [line.split("#")[0].strip() for line in install.source.splitlines() if line.strip()]
    assert pips[0] == "pip install gradlab"
    extras = configparser.ConfigParser()
    extras.read(ROOT / "setup.cfg")
    declared = set(extras["options.extras_require"]) - {"test"}
    assert {p.split("[")[1].split("]")[0] for p in pips[1:]} == declared  # each extra shown
    python = extras["options"]["python_requires"].strip(">= ")
    assert f"Python {python} or newer" in (ROOT / "README.md").read_text()


def test_extract_blocks_reports_lines_and_markers():
    text = "# t\n\n```python\nx = 1\n```\n\n```` ```py ```` inline\n\n```python no-run\nboom\n```\n"
    blocks = extract_blocks(text)
    assert [(b.line, b.options, b.source) for b in blocks] == [
        (4, [], "x = 1\n"),
        (10, ["no-run"], "boom\n"),
    ]


def test_failing_block_names_markdown_line(tmp_path):
    doc = tmp_path / "bad.md"
    doc.write_text("intro\n\n```python\nx = 1\ny = x + undefined_name\n```\n")
    with pytest.raises(pytest.fail.Exception, match=r"bad\.md:5: NameError"):
        run_blocks(doc, python_blocks(doc))


def test_no_run_blocks_are_skipped(tmp_path):
    doc = tmp_path / "skip.md"
    doc.write_text("```python no-run\nraise SystemExit('ran')\n```\n```python\nvalue = 2\n```\n")
    run_blocks(doc, python_blocks(doc))  # would raise SystemExit if the first block ran


def test_ipython_blocks_run_in_a_shell(tmp_path):
    doc = tmp_path / "cells.md"
    doc.write_text("```python ipython\nx = 2\nget_ipython().user_ns['seen'] = x\n```\n"
                   "```python ipython\nassert seen == 2\n1 / 0\n```\n")
    with pytest.raises(pytest.fail.Exception, match=r"cells\.md:7: ZeroDivisionError"):
        run_blocks(doc, python_blocks(doc))
