"""The notebook DSL in a real IPython InteractiveShell (and once in a real Jupyter kernel).

Cells run through ``shell.run_cell`` exactly as typed in a notebook: IPython's input
transformers (ours among them) run, the cell is cached in linecache and compiled.
"""

from __future__ import annotations

import inspect
import linecache
import re
import textwrap

import numpy as np
import pytest

import gradlab as gl

pytest.importorskip("IPython")
pytest.importorskip("pipescript")  # the `ipython` extra: pip install 'gradlab[ipython]'
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

from gradlab.ipython import DSLSyntaxError, Weights, lower  # noqa: E402


@pytest.fixture(scope="module")
def shell():
    sh = InteractiveShell.instance()
    yield sh
    InteractiveShell.clear_instance()


@pytest.fixture
def dsl(shell):
    """A shell with ``%load_ext gradlab`` and numpy/gradlab imported; unloaded afterwards."""
    shell.run_line_magic("load_ext", "gradlab")
    run(shell, "import numpy as np\nimport gradlab as gl\nrng = np.random.default_rng(0)")
    yield shell
    shell.run_line_magic("unload_ext", "gradlab")
    shell.reset(new_session=False)


def run(shell, code: str):
    """Run a cell; re-raise its error (if any); return its value."""
    result = shell.run_cell(textwrap.dedent(code), store_history=True)
    error = result.error_before_exec or result.error_in_exec
    if error is not None:
        raise error
    return result.result


# --- pipelines ---------------------------------------------------------------------------


def test_pipeline_values_and_functions(dsl):
    assert run(dsl, "3 |> $ + 1 |> str") == "4"
    assert run(dsl, "f = $ |> $ * 2 |> str\nf(5)") == "10"
    assert run(dsl, "g = $ + $ |> $ * 10\ng(1, 2)") == 30  # two bare $: two arguments
    assert run(dsl, "h = $a - $b |> abs\nh(1, 5), h(b=1, a=5)") == (4, 4)
    assert run(dsl, "[3, 1, 2] |> sorted |> $[::-1]") == [3, 2, 1]
    assert run(dsl, "k = $ |> (lambda v: v + 1)\nk(1)") == 2
    assert run(dsl, "-2 |> np.maximum($, 0) |> float") == 0.0
    assert run(dsl, "3 |> $ * $ + $x") == 12  # in a stage every placeholder is the value


def test_pipeline_in_strings_and_comments_is_left_alone(dsl):
    assert run(dsl, "s = 'a |> $b'  # c |> $d\ns") == "a |> $b"


def test_pipeline_function_is_differentiable(dsl):
    run(dsl, """
        w1, b1 = rng.normal(size=(3, 4)), rng.normal(size=4)
        w2, b2 = rng.normal(size=(4, 2)), rng.normal(size=2)
        mlp = $ |> $ @ w1 + b1 |> np.tanh |> $ @ w2 + b2
        """)
    mlp = dsl.user_ns["mlp"]
    x = np.random.default_rng(1).normal(size=(5, 3))
    ns = dsl.user_ns
    expected = np.tanh(x @ ns["w1"] + ns["b1"]) @ ns["w2"] + ns["b2"]
    np.testing.assert_allclose(mlp(x), expected)
    gl.check_grads(lambda x: np.sum(mlp(x) ** 2), x)
    assert "|>" not in inspect.getsource(mlp)  # linecache holds the lowered, plain Python


def test_def_with_multiline_pipeline_gets_closed_form_gradient(dsl):
    run(dsl, """
        def f(x):
            return (x
                    |> np.sin
                    |> $ * x
                    |> np.sum)
        """)
    x = np.array([0.3, -1.2, 2.0])
    g = gl.grad(dsl.user_ns["f"])(x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x))
    gl.check_grads(dsl.user_ns["f"], x)


def test_pipeline_through_vmap(dsl):
    run(dsl, "w = rng.normal(size=(3, 2))\nper_row = $ |> $ @ w |> np.tanh |> np.sum")
    X = np.random.default_rng(2).normal(size=(4, 3))
    w = dsl.user_ns["w"]
    grads = gl.vmap(gl.grad(dsl.user_ns["per_row"]))(X)
    t = np.tanh(X @ w)
    np.testing.assert_allclose(grads, (1 - t**2) @ w.T)


@pytest.mark.parametrize("code, expected", [
    ('x = 4\nf"{x |> str} é {x |> $ + 1}"', "4 é 5"),  # f-strings, non-ASCII columns
    ("é = 2.0; r = é |> $ * 3 |> str\nr", "6.0"),
    ("[v |> $ + 1 for v in range(3)]", [1, 2, 3]),
    ("def k(x, f=$ |> $ * 2):\n    return f(x)\nk(3)", 6),
    ("class C:\n    z = 3 |> $ + 1\nC.z", 4),
    ("y = (2\n  # a comment |> here\n  |> $ + 1  # one\n\n  |> str)\ny", "3"),
    ("res = 5 |> $ + 1\n'__gl_v' in globals()", False),  # the pipeline's value stays local
    ("%time q = 3 |> str\nq", "3"),  # magics transform their code too
    ("x = 7\nout = !echo $x\nout[0]", "7"),  # IPython's own $ expansion is untouched
])
def test_dsl_edge_cases(dsl, code, expected):
    assert run(dsl, code) == expected


def test_two_pipeline_functions_on_one_line_are_differentiated_separately(dsl):
    run(dsl, "g = $ |> np.sin |> np.sum; h = $ |> np.cos |> np.sum")
    x = np.array([0.5, 1.0])
    np.testing.assert_allclose(gl.grad(dsl.user_ns["g"])(x), np.cos(x))
    np.testing.assert_allclose(gl.grad(dsl.user_ns["h"])(x), -np.sin(x))


def test_an_internal_lowering_error_runs_the_cell_unchanged(dsl, monkeypatch):
    import gradlab.ipython.extension as extension

    def broken(source, filename):
        raise RuntimeError("boom")

    monkeypatch.setattr(extension, "lower", broken)
    with pytest.warns(RuntimeWarning, match="could not rewrite this cell.*boom"):
        assert run(dsl, "'$5' + ' each'") == "$5 each"


# --- params blocks -----------------------------------------------------------------------


def test_params_block_names_do_not_leak_into_globals(dsl):
    run(dsl, "w1 = 'my own w1'")
    before = dict(dsl.user_ns)
    run(dsl, """
        with params{ w1 = np.ones((2, 3)); b1 = np.zeros(3) } as weights:
            layer = $ |> $ @ w1 + b1
            inside = w1.shape
        """)
    ns = dsl.user_ns
    assert ns["w1"] == "my own w1" and "b1" not in ns
    assert ns["inside"] == (2, 3)
    added = {k for k in ns if k not in before and not k.startswith("_")}
    assert added == {"weights", "layer", "inside"}
    assert all(ns[k] is v for k, v in before.items() if not k.startswith("_") and k != "In"
               and k != "Out")
    np.testing.assert_allclose(ns["layer"](np.ones(2)), [2.0, 2.0, 2.0])


def test_weights_grad_is_the_least_squares_gradient(dsl):
    run(dsl, """
        X, y = rng.normal(size=(8, 3)), rng.normal(size=8)
        with params{ w = rng.normal(size=3); b = 0.5 } as weights:
            predict = $ |> $ @ w + b
            loss = lambda: np.mean((predict(X) - y) ** 2)
            grads = weights.grad(loss)
        """)
    ns = dsl.user_ns
    weights, X, y = ns["weights"], ns["X"], ns["y"]
    r = X @ weights["w"] + weights["b"] - y
    np.testing.assert_allclose(ns["grads"]["w"], 2 * X.T @ r / len(y))
    np.testing.assert_allclose(ns["grads"]["b"], 2 * np.mean(r))
    w0 = weights["w"].copy()
    run(dsl, "weights.step(grads, 0.1)")
    np.testing.assert_allclose(weights["w"], w0 - 0.1 * ns["grads"]["w"])


def test_weights_gradient_passes_check_grads(dsl):
    run(dsl, """
        with params{ w = rng.normal(size=(3, 2)); v = rng.normal(size=2) } as weights:
            f = $ |> np.tanh($ @ w) |> $ @ v |> np.sum
            objective = lambda x: f(x) ** 2
        """)
    ns = dsl.user_ns
    weights, x = ns["weights"], np.random.default_rng(3).normal(size=(4, 3))

    gl.check_grads(lambda tree: weights.functional(ns["objective"])(tree, x), weights.tree)
    g = weights.grad(ns["objective"], x)
    assert set(g) == {"w", "v"} and g["w"].shape == (3, 2)


def test_frozen_and_tied_parameters(dsl):
    run(dsl, """
        with params{ emb = np.array([1.0, 2.0]); out = tied(emb); scale = frozen[3.0] } as p:
            objective = lambda: np.sum(emb * out * scale)
            g = p.grad(objective)
            p.step(g, 0.1)
        """)
    p, g = dsl.user_ns["p"], dsl.user_ns["g"]
    np.testing.assert_allclose(g["emb"], 2 * 3.0 * np.array([1.0, 2.0]))  # d(3 e^2)/de
    assert gl.tree_leaves(g) == [g["emb"]]  # no gradient for frozen or tied entries
    assert g["scale"] is None and g["out"] is None
    np.testing.assert_allclose(p["emb"], [1.0 - 0.6, 2.0 - 1.2])
    np.testing.assert_allclose(p["out"], p["emb"])  # tied follows its target
    assert float(p["scale"]) == 3.0 and p.count() == 2
    assert repr(p) == "Weights(emb: float64[2], out: tied to emb, scale: frozen float64[])"


def test_train_with_adam_fits_a_line(dsl):
    run(dsl, """
        X = np.linspace(-1, 1, 32)[:, None]
        y = 3.0 * X[:, 0] - 1.0
        with params{ w = np.zeros(1); b = 0.0 } as weights:
            loss = lambda: np.mean((X @ w + b - y) ** 2)
            result = gl.ipython.train(weights, loss, 300, gl.optim.Adam(0.1), progress=False)
        """)
    weights, result = dsl.user_ns["weights"], dsl.user_ns["result"]
    np.testing.assert_allclose([weights["w"][0], weights["b"]], [3.0, -1.0], atol=1e-3)
    assert result.history["loss"][-1] < 1e-5 < result.history["loss"][0]


def test_objective_pipeline_is_a_thunk_for_grad_value_and_grad_and_check_grads(dsl):
    run(dsl, """
        X, y = rng.normal(size=(16, 3)), rng.normal(size=16)
        with params{ w = rng.normal(size=3); b = 0.5; scale = frozen[2.0] } as weights:
            predict = $ |> $ @ w + b |> $ * scale
            obj = |> X |> predict |> np.mean(($ - y) ** 2)
            g = weights.grad(obj)
            value, g2 = weights.value_and_grad(obj)
        """)
    ns = dsl.user_ns
    weights, X, y, g = ns["weights"], ns["X"], ns["y"], ns["g"]
    r = 2.0 * (X @ weights["w"] + weights["b"]) - y
    np.testing.assert_allclose(g["w"], 2 * 2.0 * X.T @ r / len(y))
    np.testing.assert_allclose(g["b"], 2 * 2.0 * np.mean(r))
    assert g["scale"] is None and ns["g2"]["scale"] is None  # frozen: no gradient
    assert float(ns["value"]) == pytest.approx(np.mean(r ** 2)) == float(ns["obj"]())
    assert ns["obj"].__code__.co_argcount == 0
    weights.check_grads(ns["obj"])
    gl.check_grads(weights.functional(ns["obj"]), weights.tree)
    with pytest.raises(AssertionError, match="rev"):  # the check can fail: a wrong rule
        weights.check_grads(lambda: ns["obj"]() + gl.stop_gradient(weights["w"][0]) ** 2,
                            modes=("rev",), order=1)


def test_objective_pipeline_trains_with_adam_and_cosine_decay(dsl):
    run(dsl, """
        from gradlab.nn import cross_entropy, relu
        from gradlab.ipython import train
        from gradlab.optim import Adam, cosine_decay
        X = rng.normal(size=(64, 2))
        Y = (X[:, 0] * X[:, 1] > 0).astype(int)  # XOR of the signs: needs the hidden layer
        with params{ w1 = 0.5 * rng.normal(size=(2, 16)); b1 = np.zeros(16)
                     w2 = 0.5 * rng.normal(size=(16, 2)); b2 = np.zeros(2) } as weights:
            logits = $ |> $ @ w1 + b1 |> relu |> $ @ w2 + b2
            obj = |> X |> logits |> cross_entropy($, Y)
            before = obj()
            result = train(weights, obj, 200, Adam(lr=cosine_decay(0.05, 200)), progress=False)
            accuracy = np.mean(np.argmax(logits(X), axis=1) == Y)
        """)
    ns = dsl.user_ns
    assert float(ns["before"]) > 0.6 and result_loss(ns) < 0.1
    assert float(ns["obj"]()) == pytest.approx(result_loss(ns), rel=1e-3)
    assert ns["accuracy"] > 0.95 and ns["result"].steps == 200


def result_loss(ns) -> float:
    return float(ns["result"].history["loss"][-1])


def test_check_grads_with_nothing_to_differentiate_raises():
    with pytest.raises(ValueError, match="no float argument to differentiate.*weights.check_grads"):
        gl.check_grads(lambda: np.sum(np.ones(3)))


@pytest.mark.parametrize("code, expected", [
    ("obj = |> X |> f |> $ + 1",
     "obj = (lambda: (lambda __gl_v=(X): (__gl_v := ((f)(__gl_v)), __gl_v + 1)[-1])())"),
    ("obj = |> X", "obj = (lambda: (X))"),
    ("a = [|> 1, 2 |> str]", "a = [(lambda: (1)), (lambda __gl_v=(2): (str)(__gl_v))()]"),
    ("def f():\n    return |> 3 |> str",
     "def f():\n    return (lambda: (lambda __gl_v=(3): (str)(__gl_v))())"),
    ("o = (\n  |> 3\n  |> str)", "o = (\n  (lambda: (lambda __gl_v=(3): \n(str)(__gl_v))()))"),
])
def test_lowering_of_objective_pipelines(code, expected):
    assert lower(code) == expected


@pytest.mark.parametrize("code, position, message", [
    ("x = 1\ny = 3 + $ + 1", (2, 9), "only meaningful inside"),
    ("y = 3 |> $a + $b", (1, 15), "receives one value"),
    ("y = 3 |> str |> )", (1, 17), "unmatched ')'"),
    ("y = 3 |> |> str", (1, 10), "invalid syntax"),
    ("obj = |> $ |> f", (1, 10), "starts with `|>` takes no arguments"),
    ("a = 1 |> str; b = |> 2 |> $a + $b", (1, 32), "receives one value"),
    ("with params{ 3 } as w:\n    pass", (1, 14), "only `name = value`"),
    ("with params{ a = 1; a = 2 } as w:\n    pass", (1, 21), "'a' is defined twice"),
    ("x = 1\nwith params{ a = 1\n    tied = 2 } as w:\n    pass", (3, 5), "'tied' is a"),
    ("with params{ a = 1; 3 + } as w:\n    pass", (1, 24), "invalid syntax"),
    ("with params{ w = 1.0 } as w:\n    pass", (1, 27), "names both"),
])
def test_dsl_syntax_error_offset_is_the_column_of_the_error(code, position, message):
    with pytest.raises(DSLSyntaxError) as info:
        lower(code)
    assert (info.value.lineno, info.value.offset) == position
    assert message in info.value.msg


def test_ipython_shows_the_caret_under_the_error(dsl, capsys):
    capsys.readouterr()
    dsl.run_cell("with params{ a = 1; a = 2 } as w:\n    pass")
    shown = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)  # no colours
    lines = [line.rstrip() for line in shown.splitlines()]
    code_at = next(i for i, line in enumerate(lines) if "with params{" in line)
    caret = lines[code_at + 1]
    source = lines[code_at]
    assert caret.strip() == "^" and source[len(caret) - 1:].startswith("a = 2")


def test_assigning_a_parameter_inside_the_block_updates_the_weights(dsl):
    run(dsl, """
        with params{ b = np.zeros(2) } as weights:
            b = b + 1.0
            b += 1.0
        """)
    np.testing.assert_allclose(dsl.user_ns["weights"]["b"], [2.0, 2.0])
    assert "b" not in dsl.user_ns


def test_local_names_shadow_parameters(dsl):
    run(dsl, """
        with params{ w = np.array(2.0) } as weights:
            def scaled(x, w=None):
                return x * (weights['w'] if w is None else w)
            def inner(x):
                w = 10.0
                return x * w
            uses_weight = lambda x: x * w
            comp = [w for w in range(3)]
        """)
    ns = dsl.user_ns
    assert float(ns["scaled"](3.0)) == 6.0 and ns["scaled"](3.0, w=5.0) == 15.0
    assert ns["inner"](1.0) == 10.0 and float(ns["uses_weight"](1.5)) == 3.0
    assert ns["comp"] == [0, 1, 2]


def test_params_blocks_nest_and_work_inside_functions(dsl):
    run(dsl, """
        def make():
            with params{ a = np.array(2.0); b = tied(a) } as p:
                return p.grad(lambda: a * b)

        with params{ a = 1.0 } as outer:
            with params{ b = 2.0; a2 = a } as inner:
                pair = (a, b, inner.grad(lambda: b * outer["a"] + a2))
        """)
    assert float(dsl.user_ns["make"]()["a"]) == 4.0
    a, b, g = dsl.user_ns["pair"]
    assert (float(a), float(b), float(g["b"]), float(g["a2"])) == (1.0, 2.0, 1.0, 1.0)


def test_params_expression_with_a_nested_tree(dsl):
    w = run(dsl, 'params{ a = 1; cfg = {"s": 2.0, "t": frozen[3.0]} }')
    assert repr(w) == "Weights(a: float64[], cfg: {s: float64[], t: frozen float64[]})"
    assert w["cfg"]["t"] == 3.0 and w["a"].dtype == np.float64  # integers become floats


def test_nested_frozen_entries_have_no_gradient_and_are_not_stepped():
    w = Weights({"cfg": {"s": np.array([1.0, 2.0]), "t": gl.nn.frozen(3.0)}, "u": 0.5})
    g = w.grad(lambda: np.sum(w["cfg"]["s"] ** 2) * w["cfg"]["t"] + w["u"])
    assert g["cfg"]["t"] is None
    np.testing.assert_allclose(g["cfg"]["s"], [6.0, 12.0])
    w.step(g, lr=0.1)
    np.testing.assert_allclose(w["cfg"]["s"], [0.4, 0.8])
    assert float(w["u"]) == pytest.approx(0.4) and float(w["cfg"]["t"]) == 3.0
    assert isinstance(w.tree["cfg"]["t"], gl.nn.Frozen)  # still frozen


def test_weights_is_a_pytree_of_its_trainable_arrays():
    w = Weights({"a": np.ones(2), "t": gl.nn.tied("a"), "f": gl.nn.frozen(np.ones(3))})
    assert len(gl.tree_leaves(w)) == 1
    doubled = gl.tree_map(lambda x: 2 * x, w)
    assert isinstance(doubled, Weights) and doubled["t"].tolist() == [2.0, 2.0]
    assert w == w and w != doubled and len({w, doubled}) == 2  # compared by identity


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("code, message", [
    ("z = $ + 1", "only meaningful inside a `|>` pipeline"),
    ("y = 3 |> $a + $b", "a pipeline stage receives one value"),
    ("with params{ w = 1.0 }:\n    pass", "with params{...} as weights:"),
    ("with params{ 3 } as w:\n    pass", "only `name = value` statements"),
    ("with params{ w = 1; w = 2 } as p:\n    pass", "'w' is defined twice"),
    ("with params{ tied = 1 } as p:\n    pass", "'tied' is a params{...} keyword"),
    ("with params{ w = 1.0 } as w:\n    pass", "'w' names both the weights and a parameter"),
    ("with params{ w = 1.0 } as p:\n    def w():\n        pass", "cannot be redefined"),
    ("y = 3 *|> str", "supports only the |> pipe"),
])
def test_dsl_syntax_errors_name_the_problem(dsl, code, message):
    with pytest.raises(DSLSyntaxError) as info:
        run(dsl, code)
    assert message in str(info.value)


def test_compile_errors_are_still_shown_as_syntax_errors(dsl, capsys):
    capsys.readouterr()
    result = dsl.run_cell("if True:\nx = 1")
    assert isinstance(result.error_before_exec, IndentationError)
    shown = capsys.readouterr().out
    assert "IndentationError" in shown and "Traceback" not in shown


def test_dsl_syntax_error_points_at_the_users_line():
    with pytest.raises(DSLSyntaxError) as info:
        lower("a = 1\nb = 2\nc = $ * 3\n", filename="cell.py")
    err = info.value
    assert (err.filename, err.lineno, err.offset, err.text) == ("cell.py", 3, 5, "c = $ * 3")


def test_runtime_error_traceback_shows_the_users_dsl_line(dsl, capsys):
    capsys.readouterr()
    result = dsl.run_cell("h = ($\n     |> np.sqrt\n     |> $ + undefined_name)\nh(4.0)")
    assert isinstance(result.error_in_exec, NameError)
    out = capsys.readouterr().out
    assert "|> $ + undefined_name" in out and "lambda __gl_v" not in out
    assert "line 3" in out  # the stage's own line


def test_name_error_in_a_differentiated_dsl_function_shows_its_cell(dsl, capsys):
    run(dsl, "f = $ |> np.tanh |> $ * missing")
    capsys.readouterr()
    result = dsl.run_cell("gl.grad(f)(1.0)")
    assert isinstance(result.error_in_exec, NameError)
    assert "f = $ |> np.tanh |> $ * missing" in capsys.readouterr().out


def test_gradlab_no_rule_error_in_a_dsl_cell(dsl, capsys):
    run(dsl, "x = 1\nf = $ |> np.sin |> np.i0 |> np.sum")
    capsys.readouterr()
    result = dsl.run_cell("gl.grad(f)(np.ones(2))")
    err = result.error_in_exec
    assert isinstance(err, gl.NoRuleError)
    assert "numpy.i0 has no gradlab differentiation rule" in str(err)
    assert ":2: " in str(err)  # the cell's line 2
    assert "f = $ |> np.sin |> np.i0 |> np.sum" in capsys.readouterr().out


# --- lowering ----------------------------------------------------------------------------


def test_lowering_keeps_every_line_in_place():
    src = "y = (x  # comment |> not a pipe\n     |> f\n     |> $ + 1\n)\nz = '$'\n"
    out = lower(src)
    assert out.count("\n") == src.count("\n")
    lines = out.splitlines()
    assert "(f)(__gl_v)" in lines[1] and "__gl_v + 1" in lines[2] and lines[4] == "z = '$'"
    ns = {"x": 1.0, "f": lambda v: v * 10}
    exec(compile(out, "<t>", "exec"), ns)
    assert ns["y"] == 11.0


def test_plain_python_is_returned_unchanged():
    src = "a = b | c\nprint('$5')\n"
    assert lower(src) is src


# --- load / unload -----------------------------------------------------------------------


def _snapshot(shell):
    return {
        "input_transformers_post": list(shell.input_transformers_post),
        "cleanup_transforms": list(shell.input_transformer_manager.cleanup_transforms),
        "line_transforms": list(shell.input_transformer_manager.line_transforms),
        "ast_transformers": list(shell.ast_transformers),
        "events": {k: list(v) for k, v in shell.events.callbacks.items()},
        "user_ns": dict(shell.user_ns),
        "custom_exceptions": shell.custom_exceptions,
        "CustomTB": shell.CustomTB,
        "loaded": set(shell.extension_manager.loaded),
    }


def test_unload_restores_the_shell_exactly(shell):
    before = _snapshot(shell)
    shell.run_line_magic("load_ext", "gradlab")
    loaded = _snapshot(shell)
    assert len(loaded["input_transformers_post"]) == len(before["input_transformers_post"]) + 1
    assert loaded["custom_exceptions"] == (Exception,)
    shell.run_line_magic("load_ext", "gradlab")  # a second load is a no-op
    assert _snapshot(shell)["input_transformers_post"] == loaded["input_transformers_post"]
    shell.run_line_magic("unload_ext", "gradlab")
    after = _snapshot(shell)
    for key in before:
        if key == "user_ns":
            assert after[key].keys() == before[key].keys()
            assert all(after[key][k] is v for k, v in before[key].items())
        elif key == "CustomTB":
            assert after[key] is before[key]
        else:
            assert after[key] == before[key], key
    result = shell.run_cell("3 |> str", store_history=False)
    assert isinstance(result.error_before_exec, SyntaxError)
    assert not isinstance(result.error_before_exec, DSLSyntaxError)
    # and it loads again after an unload
    shell.run_line_magic("load_ext", "gradlab")
    assert shell.run_cell("3 |> str", store_history=False).result == "3"
    shell.run_line_magic("unload_ext", "gradlab")


def test_loading_keeps_an_existing_custom_exception_handler(shell):
    def handler(self, etype, value, tb, tb_offset=None):
        return ["custom"]

    shell.set_custom_exc((ZeroDivisionError,), handler)
    mine = shell.CustomTB
    try:
        shell.run_line_magic("load_ext", "gradlab")
        assert shell.custom_exceptions == (ZeroDivisionError,) and shell.CustomTB is mine
        shell.run_line_magic("unload_ext", "gradlab")
        assert shell.custom_exceptions == (ZeroDivisionError,) and shell.CustomTB is mine
    finally:
        shell.set_custom_exc((), None)


def test_linecache_holds_plain_python_for_dsl_cells(dsl):
    run(dsl, "def g(x):\n    return x |> np.exp |> np.sum")
    filename = dsl.user_ns["g"].__code__.co_filename
    text = "".join(linecache.getlines(filename))
    assert "|>" not in text and "(np.exp)(__gl_v)" in text


# --- a real Jupyter kernel ---------------------------------------------------------------


@pytest.mark.slow
def test_dsl_in_a_real_jupyter_kernel():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [
        "%load_ext gradlab\nimport numpy as np, gradlab as gl",
        "with params{ w = np.array([1.0, -2.0]); b = 0.5 } as weights:\n"
        "    f = $ |> $ @ w + b |> np.tanh\n"
        "    g = weights.grad(lambda: f(np.array([0.3, 0.1])))\n"
        "print(round(float(g['b']), 6), 'w' in globals())",
        "h = $ |> np.sqrt |> $ + not_defined\nh(4.0)",
        "%unload_ext gradlab",
        "print(3 |> str)",
        "%load_ext gradlab\nfrom gradlab.ipython import train\nfrom gradlab.optim import Adam",
        "with params{ a = np.array([0.0, 0.0]); s = frozen[2.0] } as wt:\n"
        "    obj = |> a |> np.sum(($ * s - np.array([1.0, 3.0])) ** 2)\n"
        "    g = wt.grad(obj)\n"
        "    wt.check_grads(obj)\n"
        "    r = train(wt, obj, 300, Adam(0.05), progress=False)\n"
        "print(g['a'].tolist(), g['s'], np.round(wt['a'], 3).tolist())",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True).execute()
    # Read each cell's stdout and error by kind: a loaded machine's kernel may also write
    # to stderr (a library's warning), which would shift positional indices. A busy
    # kernel may flush one print in several stream messages: their texts concatenate.
    stdout = ["".join(o["text"] for o in c.outputs if o.get("name") == "stdout")
              for c in nb.cells]
    errors = [next((o for o in c.outputs if o["output_type"] == "error"), None)
              for c in nb.cells]
    expected_g_b = 1 - np.tanh(0.3 - 0.2 + 0.5) ** 2
    assert stdout[1].split() == [str(round(expected_g_b, 6)), "False"], nb.cells[1].outputs
    assert errors[2]["ename"] == "NameError", nb.cells[2].outputs
    assert any("h = $ |> np.sqrt |> $ + not_defined" in line for line in errors[2]["traceback"])
    assert errors[4]["ename"] == "SyntaxError"  # unloaded: |> is no longer Python
    assert stdout[6].strip() == "[-4.0, -12.0] None [0.5, 1.5]", nb.cells[6].outputs


def test_gradlab_error_messages_quote_the_dsl_line_as_written(dsl):
    run(dsl, """
        def rank_of(x):
            return x |> np.linalg.matrix_rank
    """)
    with pytest.raises(gl.NoRuleError) as info:
        run(dsl, "gl.grad(lambda x: np.sum(rank_of(np.outer(x, x)) * x))(np.ones(2))")
    assert "return x |> np.linalg.matrix_rank" in str(info.value)
