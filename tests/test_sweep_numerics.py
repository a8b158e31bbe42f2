"""Adversarial sweep of xpnn.linalg against torch.linalg 2.13: the functions added by it
(solve_triangular, cholesky_solve, cholesky_inverse, cholesky_ex, inv_ex), forward and
float64 gradients over every backend, and the exception classes (torch raises
RuntimeError for bad shapes, dtypes and argument values; xpnn's errors are subclasses of
both RuntimeError and the Python error)."""
import numpy as np
import pytest
from conftest import needs_torch, to_np

import xpnn

torch = pytest.importorskip("torch")

EPS64 = float(np.finfo(np.float64).eps)
TOL = 1e5 * EPS64  # float64; LU solves against LAPACK's triangular solves, other orders


def _pair(a, backend):
    return (xpnn.tensor(a, backend=backend, dtype="float64", requires_grad=True),
            torch.tensor(a, dtype=torch.float64, requires_grad=True))


def _check(fx, ft, arrays, backend, rng):
    """fx on xpnn tensors and ft on torch tensors agree in value, shape, dtype and in the
    gradient of a random weighting of the output."""
    xs, ts = zip(*(_pair(a, backend) for a in arrays))
    yx, yt = fx(*xs), ft(*ts)
    assert tuple(yx.shape) == tuple(yt.shape) and str(yx.dtype).endswith("float64")
    np.testing.assert_allclose(to_np(yx), yt.detach().numpy(), rtol=TOL, atol=TOL)
    w = rng.standard_normal(tuple(yt.shape))
    (yx * xpnn.tensor(w, backend=backend, dtype="float64")).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(to_np(x.grad), t.grad.numpy(), rtol=TOL, atol=TOL)


def _spd(rng, *batch, n=3):
    a = rng.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


@needs_torch
@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [False, True])
def test_solve_triangular_matches_torch(backend, rng, upper, left, unit):
    A = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)   # both triangles filled: one is read
    B = rng.standard_normal((4, 1, 3, 2) if left else (4, 1, 2, 3))   # batch dims broadcast
    kw = dict(upper=upper, left=left, unitriangular=unit)
    _check(lambda a, b: xpnn.linalg.solve_triangular(a, b, **kw),
           lambda a, b: torch.linalg.solve_triangular(a, b, **kw), [A, B], backend, rng)


@needs_torch
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_and_inverse_match_torch(backend, rng, upper):
    L = np.linalg.cholesky(_spd(rng, 2))
    F = np.swapaxes(L, -1, -2) if upper else L
    B = rng.standard_normal((2, 3, 2))
    # the gradient reaches both triangles of the factor, as torch's does
    _check(lambda b, f: xpnn.cholesky_solve(b, f, upper=upper),
           lambda b, f: torch.cholesky_solve(b, f, upper=upper), [B, F], backend, rng)
    _check(lambda f: xpnn.cholesky_inverse(f, upper=upper),
           lambda f: torch.cholesky_inverse(f, upper=upper), [F[0]], backend, rng)


@needs_torch
def test_ex_functions_report_info_as_torch(host_backend, rng):
    good = _spd(rng)
    bad = np.stack([good, np.diag([1.0, -1.0, 2.0])])   # not PD at the 2x2 minor
    xb = xpnn.tensor(bad, dtype="float64")
    L, info = xpnn.linalg.cholesky_ex(xb)
    tinfo = torch.linalg.cholesky_ex(torch.tensor(bad)).info
    assert str(info.dtype).endswith("int32") and to_np(info).tolist() == tinfo.tolist() == [0, 2]
    np.testing.assert_allclose(to_np(L)[0], np.linalg.cholesky(good), rtol=TOL)
    with pytest.raises(RuntimeError):
        xpnn.linalg.cholesky_ex(xb, check_errors=True)
    sing = np.stack([good, np.ones((3, 3))])
    inv, info = xpnn.linalg.inv_ex(xpnn.tensor(sing, dtype="float64"))
    assert to_np(info)[0] == 0 and to_np(info)[1] > 0
    assert torch.linalg.inv_ex(torch.tensor(sing)).info[1] > 0
    np.testing.assert_allclose(to_np(inv)[0], np.linalg.inv(good), rtol=TOL)
    ok = xpnn.linalg.cholesky_ex(xpnn.tensor(good, dtype="float64"))
    assert to_np(ok.info).shape == () and int(to_np(ok.info)) == 0


def test_gradcheck_triangular_and_cholesky_solve(host_backend, rng):
    A = xpnn.tensor(rng.standard_normal((3, 3)) + 3 * np.eye(3), dtype="float64",
                    requires_grad=True)
    B = xpnn.tensor(rng.standard_normal((3, 2)), dtype="float64", requires_grad=True)
    assert xpnn.gradcheck(lambda a, b: xpnn.linalg.solve_triangular(
        a, b, upper=True, left=True, unitriangular=False), A, B)
    L = xpnn.tensor(np.linalg.cholesky(_spd(rng)), dtype="float64", requires_grad=True)
    # finite differences see one triangle (the one read): check through tril
    assert xpnn.gradcheck(lambda b, f: xpnn.cholesky_solve(b, xpnn.tril(f)), B, L)


# (call, torch's exception class): torch raises RuntimeError (LinAlgError is one) here
ERRORS = [
    (lambda m: m.linalg.inv(m.ones(2, 3, dtype=m.float64)), RuntimeError),
    (lambda m: m.linalg.inv(m.ones(3, dtype=m.float64)), RuntimeError),
    (lambda m: m.linalg.inv(m.ones(2, 2, dtype=m.int64)), RuntimeError),
    (lambda m: m.linalg.inv(m.ones(2, 2, dtype=m.float64)), RuntimeError),
    (lambda m: m.linalg.cholesky(-m.eye(2, dtype=m.float64)), RuntimeError),
    (lambda m: m.linalg.solve(m.eye(3, dtype=m.float64), m.ones(4, 4, dtype=m.float64)),
     RuntimeError),
    (lambda m: m.linalg.qr(m.eye(3), mode="x"), RuntimeError),
    (lambda m: m.linalg.eigh(m.eye(3), UPLO="X"), RuntimeError),
    (lambda m: m.linalg.vector_norm(m.ones(3, dtype=m.int64)), RuntimeError),
    (lambda m: m.linalg.norm(m.ones(2, 2, 2), 2), RuntimeError),
    (lambda m: m.linalg.lstsq(m.ones(5, 3), m.ones(4, 2)), RuntimeError),
    (lambda m: m.linalg.lstsq(m.ones(5, 3), m.ones(5, 2), driver="x"), RuntimeError),
    (lambda m: m.linalg.solve_triangular(m.eye(3), m.ones(3), upper=True), RuntimeError),
    (lambda m: m.linalg.multi_dot([m.ones(2, 2)]), RuntimeError),
]


@needs_torch
@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_linalg_errors_are_torchs_classes(i):
    call, cls = ERRORS[i]
    with pytest.raises(cls):
        call(torch)
    with pytest.raises(cls):
        call(xpnn)


@pytest.mark.parametrize("shape, kw", [((4, 5), {}), ((3, 4, 5), {"dim": (0, 2)}),
                                       ((3, 4, 5), {"dim": (-1, 1), "keepdim": True})])
def test_norm_nuc_is_the_nuclear_matrix_norm(shape, kw):
    a = np.random.default_rng(3).standard_normal(shape)
    x = xpnn.tensor(a, dtype=xpnn.float64, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    y, z = xpnn.norm(x, p="nuc", **kw), torch.norm(t, p="nuc", **kw)
    y.sum().backward()
    z.sum().backward()
    assert tuple(y.shape) == tuple(z.shape)
    np.testing.assert_allclose(y.detach().numpy(), z.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    for bad in ("abc",):
        with pytest.raises(RuntimeError):
            torch.norm(t, p=bad)
        with pytest.raises(RuntimeError, match="p must be a number, 'fro' or 'nuc'"):
            xpnn.norm(x, p=bad)


@pytest.mark.filterwarnings("ignore:torch.triangular_solve is deprecated")
@pytest.mark.parametrize("upper, transpose, unit", [(True, False, False), (False, True, False),
                                                    (True, True, True)])
def test_triangular_solve_as_torch(backend, upper, transpose, unit):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((2, 3, 2))
    t_a, t_b = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    x_a = xpnn.tensor(a, dtype=xpnn.float64, backend=backend, requires_grad=True)
    x_b = xpnn.tensor(b, dtype=xpnn.float64, backend=backend, requires_grad=True)
    ours = xpnn.triangular_solve(x_b, x_a, upper=upper, transpose=transpose,
                                 unitriangular=unit)
    theirs = torch.triangular_solve(t_b, t_a, upper=upper, transpose=transpose,
                                    unitriangular=unit)
    np.testing.assert_allclose(to_np(ours.solution), theirs.solution.detach().numpy(),
                               rtol=1e-10)
    np.testing.assert_allclose(to_np(ours.cloned_coefficient), a)
    ours.solution.sum().backward()
    theirs.solution.sum().backward()
    np.testing.assert_allclose(to_np(x_b.grad), t_b.grad.numpy(), rtol=1e-9, atol=1e-12)
    # torch's gradient of A has entries outside the triangle it reads; compare the triangle
    mask = np.triu(np.ones((3, 3))) if upper else np.tril(np.ones((3, 3)))
    if unit:
        mask = mask - np.eye(3)
    np.testing.assert_allclose(to_np(x_a.grad) * mask, t_a.grad.numpy() * mask, rtol=1e-9,
                               atol=1e-12)
