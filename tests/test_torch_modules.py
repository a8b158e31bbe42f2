"""The modules a PyTorch program needs beyond the layer table's one-call checks (cases.py):
LSTM projections with given states in float64 and their gradient check, running statistics
of InstanceNorm/BatchNorm3d over several steps, max unpooling where windows overlap,
adaptive max pooling's indices on ties, native == portable scatter, and bad input."""
import warnings

import numpy as np
import pytest
from conftest import to_np

import xpnn
import xpnn.functional as F
from xpnn import nn
from xpnn.functional.recurrent import recurrent_layer

torch = pytest.importorskip("torch")
TF = torch.nn.functional

EPS64 = float(np.finfo(np.float64).eps)
TWIN_TOL = 1e3 * EPS64  # float64 vs torch: the same sums in other orders


def _x(a, grad=True, backend="numpy"):
    return xpnn.tensor(a, dtype="float64", requires_grad=grad, backend=backend)


def _t(a, grad=True):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _close(ours, theirs, tol=TWIN_TOL, what=""):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    np.testing.assert_allclose(to_np(ours), theirs, atol=tol, rtol=0, err_msg=what)


# -- LSTM with a projection -----------------------------------------------------------------
def test_lstm_projection_with_states_matches_torch(rng):
    """proj_size with given (h_0, c_0), two layers, bidirectional, batch_first: outputs,
    final states and every gradient (weight_hr_l{k}{_reverse} included) agree in float64."""
    kw = dict(num_layers=2, bidirectional=True, batch_first=True, proj_size=2)
    with warnings.catch_warnings():  # torch: "LSTM with projections is not supported with oneDNN"
        warnings.simplefilter("ignore", UserWarning)
        theirs = torch.nn.LSTM(3, 4, **kw, dtype=torch.float64)
        ours = nn.LSTM(3, 4, **kw, dtype="float64")
        assert "weight_hr_l1_reverse" in ours.state_dict()
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        x, h0, c0 = (rng.standard_normal(s) for s in ((2, 5, 3), (4, 2, 2), (4, 2, 4)))
        (xx, xh, xc), (tx, th, tc) = [_x(a) for a in (x, h0, c0)], [_t(a) for a in (x, h0, c0)]
        out, (h, c) = ours(xx, (xh, xc))
        t_out, (t_h, t_c) = theirs(tx, (th, tc))
    assert out.shape == (2, 5, 4) and h.shape == (4, 2, 2) and c.shape == (4, 2, 4)
    for a, b, what in ((out, t_out, "output"), (h, t_h, "h_n"), (c, t_c, "c_n")):
        _close(a, b, what=what)
    w = [rng.standard_normal(tuple(t.shape)) for t in (t_out, t_h, t_c)]
    sum((o * _x(wi, False)).sum() for o, wi in zip((out, h, c), w)).backward()
    sum((o * torch.tensor(wi)).sum() for o, wi in zip((t_out, t_h, t_c), w)).backward()
    for a, b, what in ((xx, tx, "x"), (xh, th, "h_0"), (xc, tc, "c_0")):
        _close(a.grad, b.grad, what=f"grad of {what}")
    tgrads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, tgrads[name].grad, what=name)


@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_projection_gradcheck(host_backend, reverse, rng):
    backend = host_backend
    T, N, In, H, P = 2, 2, 1, 2, 1
    args = [_x(rng.standard_normal(s), backend=backend) for s in (
        (T, N, In), (N, P), (N, H), (4 * H, In), (4 * H, P), (4 * H,), (4 * H,), (P, H))]

    def run(x, h0, c0, *weights):
        y, h, c = recurrent_layer("LSTM", x, (h0, c0), weights, reverse=reverse, proj=True)
        return (y * y).sum() + (h * c[:, :P]).sum() + c.sum()
    assert xpnn.gradcheck(run, *args)


def test_lstm_projection_bad_arguments():
    with pytest.raises(ValueError, match=r"LSTM: proj_size \(4\) must be smaller than "
                                         r"hidden_size \(4\)"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match=r"LSTM: proj_size must be an int >= 0, got -1"):
        nn.LSTM(3, 4, proj_size=-1)
    lstm = nn.LSTM(3, 4, proj_size=2)
    x = xpnn.zeros(5, 2, 3)
    with pytest.raises(ValueError, match=r"h_0 has shape xpnn.Size\(\[1, 2, 4\]\), expected \(1, 2, 2\) "
                                         r"\(num_layers \* num_directions, batch, proj_size\)"):
        lstm(x, (xpnn.zeros(1, 2, 4), xpnn.zeros(1, 2, 4)))
    with pytest.raises(ValueError, match=r"proj=True\) is LSTM only"):
        recurrent_layer("GRU", x, xpnn.zeros(2, 4), [], proj=True)


# -- normalization over several steps -------------------------------------------------------
@pytest.mark.parametrize("name, shape, kw", [
    ("InstanceNorm1d", (3, 2, 5), dict(affine=True, track_running_stats=True)),
    ("InstanceNorm3d", (2, 2, 2, 3), dict(track_running_stats=True, momentum=0.3)),
    ("BatchNorm3d", (2, 2, 2, 1, 3), dict(momentum=None)),
])
def test_running_statistics_follow_torch(name, shape, kw, rng):
    """Two training steps update the buffers as torch's do; eval then normalizes with
    them and the outputs agree."""
    theirs = getattr(torch.nn, name)(2, **kw, dtype=torch.float64)
    ours = getattr(nn, name)(2, **kw, dtype="float64")
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for _ in range(2):
        x = rng.standard_normal(shape) * 3 + 1
        _close(ours(_x(x)), theirs(_t(x)))
    for k, v in theirs.state_dict().items():
        _close(ours.state_dict()[k], v, what=k)
    ours.eval(), theirs.eval()
    x = rng.standard_normal(shape)
    _close(ours(_x(x)), theirs(_t(x)))


def test_instance_norm_channel_checks():
    x = xpnn.zeros(2, 3, 4)
    with pytest.raises(ValueError, match=r"InstanceNorm1d\(2.*expected input with C=2 at dim 1"
                                         r", got shape xpnn.Size\(\[2, 3, 4\]\)"):
        nn.InstanceNorm1d(2, affine=True)(x)
    with pytest.warns(UserWarning, match=r"InstanceNorm1d: input has 3 channels but "
                                         r"num_features=2"):
        y = nn.InstanceNorm1d(2)(x)  # torch, too, only warns: num_features is then unused
    assert y.shape == (2, 3, 4)
    with pytest.raises(ValueError, match=r"InstanceNorm2d.*expected input \(N, C, H, W\) or "
                                         r"unbatched \(C, H, W\), got shape xpnn.Size\(\[3, 4\]\)"):
        nn.InstanceNorm2d(3)(xpnn.zeros(3, 4))
    with pytest.raises(ValueError, match=r"instance_norm: expected more than 1 position"):
        F.instance_norm(xpnn.zeros(2, 3, 1))
    with pytest.raises(ValueError, match=r"BatchNorm3d.*\(N, C, D, H, W\) with C=2"):
        nn.BatchNorm3d(2)(xpnn.zeros(2, 2, 3, 3))


# -- pooling --------------------------------------------------------------------------------
@pytest.mark.parametrize("unbatched", [False, True])
def test_max_unpool_with_overlapping_windows_matches_torch(unbatched, rng):
    """Overlapping windows share maxima (an index appears twice): the value goes there once
    and the gradient is the output gradient at the indices, exactly as torch's."""
    x = rng.standard_normal((2, 7, 7) if unbatched else (2, 2, 7, 7))
    xx, tx = _x(x), _t(x)
    y, i = nn.MaxPool2d(3, 2, 1, return_indices=True)(xx)
    ty, ti = torch.nn.MaxPool2d(3, 2, 1, return_indices=True)(tx)
    np.testing.assert_array_equal(to_np(i), ti.numpy())
    out = nn.MaxUnpool2d(3, 2, 1)(y, i, output_size=x.shape[-2:])
    t_out = torch.nn.MaxUnpool2d(3, 2, 1)(ty, ti, output_size=x.shape[-2:])
    _close(out, t_out)
    w = rng.standard_normal(out.shape)
    (out * _x(w, False)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    _close(xx.grad, tx.grad)


def test_adaptive_max_pool_indices_pick_the_first_maximum_as_torch():
    x = np.array([[[[1, 3, 3, 0, 2], [3, 1, 0, 2, 2], [0, 0, 1, 1, 0]]]], np.float64)
    for out_size in ((2, 2), (1, 3), (3, None)):
        y, i = F.adaptive_max_pool2d(_x(x), out_size, return_indices=True)
        ty, ti = TF.adaptive_max_pool2d(_t(x), out_size, return_indices=True)
        np.testing.assert_array_equal(to_np(i), ti.numpy())
        _close(y, ty)
    y, i = nn.AdaptiveMaxPool1d(2, return_indices=True)(_x(x[0, 0]))  # unbatched (C, L)
    ty, ti = torch.nn.AdaptiveMaxPool1d(2, return_indices=True)(_t(x[0, 0]))
    np.testing.assert_array_equal(to_np(i), ti.numpy())


def test_native_and_portable_scatter_agree(portable_only, rng):
    """Unpooling and adaptive max pooling scatter with index_add: with the native kernels
    removed (portable one-hot code), values and gradients equal torch's."""
    x = rng.standard_normal((2, 2, 5, 6))
    for be in ("numpy", "torch"):
        xx, tx = _x(x, backend=be), _t(x)
        out = F.max_unpool2d(*F.max_pool2d(xx, 2, 1, return_indices=True), 2, 1)
        t_out = TF.max_unpool2d(*TF.max_pool2d(tx, 2, 1, return_indices=True), 2, 1)
        out = out + F.adaptive_max_pool2d(xx, (5, 6)) * 2
        t_out = t_out + TF.adaptive_max_pool2d(tx, (5, 6)) * 2
        _close(out, t_out)
        out.sum().backward()
        t_out.sum().backward()
        _close(xx.grad, tx.grad)


def test_bad_pool_input():
    y, i = F.max_pool2d(xpnn.zeros(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(ValueError, match=r"max_unpool2d: output_size \(6, 4\) must lie "
                                         r"strictly within one stride \(2, 2\) of the default "
                                         r"size \(4, 4\)"):
        F.max_unpool2d(y, i, 2, output_size=(6, 4))
    with pytest.raises(ValueError, match=r"max_unpool2d: indices of shape \(1, 1, 2, 1\) "
                                         r"must have the input's shape \(1, 1, 2, 2\)"):
        F.max_unpool2d(y, i[..., :1], 2)
    with pytest.raises(TypeError, match=r"indices must be integers.*float32"):
        F.max_unpool2d(y, y, 2)
    with pytest.raises(ValueError, match=r"AdaptiveMaxPool2d: output_size must be an int >= 1, "
                                         r"None or a tuple of 2.*got \(0, 2\)"):
        nn.AdaptiveMaxPool2d((0, 2))
    with pytest.raises(ValueError, match=r"MaxUnpool1d.*expected a 3-D input \(N, C, L\), got "
                                         r"shape xpnn.Size\(\[1, 1, 2, 2\]\)"):
        nn.MaxUnpool1d(2)(y, i)


# -- convolution ----------------------------------------------------------------------------
def test_bad_padding_modes():
    with pytest.raises(ValueError, match=r"Conv2d: padding_mode must be 'zeros' or 'reflect' "
                                         r"or 'replicate' or 'circular', got 'mirror'"):
        nn.Conv2d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match=r"ConvTranspose2d: padding_mode must be 'zeros', got "
                                         r"'reflect'"):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    conv = nn.Conv1d(1, 1, 5, padding=3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"pad: reflect padding \(3, 3\).*less than its size 3"):
        conv(xpnn.zeros(1, 1, 3))
    with pytest.raises(ValueError, match=r"Conv3d\(2, 2.*expected input \(N, C, D, H, W\) with "
                                         r"C=2, got shape xpnn.Size\(\[2, 3, 3, 3, 3\]\)"):
        nn.Conv3d(2, 2, 3)(xpnn.zeros(2, 3, 3, 3, 3))


def _pool_and_list_modules(lib):
    nn_ = lib.nn
    return [nn_.MaxPool1d(3), nn_.MaxPool2d(2),
            nn_.MaxPool2d((2, 3), stride=1, padding=1, dilation=2, ceil_mode=True,
                          return_indices=True),
            nn_.MaxPool3d(2), nn_.MaxPool2d([2, 2], 1), nn_.AvgPool1d(3), nn_.AvgPool2d(2),
            nn_.AvgPool2d((2, 3), count_include_pad=False, ceil_mode=True, divisor_override=2),
            nn_.AvgPool3d(2), nn_.AdaptiveAvgPool2d((5, 7)), nn_.LPPool2d(2, 3),
            nn_.MaxUnpool2d(2),
            nn_.ModuleList([nn_.ReLU(), nn_.ReLU(), nn_.Linear(2, 3), nn_.Linear(2, 3),
                            nn_.Linear(2, 3), nn_.Tanh()]),
            nn_.ModuleList(),
            nn_.Sequential(nn_.ModuleList([nn_.Sequential(nn_.ReLU(), nn_.Tanh())] * 2),
                           nn_.ReLU())]


def test_pool_and_module_list_reprs_are_pytorchs():
    """print(model) as PyTorch prints it: pooling layers with their arguments as given
    (MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)), a
    ModuleList's run of alike neighbours as one line ("(0-1): 2 x ReLU()")."""
    for ours, theirs in zip(_pool_and_list_modules(xpnn), _pool_and_list_modules(torch)):
        assert repr(ours) == repr(theirs)


def test_tensor_compared_with_none_and_tensor_slice_bounds():
    """``t == None`` is False and ``t != None`` True, as PyTorch's, so a slice with a 0-d
    tensor bound (``x[:n]``, n a tensor) indexes instead of raising; the transforms are
    importable from xpnn.distributions, as from torch.distributions."""
    for lib in (torch, xpnn):
        t = lib.tensor(3)
        assert (t == None) is False and (t != None) is True  # noqa: E711
    assert xpnn.arange(5)[:xpnn.tensor(3)].tolist() == [0, 1, 2]
    assert xpnn.arange(5)[xpnn.tensor(1):xpnn.tensor(4)].tolist() == [1, 2, 3]
    from xpnn.distributions import AffineTransform, TanhTransform, Transform  # noqa: F401


def _repr_modules(lib):
    nn_ = lib.nn
    return [nn_.Dropout(), nn_.Dropout(0.3, inplace=True), nn_.Dropout1d(), nn_.Dropout2d(0.2),
            nn_.Dropout3d(), nn_.AlphaDropout(0.2), nn_.Softplus(), nn_.Softplus(2, 10),
            nn_.MultiheadAttention(8, 2), nn_.TransformerEncoderLayer(8, 2, 16)]


def test_dropout_softplus_and_attention_reprs_are_pytorchs():
    """print(model) of a Transformer reads as PyTorch's: Dropout with inplace=, Softplus's
    arguments as given, MultiheadAttention showing only its out_proj (under PyTorch's class
    name for it, NonDynamicallyQuantizableLinear)."""
    for ours, theirs in zip(_repr_modules(xpnn), _repr_modules(torch)):
        assert repr(ours) == repr(theirs)


def test_dropout3d_drops_whole_channels(backend):
    x = xpnn.ones(4, 6, 2, 3, 3, backend=backend)
    y = nn.Dropout3d(0.5)(x)
    per_channel = to_np(y).reshape(4, 6, -1)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert (per_channel.min(axis=2) == per_channel.max(axis=2)).all()  # whole channels
    assert nn.Dropout3d(0.5).eval()(x) is x or np.array_equal(to_np(nn.Dropout3d(0.5).eval()(x)),
                                                             to_np(x))
    with pytest.raises(ValueError, match="5-D input"):  # 4-D is unbatched (C, D, H, W)
        nn.Dropout3d()(xpnn.ones(2, 3, 4, backend=backend))
