"""Lower the notebook DSL to plain Python, line for line.

Two constructs are lowered:

- ``|>`` pipelines with ``$`` placeholders (pipescript's syntax; its tokenizer-aware
  augmentation specs find the operators, so ``"a |> b"`` in a string or comment is
  left alone). ``x |> f |> $ @ w`` is a value; a pipeline whose first part holds a
  placeholder (``$ |> $ @ w1 + b1 |> relu``) is a function of its placeholders; a
  pipeline that starts with ``|>`` (``|> X |> logits |> loss($, Y)``) is a function of
  no arguments (a thunk: an objective that reads its names when it is called).
- ``with params{ w1 = ...; b1 = ... } as weights:`` blocks: the header becomes a
  call that builds a ``Weights`` object, and inside the block every bare ``w1`` reads
  (or assigns) ``weights['w1']``, so nothing is written into the module's globals.

The output is ordinary Python with the same number of lines as the input and every
pipeline stage on its original line. IPython caches that text in ``linecache``, so
``inspect.getsource`` and gradlab's call-site instrumentation (which re-reads a
function's source) see plain Python, and a function written with ``|>`` in a cell can
be differentiated like any other.

>>> print(lower("f = $ |> $ * 2 |> str"))
f = (lambda __gl_v: (__gl_v := (__gl_v * 2), (str)(__gl_v))[-1])
>>> eval(lower("3 |> $ + 1 |> str"))
'4'
>>> eval(lower("|> 3 |> $ + 1 |> str"))()
'4'
"""

from __future__ import annotations

import ast
import bisect
import io
import keyword
import re
import tokenize
from typing import Any, cast

from pipescript.tracers.pipeline_tracer import PipelineTracer
from pyccolo.syntax_augmentation import replace_tokens_and_get_augmented_positions

__all__ = ["DSLSyntaxError", "lower", "HELPERS", "VALUE"]

PIPE_SPEC = PipelineTracer.pipeline_op_spec  # ``|>`` -> ``|``, position recorded
HOLE_SPEC = PipelineTracer.arg_placeholder_spec  # ``$`` -> ``_``, position recorded
VALUE = "__gl_v"  # the value flowing through a pipeline (a lambda's own local)
ARG = "__gl_"  # bare ``$`` placeholders in a function pipeline's head: __gl_0, __gl_1
THUNK = "__gl_thunk"  # stands before a leading ``|>`` so that the text parses
# How lowered code reaches the runtime helpers without binding any name in the cell.
HELPERS = "__import__('gradlab.ipython', fromlist=['params_block'])"
HEADER_ARGS = ("frozen", "tied", "param")  # names the params{...} header can use
_OTHER_PIPE_OPS = ("*|>", "|>>", "?>", "<|", ".>", "<.", "$>", "<$")


class DSLSyntaxError(SyntaxError):
    """DSL code that cannot be lowered; points at the user's own line and column."""


def lower(source: str, filename: str = "<dsl>") -> str:
    """``source`` with its pipelines and ``params{...}`` blocks rewritten as plain Python.

    Source without DSL syntax is returned unchanged (the same object).

    >>> lower("y = x + 1") == "y = x + 1"
    True
    """
    if "|>" not in source and "$" not in source and "params{" not in source:
        return source
    text = _lower_params_headers(source, filename)
    positions: dict = {PIPE_SPEC.token: set(), HOLE_SPEC.token: set()}

    class _Recorder:  # the one method pyccolo's token replacement calls
        @staticmethod
        def register_augmented_position(spec, line, col):
            positions[spec.token].add((line, col))

    text, _ = replace_tokens_and_get_augmented_positions(text, [PIPE_SPEC, HOLE_SPEC],
                                                         cast(Any, _Recorder()))
    if text == source:
        return source  # a ``$`` in a string: nothing to lower
    text, columns = _mark_thunks(text, positions)
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        hint = ""
        if any(op in source for op in _OTHER_PIPE_OPS):
            hint = " (the gradlab DSL supports only the |> pipe and $ placeholders)"
        col = columns.source_col(exc.lineno, exc.offset - 1) + 1 if exc.offset else exc.offset
        raise _error(f"{exc.msg}{hint}", source, filename, exc.lineno, col) from None
    return _Renderer(text, tree, positions, source, filename, columns).render()


class _Columns:
    """Maps a column of the rewritten text back to the user's: each ``|>`` became ``|``
    (one character shorter) and each leading ``|>`` got a ``THUNK`` name in front."""

    def __init__(self, pipes: set):
        self.shifts: dict[int, list] = {}  # line -> [(rewritten col, source - rewritten)]
        for line, col in pipes:
            self.shifts.setdefault(line, []).append((col + 1, 1))

    def insert(self, line: int, col: int, width: int):
        self.shifts.setdefault(line, []).append((col + width, -width))

    def source_col(self, line: int | None, col: int) -> int:
        """The 0-based column in the user's text of rewritten column ``col``."""
        return col + sum(d for at, d in self.shifts.get(line or 0, ()) if at <= col)


def _mark_thunks(text: str, positions: dict) -> tuple[str, _Columns]:
    """Put ``THUNK`` before every ``|>`` that starts an expression (``obj = |> X |> f``),
    moving the recorded positions after it; unary ``|`` is not Python, ``THUNK |`` is."""
    pipes, holes = positions[PIPE_SPEC.token], positions[HOLE_SPEC.token]
    leading = _leading_pipes(text, pipes)
    lines = text.splitlines(keepends=True)
    for line, col in sorted(leading, reverse=True):  # right to left: earlier cols stay valid
        lines[line - 1] = lines[line - 1][:col] + THUNK + lines[line - 1][col:]
        for recorded in (pipes, holes):
            moved = {(ln, c) for ln, c in recorded if ln == line and c >= col}
            recorded -= moved
            recorded |= {(ln, c + len(THUNK)) for ln, c in moved}
    columns = _Columns(pipes)
    for line, col in leading:  # where each THUNK ends up: after those left of it
        before = sum(1 for ln, c in leading if ln == line and c < col)
        columns.insert(line, col + before * len(THUNK), len(THUNK))
    return ("".join(lines) if leading else text), columns


def _leading_pipes(text: str, pipes: set) -> list:
    """The ``(line, col)`` of each recorded pipe that nothing stands before: the start
    of a statement, or after ``=``, ``(``, ``,``, ``return``, ..."""
    if not pipes:
        return []
    out, prev = [], None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.NL, tokenize.COMMENT):
                continue
            if (tok.string == "|" and tok.start in pipes and _starts_expression(prev)
                    and not (prev is not None and prev.start in pipes)):  # not ``|> |>``
                out.append(tok.start)
            prev = tok
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # ast.parse reports the problem
    return out


def _starts_expression(prev) -> bool:
    if prev is None or prev.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
        return True
    if prev.type == tokenize.OP:
        return prev.string not in (")", "]", "}")
    return (prev.type == tokenize.NAME and keyword.iskeyword(prev.string)
            and prev.string not in ("True", "False", "None"))


def _error(msg, source, filename, line, col) -> DSLSyntaxError:
    lines = source.splitlines()
    text = lines[line - 1] if line and 0 < line <= len(lines) else None
    return DSLSyntaxError(msg, (filename, line, col, text))


# --- params{ ... } headers -------------------------------------------------------------


def _find_params_brace(code: str):
    """``(name_start, brace_end)`` offsets of the first ``params{ ... }``, or None."""
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    for i in range(1, len(toks)):
        tok, prev = toks[i], toks[i - 1]
        if not (tok.string == "{" and prev.string == "params" and prev.end == tok.start
                and prev.type == tokenize.NAME):
            continue
        depth = 0
        for t in toks[i:]:
            if t.type == tokenize.OP and t.string in "([{":
                depth += 1
            elif t.type == tokenize.OP and t.string in ")]}":
                depth -= 1
                if depth == 0:
                    return _offset(code, prev.start), _offset(code, t.end)
        return None
    return None


def _offset(code: str, pos) -> int:
    line, col = pos
    start = 0
    for _ in range(line - 1):
        start = code.index("\n", start) + 1
    return start + col


def _lower_params_headers(code: str, filename: str) -> str:
    """Each ``params{ a = e1; b = e2 }`` becomes one call keeping the line count."""
    while True:
        found = _find_params_brace(code)
        if found is None:
            return code
        start, end = found
        inner = code[start + len("params{"):end - 1]
        names, exprs = _header_assignments(inner, code, filename, start + len("params{"))
        body = ", ".join(f"{n} := param({n!r}, ({e}))" for n, e in zip(names, exprs))
        call = (f"{HELPERS}.params_block({tuple(names)!r}, lambda {', '.join(HEADER_ARGS)}: "
                f"({body}{',' if len(names) == 1 else ''}))")
        newlines = code.count("\n", start, end)
        code = code[:start] + call[:-1] + "\n" * newlines + ")" + code[end:]


def _header_assignments(inner: str, code: str, filename: str, inner_start: int):
    """The ``name = expr`` statements of a header, as names and expression sources.

    ``inner_start`` is the offset of ``inner`` in ``code``; errors point at the statement."""
    parts = inner.splitlines()
    normalized = "\n".join(part.strip() for part in parts)

    def fail(msg, row=1, col=0):  # row/col in ``normalized`` -> the user's line and column
        offset = inner_start + sum(len(p) + 1 for p in parts[:row - 1])
        offset += len(parts[row - 1]) - len(parts[row - 1].lstrip()) + col if parts else 0
        line = code.count("\n", 0, offset) + 1
        return _error(msg, code, filename, line, offset - code.rfind("\n", 0, offset))

    try:
        stmts = ast.parse(normalized).body
    except SyntaxError as exc:
        raise fail(f"in params{{...}}: {exc.msg}", exc.lineno or 1,
                   (exc.offset or 1) - 1) from None
    names, exprs = [], []
    for stmt in stmts:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            raise fail("params{...} holds only `name = value` statements separated by "
                       f"';' or newlines, not `{ast.unparse(stmt)}`",
                       stmt.lineno, stmt.col_offset)
        name = stmt.targets[0].id
        if name in names:
            raise fail(f"parameter '{name}' is defined twice in params{{...}}",
                       stmt.lineno, stmt.col_offset)
        if name in HEADER_ARGS:
            raise fail(f"'{name}' is a params{{...}} keyword and cannot name a parameter",
                       stmt.lineno, stmt.col_offset)
        names.append(name)
        exprs.append((ast.get_source_segment(normalized, stmt.value) or "").replace("\n", " "))
    if not names:
        raise fail("params{...} is empty: write `params{ w = ...; b = ... }`")
    return names, exprs


def params_header(node) -> tuple | None:
    """The parameter names if ``node`` is a lowered ``params{...}`` call, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "params_block" and isinstance(node.func.value, ast.Call)
            and isinstance(node.func.value.func, ast.Name)
            and node.func.value.func.id == "__import__" and node.args
            and isinstance(node.args[0], ast.Tuple)):
        return None
    names = tuple(getattr(e, "value", None) for e in node.args[0].elts)
    return names if all(isinstance(n, str) for n in names) else None


# --- pipelines and parameter names ----------------------------------------------------


class _Renderer:
    """Finds the pipelines, placeholders and parameter references, then splices text."""

    def __init__(self, text, tree, positions, source, filename, columns):
        self.text, self.tree, self.source, self.filename = text, tree, source, filename
        self.columns = columns
        self.lines = text.splitlines(keepends=True)
        self.line_starts = [0]
        for line in self.lines:
            self.line_starts.append(self.line_starts[-1] + len(line))
        self.pipe_positions = positions[PIPE_SPEC.token]
        self.hole_positions = positions[HOLE_SPEC.token]
        self.chains: dict[int, list] = {}  # id(root BinOp) -> [head, stage, stage, ...]
        self.thunks: set[int] = set()  # roots of ``|> head |> ...`` (no THUNK in parts)
        self.thunk_heads: set[int] = set()  # the THUNK names that start those pipelines
        self.holes: dict[int, ast.Name] = {}
        self.owned: dict[tuple, list] = {}  # (id(root), part index) -> its placeholders
        self.bound: dict[int, str] = {}  # id(placeholder) -> the text it renders as
        self.params: dict[int, str] = {}  # id(Name) -> "weights['w1']"
        self.specials: list = []  # (start, -end, node), sorted

    # positions ------------------------------------------------------------------------

    def offset(self, line: int, byte_col: int) -> int:
        """Absolute character offset of an AST position (columns are UTF-8 bytes)."""
        text = self.lines[line - 1]
        col = byte_col if text.isascii() else len(text.encode()[:byte_col].decode())
        return self.line_starts[line - 1] + col

    def span(self, node) -> tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset),
                self.offset(node.end_lineno, node.end_col_offset))

    def char_pos(self, node) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)
        return node.lineno, start - self.line_starts[node.lineno - 1]

    def is_pipe(self, node) -> bool:
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr)):
            return False
        lo, hi = self.span(node.left)[1], self.span(node.right)[0]
        between = self.text[lo:hi]
        at = 0
        while at < len(between):  # the operator is the one '|' outside a comment
            if between[at] == "#":
                at = between.find("\n", at)
                if at < 0:
                    return False
            elif between[at] == "|":
                line = bisect.bisect_right(self.line_starts, lo + at)
                return (line, lo + at - self.line_starts[line - 1]) in self.pipe_positions
            at += 1
        return False

    # analysis ---------------------------------------------------------------------------

    def render(self) -> str:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and self.char_pos(node) in self.hole_positions:
                self.holes[id(node)] = node
        self._find_chains(self.tree, owner=None)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and node.id == THUNK and id(node) not in self.thunk_heads:
                hint = ""
                if any(op in self.source for op in _OTHER_PIPE_OPS):
                    hint = " (the gradlab DSL supports only the |> pipe and $ placeholders)"
                raise self.error(node, "`|>` needs a value on its left, or must start the "
                                       f"expression (`obj = |> x |> f`){hint}")
        for (root, index), holes in self.owned.items():
            if index == 0 and root in self.thunks:
                raise self.error(holes[0], "a pipeline that starts with `|>` takes no "
                                           "arguments, so its first part cannot hold `$` "
                                           "(write `|> x |> f($)` or `$ |> f($)`)")
        _ParamNames(self).visit_scope(self.tree.body, {})
        for key, holes in self.owned.items():
            self._bind(key, holes)
        for node in self._special_nodes():
            start, end = self.span(node)
            self.specials.append((start, -end, node))
        self.specials.sort(key=lambda s: (s[0], s[1]))
        self.special_starts = [s[0] for s in self.specials]
        return self.render_span(0, len(self.text))

    def _special_nodes(self):
        for node in ast.walk(self.tree):
            if id(node) in self.chains or id(node) in self.bound or id(node) in self.params:
                yield node

    def _find_chains(self, node, owner):
        """Record every pipeline and which pipeline part owns each placeholder."""
        stack = [(node, owner)]
        while stack:
            node, owner = stack.pop()
            if self.is_pipe(node):
                parts, left = [], node
                while self.is_pipe(left):
                    parts.append(left.right)
                    left = left.left
                parts.append(left)
                parts.reverse()
                if isinstance(parts[0], ast.Name) and parts[0].id == THUNK:
                    self.thunk_heads.add(id(parts[0]))
                    parts = parts[1:]
                    self.thunks.add(id(node))
                self.chains[id(node)] = parts
                stack.extend(((part, (id(node), i)) for i, part in enumerate(parts)))
                continue
            if id(node) in self.holes:
                if owner is None:
                    raise self.error(node, "a `$` placeholder is only meaningful inside a "
                                           "`|>` pipeline (e.g. `f = $ |> $ @ w + b`)")
                self.owned.setdefault(owner, []).append(self.holes[id(node)])
                continue
            stack.extend((child, owner) for child in ast.iter_child_nodes(node))

    def _bind(self, key, holes):
        """Name each placeholder of one pipeline part by the value it stands for."""
        root, index = key
        holes.sort(key=lambda h: (h.lineno, h.col_offset))
        names = [h.id[1:] for h in holes]  # "" for a bare $, "x" for $x
        if index > 0:  # a stage: every placeholder is the piped value
            named = sorted(set(names) - {""})
            if len(named) > 1:
                raise self.error(holes[-1], "a pipeline stage receives one value, but "
                                            f"{', '.join('$' + n for n in named)} name "
                                            "several: write `$` for it")
            for h in holes:
                self.bound[id(h)] = VALUE
            return
        bare = iter(range(len(holes)))
        for h, name in zip(holes, names):
            self.bound[id(h)] = name or f"{ARG}{next(bare)}"

    def error(self, node, msg, source_col: int | None = None) -> DSLSyntaxError:
        line, col = self.char_pos(node)
        if source_col is None:
            source_col = self.columns.source_col(line, col)
        return _error(msg, self.source, self.filename, line, source_col + 1)

    # rendering --------------------------------------------------------------------------

    def render_span(self, start: int, end: int) -> str:
        """The text of ``[start, end)`` with every outermost special node inside it rendered."""
        out, pos = [], start
        i = bisect.bisect_left(self.special_starts, start)
        while i < len(self.specials):
            s, neg_end, node = self.specials[i]
            i += 1
            if s >= end:
                break
            if s < pos or -neg_end > end:  # inside a node already rendered, or around us
                continue
            out.append(self.text[pos:s])
            out.append(self.render_node(node))
            pos = -neg_end
        out.append(self.text[pos:end])
        return "".join(out)

    def render_node(self, node) -> str:
        if id(node) in self.chains:
            return self.render_pipeline(node)
        if id(node) in self.bound:
            return self.bound[id(node)]
        return self.params[id(node)]

    def render_pipeline(self, root) -> str:
        """``(lambda v=head: (v := stage1, v := stage2, stage3)[-1])()`` for a value;
        ``(lambda v: (v := stage1, stage2)[-1])`` for a function of ``$``. Parts keep
        their order and the newlines between them, so each stays on its own line."""
        parts = self.chains[id(root)]
        spans = [self.span(p) for p in parts]
        root_start, root_end = self.span(root)
        edges = [root_start] + [x for s in spans for x in s] + [root_end]
        gaps = ["\n" * self.text.count("\n", edges[2 * i], edges[2 * i + 1])
                for i in range(len(parts) + 1)]
        texts = [self.render_span(*s) for s in spans]
        steps = []
        for i in range(1, len(parts)):
            text = texts[i] if (id(root), i) in self.owned else f"({texts[i]})({VALUE})"
            steps.append((gaps[i], text))
        head_holes = self.owned.get((id(root), 0), [])
        if id(root) in self.thunks:  # ``|> x |> f``: the value pipeline, when called
            if not steps:
                return f"(lambda: {gaps[0]}({texts[0]}){gaps[-1]})"
            return (f"(lambda: (lambda {VALUE}={gaps[0]}({texts[0]}): "
                    f"{_sequence(steps)}{gaps[-1]})())")
        if not head_holes:  # a value: the head is evaluated where the pipeline stands
            return f"(lambda {VALUE}={gaps[0]}({texts[0]}): {_sequence(steps)}{gaps[-1]})()"
        if parts[0] is head_holes[0] and len(head_holes) == 1 and not parts[0].id[1:]:
            args = [VALUE]  # ``$ |> ...``: the argument is the piped value itself
        else:
            args = list(dict.fromkeys(self.bound[id(h)] for h in head_holes))
            steps.insert(0, ("", texts[0]))
        return f"(lambda {', '.join(args)}: {gaps[0]}{_sequence(steps)}{gaps[-1]})"


def _sequence(steps) -> str:
    """``(v := s1, v := s2, s3)[-1]`` for ``[(newlines, s1), ...]``, or ``s1`` alone."""
    if len(steps) == 1:
        return steps[0][0] + steps[0][1]
    items = [f"{gap}{VALUE} := ({text})" for gap, text in steps[:-1]]
    items.append(steps[-1][0] + steps[-1][1])
    return f"({', '.join(items)})[-1]"


class _ParamNames:
    """Scope-aware: inside a params block, a bare parameter name becomes ``w['name']``."""

    def __init__(self, renderer: _Renderer):
        self.r = renderer

    def visit_scope(self, body, names: dict):
        for node in body:
            self.visit(node, names)

    def visit(self, node, names):
        if isinstance(node, ast.With):
            return self.visit_with(node, names)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return self.visit_function(node, names)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return self.visit_comprehension(node, names)
        if isinstance(node, ast.ClassDef):
            for child in node.bases + node.keywords + node.decorator_list:
                self.visit(child, names)
            return self.visit_scope(node.body, _without(names, _bound_names(node.body)))
        if isinstance(node, ast.Name) and node.id in names and id(node) not in self.r.holes:
            self.r.params[id(node)] = f"{names[node.id]}[{node.id!r}]"
            return None
        for child in ast.iter_child_nodes(node):
            self.visit(child, names)
        return None

    def visit_with(self, node: ast.With, names):
        header = params_header(node.items[0].context_expr) if len(node.items) == 1 else None
        for item in node.items:
            self.visit(item, names)
        if header is None:
            return self.visit_scope(node.body, names)
        target = node.items[0].optional_vars
        if not isinstance(target, ast.Name):
            raise self.r.error(node, "write `with params{...} as weights:` so that the block's "
                                     "code can reach the weights by name")
        if target.id in header:  # the header was rewritten: find ``as name`` in the user's line
            line = self.r.source.splitlines()[target.lineno - 1]
            at = [m.start(1) for m in re.finditer(rf"\bas\s+({target.id})\b", line)]
            raise self.r.error(target, f"'{target.id}' names both the weights and a parameter",
                               at[-1] if at else 0)
        for stmt in node.body:
            for bad in _defined_names(stmt) & set(header):
                raise self.r.error(stmt, f"'{bad}' is a parameter of this params block; "
                                         "it cannot be redefined inside it")
        inner = dict(names, **{name: target.id for name in header})
        return self.visit_scope(node.body, inner)

    def visit_function(self, node, names):
        args = node.args
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self.visit(default, names)
        if isinstance(node, ast.Lambda):
            local = _arg_names(args) | _bound_names([node.body])
            return self.visit(node.body, _without(names, local))
        for child in node.decorator_list + ([node.returns] if node.returns else []):
            self.visit(child, names)
        local = _arg_names(args) | _bound_names(node.body)
        return self.visit_scope(node.body, _without(names, local))

    def visit_comprehension(self, node, names):
        gens = node.generators
        self.visit(gens[0].iter, names)
        inner = _without(names, {n.id for g in gens for n in ast.walk(g.target)
                                 if isinstance(n, ast.Name)})
        for i, gen in enumerate(gens):
            if i:
                self.visit(gen.iter, inner)
            for cond in gen.ifs:
                self.visit(cond, inner)
        for elt in ([node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]):
            self.visit(elt, inner)


def _without(names: dict, local: set) -> dict:
    return {k: v for k, v in names.items() if k not in local} if local & names.keys() else names


def _arg_names(args: ast.arguments) -> set:
    every = args.posonlyargs + args.args + args.kwonlyargs
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    return {a.arg for a in every}


def _bound_names(body) -> set:
    """Names a function body binds (or declares global/nonlocal), nested scopes excluded."""
    out, stack = set(), list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            out.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            out.update(node.names)
        out |= _defined_names(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return out


def _defined_names(node) -> set:
    """Names a def, class or import statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return set()
