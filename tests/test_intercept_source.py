"""Reading a function's source for the rewrite: the fast path by the code's own line span,
its fallbacks, and the line numbers every path gives (tracebacks show the user's lines)."""

from __future__ import annotations

import ast
import importlib.util
import linecache
import sys
import textwrap
import warnings

import numpy as np
import pytest

import gradlab as gl
from gradlab.intercept import resolve
from gradlab.intercept import source as src

X = np.array([0.3, -0.7, 1.1])

MODULE = '''\
import functools

import numpy as np


def tag(label, *,
        weight=1.0):
    def wrap(fn):
        @functools.wraps(fn)
        def inner(x):
            return fn(x) * weight
        return inner
    return wrap


@tag(
    "multi-line decorator",
    weight=3.0,
)
def decorated(x):
    return np.sum(np.tile(np.sin(x), 2))


def ends_in_string(acc, x):
    acc.append(np.outer(x, x))
    """A trailing note,
    on two lines."""


def ends_in_nested_def(registry, scale):
    @registry.append
    def inner(y):
        return np.sum(np.cos(y) *
                      scale)


def dead_code_after_return(x):
    return np.sum(np.outer(x, x))
    unused = 2.0


TABLE = [
    lambda x: np.sum(np.outer(x, x)),
    lambda x: np.sum(np.tile(x, 3)) * 2.0]


class Box:
    def __init__(self, w):
        self.__w = w

    def apply(self, x):
        return np.sum(np.outer(x, self.__w))


class Doubled(Box):
    def apply(self, x):
        return 2.0 * super().apply(x)


def continued_at_column_zero(x):
    note = """
text at column zero
"""
    return np.sum(np.outer(x, x) * len(note)
)
'''


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    path = tmp_path_factory.mktemp("src") / "gradlab_source_case.py"
    path.write_text(MODULE)
    spec = importlib.util.spec_from_file_location("gradlab_source_case", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gradlab_source_case"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["gradlab_source_case"]


def _lines(code):
    return {line for _, _, line in code.co_lines() if line is not None}


def _instrumented(fn):
    out = resolve(fn)
    assert out is not fn and src.RESOLVER in out.__code__.co_freevars
    return out


def test_a_decorated_def_is_read_by_its_line_span_at_its_real_lines(mod):
    original = mod.decorated.__wrapped__
    assert original.__code__.co_firstlineno == 16  # the decorator's line, then the def at 20
    assert src._parse_def_lines(original) is not None  # no tokenizing fallback
    new = _instrumented(original)
    assert _lines(new.__code__) - {20} == _lines(original.__code__) - {16, 20}
    np.testing.assert_allclose(gl.grad(mod.decorated)(X), 6.0 * np.cos(X), rtol=1e-12)


def test_defs_ending_in_a_multi_line_string_or_a_nested_def(mod):
    # The last instruction of each sits on a line before its def's last line.
    assert src._parse_def_lines(mod.ends_in_string) is not None
    assert src._parse_def_lines(mod.ends_in_nested_def) is not None

    def f(x):
        acc, registry = [], []
        mod.ends_in_string(acc, x)
        mod.ends_in_nested_def(registry, 0.5)
        return np.sum(acc[0]) + registry[0](x)

    want = 2 * np.sum(X) - 0.5 * np.sin(X)  # d/dx sum(outer(x, x)) = 2 sum(x)
    np.testing.assert_allclose(gl.grad(f)(X), want, rtol=1e-12)
    new = _instrumented(mod.ends_in_nested_def)
    assert _lines(new.__code__) == _lines(mod.ends_in_nested_def.__code__)


def test_code_the_compiler_dropped_is_read_too(mod):
    # After a return nothing is compiled, but the def is read to its end: same locals.
    tree = src._parse_def_lines(mod.dead_code_after_return)
    assert tree.body[0].end_lineno == 39
    assert "unused" in mod.dead_code_after_return.__code__.co_varnames
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the whole def is found: its locals match, no warning
        g = gl.grad(mod.dead_code_after_return)(X)
    np.testing.assert_allclose(g, 2 * np.sum(X) * np.ones(3), rtol=1e-12)


def test_a_statement_continued_at_column_zero_sends_the_read_to_inspect(mod):
    # The line after the last instruction's is shallower than the def, and inside a
    # bracket: cut there, the lines do not parse, and inspect's tokenizer reads the def.
    assert src._parse_def_lines(mod.continued_at_column_zero) is None
    assert src._parse_block(mod.continued_at_column_zero)[0].body[0].end_lineno == 65
    g = gl.grad(mod.continued_at_column_zero)(X)
    np.testing.assert_allclose(g, 2 * np.sum(X) * 21 * np.ones(3), rtol=1e-12)


def test_lambdas_inside_a_multi_line_list(mod):
    first, last = mod.TABLE
    np.testing.assert_allclose(gl.grad(first)(X), 2 * np.sum(X) * np.ones(3), rtol=1e-12)
    np.testing.assert_allclose(gl.grad(last)(X), 6.0 * np.ones(3), rtol=1e-12)
    assert _instrumented(first).__code__.co_firstlineno == 43
    assert _instrumented(last).__code__.co_firstlineno == 44  # the list's last item


def test_private_names_and_super_in_methods(mod):
    w = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(gl.grad(mod.Box(w).apply)(X), np.sum(w) * np.ones(3),
                               rtol=1e-12)
    np.testing.assert_allclose(gl.grad(mod.Doubled(w).apply)(X), 2 * np.sum(w) * np.ones(3),
                               rtol=1e-12)
    assert src._parse_def_lines(mod.Doubled.apply) is not None


def _exec_at(filename, text, register=True):
    """Run ``text`` as the file ``filename`` (a notebook cell when it is ``<...>``)."""
    if register:
        lines = text.splitlines(keepends=True)
        linecache.cache[filename] = (len(text), None, lines, filename)
    namespace = {"np": np}
    exec(compile(text, filename, "exec"), namespace)
    return namespace


@pytest.mark.parametrize("blank", [0, 5, 3000])  # 3000: the renumbering path
def test_a_notebook_cell_keeps_its_line_numbers(blank):
    name = f"<ipython-input-{blank}-gradlabsource>"
    text = "\n" * blank + textwrap.dedent('''\
        def cell_fn(x):
            y = np.sin(x)
            return np.sum(y @ np.ones((4, 2)))  # shape mismatch
        ''')
    try:
        f = _exec_at(name, text)["cell_fn"]
        assert src._parse_def_lines(f) is not None
        with pytest.raises(gl.ShapeError) as info:
            gl.grad(f)(X)
        assert "y @ np.ones((4, 2))" in str(info.value)
        frames = [fr for fr in info.traceback if str(fr.path) == name]
        assert [fr.lineno + 1 for fr in frames] == [blank + 3]
    finally:
        linecache.cache.pop(name, None)


def test_an_indented_def_far_down_keeps_its_columns_and_lines():
    name = "<ipython-input-7-gradlabsource>"
    text = "\n" * 2500 + textwrap.dedent('''\
        class Model:
            def loss(self, x):
                s = """keeps
            its text"""
                return np.sum(np.outer(x, x)) * len(s)
        ''')
    try:
        model = _exec_at(name, text)["Model"]()
        text_length = len("keeps\n    its text")  # the string's lines keep their indent
        np.testing.assert_allclose(gl.grad(model.loss)(X), 2 * np.sum(X) * text_length,
                                   rtol=1e-12)
        assert _lines(_instrumented(model.loss).__code__) == _lines(model.loss.__code__)
    finally:
        linecache.cache.pop(name, None)


def test_exec_without_source_runs_uninstrumented():
    f = _exec_at("<string>", "def f(x):\n    return np.sum(np.sin(x))\n", register=False)["f"]
    assert src._parse_def_lines(f) is None
    with pytest.raises(src.NoSourceError):
        src.compile_instrumented(f)
    np.testing.assert_allclose(gl.grad(f)(X), np.cos(X), rtol=1e-12)


def test_a_function_longer_since_import_is_read_whole(tmp_path):
    path = tmp_path / "grown_module_for_test.py"
    path.write_text("import numpy as np\n\ndef f(x):\n    return np.sum(np.sin(x))\n")
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    path.write_text("import numpy as np\n\ndef f(x):\n    return np.sum(np.sin(x))\n"
                    "    z = 1\n")  # the running code's lines (3-4) are not all of f now
    linecache.checkcache(str(path))
    assert src._parse_def_lines(namespace["f"]).body[0].end_lineno == 5
    with pytest.warns(RuntimeWarning, match="no longer matches the running code"):
        g = gl.grad(namespace["f"])(X)
    np.testing.assert_allclose(g, np.cos(X), rtol=1e-12)


class _AugmentedToPlain(src.CallSiteRewriter):
    """A rewriter that replaces nodes: ``a += b`` -> ``a = a + b`` (the traversal contract)."""

    def visit_AugAssign(self, node):
        load = ast.Name(node.target.id, ast.Load())
        return ast.copy_location(
            ast.Assign([node.target], ast.copy_location(
                ast.BinOp(ast.copy_location(load, node), node.op, node.value), node)), node)


def test_the_flat_rewrite_visits_children_first_and_puts_replacements_in_place():
    tree = ast.parse("def f(x):\n    acc = np.zeros(2)\n    acc += g(h(x))\n    return acc\n")
    _AugmentedToPlain().visit(tree.body[0])
    assert ast.unparse(tree) == (
        "def f(x):\n"
        f"    acc = {src.RESOLVER}(np.zeros)(2)\n"
        f"    acc = acc + {src.RESOLVER}(g)({src.RESOLVER}(h)(x))\n"
        "    return acc")
    compile(tree, "<test>", "exec")  # every node the rewrite made has its location


_CALLS_EVERYWHERE = '''
def f(x, *rest, k=g0(), **kw):
    @deco(d1())
    def inner(y=d2(), *, z: ann() = d3()):
        nonlocal x
        x += t0(y)
        return [c1(v) for v in it1() if c2(v)] + {c3(v): c4(v) for v in it2()}
    with w1() as a, w2(a):
        b = (c5() if c6() else c7()), lambda q=c8(): c9(q)
    try:
        s = f"{c10(x)!r:>{c11()}}" + s1()[c12():c13(): c14()]
    except e1() as err:
        s2(*c15(), **c16(), key=c17())
    finally:
        while (n := c18()) > c19():
            break
        else:
            c20()
    match c21():
        case [p, *_] if c22(p):
            c23(p)
    obj.attr[c24()] = c25()
    obj.method(c26()).chain(c27())(c28())
    return not c29() and (yield c30()) or await_(c31())
'''


def test_the_rewrite_reaches_a_call_in_every_kind_of_place():
    """Every call, wherever it sits (defaults, decorators, comprehensions, f-strings,
    slices, handlers, match guards, chained calls), is routed through the resolver, and
    names and constants are left as they were."""
    tree = ast.parse(_CALLS_EVERYWHERE)
    before = sum(isinstance(n, ast.Call) for n in ast.walk(tree))
    leaves = _names_and_constants(tree)
    src.CallSiteRewriter().visit(tree.body[0])
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    wrappers = [n for n in calls if isinstance(n.func, ast.Name) and n.func.id == src.RESOLVER]
    helpers = [n for n in calls if isinstance(n.func, ast.Attribute)  # ``assigned`` (a[i] = v)
               and isinstance(n.func.value, ast.Name) and n.func.value.id == src.RESOLVER]
    routed = [n for n in calls if n not in wrappers and n not in helpers]
    assert before == 49 and len(routed) == len(wrappers) == before and len(helpers) == 1
    for call in routed:
        assert isinstance(call.func, ast.Call) and call.func in wrappers, ast.unparse(call)
    assert _names_and_constants(tree) - {("name", src.RESOLVER)} == leaves
    compile(tree, "<test>", "exec")


def _names_and_constants(tree):
    return {("name", n.id) if isinstance(n, ast.Name) else ("constant", repr(n.value))
            for n in ast.walk(tree) if isinstance(n, (ast.Name, ast.Constant))}
