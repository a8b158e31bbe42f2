"""xpnn.cpu: the thread policy's switches, and kernels split over threads == one thread.

The split kernels (matrix products cut into blocks, elementwise kernels over pieces of
memory, im2col/col2im by channel, Adam over pieces of the parameters) must give the very
same numbers as the unsplit ones: the tests force a split into 3 by making every kernel
believe it has 3 threads, and compare bitwise.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import xpnn
import xpnn.functional as F
from conftest import BACKENDS
from xpnn import cpu, nn, optim


def _run(code, **env):
    e = {k: v for k, v in os.environ.items() if k not in (
        "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "XPNN_NUM_THREADS",
        "XPNN_MALLOC", "GOTO_NUM_THREADS", "BLIS_NUM_THREADS", "OPENBLAS_CORETYPE",
        "XPNN_OPENBLAS_CORETYPE")}
    e.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e)


@pytest.fixture
def restore_policy():
    """Leave the policy as the suite had it (the conftest's threadpoolctl limit wins)."""
    saved = dict(vars(cpu._policy))
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    yield
    vars(cpu._policy).update(saved)
    if torch is not None:
        torch.set_num_threads(torch_threads)
    blas = cpu._policy._blas()
    if blas is not None and saved["mode"] == "external":
        blas.set(1)


def test_set_and_get_num_threads(restore_policy):
    xpnn.set_num_threads(1)
    assert xpnn.get_num_threads() == 1 and cpu.thread_policy() == "fixed"
    xpnn.set_num_threads(3)
    assert xpnn.get_num_threads() == 3
    xpnn.set_num_threads("auto")
    assert cpu.thread_policy() == "auto"
    assert 1 <= xpnn.get_num_threads() <= cpu.cores()


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "two", None])
def test_set_num_threads_rejects(bad, restore_policy):
    with pytest.raises(ValueError, match="set_num_threads: n must be an int >= 1 or 'auto'"):
        xpnn.set_num_threads(bad)


def test_environment_switches():
    code = "import xpnn, xpnn.cpu as c; print(c.thread_policy(), xpnn.get_num_threads())"
    assert _run(code, XPNN_NUM_THREADS="3").stdout.split() == ["fixed", "3"]
    assert _run(code, XPNN_NUM_THREADS="auto").stdout.split()[0] == "auto"
    assert _run(code).stdout.split()[0] == "auto"
    assert _run(code, OMP_NUM_THREADS="1").stdout.split()[0] == "external"
    bad = _run(code, XPNN_NUM_THREADS="lots")
    assert bad.returncode != 0 and "XPNN_NUM_THREADS must be a positive int" in bad.stderr


def test_allocator_switch():
    code = "import xpnn.cpu as c; print(c.allocator_tuned)"
    assert _run(code, XPNN_MALLOC="default").stdout.strip() == "False"
    assert _run(code, MALLOC_TRIM_THRESHOLD_="1000000").stdout.strip() == "False"
    expect = "True" if os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc") else "False"
    assert _run(code).stdout.strip() == expect


def test_want_follows_other_processes():
    p = cpu.policy._Policy.__new__(cpu.policy._Policy)
    p.cores = 2
    assert p._want(0.0) == 2 and p._want(0.45) == 2
    assert p._want(0.55) == 1 and p._want(1.0) == 1 and p._want(5.0) == 1
    p.cores = 8
    assert p._want(0.0) == 8 and p._want(2.2) == 6 and p._want(7.9) == 1


def test_threadpoolctl_limit_wins():
    code = ("import time, xpnn, xpnn.cpu as c\n"
            "from threadpoolctl import threadpool_limits\n"
            "threadpool_limits(1)\n"
            "time.sleep(0.2)\n"
            "xpnn.nn.Linear(3, 3)(xpnn.randn(2, 3))\n"
            "print(c.thread_policy(), xpnn.get_num_threads())")
    pytest.importorskip("threadpoolctl")
    out = _run(code).stdout.split()
    if out and out[0] == "auto":  # no BLAS found to control (not a shared OpenBLAS/MKL)
        pytest.skip("no controllable BLAS")
    assert out == ["external", "1"]


def test_parallel_runs_all_and_raises():
    hits = []
    cpu.parallel([lambda i=i: hits.append(i) for i in range(3)])
    assert sorted(hits) == [0, 1, 2]

    def boom():
        raise KeyError("helper")
    with pytest.raises(KeyError, match="helper"):
        cpu.parallel([boom, lambda: None])
    cpu.parallel([lambda: None, lambda: None])  # the pool still works after an error


@pytest.mark.parametrize("spinlocks", [True, False])
def test_pool_waits_with_and_without_spinlocks(monkeypatch, spinlocks):
    """A fresh pool's callers wait for their helpers on a spinlock, or where the C library
    has none (macOS, Windows) on a polled lock: both run every task and pass errors on."""
    if spinlocks and cpu.pool._SPIN is None:
        pytest.skip("no pthread spinlocks here")
    if not spinlocks:
        monkeypatch.setattr(cpu.pool, "_SPIN", None)
    monkeypatch.setattr(cpu.pool, "_pool", cpu.pool._Pool())
    for _ in range(50):
        hits = []
        cpu.parallel([lambda i=i: hits.append(i) for i in range(3)])
        assert sorted(hits) == [0, 1, 2]
    assert all(isinstance(w.done, cpu.pool._SpinLock if spinlocks else cpu.pool._PolledLock)
               for w in cpu.pool._pool.workers)
    with pytest.raises(ValueError, match="helper"):
        cpu.parallel([lambda: (_ for _ in ()).throw(ValueError("helper")), lambda: None])


def test_chunks():
    assert cpu.chunks(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert cpu.chunks(100, 2, 16) == [(0, 48), (48, 100)]
    assert cpu.chunks(33, 3, 16) == [(0, 16), (16, 33)]  # no piece under 16
    assert cpu.chunks(7, 2, 16) == [(0, 7)]
    assert cpu.chunks(5, 8) == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert cpu.chunks(0, 4) == []


def test_flat_views_follow_memory_order():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    chwn = np.transpose(np.ascontiguousarray(np.transpose(a, (1, 2, 0))), (2, 0, 1))
    va, vb = cpu.flat_views(chwn, np.empty_like(chwn))
    assert va.base is not None and np.shares_memory(va, chwn)
    assert cpu.flat_views(a, chwn) is None  # different memory orders
    assert cpu.flat_views(a[:, :, ::2]) is None  # gaps


def _force_three(monkeypatch, threads=3):
    """Every matrix product cut into 3 blocks (``blocks``) and every kernel run on
    ``threads`` threads (``workers``), however small: 1 runs all the blocks on the caller.
    Both are read from xpnn.cpu by the ops and inside xpnn.cpu.pool by its split helpers."""
    def run_on(work, grain=1):
        return threads if work and not getattr(cpu.pool._region, "inside", False) else 1
    monkeypatch.setattr(cpu, "workers", run_on)
    monkeypatch.setattr(cpu.pool, "workers", run_on)
    monkeypatch.setattr(cpu.pool, "blocks", lambda work, grain=1: 3 if work else 1)


@pytest.fixture
def three_threads(monkeypatch):
    _force_three(monkeypatch)


def _cnn_step(seed=0):
    xpnn.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 2 * 2, 5))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(seed)
    x = xpnn.tensor(rng.standard_normal((7, 3, 8, 8)).astype(np.float32))
    y = xpnn.tensor(rng.integers(0, 5, 7))
    for _ in range(2):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return [p.numpy().copy() for p in model.parameters()] + [loss.numpy()]


def test_split_kernels_equal_one_thread(monkeypatch):
    _force_three(monkeypatch, threads=1)
    one = _cnn_step()
    _force_three(monkeypatch)
    three = _cnn_step()
    for a, b in zip(one, three):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_gemm_layouts_read_by_cublas():
    """How gemm._mm_cupy hands a row-major operand to column-major cuBLAS, decided from
    shape and strides alone (so NumPy arrays stand in for CuPy's here): unit-stride rows are
    read as the transpose ("N"), unit-stride columns as the matrix ("T"), with the leading
    dimension the other stride; anything else (a step in both axes) is refused."""
    from xpnn.functional.linalg import _gemm_layout
    a = np.zeros((6, 10), dtype=np.float32)
    assert _gemm_layout(a) == (0, 10)
    assert _gemm_layout(a[1:, 3:]) == (0, 10)  # an offset view keeps its row stride
    assert _gemm_layout(a.T) == (1, 10)
    assert _gemm_layout(np.asfortranarray(a)) == (1, 6)
    assert _gemm_layout(a[:, ::2]) is None and _gemm_layout(a[::2, ::2].T) is None
    assert _gemm_layout(np.zeros((1, 5), np.float64)) == (0, 5)
    assert _gemm_layout(np.zeros((5, 1), np.float64)) == (0, 1)


@pytest.mark.parametrize("shape", [(5, 7, 9), (40, 3, 2), (1, 1, 1), (33, 64, 17),
                                   (64, 784, 256), (64, 288, 1000), (130, 500, 47),
                                   (64, 1000, 288), (32, 9, 3000), (3000, 64, 40)])
def test_split_matmul_same_bits_on_any_thread_count(monkeypatch, shape):
    """A product cut into 3 blocks: the same bits whether 3 threads or 1 run the blocks,
    and the product (a BLAS may round a row by where it falls in a call, so one call can
    differ from the blocks in the last bit)."""
    from xpnn.functional.linalg import mm2d, reused
    be = xpnn.get_backend("numpy")
    M, K, N = shape
    rng = np.random.default_rng(1)
    A = rng.standard_normal((M, K)).astype(np.float32)
    B = rng.standard_normal((N, K)).astype(np.float32).T  # a transposed view, as in linear
    for bias, dim in ((None, 1), (rng.standard_normal(N).astype(np.float32), 1),
                      (rng.standard_normal(M).astype(np.float32), 0)):
        want = A.astype(np.float64) @ B.astype(np.float64)
        if bias is not None:
            want += bias if dim == 1 else bias[:, None]
        kept = reused(be, B)  # contiguous copies of its column blocks, made at first use
        got = []
        for threads in (3, 1):
            _force_three(monkeypatch, threads)
            for rhs in (B, kept, kept):
                got.append(mm2d(be, A, rhs, bias, dim))
                assert got[-1].dtype == np.float32 and got[-1].shape == (M, N)
                np.testing.assert_allclose(got[-1], want, rtol=1e-4, atol=1e-4 * np.sqrt(K))
        for g in got[1:]:
            np.testing.assert_array_equal(g, got[0])


@pytest.mark.parametrize("shape", [(256, 256, 256), (64, 784, 300), (300, 40, 2000),
                                   (32, 48, 40)])
def test_product_pairs_equal_single_calls(two_threads, shape):
    """A linear layer's dX and dW, run at once on two threads (each whole), or split when a
    pair does not pay: the bits of single calls either way."""
    from xpnn.functional.linalg import _pair_pays, mm2d_pair
    be = xpnn.get_backend("numpy")
    b, i, o = shape
    rng = np.random.default_rng(4)
    dY, W, X = (rng.standard_normal(s).astype(np.float32) for s in ((b, o), (o, i), (b, i)))
    pairs = _pair_pays(dY, W) and _pair_pays(dY.T, X)
    assert pairs == (shape != (32, 48, 40))  # too little work to hand off
    dX, dW = mm2d_pair(be, dY, W, dY.T, X)
    np.testing.assert_array_equal(dX, dY @ W)
    np.testing.assert_array_equal(dW, dY.T @ X)


_THREAD_COUNT_CODE = """
import numpy as np, xpnn, xpnn.nn as nn
from xpnn.functional.linalg import mm2d, mm2d_pair, mm2d_start, reused
xpnn.cpu._policy.cores = 2  # products cut for 2 cores, also on a 1-core machine
be, rng = xpnn.get_backend("numpy"), np.random.default_rng(0)
def products(M, K, N):
    A = rng.standard_normal((M, K)).astype(np.float32)
    W = rng.standard_normal((N, K)).astype(np.float32)
    return lambda: (mm2d(be, A, W.T), mm2d(be, A, reused(be, np.ascontiguousarray(W.T))),
                    mm2d_start(be, A, W.T)(), *mm2d_pair(be, A, W.T, A, W.T))
def training(kind):
    xpnn.manual_seed(0)
    if kind == "mlp":
        m = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        x, y = xpnn.randn(1024, 784), xpnn.randint(0, 10, (1024,))
        loss = lambda: nn.functional.cross_entropy(m(x), y)
    else:
        m, x = nn.LSTM(64, 256), xpnn.randn(8, 64, 64)
        loss = lambda: m(x)[0].square().mean()
    opt = xpnn.optim.Adam(m.parameters())
    for _ in range(2):
        opt.zero_grad(); loss().backward(); opt.step()
    return [p.numpy() for p in m.parameters()]
runs = [products(*s) for s in ((1024, 784, 256), (256, 1024, 784), (64, 321, 1024),
                               (4096, 256, 96))]
runs += [lambda k=k: training(k) for k in ("mlp", "lstm")]
for i, run in enumerate(runs):
    got = []
    for n in (1, 2):
        xpnn.set_num_threads(n)
        with xpnn.cpu.pool.hot():
            got.append(run())
    for a, b in zip(*got):
        assert np.array_equal(a, b), f"run {i}: 1 and 2 threads differ"
print("same bits", xpnn.cpu.blas_coretype)
"""


def _has_avx2():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx2" in flags and "fma" in flags


@pytest.mark.parametrize("coretype", [None, "Haswell"])
def test_thread_count_does_not_change_bits(coretype):
    """Products and training steps give the same bits on 1 and 2 threads, with the BLAS
    kernels OpenBLAS (or xpnn) picks here and with OpenBLAS's AVX2 ("Haswell") ones, which
    round a row or column by where it falls in a call: cut a product at the load's thread
    count and results followed the load (the cut is fixed by shape and cores instead; see
    xpnn.cpu.pool.blocks). A fresh process, so that the kernel choice holds."""
    if coretype and not _has_avx2():
        pytest.skip("OpenBLAS's Haswell kernels need AVX2 and FMA")
    env = {"OPENBLAS_CORETYPE": coretype} if coretype else {}
    r = _run(_THREAD_COUNT_CODE, **env)
    assert r.returncode == 0 and "same bits" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("hot", [False, True])
def test_started_region_runs_while_the_caller_works(two_threads, hot):
    """cpu.pool.start: the helpers' tasks run before the caller asks for the result (the
    caller waits here for one to have run), errors come out of the function it returned,
    other regions run inline meanwhile, and the pool is free again afterwards."""
    import contextlib
    import threading
    with cpu.pool.hot() if hot else contextlib.nullcontext():
        for _ in range(20):
            ran, hits = threading.Event(), []
            finish = cpu.pool.start([ran.set, lambda: hits.append("caller")])
            assert ran.wait(5), "the helper's task did not start before finish()"
            assert hits == []  # the caller's task waits for finish()
            cpu.parallel([lambda: hits.append(1), lambda: hits.append(2)])  # inline
            finish()
            assert sorted(hits, key=str) == [1, 2, "caller"]

        def boom():
            raise KeyError("started helper")
        finish = cpu.pool.start([boom, lambda: None])
        with pytest.raises(KeyError, match="started helper"):
            finish()
        hits = []
        cpu.parallel([lambda: hits.append(1), lambda: hits.append(2)])
        assert sorted(hits) == [1, 2]
    assert not cpu.pool._pool.busy.locked()


@pytest.mark.parametrize("shape", [(64, 321, 1024), (300, 200, 64), (33, 64, 17),
                                   (5, 7, 9)])
def test_started_products_same_bits_on_any_thread_count(monkeypatch, shape):
    """gemm.mm2d_start: the caller's block is smaller by ``lead`` (the LSTM's, and none);
    the bits do not depend on the thread count; the function returns the same product on
    every call."""
    from xpnn.functional.linalg import mm2d_start, reused
    from xpnn.functional.recurrent import SAVING_LEAD
    be = xpnn.get_backend("numpy")
    M, K, N = shape
    rng = np.random.default_rng(5)
    A = rng.standard_normal((M, K)).astype(np.float32)
    B = rng.standard_normal((K, N)).astype(np.float32)
    want = A.astype(np.float64) @ B
    for rhs, lead in ((B, 0.0), (reused(be, B), SAVING_LEAD), (B.T.copy().T, SAVING_LEAD)):
        got = []
        for threads in (3, 1):
            _force_three(monkeypatch, threads)
            result = mm2d_start(be, A, rhs, lead)
            got.append(result())
            assert result() is got[-1]
            np.testing.assert_allclose(got[-1], want, rtol=1e-4, atol=1e-4 * np.sqrt(K))
        np.testing.assert_array_equal(got[0], got[1])


def test_started_product_left_by_an_exception(two_threads):
    """An error between mm2d_start and its result (the LSTM loop's ``finally`` calls it):
    the helpers finish, and the hot region ends and starts again cleanly."""
    from xpnn.functional.linalg import mm2d_start
    be = xpnn.get_backend("numpy")
    A = np.ones((64, 512), np.float32)
    B = np.ones((512, 1024), np.float32)
    with pytest.raises(ValueError, match="mid-step"):
        with cpu.pool.hot():
            result = mm2d_start(be, A, B)
            try:
                raise ValueError("mid-step")
            finally:
                result()
    assert cpu.pool._pool.spinning == [] and not cpu.pool._pool.busy.locked()
    with cpu.pool.hot():
        np.testing.assert_array_equal(mm2d_start(be, A, B)(), A @ B)


def test_split_relu_on_conv_layout(three_threads):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((6, 5, 4, 3)).astype(np.float32)
    chwn = np.transpose(np.ascontiguousarray(np.transpose(a, (1, 2, 3, 0))), (3, 0, 1, 2))
    x = xpnn.tensor(chwn, requires_grad=True)
    y = F.relu(x)
    y.backward(xpnn.tensor(a))
    np.testing.assert_array_equal(y.numpy(), np.maximum(a, 0))
    np.testing.assert_array_equal(x.grad.numpy(), a * (a > 0))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7,), (3, 5, 7), (1 << 15,), (70001,), (300, 1000)])
def test_relu_blocks_equal_maximum_bitwise(three_threads, dtype, shape):
    """NumPy's ReLU compares block by block against an array of zeros (faster than
    maximum(x, 0)): the same bits, NaN, infinities and signed zeros included, for every
    layout and for sizes that split over threads or end in a partial block."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal(shape).astype(dtype)
    flat = a.reshape(-1)
    flat[::7], flat[1::11], flat[2::13], flat[3::17] = np.nan, -0.0, -np.inf, np.inf
    flat[4::19] = -np.nan
    for x in (a, a.T, a[..., ::2]):
        got = F.relu(xpnn.from_numpy(x)).numpy()
        want = np.maximum(x, 0)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(np.ascontiguousarray(got).view(np.uint8),
                                      np.ascontiguousarray(want).view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7,), (3, 5, 7), (70001,), (300, 1000)])
def test_relu_gradient_equals_portable_and_torch(three_threads, monkeypatch, dtype, shape):
    """NumPy's ReLU backward (a multiply by output != 0: the output is never negative)
    gives the portable code's bits and PyTorch's threshold_backward: the gradient passes
    where the input is positive, +inf or NaN, and stops at -0.0, 0 and negatives."""
    from xpnn.functional import activation
    rng = np.random.default_rng(5)
    a = rng.standard_normal(shape).astype(dtype)
    flat = a.reshape(-1)
    flat[::7], flat[1::11], flat[2::13], flat[3::17] = np.nan, -0.0, -np.inf, np.inf
    flat[5::23] = 0.0
    g = rng.standard_normal(shape).astype(dtype)
    got = []
    for tables in (activation.RELU, {}):
        monkeypatch.setattr(activation, "RELU", tables)
        x = xpnn.from_numpy(a.copy()).requires_grad_()
        F.relu(x).backward(xpnn.from_numpy(g))
        got.append(x.grad.numpy())
    np.testing.assert_array_equal(got[0].view(np.uint8), got[1].view(np.uint8))
    torch = pytest.importorskip("torch")
    xt = torch.tensor(a, requires_grad=True)
    torch.relu(xt).backward(torch.tensor(g))
    np.testing.assert_array_equal(got[0], xt.grad.numpy())


def _sequence_steps(kind, seed=0):
    xpnn.manual_seed(seed)
    if kind == "lstm":
        body = nn.LSTM(8, 32, batch_first=True)
    else:
        body = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, dim_feedforward=32,
                                                                dropout=0.0,
                                                                batch_first=True), 1)
    width = 8 if kind == "lstm" else 16
    model = nn.ModuleDict({"embed": nn.Embedding(11, width), "body": body,
                           "head": nn.Linear(32 if kind == "lstm" else 16, 11)})
    opt = optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(seed)
    ids = xpnn.tensor(rng.integers(0, 11, (6, 9)))
    for _ in range(2):
        opt.zero_grad()
        h = model["embed"](ids)
        h = model["body"](h)[0] if kind == "lstm" else model["body"](h)
        out = model["head"](h)
        loss = F.cross_entropy(out.reshape(-1, 11), ids.reshape(-1))
        loss.backward()
        opt.step()
    return [p.numpy().copy() for p in model.parameters()] + [loss.numpy()]


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_split_sequence_models_equal_one_thread(monkeypatch, kind):
    _force_three(monkeypatch, threads=1)
    one = _sequence_steps(kind)
    _force_three(monkeypatch)
    three = _sequence_steps(kind)
    for a, b in zip(one, three):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["cnn", "lstm", "transformer"])
@pytest.mark.parametrize("native", [b for b in BACKENDS if b in ("numpy", "cupy")])
def test_native_kernels_equal_portable(monkeypatch, kind, native):
    """NumPy's native kernels (split products, ReLU, max pooling, im2col/col2im, the conv
    bias gradient, Adam) and CuPy's (Adam, the LSTM cell, cuDNN convolution where CuPy has
    it) against the portable Array API code of the same ops on the same backend: two
    training steps agree to float32 rounding (the portable code sums in other orders)."""
    from conftest import native_tables

    def steps():
        xpnn.set_default_backend(native)
        try:
            return _cnn_step() if kind == "cnn" else _sequence_steps(kind)
        finally:
            xpnn.set_default_backend("numpy")
    fast = steps()
    for module, name in native_tables():
        monkeypatch.setattr(module, name, {})
    portable = steps()
    # CUDA's kernels fuse multiply-adds and CuPy's tanh/exp round otherwise than its
    # separate operators: float32 rounding that Adam's m / sqrt(v) amplifies in places
    rtol, atol = (2e-5, 2e-6) if native == "numpy" else (1e-4, 1e-5)
    for i, (a, b) in enumerate(zip(fast, portable)):
        if kind == "transformer" and a.shape == (48,):
            # in_proj_bias: the keys' bias (16:32) gets a gradient that is 0 in exact
            # arithmetic (softmax ignores a shift per query), so rounding noise that Adam
            # scales up to steps of any size
            a, b = np.delete(a, np.s_[16:32]), np.delete(b, np.s_[16:32])
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"parameter {i}")


@pytest.fixture
def two_threads(restore_policy):
    """The policy fixed at 2 threads (on a 1-core machine hot() stands back: skip)."""
    if cpu.cores() < 2 or cpu.pool._SPIN is None:
        pytest.skip("hot regions need 2 cores and pthread spinlocks")
    xpnn.set_num_threads(2)


def test_hot_region_runs_tasks_and_raises(two_threads):
    pool = cpu.pool._pool
    with cpu.pool.hot():
        assert len(pool.spinning) == 1
        with cpu.pool.hot():  # nested: the outer region stays in charge
            assert len(pool.spinning) == 1
        for _ in range(50):
            hits = []
            cpu.parallel([lambda i=i: hits.append(i) for i in range(3)])  # 3 tasks, 1 helper
            assert sorted(hits) == [0, 1, 2]

        def boom():
            raise KeyError("spinning helper")
        with pytest.raises(KeyError, match="spinning helper"):
            cpu.parallel([boom, lambda: None])
        with pytest.raises(KeyError, match="spinning helper"):
            cpu.parallel([lambda: None, boom])
        cpu.parallel([lambda: None, lambda: None])  # still works after the errors
    assert pool.spinning == [] and pool.hot_owner is None
    hits = []
    cpu.parallel([lambda: hits.append(1), lambda: hits.append(2)])  # back to sleeping helpers
    assert sorted(hits) == [1, 2]


def test_hot_region_left_by_an_exception(two_threads):
    with pytest.raises(ValueError, match="out of the loop"):
        with cpu.pool.hot():
            cpu.parallel([lambda: None, lambda: None])
            raise ValueError("out of the loop")
    assert cpu.pool._pool.spinning == []
    with cpu.pool.hot():  # a new region starts cleanly
        cpu.parallel([lambda: None, lambda: None])


def test_hot_region_other_threads_run_inline(two_threads):
    import threading
    seen = []
    with cpu.pool.hot():
        t = threading.Thread(target=lambda: cpu.parallel(
            [lambda: seen.append(threading.get_ident())] * 2))
        t.start()
        t.join()
    assert len(seen) == 2 and seen[0] == seen[1] == t.ident


def test_recurrent_hot_equals_cold(two_threads, monkeypatch):
    """The LSTM's per-step products through spinning helpers give the very same numbers."""
    _force_three(monkeypatch)  # every product split in 3: one to the helper, two inline
    hot = _sequence_steps("lstm")
    monkeypatch.setattr(cpu.pool, "hot", lambda: __import__("contextlib").nullcontext())
    cold = _sequence_steps("lstm")
    for a, b in zip(hot, cold):
        np.testing.assert_array_equal(a, b)


def test_openblas_coretype_choice():
    """On Zen 4, ``import xpnn`` before NumPy picks OpenBLAS's AVX2 kernels; never over the
    user's own OPENBLAS_CORETYPE, after NumPy, or with XPNN_OPENBLAS_CORETYPE=default."""
    from xpnn import _coretype
    zen4 = _coretype.is_zen4(_coretype._first_cpu())
    code = ("import os, xpnn, xpnn.cpu as c; "
            "print(c.blas_coretype, os.environ.get('OPENBLAS_CORETYPE'))")
    assert _run(code).stdout.split() == (["Haswell", "Haswell"] if zen4 else ["None", "None"])
    assert _run(code, XPNN_OPENBLAS_CORETYPE="default").stdout.split() == ["None", "None"]
    assert _run(code, OPENBLAS_CORETYPE="Zen").stdout.split() == ["None", "Zen"]
    assert _run("import numpy; " + code).stdout.split() == ["None", "None"]
    assert _coretype.is_zen4({"vendor_id": "AuthenticAMD", "cpu family": "25",
                              "flags": "fpu avx2 avx512f"})
    assert not _coretype.is_zen4({"vendor_id": "AuthenticAMD", "cpu family": "25",
                                  "flags": "fpu avx2"})  # Zen 3
    assert not _coretype.is_zen4({"vendor_id": "GenuineIntel", "cpu family": "6",
                                  "flags": "avx512f"})


def test_blas_kernels_names_what_openblas_runs():
    """xpnn.cpu.blas_kernels() reads the kernel set from the loaded OpenBLAS itself: an
    OPENBLAS_CORETYPE in the environment decides it, whoever set it."""
    code = "import xpnn; print(xpnn.cpu.blas_kernels())"
    own = _run(code).stdout.strip()
    if own == "None":
        pytest.skip("NumPy's BLAS is not an OpenBLAS that names its kernels")
    assert own in ("Haswell", "SkylakeX", "Zen", "Sandybridge", "Cooperlake",
                   "SapphireRapids"), own
    if __import__("platform").machine() not in ("x86_64", "AMD64"):
        return
    # a forced set is what it runs (Nehalem's: SSE4.2, which every x86-64 host of this
    # project's has), NumPy loaded first or not
    assert _run(code, OPENBLAS_CORETYPE="Nehalem").stdout.split() == ["Nehalem"]
    assert _run("import numpy; " + code, OPENBLAS_CORETYPE="Nehalem").stdout.split() \
        == ["Nehalem"]
