"""Checks found while writing the round-20a tutorial programs (tests/pytorch_programs/
tutorials/neural_spline_flow.py, egnn_molecules.py, adversarial_training_pgd.py,
deepar_forecast.py, tensor_decomposition_als.py).

The five programs ran on xpnn as on PyTorch (all three backends); probing the functions they
use beside them found one difference:

* ``F.kl_div`` (and so ``nn.KLDivLoss``) with ``reduction="mean"``, the default, gave no
  warning, where PyTorch warns that "mean" divides by the batch and the support sizes and
  that "batchmean" is the true KL divergence (the TRADES recipe's reason for "batchmean").
  xpnn/functional/loss_more.py now gives PyTorch's UserWarning word for word, only when the
  reduction is asked for by name or left to its default (not when it comes from the legacy
  ``size_average``/``reduce`` pair, which has its own warning), and before the input checks,
  as PyTorch does.
"""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

LOGP = np.log(np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]], np.float32))
TARGET = np.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]], np.float32)


def _warnings_of(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [(w.category, str(w.message)) for w in caught]


@pytest.mark.parametrize("call", [
    lambda L, x, t: L.nn.functional.kl_div(x, t),
    lambda L, x, t: L.nn.functional.kl_div(x, t, reduction="mean"),
    lambda L, x, t: L.nn.KLDivLoss()(x, t),
    lambda L, x, t: L.nn.functional.kl_div(x, t, reduction="batchmean"),
    lambda L, x, t: L.nn.functional.kl_div(x, t, reduction="sum", log_target=True),
    lambda L, x, t: L.nn.KLDivLoss(reduction="none")(x, t),
], ids=["default", "mean", "module", "batchmean", "sum_log_target", "module_none"])
def test_kl_div_warns_as_pytorch(backend, call):
    want, want_w = _warnings_of(lambda: call(torch, torch.tensor(LOGP), torch.tensor(TARGET)))
    got, got_w = _warnings_of(lambda: call(xpnn, xpnn.tensor(LOGP), xpnn.tensor(TARGET)))
    assert got_w == want_w
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.numpy(), rtol=1e-6, atol=1e-7)


def test_kl_div_legacy_arguments_warn_once_as_pytorch():
    """size_average=True picks "mean" through the deprecated pair: only that pair's warning,
    on either side."""
    _, want_w = _warnings_of(lambda: torch.nn.functional.kl_div(
        torch.tensor(LOGP), torch.tensor(TARGET), size_average=True))
    _, got_w = _warnings_of(lambda: xpnn.nn.functional.kl_div(
        xpnn.tensor(LOGP), xpnn.tensor(TARGET), size_average=True))
    assert len(got_w) == len(want_w) == 1
    assert "size_average and reduce args will be deprecated" in got_w[0][1]


def test_kl_div_warns_before_refusing_integers():
    """PyTorch warns about "mean", then refuses the integer target; so does xpnn."""
    for lib, error in ((torch, RuntimeError), (xpnn, TypeError)):
        with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
            with pytest.raises(error, match="kl_div|integral|Long"):
                lib.nn.functional.kl_div(lib.tensor(LOGP), lib.tensor([[0, 1, 0], [1, 0, 0]]))
