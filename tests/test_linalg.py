"""xpnn.linalg (torch.linalg) and the top-level matrix functions (torch.det, torch.svd, ...):
a case table run through the float64 gradient check, forward and backward against PyTorch
autograd and float32 in -> float32 out on every backend (as test_ops.py does for
xpnn.functional), then errors, named tuples, shapes, dtypes and batching.

Each case's function takes the library (xpnn or torch) first, so one body is both the xpnn
call and its PyTorch twin. Inputs are made well conditioned inside it (A + 3I, A A^T + 3I),
and eigen- and singular vectors enter only through sign-invariant expressions (U Vh,
u_ij u_0j), since LAPACK builds may pick either sign.
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
# float64 against PyTorch: the same factorizations from other LAPACK calls and orders
TWIN_TOL = 1e4 * EPS64
# float32 on a backend against float64 NumPy: a factorization's rounding is amplified by
# its condition (about 10 here) and again by the gradient's 1 / (s_i^2 - s_j^2) terms
F32_TOL = 4000 * EPS32
ROW_TOL = 64 * EPS32  # one matrix alone against the same matrix in a batch


def _eye(t, a):
    """The identity of a's size, dtype and place (the NumPy reference of the float32 check
    runs while another backend is the default)."""
    if t is xpnn:
        return xpnn.eye(a.shape[-1], dtype=a.dtype, backend=a.backend, device=a.device)
    return t.eye(a.shape[-1], dtype=a.dtype)


def _shift(t, a):
    """a + 3I: an invertible, well-conditioned matrix for N(0, 1) entries of a 3x3 a."""
    return a + 3 * _eye(t, a)


def _spd(t, a):
    """a a^T + 3I: symmetric positive-definite."""
    return a @ a.mT + 3 * _eye(t, a)


def _sym(a):
    return a + a.mT


def _quiet(body):
    """``body`` without PyTorch's deprecation warnings (torch.cholesky, torch.qr)."""
    def run(*xs):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "torch.(cholesky|qr) is deprecated")
            return body(torch, *xs)
    return run


def _case(name, body, args, rowwise=(), strict=True):
    ref = None if torch is None else _quiet(body)
    return OpCase(name, lambda *xs: body(xpnn, *xs), tuple(args), ref, tuple(rowwise), strict)


M3, B3, M43, M34 = A((3, 3)), A((2, 3, 3)), A((4, 3)), A((3, 4))
ROW = (0,)
inf = float("inf")

CASES = [
    _case("inv", lambda t, a: t.linalg.inv(_shift(t, a)), [M3]),
    _case("inv:batched", lambda t, a: t.linalg.inv(_shift(t, a)), [B3], ROW),
    _case("inverse", lambda t, a: t.inverse(_shift(t, a)), [M3]),
    _case("inverse:method", lambda t, a: _shift(t, a).inverse(), [B3], ROW),
    _case("det", lambda t, a: t.linalg.det(a), [B3], ROW),
    _case("det:singular", lambda t, a, b: t.det(a @ b), [A((3, 2)), A((2, 3))]),
    _case("det:method", lambda t, a: (a * 2).det(), [M3]),
    _case("slogdet", lambda t, a: t.linalg.slogdet(a).logabsdet, [B3], ROW),
    _case("slogdet:sign", lambda t, a: t.slogdet(a)[0] * a, [M3]),
    _case("slogdet:method", lambda t, a: a.slogdet()[1], [M3]),
    _case("logdet", lambda t, a: t.logdet(_spd(t, a)), [B3], ROW),
    _case("logdet:method", lambda t, a: _spd(t, a).logdet(), [M3]),
    _case("solve", lambda t, a, b: t.linalg.solve(_shift(t, a), b), [M3, A((3, 2))]),
    _case("solve:broadcast", lambda t, a, b: t.linalg.solve(_shift(t, a), b),
          [B3, A((3, 2))]),
    _case("solve:bcast_a", lambda t, a, b: t.linalg.solve(_shift(t, a), b),
          [M3, A((2, 3, 1))]),
    _case("solve:vector", lambda t, a, b: t.linalg.solve(_shift(t, a), b), [M3, A((3,))]),
    _case("solve:vectors", lambda t, a, b: t.linalg.solve(_shift(t, a), b),
          [B3, A((2, 3))], (0, 1)),
    _case("solve:right", lambda t, a, b: t.linalg.solve(_shift(t, a), b, left=False),
          [B3, A((2, 4, 3))], (0, 1)),
    _case("cholesky", lambda t, a: t.linalg.cholesky(_spd(t, a)), [B3], ROW),
    _case("cholesky:upper", lambda t, a: t.linalg.cholesky(_spd(t, a), upper=True), [M3]),
    _case("cholesky:torch", lambda t, a: t.cholesky(_spd(t, a)), [M3]),
    _case("cholesky:method", lambda t, a: _spd(t, a).cholesky(upper=True), [M3]),
    _case("qr:Q", lambda t, a: t.linalg.qr(a).Q, [M43]),
    _case("qr:R", lambda t, a: t.linalg.qr(a).R, [M43]),
    _case("qr:square", lambda t, a: t.linalg.qr(a)[0] * 2 + t.linalg.qr(a)[1], [B3], ROW),
    _case("qr:wide_Q", lambda t, a: t.linalg.qr(a).Q, [M34]),
    _case("qr:wide_R", lambda t, a: t.linalg.qr(a).R, [M34]),
    _case("qr:complete_wide", lambda t, a: t.linalg.qr(a, mode="complete").R, [M34]),
    _case("qr:torch", lambda t, a: t.qr(a)[0], [M43]),
    _case("qr:method", lambda t, a: a.qr().R, [M43]),
    _case("eigh:values", lambda t, a: t.linalg.eigh(_sym(a)).eigenvalues, [B3], ROW),
    _case("eigh:vectors", lambda t, a: (lambda V: V * V[..., :1, :])(
        t.linalg.eigh(_sym(a)).eigenvectors), [B3], ROW),
    _case("eigh:upper", lambda t, a: (lambda r: r[0][..., None, :] * r[1] * r[1][..., :1, :])(
        t.linalg.eigh(a, UPLO="U")), [M3]),
    _case("eigh:lower", lambda t, a: t.linalg.eigh(a)[1].abs(), [M3]),
    _case("eigvalsh", lambda t, a: t.linalg.eigvalsh(_sym(a), UPLO="U"), [B3], ROW),
    _case("svd:S", lambda t, a: t.linalg.svd(a).S, [M43]),
    _case("svd:polar", lambda t, a: (lambda r: r.U @ r.Vh)(t.linalg.svd(a, False)), [M43]),
    _case("svd:polar_wide", lambda t, a: (lambda r: r.U @ r.Vh)(t.linalg.svd(a, False)),
          [M34]),
    _case("svd:U", lambda t, a: (lambda U: U * U[..., :1, :])(t.linalg.svd(a, False).U),
          [A((2, 4, 3))], ROW),
    _case("svd:Vh", lambda t, a: (lambda V: V * V[..., :1])(t.linalg.svd(a, False).Vh),
          [A((2, 3, 4))], ROW),
    _case("svd:full", lambda t, a: (lambda r: r.U[:, :3] @ r.Vh * r.S[0])(t.linalg.svd(a)),
          [M43]),
    _case("svd:torch", lambda t, a: (lambda r: r.U @ r.V.mT + r.S[:, None])(t.svd(a)), [M34]),
    _case("svd:method", lambda t, a: (lambda r: r[0] @ r[2].mT)(a.svd()), [M43]),
    _case("svdvals", lambda t, a: t.linalg.svdvals(a), [A((2, 3, 4))], ROW),
    _case("pinv", lambda t, a: t.linalg.pinv(a), [M43]),
    _case("pinv:wide", lambda t, a: t.linalg.pinv(a), [A((2, 3, 4))], ROW),
    _case("pinv:hermitian", lambda t, a: t.linalg.pinv(_spd(t, a), hermitian=True), [M3]),
    _case("pinverse", lambda t, a: t.pinverse(a), [M34]),
    _case("pinverse:method", lambda t, a: a.pinverse(), [M43]),
    _case("lstsq", lambda t, a, b: t.linalg.lstsq(a, b).solution, [M43, A((4, 2))]),
    _case("lstsq:vector", lambda t, a, b: t.linalg.lstsq(a, b)[0], [A((2, 4, 3)), A((2, 4))],
          (0, 1)),
    _case("matrix_power", lambda t, a: t.linalg.matrix_power(a, 3), [B3], ROW),
    _case("matrix_power:inverse", lambda t, a: t.matrix_power(_shift(t, a), -2), [M3]),
    _case("matrix_power:method", lambda t, a: a.matrix_power(5), [M3]),
    _case("matrix_power:zero", lambda t, a: t.linalg.matrix_power(a, 0) + a, [M3]),
    _case("matrix_power:one", lambda t, a: t.linalg.matrix_power(a, 1), [M3]),
    # norms
    *[_case(f"vector_norm:{o}", lambda t, a, o=o: t.linalg.vector_norm(a, o), [A((2, 3))])
      for o in (2, 1, inf, -inf, 3, 0.5, -1, 0)],
    _case("vector_norm:dims", lambda t, a: t.linalg.vector_norm(a, 3, dim=(0, 2)),
          [A((2, 3, 4))]),
    _case("vector_norm:keepdim", lambda t, a: t.linalg.vector_norm(a, dim=-1, keepdim=True),
          [A((2, 3, 4))], ROW),
    _case("vector_norm:dtype", lambda t, a: t.linalg.vector_norm(a, dtype=t.float64), [M3]),
    *[_case(f"matrix_norm:{o}", lambda t, a, o=o: t.linalg.matrix_norm(a, o), [A((2, 4, 3))],
            ROW) for o in ("fro", "nuc", 2, -2, 1, -1, inf, -inf)],
    *[_case(f"matrix_norm:dims_{o}", lambda t, a, o=o: t.linalg.matrix_norm(
        a, o, dim=(2, 0), keepdim=True), [A((3, 2, 4))]) for o in ("nuc", 1, -inf)],
    _case("norm", lambda t, a: t.linalg.norm(a), [A((2, 3, 4))]),
    _case("norm:vector", lambda t, a: t.linalg.norm(a, 3), [A((4,))]),
    _case("norm:matrix", lambda t, a: t.linalg.norm(a, "nuc"), [M43]),
    _case("norm:dim", lambda t, a: t.linalg.norm(a, inf, dim=1), [A((2, 3, 4))], ROW),
    _case("norm:dims", lambda t, a: t.linalg.norm(a, -1, dim=(1, 2), keepdim=True),
          [A((2, 3, 4))], ROW),
    # products
    _case("vecdot", lambda t, a, b: t.linalg.vecdot(a, b), [A((2, 3)), A((3,))], ROW),
    _case("vecdot:dim", lambda t, a, b: t.linalg.vecdot(a, b, dim=0), [A((3, 2)), A((3, 1))]),
    _case("cross", lambda t, a, b: t.linalg.cross(a, b), [A((2, 3)), A((2, 3))], (0, 1)),
    _case("cross:broadcast", lambda t, a, b: t.linalg.cross(a, b, dim=1),
          [A((2, 3, 1)), A((1, 3, 4))], ROW),
    _case("multi_dot", lambda t, a, b, c: t.linalg.multi_dot([a, b, c]),
          [A((3,)), A((3, 4)), A((4, 2))]),
    _case("multi_dot:vectors", lambda t, a, b, c: t.linalg.multi_dot([a, b, c]),
          [A((2, 3)), A((3, 4)), A((4,))], ROW),
    _case("diagonal", lambda t, a: t.linalg.diagonal(a, offset=1), [A((2, 3, 4))], ROW),
    _case("matmul", lambda t, a, b: t.linalg.matmul(a, b), [A((2, 3, 4)), A((4, 2))], ROW),
]


def _compare(out, ref, tol, what):
    assert out.shape == tuple(ref.shape), what
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=tol, atol=tol,
                               err_msg=what)


# the gradient of eigh on a non-symmetric input is PyTorch's symmetric one, which finite
# differences of the one triangle read do not see: these cases meet torch only
TWIN_ONLY = {"eigh:upper", "eigh:lower"}


@pytest.mark.parametrize("case", [c for c in CASES if c.name not in TWIN_ONLY], ids=repr)
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
    out, ref = case.fn(*xs), case.ref(*ts)
    assert dtype_name(out.dtype) == "float64"
    _compare(out, ref, TWIN_TOL, case.name)
    w = np.random.default_rng(1).standard_normal(out.shape)
    (out * xpnn.tensor(w, dtype="float64")).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert x.grad is not None, f"{case.name}: input {i} got no gradient"
        # PyTorch leaves no gradient (None) where it is zero everywhere (vector_norm, ord 0)
        expected = t.grad.numpy() if t.grad is not None else np.zeros(x.shape)
        np.testing.assert_allclose(to_np(x.grad), expected, rtol=TWIN_TOL,
                                   atol=TWIN_TOL, err_msg=f"{case.name}: input {i}")


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_float32_in_float32_out(case, backend):
    host = host_inputs(case.args)
    ref = to_xpnn(case.args, host, "numpy", "float64")
    xs = to_xpnn(case.args, host, backend, "float32")
    out, ref_out = case.fn(*xs), case.fn(*ref)
    assert dtype_name(out.dtype) == ("float64" if "dtype" in case.name else "float32")
    np.testing.assert_allclose(out.numpy(), ref_out.numpy(), rtol=F32_TOL, atol=F32_TOL)
    out.sum().backward()
    ref_out.sum().backward()
    for x, r in zip(xs, ref):
        assert dtype_name(x.grad.dtype) == "float32" and x.grad.shape == x.shape
        np.testing.assert_allclose(to_np(x.grad), r.grad, rtol=F32_TOL, atol=F32_TOL,
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
        np.testing.assert_allclose(oi.numpy(), out.numpy()[i:i + 1], rtol=ROW_TOL,
                                   atol=ROW_TOL, err_msg=f"{case.name}: matrix {i}")
        oi.sum().backward()
        for k in case.rowwise:
            np.testing.assert_allclose(to_np(xi[k].grad), to_np(xs[k].grad)[i:i + 1],
                                       rtol=ROW_TOL, atol=ROW_TOL,
                                       err_msg=f"{case.name}: grad of input {k}, matrix {i}")


# -- what the table cannot say: errors, named tuples, integer results, shapes --------------
def _t(data, backend, dtype="float64"):
    return xpnn.tensor(np.asarray(data), backend=backend, dtype=dtype)


def test_namespace_and_aliases():
    import xpnn as t
    for name in ("inv", "det", "slogdet", "solve", "cholesky", "qr", "eigh", "eigvalsh", "svd",
                 "svdvals", "pinv", "lstsq", "matrix_rank", "matrix_power", "norm",
                 "vector_norm", "matrix_norm", "vecdot", "cross", "multi_dot", "diagonal",
                 "matmul"):
        assert callable(getattr(t.linalg, name)), name
    assert issubclass(t.linalg.LinAlgError, RuntimeError)
    for name in ("det", "logdet", "slogdet", "inverse", "pinverse", "cholesky", "qr", "svd",
                 "matrix_power"):
        assert callable(getattr(t, name)), name
        assert callable(getattr(t.Tensor, name)), name


@needs_torch
def test_named_tuples_and_shapes(backend):
    rng = np.random.default_rng(0)
    h = rng.standard_normal((2, 4, 3))
    a = _t(h, backend)
    assert xpnn.linalg.slogdet(a[:, :3]).sign.shape == (2,)
    assert not xpnn.linalg.slogdet(a[:, :3]).sign.requires_grad
    Q, R = xpnn.linalg.qr(a)
    assert (Q.shape, R.shape) == ((2, 4, 3), (2, 3, 3))
    r = xpnn.linalg.qr(a, mode="complete")
    assert (r.Q.shape, r.R.shape) == ((2, 4, 4), (2, 4, 3))
    r = xpnn.linalg.qr(a, mode="r")
    tr = torch.linalg.qr(torch.tensor(h), mode="r")
    assert r.Q.shape == tuple(tr.Q.shape) == (0,)
    np.testing.assert_allclose(to_np(r.R), tr.R.numpy(), atol=TWIN_TOL)
    r = xpnn.linalg.svd(a)
    assert (r.U.shape, r.S.shape, r.Vh.shape) == ((2, 4, 4), (2, 3), (2, 3, 3))
    r = xpnn.linalg.svd(a, full_matrices=False)
    assert (r.U.shape, r.S.shape, r.Vh.shape) == ((2, 4, 3), (2, 3), (2, 3, 3))
    U, S, V = xpnn.svd(a)  # torch.svd: V, reduced by default
    np.testing.assert_allclose(to_np(U @ (S[..., None] * V.mT)), h, atol=1e-12)
    U, S, V = xpnn.svd(a, some=False, compute_uv=False)
    assert (U.shape, V.shape) == ((2, 4, 4), (2, 3, 3)) and not to_np(U).any()
    np.testing.assert_allclose(to_np(S), torch.linalg.svdvals(torch.tensor(h)).numpy(),
                               atol=TWIN_TOL)
    w, V = xpnn.linalg.eigh(_t(h[0, :3] + h[0, :3].T, backend))
    assert np.all(np.diff(to_np(w)) > 0) and V.shape == (3, 3)


@needs_torch
def test_integer_results_match_torch(backend):
    rng = np.random.default_rng(1)
    low = rng.standard_normal((3, 4, 2)) @ rng.standard_normal((3, 2, 5))  # rank 2
    full = rng.standard_normal((2, 3, 3))
    for h, kw in [(low, {}), (full, {}), (low, {"atol": 1.0}), (low, {"rtol": 0.5}),
                  (full, {"tol": 0.5})]:
        r = xpnn.linalg.matrix_rank(_t(h, backend), **kw)
        tr = torch.linalg.matrix_rank(torch.tensor(h), **kw)
        assert dtype_name(r.dtype) == "int64"
        np.testing.assert_array_equal(to_np(r), tr.numpy())
    sym = full + np.swapaxes(full, -1, -2)
    np.testing.assert_array_equal(
        to_np(xpnn.linalg.matrix_rank(_t(sym, backend), hermitian=True)),
        torch.linalg.matrix_rank(torch.tensor(sym), hermitian=True).numpy())


@needs_torch
@pytest.mark.parametrize("driver", [None, "gelsd", "gelss"])
def test_lstsq_matches_torch(backend, driver):
    rng = np.random.default_rng(2)
    ha, hb = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 5, 2))
    r = xpnn.linalg.lstsq(_t(ha, backend), _t(hb, backend), driver=driver)
    tr = torch.linalg.lstsq(torch.tensor(ha), torch.tensor(hb), driver=driver)
    for name in ("solution", "residuals", "rank", "singular_values"):
        got, want = getattr(r, name), getattr(tr, name)
        assert got.shape == tuple(want.shape), name
        np.testing.assert_allclose(to_np(got), want.numpy(), atol=1e-10, err_msg=name)


def test_float32_stays_float32(backend):
    a = _t(np.eye(3) * 2 + 0.1, backend, "float32")
    for out in [xpnn.linalg.inv(a), xpnn.linalg.det(a), xpnn.linalg.slogdet(a).logabsdet,
                xpnn.linalg.cholesky(a), xpnn.linalg.eigh(a).eigenvalues,
                xpnn.linalg.svd(a).S, xpnn.linalg.pinv(a), xpnn.linalg.norm(a, "nuc"),
                xpnn.linalg.solve(a, a[0]), xpnn.linalg.lstsq(a, a).solution]:
        assert dtype_name(out.dtype) == "float32"


def test_singular_and_not_positive_definite_raise_linalg_error(backend):
    if backend == "cupy":
        pytest.skip("CuPy reports no error without a device sync (it gives NaN)")
    zero = _t(np.zeros((3, 3)), backend)
    with pytest.raises(xpnn.linalg.LinAlgError, match="linalg.inv: .*singular"):
        xpnn.linalg.inv(zero)
    with pytest.raises(xpnn.linalg.LinAlgError, match="linalg.solve: .*singular"):
        xpnn.linalg.solve(zero, _t(np.ones(3), backend))
    with pytest.raises(xpnn.linalg.LinAlgError, match="linalg.cholesky: .*positive-definite"):
        xpnn.linalg.cholesky(-_t(np.eye(3), backend))
    with pytest.raises(RuntimeError):  # LinAlgError is a RuntimeError, as in PyTorch
        xpnn.inverse(zero)
    assert float(xpnn.linalg.det(zero).item()) == 0.0
    sign, logabs = xpnn.linalg.slogdet(zero)
    assert sign.item() == 0 and logabs.item() == -np.inf
    assert np.isnan(xpnn.logdet(-_t(np.eye(3), backend)).item())


def test_bad_input_names_function_and_shapes(backend):
    a = _t(np.ones((2, 3)), backend)
    for fn, name in [(xpnn.linalg.inv, "linalg.inv"), (xpnn.linalg.det, "linalg.det"),
                     (xpnn.linalg.cholesky, "linalg.cholesky"), (xpnn.linalg.eigh,
                                                                  "linalg.eigh")]:
        with pytest.raises(ValueError, match=f"{name}: A must be batches of square matrices, "
                                             "but they are 2 by 3 matrices"):
            fn(a)
    with pytest.raises(ValueError, match="linalg.inv: .*at least 2 dimensions"):
        xpnn.linalg.inv(_t(np.ones(3), backend))
    with pytest.raises(TypeError, match="linalg.inv: expected a floating point tensor as "
                                        "input, got int64"):
        xpnn.linalg.inv(xpnn.tensor(np.eye(2, dtype=np.int64), backend=backend))
    eye = _t(np.eye(3), backend)
    with pytest.raises(ValueError, match=r"linalg.solve: incompatible shapes of A and B for "
                                         r"the equation AX = B \(3x3 and 2x2"):
        xpnn.linalg.solve(eye, _t(np.ones((2, 2)), backend))
    with pytest.raises(ValueError, match=r"equation XA = B \(3x3 and 3x1"):
        xpnn.linalg.solve(eye, _t(np.ones(3), backend), left=False)
    with pytest.raises(TypeError, match="linalg.solve: expected A and B to have the same "
                                        "dtype"):
        xpnn.linalg.solve(eye, _t(np.ones(3), backend, "float32"))
    with pytest.raises(ValueError, match="linalg.qr: .*unrecognized mode 'full'"):
        xpnn.linalg.qr(eye, mode="full")
    with pytest.raises(ValueError, match="linalg.eigh: expected UPLO argument to be 'L' or "
                                         "'U', but got 'X'"):
        xpnn.linalg.eigh(eye, UPLO="X")
    with pytest.raises(TypeError, match="linalg.vector_norm: expected a floating point"):
        xpnn.linalg.vector_norm(xpnn.tensor([1, 2], backend=backend))
    with pytest.raises(TypeError, match="linalg.vector_norm: ord must be a number"):
        xpnn.linalg.vector_norm(eye, "fro")
    with pytest.raises(ValueError, match="linalg.matrix_norm: Order 3 not supported"):
        xpnn.linalg.matrix_norm(eye, 3)
    with pytest.raises(ValueError, match="linalg.norm: If dim is not specified but ord is, "
                                         "the input must be 1D or 2D. Got 3D."):
        xpnn.linalg.norm(_t(np.ones((2, 2, 2)), backend), "fro")
    with pytest.raises(ValueError, match="linalg.cross: inputs dimension -1 must have length "
                                         "3. Got 2 and 2"):
        xpnn.linalg.cross(a[:, :2], a[:, :2])
    with pytest.raises(ValueError, match="linalg.multi_dot: expected at least 2 tensors but "
                                         "got 1"):
        xpnn.linalg.multi_dot([eye])
    with pytest.raises(ValueError, match="linalg.multi_dot: tensor 1 must be 2D but got 1D"):
        xpnn.linalg.multi_dot([eye, eye[0], eye])
    with pytest.raises(TypeError, match="linalg.matrix_power: n must be an int, got float"):
        xpnn.linalg.matrix_power(eye, 2.0)


def test_complete_qr_of_a_tall_matrix_is_not_differentiable(backend):
    a = xpnn.tensor(np.arange(6.0).reshape(3, 2) + np.eye(3, 2), backend=backend,
                    dtype="float64", requires_grad=True)
    Q, R = xpnn.linalg.qr(a, mode="complete")
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete' and "
                                           "nrows > ncols"):
        (Q.sum() + R.sum()).backward()


@needs_torch
def test_empty_batches_and_empty_matrices(backend):
    a = _t(np.zeros((0, 3, 3)), backend)
    assert xpnn.linalg.inv(a).shape == (0, 3, 3)
    assert xpnn.linalg.det(a).shape == (0,)
    assert xpnn.linalg.svd(a).S.shape == (0, 3)
    e = _t(np.zeros((0, 3)), backend)
    assert xpnn.linalg.matrix_rank(e).item() == torch.linalg.matrix_rank(
        torch.zeros(0, 3)).item()
    assert xpnn.linalg.vector_norm(_t(np.zeros(0), backend)).item() == 0.0


@needs_torch
def test_norms_over_empty_dims_match_torch(backend):
    """A norm's maximum over an empty dim is 0 (torch's matrix_norm); vector_norm's inf and
    negative orders have no identity there, and raise as torch does."""
    for shape in ((2, 0, 3), (2, 3, 0)):
        x, t = _t(np.zeros(shape), backend), torch.zeros(shape, dtype=torch.float64)
        for ord in ("fro", "nuc", 2, 1, -1, float("inf"), -float("inf")):
            try:
                want = torch.linalg.matrix_norm(t, ord)
            except IndexError:
                with pytest.raises(IndexError):
                    xpnn.linalg.matrix_norm(x, ord)
                continue
            got = xpnn.linalg.matrix_norm(x, ord)
            np.testing.assert_array_equal(to_np(got), want.numpy())
    e = _t(np.zeros((0, 2)), backend)
    for ord in (float("inf"), -float("inf"), -1, -0.5):
        with pytest.raises(RuntimeError, match="vector_norm cannot compute"):
            xpnn.linalg.vector_norm(e, ord, dim=0)
        assert xpnn.linalg.vector_norm(e, ord, dim=1).shape == (0,)
    for ord in (0, 0.5, 1, 2):
        np.testing.assert_array_equal(to_np(xpnn.linalg.vector_norm(e, ord, dim=0)), [0, 0])


@needs_torch
def test_integer_inputs_of_vecdot_and_matrix_power(backend):
    """torch's vecdot refuses integers; its matrix_power takes them for n >= 0."""
    m = [[1, 2], [3, 4]]
    x, t = _t(m, backend, "int64"), torch.tensor(m)
    with pytest.raises(TypeError, match="linalg.vecdot"):
        xpnn.linalg.vecdot(x, x)
    for n in (0, 1, 2, 3):
        got = xpnn.linalg.matrix_power(x, n)
        assert dtype_name(got.dtype) == "int64"
        np.testing.assert_array_equal(to_np(got), torch.linalg.matrix_power(t, n).numpy())
    with pytest.raises(TypeError, match="matrix_power: expected a floating"):
        xpnn.linalg.matrix_power(x, -1)
