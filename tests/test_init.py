"""xpnn.nn.init: torch.nn.init's names and signatures; the deterministic fills (eye_,
dirac_, constant_, calculate_gain, fans) equal PyTorch's; the random ones have the right
distribution (moments, a Kolmogorov-Smirnov distance, orthogonality, sparsity); one seed
gives the same weights on every backend; fills are in place, versioned and graph-free."""
import inspect
import math

import numpy as np
import pytest

import xpnn
from conftest import to_np
from xpnn import backend as B
from xpnn import nn
from xpnn.nn import init

NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                  "leaky_relu", "selu"]
PUBLIC = ["uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
          "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
          "kaiming_normal_", "orthogonal_", "sparse_", "calculate_gain",
          "_calculate_fan_in_and_fan_out"]


def param(shape, backend=None, dtype="float32"):
    return nn.Parameter(xpnn.tensor(np.zeros(shape), backend=backend, dtype=dtype))


def test_names_and_signatures_match_torch():
    """Every torch.nn.init function xpnn ports exists with PyTorch's parameter names and
    defaults (the generator is an xpnn.Generator here)."""
    torch = pytest.importorskip("torch")
    for name in PUBLIC:
        ours = inspect.signature(getattr(init, name)).parameters
        theirs = inspect.signature(getattr(torch.nn.init, name)).parameters
        assert list(ours) == list(theirs), name
        for key, p in theirs.items():
            assert ours[key].default == p.default, (name, key)


def test_calculate_gain_and_fans_equal_torch():
    torch = pytest.importorskip("torch")
    for name in NONLINEARITIES:
        assert init.calculate_gain(name) == torch.nn.init.calculate_gain(name), name
    for slope in (0, 0.2, 1, 3, -0.5):
        assert init.calculate_gain("leaky_relu", slope) == \
            torch.nn.init.calculate_gain("leaky_relu", slope)
    for bad, match in (("swish", "unsupported nonlinearity 'swish'"),):
        with pytest.raises(ValueError, match=match):
            init.calculate_gain(bad)
    for param_ in (True, "0.1"):
        with pytest.raises(ValueError, match="negative_slope"):
            init.calculate_gain("leaky_relu", param_)
        with pytest.raises(ValueError):
            torch.nn.init.calculate_gain("leaky_relu", param_)
    for shape in [(3, 4), (8, 3, 5), (6, 2, 3, 3), (4, 2, 2, 3, 3), (5, 0)]:
        assert init._calculate_fan_in_and_fan_out(param(shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape)), shape
    with pytest.raises(ValueError, match=r"at least 2 dims, got shape \(4,\)"):
        init._calculate_fan_in_and_fan_out(param((4,)))


DETERMINISTIC = [
    ("eye_", (3, 5), {}), ("eye_", (4, 2), {}),
    ("dirac_", (6, 3, 3), {}), ("dirac_", (4, 2, 3, 3), dict(groups=2)),
    ("dirac_", (6, 4, 3, 3, 3), dict(groups=3)), ("dirac_", (8, 3, 5, 4), dict(groups=2)),
    ("dirac_", (2, 5, 4), {}),
    ("constant_", (2, 3), dict(val=0.25)), ("zeros_", (3,), {}), ("ones_", (2, 2, 2), {}),
]


@pytest.mark.parametrize("name,shape,kw", DETERMINISTIC,
                         ids=[f"{n}{s}{k or ''}" for n, s, k in DETERMINISTIC])
def test_deterministic_fills_equal_torch(name, shape, kw, backend):
    torch = pytest.importorskip("torch")
    t = param(shape)
    out = getattr(init, name)(t, **kw)
    assert out is t and t.backend == backend and tuple(t.shape) == shape
    assert B.dtype_name(t.dtype) == "float32"
    ref = getattr(torch.nn.init, name)(torch.full(shape, 7.0), **kw)
    np.testing.assert_array_equal(t.numpy(), ref.numpy())


RANDOM = [
    ("uniform_", (6, 5), dict(a=-1.0, b=3.0)),
    ("normal_", (6, 5), dict(mean=2.0, std=0.5)),
    ("trunc_normal_", (6, 5), dict(std=0.02, a=-0.04, b=0.04)),
    ("xavier_uniform_", (4, 3, 3), dict(gain=2.0)),
    ("xavier_normal_", (4, 3, 3), {}),
    ("kaiming_uniform_", (6, 5), dict(a=math.sqrt(5))),
    ("kaiming_normal_", (6, 2, 3), dict(mode="fan_out", nonlinearity="relu")),
    ("orthogonal_", (4, 6), dict(gain=1.5)),
    ("sparse_", (10, 4), dict(sparsity=0.3)),
]


def test_one_seed_gives_the_same_weights_on_every_backend(backend):
    """Drawn on the host from the seeded generator: bit-identical on every backend, in
    float32 and float64; a generator= stream likewise, without touching the seeded one."""
    for name, shape, kw in RANDOM:
        for dtype in ("float32", "float64"):
            xpnn.manual_seed(7)
            ref = getattr(init, name)(param(shape, "numpy", dtype), **kw).numpy()
            xpnn.manual_seed(7)
            t = getattr(init, name)(param(shape, backend, dtype), **kw)
            assert t.backend == backend and B.dtype_name(t.dtype) == dtype
            np.testing.assert_array_equal(t.numpy(), ref, err_msg=f"{name} {dtype}")
            gen = xpnn.Generator().manual_seed(3)
            a = getattr(init, name)(param(shape, backend, dtype), **kw, generator=gen)
            b = getattr(init, name)(param(shape, "numpy", dtype), **kw,
                                    generator=xpnn.Generator().manual_seed(3))
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    xpnn.manual_seed(7)
    plain = init.normal_(param((50,))).numpy()
    xpnn.manual_seed(7)
    init.normal_(param((50,)), generator=xpnn.Generator().manual_seed(1))
    np.testing.assert_array_equal(init.normal_(param((50,))).numpy(), plain)
    second = init.normal_(param((50,)), generator=gen).numpy()
    assert not np.array_equal(second, init.normal_(param((50,)), generator=gen).numpy())


def test_fill_is_in_place_versioned_and_not_recorded():
    """A fill keeps the Parameter a leaf that requires grad, writes into its array, and a
    graph that saved it refuses backward afterwards (the version moved)."""
    w = param((3, 4))
    arr = w.array
    y = (w * w).sum()
    assert init.kaiming_uniform_(w, a=math.sqrt(5)) is w
    assert w.array is arr and w.requires_grad and w.grad_fn is None
    assert np.any(w.numpy() != 0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


N = 40000  # samples for the distribution checks: standard errors ~ 0.5% of a std


def ks_distance(samples, cdf):
    """Kolmogorov-Smirnov distance between the samples and a CDF (vectorised)."""
    x = np.sort(samples.astype(np.float64))
    f = cdf(x)
    n = x.size
    return max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))


def normal_cdf(x):
    erf = np.vectorize(math.erf, otypes=[float])
    return 0.5 * (1 + erf(np.asarray(x) / math.sqrt(2)))


KS_BOUND = 1.95 / math.sqrt(N)  # the 0.1% critical value: the seeds are fixed anyway


@pytest.mark.parametrize("kw", [
    dict(),                                          # N(0, 1) on [-2, 2]: normal proposal
    dict(mean=0.5, std=2.0, a=-1.0, b=4.0),          # holding the mean, narrow: uniform
    dict(mean=0.0, std=1.0, a=2.5, b=math.inf),      # a right tail: exponential proposal
    dict(mean=1.0, std=0.5, a=-3.0, b=-1.0),         # a left tail, 4 std away
    dict(mean=0.0, std=1.0, a=0.1, b=0.2),           # narrow, off the mean: uniform
    dict(mean=0.0, std=0.02, a=-0.04, b=0.04),       # ViT-style init
], ids=lambda kw: str(kw))
def test_trunc_normal_distribution(kw):
    """Samples lie in [a, b] and follow the truncated normal: KS distance to its CDF,
    mean and std against the closed forms."""
    mean, std = kw.get("mean", 0.0), kw.get("std", 1.0)
    a, b = kw.get("a", -2.0), kw.get("b", 2.0)
    xpnn.manual_seed(11)
    x = init.trunc_normal_(param((N,), dtype="float64"), **kw).numpy()
    assert x.min() >= a and x.max() <= b
    lo, hi = (a - mean) / std, (b - mean) / std
    phi = [math.exp(-v * v / 2) / math.sqrt(2 * math.pi) if math.isfinite(v) else 0.0
           for v in (lo, hi)]
    mass = float(normal_cdf(hi) - normal_cdf(lo))
    assert ks_distance((x - mean) / std,
                       lambda z: (normal_cdf(z) - normal_cdf(lo)) / mass) < KS_BOUND
    mu = (phi[0] - phi[1]) / mass
    var = 1 + ((lo * phi[0] if phi[0] else 0) - (hi * phi[1] if phi[1] else 0)) / mass - mu ** 2
    assert abs(x.mean() - (mean + std * mu)) < 5 * std * math.sqrt(var / N)
    assert x.std() == pytest.approx(std * math.sqrt(var), rel=0.03)


STD_CASES = [  # (function, shape, kwargs, expected std as a function of the fans)
    ("uniform_", (200, 200), dict(a=-1.0, b=3.0), lambda i, o: 4 / math.sqrt(12)),
    ("normal_", (200, 200), dict(mean=2.0, std=0.5), lambda i, o: 0.5),
    ("xavier_uniform_", (200, 100), dict(gain=2.0), lambda i, o: 2 * math.sqrt(2 / (i + o))),
    ("xavier_normal_", (32, 16, 3, 3), dict(gain=0.5),
     lambda i, o: 0.5 * math.sqrt(2 / (i + o))),
]
for _mode in ("fan_in", "fan_out", "FAN_OUT"):
    for _nl, _a in (("relu", 0), ("leaky_relu", 0.2), ("leaky_relu", 0), ("tanh", 0),
                    ("selu", 0), ("linear", 0), ("conv2d", 0), ("sigmoid", 0)):
        _fan = 0 if _mode == "fan_in" else 1
        for _fn in ("kaiming_uniform_", "kaiming_normal_"):
            STD_CASES.append((_fn, (64, 32, 3, 3), dict(a=_a, mode=_mode, nonlinearity=_nl),
                              lambda i, o, f=_fan, g=init.calculate_gain(_nl, _a):
                              g / math.sqrt((i, o)[f])))


def test_scaled_fills_have_pytorch_std():
    """Every scaled init (each kaiming mode and nonlinearity) has PyTorch's std: the
    sample std matches the formula and torch's own sample std; uniform ones stay within
    their bound, normal ones have normal tails."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    xpnn.manual_seed(0)
    for name, shape, kw, want in STD_CASES:
        x = getattr(init, name)(param(shape, dtype="float64"), **kw).numpy()
        ref = getattr(torch.nn.init, name)(torch.empty(shape, dtype=torch.float64), **kw)
        fan_in, fan_out = init._calculate_fan_in_and_fan_out(param(shape))
        expected = want(fan_in, fan_out)
        assert x.std() == pytest.approx(expected, rel=0.03), (name, kw)
        assert x.std() == pytest.approx(float(ref.std()), rel=0.04), (name, kw)
        if "uniform" in name:
            bound = math.sqrt(3) * expected if name != "uniform_" else None
            if bound is not None:
                assert np.abs(x).max() <= bound and np.abs(x).max() > 0.99 * bound
        elif name != "normal_":
            assert abs(x.mean()) < 4 * expected / math.sqrt(x.size)
            frac = np.mean(np.abs(x) > 2 * expected)  # P(|z| > 2) = 4.55%
            assert abs(frac - 0.0455) < 0.01, (name, kw, frac)


@pytest.mark.parametrize("shape,gain", [((5, 8), 1.0), ((8, 5), 2.0), ((6, 2, 3, 3), 0.5),
                                        ((7, 7), 1.0)])
def test_orthogonal(shape, gain, backend):
    """Rows (or columns, when fewer) are orthonormal times gain; the matrix is not a
    fixed one (two draws differ)."""
    t = init.orthogonal_(param(shape), gain=gain)
    assert t.backend == backend
    w = t.numpy().reshape(shape[0], -1).astype(np.float64)
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(gram.shape[0]), atol=1e-5)
    assert not np.array_equal(init.orthogonal_(param(shape), gain=gain).numpy(), t.numpy())


def test_orthogonal_is_haar_distributed():
    """Sign-corrected QR makes the matrix uniform over the orthogonal group: entries of a
    random orthogonal n x n matrix have mean 0 and variance 1 / n, and its first entry's
    sign is a fair coin (uncorrected QR makes R's diagonal positive and biases it)."""
    xpnn.manual_seed(3)
    draws = np.stack([init.orthogonal_(param((4, 4), dtype="float64")).numpy()
                      for _ in range(2000)])
    np.testing.assert_allclose(draws.mean(axis=0), 0.0, atol=0.04)
    np.testing.assert_allclose(draws.var(axis=0), 0.25, atol=0.03)
    assert abs(np.mean(draws[:, 0, 0] > 0) - 0.5) < 0.05


@pytest.mark.parametrize("shape,sparsity", [((100, 40), 0.3), ((7, 5), 0.5), ((10, 3), 0.0),
                                            ((6, 4), 1.0)])
def test_sparse(shape, sparsity, backend):
    """ceil(sparsity * rows) zeros in every column, as PyTorch; the rest N(0, std^2), and
    the zero rows differ between columns."""
    torch = pytest.importorskip("torch")
    t = init.sparse_(param(shape, dtype="float64"), sparsity, std=0.5)
    x = t.numpy()
    zeros = np.sum(x == 0, axis=0)
    assert np.all(zeros == math.ceil(sparsity * shape[0]))
    ref = torch.nn.init.sparse_(torch.empty(shape, dtype=torch.float64), sparsity, std=0.5)
    np.testing.assert_array_equal(zeros, np.sum(ref.numpy() == 0, axis=0))
    if shape == (100, 40):
        assert np.std(x[x != 0]) == pytest.approx(0.5, rel=0.05)
        assert len({tuple(np.flatnonzero(c == 0)) for c in x.T}) > 30


BAD = [
    (lambda: init.normal_(np.zeros(3)), TypeError, "normal_: expected an xpnn Tensor"),
    (lambda: init.normal_(param((3,)), std=-1.0), ValueError, "std must be a number >= 0.0"),
    (lambda: init.uniform_(param((3,)), 1.0, 0.0), ValueError, "need a <= b"),
    (lambda: init.trunc_normal_(param((3,)), a=1.0, b=1.0), ValueError, "need a < b"),
    (lambda: init.kaiming_normal_(param((3, 4)), mode="fan_avg"), ValueError,
     "mode must be 'fan_in' or 'fan_out', got 'fan_avg'"),
    (lambda: init.kaiming_uniform_(param((3, 4)), nonlinearity="gelu"), ValueError,
     "unsupported nonlinearity 'gelu'"),
    (lambda: init.xavier_uniform_(param((4,))), ValueError, r"got shape \(4,\)"),
    (lambda: init.eye_(param((2, 2, 2))), ValueError, r"eye_: only 2-D .* \(2, 2, 2\)"),
    (lambda: init.dirac_(param((3, 3))), ValueError, r"3, 4 or 5-D .* \(3, 3\)"),
    (lambda: init.dirac_(param((3, 2, 3)), groups=2), ValueError, "dividing dim 0 .* got 2"),
    (lambda: init.orthogonal_(param((4,))), ValueError, "2 or more dims"),
    (lambda: init.sparse_(param((2, 3, 4)), 0.1), ValueError, "sparse_: only 2-D"),
    (lambda: init.sparse_(param((2, 3)), 1.5), ValueError, "sparsity must be in .* 1.5"),
    (lambda: init.normal_(param((3,)), generator=42), TypeError, "xpnn.Generator, got int"),
]


@pytest.mark.parametrize("make,exc,match", BAD, ids=[m for *_, m in BAD])
def test_bad_input(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_zero_element_kaiming_warns_like_torch():
    t = param((0, 3))
    with pytest.warns(UserWarning, match="zero-element"):
        assert init.kaiming_uniform_(t) is t
    assert init.orthogonal_(t) is t and to_np(t.array).shape == (0, 3)


def test_manual_seed_returns_a_generator_as_pytorch():
    """g = torch.manual_seed(0); ...(generator=g): the returned Generator is seeded alike."""
    g1 = xpnn.manual_seed(0)
    a = xpnn.randn(3, generator=g1).numpy()
    g2 = xpnn.manual_seed(0)
    assert isinstance(g2, xpnn.Generator)
    np.testing.assert_array_equal(xpnn.randn(3, generator=g2).numpy(), a)
