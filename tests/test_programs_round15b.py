"""Checks found while writing the round-15b tutorial programs (tests/pytorch_programs/
tutorials/neural_process.py, temporal_fusion.py, stylegan_mini.py, glow_flow.py,
cpc_infonce.py, a2c_vector_env.py).

* A gradient taken through ReLU or LeakyReLU with ``create_graph=True`` did not depend on
  the activation's input: the recorded gradient was ``dY.where(mask, ...)`` with the mask a
  constant, so a gradient penalty on a piecewise-linear path (the R1 penalty of the StyleGAN
  program) left the biases before the activation with ``.grad`` None where PyTorch gives
  zeros (Adam then skips them: no step count, no second-moment decay), and a penalty on a
  gradient that depends on nothing else did not require grad at all (``.backward()``
  raised). PyTorch records threshold_backward / leaky_relu_backward as nodes of (grad,
  input) whose derivative in the input is ``zeros_like(grad)``; xpnn's ReLU and LeakyReLU
  now record their gradient linked to the input the same way (first_order.link, shared
  with the other piecewise ops), with zeros for the input.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402
from xpnn.backend import dtype_name  # noqa: E402

RNG = np.random.default_rng(15)
ACTIVATIONS = {
    "relu": lambda lib: lib.relu,
    "leaky_relu": lambda lib: (lambda v: lib.nn.functional.leaky_relu(v, 0.2)),
    "nn.LeakyReLU(inplace=True)": lambda lib: lib.nn.LeakyReLU(0.2, inplace=True),
    "nn.ReLU(inplace=True)": lambda lib: lib.nn.ReLU(inplace=True),
}


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_gradient_penalty_through_piecewise_linear_reaches_the_input(backend, act):
    """grad(f(2x + b), x, create_graph=True) requires grad, and a penalty on it backward()s
    to zeros in x and b, as PyTorch's (not an error, not None)."""
    x0 = RNG.standard_normal(5).astype(np.float32)
    got = {}
    for lib in (torch, xpnn):
        x = lib.tensor(x0, requires_grad=True)
        b = lib.zeros(5, requires_grad=True)
        y = ACTIVATIONS[act](lib)(x * 2 + b)
        g, = lib.autograd.grad(y.sum(), x, create_graph=True)
        assert g.requires_grad
        (g ** 2).sum().backward()
        got[lib.__name__] = (to_np(g.detach()) if lib is xpnn else g.detach().numpy(),
                             x.grad, b.grad)
    (gx, xg, bg), (gt, xgt, bgt) = got["xpnn"], got["torch"]
    np.testing.assert_allclose(gx, gt, rtol=1e-6)
    for ours, theirs in ((xg, xgt), (bg, bgt)):
        assert ours is not None and theirs is not None
        assert tuple(ours.shape) == tuple(theirs.shape) and dtype_name(ours.dtype) == "float32"
        np.testing.assert_array_equal(to_np(ours), theirs.numpy())


def _discriminator(lib, act):
    return lib.nn.Sequential(lib.nn.Conv2d(3, 8, 3, padding=1), act,
                             lib.nn.Conv2d(8, 8, 3, stride=2, padding=1), act,
                             lib.nn.Flatten(), lib.nn.Linear(8 * 4 * 4, 1))


@pytest.mark.parametrize("slope", [0.0, 0.2], ids=["relu", "leaky_relu"])
def test_r1_penalty_gradients_match_pytorch(backend, slope):
    """StyleGAN's R1 penalty: the squared input gradient of a conv discriminator, backward
    to its parameters. Weights agree with PyTorch's, the biases feeding an activation get
    zeros (PyTorch's) and the last Linear's bias None, as on PyTorch."""
    images = RNG.standard_normal((4, 3, 8, 8)).astype(np.float32)
    nets = {lib: _discriminator(lib, lib.nn.LeakyReLU(slope) if slope else lib.nn.ReLU())
            for lib in (torch, xpnn)}
    nets[xpnn].load_state_dict({k: xpnn.tensor(v.numpy())
                                for k, v in nets[torch].state_dict().items()})
    for lib, net in nets.items():
        real = lib.tensor(images).requires_grad_(True)
        grad, = lib.autograd.grad(net(real).sum(), real, create_graph=True)
        grad.pow(2).sum(dim=(1, 2, 3)).mean().backward()
    for (name, p), (_, q) in zip(nets[torch].named_parameters(),
                                 nets[xpnn].named_parameters()):
        if p.grad is None:
            assert q.grad is None, name
            continue
        assert q.grad is not None, name
        np.testing.assert_allclose(to_np(q.grad), p.grad.numpy(), rtol=1e-4, atol=1e-9,
                                   err_msg=name)


def test_third_derivative_through_leaky_relu(backend):
    """A third derivative of x^2 * leaky_relu(x) (every order recorded through the gradient
    node) equals PyTorch's, float64."""
    x0 = np.array([-1.5, -0.2, 0.3, 2.0])
    out = {}
    for lib in (torch, xpnn):
        x = lib.tensor(x0, dtype=lib.float64, requires_grad=True)
        y = (x * x * lib.nn.functional.leaky_relu(x, 0.1)).sum()
        g1, = lib.autograd.grad(y, x, create_graph=True)
        g2, = lib.autograd.grad(g1.sum(), x, create_graph=True)
        g3, = lib.autograd.grad(g2.sum(), x)
        out[lib.__name__] = [to_np(g.detach()) if lib is xpnn else g.detach().numpy()
                             for g in (g1, g2, g3)]
    for ours, theirs in zip(out["xpnn"], out["torch"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
