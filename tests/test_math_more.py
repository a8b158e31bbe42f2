"""Scans, statistics, products and elementwise extras (functional/scan.py, stats.py,
products.py, pointwise.py) where the case table's random inputs do not reach: zeros, ties,
NaN, infinities, integer inputs, returned indices, the native == portable kernels, and
PyTorch's errors. The differentiable ops' gradient checks and torch twins are in cases.py."""
import numpy as np
import pytest
from conftest import needs_torch, to_np

import xpnn
import xpnn.functional as F
from xpnn.backend import dtype_name
from xpnn.functional import pointwise

torch = pytest.importorskip("torch")
NAN, INF = float("nan"), float("inf")
# float64 against PyTorch: the same formulas, summed in other orders
TOL = 1e4 * float(np.finfo(np.float64).eps)


def _pair(data, backend, dtype="float64", grad=False):
    """The same data as an xpnn tensor on ``backend`` and a torch tensor."""
    arr = np.asarray(data, dtype=dtype)
    x = xpnn.tensor(arr, backend=backend, dtype=dtype, requires_grad=grad)
    return x, torch.tensor(arr, requires_grad=grad)


def _same(out, ref, tol=TOL):
    """out (xpnn) equals ref (torch): shape, dtype name and values (NaN where NaN)."""
    got, want = out.numpy(), ref.detach().numpy()
    assert got.shape == want.shape
    assert dtype_name(out.dtype) == str(ref.dtype).split(".")[-1]
    if got.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)


@needs_torch
def test_cumprod_gradient_with_zeros(backend):
    """cumprod's gradient where a row holds no, one, two or only zeros (first, middle and
    last positions) equals torch's, and passes the float64 gradient check."""
    rows = [[0.5, -2.0, 1.5, 3.0, 0.7], [1.5, 0.0, 2.0, -1.0, 3.0], [0.0, 2.0, 0.0, 4.0, 1.0],
            [2.0, 3.0, -1.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]]
    x, t = _pair(rows, backend, grad=True)
    w = np.arange(25.0).reshape(5, 5) / 7 - 1
    out, ref = F.cumprod(x, 1), torch.cumprod(t, 1)
    _same(out, ref)
    (out * xpnn.tensor(w, backend=backend, dtype="float64")).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    _same(x.grad, t.grad)
    xc = xpnn.tensor(np.asarray(rows), backend=backend, dtype="float64", requires_grad=True)
    assert xpnn.gradcheck(lambda a: F.cumprod(a, 1), xc)
    # integers and bools: int64 as in PyTorch
    i, ti = _pair([[3, -2, 4], [1, 0, 5]], backend, "int32")
    _same(i.cumprod(1), ti.cumprod(1))
    b, tb = _pair([True, True, False], backend, "bool")
    _same(F.cumprod(b, 0), torch.cumprod(tb, 0))


@needs_torch
def test_logcumsumexp_large_and_infinite(backend):
    """Large values do not overflow; -inf entries give -inf and PyTorch's gradient (NaN at a
    leading -inf)."""
    data = [[-INF, 0.0, 1000.0, -INF, 2.0], [800.0, -800.0, 1.0, 1.0, -INF]]
    x, t = _pair(data, backend, grad=True)
    out, ref = F.logcumsumexp(x, 1), torch.logcumsumexp(t, 1)
    _same(out, ref)
    g = [[1.0, -2.0, 0.5, 1.0, 1.0], [0.25, 1.0, -1.0, 2.0, 1.0]]
    out.backward(xpnn.tensor(np.asarray(g), backend=backend, dtype="float64"))
    ref.backward(torch.tensor(g, dtype=torch.float64))
    _same(x.grad, t.grad)
    with pytest.raises(TypeError, match="logcumsumexp"):
        F.logcumsumexp(xpnn.tensor([1, 2], backend=backend), 0)


@needs_torch
def test_cummax_cummin_ties_nan_and_integers(backend):
    data = [[1.0, 3.0, 3.0, 2.0, 3.0, NAN, 1.0, NAN], [2.0, 1.0, 1.0, 0.0, 0.0, 5.0, 0.0, 9.0]]
    x, t = _pair(data, backend)
    for ours, theirs in ((F.cummax, torch.cummax), (F.cummin, torch.cummin)):
        for d in (0, 1, -1):
            out, ref = ours(x, d), theirs(t, d)
            _same(out.values, ref.values)
            _same(out.indices, ref.indices)
    i, ti = _pair([[4, 4, 7, 1], [0, -3, -3, 2]], backend, "int64")
    _same(i.cummin(1).indices, ti.cummin(1).indices)
    _same(i.cummax(1).values, ti.cummax(1).values)
    b, tb = _pair([True, False, True], backend, "bool")
    _same(F.cummax(b, 0).indices, torch.cummax(tb, 0).indices)
    _same(F.cummax(b, 0).values, torch.cummax(tb, 0).values)
    s, ts = _pair(2.5, backend)
    assert F.cummax(s, 0).indices.shape == () and F.cummax(s, 0).values.item() == 2.5
    # the gradient goes to the index returned, as torch's
    g, tg = _pair(data[1], backend, grad=True)
    F.cummax(g, 0).values.sum().backward()
    torch.cummax(tg, 0).values.sum().backward()
    _same(g.grad, tg.grad)


@needs_torch
def test_median_kthvalue_mode_values_and_indices(backend):
    """Values always, indices where the chosen entry is unique, as torch; NaN rows."""
    data = [[0.3, -1.2, 2.5, 0.7, -0.4, 1.1], [5.0, 4.0, 3.0, 2.0, 1.0, 0.0],
            [1.0, NAN, 0.0, NAN, 2.0, 3.0]]
    x, t = _pair(data, backend)
    for ours, theirs in ((F.median, torch.median), (F.nanmedian, torch.nanmedian)):
        _same(ours(x), theirs(t))
        for d, keep in ((1, False), (-1, True), (0, False)):
            out, ref = ours(x, d, keep), theirs(t, d, keep)
            _same(out.values, ref.values)
            _same(out.indices, ref.indices)
    out, ref = F.kthvalue(x, 4, 1, True), torch.kthvalue(t, 4, 1, True)
    _same(out.values, ref.values)
    _same(out.indices, ref.indices)
    i, ti = _pair([[3, 1, 2, 7], [9, 8, 7, 6]], backend, "int64")
    _same(i.median(), ti.median())
    _same(i.median(1).indices, ti.median(1).indices)
    # mode: the smallest of the most frequent values, at its last occurrence
    m, tm = _pair([[2.0, 1.0, 2.0, 1.0, 0.0, 1.0, 2.0], [3.0, 3.0, 5.0, 5.0, 5.0, 3.0, 4.0],
                   [7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]], backend)
    for d in (1, 0):
        out, ref = F.mode(m, d), torch.mode(tm, d)
        _same(out.values, ref.values)
        _same(out.indices, ref.indices)
    mi, tmi = _pair([[1, 2, 2, 3, 3], [4, 4, 0, 0, 4]], backend, "int32")
    _same(mi.mode(-1, True).values, tmi.mode(-1, True).values)
    _same(mi.mode(-1).indices, tmi.mode(-1).indices)
    # the median of nothing is NaN; along an empty dim it raises, as torch
    e = xpnn.zeros(2, 0, backend=backend)
    assert np.isnan(F.median(e).item())
    for fn in (F.median, F.mode):
        with pytest.raises(IndexError, match="non-zero size"):
            fn(e, 1)
    with pytest.raises(RuntimeError, match="out of range"):
        F.kthvalue(x, 7, 1)


@needs_torch
@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_nanquantile_match_torch(backend, interpolation):
    data = [[0.3, -1.2, 2.5, 0.7, NAN, 1.1], [5.0, 4.0, 3.0, 2.0, 1.0, 0.0],
            [NAN, NAN, NAN, NAN, NAN, NAN], [1.0, 1.0, 0.0, 2.0, 2.0, 3.0]]
    x, t = _pair(data, backend)
    q = [0.0, 0.2, 0.5, 0.7, 1.0]
    xq, tq = _pair(q, backend)
    kw = {"interpolation": interpolation}
    for ours, theirs in ((F.quantile, torch.quantile), (F.nanquantile, torch.nanquantile)):
        _same(ours(x, xq, 1, **kw), theirs(t, tq, 1, **kw))
        _same(ours(x, q, 0, True, **kw), theirs(t, tq, 0, True, **kw))
        _same(ours(x, 0.3, **kw), theirs(t, 0.3, **kw))
        _same(ours(x, 0.6, keepdim=True, **kw), theirs(t, 0.6, keepdim=True, **kw))
        _same(ours(x[1], xq, **kw), theirs(t[1], tq, **kw))


@needs_torch
def test_quantile_gradient_and_errors(backend):
    x, t = _pair([[0.3, -1.2, 2.5, 0.7, NAN], [5.0, 4.0, 3.0, 2.0, 1.0]], backend, grad=True)
    q = [0.25, 0.6]
    out = F.nanquantile(x, q, 1) * 1
    ref = torch.nanquantile(t, torch.tensor(q, dtype=torch.float64), 1)
    _same(out, ref)
    out.sum().backward()
    ref.sum().backward()
    _same(x.grad, t.grad)
    f = xpnn.tensor([1.0, 2.0, 3.0], backend=backend)
    with pytest.raises(ValueError, match="range"):
        F.quantile(f, 1.5)
    with pytest.raises(RuntimeError, match="non-empty"):
        F.quantile(xpnn.zeros(0, backend=backend), 0.5)
    with pytest.raises(TypeError, match="float"):
        F.quantile(xpnn.tensor([1, 2], backend=backend), 0.5)
    with pytest.raises(TypeError, match="same dtype"):
        F.quantile(f, xpnn.tensor([0.5], backend=backend, dtype="float64"))
    with pytest.raises(ValueError, match="interpolation"):
        F.quantile(f, 0.5, interpolation="cubic")


@needs_torch
def test_nanmean_nansum_aminmax(backend):
    data = [[1.0, NAN, 3.0], [NAN, NAN, NAN], [0.5, -1.0, 2.0]]
    x, t = _pair(data, backend, grad=True)
    for d in (None, 0, 1):
        _same(F.nanmean(x, d), torch.nanmean(t, d))
        _same(F.nansum(x, d), torch.nansum(t, d))
    (F.nanmean(x, 1).nansum() + F.nansum(x) * 2).backward()
    (torch.nanmean(t, 1).nansum() + torch.nansum(t) * 2).backward()
    _same(x.grad, t.grad)
    i, ti = _pair([[1, 2], [3, 4]], backend, "int32")
    _same(F.nansum(i, 1), torch.nansum(ti, 1))
    with pytest.raises(TypeError, match="nanmean"):
        F.nanmean(i)
    # aminmax: ties share the gradient, as torch's
    a, ta = _pair([[1.0, 3.0, 3.0, 0.0, 0.0], [2.0, 2.0, 2.0, 1.0, 5.0]], backend, grad=True)
    r, tr = F.aminmax(a), torch.aminmax(ta)
    _same(r.min, tr.min)
    _same(r.max, tr.max)
    r2, tr2 = F.aminmax(a, dim=1, keepdim=True), torch.aminmax(ta, dim=1, keepdim=True)
    (r.min + 2 * r.max + (r2.max * r2.min).sum()).backward()
    (tr.min + 2 * tr.max + (tr2.max * tr2.min).sum()).backward()
    _same(a.grad, ta.grad)
    e = xpnn.zeros(2, 0, backend=backend)
    with pytest.raises(RuntimeError, match="no identity"):
        F.aminmax(e)
    with pytest.raises(IndexError, match="non-zero size"):
        F.aminmax(e, dim=1)


@needs_torch
def test_diff_and_trapezoid_edges(backend):
    b, tb = _pair([True, False, False, True], backend, "bool")
    _same(F.diff(b), torch.diff(tb))
    i, ti = _pair([1, 4, 9, 16], backend, "int64")
    for n in (0, 1, 3, 4, 6):
        _same(F.diff(i, n), torch.diff(ti, n))
    _same(F.trapezoid(i), torch.trapezoid(ti))
    _same(F.trapz(i, dx=0.5), torch.trapz(ti, dx=0.5))
    y, ty = _pair([[1.0, 2.0, 4.0], [1.0, 1.0, 1.0]], backend)
    xs, txs = _pair([0.0, 1.0, 3.0], backend)
    _same(F.trapezoid(y, xs), torch.trapezoid(ty, txs))
    _same(F.cumulative_trapezoid(y, dx=2.0, dim=0), torch.cumulative_trapezoid(ty, dx=2.0, dim=0))
    e, te = _pair(np.zeros((2, 0)), backend)
    _same(F.trapezoid(e), torch.trapezoid(te))
    with pytest.raises(RuntimeError, match="same dimension|dims"):
        F.diff(y, prepend=xs)
    with pytest.raises(ValueError, match="non-negative"):
        F.diff(y, -1)


@needs_torch
def test_products_errors_and_integers(backend):
    v3, v4 = xpnn.ones(3, backend=backend), xpnn.ones(4, backend=backend)
    m23 = xpnn.ones(2, 3, backend=backend)
    with pytest.raises(RuntimeError, match="1D tensors expected"):
        F.dot(m23, v3)
    with pytest.raises(RuntimeError, match="inconsistent tensor size"):
        F.dot(v3, v4)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.dot(v3, xpnn.ones(3, backend=backend, dtype="float64"))
    with pytest.raises(RuntimeError, match="size mismatch"):
        F.mv(m23, v4)
    with pytest.raises(RuntimeError, match="does not broadcast"):
        F.addmm(xpnn.ones(2, 2, 3, backend=backend), m23, xpnn.ones(3, 3, backend=backend))
    with pytest.raises(RuntimeError, match="expected a matrix"):
        F.trace(v3)
    with pytest.raises(RuntimeError, match="no dimension of size 3"):
        F.cross(xpnn.ones(2, 4, backend=backend), xpnn.ones(2, 4, backend=backend))
    with pytest.raises(RuntimeError, match="must have length 3"):
        F.cross(m23, m23, dim=0)
    with pytest.raises(RuntimeError, match="contracted dimensions need to match"):
        F.tensordot(m23, m23, ([1], [0]))
    with pytest.raises(RuntimeError, match="addcdiv"):
        F.addcdiv(v3, xpnn.tensor([1, 2, 3], backend=backend), xpnn.tensor([1, 2, 3],
                                                                        backend=backend))
    i, ti = _pair([[1, 2], [3, 4]], backend, "int32")
    _same(F.trace(i), torch.trace(ti))
    _same(F.kron(i, i), torch.kron(ti, ti))
    _same(F.dot(i[0], i[1]), torch.dot(ti[0], ti[1]))
    e1, te1 = _pair([[1, 0, 0]], backend, "int64")
    e2, te2 = _pair([[0, 1, 0]], backend, "int64")
    _same(F.cross(e1, e2, dim=1), torch.cross(te1, te2, dim=1))
    # beta = 0 ignores the input, NaNs included
    nan = xpnn.full((2, 3), NAN, backend=backend)
    out = F.addmm(nan, m23, xpnn.ones(3, 3, backend=backend), beta=0)
    np.testing.assert_array_equal(out.numpy(), np.full((2, 3), 3.0, np.float32))


@needs_torch
def test_pointwise_edge_values(backend):
    a = [-5.5, 5.5, -0.0, 3.0, 0.7, -2.0, INF, NAN, 0.0, 1e-20]
    b = [3.0, -3.0, 2.0, INF, -0.2, 0.3, 2.0, 1.0, -1.0, 1.0]
    x, t = _pair(a, backend)
    y, ty = _pair(b, backend)
    for name in ("fmod", "copysign", "fmax", "fmin", "xlogy"):
        _same(getattr(F, name)(x, y), getattr(torch, name)(t, ty))
        _same(getattr(F, name)(y, x), getattr(torch, name)(ty, t))
    for name in ("frac", "sgn", "sinc", "deg2rad", "rad2deg", "erfc", "logit"):
        _same(getattr(F, name)(x), getattr(torch, name)(t))
    _same(F.logit(x, 0.25), torch.logit(t, 0.25))
    assert np.signbit(F.fmod(x, y).numpy()[2])  # fmod(-0, 2) is -0
    i, ti = _pair([-7, 7, -7, 16777217, -9], backend, "int64")
    j, tj = _pair([3, -3, -3, 2, 9], backend, "int64")
    _same(F.fmod(i, j), torch.fmod(ti, tj))
    _same(i.fmod(-4), ti.fmod(-4))
    if i._be.on_host:  # a device would sync to check (as remainder)
        with pytest.raises(ZeroDivisionError, match="fmod"):
            F.fmod(i, xpnn.zeros(5, backend=backend, dtype="int64"))
    for name in ("sinc", "deg2rad", "rad2deg", "erfc", "xlogy", "copysign"):
        args = (i, j) if name in ("xlogy", "copysign") else (i,)
        targs = (ti, tj) if name in ("xlogy", "copysign") else (ti,)
        _same(getattr(F, name)(*args), getattr(torch, name)(*targs), tol=1e-6)
    _same(F.fmax(i, j), torch.fmax(ti, tj))
    with pytest.raises(TypeError, match="frac"):
        F.frac(i)


@needs_torch
def test_pointwise_gradients_at_special_points(backend):
    """Gradients where the formulas have special cases: xlogy at x == 0, copysign at 0,
    fmax/fmin at ties and NaNs, sinc at 0, logit outside [eps, 1 - eps]."""
    cases = [
        ("xlogy", [0.0, 0.0, 1.0, 2.0], [0.0, 2.0, 0.0, 3.0], {}),
        ("copysign", [0.0, -0.0, 1.0, -2.0], [-1.0, 1.0, -1.0, 3.0], {}),
        ("fmax", [1.0, 2.0, 2.0, NAN], [2.0, 2.0, NAN, NAN], {}),
        ("fmin", [1.0, 2.0, NAN, 3.0], [2.0, 2.0, 1.0, NAN], {}),
        ("fmod", [5.0, -5.0, 7.5, 0.5], [3.0, 2.0, -2.0, 4.0], {})]
    for name, a, b, kw in cases:
        x, t = _pair(a, backend, grad=True)
        y, ty = _pair(b, backend, grad=True)
        getattr(F, name)(x, y).sum().backward()
        getattr(torch, name)(t, ty).sum().backward()
        _same(x.grad, t.grad)
        _same(y.grad, ty.grad)
    for name, a, kw in (("sinc", [0.0, 0.5, -1.0, 2.5], {}), ("frac", [1.5, -2.25, 3.0], {}),
                        ("logit", [0.05, 0.2, 0.5, 0.95], {"eps": 0.1}),
                        ("erfc", [-3.0, 0.0, 5.0], {})):
        x, t = _pair(a, backend, grad=True)
        getattr(F, name)(x, **kw).sum().backward()
        getattr(torch, name)(t, **kw).sum().backward()
        _same(x.grad, t.grad)


def test_heaviside_signbit(backend):
    x, t = _pair([-1.5, 0.0, -0.0, 2.0, NAN, -INF], backend)
    v, tv = _pair([0.5, 0.25, 0.75, 0.5, 0.5, 0.5], backend)
    _same(F.heaviside(x, v), torch.heaviside(t, tv))
    _same(x.heaviside(xpnn.tensor(0.5, backend=backend, dtype="float64")),
          t.heaviside(torch.tensor(0.5, dtype=torch.float64)))
    _same(F.signbit(x), torch.signbit(t))
    i, ti = _pair([-2, 0, 3], backend, "int64")
    _same(F.heaviside(i, i), torch.heaviside(ti, ti))
    _same(i.signbit(), ti.signbit())
    with pytest.raises(RuntimeError, match="one dtype"):
        F.heaviside(x, i)


@pytest.mark.parametrize("name", ["fmod", "erfc"])
def test_native_equals_portable(name):
    """NumPy's native fmod and erfc give what the portable Array API code gives (torch's
    natives are what the torch backend runs in the twin tests above); erfc keeps its
    relative accuracy deep in the tail, where 1 - erf would be 0."""
    be = xpnn.get_backend("numpy")
    X = np.concatenate([np.linspace(-6, 27, 67), [0.0, -0.0, 1e-300]])
    Y = np.concatenate([np.linspace(0.3, 7, 67), [2.0, -3.0, 5.0]])
    if name == "erfc":
        np.testing.assert_allclose(pointwise.erfc_portable(be, X),
                                   pointwise.ERFC["numpy"](be, X), rtol=1e-13, atol=1e-300)
    else:
        np.testing.assert_array_equal(pointwise.fmod_portable(be, X, Y),
                                      pointwise.FMOD["numpy"](be, X, Y))
        I, J = np.arange(-9, 9), np.array([4, -4, 3, -3, 7, -7] * 3)
        np.testing.assert_array_equal(pointwise.fmod_portable(be, I, J),
                                      pointwise.FMOD["numpy"](be, I, J))


@needs_torch
def test_logspace_matches_torch(backend):
    for kw in ({}, {"base": 2.0}, {"dtype": "float64"}, {"dtype": "int64"}):
        tkw = {k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()}
        _same(xpnn.logspace(-1, 2.5, 5, backend=backend, **kw),
              torch.logspace(-1, 2.5, 5, **tkw), tol=1e-6)


def test_erfinv_matches_torch_and_its_portable_form_is_accurate(backend):
    """erfinv (native where the backend has it) against torch, the portable form (Giles'
    start, Newton steps on erf and on log erfc) against torch in float64 and float32, out to
    1 - y = 1e-16; Normal.icdf uses it."""
    from xpnn import backend as B
    from xpnn.functional.pointwise import erfinv_portable
    y = np.concatenate([np.linspace(-1, 1, 2001), 1 - np.logspace(-16, -1, 60),
                        np.logspace(-300, -1, 60), [1.5, -2.0, np.nan]])
    truth = torch.special.erfinv(torch.tensor(y)).numpy()
    ours = xpnn.erfinv(xpnn.tensor(y, backend=backend, dtype="float64"))
    np.testing.assert_allclose(to_np(ours), truth, rtol=1e-13, atol=0)
    be = B.get_backend(backend)
    for dtype, rtol in (("float64", 1e-13), ("float32", 2e-6)):
        keep = (y > -1) & (y < 1) if dtype == "float64" else (np.abs(y) < 1 - 1e-6)
        yy = y[keep].astype(dtype)
        got = B.to_numpy(erfinv_portable(be, be.asarray(yy, dtype=dtype)))
        want = torch.special.erfinv(torch.tensor(yy.astype(np.float64))).numpy()
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-30)
    p = np.array([0.01, 0.3, 0.5, 0.975])
    d = xpnn.distributions.Normal(xpnn.tensor(1.0, backend=backend),
                                  xpnn.tensor(2.0, backend=backend))
    want = torch.distributions.Normal(1.0, 2.0).icdf(torch.tensor(p)).numpy()
    np.testing.assert_allclose(to_np(d.icdf(xpnn.tensor(p, backend=backend))), want, rtol=1e-5)


@needs_torch
@pytest.mark.parametrize("op", ["median", "nanmedian"])
def test_median_of_all_entries_shares_the_gradient_among_ties(op, backend):
    """torch's median/nanmedian without dim spread the gradient evenly over the entries
    equal to the result (over the NaNs when it is NaN); along a dim it goes to one."""
    for data in ([[1.0, 2.0, 2.0], [3.0, 2.0, 0.0]], [[1.0, NAN, 3.0], [NAN, 1.0, 0.5]]):
        x, t = _pair(data, backend, grad=True)
        y, ty = getattr(F, op)(x), getattr(torch, op)(t)
        _same(y, ty)
        (y * 3).backward()
        (ty * 3).backward()
        _same(x.grad, t.grad)


@needs_torch
def test_mode_and_aminmax_of_bool(backend):
    b, tb = _pair([[True, False, True], [False, False, True]], backend, "bool")
    for d in (0, 1):
        r, tr = F.mode(b, d), torch.mode(tb, d)
        _same(r.values, tr.values)
        r, tr = F.aminmax(b, dim=d, keepdim=True), torch.aminmax(tb, dim=d, keepdim=True)
        _same(r.min, tr.min)
        _same(r.max, tr.max)
    r, tr = F.aminmax(b), torch.aminmax(tb)
    _same(r.min, tr.min)
    _same(r.max, tr.max)
