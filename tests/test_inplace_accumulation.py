"""``acc += v`` and ``np.exp(x, out=buf)`` inside differentiated functions (issue 9, item 7).

numpy writes these into an existing array; in a function gradlab instruments the rewrite
rebinds the name to the traced result instead (``gradlab/intercept/inplace.py``), so the
value and every derivative come out as if the program had written ``acc = acc + v``.
What cannot be rebound (an attribute or global ``out=``, a view, an array that another
name or a list also holds) raises ``InPlaceMutationError``: never a wrong gradient.
"""

import contextlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import gradlab as gl
from gradlab.intercept import instrument, resolve

X = np.array([0.3, -0.7, 1.1])
W = np.array([0.5, -2.0, 3.0])  # sums to 1.5
BUFFER = np.zeros(3)  # a module-level buffer: out=BUFFER cannot be rebound


def accumulate(x):
    acc = np.zeros(3)
    for i in range(3):
        acc += W[i] * np.sin(x)
    return acc


def accumulated_loss(x):
    return np.sum(accumulate(x) ** 2)


def _central_differences(f, x, eps=1e-6):
    return np.stack([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(x.size)],
                    axis=-1)


# ---- augmented assignment ---------------------------------------------------------------

def test_accumulation_loop_value_and_gradient():
    value, g = gl.value_and_grad(accumulated_loss)(X)
    s = np.sum(W)  # acc = s * sin(x)
    np.testing.assert_allclose(value, np.sum((s * np.sin(X)) ** 2), rtol=1e-14)
    np.testing.assert_allclose(g, 2 * s ** 2 * np.sin(X) * np.cos(X), rtol=1e-13)
    gl.check_grads(accumulated_loss, modes=("rev", "fwd"), order=2)(X)


@pytest.mark.parametrize("op, closed_form, derivative", [
    ("-=", lambda x: 2.0 - np.exp(x), lambda x: -np.exp(x)),
    ("*=", lambda x: 2.0 * np.exp(x), lambda x: 2.0 * np.exp(x)),
    ("/=", lambda x: 2.0 / np.exp(x), lambda x: -2.0 / np.exp(x)),
    ("**=", lambda x: 2.0 ** np.exp(x), lambda x: np.log(2.0) * 2.0 ** np.exp(x) * np.exp(x)),
], ids=["sub", "mul", "div", "pow"])
def test_each_operator(op, closed_form, derivative):
    f = {"-=": _subtract, "*=": _multiply, "/=": _divide, "**=": _power}[op]
    np.testing.assert_allclose(f(X), closed_form(X), rtol=1e-14)  # plain numpy
    np.testing.assert_allclose(gl.elementwise_grad(f)(X), derivative(X), rtol=1e-13)
    gl.check_grads(f, modes=("rev", "fwd"), order=2)(X)


def _subtract(x):
    acc = np.full(3, 2.0)
    acc -= np.exp(x)
    return acc


def _multiply(x):
    acc = np.full(3, 2.0)
    acc *= np.exp(x)  # the tape keeps acc's value for exp(x)'s derivative
    return acc


def _divide(x):
    acc = np.full(3, 2.0)
    acc /= np.exp(x)
    return acc


def _power(x):
    acc = np.full(3, 2.0)
    acc **= np.exp(x)
    return acc


def test_float32_accumulator_keeps_its_dtype():
    def f(x):
        acc = np.zeros(3, np.float32)
        acc += np.sin(x)  # float64 into float32: numpy casts (same_kind), so does gradlab
        return acc

    assert f(X).dtype == np.float32
    out, tangent = gl.jvp(f, (X,), (np.ones(3),))
    assert out.dtype == np.float32 and tangent.dtype == np.float32
    np.testing.assert_allclose(out, np.sin(X).astype(np.float32), rtol=0)
    np.testing.assert_allclose(gl.elementwise_grad(f)(X), np.cos(X), rtol=1e-6)


def test_complex_and_float16_accumulators():
    def f(x):
        acc = np.zeros(3, complex)
        acc += 2.0 * x
        half = np.zeros(3, np.float16)
        half += x
        return np.real(np.sum(acc * 1j * x)) + np.sum(acc.real) + np.sum(half)

    assert f(X) == pytest.approx(2 * np.sum(X) + np.sum(X.astype(np.float16)), rel=1e-12)
    np.testing.assert_allclose(gl.grad(f)(X), [3.0, 3.0, 3.0], rtol=0)


def test_object_accumulator_is_refused():
    def f(x):
        acc = np.zeros(3, object)
        acc += x
        return np.sum(acc)

    with pytest.raises(gl.InPlaceMutationError, match=r"numpy array of dtype object"):
        gl.grad(f)(X)


def test_int_accumulator_raises_numpys_casting_error():
    def f(x):
        acc = np.zeros(3, int)
        acc += np.sin(x)
        return np.sum(acc)

    with pytest.raises(TypeError) as plain:
        f(X)
    with pytest.raises(type(plain.value)) as traced:
        gl.grad(f)(X)
    assert str(traced.value) == str(plain.value)
    assert "Cannot cast ufunc 'add' output from dtype('float64') to dtype('int64')" \
        in str(traced.value)


def test_list_plus_equals_still_extends_in_place():
    def f(x):
        parts = [x[0]]
        alias = parts
        parts += [x[1], np.zeros(())]  # list.__iadd__: alias sees the new items
        return sum(alias) * len(alias)

    np.testing.assert_allclose(gl.grad(f)(X), [3.0, 3.0, 0.0], rtol=0)


def test_literal_increments_are_left_as_written():
    def counts(x):
        i = 0
        for _ in range(3):
            i += 1
        return x * i

    def accumulates(x):
        acc = np.zeros(3)
        acc += x
        return acc

    assert "inplace" not in resolve(counts).__code__.co_names  # i += 1 pays nothing
    assert "inplace" in resolve(accumulates).__code__.co_names
    np.testing.assert_allclose(gl.elementwise_grad(counts)(X), [3.0, 3.0, 3.0], rtol=0)


class Running:
    def __init__(self):
        self.total = np.zeros(3)

    def add(self, v):
        self.total += v  # an attribute target: self.total = inplace(...)
        return self


def test_attribute_target_in_a_method():
    def f(x):
        r = Running().add(np.exp(x)).add(x ** 2)
        return np.sum(r.total)

    np.testing.assert_allclose(gl.grad(f)(X), np.exp(X) + 2 * X, rtol=1e-14)
    assert np.all(Running().add(np.ones(3)).total == 1.0)  # plain numpy


def test_nested_function_accumulates_and_nonlocal_is_left_alone():
    def f(x):
        def inner(v):
            acc = np.zeros(3)
            acc += v
            return acc

        return np.sum(inner(x) * 2.0)

    np.testing.assert_allclose(gl.grad(f)(X), [2.0, 2.0, 2.0], rtol=0)

    def g(x):
        acc = np.zeros(3)

        def add(v):
            nonlocal acc
            acc += v  # a closure cell: rebinding it would leak the traced value

        add(x)
        return np.sum(acc)

    with pytest.raises(gl.InPlaceMutationError, match=r"acc \+= \.\.\. writes into a numpy "
                                                      r"array in place.*acc = acc \+ \(v\)"):
        gl.grad(g)(X)


def test_plain_calls_mutate_in_place_exactly_as_numpy():
    def f(v):
        acc = np.zeros(3)
        keep = acc
        acc += v
        buf = np.empty(3)
        r = np.exp(v, out=buf)
        return keep, acc is keep, r is buf, buf

    keep, same, returned_buffer, buf = instrument(f)(X)  # instrumented, nothing traced
    assert same and returned_buffer
    np.testing.assert_array_equal(keep, X)
    np.testing.assert_array_equal(buf, np.exp(X))


# ---- out= -------------------------------------------------------------------------------

def test_out_into_a_local_buffer():
    def f(x):
        buf = np.empty_like(x)
        np.exp(x, out=buf)
        y = np.sin(x, out=np.empty(3))  # a fresh expression: no name to rebind
        z = np.multiply(x, 2.0, out=np.empty_like(x))
        options = {"casting": "same_kind"}
        w = np.empty(3)
        np.square(*[x], out=w, **options)  # a call that unpacks its arguments
        return np.sum(buf * y) + np.sum(z) + np.sum(w)

    g = gl.grad(f)(X)
    np.testing.assert_allclose(g, np.exp(X) * (np.sin(X) + np.cos(X)) + 2.0 + 2 * X,
                               rtol=1e-13)
    assert resolve(f).__code__.co_varnames == f.__code__.co_varnames  # the walrus adds none
    xs = np.stack([X, 2.0 * X])
    np.testing.assert_allclose(gl.vmap(gl.grad(f))(xs), [gl.grad(f)(x) for x in xs],
                               rtol=1e-14)
    gl.check_grads(f, modes=("rev", "fwd"), order=2)(X)


def test_out_broadcasts_and_casts_like_numpy():
    def f(x):
        buf = np.zeros((2, 3), np.float32)
        np.exp(x, out=buf)  # (3,) into (2, 3): numpy broadcasts, and casts to float32
        return buf

    assert f(X).dtype == np.float32 and f(X).shape == (2, 3)
    out, tangent = gl.jvp(f, (X,), (np.ones(3),))
    assert out.dtype == np.float32 and out.shape == (2, 3)
    np.testing.assert_allclose(tangent, np.broadcast_to(np.exp(X), (2, 3)), rtol=1e-6)


def test_out_operand_is_its_own_buffer():
    def f(x):
        a = np.full(3, 2.0)
        b = np.multiply(a, x, out=a)  # the explicit form of a *= x
        return np.sum(a) + np.sum(b)

    np.testing.assert_allclose(gl.grad(f)(X), [4.0, 4.0, 4.0], rtol=0)


def test_a_user_function_taking_out_keeps_its_own_return_value():
    def fill(v, out):
        out[...] = 1.0
        return None

    def f(x):
        buf = np.zeros(3)
        r = fill(x, out=buf)  # not numpy: buf is not rebound to the None returned
        return np.sum(x * buf) + (0.0 if r is None else 1.0)

    np.testing.assert_allclose(gl.grad(f)(X), [1.0, 1.0, 1.0], rtol=0)


def test_out_into_a_global_buffer_is_refused_with_advice():
    def f(x):
        np.exp(x, out=BUFFER)
        return np.sum(BUFFER)

    with pytest.raises(gl.InPlaceMutationError,
                       match=r"np\.exp\(\.\.\., out=\.\.\.\) writes its result into an existing "
                             r"array.*use the returned value.*out= also works when it names a "
                             r"local variable \(out=buf\) or a fresh array"):
        gl.grad(f)(X)
    np.testing.assert_array_equal(BUFFER, np.zeros(3))


def test_out_into_a_traced_array_stays_an_in_place_mutation():
    def f(x):
        np.multiply(x, 2.0, out=x)
        return np.sum(x)

    with pytest.raises(gl.InPlaceMutationError,
                       match=r"np\.multiply\(\.\.\., out=\.\.\.\) writes into a traced array.*"
                             r"immutable"):
        gl.grad(f)(X)


# ---- what cannot be rebound: refused, never a wrong gradient ------------------------------

def _aliased(x):
    acc = np.zeros(3)
    keep = acc
    acc += x
    return np.sum(keep) + np.sum(acc)


def _in_a_list(x):
    params = [np.ones(3), np.ones(3)]
    for p in params:
        p -= 0.1 * x  # numpy updates the list's arrays; a rebinding could not
    return sum(np.sum(p) for p in params)


def _a_view(x):
    big = np.zeros((2, 3))
    row = big[0]
    row += x
    return np.sum(big)


def _out_aliased(x):
    buf = np.zeros(3)
    keep = [buf]
    np.exp(x, out=buf, **{})
    return np.sum(keep[0])


@pytest.mark.parametrize("f", [_aliased, _in_a_list, _a_view, _out_aliased],
                         ids=["another-name", "a-list", "a-view", "out-in-a-list"])
def test_an_array_held_elsewhere_is_refused(f):
    with pytest.raises(gl.InPlaceMutationError,
                       match=r"into a numpy array that is also reachable another way.*would "
                             r"miss the derivative"):
        gl.grad(f)(X)


def test_subscript_target_names_the_functional_update():
    def f(x):
        a = np.zeros(3)
        a[0] += x[1]
        return np.sum(a)

    with pytest.raises(gl.TracerConversionError,
                       match=r"(?s)storing a traced value into a plain numpy array.*"
                             r"a = gl\.at\(a\)\[0\]\.add\(x\[1\]\)"):
        gl.grad(f)(X)


def test_shape_growth_is_refused_as_numpy_refuses_it():
    def f(x):
        acc = np.zeros(3)
        acc += np.outer(x, x)
        return np.sum(acc)

    with pytest.raises(ValueError) as plain:
        f(X)
    with pytest.raises(ValueError) as traced:
        gl.grad(f)(X)
    assert str(traced.value) == str(plain.value)
    assert "non-broadcastable output operand with shape (3,)" in str(traced.value)


# ---- += in every kind of block ----------------------------------------------------------

A2 = np.array([[2.0, 0.5, 0.0], [0.5, 3.0, 0.2], [0.0, 0.2, 1.5]])


def accumulate_in_every_block(x):
    """A plain array's first ``+=`` inside each kind of statement block, with non-ufunc
    terms (tile, einsum, linalg.solve): the rewrite must rebind every one (a traced
    accumulator's later ``+=`` would work without it)."""
    a, b, c, d, e, f, g, h = (np.zeros(3, dtype=x.dtype) for _ in range(8))
    if len(x) > 100:
        a += 100 * x  # not run
    else:
        a += np.tile(x, 2)[:3] * 0.5
    for _ in range(2):
        b += np.sin(x)
    else:
        c += np.einsum("ij,j->i", A2, x)
    n = 0
    while n < 1:
        n += 1
    else:
        d += np.linalg.solve(A2, x)
    try:
        raise KeyError("handled below")
    except KeyError:
        e += np.cos(x)
    else:
        e += 100 * x  # not run
    finally:
        f += 2.0 * x * x
    with contextlib.nullcontext():
        g += 0.1 * np.exp(x)
    match n:
        case 1:
            h += x ** 3 / 3
        case _:
            h += 100 * x  # not run
    return np.sum((a + b + c + d + e + f + g + h) ** 2)


def test_accumulation_in_every_kind_of_block_matches_finite_differences():
    g = gl.grad(accumulate_in_every_block)(X)
    np.testing.assert_allclose(g, _central_differences(accumulate_in_every_block, X),
                               rtol=1e-7, atol=1e-8)
    xs = np.stack([X, 0.5 * X, -X])
    np.testing.assert_allclose(gl.vmap(gl.grad(accumulate_in_every_block))(xs),
                               [gl.grad(accumulate_in_every_block)(x) for x in xs],
                               rtol=1e-13)
    g32 = gl.grad(accumulate_in_every_block)(X.astype(np.float32))
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, g, rtol=1e-4)
    with ThreadPoolExecutor(2) as pool:  # the rewrite and the grad from other threads too
        others = list(pool.map(gl.grad(accumulate_in_every_block), [X, X]))
    for other in others:
        np.testing.assert_array_equal(other, g)


# ---- every transform ----------------------------------------------------------------------

def test_vmap_of_grad_matches_finite_differences():
    xs = np.stack([X, 0.5 * X, -X])
    got = gl.vmap(gl.grad(accumulated_loss))(xs)
    for x, g in zip(xs, got):
        np.testing.assert_allclose(g, _central_differences(accumulated_loss, x), rtol=1e-7,
                                   atol=1e-9)


def test_hessian_matches_finite_differences_of_the_gradient():
    H = gl.hessian(accumulated_loss)(X)
    s = np.sum(W)
    np.testing.assert_allclose(H, np.diag(2 * s ** 2 * np.cos(2 * X)), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(H, _central_differences(gl.grad(accumulated_loss), X),
                               rtol=1e-6, atol=1e-8)


def test_jacfwd_and_jvp_of_an_accumulation_loop():
    J = gl.jacfwd(accumulate)(X)
    np.testing.assert_allclose(J, np.diag(np.sum(W) * np.cos(X)), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(J, _central_differences(accumulate, X), rtol=1e-7, atol=1e-9)
    v = np.array([1.0, 2.0, -1.0])
    _, tangent = gl.jvp(accumulated_loss, (X,), (v,))
    _, pushed = gl.make_jvp(accumulated_loss)(X)(v)
    np.testing.assert_allclose(tangent, gl.grad(accumulated_loss)(X) @ v, rtol=1e-13)
    np.testing.assert_allclose(pushed, tangent, rtol=1e-14)


def test_jit_of_an_accumulation_loop_follows_new_inputs():
    compiled = gl.jit(gl.grad(accumulated_loss))
    for x in (X, 2.0 * X):
        np.testing.assert_allclose(compiled(x), gl.grad(accumulated_loss)(x), rtol=1e-13)


def test_code_gradlab_did_not_instrument_still_refuses():
    namespace = {"np": np}
    exec("def f(x):\n    acc = np.zeros(3)\n    acc += x\n    return np.sum(acc)\n", namespace)
    with pytest.raises(gl.InPlaceMutationError,
                       match=r"np\.add\(\.\.\., out=\.\.\.\) writes its result into an existing "
                             r"array.*use the returned value"):
        gl.grad(namespace["f"])(X)
