"""Checks found while writing the round-13 tutorial programs (tests/pytorch_programs/
tutorials/nerf_tiny.py, mamba_ssm.py, lora_finetune.py, swin_window.py).

* ``Tensor.repeat`` / ``torch.tile`` returned a reshaped broadcast view of the input: on
  NumPy a read-only array sharing the input's memory. A parameter made as Mamba makes
  ``A_log`` (``nn.Parameter(torch.log(torch.arange(1, N + 1)).repeat(d, 1))``) could not be
  updated by Adam ("output array is read-only"), and an in-place change of the input
  showed through the result. PyTorch's repeat copies: the result is now a new tensor.
* ``Tensor.contiguous()`` returned ``self`` always; PyTorch copies a tensor whose layout is
  not contiguous. An expanded view (``ones(3).expand(2, 3).contiguous()``) stayed read-only
  and refused in-place ops, and a write into ``x.t().contiguous()`` reached ``x``. Both now
  copy (a permutation that moves only size-1 dims keeps sharing, as PyTorch's).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402
from xpnn.backend import dtype_name  # noqa: E402

RNG = np.random.default_rng(13)
X = RNG.standard_normal((2, 3)).astype(np.float32)
EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)

REPEATS = [(3, 1), (1, 2), (2, 2, 1), (1, 1)]


@pytest.mark.parametrize("reps", REPEATS, ids=str)
def test_repeat_is_a_new_tensor(backend, reps):
    """x.repeat(*reps) equals PyTorch's and shares nothing with x: in-place changes of
    either leave the other alone (as PyTorch's), and the result takes in-place ops."""
    x, tx = xpnn.tensor(X), torch.tensor(X)
    got, want = x.repeat(*reps), tx.repeat(*reps)
    assert tuple(got.shape) == tuple(want.shape) and dtype_name(got.dtype) == "float32"
    x.add_(10.0)
    tx.add_(10.0)
    got.mul_(2.0)
    want.mul_(2.0)
    np.testing.assert_array_equal(to_np(got), want.numpy())
    np.testing.assert_array_equal(to_np(x), tx.numpy())
    tiled = xpnn.tile(x, reps)
    tiled.sub_(1.0)
    np.testing.assert_array_equal(to_np(tiled), torch.tile(tx, reps).sub_(1.0).numpy())
    np.testing.assert_array_equal(to_np(x), tx.numpy())


@pytest.mark.parametrize("reps", REPEATS, ids=str)
def test_repeat_gradient_matches_torch(backend, reps):
    """The gradient of a weighted sum of x.repeat(*reps) sums the copies as PyTorch's
    (float32: 8 eps relative)."""
    w = RNG.standard_normal(torch.tensor(X).repeat(*reps).shape).astype(np.float32)
    x = xpnn.tensor(X, requires_grad=True)
    tx = torch.tensor(X, requires_grad=True)
    (x.repeat(*reps) * xpnn.tensor(w)).sum().backward()
    (tx.repeat(*reps) * torch.tensor(w)).sum().backward()
    assert dtype_name(x.grad.dtype) == "float32" and tuple(x.grad.shape) == X.shape
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=8 * EPS32,
                               atol=8 * EPS32)


@pytest.mark.parametrize("reps", REPEATS, ids=str)
def test_repeat_gradcheck(host_backend, reps):
    """Finite differences in float64 agree with repeat's gradient (xpnn.gradcheck)."""
    x = xpnn.tensor(X, dtype=xpnn.float64, requires_grad=True)
    assert xpnn.gradcheck(lambda v: v.repeat(*reps) ** 2, (x,))


def test_repeated_parameter_trains_like_torch(backend):
    """Mamba's A_log, nn.Parameter(log(arange(1, N + 1)).repeat(d, 1)), takes AdamW steps
    (it was read-only on NumPy) and moves as PyTorch's (float32: 16 eps relative)."""
    out = {}
    for lib in (xpnn, torch):
        a_log = lib.nn.Parameter(lib.log(lib.arange(1, 5, dtype=lib.float32)).repeat(3, 1))
        opt = lib.optim.AdamW([a_log], lr=0.1, weight_decay=0.0)
        for _ in range(3):
            loss = (-lib.exp(a_log) * lib.arange(12, dtype=lib.float32).view(3, 4)).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        out[lib.__name__] = a_log.detach().numpy() if lib is torch else to_np(a_log)
    np.testing.assert_allclose(out["xpnn"], out["torch"], rtol=16 * EPS32, atol=16 * EPS32)


def test_contiguous_of_an_expanded_view_is_writable(backend):
    """ones(3).expand(2, 3).contiguous() is a new tensor that takes in-place ops (PyTorch
    copies an expanded view)."""
    for lib in (xpnn, torch):
        base = lib.ones(3)
        c = base.expand(2, 3).contiguous()
        c.add_(lib.arange(6, dtype=lib.float32).view(2, 3))
        c_np = to_np(c) if lib is xpnn else c.numpy()
        base_np = to_np(base) if lib is xpnn else base.numpy()
        if lib is xpnn:
            got = (c_np, base_np)
        else:
            want = (c_np, base_np)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("case", ["transpose", "permute", "unit_permute", "reshape"])
def test_contiguous_shares_memory_as_torch(backend, case):
    """A write into x.<view>.contiguous() reaches x exactly when PyTorch's does: not for a
    transpose or a permutation of non-unit dims (copied), yes for a permutation moving
    only a size-1 dim or a reshape (already contiguous: returned as is)."""
    views = {"transpose": lambda t: t.t(),
             "permute": lambda t: t.view(2, 1, 3).permute(2, 1, 0),
             "unit_permute": lambda t: t.view(2, 1, 3).permute(1, 0, 2),
             "reshape": lambda t: t.view(3, 2)}
    results = []
    for lib in (xpnn, torch):
        x = lib.tensor(X.copy())
        c = views[case](x).contiguous()
        c.mul_(0.0)
        results.append(to_np(x) if lib is xpnn else x.numpy())
    np.testing.assert_array_equal(results[0], results[1])


def test_contiguous_gradient_matches_torch(backend):
    """Gradients through permute(...).contiguous().view(...) (Swin's window partition) and
    expand(...).contiguous() match PyTorch's (float32: 8 eps relative)."""
    w = RNG.standard_normal((3, 4)).astype(np.float32)
    grads = []
    for lib in (xpnn, torch):
        x = lib.tensor(X, requires_grad=True)
        y = x.permute(1, 0).contiguous().view(1, 6)
        z = x[:1].expand(2, 3).contiguous().view(6)
        loss = (lib.cat([y.view(6), z]).view(3, 4) * lib.tensor(w)).sum()
        loss.backward()
        grads.append(to_np(x.grad) if lib is xpnn else x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=8 * EPS32, atol=8 * EPS32)


def test_contiguous_gradcheck(host_backend):
    """Finite differences in float64 through the copying contiguous (xpnn.gradcheck)."""
    x = xpnn.tensor(X, dtype=xpnn.float64, requires_grad=True)
    assert xpnn.gradcheck(
        lambda v: v.t().contiguous().view(6) * v[:1].expand(2, 3).contiguous().view(6), (x,))
