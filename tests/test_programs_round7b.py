"""Regressions found by the programs of round 7b (tests/pytorch_programs/tutorials/: dqn,
clip, captioning, capsnet, set_transformer), each against torch.

The five programs ran as on PyTorch once written; writing them found a matmul whose batch
dims do not broadcast (the capsule network's per-capsule weights against a wrongly sized
capsule grid) raising NumPy's ValueError about "remapped shapes" from inside the kernel,
where PyTorch raises a RuntimeError naming both sizes: xpnn now checks at the op boundary
and raises a ShapeError (both a ValueError and a RuntimeError) naming matmul, the shapes and
the dim. The broadcast products the capsule network makes are held to torch's values and
gradients on every backend.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402
from xpnn.backend import dtype_name  # noqa: E402


@pytest.mark.parametrize("a_shape, b_shape, dim", [
    ((1, 128, 3, 16, 8), (24, 200, 1, 8, 1), -4),
    ((2, 3, 4), (5, 4, 2), -3),
    ((7, 2, 3, 4), (6, 4, 5), -3),
])
def test_matmul_batch_dims_that_do_not_broadcast(backend, a_shape, b_shape, dim):
    """PyTorch raises RuntimeError; xpnn's error is one too, and names the op, both shapes
    and the dim where they part."""
    with pytest.raises(RuntimeError):
        torch.matmul(torch.ones(a_shape), torch.ones(b_shape))
    a, b = xpnn.ones(a_shape), xpnn.ones(b_shape)
    with pytest.raises(RuntimeError) as info:
        xpnn.matmul(a, b)
    assert isinstance(info.value, ValueError)
    msg = str(info.value)
    assert msg.startswith("matmul: the batch dims of ")
    assert str(tuple(a_shape)) in msg and str(tuple(b_shape)) in msg
    assert f"at dim {dim}" in msg
    with pytest.raises(RuntimeError, match="matmul: the batch dims"):
        a @ b


@pytest.mark.parametrize("a_shape, b_shape", [
    ((1, 6, 3, 4, 5), (2, 6, 1, 5, 1)),     # capsule predictions: W @ u, broadcast twice
    ((3, 1, 4, 5), (2, 5, 3)),              # ranks differ, a 1 on each side
    ((5,), (2, 3, 5, 4)),                   # 1-D against a batch
])
def test_broadcast_matmul_matches_torch(backend, a_shape, b_shape):
    """Forward and both gradients of a batch-broadcast matmul as torch's, in float32
    (tolerance 50 eps: sums of at most 5 products) and float64 (50 eps)."""
    rng = np.random.default_rng(0)
    a_np, b_np = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    for dt, tdt, xdt in ((np.float32, torch.float32, xpnn.float32),
                         (np.float64, torch.float64, xpnn.float64)):
        tol = 50 * np.finfo(dt).eps
        ta = torch.tensor(a_np, dtype=tdt, requires_grad=True)
        tb = torch.tensor(b_np, dtype=tdt, requires_grad=True)
        ty = torch.matmul(ta, tb)
        g = rng.standard_normal(tuple(ty.shape))
        (ty * torch.tensor(g, dtype=tdt)).sum().backward()
        xa = xpnn.tensor(a_np.astype(dt), dtype=xdt, requires_grad=True)
        xb = xpnn.tensor(b_np.astype(dt), dtype=xdt, requires_grad=True)
        xy = xpnn.matmul(xa, xb)
        assert tuple(xy.shape) == tuple(ty.shape)
        assert dtype_name(xy.dtype) == np.dtype(dt).name
        (xy * xpnn.tensor(g.astype(dt), dtype=xdt)).sum().backward()
        for got, want in ((xy, ty), (xa.grad, ta.grad), (xb.grad, tb.grad)):
            got = np.asarray(got.detach().numpy(), dtype=np.float64)
            want = want.detach().numpy().astype(np.float64)
            assert tuple(got.shape) == want.shape
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


def test_broadcast_matmul_gradcheck():
    """The capsule network's broadcast product passes a float64 finite-difference check."""
    rng = np.random.default_rng(1)
    a = xpnn.tensor(rng.standard_normal((1, 3, 2, 4, 3)), dtype=xpnn.float64,
                    requires_grad=True)
    b = xpnn.tensor(rng.standard_normal((2, 3, 1, 3, 1)), dtype=xpnn.float64,
                    requires_grad=True)
    assert xpnn.autograd.gradcheck(xpnn.matmul, (a, b))
