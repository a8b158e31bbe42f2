"""Checks found while writing the round-18b tutorial programs (tests/pytorch_programs/
tutorials/hutchinson_score_matching.py, crf_ner.py, zca_whitening_eigh.py, neural_sort.py,
torch_compile_boilerplate.py, distributions_vi.py).

* ``nn.utils.clip_grad_value_(params, clip_value, foreach=True)`` raised TypeError: xpnn's
  signature lacked PyTorch's ``foreach`` argument. It is accepted now (one code path serves
  every backend, as in clip_grad_norm_).
* ``clip_grad_value_`` and ``clip_grad_norm_`` (``clip_grads_with_norm_``) put a new tensor
  in ``p.grad`` instead of clipping the gradient in place, so a reference kept to
  ``p.grad`` before clipping (a list of gradients logged after it, a hook's tensor) still
  held the unclipped values. PyTorch clamps and scales the gradient tensors in place; xpnn
  now writes into them (``_assign``), so ``g is p.grad`` holds after clipping, with the
  clipped values. A gradient shared by two parameters (``a.grad = b.grad = t``) is scaled
  once per parameter holding it, as by PyTorch's foreach multiply.
* ``optimizer.zero_grad(set_to_none=False)`` likewise replaced the gradient instead of
  zeroing it in place (``Module.zero_grad`` already zeroed in place); it now zeroes the
  existing tensor, as PyTorch's does.
* ``MixtureSameFamily`` of a ``Categorical(probs=...)`` printed its mixture as
  ``Categorical(probs: ...)`` where PyTorch prints ``Categorical(probs: ..., logits: ...)``:
  PyTorch's constructor reads the mixture's ``logits`` (caching them), xpnn's read its
  ``param_shape``. It reads ``logits`` now (xpnn/distributions/mixture.py).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402

RNG = np.random.default_rng(18)
W = [RNG.standard_normal((3, 4)).astype(np.float32), RNG.standard_normal(4).astype(np.float32)]
G = [RNG.standard_normal((3, 4)).astype(np.float32) * 3,
     RNG.standard_normal(4).astype(np.float32) * 3]


def _params(lib, **kw):
    """Two parameters with gradients from a weighted sum, and the gradients as made."""
    ps = [lib.nn.Parameter(lib.tensor(w, **kw)) for w in W]
    loss = sum((p * lib.tensor(g, **kw)).sum() for p, g in zip(ps, G))
    loss.backward()
    return ps, [p.grad for p in ps]


@pytest.mark.parametrize("foreach", [None, True, False])
def test_clip_grad_value_in_place_with_foreach(backend, foreach):
    """clip_grad_value_ takes foreach= and clamps each gradient tensor in place."""
    tp, tg = _params(torch)
    xp_, xg = _params(xpnn)
    assert torch.nn.utils.clip_grad_value_(tp, 0.7, foreach=foreach) is None
    assert xpnn.nn.utils.clip_grad_value_(xp_, 0.7, foreach=foreach) is None
    for p, g, q, h in zip(xp_, xg, tp, tg):
        assert g is p.grad and h is q.grad
        np.testing.assert_array_equal(to_np(g), h.numpy())
        assert to_np(g).dtype == np.float32 and tuple(g.shape) == tuple(h.shape)


def test_clip_grad_norm_in_place(backend):
    """clip_grad_norm_ scales each gradient tensor in place and returns the total norm."""
    tp, tg = _params(torch)
    xp_, xg = _params(xpnn)
    t_total = torch.nn.utils.clip_grad_norm_(tp, 1.5)
    x_total = xpnn.nn.utils.clip_grad_norm_(xp_, 1.5)
    np.testing.assert_allclose(to_np(x_total), t_total.numpy(), rtol=1e-6)
    for p, g, q, h in zip(xp_, xg, tp, tg):
        assert g is p.grad and h is q.grad
        np.testing.assert_allclose(to_np(g), h.numpy(), rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_shared_gradient_as_torch():
    """A gradient tensor held by two parameters is scaled once per parameter, as PyTorch's
    foreach multiply does (coef ** 2 in all)."""
    out = {}
    for lib in (torch, xpnn):
        a, b = (lib.nn.Parameter(lib.zeros(4)) for _ in range(2))
        a.grad = b.grad = lib.full((4,), 3.0)
        lib.nn.utils.clip_grad_norm_([a, b], 1.0)
        out[lib.__name__] = (a.grad.numpy().copy(), a.grad is b.grad)
    np.testing.assert_allclose(out["xpnn"][0], out["torch"][0], rtol=1e-6)
    assert out["xpnn"][1] and out["torch"][1]


def test_optimizer_zero_grad_keeps_the_tensor(backend):
    """optimizer.zero_grad(set_to_none=False) zeroes the gradient in place; True drops it."""
    for lib in (torch, xpnn):
        ps, gs = _params(lib)
        opt = lib.optim.SGD(ps, lr=0.1)
        opt.zero_grad(set_to_none=False)
        for p, g in zip(ps, gs):
            assert g is p.grad
            assert not np.any(to_np(g) if lib is xpnn else g.numpy())
        opt.zero_grad(set_to_none=True)
        assert all(p.grad is None for p in ps)


def test_mixture_same_family_repr_as_torch():
    """MixtureSameFamily reads its Categorical's logits at construction, as PyTorch does, so
    a probs-made mixture prints both probs and logits, as PyTorch's."""
    reprs = []
    for lib in (torch, xpnn):
        D = lib.distributions
        mix = D.MixtureSameFamily(D.Categorical(probs=lib.tensor([0.3, 0.7])),
                                  D.Independent(D.Normal(lib.zeros(2, 3), lib.ones(2, 3)), 1))
        reprs.append(repr(mix).replace(lib.__name__ + ".", "torch."))
        assert tuple(mix.batch_shape) == () and tuple(mix.event_shape) == (3,)
    assert reprs[1] == reprs[0]
