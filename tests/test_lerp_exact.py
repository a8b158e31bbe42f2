"""torch.lerp's values bit for bit: PyTorch computes A + W (E - A) by two formulas (the
second, E - (E - A)(1 - W), where |W| >= 0.5, so lerp(a, b, 1) is b) with fused
multiply-adds; xpnn takes each product and sum in float64 and rounds once, which is the same
for float32. Gradients and second derivatives agree too."""
import numpy as np
import pytest
from conftest import to_np

import xpnn

torch = pytest.importorskip("torch")


def _data(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n).astype(np.float32)
    b = (3 * rng.standard_normal(n)).astype(np.float32)
    w = rng.uniform(-0.5, 1.5, n).astype(np.float32)
    return a, b, w


def test_tensor_weight_matches_torch_bit_for_bit(backend):
    a, b, w = _data()
    want = torch.lerp(torch.tensor(a), torch.tensor(b), torch.tensor(w)).numpy()
    got = xpnn.lerp(*(xpnn.tensor(v, backend=backend) for v in (a, b, w)))
    np.testing.assert_array_equal(to_np(got), want)


@pytest.mark.parametrize("weight", [0.0, 0.25, 0.5, 0.75, 1.0, -0.3, 1.7])
def test_number_weight_matches_torch_bit_for_bit(weight, backend):
    a, b, _ = _data()
    want = torch.lerp(torch.tensor(a), torch.tensor(b), weight).numpy()
    got = xpnn.lerp(xpnn.tensor(a, backend=backend), xpnn.tensor(b, backend=backend), weight)
    np.testing.assert_array_equal(to_np(got), want)
    if weight == 1.0:  # the end itself, as torch (a + (b - a) is not always b)
        np.testing.assert_array_equal(to_np(got), b)


def test_in_place_and_method_forms_match(backend):
    a, b, w = _data(50)
    x = xpnn.tensor(a, backend=backend)
    x.lerp_(xpnn.tensor(b, backend=backend), 0.9)
    np.testing.assert_array_equal(to_np(x), torch.tensor(a).lerp_(torch.tensor(b), 0.9).numpy())


def test_gradients_and_second_derivatives_match_torch(backend):
    a, b, w = (v[:6].astype(np.float64) for v in _data(6, seed=1))
    ts = [torch.tensor(v, requires_grad=True) for v in (a, b, w)]
    xs = [xpnn.tensor(v, dtype=xpnn.float64, backend=backend, requires_grad=True)
          for v in (a, b, w)]
    (torch.lerp(*ts) ** 2).sum().backward()
    (xpnn.lerp(*xs) ** 2).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(to_np(x.grad), t.grad.numpy(), rtol=1e-12, atol=1e-12)
    f = lambda a, b, w: xpnn.lerp(a, b, w) ** 2  # noqa: E731
    assert xpnn.autograd.gradcheck(f, tuple(xs))
    assert xpnn.autograd.gradgradcheck(f, tuple(xs))


def test_integer_inputs_are_refused_as_torch(backend):
    x = xpnn.tensor([1, 2], backend=backend)
    with pytest.raises(RuntimeError):
        torch.lerp(torch.tensor([1, 2]), torch.tensor([3, 4]), 0.5)
    with pytest.raises(RuntimeError, match="lerp"):
        xpnn.lerp(x, xpnn.tensor([3, 4], backend=backend), 0.5)


@pytest.mark.parametrize("interpolation", ["linear", "midpoint"])
def test_quantile_matches_torch_bit_for_bit(interpolation, backend):
    # torch.quantile interpolates with lerp: the same formulas give the same values
    x = np.random.default_rng(2).standard_normal((500, 7)).astype(np.float32)
    q = [0.1, 0.25, 0.5, 0.7, 0.9]
    want = torch.quantile(torch.tensor(x), torch.tensor(q), dim=1,
                          interpolation=interpolation).numpy()
    got = xpnn.quantile(xpnn.tensor(x, backend=backend), xpnn.tensor(q, backend=backend),
                        dim=1, interpolation=interpolation)
    np.testing.assert_array_equal(to_np(got), want)
