"""PyTorch names round 2: torch.dtype as a type, the unsigned dtypes, Tensor.stft/istft/
cfloat/cdouble/is_inference/apply_/map_/narrow_copy/new_empty_strided, torch.gradient,
torch.signal.windows, the deprecated norms, histogramdd, svd/pca_lowrank, the native-signature
norms and CTC loss, constant_pad_nd, empty_strided, frombuffer, default_generator, the global
switches and torch.quasirandom.SobolEngine, each compared with torch 2.13 on every backend.

Tolerances come from the dtype: float32 results within 50 eps of float32 (a handful of
roundings in a difference quotient or a window's cosine sum), float64 within 1e3 eps of
float64; integer and unscrambled Sobol' results exactly.
"""
import warnings

import numpy as np
import pytest
from conftest import to_np

import xpnn

torch = pytest.importorskip("torch")

EPS = {"float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps)}
TOL = {"float32": dict(rtol=50 * EPS["float32"], atol=50 * EPS["float32"]),
       "float64": dict(rtol=1e3 * EPS["float64"], atol=1e3 * EPS["float64"])}
RNG = np.random.default_rng(7)


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else to_np(t)


def _name(dt):
    return str(dt).split(".")[-1] if isinstance(dt, torch.dtype) else xpnn.backend.dtype_name(dt)


def _torch_quiet(fn, *args, **kwargs):
    """torch's deprecated names warn (pytest makes warnings errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# -- 1. dtypes -------------------------------------------------------------------------------
def test_dtype_is_a_type(backend):
    assert isinstance(xpnn.float32, xpnn.dtype) and isinstance(xpnn.uint64, xpnn.dtype)
    for dt in ("float32", "float64", "int64", "bool", "uint8", "complex64"):
        x = xpnn.zeros(2, dtype=getattr(xpnn, dt))
        assert isinstance(x.dtype, xpnn.dtype), (backend, x.dtype)
    for not_one in ("float32", float, int, np.float32, 3, None):
        assert not isinstance(not_one, xpnn.dtype)
    with pytest.raises(TypeError, match="cannot create"):
        xpnn.dtype()


@pytest.mark.parametrize("dt", ["uint16", "uint32", "uint64"])
def test_unsigned_dtypes(backend, dt):
    x = xpnn.tensor([1, 2, 65535], dtype=getattr(xpnn, dt))
    t = torch.tensor([1, 2, 65535], dtype=getattr(torch, dt))
    assert _name(x.dtype) == _name(t.dtype) == dt and getattr(xpnn, dt) == x.dtype
    np.testing.assert_array_equal(to_np(x), t.numpy())
    assert to_np(xpnn.zeros(3, dtype=getattr(xpnn, dt))).dtype == np.dtype(dt)
    f = x.to(xpnn.float32)
    np.testing.assert_array_equal(to_np(f), t.to(torch.float32).numpy())
    back = xpnn.tensor([1.7, 2.2]).to(getattr(xpnn, dt))  # truncation, as torch
    np.testing.assert_array_equal(to_np(back),
                                  torch.tensor([1.7, 2.2]).to(getattr(torch, dt)).numpy())
    # printing as torch's (xpnn adds the backend where it is not NumPy)
    assert repr(x).startswith(repr(t).replace("torch.", "xpnn.")[:-1])
    assert getattr(xpnn, dt).itemsize == getattr(torch, dt).itemsize
    assert xpnn.iinfo(getattr(xpnn, dt)).max == torch.iinfo(getattr(torch, dt)).max


# -- 2. Tensor methods -------------------------------------------------------------------------
def test_tensor_stft_istft_forward(backend):
    sig = RNG.standard_normal(64)
    x = xpnn.tensor(sig, dtype=xpnn.float64)
    win = xpnn.signal.windows.hann(16, sym=False, dtype=xpnn.float64)
    s = x.stft(16, hop_length=4, window=win, return_complex=True)
    np.testing.assert_allclose(to_np(s), to_np(xpnn.stft(x, 16, 4, window=win,
                                                         return_complex=True)))
    t = torch.tensor(sig).stft(16, hop_length=4, window=torch.hann_window(16,
                               dtype=torch.float64), return_complex=True)
    np.testing.assert_allclose(to_np(s), t.numpy(), **TOL["float64"])
    y = s.istft(16, hop_length=4, window=win, length=64)
    np.testing.assert_allclose(to_np(y), sig, **TOL["float64"])


@pytest.mark.parametrize("meth,want", [("cfloat", "complex64"), ("cdouble", "complex128")])
def test_cfloat_cdouble(backend, meth, want):
    data = RNG.standard_normal(4)
    x = xpnn.tensor(data, requires_grad=True)
    t = torch.tensor(data, dtype=torch.float32, requires_grad=True)
    y, u = getattr(x, meth)(), getattr(t, meth)()
    assert _name(y.dtype) == _name(u.dtype) == want
    np.testing.assert_allclose(to_np(y), u.detach().numpy(), **TOL["float32"])
    (y * y).real.sum().backward()
    (u * u).real.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), t.grad.numpy(), **TOL["float32"])


def test_is_inference(backend):
    x = xpnn.ones(2)
    assert x.is_inference() is False and xpnn.is_inference(x) is False
    assert torch.ones(2).is_inference() is False


def test_apply_map_match_torch(backend):
    data = RNG.standard_normal((2, 3))
    x, t = xpnn.tensor(data), torch.tensor(data, dtype=torch.float32)
    if not x._be.on_host:  # CUDA-like devices: torch's CPU-only refusal
        with pytest.raises(TypeError, match="only implemented on CPU"):
            x.apply_(lambda v: v)
        return
    assert x.apply_(lambda v: v * v + 1) is x
    t.apply_(lambda v: v * v + 1)
    np.testing.assert_allclose(to_np(x), t.numpy(), **TOL["float32"])
    o = xpnn.tensor(data[0])
    x.map_(o, lambda a, b: a - 2 * b)
    t.map_(torch.tensor(data[0], dtype=torch.float32), lambda a, b: a - 2 * b)
    np.testing.assert_allclose(to_np(x), t.numpy(), **TOL["float32"])
    i = xpnn.tensor([1, 2], dtype=xpnn.int64).apply_(lambda v: v * 2.5)  # truncated
    np.testing.assert_array_equal(to_np(i), torch.tensor([1, 2]).apply_(lambda v: v * 2.5))
    v0 = x._version
    x.apply_(lambda v: v)
    assert x._version > v0
    z = xpnn.zeros(2, 3)  # through views: the base sees the change, as torch's
    z[0].apply_(lambda v: 5.0)
    z[:, 1].map_(xpnn.ones(2), lambda a, b: a + b + 1)
    u = torch.zeros(2, 3)
    u[0].apply_(lambda v: 5.0)
    u[:, 1].map_(torch.ones(2), lambda a, b: a + b + 1)
    np.testing.assert_array_equal(to_np(z), u.numpy())


def test_apply_map_errors(backend):
    with pytest.raises(RuntimeError, match=r"Can't call apply_\(\) on Variable that "
                                           "requires grad"):
        xpnn.ones(2, requires_grad=True).apply_(lambda v: v)
    with pytest.raises(RuntimeError, match=r"Can't call map_\(\)"):
        xpnn.ones(2).map_(xpnn.ones(2, requires_grad=True), lambda a, b: a)
    with pytest.raises(TypeError, match="must be Tensor, not int"):
        xpnn.ones(2).map_(3, lambda a, b: a)
    with pytest.raises(TypeError, match="expected float32 for 'other'"):
        xpnn.ones(2).map_(xpnn.ones(2, dtype=xpnn.float64), lambda a, b: a)
    with pytest.raises(RuntimeError):
        xpnn.ones(3).map_(xpnn.ones(2, 3), lambda a, b: a)
    if xpnn.ones(1)._be.on_host:
        with pytest.raises(TypeError, match="must be real number, not str"):
            xpnn.ones(2).apply_(lambda v: "x")


def test_narrow_copy_and_new_empty_strided(backend):
    data = RNG.standard_normal((3, 5))
    x = xpnn.tensor(data, requires_grad=True)
    t = torch.tensor(data, dtype=torch.float32, requires_grad=True)
    y, u = x.narrow_copy(1, 1, 3), t.narrow_copy(1, 1, 3)
    np.testing.assert_array_equal(to_np(y), u.detach().numpy())
    w = RNG.standard_normal((3, 3))
    (y * xpnn.tensor(w)).sum().backward()
    (u * torch.tensor(w, dtype=torch.float32)).sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), t.grad.numpy())
    e = x.new_empty_strided((2, 4), (4, 1))
    assert tuple(e.shape) == (2, 4) and e.dtype == x.dtype and not e.requires_grad
    e = x.new_empty_strided((2, 4), (4, 1), dtype=xpnn.float64)
    assert xpnn.float64 == e.dtype
    with pytest.raises(RuntimeError, match="dimensionality of sizes"):
        x.new_empty_strided((2, 3), (3,))


# -- 3. torch.gradient ---------------------------------------------------------------------------
C0, C1 = np.array([0.0, 1.0, 3.0, 4.5]), np.array([0.0, 0.5, 1.0, 2.0, 4.0])
GRADIENT_CASES = {
    "default": {},
    "scalar_spacing": {"spacing": 2.0},
    "list_spacing": {"spacing": [2.0, 0.5]},
    "edge2": {"edge_order": 2},
    "dim1": {"dim": 1},
    "dims_edge2": {"dim": [1, 0], "spacing": [1.0, 3.0], "edge_order": 2},
    "coords": {"spacing": "coords"},
    "coords_edge2": {"spacing": "coords", "edge_order": 2},
    "coords_dim": {"spacing": "coords1", "dim": 1, "edge_order": 2},
}


def _gradient_run(m, data, kwargs, dt):
    kw = dict(kwargs)
    tdt = getattr(m, dt)
    if kw.get("spacing") == "coords":
        kw["spacing"] = (m.tensor(C0, dtype=tdt), m.tensor(C1, dtype=tdt))
    elif kw.get("spacing") == "coords1":
        kw["spacing"] = (m.tensor(C1, dtype=tdt),)
    x = m.tensor(data, dtype=tdt, requires_grad=True)
    outs = m.gradient(x, **kw)
    loss = sum((o * m.tensor(np.arange(o.numel()).reshape(o.shape) % 5 - 2.0, dtype=tdt)).sum()
               for o in outs)
    loss.backward()
    return outs, x.grad


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
def test_gradient_matches_torch(backend, case, dt):
    data = RNG.standard_normal((4, 5))
    outs, g = _gradient_run(xpnn, data, GRADIENT_CASES[case], dt)
    touts, tg = _gradient_run(torch, data, GRADIENT_CASES[case], dt)
    assert isinstance(outs, tuple) and len(outs) == len(touts)
    for o, u in zip(outs, touts):
        assert _name(o.dtype) == _name(u.dtype) and tuple(o.shape) == tuple(u.shape)
        np.testing.assert_allclose(to_np(o), _np(u), **TOL[dt])
    np.testing.assert_allclose(to_np(g), tg.numpy(), **TOL[dt])


@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
def test_gradient_gradcheck(host_backend, case):
    kw = dict(GRADIENT_CASES[case])
    x = xpnn.tensor(RNG.standard_normal((4, 5)), dtype=xpnn.float64, requires_grad=True)
    c0 = xpnn.tensor(C0, dtype=xpnn.float64, requires_grad=True)
    c1 = xpnn.tensor(C1, dtype=xpnn.float64, requires_grad=True)
    spacing = kw.pop("spacing", 1)

    def fn(x, c0, c1):
        s = (c0, c1) if spacing == "coords" else (c1,) if spacing == "coords1" else spacing
        return xpnn.gradient(x, spacing=s, **kw)
    assert xpnn.gradcheck(fn, (x, c0, c1))


def test_gradient_integer_and_errors(backend):
    got = xpnn.gradient(xpnn.tensor([1, 4, 9, 16]))
    want = torch.gradient(torch.tensor([1, 4, 9, 16]))
    assert _name(got[0].dtype) == _name(want[0].dtype) == "float32"
    np.testing.assert_array_equal(to_np(got[0]), want[0].numpy())
    assert xpnn.gradient(xpnn.tensor(1.0)) == ()
    with pytest.raises(RuntimeError, match="only supports edge_order=1 and edge_order=2"):
        xpnn.gradient(xpnn.ones(3, 4), edge_order=3)
    with pytest.raises(RuntimeError, match="at least edge_order\\+1"):
        xpnn.gradient(xpnn.ones(2), edge_order=2)
    with pytest.raises(RuntimeError, match="list of length equal to 'self.dim\\(\\) = 2'"):
        xpnn.gradient(xpnn.ones(3, 4), spacing=[1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="appears multiple times"):
        xpnn.gradient(xpnn.ones(3), dim=(0, 0))
    with pytest.raises(IndexError):
        xpnn.gradient(xpnn.ones(3), dim=3)
    with pytest.raises(TypeError, match="got a Tensor"):
        xpnn.gradient(xpnn.ones(4), spacing=xpnn.arange(4.0))
    # torch returns NaN for coordinates of the wrong length; xpnn refuses them
    with pytest.raises(RuntimeError, match="1-D tensor of size 4"):
        xpnn.gradient(xpnn.ones(3, 4), spacing=(xpnn.ones(3), xpnn.ones(3)))


# -- 4. torch.signal.windows ----------------------------------------------------------------------
WINDOWS = {"bartlett": {}, "blackman": {}, "cosine": {}, "exponential": {"tau": 2.5},
           "gaussian": {"std": 1.7}, "general_cosine": {"a": [0.46, 0.3, 0.24]},
           "general_hamming": {"alpha": 0.6}, "hamming": {}, "hann": {},
           "kaiser": {"beta": 5.0}, "nuttall": {}}


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(WINDOWS))
def test_windows_match_torch(backend, name, dt):
    for M in (0, 1, 2, 7, 16):
        for sym in (True, False):
            got = getattr(xpnn.signal.windows, name)(M, sym=sym, dtype=getattr(xpnn, dt),
                                                     **WINDOWS[name])
            want = getattr(torch.signal.windows, name)(M, sym=sym, dtype=getattr(torch, dt),
                                                       **WINDOWS[name])
            assert _name(got.dtype) == dt and tuple(got.shape) == tuple(want.shape)
            np.testing.assert_allclose(to_np(got), want.numpy(), **TOL[dt])
    w = getattr(xpnn.signal.windows, name)(5, requires_grad=True, **WINDOWS[name])
    assert w.requires_grad and w.is_leaf and xpnn.float32 == w.dtype


def test_window_options_and_errors(backend):
    got = xpnn.signal.windows.exponential(9, center=2.0, sym=False)
    want = torch.signal.windows.exponential(9, center=2.0, sym=False)
    np.testing.assert_allclose(to_np(got), want.numpy(), **TOL["float32"])
    with pytest.raises(ValueError, match="Center must be None for symmetric windows"):
        xpnn.signal.windows.exponential(4, center=1.0)
    with pytest.raises(ValueError, match="requires non-negative window length, got M=-1"):
        xpnn.signal.windows.hann(-1)
    with pytest.raises(ValueError, match="expects float32 or float64 dtypes"):
        xpnn.signal.windows.hann(4, dtype=xpnn.int64)
    with pytest.raises(ValueError, match="Standard deviation must be positive"):
        xpnn.signal.windows.gaussian(4, std=0.0)
    with pytest.raises(ValueError, match="beta must be non-negative"):
        xpnn.signal.windows.kaiser(4, beta=-1.0)
    with pytest.raises(TypeError, match="Coefficients must be a list/tuple"):
        xpnn.signal.windows.general_cosine(4, a=0.5)
    with pytest.raises(ValueError, match="Coefficients cannot be empty"):
        xpnn.signal.windows.general_cosine(4, a=[])


# -- 5. norms, lowrank, histogramdd ---------------------------------------------------------------
NORM_CASES = [("nuclear_norm", (), {}), ("nuclear_norm", ((0, 2),), {}),
              ("nuclear_norm", (True,), {}), ("frobenius_norm", ((0, 2),), {}),
              ("frobenius_norm", ((1,),), {"keepdim": True})]


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("case", range(len(NORM_CASES)))
def test_norms_match_torch(backend, case, dt):
    name, args, kwargs = NORM_CASES[case]
    data = RNG.standard_normal((2, 3, 4))
    x = xpnn.tensor(data, dtype=getattr(xpnn, dt), requires_grad=True)
    t = torch.tensor(data, dtype=getattr(torch, dt), requires_grad=True)
    y = getattr(xpnn, name)(x, *args, **kwargs)
    u = _torch_quiet(getattr(torch, name), t, *args, **kwargs)
    assert tuple(y.shape) == tuple(u.shape) and _name(y.dtype) == dt
    np.testing.assert_allclose(to_np(y), _np(u), **TOL[dt])
    y.sum().backward()
    u.sum().backward()
    tol = dict(rtol=1e3 * EPS[dt], atol=1e3 * EPS[dt])  # through an SVD for 'nuc'
    np.testing.assert_allclose(to_np(x.grad), t.grad.numpy(), **tol)


def test_norms_gradcheck(host_backend):
    x = xpnn.tensor(RNG.standard_normal((2, 3, 4)), dtype=xpnn.float64, requires_grad=True)
    assert xpnn.gradcheck(lambda x: xpnn.nuclear_norm(x), (x,))
    assert xpnn.gradcheck(lambda x: xpnn.frobenius_norm(x, (0, 2)), (x,))


def _low_rank(m, n, r, dt):
    return (RNG.standard_normal((m, r)) @ RNG.standard_normal((r, n))).astype(dt)


@pytest.mark.parametrize("shape", [(12, 8), (6, 10)])
def test_svd_lowrank_reconstructs_like_torch(backend, shape):
    A = _low_rank(*shape, 3, "float64")
    U, S, V = xpnn.svd_lowrank(xpnn.tensor(A, dtype=xpnn.float64), q=5)
    tU, tS, tV = torch.svd_lowrank(torch.tensor(A), q=5)
    assert tuple(U.shape) == tuple(tU.shape) and tuple(S.shape) == tuple(tS.shape) and \
        tuple(V.shape) == tuple(tV.shape)
    rec = to_np(U) * to_np(S) @ to_np(V).T
    np.testing.assert_allclose(rec, A, atol=1e-9)
    np.testing.assert_allclose(to_np(S)[:3], tS.numpy()[:3], rtol=1e-9)
    np.testing.assert_allclose(to_np(U).T @ to_np(U), np.eye(5), atol=1e-9)
    M = RNG.standard_normal(shape)
    U, S, V = xpnn.svd_lowrank(xpnn.tensor(A + M, dtype=xpnn.float64), q=5,
                               M=xpnn.tensor(M, dtype=xpnn.float64))
    np.testing.assert_allclose(to_np(U) * to_np(S) @ to_np(V).T, A, atol=1e-9)


def test_pca_lowrank_matches_torch(backend):
    A = _low_rank(20, 6, 2, "float64") + 3.0  # an offset the centering removes
    U, S, V = xpnn.pca_lowrank(xpnn.tensor(A, dtype=xpnn.float64), q=3)
    tU, tS, tV = torch.pca_lowrank(torch.tensor(A), q=3)
    np.testing.assert_allclose(to_np(S)[:2], tS.numpy()[:2], rtol=1e-9)
    C = A - A.mean(0)
    np.testing.assert_allclose(to_np(U) * to_np(S) @ to_np(V).T, C, atol=1e-9)
    P, tP = to_np(V)[:, :2] @ to_np(V)[:, :2].T, tV.numpy()[:, :2] @ tV.numpy()[:, :2].T
    np.testing.assert_allclose(P, tP, atol=1e-9)  # the same principal subspace
    with pytest.raises(ValueError, match="must be non-negative integer and not greater"):
        xpnn.pca_lowrank(xpnn.tensor(A), q=7)


def test_svd_lowrank_gradcheck(host_backend):
    A = xpnn.tensor(RNG.standard_normal((5, 4)), dtype=xpnn.float64, requires_grad=True)

    def rec(A):  # a fixed test matrix: a deterministic function of A
        U, S, V = xpnn.svd_lowrank(A, q=3, generator=xpnn.Generator().manual_seed(0))
        return (U * S) @ V.mT
    assert xpnn.gradcheck(rec, (A,))


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_histogramdd_matches_torch(backend, dt):
    pts = RNG.standard_normal((50, 3))
    w = RNG.random(50)
    cases = [(4, {}), ([2, 3, 4], {"range": [-1.0, 1.0, -2.0, 2.0, 0.0, 1.0]}),
             ([3, 2, 2], {"density": True}), (2, {"weight": "w"})]
    for bins, kw in cases:
        kx = dict(kw)
        kt = dict(kw)
        if kw.get("weight") == "w":
            kx["weight"] = xpnn.tensor(w, dtype=getattr(xpnn, dt))
            kt["weight"] = torch.tensor(w, dtype=getattr(torch, dt))
        got = xpnn.histogramdd(xpnn.tensor(pts, dtype=getattr(xpnn, dt)), bins, **kx)
        want = torch.histogramdd(torch.tensor(pts, dtype=getattr(torch, dt)), bins, **kt)
        assert _name(got.hist.dtype) == dt and tuple(got.hist.shape) == tuple(want.hist.shape)
        np.testing.assert_allclose(to_np(got.hist), want.hist.numpy(), **TOL[dt])
        assert len(got.bin_edges) == len(want.bin_edges)
        for e, f in zip(got.bin_edges, want.bin_edges):
            np.testing.assert_allclose(to_np(e), f.numpy(), **TOL[dt])
    edges = [xpnn.tensor([-3.0, 0.0, 3.0]), xpnn.tensor([-1.0, 0.5, 1.0]),
             xpnn.tensor([-2.0, 2.0])]
    got = xpnn.histogramdd(xpnn.tensor(pts, dtype=xpnn.float32), edges)
    want = torch.histogramdd(torch.tensor(pts, dtype=torch.float32),
                             [torch.tensor(to_np(e)) for e in edges])
    np.testing.assert_array_equal(to_np(got.hist), want.hist.numpy())
    with pytest.raises(RuntimeError, match="size of bins must be equal to the innermost"):
        xpnn.histogramdd(xpnn.ones(4, 2), bins=[2, 2, 2])
    with pytest.raises(NotImplementedError, match='"histogramdd" not implemented for'):
        xpnn.histogramdd(xpnn.ones(4, 2, dtype=xpnn.int64), bins=2)


# -- 6. native-signature forms, creation, switches ------------------------------------------------
def test_native_signature_norms_and_ctc(backend):
    data = RNG.standard_normal((4, 3, 5))
    w, b = RNG.standard_normal(3), RNG.standard_normal(3)
    for m in (xpnn, torch):
        x = m.tensor(data, dtype=m.float32, requires_grad=True)
        wt, bt = m.tensor(w, dtype=m.float32), m.tensor(b, dtype=m.float32)
        rm, rv = m.zeros(3), m.ones(3)
        bn = m.batch_norm(x, wt, bt, rm, rv, True, 0.1, 1e-5, False)
        inn = m.instance_norm(x, wt, bt, None, None, True, 0.1, 1e-5, False)
        pad = m.constant_pad_nd(x, [1, -1, 2, 0], 0.5)
        (bn.sum() + (inn * inn).sum() + (pad * pad).sum()).backward()
        if m is xpnn:
            got = (bn, inn, pad, rm, x.grad)
        else:
            want = (bn, inn, pad, rm, x.grad)
    for g, u in zip(got, want):
        assert tuple(g.shape) == tuple(u.shape)
        np.testing.assert_allclose(to_np(g), _np(u), rtol=1e-5, atol=1e-5)  # a reduction
    lp = np.log(RNG.dirichlet(np.ones(4), size=(6, 2)))
    tg = [[1, 2], [1, 3]]
    for red in (None, 0, 1, 2):
        args = () if red is None else (0, red)
        got = xpnn.ctc_loss(xpnn.tensor(lp), xpnn.tensor(tg), [6, 6], [2, 2], *args)
        want = torch.ctc_loss(torch.tensor(lp, dtype=torch.float32), torch.tensor(tg),
                              [6, 6], [2, 2], *args)
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-5)
    with pytest.raises(TypeError, match="reduction must be an int"):
        xpnn.ctc_loss(xpnn.tensor(lp), xpnn.tensor(tg), [6, 6], [2, 2], 0, "mean")


def test_empty_strided_frombuffer_get_device(backend):
    e = xpnn.empty_strided((2, 3), (3, 1), dtype=xpnn.float64)
    assert tuple(e.shape) == (2, 3) and xpnn.float64 == e.dtype
    with pytest.raises(RuntimeError, match="dimensionality of sizes \\(2\\) must match"):
        xpnn.empty_strided((2, 3), (1,))
    buf = bytearray(b"\x01\x00\x02\x00\x03\x00")
    for kw in ({}, {"count": 1, "offset": 2}, {"offset": 4}):
        got = xpnn.frombuffer(buf, dtype=xpnn.int16, **kw)
        want = torch.frombuffer(bytearray(buf), dtype=torch.int16, **kw)
        np.testing.assert_array_equal(to_np(got), want.numpy())
        assert _name(got.dtype) == "int16"
    with pytest.raises(ValueError, match="must be a multiple of element size \\(2\\)"):
        xpnn.frombuffer(bytearray(b"\x01\x00\x02"), dtype=xpnn.int16)
    f = xpnn.frombuffer(bytearray(np.arange(3, dtype=np.float32).tobytes()),
                        dtype=xpnn.float32, requires_grad=True)
    assert f.requires_grad and f.is_leaf
    x = xpnn.ones(2)
    assert xpnn.get_device(x) == x.get_device()
    if x._be.on_host:
        assert xpnn.get_device(x) == torch.get_device(torch.ones(2)) == -1


def test_frombuffer_shares_memory_on_numpy():
    buf = bytearray(np.arange(4, dtype=np.float32).tobytes())
    t = xpnn.frombuffer(buf, dtype=xpnn.float32, backend="numpy")
    buf[0:4] = np.float32(9.0).tobytes()
    assert to_np(t)[0] == 9.0  # as torch's: the tensor is a view of the buffer


def test_default_generator_and_switches():
    g = xpnn.default_generator
    assert isinstance(g, xpnn.Generator)
    assert g.manual_seed(5) is g and g.initial_seed() == 5 == xpnn.initial_seed()
    a = xpnn.rand(3, generator=g)
    xpnn.manual_seed(5)
    b = xpnn.rand(3)
    np.testing.assert_array_equal(to_np(a), to_np(b))
    state = g.get_state()
    c = xpnn.rand(3)
    g.set_state(state)
    np.testing.assert_array_equal(to_np(xpnn.rand(3)), to_np(c))
    assert xpnn.set_flush_denormal(False) is True
    assert xpnn.set_flush_denormal(True) is False  # not supported: said honestly
    assert xpnn.is_warn_always_enabled() is False
    xpnn.set_warn_always(True)
    assert xpnn.is_warn_always_enabled() is True
    xpnn.set_warn_always(False)
    assert xpnn.is_warn_always_enabled() is False


# -- 7. torch.quasirandom.SobolEngine -------------------------------------------------------------
@pytest.mark.parametrize("dim", [1, 2, 7, 33, 1111])
def test_sobol_equals_torch(backend, dim):
    mine, theirs = xpnn.quasirandom.SobolEngine(dim), torch.quasirandom.SobolEngine(dim)
    for step in ("draw1", "draw5", "ff", "draw40", "reset", "base2", "base2_more"):
        if step == "draw1":
            got, want = mine.draw(), theirs.draw()
        elif step == "draw5":
            got, want = mine.draw(5, dtype=xpnn.float64), theirs.draw(5, dtype=torch.float64)
        elif step == "ff":
            mine.fast_forward(1000)
            theirs.fast_forward(1000)
            continue
        elif step == "draw40":
            got, want = mine.draw(40), theirs.draw(40)
        elif step == "reset":
            mine.reset()
            theirs.reset()
            continue
        elif step == "base2":
            got, want = mine.draw_base2(3), theirs.draw_base2(3)
        else:
            got, want = mine.draw_base2(3), theirs.draw_base2(3)
        assert _name(got.dtype) == _name(want.dtype) and tuple(got.shape) == tuple(want.shape)
        np.testing.assert_array_equal(to_np(got), want.numpy())
    assert mine.num_generated == theirs.num_generated and repr(mine) == repr(theirs)


def test_sobol_errors_and_out(backend):
    with pytest.raises(ValueError, match="Supported range of dimensionality"):
        xpnn.quasirandom.SobolEngine(0)
    eng = xpnn.quasirandom.SobolEngine(2)
    eng.draw(3)
    with pytest.raises(ValueError, match="require n to be a power of 2"):
        eng.draw_base2(2)
    out = xpnn.empty(0)
    r = eng.draw(2, out=out)
    assert r is out and tuple(out.shape) == (2, 2)


def test_sobol_scrambled_properties(backend):
    m = 8
    a = to_np(xpnn.quasirandom.SobolEngine(4, scramble=True, seed=3).draw_base2(m,
                                                                             dtype=xpnn.float64))
    b = to_np(xpnn.quasirandom.SobolEngine(4, scramble=True, seed=3).draw_base2(m,
                                                                             dtype=xpnn.float64))
    np.testing.assert_array_equal(a, b)  # the seed fixes the scrambling
    c = to_np(xpnn.quasirandom.SobolEngine(4, scramble=True, seed=4).draw(2 ** m,
                                                                       dtype=xpnn.float64))
    assert not np.array_equal(a, c)
    assert ((a >= 0) & (a < 1)).all()
    # a scrambled (0, m, 1)-net in every coordinate: one point in each of the 2^m intervals
    for d in range(4):
        assert np.array_equal(np.sort(np.floor(a[:, d] * 2 ** m)), np.arange(2 ** m))
    # and every 2-D projection of the first two coordinates balanced on 2^(m/2) x 2^(m/2)
    cells = np.floor(a[:, :2] * 2 ** (m // 2)).astype(int)
    counts = np.bincount(cells[:, 0] * 2 ** (m // 2) + cells[:, 1], minlength=2 ** m)
    assert (counts == 1).all()
    assert abs(a.mean() - 0.5) < 0.01


def test_inplace_baddbmm_polygamma_conj_physical():
    """Tensor.baddbmm_, polygamma_ and conj_physical_ (missing before): the out-of-place
    result written into the tensor, as PyTorch's."""
    rng = np.random.default_rng(5)
    x, a, b = (rng.standard_normal(s).astype(np.float32) for s in ((2, 2, 2), (2, 2, 3),
                                                                     (2, 3, 2)))
    got, want = xpnn.tensor(x), torch.tensor(x)
    got.baddbmm_(xpnn.tensor(a), xpnn.tensor(b), beta=0.5, alpha=2.0)
    want.baddbmm_(torch.tensor(a), torch.tensor(b), beta=0.5, alpha=2.0)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    p = np.array([0.5, 1.5, 3.0], np.float32)
    got, want = xpnn.tensor(p), torch.tensor(p)
    got.polygamma_(1)
    want.polygamma_(1)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)
    got, want = xpnn.tensor(p), torch.tensor(p)
    assert got.conj_physical_() is got
    np.testing.assert_array_equal(got.numpy(), want.conj_physical_().numpy())
