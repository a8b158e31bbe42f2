"""The comparisons the adversarial sweeps (tests/test_sweep_*.py) hold xpnn to: a result of
xpnn equals torch's result of the same call in shape, dtype and value, and where torch raises,
xpnn raises the same class."""
import numpy as np
import pytest
import torch
from conftest import to_np

import xpnn

TOL32 = 100 * np.finfo(np.float32).eps  # float32 results against torch's float32
TOL64 = 1e3 * np.finfo(np.float64).eps  # float64 results against torch's float64


def same(x, t):
    """xpnn result ``x`` equals torch result ``t``: tensors (shape, dtype, values within the
    dtype's tolerance), tuples or lists of them, or Python numbers of the same type."""
    if isinstance(t, torch.Tensor):
        assert isinstance(x, xpnn.Tensor), type(x)
        assert tuple(x.shape) == tuple(t.shape)
        assert str(x.dtype).rsplit(".", 1)[-1] == str(t.dtype).rsplit(".", 1)[-1]
        tol = TOL64 if t.dtype == torch.float64 else TOL32
        np.testing.assert_allclose(to_np(x), t.detach().numpy(), rtol=tol, atol=tol)
    elif isinstance(t, (tuple, list)):
        assert len(x) == len(t)
        for a, b in zip(x, t):
            same(a, b)
    else:
        assert type(x) is type(t) and x == t, (x, t)


def raises_like(case, host_only=False):
    """``case(torch)`` raises, and ``case(xpnn)`` raises the same class (or a subclass).
    ``host_only``: a check xpnn makes only where arrays are in host memory (a range check
    on a device would sync), skipped elsewhere."""
    if host_only and not xpnn.zeros(1)._be.on_host:
        pytest.skip("range checks run on host memory only (DESIGN.md, no host syncs)")
    with pytest.raises(Exception) as want:
        case(torch)
    with pytest.raises(want.type):
        case(xpnn)


# -- the same inputs and modules on both libraries (tests/test_adversarial_*.py) -----------
def _t(lib, a, dtype="float32", grad=False):
    """The same host array as a tensor of ``lib`` (torch or xpnn)."""
    a = np.asarray(a)
    t = torch.tensor(a, dtype=getattr(torch, dtype)) if lib is torch else \
        xpnn.tensor(a, dtype=dtype)
    return t.requires_grad_(True) if grad else t


def _ids(lib, a):
    a = np.asarray(a, dtype=np.int64)
    return torch.tensor(a) if lib is torch else xpnn.tensor(a)


def _bool(lib, a):
    a = np.asarray(a, dtype=bool)
    return torch.tensor(a) if lib is torch else xpnn.tensor(a)


def _pair(make):
    """make(torch) and make(xpnn) holding torch's parameters and buffers."""
    torch.manual_seed(0)
    tm, xm = make(torch), make(xpnn)
    xm.load_state_dict({k: xpnn.tensor(v.detach().numpy()) for k, v in
                        tm.state_dict().items()})
    return tm, xm


def ns_float32(grad, coefficients, steps, eps):
    """torch's Muon Newton-Schulz iteration in float32 (torch runs it in bfloat16; xpnn in
    the parameter's dtype, DESIGN.md): patched into torch.optim's muon module where a test
    compares xpnn's Muon with it."""
    a, b, c = coefficients
    X = grad.float()
    tall = grad.size(0) > grad.size(1)
    X = X.T if tall else X
    X = X / X.norm().clamp(min=eps)
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * (A @ A)) @ X
    return X.T if tall else X
