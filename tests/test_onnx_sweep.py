"""xpnn.onnx.export against onnxruntime for the layers and ops an outside sweep found missing
or wrong, and torch.onnx.export's keyword arguments."""
import io
import pathlib

import numpy as np
import pytest

import xpnn
from xpnn import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
import xpnn.onnx  # noqa: E402

# float32 throughout: onnxruntime sums and rounds in other orders than xpnn's kernels, so
# the bound is a few hundred eps of the output's scale (measured: under 1e-6).
TOL = 256 * float(np.finfo(np.float32).eps)
BATCH = {0: "batch"}


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def roundtrip(model, inputs, dynamic=None, **kw):
    """Export ``model`` at ``inputs[0]`` (a tuple of Tensors), run onnxruntime at every
    entry of ``inputs``, and compare with xpnn's forward (NaN where xpnn has NaN)."""
    names = [f"x{i}" for i in range(len(inputs[0]))]
    proto = xpnn.onnx.export(model, inputs[0], None, input_names=names,
                             dynamic_axes={n: dynamic for n in names} if dynamic else None,
                             **kw)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for args in inputs:
        got = sess.run(None, {n: t.numpy() for n, t in zip(names, args)})
        with xpnn.no_grad():
            want = [t.numpy() for t in _flat(model(*args))]
        assert len(got) == len(want)
        for w, g in zip(want, got):
            assert g.shape == w.shape and g.dtype == w.dtype
            nan = np.isnan(w) if w.dtype.kind == "f" else np.zeros(w.shape, bool)
            assert np.array_equal(nan, np.isnan(g) if g.dtype.kind == "f" else nan)
            scale = max(1.0, float(np.abs(w[~nan]).max())) if (~nan).any() else 1.0
            np.testing.assert_allclose(g[~nan], w[~nan], rtol=0, atol=TOL * scale)
    return proto


def _normal(rng, *shape):
    return xpnn.tensor(rng.normal(size=shape).astype(np.float32))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# -- layers -------------------------------------------------------------------------------
LAYERS = {
    "adaptive_max_pool1d_unequal": (lambda: nn.AdaptiveMaxPool1d(4), (3, 11)),
    "adaptive_max_pool2d_unequal": (lambda: nn.AdaptiveMaxPool2d((4, 3)), (3, 9, 10)),
    "adaptive_max_pool2d_one_axis": (lambda: nn.AdaptiveMaxPool2d((9, 3)), (3, 9, 10)),
    "adaptive_max_pool3d_unequal": (lambda: nn.AdaptiveMaxPool3d((3, 2, 4)), (2, 7, 6, 5)),
    "rms_norm": (lambda: nn.RMSNorm(5), (4, 5)),
    "rms_norm_2d_eps": (lambda: nn.RMSNorm((4, 5), eps=1e-3), (4, 5)),
    "rms_norm_no_affine": (lambda: nn.RMSNorm(5, elementwise_affine=False), (4, 5)),
    "bicubic": (lambda: nn.Upsample(scale_factor=1.5, mode="bicubic"), (3, 4, 6)),
    "bicubic_align_corners": (lambda: nn.Upsample(size=(5, 9), mode="bicubic",
                                                  align_corners=True), (3, 4, 6)),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_matches_onnxruntime_at_two_batch_sizes(name, rng):
    make, shape = LAYERS[name]
    model = make()
    with xpnn.no_grad():
        for p in model.parameters():  # weights that are not all ones
            p.copy_(_normal(rng, *p.shape))
    roundtrip(model, [(_normal(rng, 2, *shape),), (_normal(rng, 3, *shape),)], BATCH)


# -- tensor ops in a forward ----------------------------------------------------------------
def _signed_zeros(a):
    """a with some entries +0.0 and -0.0 (the quadrant edge cases of atan2)."""
    return a * (a.roll(1, 1) > 0).float()


OPS = {
    "vector_norm_p3": lambda a: xpnn.linalg.vector_norm(a, ord=3, dim=1),
    "norm_p3_keepdim": lambda a: a.norm(p=3, dim=(1, 2), keepdim=True),
    "trig": lambda a: (xpnn.atan(a), xpnn.sinh(a), xpnn.cosh(a), xpnn.tan(a), xpnn.asinh(a),
                       (a * 0.5).asin(), (a * 0.5).acos(), (a * 0.5).atanh(),
                       (a.abs() + 1).acosh()),
    "log2_log10_exp2": lambda a: (a.abs().log2(), a.abs().log10(), xpnn.exp2(a)),
    "atan2": lambda a: xpnn.atan2(a, a.roll(1, 1)),
    "atan2_signed_zeros": lambda a: xpnn.atan2(_signed_zeros(a), _signed_zeros(a.roll(1, 2))),
    "remainder_floor_divide": lambda a: (a % 0.3, xpnn.remainder(a, -0.7), a // 0.3),
    "fmod": lambda a: xpnn.fmod(a, 0.3),
    "frac": lambda a: a.frac(),
    "hypot": lambda a: xpnn.hypot(a, a.roll(1, 1)),
    "logaddexp": lambda a: xpnn.logaddexp(a, a * 2),
    "xlogy": lambda a: xpnn.special.xlogy(a.abs() * (a > 0).float(), a.abs()),
    "bool_and_or_not": lambda a: ((a > 0) & (a < 1)) | ~(a > 2),
    "bool_xor": lambda a: (a > 0) ^ (a < 1),
    "where_of_bool_ops": lambda a: xpnn.where((a > 0) & (a < 1), a, -a),
}


@pytest.mark.parametrize("name", list(OPS))
def test_op_matches_onnxruntime_at_two_batch_sizes(name, rng):
    roundtrip(OPS[name], [(_normal(rng, 2, 4, 6),), (_normal(rng, 3, 4, 6),)], BATCH)


def test_scatter_with_a_constant_index(rng):
    index = xpnn.tensor(np.asarray([[[1], [0], [5], [2]]] * 2, dtype=np.int64))
    roundtrip(lambda a: (xpnn.zeros_like(a).scatter(2, index, a[:, :, :1]),
                         a.scatter_add(2, index.expand(2, 4, 3), a)),
              [(_normal(rng, 2, 4, 6),)])


def test_scatter_over_a_dynamic_axis_is_refused(rng):
    index = xpnn.zeros(2, 4, 1, dtype=xpnn.int64)
    with pytest.raises(xpnn.onnx.UnsupportedOperatorError, match="Scatter.*dynamic axis"):
        xpnn.onnx.export(lambda a: a.scatter(2, index, a), _normal(rng, 2, 4, 6), None,
                         input_names=["x"], dynamic_axes={"x": BATCH})


# -- torch.onnx.export's arguments ---------------------------------------------------------
def test_torch_keyword_arguments_are_accepted(rng, tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    x = _normal(rng, 2, 4)
    path = tmp_path / "m.onnx"
    xpnn.onnx.export(model, (x,), path, export_params=True, verbose=False,
                     training=xpnn.onnx.TrainingMode.EVAL, do_constant_folding=True,
                     input_names=["x"], output_names=["y"], dynamic_axes={"x": BATCH},
                     opset_version=None, keep_initializers_as_inputs=False, dynamo=False,
                     operator_export_type=None, custom_opsets=None)
    assert isinstance(path, pathlib.Path) and path.exists()
    buf = io.BytesIO()
    xpnn.onnx.export(model.eval(), x, buf, training=xpnn.onnx.TrainingMode.PRESERVE)
    for data in (path.read_bytes(), buf.getvalue()):
        sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        x5 = _normal(rng, 5, 4) if data is not buf.getvalue() else x
        (got,) = sess.run(None, {sess.get_inputs()[0].name: x5.numpy()})
        with xpnn.no_grad():
            np.testing.assert_allclose(got, model(x5).numpy(), rtol=0, atol=TOL)


def test_kwargs_argument_feeds_keyword_inputs(rng):
    def forward(a, scale=None):
        return a * scale

    a, s = _normal(rng, 2, 3), _normal(rng, 2, 3)
    proto = xpnn.onnx.export(forward, (a,), None, kwargs={"scale": s})
    assert [i.name for i in proto.graph.input] == ["a", "scale"]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"training": xpnn.onnx.TrainingMode.TRAINING}, NotImplementedError, "training="),
    ({"export_params": False}, NotImplementedError, "export_params=False"),
    ({"keep_initializers_as_inputs": True}, NotImplementedError,
     "keep_initializers_as_inputs"),
    ({"dynamic_shapes": {"x": {0: "b"}}}, NotImplementedError, "dynamic_shapes"),
    ({"no_such_option": 1}, TypeError, "no_such_option"),
])
def test_unsupported_torch_options_are_refused(kwargs, error, match, rng):
    with pytest.raises(error, match=match):
        xpnn.onnx.export(nn.Linear(4, 3), _normal(rng, 2, 4), None, **kwargs)


def test_preserve_of_a_training_model_is_refused(rng):
    model = nn.Linear(4, 3).train()
    with pytest.raises(NotImplementedError, match="PRESERVE"):
        xpnn.onnx.export(model, _normal(rng, 2, 4), None,
                         training=xpnn.onnx.TrainingMode.PRESERVE)


class _Orders(nn.Module):
    """sort, argsort and topk (with ties: small integers) and a gradient-carrying use."""

    def forward(self, x):
        v, i = x.topk(3, dim=1)
        s, j = x.sort(dim=1, descending=True)
        low, _ = x.topk(2, dim=0, largest=False)
        return v * 2, i, s, j, x.argsort(dim=0), low


@pytest.mark.parametrize("dynamic", [None, {0: "batch", 1: "n"}])
def test_sort_argsort_topk_export_as_topk(dynamic, rng):
    """One TopK each, ties in input order as xpnn's; a sort over a dynamic axis takes k from
    the input's shape."""
    ints = [xpnn.tensor(rng.integers(0, 3, shape).astype(np.float32))
            for shape in ((4, 7), (5, 9) if dynamic else (4, 7))]
    proto = roundtrip(_Orders(), [(t,) for t in ints], dynamic)
    assert sum(node.op_type == "TopK" for node in proto.graph.node) == 4


class _LSTMWithState(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 6, batch_first=True)

    def forward(self, x, hidden):
        y, (h, c) = self.lstm(x, hidden)
        return y, h, c


def test_tensors_nested_in_tuple_arguments_are_inputs(rng):
    """lstm(x, (h0, c0)): the Tensors inside a tuple argument are graph inputs, named after
    the argument and their place in it, as torch.onnx flattens them."""
    model = _LSTMWithState().eval()
    inputs = [(_normal(rng, b, 5, 4), (_normal(rng, 1, b, 6), _normal(rng, 1, b, 6)))
              for b in (2, 3)]
    proto = xpnn.onnx.export(model, inputs[0], None, dynamic_axes={
        "x": {0: "b"}, "hidden_0": {1: "b"}, "hidden_1": {1: "b"}})
    assert [i.name for i in proto.graph.input] == ["x", "hidden_0", "hidden_1"]
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for x, (h0, c0) in inputs:
        got = sess.run(None, {"x": x.numpy(), "hidden_0": h0.numpy(), "hidden_1": c0.numpy()})
        with xpnn.no_grad():
            want = [t.numpy() for t in model(x, (h0, c0))]
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=0, atol=TOL * max(1.0, np.abs(w).max()))
