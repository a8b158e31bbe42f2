"""Pooling: float64 gradient checks, forward and backward against torch.nn.functional (with
tie-heavy inputs: the gradient goes to the first maximum), the layers across backends and
against torch.nn, and bad input."""
import numpy as np
import pytest

import xpnn
import xpnn.functional as F
from conftest import to_np
from xpnn import nn
from xpnn.backend import dtype_name

torch = pytest.importorskip("torch")
TF = torch.nn.functional

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
TWIN_TOL = 100 * EPS64  # a max is exact; an average sums <= 12 numbers
TOL32 = 16 * EPS32

# (name, xpnn fn, torch fn, input shape, kwargs)
CASES = [
    ("max_pool2d:2x2", F.max_pool2d, TF.max_pool2d, (2, 3, 6, 8), dict(kernel_size=2)),
    ("max_pool2d:overlap_pad", F.max_pool2d, TF.max_pool2d, (2, 2, 7, 6),
     dict(kernel_size=3, stride=2, padding=1)),
    ("max_pool2d:rect_dilated_ceil", F.max_pool2d, TF.max_pool2d, (1, 2, 9, 8),
     dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2), ceil_mode=True)),
    ("max_pool2d:odd_ceil", F.max_pool2d, TF.max_pool2d, (2, 2, 7, 5),
     dict(kernel_size=2, ceil_mode=True)),
    ("max_pool1d", F.max_pool1d, TF.max_pool1d, (2, 3, 11), dict(kernel_size=3, stride=2,
                                                                padding=1)),
    ("avg_pool2d:2x2", F.avg_pool2d, TF.avg_pool2d, (2, 3, 6, 8), dict(kernel_size=2)),
    ("avg_pool2d:pad", F.avg_pool2d, TF.avg_pool2d, (2, 2, 7, 6),
     dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool2d:exclude_pad_ceil", F.avg_pool2d, TF.avg_pool2d, (2, 2, 7, 6),
     dict(kernel_size=3, stride=2, padding=1, count_include_pad=False, ceil_mode=True)),
    ("avg_pool2d:rect_ceil", F.avg_pool2d, TF.avg_pool2d, (1, 2, 7, 8),
     dict(kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True)),
    ("avg_pool2d:divisor", F.avg_pool2d, TF.avg_pool2d, (1, 2, 5, 6),
     dict(kernel_size=3, stride=1, divisor_override=5)),
    ("avg_pool1d", F.avg_pool1d, TF.avg_pool1d, (2, 3, 11),
     dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
    # ceil_mode keeps a window larger than the (padded) input when it starts inside it
    ("max_pool2d:ceil_kernel_past_input", F.max_pool2d, TF.max_pool2d, (1, 2, 2, 4),
     dict(kernel_size=3, stride=2, ceil_mode=True)),
    ("avg_pool2d:ceil_kernel_past_input", F.avg_pool2d, TF.avg_pool2d, (1, 2, 2, 4),
     dict(kernel_size=3, stride=2, ceil_mode=True)),
    ("avg_pool1d:ceil_kernel_past_padding", F.avg_pool1d, TF.avg_pool1d, (2, 1, 3),
     dict(kernel_size=4, stride=3, padding=0, ceil_mode=True, count_include_pad=False)),
    ("adaptive_avg_pool2d:global", F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d,
     (2, 3, 5, 4), dict(output_size=1)),
    ("adaptive_avg_pool2d:3x5", F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d, (2, 2, 7, 8),
     dict(output_size=(3, 5))),
    ("adaptive_avg_pool2d:upsample", F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d,
     (1, 2, 3, 2), dict(output_size=(4, 3))),
    ("adaptive_avg_pool1d", F.adaptive_avg_pool1d, TF.adaptive_avg_pool1d, (2, 3, 10),
     dict(output_size=4)),
]
IDS = [c[0] for c in CASES]


def _x(shape, backend, ties=False, seed=0):
    """Random input; with ``ties`` a ReLU-like one: rounded values and many exact zeros."""
    X = np.random.default_rng(seed).standard_normal(shape)
    if ties:
        X = np.maximum(np.round(X, 1), 0.0)
    return X, xpnn.tensor(X, backend=backend, dtype="float64", requires_grad=True)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck_float64(case, host_backend):
    backend = host_backend
    _, fn, _, shape, kw = case
    _, x = _x(shape, backend)
    assert xpnn.gradcheck(lambda x: fn(x, **kw), x)


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_torch_forward_and_backward(case, ties, backend):
    """Same values and gradients as torch; on tie-heavy input max-pool's gradient must go
    to the first maximum of each window, as torch's does."""
    _, fn, tfn, shape, kw = case
    X, x = _x(shape, backend, ties)
    tx = torch.tensor(X, requires_grad=True)
    want, got = tfn(tx, **kw), fn(x, **kw)
    assert got.shape == tuple(want.shape) and dtype_name(got.dtype) == "float64"
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=TWIN_TOL,
                               atol=TWIN_TOL)
    g = np.random.default_rng(1).standard_normal(got.shape)
    got.backward(xpnn.tensor(g, backend=backend, dtype="float64"))
    want.backward(torch.tensor(g))
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=TWIN_TOL, atol=TWIN_TOL)


def test_max_pool_gradient_goes_to_first_maximum_of_a_flat_window(backend):
    x = xpnn.tensor(np.zeros((1, 1, 4, 4)), backend=backend, dtype="float32",
                    requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    want = np.zeros((4, 4), np.float32)
    want[::2, ::2] = 1.0  # the top-left element of each window, once
    np.testing.assert_array_equal(to_np(x.grad)[0, 0], want)
    x.grad = None
    F.max_pool2d(x, 3, stride=1).sum().backward()  # overlapping windows: counts add up
    want = np.zeros((4, 4), np.float32)
    want[:2, :2] = 1.0
    np.testing.assert_array_equal(to_np(x.grad)[0, 0], want)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_backends_agree(case, backend):
    _, fn, _, shape, kw = case

    def run(be):
        X = np.random.default_rng(0).standard_normal(shape)
        x = xpnn.tensor(X, backend=be, requires_grad=True)
        y = fn(x, **kw)
        y.backward(xpnn.tensor(np.ones(y.shape), backend=be, dtype="float32"))
        assert dtype_name(y.dtype) == "float32" and dtype_name(x.grad.dtype) == "float32"
        return y.numpy(), to_np(x.grad)

    for got, want in zip(run(backend), run("numpy")):
        np.testing.assert_allclose(got, want, rtol=TOL32, atol=TOL32)


LAYERS = [
    ("MaxPool2d", lambda m: m.MaxPool2d(3, stride=2, padding=1), (2, 3, 7, 7)),
    ("MaxPool1d", lambda m: m.MaxPool1d(2), (2, 3, 9)),
    ("AvgPool2d", lambda m: m.AvgPool2d((2, 3), stride=1, padding=1,
                                        count_include_pad=False), (2, 3, 5, 6)),
    ("AvgPool1d", lambda m: m.AvgPool1d(3, ceil_mode=True), (2, 3, 10)),
    ("AdaptiveAvgPool2d", lambda m: m.AdaptiveAvgPool2d((2, 3)), (2, 3, 5, 7)),
    ("AdaptiveAvgPool1d", lambda m: m.AdaptiveAvgPool1d(1), (2, 3, 5)),
]


@pytest.mark.parametrize("case", LAYERS, ids=[c[0] for c in LAYERS])
def test_layers_match_torch(case, backend):
    _, build, shape = case
    X = np.maximum(np.round(np.random.default_rng(0).standard_normal(shape), 1), 0)
    X = X.astype(np.float32)
    tx = torch.tensor(X, requires_grad=True)
    ty = build(torch.nn)(tx)
    ty.sum().backward()
    x = xpnn.tensor(X, backend=backend, requires_grad=True)
    y = build(nn)(x)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=TOL32, atol=TOL32)
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=TOL32, atol=TOL32)
    assert build(nn).state_dict() == {}


@pytest.mark.parametrize("make, match", [
    (lambda: nn.MaxPool2d(2, stride=0), r"MaxPool2d: stride must be an int >= 1.*got 0"),
    (lambda: nn.MaxPool2d(0), r"kernel_size must be an int >= 1.*got 0"),
    (lambda: nn.MaxPool2d(2, padding=2), r"padding \(2, 2\) must be at most half"),
    (lambda: nn.AvgPool1d(3, padding=-1), r"AvgPool1d: padding must be an int >= 0"),
    (lambda: nn.AdaptiveAvgPool2d(0), r"output_size must be an int >= 1.*got 0"),
])
def test_bad_construction_raises_quoting_values(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_call_raises_naming_layer_and_shapes():
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=2, stride=2.*expected a 4-D "
                                         r"input \(N, C, H, W\), got shape xpnn.Size\(\[3, 8\]\)"):
        nn.MaxPool2d(2)(xpnn.tensor(np.zeros((3, 8), np.float32)))
    with pytest.raises(ValueError, match=r"max_pool2d: kernel \(5, 5\).* spans 5, larger than "
                                         r"the padded input \(4 \+ 2\*0\).*\(ceil_mode=True "
                                         r"keeps a partial window\)"):
        F.max_pool2d(xpnn.tensor(np.zeros((1, 1, 4, 4), np.float32)), 5)
    with pytest.raises(ValueError, match=r"kernel \(6, 6\).* spans 6.*\(4, 4\)$"):
        F.max_pool2d(xpnn.tensor(np.zeros((1, 1, 4, 4), np.float32)), 6, 1, ceil_mode=True)
    with pytest.raises(ValueError, match=r"avg_pool1d: expected a 3-D or 2-D input \(N, C, L\) or \(C, L\), got "
                                         r"shape xpnn.Size\(\[1, 1, 4, 4\]\)"):
        F.avg_pool1d(xpnn.tensor(np.zeros((1, 1, 4, 4), np.float32)), 2)
    for fn in (F.adaptive_avg_pool1d, F.adaptive_max_pool1d):  # a window would be empty
        with pytest.raises(ValueError, match=r"adaptive_(avg|max)_pool1d: input of spatial "
                                             r"size \(0,\) has nothing to pool"):
            fn(xpnn.tensor(np.zeros((1, 2, 0), np.float32)), 3)
    with pytest.raises(ValueError, match=r"divisor_override must be a non-zero int, got 0"):
        F.avg_pool2d(xpnn.tensor(np.zeros((1, 1, 4, 4), np.float32)), 2, divisor_override=0)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, ceil_mode=True),
                                dict(kernel_size=(2, 3), stride=1, dilation=(2, 1))],
                         ids=["2x2", "3x3s2p1", "ceil", "overlap_dilated"])
def test_native_max_pool_backward_equals_portable(kw, monkeypatch):
    """NumPy's in-place max-pool backward (the fast path) gives the portable result
    exactly, ties included."""
    from xpnn.functional import max_pool as P  # the module whose op reads the table
    assert "numpy" in P.MAX_POOL_BACKWARD
    X, _ = _x((2, 3, 7, 8), "numpy", ties=True)
    grads = []
    for table in (P.MAX_POOL_BACKWARD, {}):
        monkeypatch.setattr(P, "MAX_POOL_BACKWARD", table)
        x = xpnn.tensor(X, requires_grad=True)
        y = F.max_pool2d(x, **kw)
        y.backward(xpnn.tensor(np.random.default_rng(1).standard_normal(y.shape)))
        grads.append(to_np(x.grad))
    np.testing.assert_array_equal(grads[0], grads[1])
