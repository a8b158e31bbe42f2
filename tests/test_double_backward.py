"""Higher-order gradients (create_graph=True): second derivatives of the covered ops against
PyTorch, gradgradcheck, a WGAN-GP step, Hessians and the autograd.functional tools."""
import numpy as np
import pytest
from conftest import to_np

import xpnn
from xpnn import nn

torch = pytest.importorskip("torch")

TOL = 1e-9  # float64 against torch float64


def _pos(shape):
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def _any(shape):  # away from 0: relu, leaky_relu and abs have a kink there
    return lambda rng: rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)


# name -> (function of the module (xpnn or torch) and the inputs, input makers)
CASES = {
    "add": (lambda m, a, b: (a + b) * a, [_any((2, 3)), _any((3,))]),
    "add_alpha": (lambda m, a, b: m.add(a, b, alpha=2) * b, [_any((2, 3)), _any((2, 1))]),
    "sub": (lambda m, a, b: (a - b) * b, [_any((2, 3)), _any((1, 3))]),
    "mul": (lambda m, a, b: a * b * b, [_any((2, 3)), _any((3,))]),
    "div": (lambda m, a, b: a / b, [_any((2, 3)), _pos((2, 1))]),
    "neg": (lambda m, a: -a * a, [_any((4,))]),
    "pow_scalar": (lambda m, a: a ** 3 + a ** 2.5, [_pos((2, 3))]),
    "pow_tensor": (lambda m, a, b: a ** b, [_pos((2, 3)), _any((3,))]),
    "exp": (lambda m, a: m.exp(a), [_any((2, 3))]),
    "log": (lambda m, a: m.log(a), [_pos((2, 3))]),
    "sqrt": (lambda m, a: m.sqrt(a), [_pos((2, 3))]),
    "rsqrt": (lambda m, a: m.rsqrt(a), [_pos((2, 3))]),
    "abs": (lambda m, a: m.abs(a) * a, [_any((2, 3))]),
    "square": (lambda m, a: m.square(a), [_any((2, 3))]),
    "reciprocal": (lambda m, a: m.reciprocal(a), [_pos((2, 3))]),
    "tanh": (lambda m, a: m.tanh(a), [_any((2, 3))]),
    "sigmoid": (lambda m, a: m.sigmoid(a), [_any((2, 3))]),
    "sin": (lambda m, a: m.sin(a), [_any((2, 3))]),
    "cos": (lambda m, a: m.cos(a), [_any((2, 3))]),
    "relu": (lambda m, a: m.nn.functional.relu(a) * a, [_any((2, 3))]),
    "leaky_relu": (lambda m, a: m.nn.functional.leaky_relu(a, 0.2) * a, [_any((2, 3))]),
    "sum": (lambda m, a: a.sum(dim=1, keepdim=True) * a + a.sum((0, 2), keepdim=True) * a.sum(),
            [_any((2, 3, 2))]),
    "mean": (lambda m, a: a.mean(dim=-1, keepdim=True) ** 2 * a
             + a.mean((0,), keepdim=True) * a.mean(), [_any((2, 3))]),
    "matmul": (lambda m, a, b: (a @ b) ** 2, [_any((2, 2, 3)), _any((3, 2))]),
    "mm": (lambda m, a, b: m.mm(a, b) * m.mm(a, b), [_any((2, 3)), _any((3, 2))]),
    "bmm": (lambda m, a, b: m.bmm(a, b) ** 2, [_any((2, 2, 3)), _any((2, 3, 2))]),
    "linear": (lambda m, x, w, b: m.nn.functional.linear(x, w, b) ** 2,
               [_any((3, 4)), _any((2, 4)), _any((2,))]),
    "linear_3d": (lambda m, x, w: m.nn.functional.linear(x, w) ** 2,
                  [_any((2, 3, 4)), _any((2, 4))]),
    "reshape_view_flatten": (lambda m, a: a.reshape(3, 2) * a.view(3, 2)
                             + (a.flatten()[None] ** 2).reshape(3, 2), [_any((2, 3))]),
    "permute_transpose": (lambda m, a: a.permute(2, 0, 1) * a.transpose(0, 2).transpose(1, 2),
                          [_any((2, 3, 2))]),
    "expand_unsqueeze_squeeze": (lambda m, a: a.unsqueeze(0).expand(3, 2, 3) ** 2
                                 + a[:1].squeeze(0) * a, [_any((2, 3))]),
    "getitem": (lambda m, a: a[1:, ::2] * a[:1, 1::2], [_any((2, 4))]),
    "getitem_none_int": (lambda m, a: a[None, 1] * a[0, None], [_any((2, 3))]),
    "cat_stack": (lambda m, a, b: m.cat([a, b * a], 0) * m.stack([a, b], 1).reshape(4, 3),
                  [_any((2, 3)), _any((2, 3))]),
    "norm": (lambda m, a: a.norm() * a, [_any((2, 3))]),
    "norm_dim": (lambda m, a: a.norm(2, dim=1) ** 3, [_any((3, 4))]),
    "vector_norm": (lambda m, a: m.linalg.vector_norm(a, dim=0, keepdim=True) * a,
                    [_any((3, 2))]),
    "softmax": (lambda m, a: m.softmax(a, dim=1) * a, [_any((2, 4))]),
    "log_softmax": (lambda m, a: m.log_softmax(a, dim=0) * a, [_any((3, 2))]),
    "to": (lambda m, a: a.to(m.float32).to(m.float64) * a, [_any((2, 3))]),
    "cross_entropy": (lambda m, a: m.nn.functional.cross_entropy(a, m.tensor([0, 2, 1, 2])),
                      [_any((4, 3))]),
    "cross_entropy_weight_ignore": (
        lambda m, a: m.nn.functional.cross_entropy(
            a, m.tensor([0, -100, 1, 2]), weight=m.tensor([0.5, 2.0, 1.0], dtype=m.float64),
            reduction="none"), [_any((4, 3))]),
    "cross_entropy_spatial": (lambda m, a: m.nn.functional.cross_entropy(
        a, m.tensor([[0, 2], [1, 1]]), reduction="sum"), [_any((2, 3, 2))]),
    "nll_loss": (lambda m, a: m.nn.functional.nll_loss(m.log_softmax(a, 1), m.tensor([1, 0])),
                 [_any((2, 3))]),
}


def _inputs(makers, seed, backend):
    rng = np.random.default_rng(seed)
    host = [make(rng) for make in makers]
    ours = [xpnn.tensor(h, dtype=xpnn.float64, backend=backend, requires_grad=True)
            for h in host]
    theirs = [torch.tensor(h, dtype=torch.float64, requires_grad=True) for h in host]
    return host, ours, theirs


def _second(m, fn, xs, v, w):
    """Gradients of <d<fn(xs), v>/dxs, w> w.r.t. xs and v (the gradient is linear in v, so
    v's own gradient checks the first-order part of the graph)."""
    y = fn(m, *xs)
    gs = m.autograd.grad(y, xs, grad_outputs=v, create_graph=True)
    s = sum((g * wi).sum() for g, wi in zip(gs, w))
    return gs, m.autograd.grad(s, list(xs) + [v], allow_unused=True, materialize_grads=True)


@pytest.mark.parametrize("name", list(CASES))
def test_second_derivatives_match_torch(name, backend):
    fn, makers = CASES[name]
    host, xs, ts = _inputs(makers, 0, backend)
    rng = np.random.default_rng(1)
    y = fn(torch, *ts)
    v_host = rng.standard_normal(tuple(y.shape))
    w_host = [rng.standard_normal(h.shape) for h in host]
    v = xpnn.tensor(v_host, dtype=xpnn.float64, backend=backend, requires_grad=True)
    w = [xpnn.tensor(h, dtype=xpnn.float64, backend=backend) for h in w_host]
    tv = torch.tensor(v_host, requires_grad=True)
    tw = [torch.tensor(h) for h in w_host]
    gs, hs = _second(xpnn, fn, xs, v, w)
    tgs, ths = _second(torch, fn, ts, tv, tw)
    for g, tg in zip(gs, tgs):
        assert g.requires_grad
        np.testing.assert_allclose(to_np(g), tg.detach().numpy(), rtol=TOL, atol=TOL)
    for i, (h, th) in enumerate(zip(hs, ths)):
        tol = 1e-6 if name == "to" else TOL
        np.testing.assert_allclose(to_np(h), th.numpy(), rtol=tol, atol=tol, err_msg=f"{i}")


@pytest.mark.parametrize("name", [n for n in CASES if n != "to"])
def test_gradgradcheck(name, host_backend):
    fn, makers = CASES[name]
    _, xs, _ = _inputs(makers, 2, host_backend)
    assert xpnn.autograd.gradgradcheck(lambda *a: fn(xpnn, *a), *xs)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class Square(xpnn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x.detach()  # the right value, cut from x: no second derivative

    x = xpnn.tensor([0.5, 1.5], dtype=xpnn.float64, requires_grad=True)
    assert xpnn.autograd.gradcheck(Square.apply, x)
    assert xpnn.autograd.gradgradcheck(lambda t: t * t, x)
    with pytest.raises(xpnn.GradcheckError):
        xpnn.autograd.gradgradcheck(Square.apply, x)


def _mlp_pair(backend):
    xpnn.manual_seed(0)
    critic = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    critic.to(backend)
    ref = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.LeakyReLU(0.2),
                              torch.nn.Linear(8, 1))
    with torch.no_grad():
        for p, q in zip(critic.parameters(), ref.parameters()):
            q.copy_(torch.tensor(to_np(p)))
    return critic, ref


def _wgan_gp_loss(m, critic, real, fake, alpha):
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    g = m.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)[0]
    gp = ((g.norm(2, dim=1) - 1) ** 2).mean()
    return critic(fake).mean() - critic(real).mean() + 10 * gp


def test_wgan_gp_step_matches_torch(backend):
    critic, ref = _mlp_pair(backend)
    rng = np.random.default_rng(3)
    real, fake = rng.standard_normal((6, 4)), rng.standard_normal((6, 4)) + 1
    alpha = rng.uniform(size=(6, 1))
    ours = [xpnn.tensor(a, dtype=xpnn.float32, backend=backend) for a in (real, fake, alpha)]
    theirs = [torch.tensor(a, dtype=torch.float32) for a in (real, fake, alpha)]
    loss = _wgan_gp_loss(xpnn, critic, *ours)
    loss.backward()
    tloss = _wgan_gp_loss(torch, ref, *theirs)
    tloss.backward()
    np.testing.assert_allclose(to_np(loss), tloss.item(), rtol=1e-5, atol=1e-5)
    for p, q in zip(critic.parameters(), ref.parameters()):
        assert p.grad is not None and p.grad.dtype == p.dtype
        np.testing.assert_allclose(to_np(p.grad), q.grad.numpy(), rtol=1e-4, atol=1e-5)


def _mlp_loss(m, x, y):
    def loss(w1, b1, w2):
        h = m.tanh(x @ w1.T + b1)
        return ((h @ w2.T - y) ** 2).mean()
    return loss


def _mlp_params(backend):
    rng = np.random.default_rng(4)
    host = [rng.standard_normal(s) for s in ((3, 2), (3,), (1, 3))]
    data = [rng.standard_normal(s) for s in ((5, 2), (5, 1))]
    ours = [xpnn.tensor(h, dtype=xpnn.float64, backend=backend) for h in host + data]
    theirs = [torch.tensor(h) for h in host + data]
    return ours[:3], ours[3:], theirs[:3], theirs[3:], rng


def test_hessian_hvp_vhp_jvp_of_an_mlp_loss_match_torch(backend):
    ps, (x, y), tps, (tx, ty), rng = _mlp_params(backend)
    f, tf = _mlp_loss(xpnn, x, y), _mlp_loss(torch, tx, ty)
    F, TF = xpnn.autograd.functional, torch.autograd.functional
    H, TH = F.hessian(f, tuple(ps)), TF.hessian(tf, tuple(tps))
    for row, trow in zip(H, TH):
        for h, th in zip(row, trow):
            assert tuple(h.shape) == tuple(th.shape)
            np.testing.assert_allclose(to_np(h), th.numpy(), rtol=TOL, atol=TOL)
    vh = [rng.standard_normal(p.shape) for p in ps]
    v = tuple(xpnn.tensor(a, dtype=xpnn.float64, backend=backend) for a in vh)
    tv = tuple(torch.tensor(a) for a in vh)
    for ours, theirs in ((F.hvp, TF.hvp), (F.vhp, TF.vhp)):
        out, res = ours(f, tuple(ps), v)
        tout, tres = theirs(tf, tuple(tps), tv)
        np.testing.assert_allclose(to_np(out), tout.numpy(), rtol=TOL)
        for r, tr in zip(res, tres):
            assert not r.requires_grad
            np.testing.assert_allclose(to_np(r), tr.numpy(), rtol=TOL, atol=TOL)
    single = F.hessian(lambda w: (w ** 3).sum(), ps[0])
    np.testing.assert_allclose(to_np(single), TF.hessian(lambda w: (w ** 3).sum(),
                                                         tps[0]).numpy(), rtol=TOL)

    def g(w1, b1):
        return (x @ w1.T + b1).tanh(), w1.sum(1)

    def tg(w1, b1):
        return (tx @ w1.T + b1).tanh(), w1.sum(1)
    outs, res = F.jvp(g, (ps[0], ps[1]), v[:2])
    touts, tres = TF.jvp(tg, (tps[0], tps[1]), tv[:2])
    for a, b in zip(outs + res, touts + tres):
        np.testing.assert_allclose(to_np(a), b.numpy(), rtol=TOL, atol=TOL)


def test_hvp_create_graph_and_errors(backend):
    x = xpnn.tensor([0.5, -1.0], dtype=xpnn.float64, backend=backend, requires_grad=True)
    v = xpnn.tensor([1.0, 2.0], dtype=xpnn.float64, backend=backend)
    _, hv = xpnn.autograd.functional.hvp(lambda a: (a ** 4).sum(), x, v, create_graph=True)
    assert hv.requires_grad  # 12 x^2 v: its gradient is 24 x v
    (d,) = xpnn.autograd.grad(hv.sum(), x)
    np.testing.assert_allclose(to_np(d), 24 * np.array([0.5, -1.0]) * [1.0, 2.0])
    with pytest.raises(RuntimeError, match="hvp: v can only be None"):
        xpnn.autograd.functional.hvp(lambda a: a.sum(), x)
    with pytest.raises(RuntimeError, match="vhp: the function given should return a single"):
        xpnn.autograd.functional.vhp(lambda a: a, x, v)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_backward_create_graph_leaves_a_differentiable_grad(backend):
    x = xpnn.tensor([0.5, -1.0, 2.0], dtype=xpnn.float64, backend=backend, requires_grad=True)
    tx = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    for m, t in ((xpnn, x), (torch, tx)):
        (m.sin(t) * t).sum().backward(create_graph=True)
        assert t.grad.requires_grad
    (h,) = xpnn.autograd.grad((x.grad ** 2).sum(), x)
    (th,) = torch.autograd.grad((tx.grad ** 2).sum(), tx)
    np.testing.assert_allclose(to_np(h), th.numpy(), rtol=TOL)
    # a second create_graph backward sums out of place, as PyTorch
    x.sum().backward(create_graph=True)
    np.testing.assert_allclose(to_np(x.grad), tx.grad.detach().numpy() + 1, rtol=TOL)


def test_uncovered_op_raises_instead_of_a_wrong_double_backward(backend):
    # conv, pools, indexing and reductions are covered now (test_double_backward_more.py)
    x = xpnn.rand(2, 3, requires_grad=True) + 0.5
    y = xpnn.i0(x).sum()  # the Bessel functions still refuse (lgamma is covered now)
    with pytest.raises(NotImplementedError, match="double backward of .* is not supported"):
        xpnn.autograd.grad(y, x, create_graph=True)
    g = xpnn.autograd.grad(xpnn.i0(x).sum(), x)[0]  # first order works
    assert not g.requires_grad
    logits = xpnn.randn(3, 4, requires_grad=True)
    probs = xpnn.rand(3, 4, requires_grad=True)  # label smoothing is covered now
    loss = xpnn.nn.functional.cross_entropy(logits, probs)
    with pytest.raises(NotImplementedError, match="CrossEntropy with probability targets"):
        xpnn.autograd.grad(loss, logits, create_graph=True)
