"""Convolutions: float64 gradient checks, forward and backward against torch.nn.functional on
every backend through both the native and the portable path, native kernels == portable
ones, the layers across backends and against torch.nn, and bad input."""
import numpy as np
import pytest

import xpnn
import xpnn.functional as F
from conftest import needs_torch, optional_torch, to_np
from xpnn import nn
from xpnn.backend import dtype_name, get_backend
from xpnn.functional import conv as C
from xpnn.functional import im2col as I

torch, TF = optional_torch()

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
# float64, sums of <= 50 products of O(1) numbers, summed in another order than torch's
TWIN_TOL = 1e3 * EPS64
# float32, the same sums: each backend's GEMM blocks (and so rounds) differently
TOL32 = 64 * EPS32
# the tables of native kernels, each in the module whose op reads it
CONV_FAST = ((I, "IM2COL"), (I, "COL2IM"), (C, "CONV"))
# torch's own notice about its padding="same" with even kernels (it pads a copy, as we do)
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")

# (name, xpnn fn, torch fn, x shape, weight shape, bias, kwargs)
CASES = [
    ("conv2d:basic", F.conv2d, "conv2d", (2, 3, 5, 6), (4, 3, 3, 3), True, {}),
    ("conv2d:stride_pad_dil_groups", F.conv2d, "conv2d", (2, 4, 7, 6), (6, 2, 3, 2), True,
     dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)),
    ("conv2d:same_odd", F.conv2d, "conv2d", (2, 2, 5, 4), (3, 2, 3, 3), False,
     dict(padding="same")),
    ("conv2d:same_even_dilated", F.conv2d, "conv2d", (1, 2, 6, 5), (2, 2, 2, 4), True,
     dict(padding="same", dilation=(2, 1))),
    ("conv2d:valid_depthwise", F.conv2d, "conv2d", (2, 3, 4, 4), (6, 1, 2, 2), True,
     dict(padding="valid", groups=3, stride=2)),
    ("conv2d:1x1", F.conv2d, "conv2d", (2, 3, 3, 2), (2, 3, 1, 1), True, {}),
    ("conv1d:basic", F.conv1d, "conv1d", (2, 3, 9), (4, 3, 3), True, dict(stride=2, padding=1)),
    ("conv1d:same_groups", F.conv1d, "conv1d", (2, 4, 7), (2, 2, 4), False,
     dict(padding="same", groups=2, dilation=2)),
    ("conv_transpose2d:basic", F.conv_transpose2d, "conv_transpose2d", (2, 3, 3, 4),
     (3, 2, 3, 3), True, {}),
    ("conv_transpose2d:stride_outpad", F.conv_transpose2d, "conv_transpose2d", (2, 4, 3, 3),
     (4, 3, 3, 2), True, dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2)),
    ("conv_transpose2d:dilated", F.conv_transpose2d, "conv_transpose2d", (1, 2, 3, 3),
     (2, 2, 2, 2), False, dict(dilation=2, padding=1, output_padding=1)),
    ("conv_transpose1d:basic", F.conv_transpose1d, "conv_transpose1d", (2, 4, 5), (4, 3, 3),
     True, dict(stride=3, padding=1, output_padding=2)),
]


def _out_channels(fn, wshape, kw):
    return wshape[1] * kw.get("groups", 1) if "transpose" in fn.__name__ else wshape[0]


def _host(case, seed=0):
    _, fn, _, xs, ws, bias, kw = case
    rng = np.random.default_rng(seed)
    b = rng.standard_normal(_out_channels(fn, ws, kw)) if bias else None
    return rng.standard_normal(xs), rng.standard_normal(ws), b


def _tensors(host, backend, dtype):
    return [None if h is None else xpnn.tensor(h, backend=backend, dtype=dtype,
                                               requires_grad=True) for h in host]


@pytest.fixture(params=["default", "portable"])
def path(request, backend, monkeypatch):
    """Run with the backend's native conv kernels where it has them, or with the portable
    Array API code only."""
    if request.param == "portable":
        if not any(backend in getattr(m, t) for m, t in CONV_FAST):
            pytest.skip(f"{backend} has no native conv path")
        for m, t in CONV_FAST:
            monkeypatch.setattr(m, t, {})
    return request.param


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("portable", [False, True], ids=["native", "portable"])
def test_gradcheck_float64(case, portable, monkeypatch):
    """Central differences on NumPy, through its native kernels and through the portable
    Array API code that array-api-strict (and CuPy without a native kernel) runs; torch's
    own kernels and every backend's results are checked against torch autograd below."""
    if portable:
        for m, t in CONV_FAST:
            monkeypatch.setattr(m, t, {})
    _, fn, _, _, _, _, kw = case
    x, w, b = _tensors(_host(case), "numpy", "float64")
    if b is None:
        assert xpnn.gradcheck(lambda x, w: fn(x, w, None, **kw), x, w)
    else:
        assert xpnn.gradcheck(lambda x, w, b: fn(x, w, b, **kw), x, w, b)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@needs_torch
def test_matches_torch_forward_and_backward(case, backend, path):
    _, fn, tfn, _, _, _, kw = case
    host = _host(case)
    x, w, b = _tensors(host, backend, "float64")
    tx, tw, tb = (None if h is None else torch.tensor(h, requires_grad=True) for h in host)
    want = getattr(TF, tfn)(tx, tw, tb, **kw)
    got = fn(x, w, b, **kw)
    assert got.shape == tuple(want.shape) and dtype_name(got.dtype) == "float64"
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=TWIN_TOL,
                               atol=TWIN_TOL)
    g = np.random.default_rng(1).standard_normal(got.shape)
    got.backward(xpnn.tensor(g, backend=backend, dtype="float64"))
    want.backward(torch.tensor(g))
    for mine, theirs, name in ((x, tx, "x"), (w, tw, "weight"), (b, tb, "bias")):
        if mine is not None:
            np.testing.assert_allclose(to_np(mine.grad), theirs.grad.numpy(), rtol=TWIN_TOL,
                                       atol=TWIN_TOL, err_msg=f"grad of {name}")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_float32_in_float32_out_and_backends_agree(case, backend, path):
    _, fn, _, _, _, _, kw = case
    host = _host(case)

    def run(be):
        x, w, b = _tensors(host, be, "float32")
        y = fn(x, w, b, **kw)
        assert dtype_name(y.dtype) == "float32"
        y.backward(xpnn.tensor(np.ones(y.shape), backend=be, dtype="float32"))
        return [y.numpy()] + [to_np(t.grad) for t in (x, w, b) if t is not None]

    for got, want in zip(run(backend), run("numpy")):
        assert dtype_name(got.dtype) == "float32"
        np.testing.assert_allclose(got, want, rtol=TOL32, atol=TOL32 * np.abs(want).max())


@pytest.mark.parametrize("geo", [((3, 3), (1, 1), (1, 1)), ((2, 3), (2, 1), (1, 2)),
                                 ((3, 2), (3, 2), (2, 1)), ((1, 1), (1, 1), (1, 1))])
def test_native_im2col_col2im_equal_portable(geo):
    """NumPy's strided-view im2col and in-place col2im give the portable results exactly."""
    kernel, stride, dilation = geo
    rng = np.random.default_rng(0)
    Xc = rng.standard_normal((3, 9, 8, 2)).astype(np.float32)
    out = tuple((n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(
        Xc.shape[1:3], kernel, stride, dilation))
    be = get_backend("numpy")
    cols = C.IM2COL["numpy"](be, Xc, kernel, stride, dilation, out)
    np.testing.assert_array_equal(cols, C.im2col_portable(np, Xc, kernel, stride, dilation,
                                                           out))
    back = C.COL2IM["numpy"](be, cols, Xc.shape[1:3], kernel, stride, dilation)
    np.testing.assert_array_equal(back, C.col2im_portable(np, cols, Xc.shape[1:3], kernel,
                                                          stride, dilation))
    # col2im is the adjoint of im2col: <im2col(X), G> == <X, col2im(G)>
    G = rng.standard_normal(cols.shape)
    assert np.isclose((cols * G).sum(), (Xc * C.col2im_portable(np, G, Xc.shape[1:3], kernel,
                                                                stride, dilation)).sum())


@needs_torch
def test_native_conv_equals_portable_on_torch(monkeypatch):
    """PyTorch's own conv kernels (the torch fast path) vs the portable code, both on torch."""
    for case in CASES:
        _, fn, _, _, _, _, kw = case
        results = []
        for table in (C.CONV, {}):
            monkeypatch.setattr(C, "CONV", table)
            x, w, b = _tensors(_host(case), "torch", "float64")
            y = fn(x, w, b, **kw)
            y.backward(xpnn.tensor(np.ones(y.shape), backend="torch", dtype="float64"))
            results.append([y.numpy()] + [to_np(t.grad) for t in (x, w, b) if t is not None])
        for a, b_ in zip(*results):
            np.testing.assert_allclose(a, b_, rtol=TWIN_TOL, atol=TWIN_TOL, err_msg=case[0])


def test_input_layout_does_not_matter():
    """An NCHW-contiguous input and the same values in CHWN memory give the same results."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 2, 5, 5)).astype(np.float32)
    W = xpnn.tensor(rng.standard_normal((4, 2, 3, 3)), requires_grad=True)
    chwn = np.ascontiguousarray(X.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    ys = [F.conv2d(xpnn.tensor(a), W, padding=1).numpy() for a in (X, chwn)]
    np.testing.assert_array_equal(ys[0], ys[1])


# -- layers --------------------------------------------------------------------------------
LAYERS = [
    ("Conv2d", lambda m: m.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 6, 5)),
    ("Conv2d:groups_nobias", lambda m: m.Conv2d(4, 6, (2, 3), groups=2, bias=False,
                                                padding="same"), (2, 4, 5, 5)),
    ("Conv1d", lambda m: m.Conv1d(2, 3, 5, padding=2, dilation=1), (3, 2, 11)),
    ("ConvTranspose2d", lambda m: m.ConvTranspose2d(3, 2, 3, stride=2, padding=1,
                                                    output_padding=1), (2, 3, 4, 3)),
    ("ConvTranspose1d", lambda m: m.ConvTranspose1d(2, 4, 4, stride=2, groups=2), (2, 2, 5)),
]


def _build(build, lib, backend=None):
    if lib is nn:
        xpnn.manual_seed(0)
        return build(nn).to(backend)
    torch.manual_seed(0)
    return build(torch.nn)


@pytest.mark.parametrize("case", LAYERS, ids=[c[0] for c in LAYERS])
@needs_torch
def test_layer_matches_torch_and_other_backends(case, backend):
    """state_dict names/shapes of torch.nn; with torch's weights loaded, torch's outputs and
    gradients; and the same outputs and gradients as on NumPy."""
    _, build, xshape = case
    tmod, mod = _build(build, torch.nn), _build(build, nn, backend)
    tsd = tmod.state_dict()
    assert [(k, tuple(v.shape)) for k, v in mod.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in tsd.items()]
    mod.load_state_dict({k: v.numpy() for k, v in tsd.items()})
    X = np.random.default_rng(0).standard_normal(xshape).astype(np.float32)
    tx = torch.tensor(X, requires_grad=True)
    ty = tmod(tx)
    ty.sum().backward()
    x = xpnn.tensor(X, backend=backend, requires_grad=True)
    y = mod(x)
    y.sum().backward()
    tol = TOL32 * max(1.0, float(np.abs(ty.detach().numpy()).max()))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=TOL32, atol=tol)
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=TOL32, atol=TOL32 * 10)
    for (name, p), (_, tp) in zip(mod.named_parameters(), tmod.named_parameters()):
        np.testing.assert_allclose(to_np(p.grad), tp.grad.numpy(), rtol=TOL32,
                                   atol=TOL32 * max(1.0, float(tp.grad.abs().max())),
                                   err_msg=name)


@needs_torch
def test_layer_init_is_torch_default_and_identical_across_backends():
    conv = _build(lambda m: m.Conv2d(4, 8, 3), nn, "numpy")
    bound = 1 / np.sqrt(4 * 9)  # kaiming_uniform(a=sqrt(5)) on fan_in 36
    w = to_np(conv.weight)
    assert w.shape == (8, 4, 3, 3) and np.abs(w).max() <= bound and np.abs(w).max() > bound / 2
    strict = _build(lambda m: m.Conv2d(4, 8, 3), nn, "array_api_strict")
    np.testing.assert_array_equal(to_np(strict.weight), w)
    assert repr(conv) == repr(torch.nn.Conv2d(4, 8, 3))


# -- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize("make, match", [
    (lambda: nn.Conv2d(3, 4, 3, stride=0), r"Conv2d: stride must be an int >= 1.*got 0"),
    (lambda: nn.Conv2d(3, 4, 3, groups=2), r"groups=2 must divide in_channels=3"),
    (lambda: nn.Conv2d(3, 4, 0), r"kernel_size must be an int >= 1.*got 0"),
    (lambda: nn.Conv2d(3, 4, 3, padding=-1), r"padding must be an int >= 0"),
    (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), r"'same' needs stride 1"),
    (lambda: nn.Conv2d(3, 4, 3, padding="full"), r"padding must be .*got 'full'"),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), r"padding_mode must be"),
    (lambda: nn.Conv1d(0, 4, 3), r"Conv1d: in_channels must be an int >= 1, got 0"),
    (lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=2),
     r"output_padding \(2, 2\) must be smaller than stride \(2, 2\)"),
])
def test_bad_construction_raises_quoting_values(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_call_raises_naming_layer_and_shapes():
    conv = nn.Conv2d(3, 4, 5)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 4.*expected input \(N, C, H, W\) with "
                                         r"C=3, got shape xpnn.Size\(\[2, 3, 8\]\)"):
        conv(xpnn.tensor(np.zeros((2, 3, 8), np.float32)))
    with pytest.raises(ValueError, match=r"C=3, got shape xpnn.Size\(\[2, 2, 8, 8\]\)"):
        conv(xpnn.tensor(np.zeros((2, 2, 8, 8), np.float32)))
    with pytest.raises(ValueError, match=r"conv2d: kernel \(5, 5\) .* spans \(5, 5\), larger "
                                         r"than the padded input \(4, 6\)"):
        conv(xpnn.tensor(np.zeros((1, 3, 4, 6), np.float32)))
    w = xpnn.tensor(np.zeros((4, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match=r"conv2d: input of shape xpnn.Size\(\[1, 2, 5, 5\]\) has 2 "
                                         r"channels, but weight of shape xpnn.Size\(\[4, 3, 3, 3\]\)"):
        F.conv2d(xpnn.tensor(np.zeros((1, 2, 5, 5), np.float32)), w)
    with pytest.raises(ValueError, match=r"conv2d: stride must be .* got 0"):
        F.conv2d(xpnn.tensor(np.zeros((1, 3, 5, 5), np.float32)), w, stride=0)
    with pytest.raises(ValueError, match=r"groups=2 must divide in_channels=6 and "
                                         r"out_channels=3"):
        F.conv2d(xpnn.tensor(np.zeros((1, 6, 5, 5), np.float32)),
                 xpnn.tensor(np.zeros((3, 3, 3, 3), np.float32)), groups=2)
    with pytest.raises(TypeError, match=r"conv2d: input dtype .*float64 differs from weight"):
        F.conv2d(xpnn.tensor(np.zeros((1, 3, 5, 5)), dtype="float64"), w)


def _example(name):
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_xpnn_example_{name}", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    return example


def test_mnist1d_cnn_short_run_learns():
    """examples/mnist1d.py --model cnn for 3 epochs: ~0.977 (30 epochs: 0.992; the MNIST-1D
    paper's CNN: 0.94, its MLP 0.68; chance 0.10)."""
    pytest.importorskip("mnist1d")
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        assert _example("mnist1d").main(["--model", "cnn", "--epochs", "3"]) >= 0.94


def test_digits_cnn_short_run_learns():
    """examples/digits_cnn.py for 4 of its 40 epochs: ~0.97 (the full run: 0.99; the MLP of
    examples/digits.py: 0.97 after 40 epochs; chance 0.10). A conv whose gradients were
    wrong would not get there in 180 steps."""
    pytest.importorskip("sklearn")  # the digits data
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):  # small matrices: one BLAS thread is faster on a busy box
        assert _example("digits_cnn").main(["--epochs", "4"]) >= 0.95
