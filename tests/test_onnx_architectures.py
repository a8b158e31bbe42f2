"""xpnn.onnx.export of whole architectures, as people export them: small versions (eval mode,
fixed seeds, float32) of a ResNet, a U-Net, a ViT, a GPT decoder, text classifiers, a
MobileNet block, a convolutional autoencoder and a DDPM U-Net with a time input, each
exported with a dynamic batch axis (the GPT also with a dynamic sequence axis), run in
onnxruntime at two batch sizes and compared with xpnn's forward."""
import math

import numpy as np
import pytest

import xpnn
import xpnn.functional as F
from xpnn import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
import xpnn.onnx  # noqa: E402

# float32 throughout: onnxruntime sums and rounds in other orders than xpnn's kernels, so
# the bound is a few hundred eps of the output's scale (as test_onnx_sweep.py's)
TOL = 256 * float(np.finfo(np.float32).eps)


def _normal(rng, *shape):
    return xpnn.tensor(rng.normal(size=shape).astype(np.float32))


def _ints(rng, hi, *shape):
    return xpnn.tensor(rng.integers(0, hi, size=shape).astype(np.int64))


def _randomize_stats(model, rng):
    """Running statistics away from (0, 1) so BatchNorm's eval-mode affine map shows."""
    for name, buf in model.named_buffers():
        with xpnn.no_grad():
            if name.endswith("running_mean"):
                buf.copy_(_normal(rng, *buf.shape) * 0.1)
            elif name.endswith("running_var"):
                buf.copy_(xpnn.tensor(rng.uniform(0.5, 1.5, size=buf.shape)
                                      .astype(np.float32)))
    return model


def roundtrip(model, inputs, names, dynamic_axes, output_names=None):
    """Export ``model`` (in eval mode) at ``inputs[0]`` (a tuple of Tensors), run
    onnxruntime at every entry of ``inputs`` and compare with xpnn's forward: shape, dtype
    and values within TOL of the output's scale."""
    model.eval()
    proto = xpnn.onnx.export(model, inputs[0], None, input_names=names,
                             output_names=output_names, dynamic_axes=dynamic_axes)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for args in inputs:
        got = sess.run(None, {n: t.numpy() for n, t in zip(names, args)})
        with xpnn.no_grad():
            want = model(*args)
        want = [t.numpy() for t in (want if isinstance(want, (tuple, list)) else [want])]
        assert len(got) == len(want)
        for w, g in zip(want, got):
            assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype,
                                                               w.dtype)
            scale = max(1.0, float(np.abs(w).max()))
            np.testing.assert_allclose(g, w, rtol=0, atol=TOL * scale)
    return proto


def _batch(*names):
    return {n: {0: "batch"} for n in names}


@pytest.fixture
def rng():
    xpnn.manual_seed(0)
    return np.random.default_rng(0)


# -- 1. ResNet ------------------------------------------------------------------------------
class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1))
        self.layer1 = BasicBlock(8, 8)
        self.layer2 = BasicBlock(8, 16, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(self.flatten(self.avgpool(x)))


def test_resnet(rng):
    model = _randomize_stats(ResNet(), rng)
    roundtrip(model, [(_normal(rng, n, 3, 16, 16),) for n in (2, 5)], ["image"],
              _batch("image", "logits"), ["logits"])


# -- 2. U-Net -------------------------------------------------------------------------------
def _conv_gn_silu(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(4, cout), nn.SiLU(),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(4, cout), nn.SiLU())


class UNet(nn.Module):
    def __init__(self, cin=3, cout=2, width=8):
        super().__init__()
        self.enc1 = _conv_gn_silu(cin, width)
        self.enc2 = _conv_gn_silu(width, 2 * width)
        self.mid = _conv_gn_silu(2 * width, 2 * width)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(2 * width, 2 * width, 2, stride=2)
        self.dec2 = _conv_gn_silu(4 * width, width)
        self.dec1 = _conv_gn_silu(2 * width, width)
        self.out = nn.Conv2d(width, cout, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        m = self.mid(self.pool(e2))
        d2 = self.dec2(xpnn.cat([self.up2(m), e2], dim=1))
        d1 = self.dec1(xpnn.cat([F.interpolate(d2, scale_factor=2, mode="nearest"), e1],
                                dim=1))
        return self.out(d1)


def test_unet(rng):
    roundtrip(UNet(), [(_normal(rng, n, 3, 16, 16),) for n in (1, 3)], ["image"],
              _batch("image", "mask"), ["mask"])


# -- 3. ViT ---------------------------------------------------------------------------------
class ViT(nn.Module):
    def __init__(self, image=16, patch=4, dim=16, depth=2, heads=2, classes=5):
        super().__init__()
        n = (image // patch) ** 2
        self.patch = nn.Conv2d(3, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(xpnn.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(xpnn.randn(1, n + 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.1,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = xpnn.cat((cls, x), dim=1) + self.pos_embed
        x = self.norm(self.encoder(x))
        return self.head(x[:, 0])


def test_vit(rng):
    roundtrip(ViT(), [(_normal(rng, n, 3, 16, 16),) for n in (2, 3)], ["image"],
              _batch("image", "logits"), ["logits"])


# -- 4. GPT ---------------------------------------------------------------------------------
class CausalSelfAttention(nn.Module):
    def __init__(self, dim, heads, block, sdpa):
        super().__init__()
        self.c_attn, self.c_proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.heads, self.sdpa = heads, sdpa
        self.register_buffer("bias", xpnn.triu(xpnn.ones(block, block, dtype=xpnn.bool),
                                               diagonal=1).view(1, 1, block, block))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        if self.sdpa:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # minGPT: a masked_fill by the triu buffer, sliced to T
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T], float("-inf"))
            y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class GPTBlock(nn.Module):
    def __init__(self, dim, heads, block, sdpa):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads, block, sdpa)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * dim, dim), nn.Dropout(0.1))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab=23, block=12, dim=16, heads=2, layers=2, sdpa=True):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, dim), nn.Embedding(block, dim)
        self.drop = nn.Dropout(0.1)
        self.h = nn.ModuleList([GPTBlock(dim, heads, block, sdpa) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.wte.weight = self.lm_head.weight  # tied, as GPT-2

    def forward(self, idx):
        pos = xpnn.arange(0, idx.size(1), dtype=xpnn.long, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


@pytest.mark.parametrize("sdpa", [True, False], ids=["is_causal", "triu_mask"])
@pytest.mark.parametrize("sequence", ["fixed", "dynamic", "dynamic_at_block_size"])
def test_gpt(sdpa, sequence, rng):
    """The positions are arange(T) (a Range in the graph); traced at 8 or at the block size
    12, where the export's extra traces at longer sequences would overrun the position
    table (they fall back to shorter ones)."""
    model = GPT(sdpa=sdpa)
    if sequence == "fixed":
        inputs, axes = [(_ints(rng, 23, n, 8),) for n in (2, 4)], _batch("idx", "logits")
    else:
        lengths = (8, 5, 12, 2) if sequence == "dynamic" else (12, 5, 2)
        inputs = [(_ints(rng, 23, n, t),) for n, t in zip((2, 3, 1, 4), lengths)]
        axes = {k: {0: "batch", 1: "sequence"} for k in ("idx", "logits")}
    proto = roundtrip(model, inputs, ["idx"], axes, ["logits"])
    tied = [i.name for i in proto.graph.initializer if i.name.endswith("weight")
            and tuple(i.dims) == (23, 16)]
    assert len(tied) == 1, tied  # the tied matrix is stored once


# -- 5. text classifiers --------------------------------------------------------------------
class BagClassifier(nn.Module):
    def __init__(self, vocab=50, dim=8, classes=4):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab, dim, mode="mean")
        self.fc = nn.Linear(dim, classes)

    def forward(self, text):
        return self.fc(self.embedding(text))


class LSTMClassifier(nn.Module):
    def __init__(self, vocab=50, dim=8, hidden=12, classes=4):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.lstm = nn.LSTM(dim, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, text):
        _, (h, _) = self.lstm(self.embedding(text))
        return self.fc(xpnn.cat((h[-2], h[-1]), dim=1))  # last layer, both directions


class LengthsClassifier(LSTMClassifier):
    """Padded sequences and their lengths: the LSTM runs on the padded batch and each
    sequence's last output (at lengths - 1) is gathered, which exports (packing does not)."""

    def forward(self, text, lengths):
        out, _ = self.lstm(self.embedding(text))
        at = (lengths - 1).view(-1, 1, 1).expand(-1, 1, out.size(2))
        return self.fc(out.gather(1, at).squeeze(1))


@pytest.mark.parametrize("make", [BagClassifier, LSTMClassifier], ids=["bag", "lstm"])
def test_text_classifier(make, rng):
    inputs = [(_ints(rng, 50, n, 7),) for n in (2, 6)]
    roundtrip(make(), inputs, ["text"], _batch("text", "logits"), ["logits"])


def test_text_classifier_with_lengths(rng):
    inputs = [(_ints(rng, 50, n, 7), _ints(rng, 7, n) + 1) for n in (3, 5)]
    roundtrip(LengthsClassifier(), inputs, ["text", "lengths"],
              _batch("text", "lengths", "logits"), ["logits"])


def test_packed_sequence_is_refused_naming_the_packed_layer(rng):
    """pack_padded_sequence works out the packed layout on the host from the lengths: the
    export names the packed LSTM and says what exports instead, rather than only saying
    that the lengths input goes unused."""
    class Packed(LSTMClassifier):
        def forward(self, text, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(self.embedding(text), lengths,
                                                       batch_first=True, enforce_sorted=False)
            _, (h, _) = self.lstm(packed)
            return self.fc(xpnn.cat((h[-2], h[-1]), dim=1))
    model = Packed()
    args = (_ints(rng, 50, 3, 7), xpnn.tensor(np.array([7, 3, 5])))
    with pytest.raises(xpnn.onnx.UnsupportedOperatorError,
                       match=r"PackedLSTMLayer.*module 'lstm'.*lengths - 1"):
        xpnn.onnx.export(model, args, None, input_names=["text", "lengths"])
    with pytest.raises(xpnn.onnx.UnsupportedOperatorError, match="PackedLSTMLayer"):
        xpnn.onnx.export(lambda t: model(t, [7, 3, 5]), args[:1], None)  # constant lengths


# -- 6. MobileNet ---------------------------------------------------------------------------
class SqueezeExcite(nn.Module):
    def __init__(self, c, squeeze):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2 = nn.Conv2d(c, squeeze, 1), nn.Conv2d(squeeze, c, 1)
        self.activation, self.scale_activation = nn.ReLU(), nn.Hardsigmoid()

    def forward(self, x):
        s = self.fc2(self.activation(self.fc1(self.avgpool(x))))
        return x * self.scale_activation(s)


class InvertedResidual(nn.Module):
    """MobileNetV3's block: expand 1x1, depthwise 3x3, SE, project 1x1, residual."""

    def __init__(self, c=8, expanded=16):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(c, expanded, 1, bias=False), nn.BatchNorm2d(expanded), nn.Hardswish(),
            nn.Conv2d(expanded, expanded, 3, padding=1, groups=expanded, bias=False),
            nn.BatchNorm2d(expanded), nn.Hardswish(),
            SqueezeExcite(expanded, 4),
            nn.Conv2d(expanded, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.block(x)


def test_mobilenet_block(rng):
    model = _randomize_stats(InvertedResidual(), rng)
    roundtrip(model, [(_normal(rng, n, 8, 10, 10),) for n in (2, 3)], ["x"], _batch("x"))


# -- 7. autoencoder -------------------------------------------------------------------------
class ConvAutoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),
                                     nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def test_autoencoder(rng):
    proto = roundtrip(ConvAutoencoder(), [(_normal(rng, n, 1, 12, 12),) for n in (2, 4)],
                      ["image"], _batch("image", "reconstruction"), ["reconstruction"])
    assert "ConvTranspose" in {n.op_type for n in proto.graph.node}


# -- 8. DDPM U-Net ---------------------------------------------------------------------------
class SinusoidalPositionEmbeddings(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, time):
        half = self.dim // 2
        freqs = xpnn.exp(xpnn.arange(half, device=time.device) * -(math.log(10000) / (half - 1)))
        args = time[:, None].float() * freqs[None, :]
        return xpnn.cat((args.sin(), args.cos()), dim=-1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, tdim):
        super().__init__()
        self.conv1, self.norm1 = nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(4, cout)
        self.conv2, self.norm2 = nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(4, cout)
        self.time = nn.Sequential(nn.SiLU(), nn.Linear(tdim, cout))
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, t):
        h = F.silu(self.norm1(self.conv1(x)))
        h = h + self.time(t)[:, :, None, None]
        h = F.silu(self.norm2(self.conv2(h)))
        return h + self.skip(x)


class DDPMUNet(nn.Module):
    def __init__(self, c=1, width=8, tdim=16):
        super().__init__()
        self.time_mlp = nn.Sequential(SinusoidalPositionEmbeddings(width),
                                      nn.Linear(width, tdim), nn.GELU(),
                                      nn.Linear(tdim, tdim))
        self.inc = nn.Conv2d(c, width, 3, padding=1)
        self.down1 = ResBlock(width, width, tdim)
        self.downsample = nn.Conv2d(width, width, 4, stride=2, padding=1)
        self.down2 = ResBlock(width, 2 * width, tdim)
        self.upsample = nn.ConvTranspose2d(2 * width, 2 * width, 4, stride=2, padding=1)
        self.up2 = ResBlock(3 * width, width, tdim)
        self.up1 = ResBlock(2 * width, width, tdim)
        self.out = nn.Sequential(nn.GroupNorm(4, width), nn.SiLU(), nn.Conv2d(width, c, 1))

    def forward(self, x, timestep):
        t = self.time_mlp(timestep)
        x0 = self.inc(x)
        h1 = self.down1(x0, t)
        h2 = self.down2(self.downsample(h1), t)
        u = self.up2(xpnn.cat([self.upsample(h2), h1], dim=1), t)
        u = self.up1(xpnn.cat([u, x0], dim=1), t)
        return self.out(u)


@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_ddpm_unet_with_a_time_input(dtype, rng):
    def make(n):
        t = rng.integers(0, 1000, size=n).astype(dtype)
        return _normal(rng, n, 1, 8, 8), xpnn.tensor(t)
    roundtrip(DDPMUNet(), [make(2), make(5)], ["x", "timestep"],
              _batch("x", "timestep", "noise"), ["noise"])


# -- the gaps these models found --------------------------------------------------------------
class Positions(nn.Module):
    """x (B, T, 4) plus a position embedding looked up by an arange of T made each call."""

    def __init__(self, kind):
        super().__init__()
        self.kind, self.table = kind, nn.Embedding(20, 4)

    def forward(self, x):
        B, T = x.shape[:2]
        if self.kind == "reversed":  # the start follows T
            return x + self.table(xpnn.arange(T - 1, -1, -1))
        if self.kind == "position_ids":  # HF's (1, T), expanded to the batch
            return x + self.table(xpnn.arange(T).unsqueeze(0).expand(B, -1))
        if self.kind == "strided":
            return x + self.table(xpnn.arange(3, 3 + 2 * T, 2))
        # float positions, a start of 0.5 and a step of 0.25
        return x * xpnn.arange(0.5, 0.5 + 0.25 * T, 0.25, dtype=xpnn.float32)[:, None]


@pytest.mark.parametrize("kind", ["reversed", "position_ids", "strided", "float"])
def test_arange_of_a_dynamic_length_is_a_range(kind, rng):
    """An arange whose length follows a dynamic axis was refused as "computed outside
    xpnn's ops"; it is start + step * Range(length) in the graph."""
    inputs = [(_normal(rng, n, t, 4),) for n, t in ((2, 6), (3, 4), (1, 9))]
    proto = roundtrip(Positions(kind), inputs, ["x"], {"x": {0: "batch", 1: "sequence"}})
    assert "Range" in {n.op_type for n in proto.graph.node}


def test_float_arange_whose_start_follows_an_axis_is_refused(rng):
    def f(x):
        T = x.shape[1]
        return x * xpnn.arange(float(T), 2.0 * T, dtype=xpnn.float32)
    with pytest.raises(xpnn.onnx.ExportError, match="float32 arange whose start changes"):
        xpnn.onnx.export(f, (_normal(rng, 2, 5),), None, input_names=["x"],
                         dynamic_axes={"x": {1: "t"}})


class Capped(nn.Module):
    """A position table of 12: traced at 12, the extra traces run at 11 and 10; a size that
    is not linear in T (T // 2) is still refused."""

    def __init__(self):
        super().__init__()
        self.pos = nn.Parameter(xpnn.randn(12, 4))

    def forward(self, x):
        T = x.shape[1]
        y = x + self.pos[:T]
        return y[:, : T // 2]


def test_a_capped_axis_still_refuses_a_size_that_is_not_linear(rng):
    with pytest.raises(xpnn.onnx.ExportError, match="does not follow"):
        xpnn.onnx.export(Capped(), (_normal(rng, 2, 12, 4),), None, input_names=["x"],
                         dynamic_axes={"x": {1: "t"}})


def test_a_model_that_refuses_every_other_size_says_to_export_the_axis_static(rng):
    """A U-Net takes only multiples of its total stride: H and W cannot be dynamic."""
    with pytest.raises(xpnn.onnx.ExportError, match=r"'h' one longer.*export it static"):
        xpnn.onnx.export(UNet(), (_normal(rng, 1, 3, 16, 16),), None, input_names=["x"],
                         dynamic_axes={"x": {0: "batch", 2: "h", 3: "w"}})


def test_exported_at_batch_one_and_a_sequence_of_one(rng):
    """The usual export call, torch.randn(1, ...): expand(B, -1, -1) of the cls token and
    .contiguous() after a transpose were no ops at size 1 and ops at the other traced
    sizes (refused as control flow), and a 1 x 1 causal mask was not seen as a triangle."""
    roundtrip(ViT(), [(_normal(rng, n, 3, 16, 16),) for n in (1, 4)], ["image"],
              _batch("image"))
    for sdpa in (True, False):
        roundtrip(GPT(sdpa=sdpa), [(_ints(rng, 23, n, t),) for n, t in ((1, 1), (3, 7))],
                  ["idx"], {"idx": {0: "batch", 1: "sequence"}})


def test_bag_mean_with_a_dynamic_bag_length(rng):
    """EmbeddingBag(mode="mean") of (B, L) ids divided by L taken on the host, a constant
    that changed with L: now a mean op."""
    inputs = [(_ints(rng, 50, n, t),) for n, t in ((2, 7), (3, 4), (1, 9))]
    roundtrip(BagClassifier(), inputs, ["text"], {"text": {0: "batch", 1: "length"}})


def test_resnet_with_dynamic_height_and_width(rng):
    """MaxPool's output size (floor((H + 2p - k) / s) + 1, not linear in H) was compared
    between traces although ONNX's MaxPool computes it."""
    model = _randomize_stats(ResNet(), rng)
    inputs = [(_normal(rng, n, 3, h, w),) for n, h, w in ((2, 16, 16), (1, 23, 30))]
    roundtrip(model, inputs, ["image"], {"image": {0: "batch", 2: "height", 3: "width"}})
