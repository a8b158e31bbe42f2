"""Regressions from an adversarial sweep of the nn layers against torch 2.13: each case is
one disagreement found there (a missing argument, mode or layer, or an exception class that
differed from PyTorch's), compared with torch on every backend where values are involved."""
import numpy as np
import pytest

import xpnn
import xpnn.functional as F
from conftest import needs_torch, optional_torch, to_np
from xpnn import nn

torch, TF = optional_torch()

EPS32 = float(np.finfo(np.float32).eps)
TOL32 = 64 * EPS32  # float32 sums of a few dozen O(1) products, rounded in another order


def _pair(a, grad=True):
    """(torch float32 tensor, xpnn float32 tensor on the default backend) of a host array."""
    a = np.asarray(a, dtype=np.float32)
    return (torch.tensor(a, requires_grad=grad),
            xpnn.tensor(a, dtype=xpnn.float32, requires_grad=grad))


def _close(x, t, tol=TOL32):
    t = t.detach().numpy()
    got = to_np(x)
    assert got.shape == t.shape and got.dtype == t.dtype
    np.testing.assert_allclose(got, t, rtol=tol, atol=tol)


def _backward_both(yt, yx, rng):
    w = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    (yt * torch.tensor(w)).sum().backward()
    (yx * xpnn.tensor(w, dtype=xpnn.float32)).sum().backward()


# -- ConvTranspose's forward(x, output_size) -------------------------------------------------

OUTPUT_SIZE = [  # (nd, input shape, ctor kwargs, output_size)
    (2, (2, 3, 4, 5), dict(stride=2, padding=1), [8, 10]),
    (2, (2, 3, 4, 5), dict(stride=2, padding=1), (2, 4, 7, 9)),   # N, C lead
    (2, (3, 4, 5), dict(stride=2), (10, 12)),                     # unbatched
    (1, (2, 3, 4), dict(stride=3, dilation=2), [14]),
    (3, (1, 2, 3, 3, 3), dict(stride=2, groups=2), [8, 7, 8]),
]


@needs_torch
@pytest.mark.parametrize("nd, shape, kw, size", OUTPUT_SIZE)
def test_conv_transpose_output_size(backend, rng, nd, shape, kw, size):
    cin = shape[-nd - 1]
    tm = getattr(torch.nn, f"ConvTranspose{nd}d")(cin, 4, 3, **kw)
    xm = getattr(nn, f"ConvTranspose{nd}d")(cin, 4, 3, **kw)
    xm.load_state_dict({k: xpnn.tensor(v.detach().numpy()) for k, v in
                        tm.state_dict().items()})
    t, x = _pair(rng.standard_normal(shape))
    yt, yx = tm(t, output_size=size), xm(x, output_size=size)
    _close(yx, yt)
    _backward_both(yt, yx, rng)
    _close(x.grad, t.grad)
    _close(xm.weight.grad, tm.weight.grad)


def test_conv_transpose_output_size_out_of_range():
    m = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)
    x = xpnn.zeros(2, 3, 4, 5)
    with pytest.raises(ValueError, match="output size"):  # torch: ValueError
        m(x, output_size=[12, 10])
    with pytest.raises(ValueError, match="output_size must have 2 or 4"):
        m(x, output_size=[8, 10, 1])


@pytest.mark.parametrize("layer, shape", [
    (lambda: nn.Conv2d(3, 4, 3), (2, 5, 6, 6)),
    (lambda: nn.ConvTranspose2d(3, 4, 3), (2, 4, 4, 5)),
    (lambda: nn.Conv1d(3, 4, 3), (2, 3, 5, 6)),
    (lambda: nn.Conv2d(3, 4, 3), (2, 3, 2, 2)),   # kernel larger than the input
])
def test_conv_bad_input_is_runtime_error(layer, shape):
    """torch raises RuntimeError; xpnn's error is that and a ValueError."""
    with pytest.raises(RuntimeError):
        layer()(xpnn.zeros(*shape))
    with pytest.raises(ValueError):
        F.conv2d(xpnn.zeros(1, 2, 4, 4), xpnn.zeros(3, 5, 3, 3))


# -- MaxUnpool3d and unpooling's index range ---------------------------------------------------

@needs_torch
@pytest.mark.parametrize("shape, size", [((1, 2, 5, 4, 4), [5, 4, 4]), ((2, 4, 4, 6), None)])
def test_max_unpool3d(backend, rng, shape, size):
    t, x = _pair(rng.standard_normal(shape))
    yt, it = torch.nn.MaxPool3d(2, return_indices=True)(t)
    yx, ix = nn.MaxPool3d(2, return_indices=True)(x)
    zt = torch.nn.MaxUnpool3d(2)(yt, it, output_size=size)
    zx = nn.MaxUnpool3d(2)(yx, ix, output_size=size)
    _close(zx, zt)
    assert repr(nn.MaxUnpool3d(2)) == repr(torch.nn.MaxUnpool3d(2))
    _backward_both(zt, zx, rng)
    _close(x.grad, t.grad)


def test_max_unpool3d_gradcheck(host_backend, rng):
    x = xpnn.tensor(rng.standard_normal((1, 2, 4, 4, 4)), dtype=xpnn.float64)
    y, idx = F.max_pool3d(x, 2, return_indices=True)
    y = y.detach().requires_grad_()
    assert xpnn.gradcheck(lambda v: F.max_unpool3d(v, idx, 2), y)


def test_max_unpool_index_out_of_range_raises(rng):
    """An index past the output plane (output_size too small) raises as torch's does,
    instead of landing in the next channel's plane."""
    x = xpnn.tensor(rng.standard_normal((2, 3, 5, 5)), dtype=xpnn.float32)
    y, idx = F.max_pool2d(x, 2, stride=1, return_indices=True)  # 4x4 windows over 5x5
    assert F.max_unpool2d(y, idx, 2, stride=1).shape == (2, 3, 5, 5)  # 5x5 planes: fits
    with pytest.raises(IndexError) as info:  # 3x3 planes: indices up to 24 do not fit
        F.max_unpool2d(y, idx, 2, stride=1, padding=1)
    assert isinstance(info.value, RuntimeError)


# -- bicubic interpolation ---------------------------------------------------------------------

BICUBIC = [  # (input shape, interpolate kwargs)
    ((2, 3, 4, 5), dict(scale_factor=2)),
    ((2, 3, 4, 5), dict(size=(7, 3))),
    ((1, 2, 4, 5), dict(scale_factor=1.7)),
    ((1, 2, 4, 5), dict(scale_factor=(0.6, 2.5))),
    ((1, 2, 4, 5), dict(scale_factor=1.7, recompute_scale_factor=True)),
    ((1, 2, 4, 5), dict(scale_factor=1.7, align_corners=True)),
    ((1, 2, 4, 5), dict(size=(1, 6), align_corners=True)),
    ((1, 2, 7, 5), dict(size=(3, 2))),
    ((1, 2, 4, 5), dict(size=(4, 5))),
]


@needs_torch
@pytest.mark.parametrize("shape, kw", BICUBIC)
def test_bicubic_matches_torch(backend, rng, shape, kw):
    t, x = _pair(rng.standard_normal(shape))
    yt = TF.interpolate(t, mode="bicubic", **kw)
    yx = F.interpolate(x, mode="bicubic", **kw)
    _close(yx, yt)
    _backward_both(yt, yx, rng)
    _close(x.grad, t.grad)


@needs_torch
def test_bicubic_upsample_module(backend, rng):
    t, x = _pair(rng.standard_normal((2, 3, 4, 4)))
    tm = torch.nn.Upsample(scale_factor=2, mode="bicubic", align_corners=False)
    xm = nn.Upsample(scale_factor=2, mode="bicubic", align_corners=False)
    assert repr(xm) == repr(tm)
    _close(xm(x), tm(t))


@pytest.mark.parametrize("kw", [dict(scale_factor=1.5), dict(size=(3, 7), align_corners=True)])
def test_bicubic_gradcheck(host_backend, rng, kw):
    x = xpnn.tensor(rng.standard_normal((1, 2, 4, 5)), dtype=xpnn.float64, requires_grad=True)
    assert xpnn.gradcheck(lambda v: F.interpolate(v, mode="bicubic", **kw), x)


def test_interpolate_mode_rank_is_not_implemented_error():
    """torch raises NotImplementedError for bilinear/bicubic on a 3-D input."""
    for mode in ("bilinear", "bicubic"):
        with pytest.raises(NotImplementedError):
            F.interpolate(xpnn.zeros(1, 2, 3), scale_factor=2, mode=mode)


# -- scaled_dot_product_attention: enable_gqa, attn_mask with is_causal -------------------------

@needs_torch
@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_enable_gqa(backend, rng, causal):
    (tq, xq), (tk, xk), (tv, xv) = (_pair(rng.standard_normal(s)) for s in
                                    ((2, 6, 5, 4), (2, 2, 6, 4), (2, 2, 6, 4)))
    yt = TF.scaled_dot_product_attention(tq, tk, tv, is_causal=causal, enable_gqa=True)
    yx = F.scaled_dot_product_attention(xq, xk, xv, is_causal=causal, enable_gqa=True)
    _close(yx, yt)
    _backward_both(yt, yx, rng)
    for x, t in ((xq, tq), (xk, tk), (xv, tv)):
        _close(x.grad, t.grad)


def test_sdpa_enable_gqa_gradcheck(host_backend, rng):
    q, k, v = (xpnn.tensor(rng.standard_normal(s), dtype=xpnn.float64, requires_grad=True)
               for s in ((1, 4, 3, 2), (1, 2, 3, 2), (1, 2, 3, 2)))
    assert xpnn.gradcheck(
        lambda a, b, c: F.scaled_dot_product_attention(a, b, c, enable_gqa=True), q, k, v)


def test_sdpa_errors_match_torch_classes():
    q, k = xpnn.zeros(2, 6, 5, 4), xpnn.zeros(2, 4, 6, 4)
    with pytest.raises(RuntimeError):  # heads do not broadcast without enable_gqa
        F.scaled_dot_product_attention(q, k, k)
    with pytest.raises(RuntimeError):  # 6 query heads over 4 key heads
        F.scaled_dot_product_attention(q, k, k, enable_gqa=True)
    with pytest.raises(RuntimeError):  # MultiheadAttention's attn_mask of the wrong shape
        nn.MultiheadAttention(8, 2)(xpnn.zeros(3, 2, 8), xpnn.zeros(4, 2, 8),
                                    xpnn.zeros(4, 2, 8), attn_mask=xpnn.zeros(3, 3))


# -- exception classes where torch raises RuntimeError ----------------------------------------

@pytest.mark.parametrize("call", [
    lambda: nn.BatchNorm2d(3)(xpnn.zeros(2, 4, 4, 4)),
    lambda: nn.GroupNorm(2, 6)(xpnn.zeros(2, 4, 3)),
    lambda: nn.LayerNorm(4)(xpnn.zeros(2, 5, 3)),
    lambda: F.pad(xpnn.zeros(1, 2, 3), (3, 0), mode="reflect"),
    lambda: F.pad(xpnn.zeros(1, 2, 3), (3,)),
    lambda: F.fold(xpnn.zeros(2, 12, 13), (5, 6), 2),
    lambda: F.pixel_shuffle(xpnn.zeros(2, 8, 3, 4), 3),
    lambda: F.pixel_unshuffle(xpnn.zeros(2, 2, 5, 6), 2),
    lambda: nn.Embedding(5, 2)(xpnn.zeros(2)),
], ids=["batchnorm-channels", "groupnorm-channels", "layernorm-shape", "pad-reflect",
        "pad-odd", "fold-blocks", "pixel_shuffle", "pixel_unshuffle", "embedding-float-ids"])
def test_runtime_error_where_torch_raises_one(call):
    with pytest.raises(RuntimeError):
        call()
