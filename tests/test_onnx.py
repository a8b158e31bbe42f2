"""xpnn.onnx.export: models exported, checked and run in onnxruntime against xpnn."""
import io

import numpy as np
import pytest

import xpnn
import xpnn.functional as F
from xpnn import autograd, nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
import xpnn.onnx  # noqa: E402

# The bound: |onnxruntime - xpnn| <= 1e-5 (about 84 float32 eps) relative to the
# output's scale; onnxruntime sums in other orders than xpnn's kernels.
TOL = 1e-5
BATCH = {0: "batch"}


def _tensors(args):
    args = args if isinstance(args, tuple) else (args,)
    kwargs = args[-1] if args and isinstance(args[-1], dict) else {}
    pos = args[:-1] if kwargs else args
    return pos, kwargs, [t for t in list(pos) + list(kwargs.values())
                         if isinstance(t, xpnn.Tensor)]


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [] if out is None else [out]


def roundtrip(model, make, names, dynamic, sizes=(3, 5), **kw):
    """Export with the first size, run onnxruntime at every size; max scaled error."""
    proto = xpnn.onnx.export(model, make(sizes[0]), None, input_names=names,
                             dynamic_axes=dynamic, **kw)
    onnx.checker.check_model(proto, full_check=True)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    if isinstance(model, nn.Module):
        model.eval()  # as exported: dropout off, running statistics
    errors = []
    for n in sizes:
        pos, kwargs, feeds = _tensors(make(n))
        got = sess.run(None, {name: t.numpy() for name, t in zip(names, feeds)})
        with xpnn.no_grad():  # after onnxruntime: a forward may change its inputs in place
            want = [t.numpy() for t in _flat(model(*pos, **kwargs))]
        assert len(got) == len(want)
        for w, g in zip(want, got):
            assert g.shape == w.shape and g.dtype == w.dtype
        errors.append(max(float(np.abs(w - g).max()) / max(1.0, float(np.abs(w).max()))
                          for w, g in zip(want, got)))
    return proto, errors


def _normal(rng, *shape):
    return xpnn.tensor(rng.normal(size=shape).astype(np.float32))


# -- the models of the issue ------------------------------------------------------------
def mlp(rng):
    model = nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.Dropout(0.3), nn.Linear(16, 16),
                          nn.Tanh(), nn.Linear(16, 4), nn.LogSoftmax(dim=1))
    return model, lambda n: _normal(rng, n, 6), ["x"], {"x": BATCH}


def cnn(rng):
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(4, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.AvgPool2d(2), nn.Flatten(), nn.Dropout(0.2), nn.Linear(8, 10))
    model.train()
    for _ in range(3):  # running statistics that are not the initial 0 and 1
        model(_normal(rng, 8, 1, 10, 10) * 2 + 1)
    return model, lambda n: _normal(rng, n, 1, 10, 10), ["x"], {"x": BATCH}


class Residual(nn.Module):
    """conv-bn-relu-conv-bn plus a strided 1x1 projection, then global pooling."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 6, 3, stride=2, padding=1), nn.BatchNorm2d(6)
        self.conv2, self.bn2 = nn.Conv2d(6, 6, 3, padding=1), nn.BatchNorm2d(6)
        self.down = nn.Sequential(nn.Conv2d(3, 6, 1, stride=2), nn.BatchNorm2d(6))
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)) + self.down(x))
        return self.fc(F.flatten(F.adaptive_avg_pool2d(y, 1), 1))


def residual(rng):
    model = Residual().train()
    for _ in range(2):
        model(_normal(rng, 4, 3, 8, 8))
    return model, lambda n: _normal(rng, n, 3, 8, 8), ["x"], {"x": BATCH}


def lstm(rng):
    model = nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=True)
    return model, lambda n: _normal(rng, n, 6, 5), ["x"], {"x": BATCH}


def gru(rng):
    model = nn.GRU(5, 6, num_layers=2, bidirectional=True)  # time-major: batch is axis 1
    return model, lambda n: _normal(rng, 6, n, 5), ["x"], {"x": {1: "batch"}}


class Encoder(nn.Module):
    """Embedding, positions, a 2-layer Transformer encoder with a padding mask, a head."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 16)
        self.pos = nn.SinusoidalPositionalEncoding(16, max_len=32, batch_first=True)
        layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2)
        self.head = nn.Linear(16, 3)

    def forward(self, ids, padding):
        h = self.encoder(self.pos(self.emb(ids)), src_key_padding_mask=padding)
        return self.head(h[:, 0, :])


def _padded_ids(rng, n, seq=7):
    ids = rng.integers(0, 20, size=(n, seq))
    lengths = rng.integers(2, seq + 1, size=n)
    # PyTorch's float key_padding_mask: added to the scores, -inf where padded
    mask = np.where(np.arange(seq)[None, :] >= lengths[:, None], -np.inf, 0.0)
    return xpnn.tensor(ids), xpnn.tensor(mask.astype(np.float32))


def transformer(rng):
    return (Encoder(), lambda n: _padded_ids(rng, n), ["ids", "padding"],
            {"ids": BATCH, "padding": BATCH})


class Custom(nn.Module):
    """A forward written with functional ops and Tensor methods, not layers."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(xpnn.randn(6, 8) * 0.3)
        self.bias = nn.Parameter(xpnn.zeros(6))
        self.gain = nn.Parameter(xpnn.ones(6))

    def forward(self, x):
        h = F.softplus(F.linear(x, self.weight, self.bias), beta=2.0)
        a, b = h[:, :3], h[:, 3:]
        h = xpnn.cat([b * F.sigmoid(a), F.elu(a - 1)], dim=1)
        h = F.layer_norm(h, (6,), self.gain) + h.mean(dim=1, keepdim=True)
        pairs = xpnn.stack([h, F.gelu(h)], dim=1)                      # (N, 2, 6)
        mixed = pairs.transpose(1, 2) @ xpnn.tensor([[0.5], [0.25]])   # (N, 6, 1)
        scores = F.softmax(mixed.reshape(-1, 2, 3).sum(dim=1), dim=-1)
        return scores, h.max(dim=1)[0], xpnn.clamp(h, min=-1.0, max=1.0)


def custom(rng):
    return Custom(), lambda n: _normal(rng, n, 8), ["x"], {"x": BATCH}


MODELS = {"mlp": mlp, "cnn": cnn, "residual": residual, "lstm": lstm, "gru": gru,
          "transformer": transformer, "custom": custom}


@pytest.mark.parametrize("name", list(MODELS))
def test_model_matches_onnxruntime_at_two_batch_sizes(name, rng):
    xpnn.manual_seed(0)
    model, make, names, dynamic = MODELS[name](rng)
    _, errors = roundtrip(model, make, names, dynamic)
    assert max(errors) <= TOL, errors


def test_native_operators_and_names(rng):
    xpnn.manual_seed(0)
    model, make, names, dynamic = cnn(rng)
    proto = xpnn.onnx.export(model, make(2), None, input_names=names, dynamic_axes=dynamic)
    ops = [node.op_type for node in proto.graph.node]
    assert ops == ["Conv", "BatchNormalization", "Relu", "MaxPool", "Conv",
                   "BatchNormalization", "Relu", "AveragePool", "Reshape", "Gemm"]
    inits = {t.name for t in proto.graph.initializer}
    assert {"0.weight", "0.bias", "1.running_mean", "1.running_var", "10.weight"} <= inits
    assert proto.ir_version == 8
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 17)]
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [1, 10, 10]
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert model.training  # exported in eval mode, then given back in its own mode


def test_recurrent_gates_reordered(rng):
    model, make, names, dynamic = lstm(rng)
    proto = xpnn.onnx.export(model, make(2), None, input_names=names, dynamic_axes=dynamic)
    ops = [node.op_type for node in proto.graph.node]
    assert ops.count("LSTM") == 4 and "Loop" not in ops  # one node per layer and direction
    directions = [a.s for node in proto.graph.node if node.op_type == "LSTM"
                  for a in node.attribute if a.name == "direction"]
    assert directions == [b"forward", b"reverse"] * 2


def test_dynamic_batch_and_sequence(rng):
    xpnn.manual_seed(0)
    model = Encoder()
    proto, errors = roundtrip(model, lambda n: _padded_ids(rng, n, seq=n + 3),
                              ["ids", "padding"],
                              {"ids": {0: "batch", 1: "seq"}, "padding": {0: "batch", 1: "seq"}},
                              sizes=(2, 4))
    assert max(errors) <= TOL
    model, make, _, _ = lstm(rng)
    proto, errors = roundtrip(model, lambda n: _normal(rng, n, n + 2, 5), ["x"],
                              {"x": {0: "batch", 1: "time"}}, sizes=(2, 4))
    assert max(errors) <= TOL
    shapes = [[d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]
              for o in proto.graph.output]
    assert shapes == [["batch", "time", 14], [4, "batch", 7], [4, "batch", 7]]


def test_causal_mask_follows_the_sequence_axis(rng):
    xpnn.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, norm_first=True)

    def causal(x):
        return layer(x, is_causal=True)
    layer.eval()
    proto, errors = roundtrip(causal, lambda n: _normal(rng, n, n + 4, 8), ["x"],
                              {"x": {0: "batch", 1: "seq"}}, sizes=(2, 4))
    assert max(errors) <= TOL
    assert "Trilu" in {node.op_type for node in proto.graph.node}


@pytest.mark.parametrize("opset", [18, 21])
def test_other_opsets(opset, rng):
    xpnn.manual_seed(0)
    model, make, names, dynamic = custom(rng)
    proto, errors = roundtrip(model, make, names, dynamic, opset_version=opset)
    assert max(errors) <= TOL
    assert [o.version for o in proto.opset_import] == [opset]
    assert proto.ir_version == {18: 8, 21: 10}[opset]


@pytest.mark.parametrize("op", [
    lambda x: F.max_pool2d(x, 3, 2, padding=1, ceil_mode=True),
    lambda x: F.max_pool2d(x, 2, return_indices=True),
    lambda x: F.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True, count_include_pad=False),
    lambda x: F.avg_pool2d(x, 2, divisor_override=3),
    lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
    lambda x: F.group_norm(x, 2),
    lambda x: F.conv_transpose2d(x, xpnn.ones(2, 3, 3, 3) * 0.1, stride=2, output_padding=1),
    lambda x: x.var(dim=0) + x.std(dim=(2, 3), keepdim=True).sum(0) + x.prod(1).mean(0),
    lambda x: xpnn.stack(xpnn.unbind(x, 1)[::-1], dim=-1)[..., None, 1:5:2] * 2,
], ids=["maxpool-ceil", "maxpool-indices", "avgpool-ceil", "avgpool-divisor", "adaptive",
        "groupnorm", "conv-transpose", "reductions", "indexing"])
def test_op_forms(op, rng):
    _, errors = roundtrip(op, lambda n: _normal(rng, n, 2, 7, 7), ["x"], {"x": BATCH})
    assert max(errors) <= TOL


NEWER = {  # ops of the engine's later families; a case is skipped where the op is missing
    "activations": ("hardtanh", lambda x: F.hardtanh(x) + F.hardshrink(x) + F.softshrink(x)
                    + F.mish(x) + F.softsign(x) + F.logsigmoid(x) + F.selu(x)
                    + F.celu(x, 2.0) + F.hardsigmoid(x) + F.hardswish(x) + F.tanhshrink(x)
                    + F.threshold(x, 0.5, -1.0)),
    "glu": ("glu", lambda x: F.glu(x, dim=1)),
    "pad": ("pad", lambda x: F.pad(x, (1, 2, -1, 1), value=0.5) + 1),
    "flip-roll-tril": ("roll", lambda x: F.roll(F.flip(x, (1, 2)), (1, -2), (1, 2))
                       + F.tril(x, -1) - F.triu(x, 1)),
    "interpolate": ("interpolate", lambda x: F.interpolate(x, scale_factor=2, mode="bilinear")
                    + F.interpolate(x, scale_factor=2, mode="nearest")),
    "adaptive-max": ("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (2, 3))),
    "cosine": ("cosine_similarity", lambda x: F.cosine_similarity(x, x * x, dim=1)),
}


@pytest.mark.parametrize("name", list(NEWER))
def test_newer_ops(name, rng):
    needs, op = NEWER[name]
    if not hasattr(F, needs):
        pytest.skip(f"this engine has no F.{needs}")
    _, errors = roundtrip(op, lambda n: _normal(rng, n, 2, 4, 6), ["x"], {"x": BATCH})
    assert max(errors) <= TOL


def test_other_backends(backend, rng):
    xpnn.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3).eval(), nn.ReLU(),
                          nn.Flatten(), nn.Linear(27, 2))
    proto, errors = roundtrip(model, lambda n: _normal(rng, n, 1, 5, 5), ["x"], {"x": BATCH})
    assert max(errors) <= TOL


# -- files --------------------------------------------------------------------------------
def test_writes_path_and_file_object(tmp_path):
    model = nn.Linear(3, 2)
    x = xpnn.randn(4, 3)
    path = tmp_path / "linear.onnx"
    proto = xpnn.onnx.export(model, (x,), path)
    assert onnx.load(path) == proto
    buf = io.BytesIO()
    xpnn.onnx.export(model, x, buf, input_names=["features"], output_names=["logits"])
    loaded = onnx.load_from_string(buf.getvalue())
    assert [i.name for i in loaded.graph.input] == ["features"]
    assert [o.name for o in loaded.graph.output] == ["logits"]


def test_failed_export_leaves_the_file_alone(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"old")
    with pytest.raises(xpnn.onnx.UnsupportedOperatorError):
        xpnn.onnx.export(lambda x: F.cross_entropy(x, xpnn.tensor([0, 1])), xpnn.randn(2, 3),
                         path)
    assert path.read_bytes() == b"old"
    assert autograd._tracer is None
    assert not [p for p in tmp_path.iterdir() if p.name != "model.onnx"]


# -- clear errors -------------------------------------------------------------------------
class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return F.cross_entropy(self.fc(x), xpnn.tensor([0, 1, 2, 0]))


def test_unsupported_op_names_op_and_module_path():
    model = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.ReLU(), Head()))
    with pytest.raises(xpnn.onnx.UnsupportedOperatorError,
                       match=r"CrossEntropy .*module '1\.1' \(Head\) at test_onnx\.py:\d+"):
        xpnn.onnx.export(model, xpnn.randn(4, 3), None)


def test_custom_autograd_function_is_refused():
    class Square(xpnn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(xpnn.onnx.UnsupportedOperatorError, match="autograd.Function Square"):
        xpnn.onnx.export(lambda x: Square.apply(x) + 1, xpnn.randn(2, 3), None)


def test_bool_padding_mask_exports():
    # MultiheadAttention merges a bool mask with recorded comparisons and logical ops
    ort = pytest.importorskip("onnxruntime")
    layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True).eval()
    mask = np.array([[False] * 3 + [True] * 2, [False] * 5])
    x = xpnn.randn(2, 5, 8)
    model = xpnn.onnx.export(layer, (x, {"src_key_padding_mask": xpnn.tensor(mask)}), None,
                             input_names=["src", "src_key_padding_mask"])
    sess = ort.InferenceSession(model.SerializeToString())
    got = sess.run(None, {"src": x.numpy(), "src_key_padding_mask": mask})[0]
    want = layer(x, src_key_padding_mask=xpnn.tensor(mask)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("forward, match", [
    (lambda x: x * xpnn.tensor(float(x.numpy().mean())), r"Mul .*input 1 is a 0-d float32"),
    (lambda x: xpnn.where(xpnn.tensor(x.numpy() > 0), x, x * 2),
     r"Where .*\(4, 3\) bool array"),
    (lambda x: F.dropout(x, 0.5, training=True), "dropout in training mode is random"),
], ids=["host-value", "comparison", "dropout"])
def test_values_outside_the_ops_are_refused(forward, match):
    with pytest.raises(xpnn.onnx.ExportError, match=match):
        xpnn.onnx.export(forward, xpnn.randn(4, 3), None)


def test_in_place_ops_are_recorded(rng):
    def forward(x):
        x += 1  # on the input itself, as PyTorch's tracer records it
        y = x * 2
        y.mul_(x)
        return y - x
    _, errors = roundtrip(forward, lambda n: _normal(rng, n, 3), ["x"], {"x": BATCH})
    assert max(errors) <= TOL


def test_unrecorded_in_place_change_is_refused():
    def forward(x):
        y = x * 2
        with xpnn.no_grad():
            y.add_(1)  # not recorded: the graph would compute x * 2
        return y
    with pytest.raises(xpnn.onnx.ExportError, match="output of Mul .* changed in place"):
        xpnn.onnx.export(forward, xpnn.randn(4, 3), None)


def test_size_dependent_control_flow_is_refused():
    def forward(x):
        return x * 2 if x.shape[0] < 5 else F.relu(x)
    with pytest.raises(xpnn.onnx.ExportError, match="control flow"):
        xpnn.onnx.export(forward, xpnn.randn(4, 3), None, dynamic_axes={"x": [0]})


@pytest.mark.parametrize("kwargs, match", [
    (dict(opset_version=13), "opset_version must be one of"),
    (dict(dynamic_axes={"nope": [0]}), "neither an input"),
    (dict(dynamic_axes={"output": {1: "n"}}), "does not follow any dynamic input axis"),
    (dict(input_names=["a", "b"]), "2 input_names for 1 input"),
    (dict(input_names=["0.weight"]), "used twice"),
])
def test_bad_arguments(kwargs, match):
    model = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises((ValueError, xpnn.onnx.ExportError), match=match):
        xpnn.onnx.export(model, xpnn.randn(4, 3), None, **kwargs)


def test_example_trains_exports_and_agrees(tmp_path, capsys):
    pytest.importorskip("sklearn")  # the digits data
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "examples" / "onnx_export.py"
    spec = importlib.util.spec_from_file_location("_xpnn_example_onnx_export", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    out = tmp_path / "digits.onnx"
    res = example.main(["--out", str(out), "--epochs", "1"])
    assert out.exists() and res["agreement"] == 1.0 and res["max_abs_diff"] < 1e-4
    assert res["onnx_accuracy"] == res["xpnn_accuracy"] > 0.5
    assert "onnxruntime test accuracy" in capsys.readouterr().out


def test_supported_ops_lists_the_layer_ops():
    ops = xpnn.onnx.supported_ops()
    for name in ("linalg.Linear", "conv.ConvNd", "recurrent.LSTMLayer", "norm.BatchNorm",
                 "attention.ScaledDotProductAttention", "embedding.Embedding"):
        assert name in ops


class _HalfLength(nn.Module):
    def forward(self, x):
        return x[:, : x.shape[1] // 2]


class _UpToEight(nn.Module):
    def forward(self, x):  # a mask built on the host from the length: all ones up to 8
        return x * xpnn.tensor((np.arange(x.shape[1]) < 8).astype(np.float32))


class _SignBranch(nn.Module):
    def forward(self, x):
        return x * 2 if x.sum().item() > 0 else x * -1


@pytest.mark.parametrize("model, dynamic, match", [
    (_HalfLength(), {"x": {1: "t"}}, r"2 becomes 5 when the dynamic axes are \{'t': 11\}"),
    (_UpToEight(), {"x": {1: "t"}}, "computed outside xpnn's ops"),
    (_SignBranch(), None, "computed outside xpnn's ops"),
], ids=["floor-division", "host-mask", "sign-branch"])
def test_values_that_only_two_traces_agreed_on_are_refused(model, dynamic, match):
    """A size that is not linear in a dynamic axis (T // 2), a host-built mask that looked
    like a fill at the two traced lengths, and a branch on the values' sign: each exported
    silently wrong (onnxruntime gave other shapes or values at other inputs); the check
    trace (every dynamic axis at 2n + 1, the inputs negated) refuses them."""
    with pytest.raises(xpnn.onnx.ExportError, match=match):
        xpnn.onnx.export(model, xpnn.ones(2, 6 if dynamic is None else 5), None,
                         input_names=["x"], dynamic_axes=dynamic)


def test_strided_conv_length_is_left_unnamed_and_erf_exports():
    """A strided convolution's output length is not k * T + c: the output's dim is left
    unnamed (it was declared as T - 4) and onnxruntime gives xpnn's values at other
    lengths; erf and argmax/argmin export; an output computed outside the ops is an
    ExportError (a private exception leaked)."""
    rng = np.random.default_rng(0)
    conv = nn.Conv1d(4, 4, 3, stride=2)
    proto, errors = roundtrip(conv, lambda n: _normal(rng, 1, 4, n), ["x"], {"x": {2: "t"}},
                              sizes=(6, 11, 20))
    assert max(errors) <= TOL
    assert proto.graph.output[0].type.tensor_type.shape.dim[2].dim_param == "output_dim2"
    _, errors = roundtrip(xpnn.erf, lambda n: _normal(rng, n, 3), ["x"], {"x": BATCH})
    assert max(errors) <= TOL
    # argmax/argmin (the README lists ArgMax; they were computed outside the ops)
    _, errors = roundtrip(lambda x: (x.argmax(-1), x.argmin(0, keepdim=True)),
                          lambda n: _normal(rng, n, 4), ["x"], {"x": BATCH})
    assert max(errors) == 0
    # a cumulative count of a mask (ONNX's CumSum takes no bools: cast first)
    _, errors = roundtrip(lambda x: (x > 0).cumsum(-1), lambda n: _normal(rng, n, 4), ["x"],
                          {"x": BATCH})
    assert max(errors) == 0

    class Outside(nn.Module):
        def forward(self, x):
            return x * 2, xpnn.tensor(x.numpy() + 1)
    with pytest.raises(xpnn.onnx.ExportError, match="computed outside xpnn's ops"):
        xpnn.onnx.export(Outside(), xpnn.ones(2, 3), None)
