"""Checks found while writing the round-11 tutorial programs (tests/pytorch_programs/tutorials/
pixelcnn.py, moco.py, grad_cam.py, lr_finder.py, data_pipeline.py).

* A convolution whose input and weight (or bias) live on different backends said that their
  dtypes differ ("conv2d: input dtype float32 differs from weight dtype torch.float32"), which
  sends the reader after a cast that would not help: a NumPy ``float32`` and a torch
  ``float32`` compare unequal. It now names the backends and devices, as ``F.linear`` does
  (a program that builds its data with ``torch.from_numpy`` while the model sits on another
  default backend stops here). Fixed in xpnn/functional/conv.py (``_check``).

Everything else the five programs use ran as on PyTorch on the first try (their values agree
with PyTorch's to 1e-4; see tests/test_pytorch_tutorials.py).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402
import xpnn.nn.functional as F  # noqa: E402

RNG = np.random.default_rng(11)
X2 = RNG.standard_normal((2, 3, 6, 6)).astype(np.float32)
W2 = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
B = RNG.standard_normal(4).astype(np.float32)
X1 = RNG.standard_normal((2, 3, 7)).astype(np.float32)
W1 = RNG.standard_normal((4, 3, 3)).astype(np.float32)

CONVS = {
    "conv2d": (F.conv2d, X2, W2),
    "conv1d": (F.conv1d, X1, W1),
    "conv_transpose2d": (F.conv_transpose2d, X2, W2.transpose(1, 0, 2, 3).copy()),
}


def _other(backend):
    """A backend other than the test's default one."""
    return "array_api_strict" if backend == "numpy" else "numpy"


@pytest.mark.parametrize("op", list(CONVS))
@pytest.mark.parametrize("where", ["input", "bias"])
def test_conv_names_the_backends_it_mixes(backend, op, where):
    """An input (or a bias) on another backend than the weight: a TypeError naming both
    backends, not a dtype complaint (their float32s are different objects)."""
    fn, x, w = CONVS[op]
    other = _other(backend)
    weight = xpnn.tensor(w)
    if where == "input":
        args = (xpnn.tensor(x, backend=other), weight, xpnn.tensor(B))
    else:
        args = (xpnn.tensor(x), weight, xpnn.tensor(B, backend=other))
    with pytest.raises(TypeError, match=rf"{op}: inputs live on different backends/devices "
                                        r"\(.* vs .*\)") as info:
        fn(*args)
    assert "dtype" not in str(info.value)
    assert f"{backend}:" in str(info.value) and f"{other}:" in str(info.value)


@pytest.mark.parametrize("op", list(CONVS))
def test_conv_same_backend_still_refuses_mixed_dtypes(backend, op):
    """On one backend, a float64 input against a float32 weight still raises the dtype
    error, a RuntimeError as PyTorch's own refusal is."""
    fn, x, w = CONVS[op]
    t_fn = getattr(torch.nn.functional, op)
    with pytest.raises(RuntimeError):
        t_fn(torch.tensor(x, dtype=torch.float64), torch.tensor(w))
    with pytest.raises(RuntimeError, match=rf"{op}: input dtype .*float64 differs from weight"):
        fn(xpnn.tensor(x, dtype=xpnn.float64), xpnn.tensor(w))


@pytest.mark.parametrize("op", list(CONVS))
def test_conv_on_one_backend_matches_torch(backend, op):
    """The check added for mixed backends leaves a conv on one backend as it was: forward
    and gradients match torch's (float32: 1e-5 relative, about 100 eps for the sums of 27
    products)."""
    fn, x, w = CONVS[op]
    t_fn = getattr(torch.nn.functional, op)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, B))
    xx, xw, xb = (xpnn.tensor(a, requires_grad=True) for a in (x, w, B))
    t_out, x_out = t_fn(tx, tw, tb), fn(xx, xw, xb)
    assert tuple(x_out.shape) == tuple(t_out.shape)
    assert xpnn.backend.dtype_name(x_out.dtype) == "float32"
    np.testing.assert_allclose(x_out.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-5)
    t_out.square().sum().backward()
    x_out.square().sum().backward()
    for t, xt in ((tx, xx), (tw, xw), (tb, xb)):
        np.testing.assert_allclose(xt.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-4)
