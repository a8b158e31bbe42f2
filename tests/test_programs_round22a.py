"""Checks found while writing the round-22a tutorial programs (tests/pytorch_programs/
tutorials/neural_hash_grid.py, gflownet_trajectory_balance.py, snn_surrogate_gradient.py,
deep_kernel_learning_gp.py, cutmix_augmentation.py).

* ``torch.linspace`` values differed from PyTorch's in the last bit: xpnn took
  ``numpy.linspace``'s start + i * step, while PyTorch's CPU kernel forms the step in the
  output dtype and fills the first half as start + step * i and the second half as
  end - step * (steps - 1 - i), each by a fused multiply-add. The spiking-network program's
  ``spike_fn(torch.linspace(-0.3, 0.3, 7))`` fires at the middle point on PyTorch (its value
  is 7.45e-09) and did not on xpnn (0.0). xpnn/creation_ranges.py now builds float32 and
  float64 ranges PyTorch's way (the multiply-adds from grid.py's exact ``_fma``, rounded to
  the dtype once): bit for bit equal on random ranges.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402
from xpnn.backend import dtype_name  # noqa: E402


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linspace_is_pytorchs_bit_for_bit(backend, dtype):
    """Random ranges (symmetric ones, rounded ends, lengths 1 to 300) equal PyTorch's values
    exactly, in the dtype asked for."""
    rng = np.random.default_rng(22)
    for k in range(150):
        a, b = (float(v) for v in rng.uniform(-10, 10, 2))
        n = int(rng.integers(1, 300))
        if k % 3 == 0:
            a, b = round(a, 1), round(b, 1)
        if k % 5 == 0:
            a = -b
        got = xpnn.linspace(a, b, n, dtype=getattr(xpnn, dtype))
        want = torch.linspace(a, b, n, dtype=getattr(torch, dtype))
        assert dtype_name(got.dtype) == dtype and tuple(got.shape) == (n,)
        np.testing.assert_array_equal(to_np(got), want.numpy(), err_msg=f"{a}, {b}, {n}")


def test_linspace_symmetric_middle_as_pytorch(backend):
    """The program's case: the middle of linspace(-0.3, 0.3, 7) is PyTorch's small positive
    float32 (so a Heaviside spike fires there), and the default dtype is float32."""
    got = xpnn.linspace(-0.3, 0.3, 7)
    want = torch.linspace(-0.3, 0.3, 7)
    assert dtype_name(got.dtype) == "float32"
    np.testing.assert_array_equal(to_np(got), want.numpy())
    assert (to_np(got) > 0).tolist() == (want > 0).tolist()
    # the endpoints exactly, a single step, and tensors as ends, as PyTorch
    np.testing.assert_array_equal(to_np(xpnn.linspace(2.5, 2.5, 1)), [2.5])
    ends = to_np(xpnn.linspace(xpnn.tensor(-1.3), xpnn.tensor(0.7), 11))
    np.testing.assert_array_equal(ends, torch.linspace(torch.tensor(-1.3),
                                                       torch.tensor(0.7), 11).numpy())
    assert ends[0] == np.float32(-1.3) and ends[-1] == np.float32(0.7)
