"""Regressions for the forward fuzzer's "xpnn-raises" cases (tests/test_fuzz_forward.py):
inputs that torch 2.13 takes and xpnn used to refuse, each compared with torch on every
backend (values, dtype and shape; gradients where the op has them)."""
import math
import warnings

import numpy as np
import pytest
from conftest import to_np

import xpnn

torch = pytest.importorskip("torch")

# float32: 100 eps; float64 and complex128: 1000 eps (as the fuzzer)
TOL = {"float32": 100 * np.finfo(np.float32).eps, "complex64": 100 * np.finfo(np.float32).eps,
       "float64": 1e3 * np.finfo(np.float64).eps, "complex128": 1e3 * np.finfo(np.float64).eps}


def _pair(data, dtype, requires_grad=False):
    x = xpnn.tensor(data, dtype=getattr(xpnn, dtype), requires_grad=requires_grad)
    t = torch.tensor(data, dtype=getattr(torch, dtype), requires_grad=requires_grad)
    return x, t


def _same(x, t, values=True):
    assert isinstance(x, xpnn.Tensor)
    assert tuple(x.shape) == tuple(t.shape)
    assert str(x.dtype).rsplit(".", 1)[-1] == str(t.dtype).rsplit(".", 1)[-1]
    if not values:
        return
    a, b = to_np(x), t.detach().resolve_conj().numpy()
    if a.dtype.kind in "fc":
        tol = TOL[str(b.dtype)]
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(a, b)


# -- a 0-d tensor where torch takes a number ---------------------------------------------------
F32, I64 = [1.5, -2.5, 3.0, 0.25, -1.0, 7.0], [1, 4, 2, 3, 9, 5]
ZERO_D = {
    "celu": (lambda m, x, s: m.celu(x, s(1.5)), "float32"),
    "hardshrink": (lambda m, x, s: m.hardshrink(x, s(1.5)), "float32"),
    "hardshrink method": (lambda m, x, s: x.hardshrink(s(1.5)), "float32"),
    "norm p": (lambda m, x, s: m.norm(x, s(1.0)), "float32"),
    "logit eps": (lambda m, x, s: m.logit(x, s(0.25)), "float32"),
    "polygamma n": (lambda m, x, s: m.polygamma(s(1), x.abs() + 0.5), "float32"),
    "mvlgamma p": (lambda m, x, s: m.mvlgamma(x + 10, s(2)), "float32"),
    "topk k": (lambda m, x, s: m.topk(x, s(2))[0], "float32"),
    "kthvalue k": (lambda m, x, s: m.kthvalue(x, s(2))[0], "float32"),
    "roll shifts": (lambda m, x, s: m.roll(x, s(1)), "int64"),
    "view sizes": (lambda m, x, s: x.view(s(6)), "int64"),
    "hann_window": (lambda m, x, s: m.hann_window(s(5)), "float32"),
    "kaiser_window": (lambda m, x, s: m.kaiser_window(s(5)), "float32"),
    "tril_indices": (lambda m, x, s: m.tril_indices(s(3), s(3)), "float32"),
}


@pytest.mark.parametrize("name", sorted(ZERO_D))
def test_zero_d_tensor_as_number(backend, name):
    fn, dtype = ZERO_D[name]
    data = F32 if dtype == "float32" else I64
    x, t = _pair(data, dtype)
    _same(fn(xpnn, x, xpnn.tensor), fn(torch, t, torch.tensor))


def test_zero_d_tensor_gradient_celu_hardshrink(backend):
    """The parameter read from a 0-d tensor: the input's gradient is torch's."""
    for name in ("celu", "hardshrink"):
        x, t = _pair(F32, "float32", requires_grad=True)
        fn = ZERO_D[name][0]
        fn(xpnn, x, xpnn.tensor).sum().backward()
        fn(torch, t, torch.tensor).sum().backward()
        _same(x.grad, t.grad)


def test_random_fills_take_zero_d_parameters(backend):
    for name, args in (("exponential_", (1.5,)), ("cauchy_", (0.0, 1.5)),
                       ("log_normal_", (1.0, 0.5)), ("normal_", (0.0, 2.0))):
        x = getattr(xpnn.zeros(3), name)(*(xpnn.tensor(a) for a in args))
        _same(x, getattr(torch.zeros(3), name)(*(torch.tensor(a) for a in args)), False)


def test_normal_fills_complex(backend):
    x = xpnn.zeros(2000, dtype=xpnn.complex64).normal_(1.0, 2.0)
    _same(x, torch.zeros(2000, dtype=torch.complex64).normal_(1.0, 2.0), False)
    v = to_np(x)  # each part N(1, 2): the parts' std is 2 / sqrt(2)
    for part in (v.real, v.imag):
        assert abs(part.mean() - 1.0) < 0.2 and abs(part.std() - math.sqrt(2)) < 0.2


# -- Python ints that wrap into an unsigned byte, as torch converts them -----------------------
U8 = [0, 255, 128, 1, 0, 9]
WRAP = {
    "fill_ -1": lambda m, u: u.fill_(-1),
    "copy_ -1": lambda m, u: u.copy_(-1),
    "isin -1": lambda m, u: m.isin(u, -1),
    "isin reversed": lambda m, u: m.isin(255, u),
    "searchsorted -1": lambda m, u: m.searchsorted(m.sort(u)[0], -1),
    "rpow -1": lambda m, u: u.__rpow__(-1),
    "rpow 2": lambda m, u: u.__rpow__(2),
    "pow_ uint8": lambda m, u: u.pow_(m.flip(u, (0,))),
}


@pytest.mark.parametrize("name", sorted(WRAP))
def test_uint8_wraps_python_ints(backend, name):
    x, t = _pair(U8, "uint8")
    _same(WRAP[name](xpnn, x), WRAP[name](torch, t))


# -- shapes and dtypes torch takes -------------------------------------------------------------
SHAPES = {
    "inner of empty vectors": lambda m: m.inner(m.zeros(0), m.zeros(0)),
    "inner of (2, 0) and (3, 0)": lambda m: m.inner(m.zeros(2, 0), m.zeros(3, 0)),
    "adaptive_avg_pool1d to 0": lambda m: m.adaptive_avg_pool1d(m.ones(2, 3), 0),
    "adaptive_max_pool1d to 0": lambda m: m.adaptive_max_pool1d(m.ones(2, 3), 0)[1],
    "adaptive_avg_pool2d to (0, 2)": lambda m: m.nn.functional.adaptive_avg_pool2d(
        m.ones(1, 2, 3, 3), (0, 2)),
    "adaptive_max_pool2d to 0": lambda m: m.nn.functional.adaptive_max_pool2d(
        m.ones(1, 2, 3, 3), 0),
    "spmm of dense": lambda m: m.spmm(m.ones(3, 1), m.ones(1, 4)),
    "svd_lowrank q=0 S": lambda m: m.svd_lowrank(m.ones(2, 3), 0)[1],
    "svd_lowrank q=0 V": lambda m: m.svd_lowrank(m.ones(2, 3), 0)[2],
    "pca_lowrank of (2, 0)": lambda m: m.pca_lowrank(m.zeros(2, 0))[0],
    "clamp of bool": lambda m: m.clamp(m.tensor([True, False]), 0),
    "clamp_max of bool": lambda m: m.clamp_max(m.tensor([True, False]), 0),
    "heaviside of bool": lambda m: m.heaviside(m.tensor([True, False]), m.tensor([True, True])),
    "isfinite of bool": lambda m: m.isfinite(m.tensor([True, False])),
    "isnan of bool": lambda m: m.isnan(m.tensor([True, False])),
    "isinf of bool": lambda m: m.isinf(m.tensor([True, False])),
    "isreal of bool": lambda m: m.tensor([True, False]).isreal(),
    "lshift by negative": lambda m: m.tensor([1, -2, 3, 5, -7]) << m.tensor([-7, 1, -2, 0, 64]),
    "rshift by negative": lambda m: m.tensor([1, -2, 3, 5, -7]) >> m.tensor([-7, 1, -2, 0, 64]),
    "rshift by scalar -1": lambda m: m.tensor([1, -2, 3]) >> -1,
    "logit eps > 0.5": lambda m: m.logit(m.tensor([1.5, 0.3, -1.0]), 0.7),
    "logit eps 2": lambda m: m.logit(m.tensor([1.5, 0.3, -1.0]), 2),
    "bernoulli of int64 with p": lambda m: m.bernoulli(m.tensor([1, -2, 3]), 0),
    "binomial with negative count": lambda m: m.binomial(m.tensor([[1.5], [-2.5], [3.0]]),
                                                          m.tensor([[0.5, 0.25, -1.0, 7.0]])),
    "searchsorted of a bool sequence": lambda m: m.searchsorted(
        m.tensor([[False, True, True], [False, False, True]]),
        m.tensor([[-2.5, 3.0, 0.25], [-1.0, 7.0, 2.0]])),
    "polygamma(2) at +-inf and -0.0": lambda m: m.polygamma(
        2, m.tensor([math.nan, math.inf, -math.inf, -0.0, 0.0, 0.5])),
    "polygamma(3) at +-inf": lambda m: m.tensor([math.inf, -math.inf, 2.0]).polygamma(3),
    "to_sparse of bool": lambda m: m.tensor([[True, False], [False, True]]).to_sparse(
        ).coalesce().indices(),
}
_RANDOM = ("bernoulli", "binomial")


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shapes_and_dtypes_torch_takes(backend, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: resized outputs (binomial)
        _same(SHAPES[name](xpnn), SHAPES[name](torch), not name.startswith(_RANDOM))


def _torch_quiet(fn):
    with warnings.catch_warnings():  # torch warns once per process (TORCH_WARN_ONCE)
        warnings.simplefilter("ignore", UserWarning)
        return fn()


def test_adjoint_of_zero_d_warns_as_torch(backend):
    x, t = _pair(1.5, "float32")
    with pytest.warns(UserWarning, match="adjoint"):
        y = x.adjoint()
    _same(y, _torch_quiet(t.adjoint))


def test_copy_complex_into_real_discards_imag(backend):
    z = [1 + 2j, -3j, 0.5]
    with pytest.warns(UserWarning, match="imaginary part"):
        y = xpnn.zeros(3).copy_(xpnn.tensor(z))
    _same(y, _torch_quiet(lambda: torch.zeros(3).copy_(torch.tensor(z))))


def test_empty_output_pool_gradient(backend):
    """torch's backward of an empty adaptive pool refuses; xpnn's gives the input zeros."""
    x = xpnn.ones(1, 2, 3, 3, requires_grad=True)
    xpnn.nn.functional.adaptive_max_pool2d(x, (0, 2)).sum().backward()
    _same(x.grad, torch.zeros(1, 2, 3, 3))


# -- pow with a complex tensor exponent --------------------------------------------------------
A = [[1.5 - 1j, -2.5, 3j], [0.25 + 0.5j, -1.0, 7.0 - 2j]]
E = [[0.7 - 0.2j, 1.5 - 1j, -2.5], [3j, 0.25 + 0.5j, -1.0]]


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_pow_matches_torch(backend, dtype):
    x, t = _pair(A, dtype, requires_grad=True)
    y, u = _pair(E, dtype, requires_grad=True)
    out, ref = x ** y, t ** u
    _same(out, ref)
    # a real loss of the complex result: gradients in PyTorch's convention
    (out.abs() ** 2).sum().backward()
    (ref.abs() ** 2).sum().backward()
    tol = 1e3 * TOL[dtype]  # |a^b| reaches 1e3 here: the gradients' scale
    for g, h in ((x.grad, t.grad), (y.grad, u.grad)):
        np.testing.assert_allclose(to_np(g), h.numpy(), rtol=tol, atol=tol)


def test_complex_pow_real_base_and_number_base(backend):
    x, t = _pair([[1.5, -2.5, 3.0], [0.25, -1.0, 7.0]], "float32", requires_grad=True)
    y, u = _pair(E, "complex64")
    _same(xpnn.pow(x, y), torch.pow(t, u))
    _same(x.__rpow__(y), t.__rpow__(u))
    xpnn.pow(x, y).abs().sum().backward()
    torch.pow(t, u).abs().sum().backward()
    _same(x.grad, t.grad)  # real input: a real gradient


def test_complex_pow_second_derivative_matches_torch(backend):
    """create_graph through Pow's recorded backward (complex) (complex128, 1e3 eps scaled)."""
    off_cut = [[1.5 - 1j, -2.5 + 0.3j, 3j], [0.25 + 0.5j, -1.0 - 0.2j, 7.0 - 2j]]
    grads = []
    for m in (xpnn, torch):
        x = m.tensor(off_cut, dtype=m.complex128, requires_grad=True)
        y = m.tensor(E, dtype=m.complex128, requires_grad=True)
        (gx,) = m.autograd.grad((x ** y).abs().sum(), x, create_graph=True)
        (ggy,) = m.autograd.grad(gx.abs().sum(), y)
        grads.append(ggy)
    np.testing.assert_allclose(to_np(grads[0]), grads[1].numpy(), rtol=1e-9, atol=1e-9)


def test_complex_pow_gradcheck(host_backend):
    off_cut = [[1.5 - 1j, -2.5 + 0.3j, 3j], [0.25 + 0.5j, -1.0 - 0.2j, 7.0 - 2j]]  # log's cut
    x = xpnn.tensor(off_cut, dtype=xpnn.complex128, requires_grad=True)
    y = xpnn.tensor(E, dtype=xpnn.complex128, requires_grad=True)
    assert xpnn.gradcheck(lambda a, b: a ** b, x, y)
