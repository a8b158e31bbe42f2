"""Complex tensors (xpnn/functional/complex.py, complex_base.py and the complex paths of the
elementwise ops): dtypes and PyTorch's promotion, printing, the complex API, arithmetic, and
gradients in PyTorch's convention (dL/dx + i dL/dy), compared with torch 2.13 (values and
gradients) on every backend and checked by finite differences in complex128; ops without a
complex form raise torch's error class.

Tolerances come from the dtype: complex64 (float32 parts) at 1e-5 relative (about 100 eps
of float32 after a few roundings), complex128 at 1e-10.
"""
import numpy as np
import pytest
from conftest import to_np

import xpnn

torch = pytest.importorskip("torch")

TOL = {"complex64": dict(rtol=1e-5, atol=1e-5), "complex128": dict(rtol=1e-10, atol=1e-10)}
RNG = np.random.default_rng(7)
Z = RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4))
X = RNG.standard_normal((3, 4))


def _np(t):
    """A host copy of an xpnn or torch tensor."""
    if isinstance(t, torch.Tensor):
        return t.detach().resolve_conj().numpy()
    return to_np(t)


def _dt(t):
    """The dtype's name, for an xpnn or torch tensor."""
    return str(t.dtype).split(".")[-1] if isinstance(t, torch.Tensor) else \
        xpnn.backend.dtype_name(t.dtype)


def _leaf(m, data, dtype):
    if m is xpnn:
        return xpnn.tensor(data, dtype=dtype, requires_grad=True)
    return torch.tensor(data, dtype=getattr(torch, dtype), requires_grad=True)


def _loss(m, out, w):
    """A real scalar of any output: sum(Re(out * w)) (w random, complex for complex out)."""
    w = m.tensor(w if out.is_complex() else w.real, dtype=out.dtype)
    y = out * w
    return (y.real if out.is_complex() else y).sum()


def _run(m, fn, inputs):
    leaves = [_leaf(m, d, dt) for d, dt in inputs]
    out = fn(m, *leaves)
    w = np.random.default_rng(1).standard_normal(tuple(out.shape)) + \
        1j * np.random.default_rng(2).standard_normal(tuple(out.shape))
    _loss(m, out, w).backward()
    return out, [leaf.grad for leaf in leaves]


def check_like_torch(fn, inputs, tol):
    """Run ``fn(module, *leaves)`` on xpnn (the test's backend) and torch; compare the
    output's dtype, shape and values, and every leaf's gradient."""
    out, grads = _run(xpnn, fn, inputs)
    t_out, t_grads = _run(torch, fn, inputs)
    assert _dt(out) == _dt(t_out)
    assert tuple(out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(_np(out), _np(t_out), **tol)
    for g, tg in zip(grads, t_grads):
        assert _dt(g) == _dt(tg)
        np.testing.assert_allclose(_np(g), _np(tg), **tol)


# each case: fn(module, *leaves) and the leaves' kinds ("z": complex, "x": real)
CASES = {
    "mul": (lambda m, z: z * (z + 1j), "z"),
    "mul_real": (lambda m, z, x: z * x, "zx"),
    "div": (lambda m, z: (z + 3) / (z * z + 1), "z"),
    "div_real": (lambda m, z, x: x / (z + 2), "zx"),
    "add_sub_neg": (lambda m, z, x: -(z - x) + 2.5 - z * 1j, "zx"),
    "scalar_complex": (lambda m, x: x * (1 - 2j) + 0.5j, "x"),
    "exp": (lambda m, z: z.exp(), "z"),
    "log_sqrt": (lambda m, z: z.log() + z.sqrt(), "z"),
    "sin_cos_recip": (lambda m, z: z.sin() * z.cos() + z.reciprocal(), "z"),
    "pow2": (lambda m, z: z ** 2, "z"),
    "abs": (lambda m, z: z.abs(), "z"),
    "angle": (lambda m, z: m.angle(z), "z"),
    "real_imag": (lambda m, z: z.real * 2 - z.imag, "z"),
    "torch_real_imag": (lambda m, z: m.real(z) * m.imag(z), "z"),
    "conj": (lambda m, z: m.conj(z) * z[0], "z"),
    "sum_mean": (lambda m, z: z.sum(0) + z.mean(1, keepdim=True), "z"),
    "view_as_real": (lambda m, z: m.view_as_real(z), "z"),
    "view_as_complex": (lambda m, x: m.view_as_complex(x.reshape(3, 2, 2)), "x"),
    "complex": (lambda m, x: m.complex(x, x * x), "x"),
    "polar": (lambda m, x: m.polar(x.exp(), x * 2), "x"),
    "index_reshape": (lambda m, z: z[1:, ::2].reshape(-1).flip(0) * z[0, 0], "z"),
    "transpose_cat": (lambda m, z: m.cat([z.T, z.T * 1j], 0), "z"),
    "sgn": (lambda m, z: m.sgn(z) * z, "z"),
    "pow_half": (lambda m, z: (z + 3) ** 0.5, "z"),
    "vdot": (lambda m, z, w: m.vdot(z[0], w[1] * 2), "zz"),
    "where_full": (lambda m, z: m.where(z.real > 0, z, m.full((3, 4), 1 - 1j)), "z"),
    "matmul": (lambda m, z, w: z @ w.T + (z @ z.T)[0], "zz"),
    "einsum": (lambda m, z, w: m.einsum("ij,kj->ik", z, w * 1j), "zz"),
    "linear": (lambda m, z, w: m.nn.functional.linear(z, w[:2], w[2, :2]), "zz"),
}


def _inputs(kinds, complex_dtype):
    real = "float64" if complex_dtype == "complex128" else "float32"
    return [(Z, complex_dtype) if k == "z" else (X, real) for k in kinds]


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(backend, name, dtype):
    fn, kinds = CASES[name]
    check_like_torch(fn, _inputs(kinds, dtype), TOL[dtype])


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_complex128(host_backend, name):
    fn, kinds = CASES[name]
    leaves = [_leaf(xpnn, d, dt) for d, dt in _inputs(kinds, "complex128")]
    assert xpnn.gradcheck(lambda *ts: fn(xpnn, *ts), *leaves)


# -- dtypes and promotion -----------------------------------------------------------------------
DTYPES = ["bool", "int64", "float32", "float64", "complex64", "complex128"]


def test_dtype_names_and_aliases():
    assert xpnn.cfloat == xpnn.complex64 and xpnn.cdouble == xpnn.complex128
    assert xpnn.complex64 == torch.complex64 and xpnn.complex128.is_complex
    assert not xpnn.complex64.is_floating_point and xpnn.complex64.itemsize == 8
    assert xpnn.finfo(xpnn.complex64).eps == torch.finfo(torch.complex64).eps


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("b", DTYPES)
def test_promotion_matches_torch(backend, a, b):
    assert xpnn.promote_types(a, b) == str(torch.promote_types(
        getattr(torch, a), getattr(torch, b))).split(".")[-1]
    for na, nb in ((1, 1), (0, 1), (1, 0)):  # dimensioned and 0-d operands
        x, y = xpnn.ones((2,) * na, dtype=a), xpnn.ones((2,) * nb, dtype=b)
        tx, ty = torch.ones((2,) * na, dtype=getattr(torch, a)), \
            torch.ones((2,) * nb, dtype=getattr(torch, b))
        want = str((tx * ty).dtype).split(".")[-1]
        assert str(xpnn.result_type(x, y)) == want
        assert xpnn.backend.dtype_name((x * y).dtype) == want
    for s in (2, 1.5, 1 + 2j):
        x, tx = xpnn.ones(2, dtype=a), torch.ones(2, dtype=getattr(torch, a))
        want = str((tx * s).dtype).split(".")[-1]
        assert xpnn.backend.dtype_name((x * s).dtype) == want, s


def test_tensor_from_complex_data_follows_the_default_dtype(backend):
    # DType on the left: array-api-strict's dtypes compare only among themselves
    assert xpnn.complex64 == xpnn.tensor([1 + 2j]).dtype
    assert xpnn.complex64 == xpnn.tensor(np.array([1j], dtype=np.complex64)).dtype
    xpnn.set_default_dtype(xpnn.float64)
    try:
        assert xpnn.complex128 == xpnn.tensor([1 + 2j]).dtype
        assert xpnn.float64 == xpnn.tensor([1.0]).dtype
    finally:
        xpnn.set_default_dtype(xpnn.float32)


def test_is_complex_real_and_imag(backend):
    z, x = xpnn.tensor([1 + 2j, -3j]), xpnn.tensor([1.0, 2.0])
    assert z.is_complex() and xpnn.is_complex(z) and not x.is_complex()
    assert x.real is x and xpnn.real(x) is x
    np.testing.assert_array_equal(to_np(z.real), [1, 0])
    np.testing.assert_array_equal(to_np(z.imag), [2, -3])
    assert xpnn.float32 == z.real.dtype and xpnn.float32 == z.imag.dtype
    np.testing.assert_array_equal(to_np(z.isreal()), [False, False])
    with pytest.raises(RuntimeError, match="imag is not implemented for tensors with "
                                           "non-complex dtypes"):
        x.imag
    with pytest.raises(RuntimeError, match="view_as_real is only supported for complex"):
        xpnn.view_as_real(x)
    with pytest.raises(RuntimeError, match="last dimension of size 2, got shape"):
        xpnn.view_as_complex(xpnn.ones(2, 3))
    with pytest.raises(RuntimeError, match="complex: expected real to be float32 or float64"):
        xpnn.complex(xpnn.ones(2, dtype=xpnn.int64), xpnn.ones(2, dtype=xpnn.int64))
    with pytest.raises(RuntimeError, match="same dtype, got float32 and float64"):
        xpnn.complex(xpnn.ones(2), xpnn.ones(2, dtype=xpnn.float64))


def test_to_real_keeps_the_real_part_and_its_gradient(backend):
    z = xpnn.tensor([1 + 2j, -3 + 1j], requires_grad=True)
    r = z.to(xpnn.float32)
    np.testing.assert_array_equal(to_np(r), [1, -3])
    (r * 2).sum().backward()
    np.testing.assert_array_equal(to_np(z.grad), [2, 2])


@pytest.mark.parametrize("data", [[1 + 2j, 3 - 4j], [2.1398289 + 2.9415188j, 22.56 - 41.79j],
                                  [[1e-5 + 1j, 3.5], [1e9 - 2j, -1 - 1j]], [0j],
                                  [1j, -2j, 0.5 + 0.5j]])
def test_printing_matches_torch(data):
    assert repr(xpnn.tensor(data)).replace("xpnn", "torch") == repr(torch.tensor(data))
    got = repr(xpnn.tensor(data, dtype=xpnn.complex128)).replace("xpnn", "torch")
    assert got == repr(torch.tensor(data, dtype=torch.complex128))


def test_matmul_forward(backend):
    # values only: the complex gradient of matmul needs conj in functional/linalg.py's
    # MatMul.backward (not in this slice)
    a = Z.astype(np.complex64)
    got = xpnn.tensor(a) @ xpnn.tensor(a.T)
    np.testing.assert_allclose(to_np(got), (torch.tensor(a) @ torch.tensor(a.T)).numpy(),
                               **TOL["complex64"])


# -- ops without a complex form ----------------------------------------------------------------
REFUSED = {
    "relu": (lambda m, z: m.relu(z), NotImplementedError),
    "lt": (lambda m, z: z < z, NotImplementedError),
    "ge_scalar": (lambda m, z: z >= 1, NotImplementedError),
    "max": (lambda m, z: z.max(), NotImplementedError),
    "max_dim": (lambda m, z: z.max(0), RuntimeError),
    "argmax": (lambda m, z: z.argmax(), RuntimeError),
    "sort": (lambda m, z: z.sort(), RuntimeError),
    "topk": (lambda m, z: z.topk(1), RuntimeError),
    "maximum": (lambda m, z: m.maximum(z, z), RuntimeError),
    "clamp": (lambda m, z: z.clamp(0, 1), NotImplementedError),
    "floor": (lambda m, z: z.floor(), NotImplementedError),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_ops_without_complex_form_raise_torchs_class(backend, name):
    fn, err = REFUSED[name]
    with pytest.raises(err):
        fn(torch, torch.tensor([1 + 2j, 3 - 1j]))
    with pytest.raises(err, match="not supported for complex tensors .got complex64"):
        fn(xpnn, xpnn.tensor([1 + 2j, 3 - 1j]))


# -- eig ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_eig_matches_torch(backend, dtype):
    a = RNG.standard_normal((2, 4, 4))
    w, v = xpnn.linalg.eig(xpnn.tensor(a, dtype=dtype))
    tw, tv = torch.linalg.eig(torch.tensor(a, dtype=getattr(torch, dtype)))
    tol = TOL["complex64" if dtype == "float32" else "complex128"]
    assert _dt(w) == _dt(tw) and _dt(v) == _dt(tv)
    # the same LAPACK routine (geev) on every host backend, so the same order; compare
    # A v = w v rather than the vectors' phases
    np.testing.assert_allclose(to_np(w), tw.numpy(), rtol=tol["rtol"] * 100, atol=1e-4)
    np.testing.assert_allclose(a @ to_np(v), to_np(v) * to_np(w)[..., None, :],
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_np(xpnn.linalg.eigvals(xpnn.tensor(a, dtype=dtype))),
                               to_np(w), **tol)


def test_second_derivatives_match_torch(backend):
    # create_graph through the complex paths: the recorded backwards conjugate as the
    # first-order ones do
    def grads(m):
        z = m.tensor(Z[0], dtype=m.complex128, requires_grad=True)
        y = z * z.exp() / (z + 2) + z.sin() * z.cos() + z.sqrt().reciprocal() + z.log()
        y = m.view_as_complex(m.view_as_real(y) * 2) + m.conj(z) * m.complex(z.real, z.imag)
        y = y * z.abs() + m.sgn(z)
        w = m.tensor([1 - 1j, 2j, 0.5, -1], dtype=m.complex128)
        g, = m.autograd.grad((y * w).real.sum(), z, create_graph=True)
        g2, = m.autograd.grad((g * w.conj()).real.sum(), z)
        return _np(g), _np(g2)

    for got, want in zip(grads(xpnn), grads(torch)):
        np.testing.assert_allclose(got, want, **TOL["complex128"])


def test_assert_close_and_conversions(backend):
    z = xpnn.tensor([1 + 2j, 3 - 1j])
    xpnn.testing.assert_close(z, z * 1)
    with pytest.raises(AssertionError, match="not close"):
        xpnn.testing.assert_close(z, z + 1e-3j)
    assert complex(z[0]) == 1 + 2j and z[1].item() == 3 - 1j
    assert z.tolist() == [1 + 2j, 3 - 1j]
    y = z.clone()
    y.exp_()
    np.testing.assert_allclose(to_np(y), np.exp(to_np(z)), rtol=1e-6)


def test_complex_draws(backend):
    # PyTorch's layout: randn's parts each N(0, 1/2) (E|z|^2 = 1), rand's each U[0, 1)
    z = xpnn.randn(20000, dtype=xpnn.cfloat)
    assert xpnn.complex64 == z.dtype
    assert abs(float((z.abs() ** 2).mean()) - 1) < 0.05
    assert abs(float(z.real.std()) - 0.5 ** 0.5) < 0.02
    r = xpnn.rand(3, 2, dtype=xpnn.cdouble)
    assert xpnn.complex128 == r.dtype
    parts = np.stack([to_np(r.real), to_np(r.imag)])
    assert (parts >= 0).all() and (parts < 1).all()


def test_writes_into_a_complex_tensor_match_torch(backend):
    # FNO's out_ft[:, :, :m1, :m2] = ...: gradients through indexed writes
    w0 = RNG.standard_normal((2, 2)) + 1j * RNG.standard_normal((2, 2))

    def run(m):
        w = m.tensor(w0, dtype=m.complex64, requires_grad=True)
        x = m.tensor(X[:, :4], dtype=m.float32, requires_grad=True)
        F = m.fft.fft(x)
        out = m.zeros(3, 4, dtype=m.complex64)
        out[:2, :2] = F[:2, :2] * w
        out[2, 3] = F[2, 3] * 2j
        y = m.fft.ifft(out).abs().sum()
        y.backward()
        return _np(y), _np(w.grad), _np(x.grad)

    for got, want in zip(run(xpnn), run(torch)):
        np.testing.assert_allclose(got, want, **TOL["complex64"])
