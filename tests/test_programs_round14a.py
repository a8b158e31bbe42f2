"""Checks found while writing the round-14a tutorial programs (tests/pytorch_programs/
tutorials/llama_tiny.py, bert_mlm.py, revnet_function.py, fake_quant_qat.py, sinkhorn_ot.py,
darts_search.py).

* ``torch.fake_quantize_per_tensor_affine`` and ``torch.fake_quantize_per_channel_affine``
  were missing (AttributeError in the QAT program). They are now in
  xpnn/functional/fake_quant.py: PyTorch's kernels value for value (float32 scale and its
  float32 inverse, round half to even, int or float zero points, NaN to quant_min) with the
  straight-through gradient masked where the rounded value left [quant_min, quant_max], and
  PyTorch's refusals (quant_min > quant_max, a zero point out of range, channel counts,
  axis, a scale that requires grad, an integer input).
* ``gradcheck`` evaluated its finite differences on fresh copies of the inputs, so a function
  that reaches an input another way (a module's parameters passed in and used through the
  module, as the reversible block's Function is checked) saw no perturbation: numeric 0
  against the analytic gradient. PyTorch's gradcheck perturbs each input itself; xpnn's now
  writes the bumped values into the input's data and restores them. It also overwrote the
  inputs' ``.grad`` (cleared, then filled by backward); PyTorch's takes the analytic
  gradient by autograd.grad and leaves ``.grad`` alone, as xpnn's now does.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402
from xpnn.backend import dtype_name  # noqa: E402

RNG = np.random.default_rng(14)
# a range of values with exact .5 ties (round half to even), values past both ends, a NaN
X = np.concatenate([(RNG.standard_normal(40) * 3).astype(np.float32),
                    np.array([0.25, 0.35, -0.25, 0.05, 1e9, -1e9, np.nan], np.float32)])
W = RNG.standard_normal(X.shape).astype(np.float32)


def _both(fn_x, fn_t, x_np, *, dtype=np.float32):
    """fn on xpnn and on torch of the same input; values and the gradient of a weighted sum,
    as NumPy arrays."""
    kind = getattr(xpnn, np.dtype(dtype).name)   # xpnn.tensor makes float32 unless told
    x = xpnn.tensor(x_np.astype(dtype), dtype=kind, requires_grad=True)
    tx = torch.tensor(x_np.astype(dtype), requires_grad=True)
    y, ty = fn_x(x), fn_t(tx)
    w = RNG.standard_normal(tuple(ty.shape)).astype(dtype)
    (y * xpnn.tensor(w, dtype=kind)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    assert dtype_name(y.dtype) == np.dtype(dtype).name and tuple(y.shape) == tuple(ty.shape)
    return (to_np(y.detach()), ty.detach().numpy(), to_np(x.grad), tx.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("qparams", ["numbers", "tensors"])
def test_fake_quantize_per_tensor_matches_torch(backend, dtype, qparams):
    """Values equal PyTorch's exactly (the ties, the ends, NaN to quant_min) and the
    gradient passes exactly where PyTorch's does, for number and tensor qparams."""
    def args(lib):
        if qparams == "numbers":
            return 0.0731, 7
        return lib.tensor(0.0731), lib.tensor(7, dtype=lib.int32)
    for qmin, qmax in ((0, 255), (-128, 127)):
        got, want, gx, gt = _both(
            lambda x: xpnn.fake_quantize_per_tensor_affine(x, *args(xpnn), qmin, qmax),
            lambda x: torch.fake_quantize_per_tensor_affine(x, *args(torch), qmin, qmax),
            X, dtype=dtype)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(gx, gt)
    # the program's exact ties: 0.25 / 0.1 -> 2 (even), 0.35 / 0.1 -> 4
    y = xpnn.fake_quantize_per_tensor_affine(xpnn.tensor([0.25, 0.35]), 0.1, 3, 0, 255)
    np.testing.assert_allclose(to_np(y), [0.2, 0.4], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("zp_kind", ["int32", "float32"])
def test_fake_quantize_per_channel_matches_torch(backend, axis, zp_kind, dtype):
    """Per-channel values and gradients equal PyTorch's along either axis, with int32 and
    float zero points (a float one is added before rounding, as PyTorch's), in float32 and
    float64 (computed in float64, unlike per tensor)."""
    x_np = (RNG.standard_normal((6, 5)) * 2).astype(np.float32)
    n = x_np.shape[axis]
    scale = (np.abs(x_np).max(axis=1 - axis) / 100).astype(np.float32)
    zp = (np.arange(n) - 2).astype(np.int32) if zp_kind == "int32" else \
        np.linspace(-1.3, 2.7, n).astype(np.float32)

    def fq(lib):
        return lambda x: lib.fake_quantize_per_channel_affine(
            x, lib.tensor(scale), lib.tensor(zp), axis, -128, 127)
    got, want, gx, gt = _both(fq(xpnn), fq(torch), x_np, dtype=dtype)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(gx, gt)


def test_fake_quantize_gradient_is_masked_straight_through():
    """d/dx is 1 inside the range and 0 where the value was clamped (PyTorch's mask);
    a double backward sees the same mask."""
    x = xpnn.tensor([-5.0, -0.2, 0.0, 0.3, 5.0], requires_grad=True)
    y = xpnn.fake_quantize_per_tensor_affine(x, 0.1, 0, -10, 10)
    (g,) = xpnn.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_array_equal(to_np(g), [0, 1, 1, 1, 0])


def test_fake_quantize_refusals():
    """PyTorch's refusals, each naming the function and the argument."""
    x = xpnn.tensor(X[:6].reshape(2, 3))
    s3, z3 = xpnn.tensor([0.1, 0.2, 0.3]), xpnn.tensor([0, 0, 0], dtype=xpnn.int32)
    cases = [
        (lambda: xpnn.fake_quantize_per_tensor_affine(x, 0.1, 3, 10, 5),
         RuntimeError, "per_tensor_affine: `quant_min` should be less than or equal"),
        (lambda: xpnn.fake_quantize_per_tensor_affine(x, 0.1, 300, 0, 255),
         RuntimeError, "`zero_point` must be between `quant_min` and `quant_max`"),
        (lambda: xpnn.fake_quantize_per_tensor_affine(
            x, xpnn.tensor([0.1, 0.2]), xpnn.tensor([0, 0]), 0, 255),
         RuntimeError, "scale must hold one element"),
        (lambda: xpnn.fake_quantize_per_tensor_affine(
            x, xpnn.tensor(0.1, requires_grad=True), xpnn.tensor(0), 0, 255),
         RuntimeError, "not differentiable with respect to argument 'scale'"),
        (lambda: xpnn.fake_quantize_per_tensor_affine(xpnn.arange(3), 0.1, 3, 0, 255),
         NotImplementedError, "expected a floating point input, got int64"),
        (lambda: xpnn.fake_quantize_per_channel_affine(x, s3, z3, 0, -128, 127),
         RuntimeError, "not consistent with input tensor: 3 channels"),
        (lambda: xpnn.fake_quantize_per_channel_affine(x, s3, z3[:2], 1, -128, 127),
         RuntimeError, "scale and zero-point need to have the same dimensions"),
        (lambda: xpnn.fake_quantize_per_channel_affine(x, s3, z3, 2, -128, 127),
         RuntimeError, "`axis` must be between 0 and number of dimensions"),
        (lambda: xpnn.fake_quantize_per_channel_affine(x, s3, z3 + 200, 1, -128, 127),
         RuntimeError, "`zero_point` must be between"),
        (lambda: xpnn.fake_quantize_per_channel_affine(x, s3[None], z3[None], 1, -128, 127),
         RuntimeError, "scale should be a 1-D tensor"),
        (lambda: xpnn.fake_quantize_per_channel_affine(x, s3, z3.long(), 1, -128, 127),
         RuntimeError, "zero_point must be int32 or float32 or float16, found int64"),
    ]
    for call, err, msg in cases:
        with pytest.raises(err, match=msg.replace("(", r"\(").replace("[", r"\[")):
            call()


def _module_through_params(lib):
    """A float64 Linear whose parameters are gradcheck's inputs but are used through the
    module (as the revnet program checks its Function)."""
    lib.manual_seed(0)
    lin = lib.nn.Linear(3, 2).double()
    x = lib.tensor(RNG.standard_normal((4, 3)), dtype=lib.float64, requires_grad=True)
    return lin, x, (lambda x, w, b: lib.tanh(lin(x)))


def test_gradcheck_perturbs_the_inputs_themselves(host_backend):
    """A function reaching an input another way than its argument sees the perturbation,
    as PyTorch's gradcheck: both pass; a wrong backward still fails."""
    results = {}
    for lib in (torch, xpnn):
        lin, x, fn = _module_through_params(lib)
        results[lib.__name__] = lib.autograd.gradcheck(fn, (x, lin.weight, lin.bias))
    assert results == {"torch": True, "xpnn": True}
    lin, x, _ = _module_through_params(xpnn)
    w0 = to_np(lin.weight.detach()).copy()
    xpnn.autograd.gradcheck(lambda x, w, b: lin(x), (x, lin.weight, lin.bias))
    np.testing.assert_array_equal(to_np(lin.weight.detach()), w0)  # restored afterwards

    class Wrong(xpnn.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            return v * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3
    assert not xpnn.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False)


def test_gradcheck_leaves_grad_alone(host_backend):
    """gradcheck takes its analytic gradient by autograd.grad: an input's .grad (a model's
    accumulated gradient) is the same afterwards, None stays None (PyTorch's)."""
    for lib in (torch, xpnn):
        lin, x, fn = _module_through_params(lib)
        lin.weight.grad = lib.full_like(lin.weight, 7.0)
        assert lib.autograd.gradcheck(fn, (x, lin.weight, lin.bias))
        assert lin.bias.grad is None and x.grad is None, lib.__name__
        grad = lin.weight.grad
        np.testing.assert_array_equal(to_np(grad) if lib is xpnn else grad.numpy(), 7.0)
