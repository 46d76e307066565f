"""np.linalg: closed-form gradients, check_grads at order 2, batching, numpy's semantics."""

import numpy as np
import pytest

import gradlab as gl
from gradlab.ops.linalg_solve import spd, well_conditioned

RNG = np.random.default_rng(42)
A = well_conditioned(RNG, 3, 3)
AS = well_conditioned(RNG, 2, 3, 3)  # a stack of two matrices
S = spd(RNG, 3, 3)
TALL, WIDE = RNG.normal(size=(4, 3)), RNG.normal(size=(2, 4))


def _sym_lower_grad(g):
    """What numpy's one-triangle reading does to a gradient ``g`` w.r.t. a symmetric A."""
    return np.tril(g + g.T) - np.diag(np.diag(g))


# --- closed forms -------------------------------------------------------------------


def test_grad_of_logdet_is_inverse_transpose():
    g = gl.grad(lambda a: np.linalg.slogdet(a)[1])(A)
    np.testing.assert_allclose(g, np.linalg.inv(A).T, rtol=1e-10)


def test_grad_of_det_is_det_times_inverse_transpose():
    g = gl.grad(np.linalg.det)(A)
    np.testing.assert_allclose(g, np.linalg.det(A) * np.linalg.inv(A).T, rtol=1e-10)


def test_grad_of_trace_of_inverse_is_minus_inverse_squared_transposed():
    g = gl.grad(lambda a: np.sum(np.linalg.inv(a) * np.eye(3)))(A)
    inv = np.linalg.inv(A)
    np.testing.assert_allclose(g, -(inv @ inv).T, rtol=1e-10)


def test_grad_of_solve_in_closed_form():
    b, c = RNG.normal(size=3), RNG.normal(size=3)
    ga, gb = gl.grad(lambda a, b: c @ np.linalg.solve(a, b), argnum=(0, 1))(A, b)
    lam = np.linalg.solve(A.T, c)
    np.testing.assert_allclose(gb, lam, rtol=1e-10)
    np.testing.assert_allclose(ga, -np.outer(lam, np.linalg.solve(A, b)), rtol=1e-10)


def test_grad_of_largest_eigenvalue_is_outer_product_of_its_vector():
    w, v = np.linalg.eigh(S)
    top = np.outer(v[:, -1], v[:, -1])
    g = gl.grad(lambda a: np.linalg.eigvalsh(a)[-1])(S)
    np.testing.assert_allclose(g, _sym_lower_grad(top), atol=1e-10)  # numpy reads tril(a)
    g_sym = gl.grad(lambda a: np.linalg.eigh((a + a.T) / 2)[0][-1])(S)
    np.testing.assert_allclose(g_sym, top, atol=1e-10)


def test_grad_of_nuclear_norm_is_u_vt():
    u, _, vt = np.linalg.svd(TALL, full_matrices=False)
    g = gl.grad(lambda a: np.linalg.norm(a, "nuc"))(TALL)
    np.testing.assert_allclose(g, u @ vt, atol=1e-10)


def test_cholesky_of_symmetrised_input_has_symmetric_gradient():
    # d sum(log diag L) = d logdet(A) / 2 = inv(A) / 2 for symmetric perturbations.
    diag = (np.arange(3), np.arange(3))
    g = gl.grad(lambda a: np.sum(np.log(np.linalg.cholesky((a + a.T) / 2)[diag])))(S)
    np.testing.assert_allclose(g, np.linalg.inv(S) / 2, atol=1e-10)


def test_cholesky_reads_only_the_lower_triangle():
    g = gl.grad(lambda a: np.sum(np.linalg.cholesky(a) ** 2))(S)
    assert np.all(np.triu(g, 1) == 0)


def test_eigh_upper_reads_only_the_upper_triangle():
    g = gl.grad(lambda a: np.sum(np.linalg.eigh(a, UPLO="U")[1][0] ** 3))(S)
    assert np.all(np.tril(g, -1) == 0) and np.any(np.triu(g, 1) != 0)


def test_grad_of_eigenvalues_at_repeated_eigenvalues_is_finite():
    g = gl.grad(lambda a: np.sum(np.linalg.eigh(a)[0] ** 2))(np.eye(3))
    np.testing.assert_allclose(g, 2 * np.eye(3))


# --- check_grads at order 2 over numpy's call forms ------------------------------------

def _slogdet(a):
    return np.linalg.slogdet(a).logabsdet


def _multi_dot(x, y, z, w):
    return np.linalg.multi_dot([x, y, z, w])


def _lstsq_solution(a, b):
    return np.linalg.lstsq(a, b)[0]


def _lstsq_residuals(a, b):
    return np.linalg.lstsq(a, b)[1]


def _cholesky_upper(a):
    return np.linalg.cholesky(a, upper=True)


CASES = {
    "inv_stack": (np.linalg.inv, (AS,), {}),
    "solve_vector": (np.linalg.solve, (A, RNG.normal(size=3)), {}),
    "solve_matrix": (np.linalg.solve, (A, RNG.normal(size=(3, 2))), {}),
    "solve_stack_vector": (np.linalg.solve, (AS, RNG.normal(size=3)), {}),
    "solve_broadcast": (np.linalg.solve, (A, RNG.normal(size=(2, 3, 2))), {}),
    "det_stack": (np.linalg.det, (AS,), {}),
    "slogdet": (_slogdet, (A,), {}),
    "pinv_tall": (np.linalg.pinv, (TALL,), {}),
    "pinv_wide": (np.linalg.pinv, (WIDE,), {}),
    "matrix_power_3": (np.linalg.matrix_power, (A,), {"n": 3}),
    "matrix_power_neg": (np.linalg.matrix_power, (AS,), {"n": -2}),
    "multi_dot": (_multi_dot, (RNG.normal(size=3), RNG.normal(size=(3, 5)),
                               RNG.normal(size=(5, 2)), RNG.normal(size=2)), {}),
    "lstsq_vector": (_lstsq_solution, (TALL, RNG.normal(size=4)), {}),
    "lstsq_residuals": (_lstsq_residuals, (TALL, RNG.normal(size=(4, 2))), {}),
    "cholesky_stack": (np.linalg.cholesky, (np.stack([S, S + np.eye(3)]),), {}),
    "cholesky_upper": (_cholesky_upper, (S,), {}),
    "eigh": (np.linalg.eigh, (S,), {}),
    "eigh_upper": (np.linalg.eigh, (S,), {"UPLO": "U"}),
    "eigvalsh_stack": (np.linalg.eigvalsh, (np.stack([S, 2 * S]),), {}),
    "svd_tall": (np.linalg.svd, (TALL,), {"full_matrices": False}),
    "svd_wide": (np.linalg.svd, (WIDE,), {"full_matrices": False}),
    "svd_square_full": (np.linalg.svd, (A,), {}),
    "svd_values": (np.linalg.svd, (TALL,), {"compute_uv": False}),
    "qr_tall": (np.linalg.qr, (TALL,), {}),
    "qr_wide": (np.linalg.qr, (WIDE,), {}),
    "qr_r_stack": (np.linalg.qr, (RNG.normal(size=(2, 3, 2)),), {"mode": "r"}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_check_grads_order_two(name):
    fn, args, kwargs = CASES[name]
    gl.check_grads(lambda *a: fn(*a, **kwargs), *args, order=2)


@pytest.mark.parametrize("name", list(CASES))
def test_values_under_tracing_match_numpy(name):
    fn, args, kwargs = CASES[name]
    expected = gl.tree_leaves(fn(*args, **kwargs))
    traced = gl.tree_leaves(gl.jvp(lambda *a: fn(*a, **kwargs), args, args)[0])
    for got, want in zip(traced, expected):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


NORMS = [(None, None, False), ("fro", None, False), ("nuc", None, True), (1, None, False),
         (-1, None, False), (np.inf, None, True), (-np.inf, None, False), (2, (0, 1), False),
         (-2, (1, 0), False), (None, 1, False), (3, 0, True), (0.5, -1, False),
         (np.inf, 1, False), (-np.inf, 0, False), (1, 1, True)]


@pytest.mark.parametrize("ord,axis,keepdims", NORMS)
def test_norm_forms(ord, axis, keepdims):
    # Its own generator: the module's RNG gives each test inputs that depend on which
    # tests ran before it. Entries kept away from 0, where |x|**p (p < 1) has a kink
    # that central differences straddle (seen at |x| = 4e-5 when run alone).
    z = np.random.default_rng(20).normal(size=(3, 4))
    x = np.sign(z) * (0.25 + np.abs(z))
    f = lambda x: np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    traced = gl.jvp(f, (x,), (x,))[0]
    np.testing.assert_allclose(traced, f(x), rtol=1e-12)
    assert np.shape(traced) == np.shape(f(x))
    gl.check_grads(f, x, order=2)


def test_norm_of_higher_rank_array_and_zero_order():
    x = RNG.normal(size=(2, 3, 2))
    gl.check_grads(lambda x: np.linalg.norm(x, keepdims=True), x, order=2)
    assert gl.grad(lambda x: np.linalg.norm(x, 0) * 1.0)(x[0, 0]).tolist() == [0.0, 0.0]


# --- batching --------------------------------------------------------------------------


def test_vmap_of_solve_with_batched_vector_only():
    bs = RNG.normal(size=(5, 3))
    out = gl.vmap(lambda b: np.linalg.solve(A, b))(bs)
    np.testing.assert_allclose(out, np.linalg.solve(A, bs.T).T, rtol=1e-12)


def test_vmap_of_grad_of_logdet_over_a_batch():
    mats = np.stack([well_conditioned(RNG, 3, 3) for _ in range(4)])
    out = gl.vmap(gl.grad(lambda a: np.linalg.slogdet(a)[1]))(mats)
    np.testing.assert_allclose(out, np.swapaxes(np.linalg.inv(mats), -1, -2), rtol=1e-10)


def test_vmap_of_eigh_and_svd_match_a_loop():
    mats = np.stack([S, S + np.diag([0.0, 1.0, 3.0])])
    f = lambda a: np.linalg.eigh(a)[1] * np.linalg.svd(a, compute_uv=False)
    np.testing.assert_allclose(gl.vmap(f)(mats), np.stack([f(m) for m in mats]), atol=1e-12)


# --- errors ----------------------------------------------------------------------------


def test_svd_full_matrices_of_rectangular_matrix_raises():
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        gl.grad(lambda a: np.sum(np.linalg.svd(a)[0]))(TALL)


def test_qr_complete_of_tall_matrix_raises():
    with pytest.raises(NotImplementedError, match="mode='reduced'"):
        gl.grad(lambda a: np.sum(np.linalg.qr(a, mode="complete")[0]))(TALL)


def test_invalid_norm_order_raises_like_numpy():
    with pytest.raises(ValueError, match="Invalid norm order 'fro' for vectors"):
        gl.grad(lambda x: np.linalg.norm(x, "fro", axis=0))(np.ones(3))
    with pytest.raises(ValueError, match="Invalid norm order for matrices"):
        gl.grad(lambda x: np.linalg.norm(x, 3))(np.ones((2, 2)))


def test_non_square_inverse_raises_shape_error():
    with pytest.raises(gl.ShapeError, match="must be square"):
        gl.grad(lambda a: np.sum(np.linalg.inv(a)))(TALL)


# --- complex matrices where the rules are holomorphic -----------------------------------


def test_norms_of_complex_arrays():
    z = RNG.normal(size=(3, 2)) + 1j * RNG.normal(size=(3, 2))
    forms = ({}, {"ord": 1, "axis": 0}, {"ord": np.inf}, {"ord": "fro"}, {"ord": 3, "axis": 1})
    for kwargs in forms:
        gl.check_grads(lambda z, kwargs=kwargs: np.linalg.norm(z, **kwargs), z, order=2)
    # d|z|_2 = Re(conj(z) dz) / |z|, so autograd's gradient is conj(z) / |z|
    g = gl.grad(np.linalg.norm)(z[:, 0])
    np.testing.assert_allclose(g, np.conj(z[:, 0]) / np.linalg.norm(z[:, 0]), rtol=1e-12)


def test_complex_inv_solve_det_slogdet():
    c = A + 1j * well_conditioned(RNG, 3, 3) * 0.3
    b = RNG.normal(size=3) + 1j * RNG.normal(size=3)
    gl.check_grads(lambda a, b: np.linalg.solve(a, b) * np.linalg.det(np.linalg.inv(a)), c, b)
    gl.check_grads(lambda a: np.linalg.slogdet(a)[1], c)
    gl.check_grads(lambda a: np.linalg.slogdet(a)[0], c)


# --- declared on first use ------------------------------------------------------------

_FIRST_USE = {
    # library code (not rewritten) reaches the rules through numpy's function protocol
    "protocol": "exec(compile('def lib_norm(v):\\n    return np.linalg.norm(v)\\n',"
                " '<frozen lib>', 'exec'), ns)\n"
                "np.testing.assert_allclose(gl.grad(lambda v: ns['lib_norm'](v))(x), x / 5)\n",
    "rewrite": "a = np.array([[2.0, 1.0], [1.0, 3.0]])\n"
               "np.testing.assert_allclose(gl.grad(np.linalg.det)(a), 5 * np.linalg.inv(a).T)\n",
    # importing one module by hand, then meeting a function of another
    # four threads meeting the rules together, under vmap, in float32
    "threads": "import threading\n"
               "a = np.array([[3.0, 1.0], [1.0, 2.0]], np.float32)\n"
               "b = np.arange(6.0, dtype=np.float32).reshape(3, 2)\n"
               "f = gl.vmap(gl.grad(lambda b: np.sum(np.linalg.solve(a, b))))\n"
               "out = [None] * 4\n"
               "def run(i): out[i] = f(b)\n"
               "ts = [threading.Thread(target=run, args=(i,)) for i in range(4)]\n"
               "[t.start() for t in ts]; [t.join() for t in ts]\n"
               "want = np.tile(np.linalg.inv(a).T.sum(axis=1), (3, 1))\n"
               "assert all(o.dtype == np.float32 for o in out), [o.dtype for o in out]\n"
               "assert all(np.allclose(o, want, rtol=1e-5) for o in out), out\n",
    "attribute": "assert gl.ops.linalg_eig.eigvals_p.name == 'eigvals'\n"
                 "t = np.eye(4).reshape(4, 2, 2) * 2.0\n"
                 "g = gl.grad(lambda t: np.sum(np.linalg.tensorinv(t, ind=1)))(t)\n"
                 "np.testing.assert_allclose(g, -0.25 * np.ones((4, 2, 2)))\n",
}


@pytest.mark.parametrize("path", sorted(_FIRST_USE))
def test_linalg_rules_declared_on_first_use(path):
    # a fresh interpreter: import gradlab declares none of numpy.linalg's decompositions
    # and solvers; the first use by any path declares them all
    import subprocess
    import sys

    code = ("import sys, numpy as np, gradlab as gl\n"
            "lazy = ['gradlab.ops.linalg_' + m for m in ('solve', 'decomp', 'eig', 'tensor')]\n"
            "assert not any(m in sys.modules for m in lazy)\n"
            "ns = {'np': np}; x = np.array([3.0, 4.0])\n"
            + _FIRST_USE[path] +
            "assert all(m in sys.modules for m in lazy)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
