"""Placed gradients (xpnn/autograd/placed.py): pieces read from one non-leaf tensor by basic
indexing (split, chunk, unbind, narrow, ``x[key]``) send their gradients back as
"zero but for this block", written into one array when the tensor's node needs it. Every
case here compares the gradients with PyTorch's, on every backend: pieces that tile the
tensor, overlap, leave parts of it out, carry None and int keys, meet a full-size gradient
of the same tensor, reach a leaf, are captured by ``autograd.grad``, seen by tensor hooks,
taken twice with ``retain_graph`` and differentiated twice with ``create_graph``."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402

RNG = np.random.default_rng(7)
X0 = RNG.standard_normal((4, 6, 5))
W0 = RNG.standard_normal((4, 6, 5))


def _pieces(lib, h, case):
    """A scalar built from pieces of the non-leaf ``h`` (shape (4, 6, 5))."""
    if case == "chunk":
        a, b, c = h.chunk(3, dim=1)
        return (a * b * c).sum()
    if case == "split_uneven":
        a, b = h.split([2, 4], dim=1)
        return (a.sum() * 2 + (b ** 2).sum())
    if case == "unbind":
        parts = h.unbind(0)
        return sum((p * (i + 1)).sum() for i, p in enumerate(parts) if i != 2)
    if case == "overlap":
        return (h[:, :4] * h[:, 2:]).sum() + h[1:3, 1, ::2].sum()
    if case == "new_axis":
        return (h[None, :2, ..., 1:3] ** 2).sum() + h[3, None, :, 4].sum()
    if case == "with_full":
        return (h * h[:1]).sum() + h.sum()
    if case == "narrow":
        return (h.narrow(2, 1, 3) * h.narrow(2, 0, 3)).sum()
    raise ValueError(case)


CASES = ["chunk", "split_uneven", "unbind", "overlap", "new_axis", "with_full", "narrow"]


@pytest.mark.parametrize("case", CASES)
def test_pieces_gradient_matches_torch(backend, case):
    grads = []
    for lib in (torch, xpnn):
        x = lib.tensor(X0, dtype=lib.float64, requires_grad=True)
        w = lib.tensor(W0, dtype=lib.float64)
        h = x * w + 1  # a non-leaf: its node receives the pieces' gradients
        _pieces(lib, h, case).backward()
        grads.append(to_np(x.grad) if lib is xpnn else x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", ["chunk", "overlap", "new_axis"])
def test_pieces_of_a_leaf(backend, case):
    """Pieces of a leaf: its .grad is the sum, as PyTorch's."""
    x_t = torch.tensor(X0, requires_grad=True)
    x_x = xpnn.tensor(X0, dtype=xpnn.float64, requires_grad=True)
    _pieces(torch, x_t, case).backward()
    _pieces(xpnn, x_x, case).backward()
    np.testing.assert_allclose(to_np(x_x.grad), x_t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_float32_pieces_and_float64_sum(backend):
    """A float32 tensor's pieces, one of them cast up: the tensor's gradient stays float32
    and equals PyTorch's."""
    out = []
    for lib in (torch, xpnn):
        x = lib.tensor(X0, dtype=lib.float32, requires_grad=True)
        h = x * 2
        a, b = h.chunk(2, dim=2)[0], h[:, :, 3:]
        (a.double().sum() * 3 + b.sum()).backward()
        out.append(to_np(x.grad) if lib is xpnn else x.grad.numpy())
        assert out[-1].dtype == np.float32
    np.testing.assert_allclose(out[1], out[0], rtol=1e-6)


def test_grad_hooks_retain_and_double_backward(backend):
    """autograd.grad of the pieced tensor, a hook on it, retain_graph twice and a second
    order gradient through chunk agree with PyTorch."""
    res = []
    for lib in (torch, xpnn):
        x = lib.tensor(X0, dtype=lib.float64, requires_grad=True)
        h = lib.sin(x)
        seen = []
        h.register_hook(lambda g: seen.append(g.sum().item()))
        a, b, c = h.chunk(3, dim=1)
        loss = (a * b + c ** 3).sum()
        gh, = lib.autograd.grad(loss, h, retain_graph=True)
        loss.backward(retain_graph=True)
        g1 = x.grad.clone()
        loss.backward(retain_graph=True)
        gx, = lib.autograd.grad((a * c).sum(), x, create_graph=True)
        gg, = lib.autograd.grad((gx ** 2).sum(), x)
        conv = (lambda t: to_np(t)) if lib is xpnn else (lambda t: t.detach().numpy())
        res.append((conv(gh), conv(g1), conv(x.grad), seen, conv(gx), conv(gg)))
    for got, want in zip(res[1], res[0]):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-12, atol=1e-12)


def test_attention_projection_split_gradients(backend):
    """MultiheadAttention's packed projection is read as three pieces (q, k, v): its
    gradients equal PyTorch's."""
    torch.manual_seed(0)
    m_t = torch.nn.MultiheadAttention(8, 2, batch_first=True).double()
    m_x = xpnn.nn.MultiheadAttention(8, 2, batch_first=True).double()
    m_x.load_state_dict({k: xpnn.tensor(v.numpy(), dtype=xpnn.float64)
                         for k, v in m_t.state_dict().items()})
    x = RNG.standard_normal((3, 5, 8))
    xt = torch.tensor(x, requires_grad=True)
    xx = xpnn.tensor(x, dtype=xpnn.float64, requires_grad=True)
    (m_t(xt, xt, xt)[0] ** 2).sum().backward()
    (m_x(xx, xx, xx)[0] ** 2).sum().backward()
    np.testing.assert_allclose(to_np(xx.grad), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(to_np(m_x.in_proj_weight.grad),
                               m_t.in_proj_weight.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_signed_zeros_as_the_dense_sum(backend):
    """Each element of the pieces' sum is what adding the dense gradients gives: a -0.0
    from one piece meets the other's +0 and becomes 0.0, as in PyTorch."""
    signs, zeros = [], np.where(np.arange(120).reshape(4, 6, 5) % 3 == 0, -0.0, 0.0)
    for lib in (torch, xpnn):
        x = lib.tensor(X0, dtype=lib.float64, requires_grad=True)
        h = x * 1.0
        a, b, c = h[:, :4], h[:, 2:], h[1:]
        ((a * -0.0).sum() + (b * 1.0).sum() + (c * lib.tensor(zeros[1:])).sum()).backward()
        g = to_np(x.grad) if lib is xpnn else x.grad.numpy()
        signs.append((np.signbit(g), g))
    np.testing.assert_array_equal(signs[1][0], signs[0][0])
    np.testing.assert_array_equal(signs[1][1], signs[0][1])
