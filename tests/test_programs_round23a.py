"""Checks for the round-23a tutorial programs (tests/pytorch_programs/tutorials/
barlow_twins_vicreg.py, slot_attention.py, convnext_droppath.py, dann_gradient_reversal.py,
deep_svdd_anomaly.py).

All five ran on xpnn as written, with nothing to fix in xpnn: every value of the replayed
runs of slot_attention, dann_gradient_reversal and deep_svdd_anomaly agrees with PyTorch's
within 1e-4, barlow_twins_vicreg agrees to 3e-13 on all 104 values in float64 (float32
rounding parts its Barlow Twins probe loss by about 1e-4), and convnext_droppath's
stochastic-depth draws are xpnn's own stream. The checks below pin, against torch on every
backend, the less common pieces the programs lean on, so a regression shows here before it
shows as a drifting tutorial:

* the off-diagonal trick ``m.flatten()[:-1].view(n - 1, n + 1)[:, 1:]`` (Barlow Twins,
  VICReg): values and gradient, through a view of a slice of a flattened matrix;
* a gradient reversal ``autograd.Function`` returning ``x.view_as(x)`` forward and
  ``grad_output.neg() * ctx.alpha, None`` backward (DANN); reversed twice, gradchecked in
  float64;
* DropPath's ``x.new_empty(shape).bernoulli_(keep) / keep``: dtype, shape, values in
  {0, 1 / keep} and a kept share near ``keep``;
* the Deep SVDD soft-boundary radius ``torch.quantile(torch.sqrt(dist), 1 - nu)`` and the
  centre's eps-avoidance by ``torch.where``.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402
from xpnn.backend import dtype_name  # noqa: E402


def _off_diagonal(lib, m):
    n = m.shape[0]
    return m.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()


def test_off_diagonal_trick_as_pytorch(backend):
    """Values equal to a boolean-mask selection, and the gradient of sum(off ** 2) equal to
    PyTorch's (2 m off the diagonal, 0 on it), float32 kept."""
    m = np.random.default_rng(0).standard_normal((5, 5)).astype(np.float32)
    got_m = xpnn.tensor(m, requires_grad=True)
    want_m = torch.tensor(m, requires_grad=True)
    got, want = _off_diagonal(xpnn, got_m), _off_diagonal(torch, want_m)
    assert dtype_name(got.dtype) == "float32" and tuple(got.shape) == (20,)
    np.testing.assert_array_equal(to_np(got), want.detach().numpy())
    np.testing.assert_array_equal(to_np(got), m[~np.eye(5, dtype=bool)])
    got.pow(2).sum().backward()
    want.pow(2).sum().backward()
    np.testing.assert_allclose(to_np(got_m.grad), want_m.grad.numpy(),
                               rtol=4 * np.finfo(np.float32).eps)


class _Reverse(xpnn.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.alpha = alpha
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.neg() * ctx.alpha, None


def test_gradient_reversal_function(backend):
    """Identity forward, -alpha times the upstream gradient backward, a None gradient for
    the number alpha; gradcheck in float64."""
    x = xpnn.randn(4, 3, dtype=xpnn.float64, requires_grad=True)
    out = _Reverse.apply(x, 0.7)
    assert dtype_name(out.dtype) == "float64" and tuple(out.shape) == (4, 3)
    np.testing.assert_array_equal(to_np(out.detach()), to_np(x.detach()))
    up = xpnn.arange(12.0, dtype=xpnn.float64).view(4, 3)
    (out * up).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), -0.7 * to_np(up), rtol=1e-15)
    # reversed twice with alpha 1 the gradient is the identity's again, which a float64
    # finite-difference gradcheck confirms (a single reversal is wrong by design)
    t = xpnn.randn(3, 2, dtype=xpnn.float64, requires_grad=True)
    assert xpnn.autograd.gradcheck(lambda v: _Reverse.apply(_Reverse.apply(v, 1.0), 1.0) * v,
                                   (t,))


def test_drop_path_mask_as_pytorch(backend):
    """new_empty(shape).bernoulli_(keep) / keep: the input's dtype, one draw per sample,
    values 0 or 1 / keep, about keep of them kept."""
    keep = 0.75
    x = xpnn.ones(4000, 3, 2, 2)
    mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep) / keep
    assert dtype_name(mask.dtype) == "float32" and tuple(mask.shape) == (4000, 1, 1, 1)
    values = set(np.unique(to_np(mask)).tolist())
    assert values <= {0.0, np.float32(1 / keep).item()}
    share = float((to_np(mask) > 0).mean())
    assert abs(share - keep) < 0.03  # 4.4 standard deviations of a 4000-draw share
    out = x * mask
    assert dtype_name(out.dtype) == "float32" and tuple(out.shape) == (4000, 3, 2, 2)


def test_svdd_radius_and_centre_as_pytorch(backend):
    """torch.quantile(sqrt(dist), 1 - nu) and the torch.where eps-avoidance equal
    PyTorch's."""
    rng = np.random.default_rng(1)
    dist = rng.random(97).astype(np.float32)
    got = xpnn.quantile(xpnn.sqrt(xpnn.tensor(dist)), 0.9)
    want = torch.quantile(torch.sqrt(torch.tensor(dist)), 0.9)
    assert dtype_name(got.dtype) == "float32" and tuple(got.shape) == ()
    np.testing.assert_allclose(to_np(got), want.numpy(), rtol=2 * np.finfo(np.float32).eps)
    c = np.array([0.05, -0.02, 0.3, -0.4, 0.0], np.float32)
    outs = []
    for lib in (xpnn, torch):
        t = lib.tensor(c)
        small = t.abs() < 0.1
        t = lib.where(small & (t < 0), lib.full_like(t, -0.1), t)
        t = lib.where(small & (t >= 0), lib.full_like(t, 0.1), t)
        outs.append(np.asarray(to_np(t) if lib is xpnn else t.numpy()))
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], np.float32([0.1, -0.1, 0.3, -0.4, 0.1]))
