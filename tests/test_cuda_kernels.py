"""CuPy's native kernels (xpnn.backend.Backend.kernel, cuBLAS products) against the portable
Array API code of the same ops on CuPy. Everything here skips without a CUDA GPU; the GPU
suite (ci/gpu.sh) runs it."""
import importlib

import numpy as np
import pytest

import xpnn
import xpnn.functional as F
from conftest import BACKENDS, native_tables
from xpnn import nn
from xpnn.functional import conv, linalg, loss, pool, recurrent

dropout = importlib.import_module("xpnn.functional.dropout")
pytestmark = pytest.mark.skipif("cupy" not in BACKENDS, reason="needs CuPy and a CUDA GPU")


@pytest.fixture
def cuda():
    xpnn.set_default_backend("cupy")
    xpnn.manual_seed(0)
    yield xpnn.backend.get_backend("cupy")
    xpnn.set_default_backend("numpy")


def twice(monkeypatch, run, *tables):
    """``run()`` with the native kernels, then with ``tables`` (module, name) emptied."""
    fast = run()
    for module, name in tables or native_tables():
        monkeypatch.setattr(module, name, {})
    return fast, run()


def assert_same(a, b, exact=True, rtol=0):
    for x, y in zip(a, b):
        if exact:
            np.testing.assert_array_equal(x, y)
        else:
            np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M,K,N", [(64, 300, 1024), (1, 7, 5), (5, 1, 3), (3, 4, 1), (33, 17, 9)])
def test_cublas_product_every_layout(cuda, dtype, M, K, N):
    """gemm._mm_cupy reads row- and column-major operands and offset views as they are."""
    cp, rng = cuda.lib, np.random.default_rng(0)
    a, b = rng.standard_normal((M + 2, K + 3)), rng.standard_normal((K + 1, N + 4))
    bias_n, bias_m = rng.standard_normal(N), rng.standard_normal(M)
    for A in (cp.asarray(a[:M, :K], dtype=dtype), cp.asarray(a[2:, 3:], dtype=dtype),
              cp.asarray(np.asfortranarray(a[:M, :K]), dtype=dtype),
              cp.asarray(a[:K, :M].T.copy(), dtype=dtype).T.T):
        for B in (cp.asarray(b[:K, :N], dtype=dtype), cp.asarray(b[1:, 4:], dtype=dtype),
                  cp.asarray(b[:N, :K].T, dtype=dtype)):
            if A.shape != (M, K) or B.shape != (K, N):
                continue
            tol = 1e-5 if dtype == "float32" else 1e-12
            want = cp.asnumpy(A).astype(np.float64) @ cp.asnumpy(B).astype(np.float64)
            np.testing.assert_allclose(linalg.mm2d(cuda, A, B).get(), want, rtol=tol,
                                       atol=tol * K)
            got = linalg.mm2d(cuda, A, B, cp.asarray(bias_n, dtype=dtype), 1).get()
            np.testing.assert_allclose(got, want + bias_n, rtol=tol, atol=tol * K)
            got = linalg.mm2d(cuda, A, B, cp.asarray(bias_m, dtype=dtype), 0).get()
            np.testing.assert_allclose(got, want + bias_m[:, None], rtol=tol, atol=tol * K)


@pytest.mark.parametrize("geo", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                 dict(kernel_size=2, ceil_mode=True),
                                 dict(kernel_size=2, stride=1),  # overlapping: portable bwd
                                 dict(kernel_size=(2, 3), stride=(2, 3), dilation=(2, 1)),
                                 dict(kernel_size=1)])
def test_max_pool_equals_portable(cuda, monkeypatch, geo):
    """Forward and input gradient bit for bit, on ties (ReLU zeros), NaN and padding."""
    rng = np.random.default_rng(1)
    x = np.maximum(np.round(rng.standard_normal((3, 4, 9, 11)), 1), 0).astype(np.float32)
    x[0, 0, 1, 1] = np.nan
    g = rng.standard_normal(F.max_pool2d(xpnn.tensor(x), **geo).shape).astype(np.float32)

    def run():
        t = xpnn.tensor(x, requires_grad=True)
        y = F.max_pool2d(t, **geo)
        y.backward(xpnn.tensor(g))
        return y.numpy(), t.grad.numpy()
    assert_same(*twice(monkeypatch, run, (pool, "MAX_POOL_FORWARD"),
                       (pool, "MAX_POOL_BACKWARD")))


def test_max_pool1d_equals_portable(cuda, monkeypatch):
    x = np.random.default_rng(2).standard_normal((2, 3, 10)).astype(np.float32)

    def run():
        t = xpnn.tensor(x, requires_grad=True)
        y = F.max_pool1d(t, 3, stride=3, padding=1)
        y.sum().backward()
        return y.numpy(), t.grad.numpy()
    assert_same(*twice(monkeypatch, run, (pool, "MAX_POOL_FORWARD"),
                       (pool, "MAX_POOL_BACKWARD")))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_col2im_equals_inplace_adds(cuda, monkeypatch, dtype):
    """The conv input gradient: CuPy's gather kernel sums each element's taps in the order
    col2im_inplace adds them, so the two agree bit for bit."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 9, 8)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)

    def run():
        t = xpnn.tensor(x, requires_grad=True)
        y = F.conv2d(t, xpnn.tensor(w), stride=2, padding=1, dilation=(1, 2))
        y.sum().backward()
        return (t.grad.numpy(),)
    fast = run()
    monkeypatch.setitem(conv.COL2IM, "cupy", conv.col2im_inplace)
    assert_same(fast, run())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_labels_equal_portable(cuda, monkeypatch, reduction, weighted):
    """Ignored rows, class weights, a -inf logit on a class no row names, an out-of-range
    label (NaN loss on a device, where PyTorch would raise after a sync)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((7, 5)).astype(np.float32)
    x[1, 3] = -np.inf
    y = np.array([0, 4, -100, 2, 2, 1, 7])
    w = rng.uniform(0.5, 2, 5).astype(np.float32) if weighted else None

    def run():
        t = xpnn.tensor(x, requires_grad=True)
        out = F.cross_entropy(t, xpnn.tensor(y), weight=None if w is None else xpnn.tensor(w),
                              reduction=reduction)
        out.sum().backward()
        return out.numpy(), t.grad.numpy()
    fast, portable = twice(monkeypatch, run, (loss, "CE_LABELS"))
    for a, b in zip(fast, portable):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7, equal_nan=True)
    if reduction == "none":  # the out-of-range row is NaN, the others are finite
        assert np.isnan(fast[0][6]) and np.isfinite(np.delete(fast[0], 6)).all()


def test_dropout_mask_and_relu_equal_portable(cuda, monkeypatch):
    x = np.random.default_rng(5).standard_normal((64, 33)).astype(np.float32)

    def run():
        xpnn.manual_seed(7)
        t = xpnn.tensor(x, requires_grad=True)
        y = F.dropout(F.relu(t), 0.3)
        y.sum().backward()
        return y.numpy(), t.grad.numpy()
    fast, portable = twice(monkeypatch, run, (dropout, "MASK"),
                           (importlib.import_module("xpnn.functional.activation"), "RELU"))
    assert_same(fast, portable)
    kept = (fast[0] != 0).mean()
    assert 0.3 < kept < 0.45  # half the inputs are positive, 70% of those kept


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_cell_equals_portable(cuda, monkeypatch, bidirectional):
    """Outputs, final states and every gradient; and under no_grad (nothing saved)."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)

    def run():
        xpnn.manual_seed(0)
        lstm = nn.LSTM(4, 6, num_layers=2, bidirectional=bidirectional)
        t = xpnn.tensor(x, requires_grad=True)
        y, (h, c) = lstm(t)
        (y.sum() + 2 * h.sum() + 3 * c.sum()).backward()
        with xpnn.no_grad():
            y2 = lstm(t)[0]
        return [y.numpy(), h.numpy(), c.numpy(), t.grad.numpy(), y2.numpy()] + \
            [p.grad.numpy() for p in lstm.parameters()]
    fast, portable = twice(monkeypatch, run, (recurrent, "LSTM_CELL"))
    assert_same(fast, portable, exact=False, rtol=2e-6)
