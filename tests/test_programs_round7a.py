"""Regressions found by the round-7a tutorial programs (maml, ppo, tcn, gat, espcn), each
against PyTorch 2.13.

* ``autograd.grad`` ran the backward of every node below its inputs too, and freed them: a
  MAML inner loop without ``create_graph`` (each step's grad() taken at the fast weights of
  the step before) failed at its third step with "graph already freed". PyTorch's engine
  runs only the nodes on a path from the outputs to the inputs.
* ``nn.utils.weight_norm``'s FutureWarning had other words than PyTorch's, so a program
  using it warned differently on xpnn.
"""
import warnings

import numpy as np
import pytest
from conftest import to_np

import xpnn

torch = pytest.importorskip("torch")

TOL64 = 1e-12  # float64, a handful of products and sums apart


def _pair(host, backend, requires_grad=True):
    x = xpnn.tensor(host, dtype=xpnn.float64, backend=backend, requires_grad=requires_grad)
    t = torch.tensor(host, dtype=torch.float64, requires_grad=requires_grad)
    return x, t


def _inner_steps(lib, w, steps, lr=0.1):
    """Gradient steps on fast weights, each grad() taken at the previous step's weights (a
    non-leaf), without create_graph; returns the gradients and the last fast weights."""
    fast, grads = w * 1.5, []
    for _ in range(steps):
        loss = (lib.sin(fast) * fast).sum()
        g, = lib.autograd.grad(loss, [fast])
        grads.append(g)
        fast = fast - lr * g
    return grads, fast


def test_grad_at_nonleaf_inputs_step_after_step(backend, rng):
    """Five chained grad() calls at non-leaf fast weights, then a backward through the whole
    chain to the leaf: as in PyTorch (values in float64 to 1e-12)."""
    host = rng.standard_normal((3, 4))
    w, tw = _pair(host, backend)
    grads, fast = _inner_steps(xpnn, w, 5)
    tgrads, tfast = _inner_steps(torch, tw, 5)
    for g, tg in zip(grads, tgrads):
        assert to_np(g).dtype == np.float64 and tuple(g.shape) == (3, 4)
        assert not g.requires_grad
        np.testing.assert_allclose(to_np(g), tg.numpy(), rtol=TOL64, atol=TOL64)
    (fast ** 2).sum().backward()
    (tfast ** 2).sum().backward()
    np.testing.assert_allclose(to_np(w.grad), tw.grad.numpy(), rtol=TOL64, atol=TOL64)


def test_grad_leaves_the_nodes_below_its_inputs(backend, rng):
    """grad(z, y) for a non-leaf y runs no node below y, so a backward through y afterwards
    still works (PyTorch frees only the nodes it ran)."""
    host = rng.standard_normal(5)
    x, tx = _pair(host, backend)
    for lib, leaf in ((xpnn, x), (torch, tx)):
        y = lib.tanh(leaf) * 2
        g, = lib.autograd.grad(lib.exp(y).sum(), [y])
        (y * g).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=TOL64, atol=TOL64)


def test_grad_still_reports_a_freed_graph(backend):
    """A node below the inputs that an earlier backward freed and that grad() does need is
    still reported, not skipped."""
    x = xpnn.tensor([1.0, 2.0], dtype=xpnn.float64, requires_grad=True)
    y = x * x
    z = y.sum()
    z.backward()
    with pytest.raises(RuntimeError, match="freed"):
        xpnn.autograd.grad(z, [x])


def _maml_meta_grads(lib, params, x, y, inner_lr=0.05, meta_grads=True):
    """The meta-gradient of a one-step MAML loss (support = query = (x, y)) of a 1-16-1 tanh
    network run by functional_call on a dict of fast weights."""
    net = lib.nn.Sequential(lib.nn.Linear(1, 16), lib.nn.Tanh(), lib.nn.Linear(16, 1)).double()
    names = [n for n, _ in net.named_parameters()]
    weights = dict(zip(names, params))
    loss = lib.nn.functional.mse_loss(lib.func.functional_call(net, weights, (x,)), y)
    grads = lib.autograd.grad(loss, list(weights.values()), create_graph=True)
    fast = {n: w - inner_lr * g for (n, w), g in zip(weights.items(), grads)}
    meta = lib.nn.functional.mse_loss(lib.func.functional_call(net, fast, (x,)), y)
    return meta, lib.autograd.grad(meta, params) if meta_grads else None


def test_maml_second_order_meta_gradient(backend, rng):
    """MAML's meta-gradient through an inner step taken with create_graph=True: as PyTorch's
    in float64, and a finite-difference gradcheck of the meta-loss."""
    shapes = [(16, 1), (16,), (1, 16), (1,)]
    hosts = [rng.standard_normal(s) * 0.5 for s in shapes]
    xh = rng.uniform(-2, 2, (8, 1))
    yh = np.sin(xh)
    pairs = [_pair(h, backend) for h in hosts]
    xs, ts = [p[0] for p in pairs], [p[1] for p in pairs]
    x, tx = _pair(xh, backend, requires_grad=False)
    y, ty = _pair(yh, backend, requires_grad=False)
    meta, grads = _maml_meta_grads(xpnn, xs, x, y)
    tmeta, tgrads = _maml_meta_grads(torch, ts, tx, ty)
    assert to_np(meta).dtype == np.float64 and tuple(meta.shape) == ()
    np.testing.assert_allclose(meta.item(), tmeta.item(), rtol=TOL64)
    for g, tg in zip(grads, tgrads):
        assert tuple(g.shape) == tuple(tg.shape)
        np.testing.assert_allclose(to_np(g), tg.numpy(), rtol=1e-10, atol=1e-12)
    if backend == "numpy":  # the check of numerics; the parity above covers the devices
        assert xpnn.gradcheck(lambda *p: _maml_meta_grads(xpnn, list(p), x, y,
                                                          meta_grads=False)[0], *xs)


def test_weight_norm_warns_as_pytorch():
    """nn.utils.weight_norm's FutureWarning says what PyTorch's says, word for word."""
    got, want = [], []
    for lib, out in ((xpnn, got), (torch, want)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.nn.utils.weight_norm(lib.nn.Linear(3, 2))
        out += [(w.category, str(w.message)) for w in caught]
    assert got == want and got[0][0] is FutureWarning
