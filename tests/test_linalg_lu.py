"""torch.linalg's LU family (lu_factor, lu_factor_ex, lu, lu_solve; torch.lu, torch.lu_unpack,
torch.lu_solve), eig/eigvals (values; no gradient), and det/slogdet/inv at singular and
batched input: a case table through the float64 gradient check and against PyTorch 2.13
(forward and gradients) on every backend, then pivots, info, errors and shapes.

Inputs are N(0, 1) matrices: their pivots (the first largest |entry| of each column) are
far from ties, so the finite differences of the gradient check never change them.
"""
import warnings

import numpy as np
import pytest
from cases import Arg, OpCase, host_inputs, to_torch, to_xpnn
from conftest import needs_torch, optional_torch, to_np

import xpnn
from xpnn.backend import dtype_name

torch, _ = optional_torch()
A = Arg
EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)
TWIN_TOL = 1e4 * EPS64  # float64 against PyTorch: the same factorization, other roundings
F32_TOL = 1000 * EPS32  # float32 on a backend against float64 NumPy (condition ~10-100)
ROW_TOL = 64 * EPS32    # one matrix alone against the same matrix in a batch
DEPRECATED = "torch.lu(_solve)? is deprecated"


def _shift(t, a):
    """a + 3I: well conditioned, so that solves with it lose little."""
    n = a.shape[-1]
    eye = xpnn.eye(n, dtype=a.dtype, backend=a.backend, device=a.device) if t is xpnn else \
        t.eye(n, dtype=a.dtype)
    return a + 3 * eye


def _case(name, body, args, rowwise=()):
    def quiet(t):
        """body with library t, without the deprecation warnings of torch.lu/lu_solve."""
        def run(*xs):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", DEPRECATED)
                return body(t, *xs)
        return run
    return OpCase(name, quiet(xpnn), tuple(args), None if torch is None else quiet(torch),
                  tuple(rowwise))


def _lu_solve_old(t, b, a):
    return t.lu_solve(b, *t.linalg.lu_factor(_shift(t, a)))


M3, B4 = A((3, 3)), A((2, 4, 4))
ROW = (0,)
CASES = [
    _case("lu_factor", lambda t, a: t.linalg.lu_factor(a).LU, [M3]),
    _case("lu_factor:batched", lambda t, a: t.linalg.lu_factor(a)[0], [B4], ROW),
    _case("lu_factor:wide", lambda t, a: t.linalg.lu_factor(a).LU, [A((3, 5))]),
    _case("lu_factor:tall", lambda t, a: t.linalg.lu_factor(a).LU, [A((2, 5, 3))], ROW),
    _case("lu_factor_ex", lambda t, a: t.linalg.lu_factor_ex(a).LU, [A((4, 2))]),
    _case("lu:L", lambda t, a: t.linalg.lu(a).L, [B4], ROW),
    _case("lu:U", lambda t, a: t.linalg.lu(a).U, [B4], ROW),
    _case("lu:PLU", lambda t, a: (lambda r: r.P @ r.L @ r.U * 2)(t.linalg.lu(a)), [M3]),
    _case("lu:wide_L", lambda t, a: t.linalg.lu(a).L, [A((3, 5))]),
    _case("lu:wide_U", lambda t, a: t.linalg.lu(a).U, [A((3, 5))]),
    _case("lu:tall_L", lambda t, a: t.linalg.lu(a).L, [A((5, 3))]),
    _case("lu:tall_U", lambda t, a: t.linalg.lu(a)[2], [A((2, 5, 3))], ROW),
    _case("lu_unpack", lambda t, a: (lambda r: r.L * 3 + r.U)(
        t.lu_unpack(*t.linalg.lu_factor(a))), [B4], ROW),
    _case("lu_unpack:wide", lambda t, a: t.lu_unpack(*t.linalg.lu_factor(a)).U, [A((2, 5))]),
    _case("lu:torch", lambda t, a: t.lu(a)[0], [M3]),
    _case("lu:method", lambda t, a: a.lu()[0], [B4], ROW),
    _case("lu_solve:method", lambda t, b, a: b.lu_solve(*t.linalg.lu_factor(_shift(t, a))),
          [A((3, 2)), M3]),
    _case("lu_solve", lambda t, a, b: t.linalg.lu_solve(
        *t.linalg.lu_factor(_shift(t, a)), b), [M3, A((3, 2))]),
    _case("lu_solve:adjoint", lambda t, a, b: t.linalg.lu_solve(
        *t.linalg.lu_factor(_shift(t, a)), b, adjoint=True), [B4, A((2, 4, 3))], (0, 1)),
    _case("lu_solve:right", lambda t, a, b: t.linalg.lu_solve(
        *t.linalg.lu_factor(_shift(t, a)), b, left=False), [M3, A((2, 4, 3))]),
    _case("lu_solve:right_adjoint", lambda t, a, b: t.linalg.lu_solve(
        *t.linalg.lu_factor(_shift(t, a)), b, left=False, adjoint=True), [B4, A((2, 1, 4))],
        (0, 1)),
    _case("lu_solve:broadcast", lambda t, a, b: t.linalg.lu_solve(
        *t.linalg.lu_factor(_shift(t, a)), b), [M3, A((2, 3, 2))]),
    _case("lu_solve:torch", _lu_solve_old, [A((3, 2)), M3]),
    # det and slogdet through batched and (rank-deficient) singular input
    _case("det:singular_batch", lambda t, a, b: t.linalg.det(a @ b),
          [A((2, 3, 2)), A((2, 2, 3))], (0, 1)),
    _case("slogdet:batched", lambda t, a: t.linalg.slogdet(a).logabsdet, [B4], ROW),
]


def _compare(out, ref, tol, what):
    assert out.shape == tuple(ref.shape), what
    np.testing.assert_allclose(to_np(out), ref.detach().numpy(), rtol=tol, atol=tol,
                               err_msg=what)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_gradcheck_float64(case, host_backend):
    inputs = to_xpnn(case.args, host_inputs(case.args), host_backend, "float64")
    assert xpnn.gradcheck(case.fn, *inputs)


@needs_torch
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_matches_torch_autograd(case, backend):
    """Forward values and input gradients equal torch's, in float64, on every backend."""
    host = host_inputs(case.args)
    xs = to_xpnn(case.args, host, backend, "float64")
    ts = to_torch(case.args, host)
    out = case.fn(*xs)
    ref = case.ref(*ts)
    assert dtype_name(out.dtype) == "float64"
    _compare(out, ref, TWIN_TOL, case.name)
    w = np.random.default_rng(1).standard_normal(out.shape)
    (out * xpnn.tensor(w, dtype="float64")).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        np.testing.assert_allclose(to_np(x.grad), t.grad.numpy(), rtol=TWIN_TOL,
                                   atol=TWIN_TOL, err_msg=f"{case.name}: input {i}")


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_float32_in_float32_out(case, backend):
    host = host_inputs(case.args)
    ref = to_xpnn(case.args, host, "numpy", "float64")
    xs = to_xpnn(case.args, host, backend, "float32")
    out, ref_out = case.fn(*xs), case.fn(*ref)
    assert dtype_name(out.dtype) == "float32"
    np.testing.assert_allclose(to_np(out), to_np(ref_out), rtol=F32_TOL, atol=F32_TOL)
    out.sum().backward()
    ref_out.sum().backward()
    for x, r in zip(xs, ref):
        assert dtype_name(x.grad.dtype) == "float32" and x.grad.shape == x.shape
        np.testing.assert_allclose(to_np(x.grad), to_np(r.grad), rtol=F32_TOL, atol=F32_TOL,
                                   err_msg=case.name)


@pytest.mark.parametrize("case", [c for c in CASES if c.rowwise], ids=repr)
def test_batched_equals_matrix_by_matrix(case, backend):
    host = host_inputs(case.args)
    xs = to_xpnn(case.args, host, backend, "float32")
    out = case.fn(*xs)
    out.sum().backward()
    for i in range(host[case.rowwise[0]].shape[0]):
        rows = [h[i:i + 1] if k in case.rowwise else h for k, h in enumerate(host)]
        xi = to_xpnn(case.args, rows, backend, "float32")
        oi = case.fn(*xi)
        np.testing.assert_allclose(to_np(oi), to_np(out)[i:i + 1], rtol=ROW_TOL,
                                   atol=ROW_TOL, err_msg=f"{case.name}: matrix {i}")
        oi.sum().backward()
        for k in case.rowwise:
            np.testing.assert_allclose(to_np(xi[k].grad), to_np(xs[k].grad)[i:i + 1],
                                       rtol=ROW_TOL, atol=ROW_TOL,
                                       err_msg=f"{case.name}: grad of input {k}, matrix {i}")


# -- pivots, info and the parts the table cannot say ---------------------------------------
def _t(data, backend, dtype="float64"):
    return xpnn.tensor(np.asarray(data), backend=backend, dtype=dtype)


SINGULAR = [
    [[1., 2, 3], [2, 4, 6], [1, 1, 1]],      # rank 2: U[3,3] = 0
    [[0., 1, 2], [0, 3, 4], [0, 5, 6]],      # a zero first column: no swap, U[1,1] = 0
    [[1., 2, 0], [-1, 3, 0], [1, -4, 0]],    # ties |1| = |-1| = |1|: the first one wins
    [[0., 0, 0], [0, 0, 0], [0, 0, 0]],
]


@needs_torch
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (4, 6), (6, 4), (2, 0, 0), (1, 1)])
def test_pivots_and_info_match_torch(backend, shape):
    h = np.random.default_rng(3).standard_normal(shape)
    r = xpnn.linalg.lu_factor_ex(_t(h, backend))
    tr = torch.linalg.lu_factor_ex(torch.tensor(h))
    assert dtype_name(r.pivots.dtype) == "int32" and dtype_name(r.info.dtype) == "int32"
    assert r.pivots.shape == tuple(tr.pivots.shape) and r.info.shape == tuple(tr.info.shape)
    np.testing.assert_array_equal(to_np(r.pivots), tr.pivots.numpy())
    np.testing.assert_array_equal(to_np(r.info), tr.info.numpy())
    np.testing.assert_allclose(to_np(r.LU), tr.LU.numpy(), atol=TWIN_TOL)
    P, L, U = xpnn.linalg.lu(_t(h, backend))
    tP, tL, tU = torch.linalg.lu(torch.tensor(h))
    for got, want in ((P, tP), (L, tL), (U, tU)):
        assert got.shape == tuple(want.shape)
        np.testing.assert_allclose(to_np(got), want.numpy(), atol=TWIN_TOL)
    assert not P.requires_grad and not r.pivots.requires_grad


@needs_torch
def test_singular_matrices_match_torch(backend):
    h = np.asarray(SINGULAR)
    r = xpnn.linalg.lu_factor_ex(_t(h, backend))
    tr = torch.linalg.lu_factor_ex(torch.tensor(h))
    np.testing.assert_array_equal(to_np(r.pivots), tr.pivots.numpy())
    np.testing.assert_array_equal(to_np(r.info), tr.info.numpy())
    np.testing.assert_allclose(to_np(r.LU), tr.LU.numpy(), atol=TWIN_TOL)
    # P L U = A holds for singular matrices too
    P, L, U = xpnn.linalg.lu(_t(h, backend))
    np.testing.assert_allclose(to_np(P @ L @ U), h, atol=TWIN_TOL)
    # det at singular and batched matrices: the values, and torch's error from inv
    d, td = xpnn.linalg.det(_t(h, backend)), torch.linalg.det(torch.tensor(h))
    np.testing.assert_allclose(to_np(d), td.numpy(), atol=1e-12)
    sign, logabs = xpnn.linalg.slogdet(_t(h[1:], backend))
    tsign, tlogabs = torch.linalg.slogdet(torch.tensor(h[1:]))
    np.testing.assert_array_equal(to_np(sign), tsign.numpy())
    np.testing.assert_array_equal(to_np(logabs), tlogabs.numpy())
    with pytest.raises(RuntimeError):
        torch.linalg.inv(torch.tensor(h))
    if backend != "cupy":  # CuPy reports no error without a device sync
        with pytest.raises(xpnn.linalg.LinAlgError, match="linalg.inv: .*singular"):
            xpnn.linalg.inv(_t(h, backend))


def test_lu_factor_raises_on_singular_input_like_torch(backend):
    """torch.linalg.lu_factor checks info (a host read); xpnn does where arrays are in host
    memory and leaves the check out on a device (no host syncs: DESIGN), as lu_factor_ex."""
    h = np.stack([np.eye(3), np.asarray(SINGULAR[0])])
    x = _t(h, backend)
    if x._be.on_host:
        with pytest.raises(RuntimeError, match=r"linalg.lu_factor: \(Batch element 1\): "
                                               r"U\[3,3\] is zero"):
            xpnn.linalg.lu_factor(x)
        with pytest.raises(RuntimeError, match=r"U\[3,3\] is zero"):
            xpnn.linalg.lu_factor_ex(x[1], check_errors=True)
    else:
        assert to_np(xpnn.linalg.lu_factor(x).pivots).shape == (2, 3)
    assert to_np(xpnn.linalg.lu_factor_ex(x).info).tolist() == [0, 3]


@needs_torch
def test_singular_gradient_matches_torch(backend):
    """A zero pivot makes the gradient inf/NaN (U^-1), as in PyTorch: no error raised."""
    h = np.asarray(SINGULAR[0])
    x = _t(h, backend)
    x.requires_grad_()
    t = torch.tensor(h, requires_grad=True)
    xpnn.linalg.lu_factor_ex(x).LU.sum().backward()
    torch.linalg.lu_factor_ex(t).LU.sum().backward()
    np.testing.assert_array_equal(np.isfinite(to_np(x.grad)), np.isfinite(t.grad.numpy()))


@needs_torch
def test_lu_unpack_parts_and_deprecated_lu(backend):
    h = np.random.default_rng(4).standard_normal((2, 3, 3))
    LU, piv = xpnn.linalg.lu_factor(_t(h, backend))
    tLU, tpiv = torch.linalg.lu_factor(torch.tensor(h))
    for kw in ({"unpack_data": False}, {"unpack_pivots": False}):
        got, want = xpnn.lu_unpack(LU, piv, **kw), torch.lu_unpack(tLU, tpiv, **kw)
        for g, w in zip(got, want):
            assert g.shape == tuple(w.shape) and dtype_name(g.dtype) == "float64"
            np.testing.assert_allclose(to_np(g), w.numpy(), atol=TWIN_TOL)
    with pytest.warns(UserWarning, match=DEPRECATED):
        out = xpnn.lu(_t(h, backend), get_infos=True)
    assert len(out) == 3 and to_np(out[2]).tolist() == [0, 0]
    np.testing.assert_array_equal(to_np(out[1]), tpiv.numpy())
    x = _t(h, backend)
    with pytest.warns(UserWarning, match="torch.lu_solve is deprecated"):
        got = xpnn.lu_solve(x[0], LU, piv)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", DEPRECATED)
        want = torch.lu_solve(torch.tensor(h[0]), tLU, tpiv)
    np.testing.assert_allclose(to_np(got), want.numpy(), atol=TWIN_TOL)


def test_namespace():
    for name in ("lu", "lu_factor", "lu_factor_ex", "lu_solve", "eig", "eigvals", "ldl_factor",
                 "ldl_factor_ex", "ldl_solve"):
        assert callable(getattr(xpnn.linalg, name)), name
        assert name in xpnn.linalg.__all__
    for name in ("lu", "lu_unpack", "lu_solve", "cholesky_solve", "cholesky_inverse"):
        assert callable(getattr(xpnn, name)), name


def test_eig_and_eigvals_give_complex_values_without_gradient(backend):
    # the eigenvalues of a general matrix, complex (tests/test_complex.py compares them with
    # torch); the eigenvectors' derivative is refused when asked for (eigvals has one:
    # tests/test_adversarial_linalg.py)
    a = _t(np.array([[0.0, 1.0], [-2.0, 0.0]]), backend).requires_grad_()
    w = xpnn.linalg.eigvals(a)
    assert w.is_complex()
    np.testing.assert_allclose(np.sort_complex(to_np(w)), [-2 ** 0.5 * 1j, 2 ** 0.5 * 1j],
                               atol=1e-6)
    with pytest.raises(NotImplementedError, match="linalg.eig: the derivative"):
        xpnn.linalg.eig(a)[1].abs().sum().backward()
    with pytest.raises(ValueError, match="linalg.eig: A must be batches of square matrices"):
        xpnn.linalg.eig(_t(np.ones((2, 3)), backend))


def test_bad_input_names_function_and_values(backend):
    a = _t(np.eye(3), backend)
    for fn in (xpnn.linalg.lu_factor, xpnn.linalg.lu_factor_ex, xpnn.linalg.lu):
        with pytest.raises(RuntimeError, match="LU without pivoting is not implemented"):
            fn(a, pivot=False)
    with pytest.raises(TypeError, match="linalg.lu_factor_ex: expected a floating point "
                                        "tensor as input, got int64"):
        xpnn.linalg.lu_factor(xpnn.tensor(np.eye(2, dtype=np.int64), backend=backend))
    with pytest.raises(ValueError, match="linalg.lu_factor_ex: .*at least 2 dimensions"):
        xpnn.linalg.lu_factor(a[0])
    LU, piv = xpnn.linalg.lu_factor(a)
    with pytest.raises(ValueError, match=r"linalg.lu_solve: Incompatible shapes of A and B "
                                         r"for the equation AX = B \(shapes \(3, 3\) and "
                                         r"\(2, 1\)\)"):
        xpnn.linalg.lu_solve(LU, piv, _t(np.ones((2, 1)), backend))
    with pytest.raises(ValueError, match=r"equation XA = B"):
        xpnn.linalg.lu_solve(LU, piv, _t(np.ones((3, 1)), backend), left=False)
    with pytest.raises(TypeError, match="linalg.lu_solve: expected LU and B to have the same "
                                        "dtype"):
        xpnn.linalg.lu_solve(LU, piv, _t(np.ones((3, 1)), backend, "float32"))
    with pytest.raises(ValueError, match=r"linalg.lu_solve: pivots must be an int32 tensor "
                                         r"of shape \(\*, 3\)"):
        xpnn.linalg.lu_solve(LU, piv[:2], a)
    with pytest.raises(ValueError, match=r"lu_unpack: LU_pivots of shape \(2,\) does not fit"):
        xpnn.lu_unpack(LU, piv[:2])


# -- LDL^T (Bunch-Kaufman, LAPACK's sytrf/sytrs): values only, as in PyTorch ---------------
def _symmetric_cases():
    """Symmetric matrices whose Bunch-Kaufman steps take 1x1 and 2x2 blocks, swaps or not,
    and a zero column (info > 0)."""
    rng = np.random.default_rng(5)
    out = []
    for n in (1, 2, 3, 5):
        for small_diagonal in (False, True):
            h = rng.standard_normal((n, n))
            h = h + h.T
            if small_diagonal:  # |a_kk| < alpha |a_ik|: a swap or a 2x2 block
                h[np.diag_indices(n)] *= 0.01
            out.append(h)
    z = out[-1].copy()
    z[1, :] = z[:, 1] = 0
    return out + [z]


@needs_torch
def test_ldl_factor_and_solve_match_torch(backend):
    cases = _symmetric_cases()
    blocks = 0
    for h in cases + [np.stack([c for c in cases if c.shape == (5, 5)])]:
        r = xpnn.linalg.ldl_factor_ex(_t(h, backend))
        tr = torch.linalg.ldl_factor_ex(torch.tensor(h))
        assert dtype_name(r.pivots.dtype) == "int32" and r.pivots.shape == tuple(h.shape[:-1])
        np.testing.assert_array_equal(to_np(r.pivots), tr.pivots.numpy())
        np.testing.assert_array_equal(to_np(r.info), tr.info.numpy())
        np.testing.assert_allclose(to_np(r.LD), tr.LD.numpy(), rtol=TWIN_TOL, atol=TWIN_TOL)
        blocks += int((tr.pivots.numpy() < 0).sum())
        if not tr.info.numpy().any():
            hb = np.random.default_rng(6).standard_normal(h.shape[:-1] + (2,))
            X = xpnn.linalg.ldl_solve(r.LD, r.pivots, _t(hb, backend))
            tX = torch.linalg.ldl_solve(tr.LD, tr.pivots, torch.tensor(hb))
            np.testing.assert_allclose(to_np(X), tX.numpy(), rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(h @ to_np(X), hb, atol=1e-9)
    assert blocks >= 2  # the cases do reach the 2x2 pivots


def test_ldl_is_not_differentiable_as_in_torch(backend):
    h = _symmetric_cases()[5]  # 3 x 3
    x = _t(h, backend)
    x.requires_grad_()
    LD, piv = xpnn.linalg.ldl_factor(x)
    with pytest.raises(RuntimeError, match="derivative for linalg.ldl_factor_ex is not "
                                           "implemented"):
        LD.sum().backward()
    b = _t(np.ones((3, 1)), backend)
    b.requires_grad_()
    X = xpnn.linalg.ldl_solve(LD.detach(), piv, b)
    with pytest.raises(RuntimeError, match="derivative for linalg.ldl_solve is not "
                                           "implemented"):
        X.sum().backward()


def test_ldl_errors(backend):
    with pytest.raises(xpnn.linalg.LinAlgError, match=r"linalg.ldl_factor: .*D\[1,1\] is "
                                                      r"zero"):
        xpnn.linalg.ldl_factor(_t(np.zeros((3, 3)), backend))
    LD, piv = xpnn.linalg.ldl_factor(_t(np.eye(3) * 2, backend))
    with pytest.raises(ValueError, match=r"linalg.ldl_solve: Incompatible shapes of A and B"):
        xpnn.linalg.ldl_solve(LD, piv, _t(np.ones((2, 1)), backend))
    with pytest.raises(ValueError, match=r"linalg.ldl_solve: pivots must be an int32 tensor "
                                         r"of shape \(3,\)"):
        xpnn.linalg.ldl_solve(LD, piv[:2], _t(np.ones((3, 1)), backend))
    with pytest.raises(ValueError, match="linalg.ldl_factor_ex: A must be batches of square"):
        xpnn.linalg.ldl_factor(_t(np.ones((2, 3)), backend))


@needs_torch
def test_inv_errors_and_inv_ex_info_match_torch(backend):
    """A singular matrix: torch's message (batch element, zero pivot) and info codes."""
    h = np.stack([np.eye(3), np.asarray(SINGULAR[0]), np.asarray(SINGULAR[1])])
    for a in (h, h[1], np.zeros((3, 3)), np.diag([1., 0.])):
        with pytest.raises(RuntimeError) as want:
            torch.linalg.inv(torch.tensor(a))
        got = xpnn.linalg.inv_ex(_t(a, backend)).info
        np.testing.assert_array_equal(to_np(got), torch.linalg.inv_ex(torch.tensor(a)).info)
        if backend == "cupy":  # CuPy reports no error without a device sync
            continue
        with pytest.raises(xpnn.linalg.LinAlgError) as err:
            xpnn.linalg.inv(_t(a, backend))
        assert str(err.value) == str(want.value)
