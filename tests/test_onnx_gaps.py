"""xpnn.onnx.export of the ops and models a review found missing: integer and bool ops,
cumprod, batch statistics in eval mode, gather by an input index, clamp by tensors, and a
sweep of model shapes (GPT block, ViT patch embedding, U-Net, LSTM/GRU with states, indexing
and padding ops), each run in onnxruntime against xpnn, and against torch where torch takes
the same weights."""
import numpy as np
import pytest
import torch

import xpnn
import xpnn.functional as F
from xpnn import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
import xpnn.onnx  # noqa: E402
from conftest import to_np  # noqa: E402

# float32: onnxruntime sums and rounds in other orders than xpnn's kernels; a few hundred
# eps of the output's scale (integers and bools: exact)
TOL = 256 * float(np.finfo(np.float32).eps)


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _close(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape,
                                                                 got.dtype, want.dtype)
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want)
        return
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL * scale)


def roundtrip(model, inputs, dynamic=None, opset=17, names=None):
    """Export at ``inputs[0]`` (a tuple of Tensors), run onnxruntime at every entry of
    ``inputs`` and compare with xpnn's forward; returns onnxruntime's outputs of the last."""
    names = names or [f"x{i}" for i in range(len(inputs[0]))]
    axes = None
    if dynamic:
        axes = dynamic if isinstance(dynamic, dict) else {n: {0: "batch"} for n in names}
    proto = xpnn.onnx.export(model, inputs[0], None, input_names=names, dynamic_axes=axes,
                             opset_version=opset)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for args in inputs:
        got = sess.run(None, {n: t.numpy() for n, t in zip(names, _flat(list(args)))})
        with xpnn.no_grad():
            want = [t.numpy() for t in _flat(model(*args))]
        assert len(got) == len(want)
        for w, g in zip(want, got):
            _close(g, w)
    return got


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _normal(rng, *shape):
    return xpnn.tensor(rng.normal(size=shape).astype(np.float32))


def _ints(rng, lo, hi, *shape):
    return xpnn.tensor(rng.integers(lo, hi, size=shape).astype(np.int64))


def _divisors(rng, *shape):  # nonzero, both signs
    d = rng.integers(1, 5, size=shape) * rng.choice([-1, 1], size=shape)
    return xpnn.tensor(d.astype(np.int64))


# -- bools ------------------------------------------------------------------------------------
BOOL_OPS = {
    "all": lambda x: xpnn.all(x > 0),
    "any": lambda x: xpnn.any(x > 0),
    "all_dim": lambda x: xpnn.all(x > -0.5, dim=1),
    "any_dim_keepdim": lambda x: xpnn.any(x > 1, dim=1, keepdim=True),
    "all_dims_tuple": lambda x: xpnn.all(x > -2, dim=(0, 1)),
    "any_of_floats": lambda x: (x * (x > 0)).any(dim=0),
    "all_method": lambda x: (x > 0).all(1),
    "logical_and": lambda x: xpnn.logical_and(x > 0, x < 1),
    "logical_or": lambda x: xpnn.logical_or(x > 1, x < -1),
    "logical_xor": lambda x: xpnn.logical_xor(x > 0, x < 1),
    "logical_not": lambda x: xpnn.logical_not(x > 0),
    "bool_and_operator": lambda x: (x > 0) & (x < 1),
    "bool_invert": lambda x: ~(x > 0),
}


@pytest.mark.parametrize("name", list(BOOL_OPS))
def test_bool_ops_match_onnxruntime(name, rng):
    fn = BOOL_OPS[name]
    dynamic = name not in ("all", "any", "all_dims_tuple")  # a 0-d output: no batch
    got = roundtrip(fn, [(_normal(rng, 4, 3),), (_normal(rng, 6, 3),)] if dynamic else
                    [(_normal(rng, 4, 3),)], dynamic=dynamic)
    assert got[0].dtype == np.bool_


def test_all_any_over_nothing():
    """all() of no entries is True, any() False, in the graph as in xpnn."""
    x = xpnn.zeros(3, 0)
    got = roundtrip(lambda x: (xpnn.all(x > 0, dim=1), xpnn.any(x > 0, dim=1)), [(x,)])
    assert got[0].tolist() == [True] * 3 and got[1].tolist() == [False] * 3


# -- integers ---------------------------------------------------------------------------------
INT_OPS = {  # fn(m, a, b) with m the module: xpnn, or torch for the reference
    "remainder": (lambda m, a, b: a % b, 17),
    "torch_remainder": (lambda m, a, b: m.remainder(a, b), 17),
    "remainder_scalar": (lambda m, a, b: a % 3 + b, 17),
    "fmod": (lambda m, a, b: m.fmod(a, b), 17),
    "floor_divide": (lambda m, a, b: a // b, 17),
    "floor_divide_fn": (lambda m, a, b: m.floor_divide(a, b), 17),
    "floor_divide_scalar": (lambda m, a, b: a // -3 + b, 17),
    "div_trunc": (lambda m, a, b: m.div(a, b, rounding_mode="trunc"), 17),
    "bitwise_and": (lambda m, a, b: a & b, 18),
    "bitwise_or": (lambda m, a, b: m.bitwise_or(a, b), 18),
    "bitwise_xor": (lambda m, a, b: a ^ b, 18),
    "bitwise_not": (lambda m, a, b: ~a + b, 17),
    "bitwise_not_int32": (lambda m, a, b: ~(a + b).to(m.int32), 17),
    "bitwise_not_uint8": (lambda m, a, b: ~((a + b).abs().to(m.uint8)), 17),
    "left_shift": (lambda m, a, b: a << b.abs(), 17),
    "right_shift": (lambda m, a, b: a >> b.abs(), 17),
    "right_shift_int32": (lambda m, a, b: (a + b).to(m.int32) >> 2, 17),
    "left_shift_uint8": (lambda m, a, b: (a + b).abs().to(m.uint8) << 3, 17),
}


@pytest.mark.parametrize("name", list(INT_OPS))
def test_integer_ops_match_onnxruntime_and_torch(name, rng):
    fn, opset = INT_OPS[name]
    inputs = [(_ints(rng, -20, 20, n, 5), _divisors(rng, n, 5)) for n in (4, 7)]
    inputs[0][0].array[0, :3] = np.array([-(2 ** 40), 2 ** 40 + 3, -1])  # large, -1
    roundtrip(lambda a, b: fn(xpnn, a, b), inputs, dynamic=True, opset=opset)
    a, b = inputs[1]
    with xpnn.no_grad():
        want = fn(xpnn, a, b).numpy()
    ref = fn(torch, torch.tensor(a.numpy()), torch.tensor(b.numpy())).numpy()
    np.testing.assert_array_equal(want, ref)  # PyTorch's meaning, negatives included


def test_bitwise_and_at_opset_17_is_refused_naming_the_op(rng):
    a, b = _ints(rng, -9, 9, 3, 2), _ints(rng, -9, 9, 3, 2)
    with pytest.raises(xpnn.onnx.UnsupportedOperatorError, match="bitwise_and.*opset"):
        xpnn.onnx.export(lambda a, b: a & b, (a, b), None)


def test_float_remainder_and_floor_divide(rng):
    b = xpnn.tensor(np.array([1.5, -2.0, 0.75], dtype=np.float32))
    roundtrip(lambda a: (a % b, xpnn.fmod(a, b), a // b, xpnn.floor_divide(a, -b)),
              [(_normal(rng, 4, 3) * 4,), (_normal(rng, 2, 3) * 4,)], dynamic=True)


@pytest.mark.parametrize("backend_ops", ["remainder", "fmod", "floor", "trunc", "and",
                                         "lshift", "rshift", "not", "all", "any"])
def test_integer_ops_match_torch_on_every_backend(backend, backend_ops):
    """The recorded integer and bool ops give PyTorch's values on every backend."""
    a_np = np.array([[-7, 5, 3, -2], [9, -9, 0, 4]], dtype=np.int64)
    b_np = np.array([[2, -3, 2, 3], [-4, 4, 1, 2]], dtype=np.int64)
    a, b = xpnn.tensor(a_np), xpnn.tensor(b_np)
    ta, tb = torch.tensor(a_np), torch.tensor(b_np)
    pairs = {"remainder": (a % b, ta % tb), "fmod": (xpnn.fmod(a, b), torch.fmod(ta, tb)),
             "floor": (a // b, ta // tb),
             "trunc": (xpnn.div(a, b, rounding_mode="trunc"),
                       torch.div(ta, tb, rounding_mode="trunc")),
             "and": (a & b, ta & tb), "lshift": (a << b.abs(), ta << tb.abs()),
             "rshift": (a >> b.abs(), ta >> tb.abs()), "not": (~a, ~ta),
             "all": (xpnn.all(a, dim=1), torch.all(ta, dim=1)),
             "any": (xpnn.any(a > 5, dim=0, keepdim=True), torch.any(ta > 5, dim=0,
                                                                    keepdim=True))}
    got, want = pairs[backend_ops]
    assert to_np(got).dtype == want.numpy().dtype
    np.testing.assert_array_equal(to_np(got), want.numpy())


# -- cumprod ----------------------------------------------------------------------------------
def _with_zeros_and_negatives(rng, *shape):
    x = rng.normal(size=shape).astype(np.float32)
    x[rng.random(size=shape) < 0.2] = 0.0
    return xpnn.tensor(x)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumprod_matches_onnxruntime_and_torch(dim, rng):
    """Static axes: the Hillis-Steele scan; axis 0 follows the batch: the triangle form."""
    inputs = [(_with_zeros_and_negatives(rng, n, 7, 3),) for n in (5, 2)]
    got = roundtrip(lambda x: xpnn.cumprod(x, dim=dim), inputs, dynamic=True)
    ref = torch.cumprod(torch.tensor(inputs[-1][0].numpy()), dim=dim).numpy()
    _close(got[0], ref)


def test_cumprod_of_integers_and_bools_is_exact(rng):
    x = _ints(rng, -3, 4, 3, 9)
    got = roundtrip(lambda x: (xpnn.cumprod(x, 1), xpnn.cumprod(x > 0, 1)), [(x,)],
                    dynamic=True)
    t = torch.tensor(x.numpy())
    np.testing.assert_array_equal(got[0], torch.cumprod(t, 1).numpy())
    np.testing.assert_array_equal(got[1], torch.cumprod(t > 0, 1).numpy())


# -- normalization ----------------------------------------------------------------------------
def _torch_copy(model, tmodel):
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    return tmodel.eval()


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dims", [1, 2])
def test_batch_norm_without_running_stats_uses_the_batch(affine, dims, rng):
    """track_running_stats=False: eval mode normalizes with the batch's statistics, which
    the graph computes (there are no running statistics to store)."""
    cls, tcls = (nn.BatchNorm1d, torch.nn.BatchNorm1d) if dims == 1 else \
        (nn.BatchNorm2d, torch.nn.BatchNorm2d)
    model = cls(3, affine=affine, track_running_stats=False, eps=1e-3)
    if affine:
        with xpnn.no_grad():
            model.weight.copy_(_normal(rng, 3))
            model.bias.copy_(_normal(rng, 3))
    shape = (3, 5) if dims == 1 else (3, 4, 4)
    inputs = [(_normal(rng, n, *shape) * 2 + 1,) for n in (4, 7)]
    got = roundtrip(model, inputs, dynamic=True)
    tmodel = _torch_copy(model, tcls(3, affine=affine, track_running_stats=False, eps=1e-3))
    _close(got[0], tmodel(torch.tensor(inputs[-1][0].numpy())).detach().numpy())


@pytest.mark.parametrize("affine", [True, False])
def test_instance_norm_with_and_without_affine(affine, rng):
    model = nn.InstanceNorm2d(3, affine=affine)
    if affine:
        with xpnn.no_grad():
            model.weight.copy_(_normal(rng, 3))
            model.bias.copy_(_normal(rng, 3))
    inputs = [(_normal(rng, n, 3, 5, 4),) for n in (2, 5)]
    got = roundtrip(model, inputs, dynamic=True)
    tmodel = _torch_copy(model, torch.nn.InstanceNorm2d(3, affine=affine))
    _close(got[0], tmodel(torch.tensor(inputs[-1][0].numpy())).detach().numpy())


def test_batch_norm_with_batch_stats_outside_a_module_is_refused(rng):
    def fn(x):
        return F.batch_norm(x, None, None, training=True)
    with pytest.raises(xpnn.onnx.UnsupportedOperatorError, match="BatchNorm"):
        xpnn.onnx.export(fn, (_normal(rng, 4, 3),), None)


# -- inference_mode tensors -------------------------------------------------------------------
def test_inference_mode_tensors_as_input_and_constant(rng):
    lin = nn.Linear(3, 3)
    with xpnn.inference_mode():
        const, x = _normal(rng, 3), _normal(rng, 2, 3)
        x = x * 1.0  # made by an op under inference_mode
    roundtrip(lambda x: lin(x) + const, [(x,), (_normal(rng, 5, 3),)], dynamic=True)


# -- gather, clamp by tensors -----------------------------------------------------------------
def test_gather_by_an_input_index(rng):
    inputs = [(_normal(rng, n, 4, 5), _ints(rng, 0, 4, n, 2, 5)) for n in (3, 6)]
    got = roundtrip(lambda x, i: xpnn.gather(x, 1, i), inputs, dynamic=True)
    x, i = (torch.tensor(t.numpy()) for t in inputs[-1])
    _close(got[0], torch.gather(x, 1, i).numpy())


def test_clamp_by_tensors(rng):
    inputs = [(_normal(rng, n, 4), _normal(rng, n, 4) - 1) for n in (3, 6)]
    roundtrip(lambda x, lo: xpnn.clamp(x, min=lo, max=lo + 1), inputs, dynamic=True)


# -- the sweep of model shapes ----------------------------------------------------------------
class GPTBlock(nn.Module):
    """Token and position embeddings, one pre-norm block with causal SDPA, a tied head."""

    def __init__(self, V=11, D=16, H=2):
        super().__init__()
        self.tok, self.pos = nn.Embedding(V, D), nn.Parameter(xpnn.randn(8, D) * 0.1)
        self.ln1, self.qkv, self.proj = nn.LayerNorm(D), nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.ln2 = nn.LayerNorm(D)
        self.mlp = nn.Sequential(nn.Linear(D, 4 * D), nn.GELU(), nn.Linear(4 * D, D))
        self.lnf, self.head, self.H = nn.LayerNorm(D), nn.Linear(D, V, bias=False), H
        self.head.weight = self.tok.weight  # weight tying

    def forward(self, idx):
        B, T = idx.shape
        x = self.tok(idx) + self.pos[:T]
        q, k, v = self.qkv(self.ln1(x)).split(x.shape[-1], dim=2)

        def heads(t):
            return t.view(B, T, self.H, -1).transpose(1, 2)
        y = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, -1))
        x = x + self.mlp(self.ln2(x))
        return self.head(self.lnf(x))


class PatchEmbed(nn.Module):
    """ViT's input: Conv2d with stride = patch, flatten(2).transpose(1, 2), a cls token
    concatenated in front, positions added."""

    def __init__(self, D=8, P=4):
        super().__init__()
        self.pe = nn.Conv2d(3, D, P, stride=P)
        self.cls = nn.Parameter(xpnn.randn(1, 1, D))
        self.pos = nn.Parameter(xpnn.randn(1, 5, D))

    def forward(self, x):
        y = self.pe(x).flatten(2).transpose(1, 2)
        y = xpnn.cat([self.cls.expand(y.shape[0], -1, -1), y], dim=1)
        return y + self.pos


class UNet(nn.Module):
    """A strided conv down, ConvTranspose2d and three interpolations up, cat skips."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(2, 4, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(4, 2, 2, stride=2)
        self.out = nn.Conv2d(14, 2, 1)

    def forward(self, x):
        e = F.relu(self.down(x))
        a = F.interpolate(e, scale_factor=2, mode="nearest")
        b = F.interpolate(e, scale_factor=2, mode="bilinear", align_corners=False)
        c = F.interpolate(e, scale_factor=2, mode="bilinear", align_corners=True)
        return self.out(xpnn.cat([self.up(e), a, b, c - x[:, :1] + x[:, 1:]], dim=1))


def _ids(rng):
    return [(_ints(rng, 0, 11, n, 6),) for n in (3, 5)]


SWEEP = {
    "gpt_block": (GPTBlock, _ids),
    "vit_patch_embedding": (PatchEmbed, lambda rng: [(_normal(rng, n, 3, 8, 8),)
                                                     for n in (2, 4)]),
    "unet": (UNet, lambda rng: [(_normal(rng, n, 2, 8, 8),) for n in (2, 3)]),
}


@pytest.mark.parametrize("name", list(SWEEP))
def test_model_sweep_matches_onnxruntime_with_a_dynamic_batch(name, rng):
    make, inputs = SWEEP[name]
    model = make().eval()
    roundtrip(model, inputs(rng), dynamic=True)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_recurrent_with_initial_state_passed_and_returned(kind, rng):
    """2 layers, bidirectional, batch_first; h0 (and c0) given, the final states returned;
    the batch (axis 1 of the states) dynamic; checked against torch with the same weights."""
    model = getattr(nn, kind)(5, 6, num_layers=2, bidirectional=True, batch_first=True)
    lstm = kind == "LSTM"

    def make(n):
        h = (_normal(rng, 4, n, 6),) + ((_normal(rng, 4, n, 6),) if lstm else ())
        return (_normal(rng, n, 7, 5), h if lstm else h[0])
    names = ["x", "h0", "c0"] if lstm else ["x", "h0"]
    axes = {"x": {0: "batch"}, "h0": {1: "batch"}, "c0": {1: "batch"}}
    inputs = [make(3), make(5)]
    got = roundtrip(model, inputs, dynamic={k: v for k, v in axes.items() if k in names},
                    names=names)
    tmodel = _torch_copy(model, getattr(torch.nn, kind)(5, 6, num_layers=2,
                                                        bidirectional=True, batch_first=True))
    x, h = inputs[-1]
    th = tuple(torch.tensor(t.numpy()) for t in h) if lstm else torch.tensor(h.numpy())
    out, state = tmodel(torch.tensor(x.numpy()), th)
    for g, w in zip(got, [out] + (list(state) if lstm else [state])):
        _close(g, w.detach().numpy())


def _indexing_ops(m, x, i):
    """masked_fill, where, gather, index_select, topk, argmax, clamp, expand, repeat,
    chunk, split and pad (constant, reflect, replicate), written for xpnn or torch (m)."""
    mask = x > 0
    a = x.masked_fill(mask, -1.0)
    b = m.where(mask, x, a * 2)
    tv, ti = m.topk(b, 2, dim=1)
    c1, c2 = b.chunk(2, dim=1)
    s1, s2 = b.split([1, 3], dim=1)
    fn = m.nn.functional
    return (m.gather(b, 1, i), m.index_select(b, 1, m.tensor([0, 2])), tv, ti,
            m.argmax(b, dim=1, keepdim=True), m.clamp(b, -0.5, 0.5),
            b[:, :1].expand(-1, 3), b.repeat(1, 2), c1 + c2, s1 * s2,
            fn.pad(b, (1, 2), mode="constant", value=0.5),
            fn.pad(b.unsqueeze(1), (2, 1), mode="reflect"),
            fn.pad(b.unsqueeze(1), (1, 2), mode="replicate"))


def test_indexing_and_padding_ops_match_onnxruntime_and_torch(rng):
    inputs = [(_normal(rng, n, 4), _ints(rng, 0, 4, n, 2)) for n in (3, 6)]
    got = roundtrip(lambda x, i: _indexing_ops(xpnn, x, i), inputs, dynamic=True)
    x, i = (torch.tensor(t.numpy()) for t in inputs[-1])
    for g, w in zip(got, _indexing_ops(torch, x, i)):
        _close(g, w.numpy())


# -- EmbeddingBag -----------------------------------------------------------------------------
@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_2d_and_offsets_match_onnxruntime_and_torch(mode, padding_idx, rng):
    """2-D ids (dynamic batch) and 1-D ids with constant offsets (an empty bag included);
    padding ids left out of their bag (and of the mean's count), as torch."""
    model = nn.EmbeddingBag(10, 4, mode=mode, padding_idx=padding_idx)
    tmodel = _torch_copy(model, torch.nn.EmbeddingBag(10, 4, mode=mode,
                                                      padding_idx=padding_idx))
    inputs = [(_ints(rng, 0, 10, n, 5),) for n in (3, 6)]
    inputs[0][0].array[0, :2] = 2  # a padding id for sure
    got = roundtrip(model, inputs, dynamic=True)
    _close(got[0], tmodel(torch.tensor(inputs[-1][0].numpy())).detach().numpy())
    offsets = xpnn.tensor(np.array([0, 2, 2, 5]))
    ids = xpnn.tensor(np.array([1, 2, 3, 9, 2, 0, 4]))
    got = roundtrip(lambda i: model(i, offsets), [(ids,)])
    want = tmodel(torch.tensor(ids.numpy()), torch.tensor(offsets.numpy()))
    _close(got[0], want.detach().numpy())


def test_embedding_bag_per_sample_weights(rng):
    model = nn.EmbeddingBag(10, 4, mode="sum")
    tmodel = _torch_copy(model, torch.nn.EmbeddingBag(10, 4, mode="sum"))
    inputs = [(_ints(rng, 0, 10, n, 5), _normal(rng, n, 5)) for n in (3, 6)]
    got = roundtrip(lambda i, w: model(i, per_sample_weights=w), inputs, dynamic=True)
    i, w = (torch.tensor(t.numpy()) for t in inputs[-1])
    _close(got[0], tmodel(i, per_sample_weights=w).detach().numpy())
    offsets = xpnn.tensor(np.array([0, 3]))
    roundtrip(lambda i, w: F.embedding_bag(i, model.weight, offsets, mode="sum",
                                           per_sample_weights=w),
              [(_ints(rng, 0, 10, 7), _normal(rng, 7))])


def test_embedding_bag_offsets_as_a_graph_input_is_refused(rng):
    """Offsets passed as an input: the bags follow their values, which the graph would have
    to search; export refuses, naming embedding_bag, rather than freezing them."""
    model = nn.EmbeddingBag(10, 4, mode="sum")
    with pytest.raises(xpnn.onnx.ExportError, match="embedding_bag"):
        xpnn.onnx.export(model, (_ints(rng, 0, 10, 7), xpnn.tensor(np.array([0, 2, 5]))),
                         None)
