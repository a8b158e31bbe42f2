"""Checks found while writing the round-12 tutorial programs (tests/pytorch_programs/tutorials/
wavenet.py, neural_ca.py, yolo_mini.py, training_boilerplate.py, sac_continuous.py).

* ``F.binary_cross_entropy_with_logits(x, t, pos_weight=torch.tensor(4.0))`` (a 0-d
  float32 pos_weight, as the box detector writes it) returned a float64 loss on NumPy: the
  secondary-argument coercion (xpnn/autograd/coerce.py, ``raw``) turned every 0-d NumPy
  array into a Python number, the 0-d Tensor's array included, and NumPy made that float
  back into a float64 array. A Tensor's array now keeps its dtype; a NumPy scalar passed as
  host data still counts as a number.
* ``Tensor.is_inference()`` / ``torch.is_inference`` were always False: tensors made under
  ``inference_mode`` are now marked (a view follows its base, as PyTorch's rule), so a
  training script that prints ``pred.is_inference()`` after ``torch.inference_mode`` prints
  what PyTorch prints (their refusals in autograd: tests/test_inference_tensors.py).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402
import xpnn.nn.functional as F  # noqa: E402

from conftest import to_np  # noqa: E402
from xpnn.backend import dtype_name  # noqa: E402

RNG = np.random.default_rng(12)
X = RNG.standard_normal((4, 3, 3)).astype(np.float32)
T = (RNG.random((4, 3, 3)) > 0.6).astype(np.float32)
EPS32 = float(np.finfo(np.float32).eps)


@pytest.mark.parametrize("pos_weight", [4.0, [0.5, 2.0, 3.0]], ids=["0-d", "per-class"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_pos_weight_keeps_float32(backend, pos_weight, reduction):
    """A float32 pos_weight Tensor (0-d or per class) gives a float32 loss and gradient equal
    to PyTorch's (float32: 16 eps relative)."""
    x = xpnn.tensor(X, requires_grad=True)
    got = F.binary_cross_entropy_with_logits(x, xpnn.tensor(T), reduction=reduction,
                                             pos_weight=xpnn.tensor(pos_weight))
    tx = torch.tensor(X, requires_grad=True)
    want = torch.nn.functional.binary_cross_entropy_with_logits(
        tx, torch.tensor(T), reduction=reduction, pos_weight=torch.tensor(pos_weight))
    assert dtype_name(got.dtype) == "float32" and tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(to_np(got), want.detach().numpy(), rtol=16 * EPS32,
                               atol=16 * EPS32)
    got.sum().backward()
    want.sum().backward()
    assert dtype_name(x.grad.dtype) == "float32"
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=16 * EPS32,
                               atol=16 * EPS32)


def test_bce_with_logits_pos_weight_0d_gradcheck(host_backend):
    """The 0-d pos_weight path in float64: finite differences agree (xpnn.gradcheck)."""
    t = xpnn.tensor(T, dtype=xpnn.float64)
    pw = xpnn.tensor(4.0, dtype=xpnn.float64)
    x = xpnn.tensor(X, dtype=xpnn.float64, requires_grad=True)
    assert xpnn.gradcheck(
        lambda v: F.binary_cross_entropy_with_logits(v, t, pos_weight=pw), (x,))


def test_bce_with_logits_module_pos_weight_0d(backend):
    """nn.BCEWithLogitsLoss(pos_weight=tensor(4.0)) keeps float32 too (its buffer)."""
    loss = xpnn.nn.BCEWithLogitsLoss(pos_weight=xpnn.tensor(4.0))(xpnn.tensor(X),
                                                                  xpnn.tensor(T))
    want = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(4.0))(torch.tensor(X),
                                                                    torch.tensor(T))
    assert dtype_name(loss.dtype) == "float32"
    assert loss.item() == pytest.approx(want.item(), rel=16 * EPS32)


def _inference_flags(lib):
    a, p = lib.ones(3), lib.nn.Parameter(lib.ones(2))
    with lib.inference_mode():
        made, view_of_normal, created = a * 2, a[1:], lib.zeros(2)
        view_of_inference = made[:1]
        with lib.inference_mode(False):
            inside_off = a + 1
    with lib.no_grad():
        under_no_grad = a + 1

    @lib.inference_mode()
    def decorated():
        return a + 1
    return (a.is_inference(), made.is_inference(), view_of_normal.is_inference(),
            created.is_inference(), view_of_inference.is_inference(),
            inside_off.is_inference(), under_no_grad.is_inference(), p.is_inference(),
            lib.is_inference(made), decorated().is_inference())


def test_is_inference_marks_tensors_made_under_inference_mode(backend):
    """Tensors made under inference_mode are inference tensors, views follow their base,
    as PyTorch's (the same ten flags)."""
    assert _inference_flags(xpnn) == _inference_flags(torch)
