"""Checks found while writing the round-21a tutorial programs (tests/pytorch_programs/
tutorials/wav2vec_contrastive.py, graph_transformer_laplacian_pe.py, cyclegan_mini.py,
bnn_hmc.py).

The four programs ran on xpnn as on PyTorch; no xpnn bug was found. Their differences are
random streams the harness does not replay (gumbel noise, torch.rand, torch.randint: xpnn's
own, DESIGN.md, Randomness) and one implementation-defined choice:

* ``linalg.eigh``'s eigenvectors are unique only up to sign (PyTorch's documentation says
  so); xpnn on NumPy returns numpy.linalg.eigh's signs, which need not be PyTorch's LAPACK
  build's. The sign-free quantities (the eigenvalues, the projectors v v^T of simple
  eigenvalues) agree, and are held here.

The other checks hold the op chains the programs lean on against PyTorch, forward and
backward, on every backend: the CycleGAN generator's ReflectionPad2d / InstanceNorm2d /
ConvTranspose2d(output_padding=1) chain, wav2vec's broadcast cosine_similarity scored against
a target at index 0 of cross_entropy, and HMC's parameters_to_vector / vector_to_parameters
round trip under autograd.grad of a Normal log_prob potential in float64.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402


def _rng():
    return np.random.default_rng(21)


def test_eigh_sign_free_parts_agree(backend):
    """Laplacian eigenvalues and the projectors of its simple eigenvalues agree with
    PyTorch's (the eigenvectors' signs are LAPACK's choice)."""
    # float64 asked for by dtype=: xpnn.tensor of a float64 array is float32 by design
    rng = _rng()
    upper = np.triu(rng.random((9, 9)) < 0.4, 1)
    adj = (upper | upper.T).astype(np.float64)
    lap = np.diag(adj.sum(1)) - adj
    w_t, v_t = torch.linalg.eigh(torch.tensor(lap, dtype=torch.float64))
    w_x, v_x = xpnn.linalg.eigh(xpnn.tensor(lap, dtype=xpnn.float64))
    assert v_x.shape == (9, 9) and w_x.numpy().dtype == np.float64
    np.testing.assert_allclose(w_x.numpy(), w_t.numpy(), atol=1e-10)
    w = w_t.numpy()
    simple = [i for i in range(9) if np.all(np.abs(np.delete(w, i) - w[i]) > 1e-6)]
    assert simple
    for i in simple:
        p_t = np.outer(v_t.numpy()[:, i], v_t.numpy()[:, i])
        p_x = np.outer(v_x.numpy()[:, i], v_x.numpy()[:, i])
        np.testing.assert_allclose(p_x, p_t, atol=1e-8)


def _generator_chain(lib, weights):
    nn = lib.nn
    net = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(1, 4, 7), nn.InstanceNorm2d(4),
                        nn.ReLU(), nn.Conv2d(4, 8, 3, stride=2, padding=1),
                        nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1),
                        nn.InstanceNorm2d(4), nn.Tanh())
    with lib.no_grad():
        for p, w in zip(net.parameters(), weights):
            p.copy_(lib.tensor(w))
    return net


def test_cyclegan_generator_chain_matches_pytorch(backend):
    """ReflectionPad2d + InstanceNorm2d + ConvTranspose2d(output_padding=1) forward and the
    input and weight gradients, against PyTorch."""
    rng = _rng()
    shapes = [(4, 1, 7, 7), (4,), (8, 4, 3, 3), (8,), (8, 4, 3, 3), (4,)]
    weights = [(0.3 * rng.standard_normal(s)).astype(np.float32) for s in shapes]
    image = rng.standard_normal((2, 1, 10, 10)).astype(np.float32)
    grads = {}
    for lib in (torch, xpnn):
        net = _generator_chain(lib, weights)
        x = lib.tensor(image, requires_grad=True)
        out = net(x)
        assert tuple(out.shape) == (2, 4, 10, 10)
        (out * lib.linspace(-1, 1, 10)).sum().backward()
        grads[lib.__name__] = [out.detach().numpy(), x.grad.numpy()] + \
            [p.grad.numpy() for p in net.parameters()]
    for got, want in zip(grads["xpnn"], grads["torch"]):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_broadcast_cosine_contrastive_matches_pytorch(backend):
    """cosine_similarity of (B, T, 1, C) contexts against (B, T, 1+K, C) candidates over a
    temperature, masked rows into cross_entropy with the positive at index 0."""
    rng = _rng()
    ctx = rng.standard_normal((2, 5, 1, 6)).astype(np.float32)
    cand = rng.standard_normal((2, 5, 4, 6)).astype(np.float32)
    mask = rng.random((2, 5)) < 0.5
    mask[0, 0] = True
    out = {}
    for lib in (torch, xpnn):
        c = lib.tensor(ctx, requires_grad=True)
        q = lib.tensor(cand, requires_grad=True)
        logits = lib.nn.functional.cosine_similarity(c, q, dim=-1) / 0.1
        logits = logits[lib.tensor(mask)]
        labels = lib.zeros(logits.shape[0], dtype=lib.long)
        loss = lib.nn.functional.cross_entropy(logits, labels)
        loss.backward()
        out[lib.__name__] = (loss.item(), c.grad.numpy(), q.grad.numpy())
    assert out["xpnn"][0] == pytest.approx(out["torch"][0], rel=1e-5)
    for got, want in zip(out["xpnn"][1:], out["torch"][1:]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_flat_parameter_potential_gradient_matches_pytorch(backend):
    """vector_to_parameters then autograd.grad of a Normal log_prob potential with respect
    to the flat vector, in float64, against PyTorch; parameters_to_vector reads it back."""
    rng = _rng()
    x = rng.standard_normal((7, 2))
    y = rng.standard_normal((7, 1))
    theta0 = rng.standard_normal(2 * 3 + 3 + 3 + 1)
    res = {}
    for lib in (torch, xpnn):
        nn = lib.nn
        model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
        theta = lib.tensor(theta0, dtype=lib.float64, requires_grad=True)
        nn.utils.vector_to_parameters(theta, model.parameters())
        noise = lib.distributions.Normal(lib.tensor(0.0, dtype=lib.float64),
                                         lib.tensor(0.1, dtype=lib.float64))
        prior = lib.distributions.Normal(lib.tensor(0.0, dtype=lib.float64),
                                         lib.tensor(1.0, dtype=lib.float64))
        u = -(noise.log_prob(lib.tensor(y, dtype=lib.float64)
                          - model(lib.tensor(x, dtype=lib.float64))).sum()
              + prior.log_prob(theta).sum())
        (g,) = lib.autograd.grad(u, theta)
        back = nn.utils.parameters_to_vector(model.parameters())
        res[lib.__name__] = (u.item(), g.numpy(), back.detach().numpy())
    assert res["xpnn"][1].dtype == np.float64
    assert res["xpnn"][0] == pytest.approx(res["torch"][0], rel=1e-12)
    np.testing.assert_allclose(res["xpnn"][1], res["torch"][1], rtol=1e-10)
    np.testing.assert_allclose(res["xpnn"][2], theta0, rtol=0, atol=0)
