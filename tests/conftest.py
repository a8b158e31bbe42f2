"""Shared fixtures: every test that takes ``backend`` runs once per available backend."""
import importlib.util

import numpy as np
import pytest

import xpnn


def _cuda_available():
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


# Test shapes are tiny: BLAS and OpenMP threads only add contention (badly so on a shared
# 2-core machine), so the suite runs single-threaded.
try:
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
except ImportError:  # scikit-learn (the data extra) brings threadpoolctl
    pass
if importlib.util.find_spec("torch") is not None:
    import torch
    torch.set_num_threads(1)
    # torch loads its forward-AD decompositions at the first make_dual (torch.func.jacfwd,
    # hessian, jvp) through the deprecated torch.jit.script: a DeprecationWarning that the
    # "error" filter would pin on whichever test comes first in a worker. Loaded here, once.
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import torch._decomp.decompositions_for_jvp  # noqa: F401

# "name:device" runs a backend on a device other than its default: array-api-strict's
# "device1" refuses implicit conversion to NumPy and mixing with CPU arrays, the errors CuPy
# raises, so the CPU suite catches what a GPU would
BACKENDS = ["numpy", "array_api_strict", "array_api_strict:device1"]
if importlib.util.find_spec("torch") is not None:
    BACKENDS.append("torch")
if _cuda_available():
    BACKENDS.append("cupy")
if importlib.util.find_spec("torch") is not None and torch.cuda.is_available():
    BACKENDS.append("torch:cuda")


def _use(spec):
    name, _, device = spec.partition(":")
    xpnn.set_default_backend(name, device or None)
    xpnn.manual_seed(0)
    return name


@pytest.fixture(params=BACKENDS)
def backend(request):
    """The backend name; the default backend (and device) is set to it for the test's
    duration, so ``backend=<name>`` and tensors made without one land on that device."""
    yield _use(request.param)
    xpnn.set_default_backend("numpy")


@pytest.fixture(params=[b for b in BACKENDS if ":" not in b])
def host_backend(request):
    """``backend`` without the extra device variants, for checks of pure numerics (float64
    gradient checks, memory growth) that device1 would only repeat: its arithmetic is
    array-api-strict's on the CPU; its device rules are checked by every other test."""
    yield _use(request.param)
    xpnn.set_default_backend("numpy")


@pytest.fixture
def rng():
    """A seeded host generator for test data (no global NumPy RNG state)."""
    return np.random.default_rng(1234)


def to_np(x):
    """A NumPy copy of a Tensor or an array of any backend."""
    return x.numpy() if isinstance(x, xpnn.Tensor) else xpnn.to_numpy(x)


def native_tables():
    """Every table of native kernels by backend name that an op keeps beside its portable
    code (see each op file): (module, attribute name)."""
    import importlib
    from xpnn.functional import (activation, conv, gemm, indexing, loss, norm_layer,
                                 recurrent, scatter_kernels)
    from xpnn.functional import recurrent_steps
    dropout = importlib.import_module("xpnn.functional.dropout")  # the package's name for it
    # is the dropout function
    from xpnn.optim import adam
    im2col = importlib.import_module("xpnn.functional.im2col")
    max_pool = importlib.import_module("xpnn.functional.max_pool")
    return [(im2col, "IM2COL"), (im2col, "COL2IM"), (conv, "CONV"), (conv, "BIAS_GRAD"),
            (max_pool, "MAX_POOL_FORWARD"), (max_pool, "MAX_POOL_BACKWARD"),
            (scatter_kernels, "INDEX_ADD"), (indexing, "INDEX_ADD"),
            (activation, "ERF"), (activation, "RELU"), (activation, "LOG_SOFTMAX"),
            (gemm, "MATMUL"),
            (gemm, "BATCHED_MATMUL"), (adam, "ADAM"), (dropout, "KEEP"),
            (dropout, "MASK"),
            (recurrent_steps, "PRODUCT_INTO"), (recurrent, "LSTM_CELL"), (loss, "CE_LABELS"),
            (loss, "SOFTMAX_GRAD"), (norm_layer, "LAYER_NORM")]


@pytest.fixture
def portable_only(monkeypatch):
    """Run with the portable Array API code only: every native kernel table emptied."""
    for module, name in native_tables():
        monkeypatch.setattr(module, name, {})


try:  # torch is optional: tests comparing with it skip without it, the rest still run
    import torch as _torch
except ImportError:  # pragma: no cover
    _torch = None
needs_torch = pytest.mark.skipif(_torch is None, reason="needs PyTorch (the comparison oracle)")


def optional_torch():
    """torch and torch.nn.functional, or (None, None) when PyTorch is not installed."""
    return (_torch, _torch.nn.functional) if _torch is not None else (None, None)
