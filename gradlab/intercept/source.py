"""Find a function's definition in its source and rewrite its call sites.

The rewrite turns every call ``f(a, b)`` into ``__gradlab_resolve__(f)(a, b)`` and
compiles the result at the function's real file and line numbers, so tracebacks
and error messages show the user's own source.

This runs on the first call of every user function under a transform, so it stays
cheap: a def's lines are sliced from ``linecache``, from its code object's first line
to where the indentation ends the def (no tokenizing); they are parsed with blank
lines in front, so that line numbers come out right (no renumbering walk), rewritten
in one flat pass, and every node the rewrite creates gets its location where it is
made (no ``fix_missing_locations`` walk).
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
import operator
import sys
from types import CodeType, FunctionType

from .resolve import RESOLVER


class NoSourceError(Exception):
    """The function's source is not available (built with exec, or from a .pyc only)."""


def _is_pure_reference(node) -> bool:
    """A name or attribute chain: evaluating it twice has no side effect."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


class CallSiteRewriter:
    """``f(*args)`` -> ``__gradlab_resolve__(f)(*args)`` everywhere in a function body.

    Also ``buf[i] = v`` -> ``buf[i] = __gradlab_resolve__.assigned(buf, v)``, so that a
    traced value stored into a plain numpy array fails loudly (numpy would otherwise
    report a baffling "setting an array element with a sequence"); ``acc += v`` and
    ``f(x, out=buf)`` -> rebindings of the name (``inplace.py``; ``mark_rebindable``
    says which names may be rebound).

    The traversal is flat (an ``ast.NodeTransformer`` costs several times more on a
    function's first call). ``visit(tree)`` lists every node of ``tree`` once, before
    changing anything, then calls the method ``visit_<NodeClass>(node)`` of each node
    that has one, children before parents (as a NodeTransformer whose methods call
    ``generic_visit`` first). A visit method:

    - changes its node in place and returns it (or None), or returns a replacement,
      which takes the node's place in its parent (no deletion: None keeps the node);
    - sees its children already visited; the nodes it creates are never visited;
    - gives every node it creates a location (``_located``): nothing fixes them later.
    """

    def visit(self, tree: ast.AST) -> ast.AST:
        visits = _visit_methods(type(self))
        found = _nodes_to_visit(tree, visits)
        for i in range(len(found) - 1, -1, -1):  # children come after their parents
            node, parent = found[i]
            new = visits[type(node)](self, node)
            if new is not None and new is not node:
                if parent is None:
                    tree = new
                else:
                    _replace_child(parent, node, new)
        return tree

    def generic_visit(self, node: ast.AST) -> ast.AST:
        """Nothing to do: the flat pass visits a node's children before the node."""
        return node

    def visit_Assign(self, node: ast.Assign):
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Subscript):
            container = node.targets[0].value
            if _is_pure_reference(container):
                value = node.value
                check = _located(ast.Attribute(_located(ast.Name(RESOLVER, ast.Load()), value),
                                               "assigned", ast.Load()), value)
                node.value = _located(ast.Call(check, [_load_copy(container, value), value], []),
                                      value)
        return node

    def visit_AugAssign(self, node: ast.AugAssign):
        """``acc += v`` -> ``acc = __gradlab_resolve__.inplace("Add", acc, v)`` (see
        ``inplace.py``); ``a[i] += v`` checks ``v`` like ``a[i] = v`` does."""
        target = node.target
        if isinstance(target, ast.Subscript):
            if _is_pure_reference(target.value):
                node.value = _placed(
                    _resolver_call("assigned", [_loaded(target.value), node.value]), node.value)
            return node
        rebinds = getattr(node, _REBINDABLE, False) or (
            isinstance(target, ast.Attribute) and _is_pure_reference(target))
        if not rebinds or _is_literal(node.value):
            return node  # ``i += 1`` stays as it is: nothing to trace there
        update = _resolver_call("inplace", [ast.Constant(type(node.op).__name__),
                                            _loaded(target), node.value])
        return _placed(ast.Assign(targets=[target], value=update), node)

    def visit_Call(self, node: ast.Call):
        out = next((k.value for k in node.keywords if k.arg == "out"), None)
        if out is not None:
            rewritten = _out_call(node, out)
            if rewritten is not None:
                return rewritten
        resolver = ast.Name(RESOLVER, ast.Load())
        node.func = _located(
            ast.Call(func=_located(resolver, node.func), args=[node.func], keywords=[]),
            node.func)
        return node


@functools.cache
def _visit_methods(rewriter: type) -> dict:
    """``{ast node class: visit method}`` for a rewriter class."""
    return {getattr(ast, name[len("visit_"):]): method
            for klass in reversed(rewriter.__mro__) for name, method in vars(klass).items()
            if name.startswith("visit_") and hasattr(ast, name[len("visit_"):])}


def _nodes_to_visit(root: ast.AST, visits: dict) -> list:
    """``(node, parent)`` for every node under ``root`` (``root`` included, its parent
    None) whose class ``visits`` has a method for, parents before children.

    The walk is breadth first and skips what cannot hold a node to visit: the
    operator and Load/Store markers (shared by many nodes, never rewritten), fields
    that hold only names or constants (``_LEAF_FIELDS``), and the children of a node
    that has no other fields (a name, a constant), which are not entered at all.
    """
    found = [(root, None)] if type(root) in visits else []
    queue = [(root, _child_fields(type(root)))]  # (node, its fields that may hold nodes)
    for node, fields in queue:  # grows as it goes
        for name in fields:
            value = getattr(node, name, None)
            for item in (value if type(value) is list else (value,)):
                if isinstance(item, ast.AST):
                    kind = type(item)
                    if kind in visits:
                        found.append((item, node))
                    sub = _child_fields(kind)
                    if sub:
                        queue.append((item, sub))
    return found


def _child_fields(kind: type) -> tuple:
    """The fields of node class ``kind`` that may hold nodes (cached per class)."""
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(
            name for name in kind._fields if name not in _LEAF_FIELDS)
    return fields


# Fields whose value is never a node to visit: markers (``ctx``, ``op``, ``ops``) and
# strings (``Name.id``, ``Attribute.attr``, ``arg.arg``, ``keyword.arg``, ``kind``).
_LEAF_FIELDS = frozenset({"ctx", "op", "ops", "id", "attr", "arg", "kind"})
_CHILD_FIELDS: dict = {ast.Constant: ()}  # node class -> the fields that may hold nodes


def _replace_child(parent: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for name in parent._fields:
        value = getattr(parent, name, None)
        if value is old:
            setattr(parent, name, new)
            return
        if type(value) is list:
            for i, item in enumerate(value):
                if item is old:
                    value[i] = new
                    return


def _located(node, at):
    """``node``, an expression the rewrite creates, at expression ``at``'s location (set
    directly: ``ast.copy_location`` costs a fifth of a first call's rewrite)."""
    node.lineno, node.col_offset = at.lineno, at.col_offset
    node.end_lineno, node.end_col_offset = at.end_lineno, at.end_col_offset
    return node


def _out_call(node: ast.Call, out):
    """``f(x, out=buf)`` for a local ``buf`` -> ``__gradlab_resolve__.out_value(buf :=
    __gradlab_resolve__.out_binding(f, False, x, out=buf))``; ``f(x, out=np.empty(3))``
    -> ``__gradlab_resolve__.with_out(f, False, x, out=np.empty(3))`` (``True`` where the
    call unpacks ``*args``/``**kwargs``); None for any other ``out=``
    (an attribute, a tuple, a name the walrus would rescope), which stays refused."""
    unpacked = ast.Constant(any(isinstance(a, ast.Starred) for a in node.args)
                            or any(k.arg is None for k in node.keywords))
    if isinstance(out, ast.Name) and getattr(node, _REBINDABLE, False):
        binding = _resolver_call("out_binding", [node.func, unpacked, *node.args],
                                 node.keywords)
        rebound = ast.NamedExpr(ast.Name(out.id, ast.Store()), binding)
        return _placed(_resolver_call("out_value", [rebound]), node)
    if isinstance(out, ast.Call):
        return _placed(
            _resolver_call("with_out", [node.func, unpacked, *node.args], node.keywords), node)
    return None


def _resolver_call(helper: str, args, keywords=()):
    """``__gradlab_resolve__.<helper>(*args, **keywords)``."""
    func = ast.Attribute(ast.Name(RESOLVER, ast.Load()), helper, ast.Load())
    return ast.Call(func, list(args), list(keywords))


def _placed(node, at):
    """``node``, made by the rewrite, and every node in it that has no location yet, at
    ``at``'s location."""
    return ast.fix_missing_locations(ast.copy_location(node, at))


def _loaded(target):
    """A name or attribute chain that is assigned to, read instead."""
    if isinstance(target, ast.Attribute):
        return ast.Attribute(target.value, target.attr, ast.Load())
    return ast.Name(target.id, ast.Load())


def _is_literal(node) -> bool:
    """``1``, ``-0.5``: an operand that cannot be traced."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant)


# The attribute ``mark_rebindable`` sets on the nodes whose rewrite may rebind a name.
_REBINDABLE = "_gradlab_rebindable"
_NEW_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
               ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _scope_nodes(stmts):
    """Every node of one scope; nested scopes are listed, not entered."""
    stack = list(stmts)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _NEW_SCOPES):
            stack.extend(ast.iter_child_nodes(node))


def _scope_statements(stmts):
    """The statements of one scope (expressions hold none); nested scopes listed, not
    entered. Much cheaper than visiting every node."""
    stack = list(stmts)
    while stack:
        node = stack.pop()
        yield node
        blocks = _BLOCKS.get(type(node))
        if blocks is None:
            kind = type(node)
            blocks = _BLOCKS[kind] = () if issubclass(kind, _NEW_SCOPES) else tuple(
                b for b in ("body", "orelse", "finalbody", "handlers", "cases")
                if b in kind._fields)
        for block in blocks:
            stack.extend(getattr(node, block))


_BLOCKS: dict = {}  # statement class -> its fields that hold statements (none: a scope)


def mark_rebindable(target, code: CodeType) -> None:
    """Mark ``acc += v`` whose ``acc`` is a name of its own scope (not declared global or
    nonlocal), and calls ``f(..., out=buf)`` in the function's own body (not in a nested
    scope) whose ``buf`` is a local of ``code``: the rewrite may rebind those names."""
    if isinstance(target, ast.Lambda):
        return  # an expression: no statement, and no walrus that could rescope a name
    local_names = set(code.co_varnames) | set(code.co_cellvars)
    scopes = [(target.body, True)]
    while scopes:
        body, own = scopes.pop()
        statements = list(_scope_statements(body))
        declared = {name for n in statements if isinstance(n, (ast.Global, ast.Nonlocal))
                    for name in n.names}
        for node in statements:
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                name = node.target.id
                setattr(node, _REBINDABLE, name in local_names if own else name not in declared)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                scopes.append((node.body, False))
    # The compiled function names its keyword arguments in its constants (a tuple, or a
    # string with ``**kwargs``): no ``out`` there, no call of its own body passes out=,
    # and the walk over every node is skipped.
    if any(c == "out" or (type(c) is tuple and "out" in c) for c in code.co_consts):
        for node in _scope_nodes(target.body):
            if isinstance(node, ast.Call):
                out = next((k.value for k in node.keywords if k.arg == "out"), None)
                setattr(node, _REBINDABLE, isinstance(out, ast.Name) and out.id in local_names)


def _load_copy(node, at):
    """A copy of a name/attribute chain expression in load context, at ``at``'s location."""
    if isinstance(node, ast.Attribute):
        return _located(ast.Attribute(_load_copy(node.value, at), node.attr, ast.Load()), at)
    return _located(ast.Name(node.id, ast.Load()), at)


def _parse_block(fn: FunctionType) -> tuple[ast.Module, int]:
    """Parse the source block holding ``fn``; returns the tree and the block's first line.

    The tree's line numbers and columns are the file's own. A def is read from its
    code object's lines (``_parse_def_lines``); a lambda, or a def those lines do not
    give whole, by ``inspect.getsourcelines``.
    """
    code = fn.__code__
    if code.co_name != "<lambda>":
        tree = _parse_def_lines(fn)
        if tree is not None:
            return tree, code.co_firstlineno
    try:
        lines, start = inspect.getsourcelines(fn)
    except (OSError, TypeError) as exc:
        raise NoSourceError(str(exc)) from None
    try:
        tree = _parse_at(lines, max(start, 1))
    except SyntaxError:
        # getsource returns a partial statement for a lambda inside a larger expression
        # (the last item of a multi-line list): widen to the whole file, whose tree holds
        # the lambda at its real lines and columns.
        return _parse_file(fn), 1
    return tree, start


def _parse_at(lines: list[str], start: int) -> ast.Module:
    """Parse ``lines``, the file's lines from ``start`` on, at their real line numbers."""
    src = "".join(lines)
    # An indented block (a method, a nested def) is parsed under ``if 1:``, so that
    # columns stay the user's own and multi-line strings keep their text.
    header = "if 1:\n" if lines and lines[0][:1] in (" ", "\t") else ""
    offset = start - 1 - header.count("\n")
    if 0 <= offset <= 200 * len(lines):
        # Blank lines in front: the parser numbers the lines right, at a fraction of the
        # cost of renumbering every node afterwards (for all but a short block far down).
        return ast.parse("\n" * offset + header + src)
    tree = ast.parse(header + src)
    ast.increment_lineno(tree, offset)
    return tree


def _parse_def_lines(fn: FunctionType) -> ast.Module | None:
    """The def of ``fn`` parsed from its own lines, or None (then ``inspect`` finds the
    block by tokenizing).

    The lines run from ``co_firstlineno`` (the def, or its first decorator) past the
    last line that holds an instruction, up to the next line of code no deeper than the
    def: where the def ends, unless that line continues a statement (a bracket or a
    string left open), and then the lines do not parse. So the def comes whole, with
    any code the compiler dropped after a ``return``, and as the file is now.
    """
    code = fn.__code__
    filename = code.co_filename
    linecache.checkcache(filename)  # as inspect does: a file edited since is re-read
    lines = linecache.getlines(filename, fn.__globals__)
    first = code.co_firstlineno
    end = max(filter(None, map(operator.itemgetter(2), code.co_lines())), default=first)
    if not 0 < first <= end <= len(lines):
        return None
    indent = _indentation(lines[first - 1])
    while end < len(lines):
        lead = _indentation(lines[end])
        rest = lines[end][len(lead):]
        if rest.strip() and rest[0] != "#":  # a line of code (not blank, not a comment)
            if indent.startswith(lead):
                break  # no deeper than the def: the def has ended
            if not lead.startswith(indent):
                return None  # tabs against spaces: not comparable here
        end += 1
    try:
        tree = _parse_at(lines[first - 1:end], first)
    except (SyntaxError, ValueError):
        return None
    node = _first_statement(tree)
    if node is None or not _is_def_of(node, code):
        return None
    return tree


def _indentation(line: str) -> str:
    """The line's leading white space (a form feed included: then no prefix matches)."""
    return line[:len(line) - len(line.lstrip(" \t\f"))]


def _parse_file(fn: FunctionType) -> ast.Module:
    lines = linecache.getlines(fn.__code__.co_filename)
    try:
        return ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        raise NoSourceError(f"cannot parse the source of {fn.__qualname__}") from None


def _span_contains(node, positions) -> bool:
    start = (node.lineno, node.col_offset)
    end = (node.end_lineno, node.end_col_offset)
    return all(start <= (line, col) and (end_line, end_col) <= end
               for line, end_line, col, end_col in positions)


def _find_lambda(tree, code: CodeType) -> ast.Lambda:
    """The lambda whose body spans exactly the code's instructions (two on a line are fine)."""
    positions = [p for p in code.co_positions()
                 if p[0] is not None and p[2] is not None and p[3] is not None
                 and not (p[2] == 0 and p[3] == 0)]
    argnames = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    best = None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Lambda):
            continue
        a = node.args
        names = tuple(x.arg for x in a.posonlyargs + a.args + a.kwonlyargs)
        if names != argnames or not _span_contains(node.body, positions):
            continue
        size = (node.end_lineno - node.lineno, node.end_col_offset - node.col_offset)
        if best is None or size < best[0]:
            best = (size, node)
    if best is None:
        raise NoSourceError("cannot locate the lambda in its source line")
    return best[1]


def _first_statement(tree: ast.Module):
    """The block's first statement, looking inside the ``if 1:`` an indented block gets."""
    if not tree.body:
        return None
    node = tree.body[0]
    if isinstance(node, ast.If) and node.body:
        return node.body[0]
    return node


def _is_def_of(node, code: CodeType) -> bool:
    """Whether ``node`` is the def that compiled to ``code`` (found where it starts)."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name != code.co_name:
        return False
    first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    return code.co_firstlineno in (node.lineno, first)


def _find_def(tree, code: CodeType):
    node = _first_statement(tree)  # where a parsed block holds it, with no search
    if node is not None and _is_def_of(node, code):
        return node
    candidates = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == code.co_name:
            if _is_def_of(node, code):
                return node
            candidates.append(node)
    if len(candidates) == 1:
        return candidates[0]
    raise NoSourceError(f"cannot locate the definition of {code.co_name}")


def _class_name(fn: FunctionType):
    """The enclosing class's name for a method (private names are mangled with it)."""
    parts = fn.__qualname__.split(".")[:-1]
    while parts and parts[-1] == "<locals>":
        parts = parts[:-2]  # drop "<locals>" and the function that holds it
    return parts[-1] if parts else None


_NEW_FIELDS = {"type_params": []} if sys.version_info >= (3, 12) else {}
# Where the nodes around the rewritten def sit (the factory, its parameters, the class
# and ``global`` statements): line 1, as ``fix_missing_locations`` would put them. Only
# the def's own code object is kept, and its locations are the user's.
_AT_TOP = {"lineno": 1, "col_offset": 0, "end_lineno": 1, "end_col_offset": 0}


def compile_instrumented(fn: FunctionType) -> CodeType:
    """The code object of ``fn`` with its call sites rewritten (closure names kept).

    The rewritten definition is compiled inside a factory function whose parameters
    are the original's free variables (so the new code has the same closure cells)
    plus the resolver; inside a class of the original class's name when ``fn`` is a
    method (so private names mangle alike and ``super()`` finds ``__class__``).
    Only the code object is kept; the factory never runs.
    """
    code = fn.__code__
    tree, _ = _parse_block(fn)
    if code.co_name == "<lambda>":
        target: ast.AST = _find_lambda(tree, code)
        stmt: ast.stmt = ast.Expr(value=target, **_AT_TOP)
    else:
        target = stmt = _find_def(tree, code)
        target.decorator_list = []
    mark_rebindable(target, code)
    CallSiteRewriter().visit(target)
    cls = _class_name(fn) or ("__gradlab_class__" if "__class__" in code.co_freevars else None)
    params = [RESOLVER] + [v for v in code.co_freevars if v != "__class__"]
    body = [stmt]
    if cls is None and code.co_name != "<lambda>" and code.co_name not in params:
        # Without this, a function that calls itself by its (global) name would find
        # the factory's local definition instead: a free variable the original lacks.
        body.insert(0, ast.Global(names=[code.co_name], **_AT_TOP))
    if cls is not None:
        body = [ast.ClassDef(name=cls, bases=[], keywords=[], decorator_list=[], body=[stmt],
                             **_NEW_FIELDS, **_AT_TOP)]
        if cls not in params:
            # The wrapper class must not turn the class's own name into a local of the
            # factory: declared global, ``Layer.square(x)`` still reads the module's Layer.
            body.insert(0, ast.Global(names=[cls], **_AT_TOP))
    factory = ast.FunctionDef(
        name="__gradlab_factory__",
        args=ast.arguments(posonlyargs=[], args=[ast.arg(p, **_AT_TOP) for p in params],
                           vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=body, decorator_list=[], returns=None, **_NEW_FIELDS, **_AT_TOP)
    module = ast.Module(body=[factory], type_ignores=[])
    factory_code = compile(module, code.co_filename, "exec").co_consts[0]
    found = _find_code(factory_code, code.co_name)
    if found is None:  # pragma: no cover - the compiler always emits it
        raise NoSourceError(f"no code object for {code.co_name}")
    return found


def _find_code(container: CodeType, name: str):
    """Breadth-first: the outermost code object called ``name`` inside ``container``."""
    queue = [container]
    while queue:
        nxt = []
        for c in queue:
            for const in c.co_consts:
                if isinstance(const, CodeType):
                    if const.co_name == name:
                        return const
                    nxt.append(const)
        queue = nxt
    return None
