"""Adversarial inputs, round 2: layers in unusual configurations, module and optimizer state,
optimizer arguments and gradient clipping, and two autograd left-overs. Each case runs on
torch 2.13 and on xpnn: where torch returns a value xpnn returns the same one (and the same
gradients, on every backend of the ``backend`` fixture); where torch raises, xpnn raises an
instance of torch's class (usually a subclass that is also the Python error xpnn raised
before) with a message naming the function and what it received.

Tolerances: float32 results against torch's float32 within torch_same.TOL32 (100 float32
eps); float64 gradient checks at xpnn.gradcheck's defaults.
"""
import math

import numpy as np
import pytest
from conftest import to_np
from torch_same import _bool, _ids, _pair, _t, raises_like, same

import xpnn

torch = pytest.importorskip("torch")


def _weighted_sum(lib, outs):
    """sum_k <out_k, W_k> for fixed random W_k: every output element gets its own weight."""
    total = 0
    for k, out in enumerate(outs):
        w = np.random.default_rng(k + 1).standard_normal(tuple(out.shape))
        total = total + (out * _t(lib, w, str(out.dtype).rsplit(".", 1)[-1])).sum()
    return total


# -- layers in unusual configurations: values and gradients as torch's ---------------------
ALLOW = np.random.default_rng(7).random((3, 4)) > 0.5
ALLOW[:, 0] = True
KPM = np.array([[False, True, False, False], [False, False, True, True]])


def _layer(make, *shapes, **kw):
    return make, shapes, kw


LAYERS = {
    "Conv1d-groups-dilation": _layer(lambda l: l.nn.Conv1d(4, 6, 3, groups=2, dilation=2),
                                     (2, 4, 9)),
    "Conv2d-depthwise": _layer(lambda l: l.nn.Conv2d(4, 8, 3, groups=4, padding=1),
                               (2, 4, 5, 5)),
    "Conv2d-same-even-kernel": _layer(lambda l: l.nn.Conv2d(2, 3, 4, padding="same"),
                                      (1, 2, 6, 7)),
    "Conv2d-same-even-dilated": _layer(lambda l: l.nn.Conv2d(
        2, 3, (2, 4), padding="same", dilation=(3, 2)), (1, 2, 6, 7)),
    "Conv3d-same-even-kernel": _layer(lambda l: l.nn.Conv3d(2, 3, 2, padding="same"),
                                      (1, 2, 3, 4, 5)),
    "Conv1d-same-reflect-even": _layer(lambda l: l.nn.Conv1d(
        2, 3, 4, padding="same", padding_mode="reflect"), (1, 2, 6)),
    "Conv2d-same-circular-even": _layer(lambda l: l.nn.Conv2d(
        2, 3, 4, padding="same", padding_mode="circular"), (1, 2, 6, 6)),
    "Conv2d-reflect": _layer(lambda l: l.nn.Conv2d(2, 3, 3, padding=2,
                                                   padding_mode="reflect"), (1, 2, 5, 6)),
    "Conv2d-replicate-uneven": _layer(lambda l: l.nn.Conv2d(
        2, 3, 3, padding=(1, 3), padding_mode="replicate"), (1, 2, 5, 6)),
    "Conv2d-circular-pad-equals-size": _layer(lambda l: l.nn.Conv2d(
        2, 3, 3, padding=3, padding_mode="circular"), (1, 2, 3, 6)),
    "Conv3d-reflect": _layer(lambda l: l.nn.Conv3d(2, 2, 3, padding=1,
                                                   padding_mode="reflect"), (1, 2, 3, 4, 5)),
    "Conv2d-stride-larger-than-input": _layer(lambda l: l.nn.Conv2d(2, 3, 2, stride=10),
                                              (1, 2, 5, 6)),
    "Conv2d-kernel-equals-padded-input": _layer(lambda l: l.nn.Conv2d(2, 3, 5, padding=1),
                                                (1, 2, 3, 3)),
    "ConvTranspose1d-groups-dilation": _layer(lambda l: l.nn.ConvTranspose1d(
        4, 6, 3, groups=2, dilation=2, stride=2, padding=1, output_padding=1), (2, 4, 5)),
    "ConvTranspose2d-output_size": _layer(lambda l: l.nn.ConvTranspose2d(2, 3, 3, stride=2),
                                          (1, 2, 4, 4), output_size=[10, 9]),
    "ConvTranspose2d-output_size-4": _layer(lambda l: l.nn.ConvTranspose2d(
        2, 3, 3, stride=2), (1, 2, 4, 4), output_size=[1, 3, 10, 9]),
    "ConvTranspose3d-output_size": _layer(lambda l: l.nn.ConvTranspose3d(2, 2, 2, stride=2),
                                          (1, 2, 2, 2, 3), output_size=[5, 4, 7]),
    "MaxPool2d-ceil-last-window-in-padding": _layer(lambda l: l.nn.MaxPool2d(
        2, stride=2, padding=1, ceil_mode=True), (1, 2, 4, 4)),
    "MaxPool2d-dilated-ceil": _layer(lambda l: l.nn.MaxPool2d(
        2, stride=2, dilation=2, ceil_mode=True), (1, 2, 7, 7)),
    "AvgPool2d-ceil-padding": _layer(lambda l: l.nn.AvgPool2d(
        2, stride=2, padding=1, ceil_mode=True), (1, 2, 4, 4)),
    "AvgPool2d-ceil-no-count-pad": _layer(lambda l: l.nn.AvgPool2d(
        2, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (1, 2, 4, 4)),
    "AvgPool1d-ceil-no-count-pad": _layer(lambda l: l.nn.AvgPool1d(
        3, stride=3, padding=1, ceil_mode=True, count_include_pad=False), (1, 2, 8)),
    "AvgPool3d-ceil-divisor": _layer(lambda l: l.nn.AvgPool3d(
        2, stride=2, padding=1, ceil_mode=True, divisor_override=3), (1, 2, 3, 4, 5)),
    "MaxPool2d-return_indices-ceil": _layer(lambda l: l.nn.MaxPool2d(
        2, stride=2, padding=1, ceil_mode=True, return_indices=True), (1, 2, 5, 5)),
    "AdaptiveAvgPool2d-larger-output": _layer(lambda l: l.nn.AdaptiveAvgPool2d((5, 7)),
                                              (1, 2, 3, 4)),
    "AdaptiveMaxPool2d-larger-output": _layer(lambda l: l.nn.AdaptiveMaxPool2d(
        (5, 7), return_indices=True), (1, 2, 3, 4)),
    "AdaptiveMaxPool3d-larger-output": _layer(lambda l: l.nn.AdaptiveMaxPool3d((3, 5, 2)),
                                              (1, 2, 2, 3, 1)),
    "Upsample-bilinear-0.5": _layer(lambda l: l.nn.Upsample(scale_factor=0.5,
                                                            mode="bilinear"), (1, 2, 7, 9)),
    "Upsample-recompute-scale": _layer(lambda l: l.nn.Upsample(
        scale_factor=0.45, mode="bilinear", recompute_scale_factor=True), (1, 2, 7, 9)),
    "LSTM-2-layers-proj-bidirectional": _layer(lambda l: l.nn.LSTM(
        3, 5, num_layers=2, proj_size=2, bidirectional=True, dropout=0.3), (4, 2, 3)),
    "LSTM-proj-unbatched": _layer(lambda l: l.nn.LSTM(3, 4, proj_size=2), (4, 3)),
    "GRU-3-layers-bidirectional-batch0": _layer(lambda l: l.nn.GRU(
        3, 4, num_layers=3, bidirectional=True, batch_first=True), (0, 5, 3)),
    "MultiheadAttention-kdim-vdim": _layer(lambda l: l.nn.MultiheadAttention(
        8, 2, kdim=5, vdim=6, batch_first=True), (2, 3, 8), (2, 4, 5), (2, 4, 6)),
    "MultiheadAttention-add_bias_kv": _layer(lambda l: l.nn.MultiheadAttention(
        8, 2, add_bias_kv=True), (3, 2, 8), (4, 2, 8), (4, 2, 8)),
    "MultiheadAttention-add_zero_attn-kdim-vdim": _layer(lambda l: l.nn.MultiheadAttention(
        8, 2, add_zero_attn=True, kdim=5, vdim=3, batch_first=True), (2, 3, 8), (2, 4, 5),
        (2, 4, 3)),
    "MultiheadAttention-both-bool-masks": _layer(lambda l: l.nn.MultiheadAttention(
        8, 2, add_bias_kv=True, add_zero_attn=True), (3, 2, 8), (4, 2, 8), (4, 2, 8),
        attn_mask=lambda lib: _bool(lib, ~ALLOW), key_padding_mask=lambda lib: _bool(lib, KPM),
        average_attn_weights=False),
    "MultiheadAttention-both-float-masks": _layer(lambda l: l.nn.MultiheadAttention(
        8, 2, add_bias_kv=True, add_zero_attn=True, bias=False), (3, 2, 8), (4, 2, 8),
        (4, 2, 8), attn_mask=lambda lib: _t(lib, np.where(ALLOW, 0.0, -np.inf)),
        key_padding_mask=lambda lib: _t(lib, np.where(KPM, -1e9, 0.0))),
    "MultiheadAttention-add_bias_kv-unbatched": _layer(lambda l: l.nn.MultiheadAttention(
        8, 2, add_bias_kv=True, add_zero_attn=True), (3, 8), (4, 8), (4, 8),
        key_padding_mask=lambda lib: _bool(lib, KPM[0])),
    "TransformerEncoderLayer-norm_first-gelu": _layer(lambda l: l.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, norm_first=True, activation="gelu"), (3, 2, 8)),
    "TransformerEncoderLayer-callable-activation": _layer(
        lambda l: l.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0,
                                               activation=l.nn.functional.gelu), (3, 2, 8)),
    "TransformerDecoderLayer-norm_first-gelu": _layer(lambda l: l.nn.TransformerDecoderLayer(
        8, 2, 16, dropout=0.0, norm_first=True, activation="gelu"), (3, 2, 8), (4, 2, 8)),
}


def _run_layer(lib, m, shapes, kw):
    m.eval()  # LSTM's inter-layer dropout off, as in torch's eval
    rng = np.random.default_rng(0)
    xs = [_t(lib, rng.standard_normal(s), grad=True) for s in shapes]
    y = m(*xs, **{k: v(lib) if callable(v) else v for k, v in kw.items()})
    outs = [a for a in (y if isinstance(y, tuple) else (y,)) if a is not None]
    flat = [a for o in outs for a in (o if isinstance(o, tuple) else (o,))]  # LSTM's (h, c)
    _weighted_sum(lib, [a for a in flat if str(a.dtype).endswith("float32")]).backward()
    return outs, [x.grad for x in xs], [p.grad for p in m.parameters()]


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning",  # torch's notes on
                            "ignore:LSTM with projections:UserWarning")  # its own kernels
@pytest.mark.parametrize("case", list(LAYERS), ids=list(LAYERS))
def test_layer_configurations_as_torch(backend, case):
    """Groups, dilation, padding="same" with even kernels, padding modes, strides past the
    input, output_size, ceil_mode windows in the padding, count_include_pad=False,
    divisor_override, adaptive pools that grow, scale factors < 1, projected LSTMs,
    attention with kdim/vdim, norm_first transformers: outputs (and indices) and every
    gradient as torch's."""
    make, shapes, kw = LAYERS[case]
    tm, xm = _pair(make)
    t_outs, t_gx, t_gp = _run_layer(torch, tm, shapes, kw)
    x_outs, x_gx, x_gp = _run_layer(xpnn, xm, shapes, kw)
    flat_t = [a for o in t_outs for a in (o if isinstance(o, tuple) else (o,))]
    flat_x = [a for o in x_outs for a in (o if isinstance(o, tuple) else (o,))]
    same(flat_x, flat_t)
    same(x_gx, t_gx)
    for xg, tg in zip(x_gp, t_gp):
        assert (xg is None) == (tg is None)
        if tg is not None:
            same(xg, tg)


@pytest.mark.parametrize("dims, shape, output_size, padding", [
    (2, (1, 2, 5, 5), [5, 5], 0), (2, (1, 2, 5, 5), [1, 2, 5, 5], 0),
    (2, (1, 2, 6, 6), [6, 6], 1), (1, (2, 3, 7), [7], 0), (3, (1, 1, 3, 5, 4), [3, 5, 4], 0),
    (2, (2, 4, 4), None, 0)])
def test_max_unpool_with_output_size(backend, dims, shape, output_size, padding):
    """MaxPool with return_indices, then MaxUnpool with (or without) output_size: values,
    indices and the input's gradient as torch's."""
    def run(lib):
        x = _t(lib, np.random.default_rng(0).standard_normal(shape), grad=True)
        y, idx = getattr(lib.nn, f"MaxPool{dims}d")(2, 2, padding=padding,
                                                     return_indices=True)(x)
        z = getattr(lib.nn, f"MaxUnpool{dims}d")(2, 2, padding=padding)(
            y, idx, output_size=output_size)
        _weighted_sum(lib, [z]).backward()
        return z, idx, x.grad
    same(run(xpnn), run(torch))


INTERPOLATE = {
    "nearest-0.3": dict(scale_factor=0.3, mode="nearest"),
    "nearest-exact-0.4": dict(scale_factor=0.4, mode="nearest-exact"),
    "bilinear-0.4-align": dict(scale_factor=0.4, mode="bilinear", align_corners=True),
    "bilinear-0.4-recompute": dict(scale_factor=0.4, mode="bilinear",
                                   recompute_scale_factor=True),
    "nearest-1.7-recompute": dict(scale_factor=1.7, mode="nearest",
                                  recompute_scale_factor=True),
    "bicubic-mixed-align": dict(scale_factor=(0.6, 1.3), mode="bicubic", align_corners=True),
    "area-0.5": dict(scale_factor=0.5, mode="area"),
}


@pytest.mark.parametrize("case", list(INTERPOLATE), ids=list(INTERPOLATE))
def test_interpolate_scale_factors(backend, case):
    def run(lib):
        x = _t(lib, np.random.default_rng(0).standard_normal((1, 2, 7, 9)), grad=True)
        z = lib.nn.functional.interpolate(x, **INTERPOLATE[case])
        _weighted_sum(lib, [z]).backward()
        return z, x.grad
    same(run(xpnn), run(torch))


@pytest.mark.parametrize("kw", [dict(max_norm=0.5), dict(max_norm=0.7, norm_type=1.0),
                                dict(max_norm=0.5, padding_idx=2),
                                dict(scale_grad_by_freq=True),
                                dict(scale_grad_by_freq=True, padding_idx=1),
                                dict(sparse=False)], ids=str)
def test_embedding_options(backend, kw):
    """max_norm renormalizes the looked-up rows of the weight in place; scale_grad_by_freq
    divides each row's gradient by its count in the batch: output, weight and gradient as
    torch's."""
    tm, xm = _pair(lambda lib: lib.nn.Embedding(6, 3, **kw))
    ids = [[0, 2, 1, 1, 3], [1, 1, 0, 5, 2]]

    def run(lib, m):
        y = m(_ids(lib, ids))
        _weighted_sum(lib, [y]).backward()
        return y, m.weight.detach(), m.weight.grad
    same(run(xpnn, xm), run(torch, tm))


# -- bad configurations: torch's exception classes -----------------------------------------
def _x(lib, *shape):
    return _t(lib, np.zeros(shape))


BAD = {
    "interpolate-scale-leaves-nothing": lambda lib: lib.nn.functional.interpolate(
        _x(lib, 1, 2, 7, 9), scale_factor=0.1),
    "interpolate-negative-scale": lambda lib: lib.nn.functional.interpolate(
        _x(lib, 1, 2, 7, 9), scale_factor=-1.0),
    "interpolate-zero-size": lambda lib: lib.nn.functional.interpolate(
        _x(lib, 1, 2, 7, 9), size=(0, 4)),
    "interpolate-float-size": lambda lib: lib.nn.functional.interpolate(
        _x(lib, 1, 2, 7, 9), size=(3, 4.0)),
    "interpolate-scale-count": lambda lib: lib.nn.functional.interpolate(
        _x(lib, 1, 2, 7, 9), scale_factor=(0.5, 0.5, 0.5)),
    "interpolate-align-corners-area": lambda lib: lib.nn.functional.interpolate(
        _x(lib, 1, 2, 7, 9), size=(3, 4), mode="area", align_corners=True),
    "Upsample-nearest-align-corners": lambda lib: lib.nn.Upsample(
        scale_factor=2, mode="nearest", align_corners=True)(_x(lib, 1, 2, 3, 3)),
    "Conv2d-reflect-pad-equals-size": lambda lib: lib.nn.Conv2d(
        2, 3, 3, padding=3, padding_mode="reflect")(_x(lib, 1, 2, 4, 3)),
    "Conv2d-circular-wraps-twice": lambda lib: lib.nn.Conv2d(
        2, 3, 3, padding=4, padding_mode="circular")(_x(lib, 1, 2, 3, 6)),
    "Conv2d-dilated-kernel-too-big": lambda lib: lib.nn.Conv2d(2, 3, 3, dilation=3)(
        _x(lib, 1, 2, 5, 5)),
    "ConvTranspose2d-output_size-out-of-range": lambda lib: lib.nn.ConvTranspose2d(
        2, 3, 3, stride=2)(_x(lib, 1, 2, 4, 4), output_size=[12, 9]),
    "ConvTranspose2d-output_size-length": lambda lib: lib.nn.ConvTranspose2d(
        2, 3, 3, stride=2)(_x(lib, 1, 2, 4, 4), output_size=[9]),
    "ConvTranspose2d-padding-leaves-nothing": lambda lib: lib.nn.ConvTranspose2d(
        2, 3, 3, padding=3)(_x(lib, 1, 2, 2, 2)),
    "AvgPool2d-divisor-zero": lambda lib: lib.nn.AvgPool2d(3, divisor_override=0)(
        _x(lib, 1, 2, 5, 5)),
    "MaxUnpool2d-output_size-out-of-range": lambda lib: lib.nn.MaxUnpool2d(2, 2)(
        *lib.nn.MaxPool2d(2, 2, return_indices=True)(_x(lib, 1, 2, 5, 5)),
        output_size=[7, 5]),
    "LSTM-proj-h0-wrong": lambda lib: lib.nn.LSTM(3, 5, proj_size=2)(
        _x(lib, 4, 2, 3), (_x(lib, 1, 2, 5), _x(lib, 1, 2, 5))),
    "LSTM-c0-wrong-batch": lambda lib: lib.nn.LSTM(3, 4)(
        _x(lib, 4, 2, 3), (_x(lib, 1, 2, 4), _x(lib, 1, 3, 4))),
    "GRU-h0-2d-for-batched": lambda lib: lib.nn.GRU(3, 4)(_x(lib, 4, 2, 3), _x(lib, 2, 4)),
    "RNN-h0-3d-for-unbatched": lambda lib: lib.nn.RNN(3, 4)(_x(lib, 4, 3), _x(lib, 1, 1, 4)),
    "LSTM-seq0-batch_first": lambda lib: lib.nn.LSTM(3, 4, batch_first=True)(_x(lib, 2, 0, 3)),
    "MultiheadAttention-3d-mask-wrong-batch": lambda lib: lib.nn.MultiheadAttention(8, 2)(
        _x(lib, 3, 2, 8), _x(lib, 4, 2, 8), _x(lib, 4, 2, 8), attn_mask=_x(lib, 2, 3, 4)),
    "MultiheadAttention-bool-mask-wrong": lambda lib: lib.nn.MultiheadAttention(8, 2)(
        _x(lib, 3, 2, 8), _x(lib, 4, 2, 8), _x(lib, 4, 2, 8),
        attn_mask=_bool(lib, np.zeros((3, 5)))),
    "MultiheadAttention-key_padding_mask-wrong": lambda lib: lib.nn.MultiheadAttention(8, 2)(
        _x(lib, 3, 2, 8), _x(lib, 4, 2, 8), _x(lib, 4, 2, 8),
        key_padding_mask=_bool(lib, np.zeros((3, 4)))),
    "MultiheadAttention-int-mask": lambda lib: lib.nn.MultiheadAttention(8, 2)(
        _x(lib, 3, 2, 8), _x(lib, 4, 2, 8), _x(lib, 4, 2, 8),
        attn_mask=_ids(lib, np.zeros((3, 4)))),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_configuration_raises_torchs_class(case):
    raises_like(BAD[case])


def test_multihead_attention_extra_keys_state_dict_as_torch():
    """add_bias_kv registers bias_k and bias_v (1, 1, E) where torch does: the same names in
    the same order, so torch's state dict loads."""
    for kw in (dict(add_bias_kv=True), dict(add_bias_kv=True, kdim=5), dict(add_zero_attn=True)):
        t_sd = torch.nn.MultiheadAttention(8, 2, **kw).state_dict()
        x_sd = xpnn.nn.MultiheadAttention(8, 2, **kw).state_dict()
        assert list(x_sd) == list(t_sd)
        assert [tuple(v.shape) for v in x_sd.values()] == [tuple(v.shape) for v in t_sd.values()]


@pytest.mark.parametrize("layer", ["RNN", "LSTM", "GRU"])
def test_dropout_with_one_layer_warns_as_torch(layer):
    """torch warns that dropout between layers does nothing with num_layers=1."""
    for lib in (torch, xpnn):
        with pytest.warns(UserWarning, match="dropout"):
            getattr(lib.nn, layer)(3, 4, dropout=0.5)


def test_interpolate_errors_name_the_argument():
    x = xpnn.zeros(1, 2, 7, 9)
    with pytest.raises(RuntimeError, match=r"interpolate: scale_factor 0.1 leaves an empty "
                                           r"output of sizes \(0, 0\)"):
        xpnn.nn.functional.interpolate(x, scale_factor=0.1)
    with pytest.raises(ValueError, match=r"interpolate: size must be .* got \(0, 4\)"):
        xpnn.nn.functional.interpolate(x, size=(0, 4))  # still the ValueError of before
    with pytest.raises(TypeError, match=r"interpolate: size .* got \(3, 4.0\)"):
        xpnn.nn.functional.interpolate(x, size=(3, 4.0))


# -- module state ----------------------------------------------------------------------------
def _lin(lib):
    torch.manual_seed(0)
    return lib.nn.Linear(3, 2)


def test_load_state_dict_size_mismatch_raises_even_when_not_strict():
    """torch: RuntimeError "size mismatch for weight ..." with strict=False too; a size
    mismatch and a missing key are reported together. The module is left unchanged."""
    m = xpnn.nn.Linear(3, 2)
    before = to_np(m.weight).copy()
    bad = {"weight": xpnn.ones(3, 3), "bias": xpnn.ones(2)}
    with pytest.raises(RuntimeError, match=r"into Linear: size mismatch for weight: key "
                                           r"'weight' has shape \(3, 3\)"):
        m.load_state_dict(bad, strict=False)
    with pytest.raises(RuntimeError, match=r"missing keys \['bias'\].*size mismatch for "
                                           r"weight"):
        m.load_state_dict({"weight": xpnn.ones(3, 3)})
    np.testing.assert_array_equal(to_np(m.weight), before)
    raises_like(lambda lib: _lin(lib).load_state_dict(
        {"weight": (torch if lib is torch else xpnn).ones(3, 3)}, strict=False))


def test_load_state_dict_not_strict_reports_keys():
    def run(lib):
        m = lib.nn.Sequential(_lin(lib), lib.nn.ReLU(), _lin(lib))
        sd = {k: v for k, v in m.state_dict().items() if k != "2.bias"}
        sd["1.extra"] = lib.zeros(2)
        r = m.load_state_dict(sd, strict=False)
        return r.missing_keys, r.unexpected_keys, list(r)
    assert run(xpnn) == run(torch) == (["2.bias"], ["1.extra"], [["2.bias"], ["1.extra"]])
    assert str(xpnn.nn.Linear(3, 2).load_state_dict(xpnn.nn.Linear(3, 2).state_dict())) == \
        str(torch.nn.Linear(3, 2).load_state_dict(torch.nn.Linear(3, 2).state_dict()))


def test_load_state_dict_from_another_backend_and_dtype(backend):
    """float64 values from another backend are copied into the module's float32 arrays on
    its backend, as torch copies into the existing parameter's dtype and device."""
    other = "torch" if backend != "torch" else "numpy"
    m = xpnn.nn.Linear(3, 2)
    w = np.random.default_rng(0).standard_normal((2, 3))
    sd = {"weight": xpnn.tensor(w, dtype="float64", backend=other),
          "bias": xpnn.tensor(np.ones(2), dtype="float64", backend=other)}
    m.load_state_dict(sd)
    assert m.weight.backend == xpnn.zeros(1).backend and str(m.weight.dtype).endswith("32")
    tm = torch.nn.Linear(3, 2)
    tm.load_state_dict({"weight": torch.tensor(w), "bias": torch.ones(2, dtype=torch.float64)})
    same(m.weight.detach(), tm.weight.detach())


def test_non_persistent_buffers_stay_out_of_state_dict(backend):
    def run(lib):
        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("a", lib.ones(2))
                self.register_buffer("b", lib.ones(1), persistent=False)
                self.register_buffer("c", None)
        m = M()
        keys = list(m.state_dict())
        r = m.load_state_dict({"a": lib.zeros(2), "b": lib.zeros(1)}, strict=False)
        m.register_buffer("b", m.b, persistent=True)
        return keys, r.unexpected_keys, [k for k, _ in m.named_buffers()], list(m.state_dict())
    assert run(xpnn) == run(torch)


# -- optimizers ------------------------------------------------------------------------------
def _params(lib, n=2):
    return [_t(lib, np.random.default_rng(i).standard_normal((2, 3)), grad=True)
            for i in range(n)]


def _trajectory(lib, cls, steps=3, skip=(), **kw):
    ps = _params(lib, 3)
    opt = getattr(lib.optim, cls)(ps, **kw)
    out = []
    for s in range(steps):
        opt.zero_grad()
        for i, p in enumerate(ps):
            if i not in skip:  # a parameter whose grad stays None is skipped
                p.grad = _t(lib, np.random.default_rng(10 * s + i).standard_normal((2, 3)))
        opt.step()
        out += [p.detach().clone() for p in ps]
    return out


TRAJECTORIES = {
    "SGD-nesterov-maximize": ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True,
                                          weight_decay=0.1, foreach=True)),
    "Adam-amsgrad-maximize": ("Adam", dict(lr=0.1, amsgrad=True, maximize=True,
                                           weight_decay=0.1, foreach=False, fused=None)),
    "AdamW-amsgrad-maximize": ("AdamW", dict(lr=0.1, amsgrad=True, maximize=True,
                                             capturable=False)),
    "NAdam-decoupled-maximize": ("NAdam", dict(lr=0.1, maximize=True, weight_decay=0.1,
                                               decoupled_weight_decay=True)),
    "RMSprop-centered-maximize": ("RMSprop", dict(lr=0.1, centered=True, momentum=0.5,
                                                  maximize=True, weight_decay=0.1)),
    "Adagrad-maximize": ("Adagrad", dict(lr=0.1, lr_decay=0.1, maximize=True,
                                         initial_accumulator_value=0.2)),
}


@pytest.mark.parametrize("case", list(TRAJECTORIES), ids=list(TRAJECTORIES))
@pytest.mark.parametrize("skip", [(), (1,)], ids=["all-grads", "one-grad-None"])
def test_optimizer_options_trajectories(backend, case, skip):
    cls, kw = TRAJECTORIES[case]
    same(_trajectory(xpnn, cls, skip=skip, **kw), _trajectory(torch, cls, skip=skip, **kw))


def test_zero_grad_keeps_zeros_and_step_returns_closure_value(backend):
    def run(lib):
        ps = _params(lib)
        opt = lib.optim.SGD(ps, lr=0.1)
        for p in ps:
            p.grad = lib.ones(2, 3)
        opt.zero_grad(set_to_none=False)
        kept = [p.grad for p in ps]
        loss = opt.step(lambda: lib.tensor(1.5))
        opt.zero_grad()
        return kept, loss, [p.grad for p in ps]
    same(run(xpnn), run(torch))


OPT_BAD = {
    "foreach-and-fused-SGD": lambda lib: lib.optim.SGD(_params(lib), lr=0.1, foreach=True,
                                                       fused=True),
    "foreach-and-fused-Adam": lambda lib: lib.optim.Adam(_params(lib), foreach=True,
                                                         fused=True),
    "fused-differentiable": lambda lib: lib.optim.Adam(_params(lib), fused=True,
                                                       differentiable=True),
    "load_state_dict-no-param_groups": lambda lib: lib.optim.SGD(
        _params(lib), lr=0.1).load_state_dict({"state": {}}),
    "empty-params": lambda lib: lib.optim.Adam([]),
    "non-leaf": lambda lib: lib.optim.SGD([_params(lib)[0] * 2], lr=0.1),
    "param-in-two-groups": lambda lib: (lambda ps: lib.optim.SGD(
        [{"params": ps}, {"params": [ps[0]]}], lr=0.1))(_params(lib)),
    "Adam-beta-1.5": lambda lib: lib.optim.Adam(_params(lib), betas=(0.9, 1.5)),
    "Adadelta-rho-1.5": lambda lib: lib.optim.Adadelta(_params(lib), rho=1.5),
    "Rprop-etas": lambda lib: lib.optim.Rprop(_params(lib), etas=(1.5, 1.2)),
    "load-wrong-group-count": lambda lib: (lambda ps: lib.optim.SGD(
        [{"params": [ps[0]]}, {"params": [ps[1]]}], lr=0.1).load_state_dict(
        lib.optim.SGD(ps, lr=0.1).state_dict()))(_params(lib)),
}


@pytest.mark.parametrize("case", list(OPT_BAD), ids=list(OPT_BAD))
def test_optimizer_bad_arguments_raise_torchs_class(case):
    raises_like(OPT_BAD[case])


def test_fused_foreach_error_names_the_optimizer():
    with pytest.raises(RuntimeError, match="SGD: fused=True and foreach=True"):
        xpnn.optim.SGD(_params(xpnn), lr=0.1, foreach=True, fused=True)
    with pytest.raises(KeyError, match="SGD.load_state_dict: .* with keys \\['state'\\]"):
        xpnn.optim.SGD(_params(xpnn), lr=0.1).load_state_dict({"state": {}})


def _sched_round_trip(lib, make, steps=4, more=3):
    def build():
        opt = lib.optim.SGD(_params(lib), lr=0.5, momentum=0.9)
        return opt, make(lib, opt)

    def step(opt, s):
        opt.step()
        s.step(1.0) if type(s).__name__ == "ReduceLROnPlateau" else s.step()
        return opt.param_groups[0]["lr"]
    opt, s = build()
    lrs = [step(opt, s) for _ in range(steps)]
    opt2, s2 = build()
    opt2.load_state_dict(opt.state_dict())
    s2.load_state_dict(s.state_dict())
    return lrs + [step(opt2, s2) for _ in range(more)]


SCHEDULERS = {
    "OneCycleLR": lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=10),
    "CyclicLR": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(o, 0.1, 1.0, step_size_up=2),
    "ReduceLROnPlateau": lambda lib, o: lib.optim.lr_scheduler.ReduceLROnPlateau(
        o, patience=1, factor=0.5),
    "CosineAnnealingWarmRestarts": lambda lib, o:
        lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 2, T_mult=2),
    "SequentialLR": lambda lib, o: lib.optim.lr_scheduler.SequentialLR(o, [
        lib.optim.lr_scheduler.ConstantLR(o, 0.5, total_iters=2),
        lib.optim.lr_scheduler.ExponentialLR(o, 0.8)], milestones=[2]),
    "ChainedScheduler": lambda lib, o: lib.optim.lr_scheduler.ChainedScheduler([
        lib.optim.lr_scheduler.StepLR(o, 2, 0.5), lib.optim.lr_scheduler.ExponentialLR(o, 0.9)]),
}


@pytest.mark.parametrize("case", list(SCHEDULERS), ids=list(SCHEDULERS))
def test_scheduler_state_dict_round_trip(case):
    """A scheduler rebuilt from its state_dict (and its optimizer's) goes on with torch's
    learning rates."""
    np.testing.assert_allclose(_sched_round_trip(xpnn, SCHEDULERS[case]),
                               _sched_round_trip(torch, SCHEDULERS[case]), rtol=1e-12)


# -- gradient clipping -----------------------------------------------------------------------
G0 = np.array([[1.0, -5.0, 0.0], [0.0, 0.25, 0.0]])
G_NAN = np.where(G0 == 0.25, np.nan, G0)
G_INF = np.where(G0 == 0.25, np.inf, G0)


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.0, 0.5, 0, -1.0, math.inf, "inf",
                                       -math.inf])
@pytest.mark.parametrize("grads", [(G0, 0.5, None), (G_NAN, 1.0, None),
                                   (G_INF, 1.0, None)], ids=["finite", "nan", "inf"])
def test_clip_grad_norm_orders_and_non_finite(backend, norm_type, grads):
    """Every order torch.linalg.vector_norm takes (0 counts non-zeros, negative orders,
    -inf the smallest magnitude); NaN and inf gradients clipped without an error by
    default; a gradient of None skipped: total norm and clipped gradients as torch's."""
    def run(lib):
        ps = _params(lib, len(grads))
        for p, g in zip(ps, grads):
            p.grad = None if g is None else _t(lib, np.broadcast_to(g, (2, 3)))
        total = lib.nn.utils.clip_grad_norm_(ps, 1.0, norm_type=norm_type)
        return total, [p.grad for p in ps]
    same(run(xpnn), run(torch))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_clip_grad_norm_error_if_nonfinite(bad):
    raises_like(lambda lib: lib.nn.utils.clip_grad_norm_(
        [_with_grad(lib, [1.0, bad])], 1.0, error_if_nonfinite=True))


def _with_grad(lib, g):
    p = _t(lib, np.zeros(len(g)), grad=True)
    p.grad = _t(lib, g)
    return p


def test_clip_grad_norm_empty_returns_zero(backend):
    same(xpnn.nn.utils.clip_grad_norm_([], 1.0), torch.nn.utils.clip_grad_norm_([], 1.0))
    same(xpnn.nn.utils.clip_grad_norm_([], 1.0, norm_type="inf"),
         torch.nn.utils.clip_grad_norm_([], 1.0, norm_type="inf"))


# -- autograd left-overs ---------------------------------------------------------------------
ZERO_WEIGHT = {
    "some-ignored": [1, -100, 2],
    "none-ignored": [1, 1, 2],
    "all-ignored": [-100, -100, -100],
    "total-weight-positive": [1, 0, 3],
}


def _weighted_ce(lib, fn, target, dtype="float32", create_graph=False):
    x = _t(lib, np.random.default_rng(0).standard_normal((3, 4)), dtype, grad=True)
    loss = getattr(lib.nn.functional, fn)(x, _ids(lib, target),
                                          weight=_t(lib, [1.0, 0.0, 0.0, 4.0], dtype))
    (g,) = lib.autograd.grad(loss, x, create_graph=create_graph)
    return loss, g


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("case", list(ZERO_WEIGHT), ids=list(ZERO_WEIGHT))
@pytest.mark.parametrize("create_graph", [False, True], ids=["backward", "create_graph"])
def test_class_weights_summing_to_zero_as_torch(backend, fn, case, create_graph):
    """The mean over rows whose selected class weights sum to 0 is 0/0 = NaN, and so is the
    gradient of a row of a class weighted 0 (w / sum w = 0 / 0): the whole row for
    cross_entropy, its label's entry for nll_loss; ignored rows get 0. As torch, for the
    first-order sweep and the recorded (create_graph) one."""
    tgt = ZERO_WEIGHT[case]
    same(_weighted_ce(xpnn, fn, tgt, create_graph=create_graph),
         _weighted_ce(torch, fn, tgt, create_graph=create_graph))


def test_class_weights_summing_to_zero_portable_as_torch(portable_only):
    """The portable gradient (native tables emptied; NumPy's own is tested above) gives
    torch's NaN pattern too."""
    xpnn.set_default_backend("numpy")
    for fn in ("cross_entropy", "nll_loss"):
        same(_weighted_ce(xpnn, fn, [1, -100, 2]), _weighted_ce(torch, fn, [1, -100, 2]))


@pytest.mark.parametrize("dim", [0, 1, (0, 1)])
def test_logsumexp_double_backward_as_torch(backend, dim):
    """create_graph=True through logsumexp after a plain backward that kept the graph
    (retain_graph=True): first and second derivatives as torch's."""
    def run(lib):
        x = _t(lib, np.random.default_rng(0).standard_normal((3, 4)), grad=True)
        y = lib.logsumexp(x * x, dim=dim).sum()
        y.backward(retain_graph=True)
        first = x.grad.detach().clone()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), x)
        return first, g, h
    same(run(xpnn), run(torch))


def test_logsumexp_gradgradcheck(host_backend):
    x = xpnn.tensor(np.random.default_rng(1).standard_normal((3, 4)), dtype="float64",
                    requires_grad=True)
    assert xpnn.gradcheck(lambda a: xpnn.logsumexp(a, dim=1), x)
    assert xpnn.autograd.gradgradcheck(lambda a: xpnn.logsumexp(a, dim=1), (x,))
    assert xpnn.autograd.gradgradcheck(lambda a: xpnn.logsumexp(a, dim=(0, 1),
                                                                keepdim=True), (x,))


SPREAD = {
    "var-correction0": lambda lib, x: x.var(1, correction=0).pow(2).sum(),
    "var-all-keepdim": lambda lib, x: x.var(dim=(0, 1), keepdim=True).sum() ** 2,
    "var-unbiased": lambda lib, x: (x.var(0) * _t(lib, [1.0, 2, 3, 4], "float64")).sum(),
    "std-keepdim": lambda lib, x: (x.std(1, keepdim=True) ** 3).sum(),
    "std-correction0": lambda lib, x: (x.std(0, correction=0) *
                                       _t(lib, [1.0, 2, 3, 4], "float64")).sum(),
    "std-all": lambda lib, x: x.std() ** 2,
}


@pytest.mark.parametrize("constant_row", [False, True], ids=["spread", "constant-row"])
@pytest.mark.parametrize("case", list(SPREAD), ids=list(SPREAD))
def test_var_std_double_backward_as_torch(backend, case, constant_row):
    """create_graph=True through var and std (a row of equal values: std 0, its gradient
    0 as torch's): first and second derivatives as torch's, in float64."""
    x0 = np.random.default_rng(0).standard_normal((3, 4))
    if constant_row:
        x0[1] = 2.0
    weights = np.arange(12.0).reshape(3, 4) + 1

    def run(lib):
        x = _t(lib, x0, "float64", grad=True)
        (g,) = lib.autograd.grad(SPREAD[case](lib, x), x, create_graph=True)
        (h,) = lib.autograd.grad((g * g * _t(lib, weights, "float64")).sum(), x)
        return g, h
    same(run(xpnn), run(torch))


def test_var_std_gradgradcheck(host_backend):
    x = xpnn.tensor(np.random.default_rng(2).standard_normal((3, 4)), dtype="float64",
                    requires_grad=True)
    assert xpnn.autograd.gradgradcheck(lambda a: xpnn.var(a, dim=1), (x,))
    assert xpnn.autograd.gradgradcheck(lambda a: xpnn.std(a, dim=0, keepdim=True), (x,))
    assert xpnn.autograd.gradgradcheck(lambda a: xpnn.std(a, correction=0), (x,))
