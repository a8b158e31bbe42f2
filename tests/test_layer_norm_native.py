"""NumPy's layer norm kernels (norm_layer.LAYER_NORM: row sums by BLAS matrix-vector
products, products summed by einsum) against PyTorch and against the portable code, over
the cases they take and the ones they hand back: float32 and float64, weight and bias
each present or not, one or two normalized dims, a batch of one row, strided inputs and
an empty batch (portable code), and second derivatives (recorded ops, unchanged)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402
from xpnn.functional import norm_layer  # noqa: E402

from conftest import to_np  # noqa: E402

RNG = np.random.default_rng(11)


def _run(lib, x, shape, affine, dtype, strided=False):
    xt = lib.tensor(x, dtype=dtype, requires_grad=True)
    src = xt.transpose(0, 1) if strided else xt
    D = int(np.prod(shape))
    w = lib.tensor(RNG.standard_normal(shape) if "w" in affine else np.ones(shape),
                   dtype=dtype, requires_grad=True) if "w" in affine else None
    b = lib.tensor(RNG.standard_normal(shape), dtype=dtype, requires_grad=True) \
        if "b" in affine else None
    y = lib.nn.functional.layer_norm(src, shape, w, b, eps=1e-5)
    g = lib.tensor(np.cos(np.arange(y.numel()).reshape(tuple(y.shape))) * D, dtype=dtype)
    y.backward(g)
    conv = to_np if lib is xpnn else (lambda t: t.detach().numpy())
    return [conv(y), conv(xt.grad)] + [conv(p.grad) for p in (w, b) if p is not None]


CASES = [((3, 5, 8), (8,)), ((4, 6, 5), (6, 5)), ((1, 16), (16,)), ((0, 7), (7,)),
         ((7,), (7,))]


@pytest.mark.parametrize("dims,shape", CASES)
@pytest.mark.parametrize("affine", ["", "w", "b", "wb"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_norm_matches_torch(dims, shape, affine, dtype):
    x = RNG.standard_normal(dims) * 3 + 1
    state = RNG.bit_generator.state
    want = _run(torch, x, shape, affine, getattr(torch, dtype))
    RNG.bit_generator.state = state  # the same weights for xpnn
    got = _run(xpnn, x, shape, affine, getattr(xpnn, dtype))
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == "float32" else dict(rtol=1e-11, atol=1e-11)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, **tol)


def test_strided_input_takes_the_portable_code():
    x = RNG.standard_normal((5, 4, 6))
    state = RNG.bit_generator.state
    want = _run(torch, x, (6,), "wb", torch.float32, strided=True)
    RNG.bit_generator.state = state
    got = _run(xpnn, x, (6,), "wb", xpnn.float32, strided=True)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("affine", ["", "wb"])
def test_native_equals_portable(monkeypatch, affine):
    """The kernels give the portable code's values to float32 rounding (other summation
    orders)."""
    x = RNG.standard_normal((64, 32)).astype(np.float32)
    state = RNG.bit_generator.state
    fast = _run(xpnn, x, (32,), affine, xpnn.float32)
    monkeypatch.setattr(norm_layer, "LAYER_NORM", {})
    RNG.bit_generator.state = state
    portable = _run(xpnn, x, (32,), affine, xpnn.float32)
    for a, b in zip(fast, portable):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-5)


def test_double_backward_as_torch():
    x = RNG.standard_normal((3, 6))
    outs = []
    for lib in (torch, xpnn):
        xt = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        w = lib.tensor(np.linspace(0.5, 2, 6), dtype=lib.float64, requires_grad=True)
        y = lib.nn.functional.layer_norm(xt, (6,), w, None)
        gx, = lib.autograd.grad((y ** 3).sum(), xt, create_graph=True)
        gg, = lib.autograd.grad((gx ** 2).sum(), xt)
        outs.append(to_np(gg) if lib is xpnn else gg.numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-9, atol=1e-10)
