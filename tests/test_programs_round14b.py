"""Checks found while writing the round-14b tutorial programs (tests/pytorch_programs/
tutorials/nbeats_forecast.py, hypernet_film.py, parametrize_orthogonal.py,
differentiable_physics.py, detr_hungarian.py, svi_bayes_logreg.py).

* ``parametrizations.orthogonal``'s ``right_inverse`` (run when the parametrization is
  registered, and when an orthogonal matrix is assigned to the parametrized weight) returned
  ``-eye(n)``: -0.0 everywhere off the diagonal, where PyTorch's ``original`` holds +0.0.
  Printing ``parametrizations.weight_hh_l0.original`` (or a state_dict entry) showed
  ``-0.`` where PyTorch prints ``0.``, and ``torch.signbit`` / ``1 / x`` told them apart.
  It is now ``0.0 - eye(n)``: -1 on the diagonal and +0.0 elsewhere, as PyTorch's.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402
from xpnn.backend import dtype_name  # noqa: E402

RNG = np.random.default_rng(14)
Q4 = np.linalg.qr(RNG.standard_normal((4, 4)))[0].astype(np.float32)


def _orthogonal_rnn(lib):
    rnn = lib.nn.RNN(3, 4, batch_first=True)
    lib.nn.utils.parametrizations.orthogonal(rnn, "weight_hh_l0")
    return rnn


@pytest.mark.parametrize("assign", [False, True], ids=["registered", "assigned"])
def test_orthogonal_original_is_minus_identity_with_positive_zeros(backend, assign):
    """``original`` after registration (and after assigning an orthogonal matrix) is -I with
    +0.0 off the diagonal, bit for bit as PyTorch's, and prints as PyTorch's."""
    got, want = _orthogonal_rnn(xpnn), _orthogonal_rnn(torch)
    if assign:
        got.weight_hh_l0 = xpnn.tensor(Q4)
        want.weight_hh_l0 = torch.tensor(Q4)
    x = got.parametrizations.weight_hh_l0.original
    t = want.parametrizations.weight_hh_l0.original.detach()
    assert dtype_name(x.dtype) == "float32" and tuple(x.shape) == (4, 4)
    np.testing.assert_array_equal(to_np(x.detach()), t.numpy())
    np.testing.assert_array_equal(np.signbit(to_np(x.detach())), torch.signbit(t).numpy())
    # the same text (a non-default backend's repr adds ", backend=...")
    assert str(x.detach()).startswith(str(t)[:-1])
    if assign:  # the weight is the assigned matrix, as PyTorch's
        np.testing.assert_allclose(to_np(got.weight_hh_l0.detach()),
                                   want.weight_hh_l0.detach().numpy(), rtol=0, atol=1e-6)


def test_orthogonal_state_dict_matches_torch():
    """The state_dict of xpnn's orthogonal RNN (original and base) equals PyTorch's after the
    same assignment, key for key and bit for bit."""
    got, want = _orthogonal_rnn(xpnn), _orthogonal_rnn(torch)
    got.weight_hh_l0 = xpnn.tensor(Q4)
    want.weight_hh_l0 = torch.tensor(Q4)
    g, w = got.state_dict(), want.state_dict()
    assert sorted(g) == sorted(w)
    for k in ("parametrizations.weight_hh_l0.original", "parametrizations.weight_hh_l0.0.base"):
        np.testing.assert_array_equal(to_np(g[k]), w[k].numpy())
        np.testing.assert_array_equal(np.signbit(to_np(g[k])), torch.signbit(w[k]).numpy())
