"""End to end: a seeded 2-8-1 MLP learns XOR on every backend, with a gradient-descent loop
written here (the engine alone) and with xpnn.optim.SGD."""
import numpy as np
import pytest

import xpnn
import xpnn.functional as F
from xpnn import nn

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
Y = np.array([[0], [1], [1], [0]], dtype=np.float32)
STEPS, LR = 300, 0.5


def _train(backend, use_optim):
    xpnn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    x, y = xpnn.tensor(X), xpnn.tensor(Y)
    opt = xpnn.optim.SGD(model.parameters(), lr=LR) if use_optim else None
    losses = []
    for _ in range(STEPS):
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        if opt is not None:
            opt.zero_grad()
            loss.backward()
            opt.step()
        else:
            model.zero_grad()
            loss.backward()
            with xpnn.no_grad():  # plain gradient descent, PyTorch's idiom
                for p in model.parameters():
                    p -= LR * p.grad
        losses.append(float(loss))
    with xpnn.no_grad():
        pred = model(x).numpy() > 0
    return losses, pred, model


@pytest.mark.parametrize("use_optim", [False, True], ids=["plain_gd", "optim_sgd"])
def test_mlp_learns_xor(backend, use_optim):
    losses, pred, model = _train(backend, use_optim)
    assert (pred == (Y > 0.5)).all(), f"predictions {pred.ravel()} after {STEPS} steps"
    assert losses[-1] < 0.1 * losses[0], (losses[0], losses[-1])
    assert all(p.backend == backend and p.grad is not None for p in model.parameters())


def test_xor_training_is_the_same_on_every_backend(backend):
    """Same seed, same init bits, same data: the loss curves agree to float32 rounding,
    accumulated over STEPS steps."""
    ref, _, _ = _train("numpy", False)
    losses, _, _ = _train(backend, False)
    np.testing.assert_allclose(losses, ref, rtol=1e-4, atol=1e-6)
