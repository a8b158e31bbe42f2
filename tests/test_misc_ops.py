"""PyTorch's smaller torch.* functions and Tensor members (xpnn/functional/misc.py,
xpnn/creation_more.py, the additions to xpnn.linalg and xpnn/tensor.py): each case is called
the same way on ``xpnn`` and ``torch`` and compared in shape, dtype and value (tests/
torch_same.py), on every backend; differentiable ones get a float64 gradcheck and their
gradients compared with torch's."""
import math
import warnings

import numpy as np
import pytest
from conftest import to_np

import xpnn

torch = pytest.importorskip("torch")
from torch_same import raises_like, same  # noqa: E402


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def _m(m):
    return m.tensor([[1., -2., 3.5, 0.], [2., 4., -1., 7.], [0.5, 0., 2., 1.]])


CASES = {
    # top-level forms of Tensor methods
    "clone": lambda m: m.clone(_m(m)),
    "detach": lambda m: m.detach(_m(m)),
    "relu_": lambda m: m.relu_(_m(m)),
    "sigmoid_": lambda m: m.sigmoid_(_m(m)),
    "zero_": lambda m: m.zero_(_m(m)),
    "fill_": lambda m: m.fill_(_m(m), 2.5),
    "clamp_": lambda m: m.clamp_(_m(m), -1, 1),
    "ger": lambda m: m.ger(m.tensor([1., 2]), m.tensor([3., 4, 5])),
    "fix": lambda m: m.fix(_m(m) / 3),
    "is_complex": lambda m: m.is_complex(_m(m)),
    "is_signed": lambda m: (m.is_signed(_m(m)), m.is_signed(m.tensor([1], dtype=m.uint8))),
    "is_same_size": lambda m: m.is_same_size(_m(m), _m(m)[0:3]),
    "unsafe_chunk": lambda m: m.unsafe_chunk(_m(m), 2, 1),
    "unsafe_split": lambda m: m.unsafe_split(_m(m), 3, 1),
    "split_with_sizes": lambda m: m.split_with_sizes(_m(m), [1, 3], 1),
    # the complex API on real tensors
    "real": lambda m: m.real(_m(m)),
    "conj": lambda m: (m.conj(_m(m)), _m(m).conj(), _m(m).resolve_conj(), _m(m).resolve_neg()),
    "conj_physical": lambda m: m.conj_physical(_m(m)),
    "is_conj_neg": lambda m: (m.is_conj(_m(m)), m.is_neg(_m(m)), _m(m).is_conj()),
    "real_property": lambda m: _m(m).real,
    "angle": lambda m: m.angle(m.tensor([-1., 0., 2., -math.inf, math.inf, math.nan])),
    "angle_int": lambda m: m.angle(m.tensor([-1, 0, 2])),
    "adjoint": lambda m: (m.adjoint(_m(m)), _m(m).adjoint(), _m(m).H),
    "positive": lambda m: m.positive(_m(m)),
    "rsub": lambda m: (m.rsub(_m(m), 2.), m.rsub(_m(m), _m(m) * 3, alpha=2)),
    "is_nonzero": lambda m: (m.is_nonzero(m.tensor([0.])), m.is_nonzero(m.tensor(3))),
    # statistics
    "cov": lambda m: m.cov(_m(m)),
    "cov_1d": lambda m: m.cov(m.tensor([1., 4., 2., 8.])),
    "cov_correction0": lambda m: m.cov(_m(m), correction=0),
    "cov_weights": lambda m: m.cov(_m(m), fweights=m.tensor([1, 2, 1, 3]),
                                   aweights=m.tensor([.5, 1., 2., .25])),
    "cov_fweights": lambda m: m.cov(_m(m), fweights=m.tensor([1, 2, 1, 3])),
    "cov_int": lambda m: m.cov(m.tensor([[1, 2, 3], [2, 4, 7]])),
    "cov_method": lambda m: _m(m).cov(correction=2),
    "corrcoef": lambda m: m.corrcoef(_m(m)),
    "corrcoef_1d": lambda m: m.corrcoef(m.tensor([1., 4., 2.])),
    "histogram": lambda m: m.histogram(_m(m), 4),
    "histogram_range": lambda m: m.histogram(_m(m), 5, range=(-1., 3.)),
    "histogram_edges": lambda m: m.histogram(_m(m), m.tensor([-2., 0., 1., 5.])),
    "histogram_weight_density": lambda m: m.histogram(_m(m), 3, weight=_m(m).abs(),
                                                      density=True),
    "histogram_point": lambda m: m.histogram(m.tensor([2., 2., 2.]), 4),
    "histogram_empty": lambda m: m.histogram(m.ones(0), 3),
    "histogram_method": lambda m: _m(m).histogram(3),
    # bits of floats
    "frexp": lambda m: m.frexp(m.tensor([0., 1., -3., 0.375, 1024., 1e-40, -7.5e30,
                                         math.inf, -math.inf, math.nan])),
    "frexp_f64": lambda m: m.frexp(m.tensor([1e-310, 3., -0.1, 2. ** 1000],
                                            dtype=m.float64)),
    "frexp_method": lambda m: (_m(m).frexp().mantissa, _m(m).frexp().exponent),
    "nextafter": lambda m: m.nextafter(m.tensor([1., 0., -2.]), m.tensor([2., -1., -2.])),
    "nextafter_f64": lambda m: m.tensor([1.], dtype=m.float64).nextafter(
        m.tensor([0.], dtype=m.float64)),
    # indices and scatters
    "unravel_index": lambda m: m.unravel_index(m.tensor([[0, 5], [7, 23]]), (2, 3, 4)),
    "unravel_index_negative": lambda m: m.unravel_index(m.tensor([-1, -24]), (2, 3, 4)),
    "select_scatter": lambda m: m.select_scatter(_m(m), m.tensor([9., 8., 7.]), 1, -2),
    "slice_scatter": lambda m: m.slice_scatter(_m(m), m.ones(3, 2), 1, 1, 4, 2),
    "slice_scatter_default": lambda m: _m(m).slice_scatter(m.zeros(3, 4)),
    "chain_matmul": lambda m: _quiet(lambda: m.chain_matmul(_m(m), _m(m).T, _m(m))),
    "index_reduce": lambda m: _quiet(lambda: m.ones(4, 2).index_reduce(
        0, m.tensor([0, 2, 0]), _m(m)[:, :2], "prod")),
    "index_reduce_mean": lambda m: _quiet(lambda: m.ones(4, 2).index_reduce(
        0, m.tensor([0, 2, 0]), _m(m)[:, :2], "mean", include_self=False)),
    "index_reduce_": lambda m: _quiet(lambda: m.zeros(2, 4).index_reduce_(
        1, m.tensor([1, 1, 0, 1]), _m(m)[:2], "amax")),
    # creation
    "hann": lambda m: (m.hann_window(8), m.hann_window(7, periodic=False),
                       m.hann_window(1), m.hann_window(0)),
    "hamming": lambda m: (m.hamming_window(9), m.hamming_window(6, False, alpha=.5, beta=.4)),
    "blackman": lambda m: (m.blackman_window(10), m.blackman_window(5, periodic=False)),
    "bartlett": lambda m: (m.bartlett_window(8), m.bartlett_window(7, False)),
    "kaiser": lambda m: (m.kaiser_window(8), m.kaiser_window(9, False, beta=5.)),
    "window_f64": lambda m: m.hann_window(6, dtype=m.float64),
    "scalar_tensor": lambda m: (m.scalar_tensor(3), m.scalar_tensor(2.5, dtype=m.float64)),
    "asarray": lambda m: (m.asarray([1, 2]), m.asarray([1., 2.]),
                          m.asarray(_m(m), dtype=m.float64)),
    "vander": lambda m: (m.vander(m.tensor([1., 2., 3.])), m.vander(m.tensor([1., 2.]), N=3,
                                                                    increasing=True),
                         m.vander(m.tensor([2., 3.]), N=0), m.vander(m.tensor([1, 2, 3]))),
    # linalg
    "matrix_exp": lambda m: m.linalg.matrix_exp(_m(m)[:, :3] / 2),
    # in float64: a float32 result's entries are good to eps times its norm, not each to its
    # own size (an AMD Zen 5 host's torch parted one entry of 552 by 1.4e-5 relative)
    "matrix_exp_big": lambda m: m.matrix_exp(_m(m)[:, :3].double() * 3),
    "matrix_exp_batch": lambda m: m.linalg.matrix_exp(m.stack([_m(m)[:, :3], -_m(m)[:, 1:]])),
    "matrix_exp_zero": lambda m: (m.linalg.matrix_exp(m.zeros(2, 2)),
                                  m.linalg.matrix_exp(m.zeros(3, 0, 0))),
    "matrix_exp_method": lambda m: (_m(m)[:, 1:] / 4).matrix_exp(),
    "linalg_vander": lambda m: (m.linalg.vander(m.tensor([[1., 2.], [3., -1.]])),
                                m.linalg.vander(m.tensor([1, 2, 3]), N=4)),
    "cond": lambda m: [m.linalg.cond(_m(m)[:, :3], p) for p in
                       (None, 2, -2, "fro", "nuc", math.inf, -math.inf, 1, -1)],
    "cond_rect": lambda m: m.linalg.cond(_m(m)),
    "cond_singular": lambda m: [m.linalg.cond(m.ones(2, 2, 2), p) for p in ("fro", 1, math.inf)],
    "solve_ex": lambda m: m.linalg.solve_ex(_m(m)[:, :3], m.tensor([1., 2., 3.])),
    "solve_ex_singular": lambda m: m.linalg.solve_ex(m.ones(2, 2), m.ones(2, 1)).info,
    "tensorinv": lambda m: m.linalg.tensorinv((m.eye(6) * 2 + 0.5).reshape(2, 3, 6), ind=2),
    "tensorsolve": lambda m: m.linalg.tensorsolve((m.eye(6) * 2 + 0.5).reshape(2, 3, 2, 3),
                                                  m.ones(2, 3)),
    "tensorsolve_dims": lambda m: m.linalg.tensorsolve(
        (m.eye(6) * 2 + 0.5).reshape(2, 3, 6).permute(2, 0, 1), m.ones(2, 3), dims=(0,)),
    "householder_product": lambda m: (m.linalg.householder_product(_m(m)[:, :2],
                                                                   m.tensor([.5, 1.2])),
                                      m.orgqr(_m(m).T, m.tensor([1.5, .2, .7])),
                                      _m(m).T.orgqr(m.tensor([1.])),
                                      m.linalg.householder_product(m.stack([_m(m).T] * 2),
                                                                   m.ones(2, 2))),
    # Tensor members
    "stride": lambda m: (_m(m).stride(), _m(m).stride(0), _m(m).stride(-1), m.ones(()).stride(),
                         m.ones(2, 0, 3).stride()),
    "storage_offset": lambda m: _m(m).storage_offset(),
    "flags": lambda m: (_m(m).is_sparse, _m(m).is_quantized, _m(m).is_meta, _m(m).is_pinned(),
                        _m(m).is_nested, _m(m).layout == m.strided, str(_m(m).layout)[-7:]),
    "to_dense": lambda m: _m(m).to_dense(),
    "cholesky_solve": lambda m: m.tensor([[2., 0.], [1., 3.]]).cholesky_inverse(),
    "typename": lambda m: (m.typename(_m(m))[-11:], m.typename(m.ones(2, dtype=m.int64))[-10:],
                           m.typename(3)),
}

RAISES = {
    "imag": lambda m: m.imag(_m(m)),
    "imag_property": lambda m: _m(m).imag,
    "positive_bool": lambda m: m.positive(m.tensor([True])),
    "is_nonzero_many": lambda m: m.is_nonzero(m.ones(2)),
    "is_nonzero_empty": lambda m: m.is_nonzero(m.ones(0)),
    "adjoint_1d": lambda m: m.adjoint(m.ones(3)),
    "H_3d": lambda m: m.ones(2, 2, 2).H,
    "cov_3d": lambda m: m.cov(m.ones(2, 2, 2)),
    "cov_fweights_float": lambda m: m.cov(_m(m), fweights=m.ones(4)),
    "cov_aweights_int": lambda m: m.cov(_m(m), aweights=m.ones(4, dtype=m.int64)),
    "cov_weights_size": lambda m: m.cov(_m(m), fweights=m.ones(3, dtype=m.int64)),
    "histogram_int": lambda m: m.histogram(m.tensor([1, 2]), 2),
    "frexp_int": lambda m: m.frexp(m.tensor([1, 2])),
    "split_with_sizes_sum": lambda m: m.split_with_sizes(_m(m), [1, 2], 1),
    "select_scatter_shape": lambda m: m.select_scatter(_m(m), m.ones(4), 1, 0),
    "select_scatter_index": lambda m: m.select_scatter(_m(m), m.ones(3), 1, 4),
    "slice_scatter_shape": lambda m: m.slice_scatter(_m(m), m.ones(3, 3), 1, 0, 2),
    "unravel_float": lambda m: m.unravel_index(m.tensor([1.]), (2, 3)),
    "unravel_negative_shape": lambda m: m.unravel_index(m.tensor([1]), (2, -3)),
    "matrix_exp_int": lambda m: m.linalg.matrix_exp(m.ones(2, 2, dtype=m.int64)),
    "matrix_exp_rect": lambda m: m.linalg.matrix_exp(m.ones(2, 3)),
    "linalg_vander_N1": lambda m: m.linalg.vander(m.ones(3), N=1),
    "vander_2d": lambda m: m.vander(m.ones(2, 2)),
    "tensorinv_shape": lambda m: m.linalg.tensorinv(m.ones(2, 3, 4), ind=1),
    "householder_wide": lambda m: m.linalg.householder_product(m.ones(2, 3), m.ones(2)),
    "householder_tau": lambda m: m.linalg.householder_product(m.ones(3, 2), m.ones(3)),
    "hann_int_dtype": lambda m: m.hann_window(4, dtype=m.int64),
    "window_negative": lambda m: m.hann_window(-1),
    "index_reduce_sum": lambda m: m.ones(3).index_reduce(0, m.tensor([0]), m.ones(1), "sum"),
    "stride_dim": lambda m: m.ones(2, 3).stride(2),
}

HOST_CHECKS = set()


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(backend, name):
    same(CASES[name](xpnn), CASES[name](torch))


@pytest.mark.parametrize("name", sorted(RAISES))
def test_raises_like_torch(backend, name):
    raises_like(RAISES[name], host_only=name in HOST_CHECKS)


def test_identity_and_aliases():
    """The functions that return their input itself do so, as PyTorch's."""
    x = xpnn.ones(2, 3)
    for fn in (xpnn.real, xpnn.conj, xpnn.conj_physical, xpnn.resolve_conj, xpnn.resolve_neg,
               xpnn.positive):
        assert fn(x) is x
    assert x.real is x and x.to_dense() is x
    assert xpnn.relu_(x) is x and xpnn.clone(x) is not x
    assert xpnn.asarray(x) is x and xpnn.asarray(x, copy=True) is not x


def test_data_ptr_follows_memory(host_backend):
    """data_ptr: the same for a tensor and its detached alias, another for a copy."""
    x = xpnn.ones(3, 4)
    assert x.data_ptr() == x.detach().data_ptr() != x.clone().data_ptr()
    assert isinstance(x.data_ptr(), int)


def test_range_is_inclusive_and_warns():
    for m in (torch, xpnn):
        with pytest.warns(UserWarning):
            r = m.range(1, 4, 0.5)
        assert to_np(r).tolist() == [1, 1.5, 2, 2.5, 3, 3.5, 4] and r.dtype == m.float32
    with pytest.warns(UserWarning):
        assert xpnn.range(0, 6, 2, dtype=xpnn.int64).tolist() == [0, 2, 4, 6]


def test_chain_matmul_warns_as_deprecated():
    with pytest.warns(UserWarning, match="deprecated"):  # torch warns once a process
        xpnn.chain_matmul(xpnn.ones(2, 3), xpnn.ones(3, 2))


def test_where_xpnn_refuses_what_torch_lets_through(host_backend):
    """Flat indices outside the shape: torch wraps them silently, xpnn raises (on host
    memory, where the check is free); an int index works (torch wants a tensor)."""
    with pytest.raises(IndexError):
        xpnn.unravel_index(xpnn.tensor([24]), (2, 3, 4))
    assert [int(t) for t in xpnn.unravel_index(17, (4, 5))] == [3, 2]
    with pytest.raises(xpnn.linalg.LinAlgError):
        xpnn.linalg.solve_ex(xpnn.ones(2, 2), xpnn.ones(2), check_errors=True)


def test_interop_threads_set_once():
    import xpnn.functional.misc as misc
    saved = dict(misc._interop)
    try:
        misc._interop.update(threads=None, set=False)
        assert xpnn.get_num_interop_threads() >= 1
        xpnn.set_num_interop_threads(3)
        assert xpnn.get_num_interop_threads() == 3
        with pytest.raises(RuntimeError):
            xpnn.set_num_interop_threads(2)
    finally:
        misc._interop.update(saved)


def _grads(m, fn, *arrays):
    xs = [m.tensor(a, dtype=m.float64, requires_grad=True) for a in arrays]
    out = fn(m, *xs)
    (out * m.arange(out.numel(), dtype=m.float64).reshape(out.shape).cos()).sum().backward()
    return [out] + [x.grad for x in xs]


rng = np.random.default_rng(0)
A = rng.standard_normal((3, 3))
V = rng.standard_normal((3, 5))
GRADS = {
    "matrix_exp": (lambda m, a: m.linalg.matrix_exp(a), A),
    "matrix_exp_scaled": (lambda m, a: m.linalg.matrix_exp(a * 4), A),
    "cov": (lambda m, v: m.cov(v), V),
    "cov_weights": (lambda m, v: m.cov(v, fweights=m.tensor([1, 2, 1, 1, 3]),
                                       aweights=m.tensor([.5, 1, 2, 1, .2],
                                                         dtype=m.float64)), V),
    "corrcoef": (lambda m, v: m.corrcoef(v), V),
    "select_scatter": (lambda m, a, s: m.select_scatter(a, s, 0, 1), A, A[0]),
    "slice_scatter": (lambda m, a, s: m.slice_scatter(a, s, 1, 0, 3, 2), A, A[:, :2]),
    "vander": (lambda m, v: m.linalg.vander(v[0], N=4), V),
    "angle": (lambda m, a: m.angle(a), A),
    "cond": (lambda m, a: m.linalg.cond(a).reshape(1), A),
    "tensorinv": (lambda m, a: m.linalg.tensorinv(a.reshape(3, 3), ind=1), A),
    "householder_product": (lambda m, v, t: m.linalg.householder_product(v.T, t[0, :2]), V,
                            V),
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_gradients_match_torch(backend, name):
    fn, *arrays = GRADS[name]
    got, want = _grads(xpnn, fn, *arrays), _grads(torch, fn, *arrays)
    for g, w in zip(got, want):
        np.testing.assert_allclose(to_np(g), w.detach().numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", ["matrix_exp", "matrix_exp_scaled", "cov", "corrcoef",
                                  "select_scatter", "vander", "cond", "householder_product"])
def test_gradcheck(host_backend, name):
    fn, *arrays = GRADS[name]
    xs = [xpnn.tensor(a, dtype=xpnn.float64, requires_grad=True) for a in arrays]
    assert xpnn.gradcheck(lambda *t: fn(xpnn, *t), xs)


def test_draws_have_the_rates(host_backend):
    """poisson and binomial: input's dtype and shape, means near the rates, reproducible
    under a generator."""
    rates = xpnn.tensor([0.5, 3., 40., 0.])
    draws = xpnn.poisson(rates.expand(4000, 4))
    assert str(draws.dtype).endswith("float32") and draws.shape == (4000, 4)
    np.testing.assert_allclose(to_np(draws.mean(0)), [0.5, 3, 40, 0], rtol=0.08, atol=0.05)
    n, p = xpnn.tensor([10., 100., 0.]), xpnn.tensor([0.3, 0.9, 0.5])
    b = xpnn.binomial(n.expand(4000, 3), p.expand(4000, 3))
    np.testing.assert_allclose(to_np(b.mean(0)), [3, 90, 0], rtol=0.05, atol=0.05)
    assert (to_np(b) <= to_np(n)).all()
    g1, g2 = xpnn.Generator().manual_seed(3), xpnn.Generator().manual_seed(3)
    assert xpnn.equal(xpnn.poisson(rates, g1), xpnn.poisson(rates, g2))
    with pytest.raises(RuntimeError):
        xpnn.poisson(xpnn.tensor([-1.]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xpnn.binomial(xpnn.tensor([5.]), xpnn.tensor([0.]))
