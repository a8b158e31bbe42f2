"""PyTorch's top-level names that programs use beside the ops: constants, the functional
ops' torch.* spellings, torch.random, and the process settings (default device, matmul
precision, deterministic algorithms)."""
import math

import numpy as np
import pytest

import xpnn
import xpnn.functional as F

torch = pytest.importorskip("torch")


def test_constants_and_top_level_spellings_of_functional_ops():
    assert (xpnn.pi, xpnn.e, xpnn.inf) == (math.pi, math.e, math.inf) and math.isnan(xpnn.nan)
    for name in ("conv1d", "conv2d", "conv3d", "conv_transpose2d", "max_pool2d", "avg_pool1d",
                 "adaptive_avg_pool1d", "dropout", "embedding", "layer_norm", "group_norm",
                 "rms_norm", "prelu", "bilinear", "pdist", "binary_cross_entropy_with_logits"):
        assert getattr(xpnn, name) is getattr(F, name), name
        assert hasattr(torch, name), name  # PyTorch has the same top-level name
    x = np.random.default_rng(0).standard_normal((1, 2, 5)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((3, 2, 2)).astype(np.float32)
    np.testing.assert_allclose(xpnn.conv1d(xpnn.tensor(x), xpnn.tensor(w)).numpy(),
                               torch.conv1d(torch.tensor(x), torch.tensor(w)).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_random_module_seeds_forks_and_restores():
    s = xpnn.seed()
    assert isinstance(s, int) and xpnn.initial_seed() == s == xpnn.random.initial_seed()
    xpnn.random.manual_seed(3)
    with xpnn.random.fork_rng():
        inside = xpnn.rand(3).tolist()
    assert xpnn.rand(3).tolist() == inside  # the block's draws left the stream alone
    state = xpnn.get_rng_state()
    a = xpnn.randn(4).tolist()
    xpnn.set_rng_state(state)
    assert xpnn.randn(4).tolist() == a


def test_default_device_and_process_settings():
    try:
        xpnn.set_default_device("array_api_strict")
        assert xpnn.ones(1).backend == "array_api_strict"
        xpnn.set_default_device("device1")
        assert str(xpnn.get_default_device()) == "device1"
        xpnn.set_default_device("cpu")
        assert str(xpnn.get_default_device()) == "CPU_DEVICE"
        xpnn.set_default_backend("torch")
        assert str(xpnn.get_default_device()) == "cpu"
        xpnn.set_default_device(None)
        assert xpnn.ones(1).backend == "torch"
    finally:
        xpnn.set_default_backend("numpy")
    assert str(xpnn.get_default_device()) == "cpu" and xpnn.ones(1).backend == "numpy"
    before = torch.get_float32_matmul_precision()
    try:
        xpnn.set_float32_matmul_precision("high")
        assert xpnn.get_float32_matmul_precision() == "high"
        assert torch.get_float32_matmul_precision() == "high"  # passed on to torch
    finally:
        xpnn.set_float32_matmul_precision(before)
    with pytest.raises(ValueError, match="set_float32_matmul_precision: precision must be"):
        xpnn.set_float32_matmul_precision("low")
    try:
        xpnn.use_deterministic_algorithms(True, warn_only=True)
        assert xpnn.are_deterministic_algorithms_enabled()
        assert xpnn.is_deterministic_algorithms_warn_only_enabled()
    finally:
        xpnn.use_deterministic_algorithms(False)
