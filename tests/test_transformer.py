"""nn.Transformer, TransformerDecoder(Layer) and the word_language_model pattern against
PyTorch: torch's state dict loads, outputs and every gradient agree in float64 with all
masks; the final LayerNorms, state_dict names, generate_square_subsequent_mask; and
MultiheadAttention's documented choice for a sample whose keys are all masked."""
import math
import warnings

import numpy as np
import pytest
from conftest import to_np

import xpnn
from xpnn import nn

torch = pytest.importorskip("torch")

EPS64 = float(np.finfo(np.float64).eps)
# float64 against torch: the same sums in other orders through 2-4 residual blocks
TWIN_TOL = 1e3 * EPS64


def _torch_quiet(build):
    """Build a torch module with its nested-tensor advice (a construction-time UserWarning
    for seq-first or pre-norm encoders) silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="enable_nested_tensor")
        return build()


def _load_twin(ours, theirs):
    tsd = theirs.state_dict()
    assert list(ours.state_dict()) == list(tsd)
    assert [tuple(v.shape) for v in ours.state_dict().values()] == \
        [tuple(v.shape) for v in tsd.values()]
    ours.load_state_dict({k: v.detach().numpy() for k, v in tsd.items()})


def _close(ours, theirs, tol=TWIN_TOL, what=""):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert tuple(np.shape(to_np(ours))) == tuple(theirs.shape), what
    np.testing.assert_allclose(to_np(ours), theirs, atol=tol, rtol=0, err_msg=what)


def _grads_match(ours, theirs, tol=TWIN_TOL):
    tgrads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, name
        _close(p.grad, tgrads[name].grad, tol, name)


def _pair(a):
    return (xpnn.tensor(a, dtype="float64", requires_grad=True),
            torch.tensor(a, dtype=torch.float64, requires_grad=True))


@pytest.mark.parametrize("batch_first, norm_first, activation", [
    (False, False, "relu"), (True, True, "gelu")])
def test_transformer_matches_torch_with_every_mask(batch_first, norm_first, activation, rng):
    """A torch nn.Transformer's state dict loads; outputs, input and parameter gradients
    agree in float64 with src/tgt/memory masks, three padding masks and causal flags."""
    E, h, S, T, N = 8, 2, 5, 4, 3
    kw = dict(d_model=E, nhead=h, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=12, dropout=0.0, activation=activation, batch_first=batch_first,
              norm_first=norm_first)
    ours = nn.Transformer(**kw, dtype="float64")
    theirs = _torch_quiet(lambda: torch.nn.Transformer(**kw, dtype=torch.float64))
    _load_twin(ours, theirs)
    src = rng.standard_normal((N, S, E) if batch_first else (S, N, E))
    tgt = rng.standard_normal((N, T, E) if batch_first else (T, N, E))
    src_pad = np.zeros((N, S), bool)
    src_pad[1, 3:] = True
    tgt_pad = np.zeros((N, T), bool)
    tgt_pad[2, -1] = True
    memory_mask = np.zeros((T, S), bool)
    memory_mask[0, 1] = memory_mask[2, 0] = True
    xs, ts = _pair(src)
    xt, tt = _pair(tgt)
    masks = dict(tgt_mask=nn.Transformer.generate_square_subsequent_mask(T, dtype="float64"),
                 src_key_padding_mask=xpnn.tensor(src_pad), memory_mask=xpnn.tensor(memory_mask),
                 tgt_key_padding_mask=xpnn.tensor(tgt_pad),
                 memory_key_padding_mask=xpnn.tensor(src_pad))
    tmasks = dict(tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(
                      T, dtype=torch.float64),
                  src_key_padding_mask=torch.tensor(src_pad),
                  memory_mask=torch.tensor(memory_mask),
                  tgt_key_padding_mask=torch.tensor(tgt_pad),
                  memory_key_padding_mask=torch.tensor(src_pad))
    with warnings.catch_warnings():  # a bool tgt_key_padding_mask beside a float tgt_mask
        warnings.filterwarnings("ignore", message="Support for mismatched")
        t_out = theirs(ts, tt, **tmasks, tgt_is_causal=True)
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        out = ours(xs, xt, **masks, tgt_is_causal=True)
    _close(out, t_out, what="output")
    dO = rng.standard_normal(out.shape)
    out.backward(xpnn.tensor(dO, dtype="float64"))
    t_out.backward(torch.tensor(dO))
    _close(xs.grad, ts.grad, what="src grad")
    _close(xt.grad, tt.grad, what="tgt grad")
    _grads_match(ours, theirs)


def test_transformer_state_dict_names_and_final_norms():
    """The names torch users load by: both stacks, their layers and final LayerNorms."""
    ours = nn.Transformer(8, 2, 1, 2, 16)
    theirs = _torch_quiet(lambda: torch.nn.Transformer(8, 2, 1, 2, 16))
    keys = list(ours.state_dict())
    assert keys == list(theirs.state_dict())
    for k in ("encoder.layers.0.self_attn.in_proj_weight", "encoder.norm.weight",
              "decoder.layers.1.multihead_attn.out_proj.bias", "decoder.layers.0.norm3.bias",
              "decoder.norm.weight", "decoder.norm.bias"):
        assert k in keys
    assert isinstance(ours.encoder.norm, nn.LayerNorm) and ours.decoder.num_layers == 2
    # every matrix is re-drawn by xavier_uniform: the two decoder layers now differ
    w0 = to_np(ours.decoder.layers[0].linear1.weight)
    w1 = to_np(ours.decoder.layers[1].linear1.weight)
    assert not np.array_equal(w0, w1)
    bound = math.sqrt(6 / (16 + 8))
    assert np.abs(w0).max() <= bound


def test_decoder_layer_unbatched_and_custom_stacks(rng):
    """Unbatched (T, E) / (S, E) inputs; a Transformer with custom_encoder/custom_decoder
    uses them as they are."""
    E = 6
    ours = nn.TransformerDecoderLayer(E, 3, 10, dropout=0.0, dtype="float64")
    theirs = torch.nn.TransformerDecoderLayer(E, 3, 10, dropout=0.0, dtype=torch.float64)
    _load_twin(ours, theirs)
    tgt, mem = rng.standard_normal((4, E)), rng.standard_normal((5, E))
    xt, tt = _pair(tgt)
    out, t_out = ours(xt, xpnn.tensor(mem, dtype="float64")), theirs(tt, torch.tensor(mem))
    _close(out, t_out)
    out.sum().backward()
    t_out.sum().backward()
    _close(xt.grad, tt.grad)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, 2, 8), 1)
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, 2, 8), 1)
    model = nn.Transformer(E, 2, custom_encoder=enc, custom_decoder=dec)
    assert model.encoder is enc and model.decoder is dec
    assert "encoder.norm.weight" not in model.state_dict()


def test_generate_square_subsequent_mask():
    ref = torch.nn.Transformer.generate_square_subsequent_mask(4).numpy()
    for call in (nn.Transformer.generate_square_subsequent_mask,
                 nn.Transformer(8, 2, 1, 1, 8).generate_square_subsequent_mask):
        m = call(4)
        assert m.dtype == xpnn.float32 and m.shape == (4, 4)
        np.testing.assert_array_equal(m.numpy(), ref)
    m = nn.Transformer.generate_square_subsequent_mask(3, dtype=xpnn.float64, backend="torch")
    assert m.backend == "torch" and m.dtype == xpnn.float64
    assert nn.Transformer.generate_square_subsequent_mask(0).shape == (0, 0)


def _word_language_model(lib):
    """The Transformer of pytorch/examples' word_language_model, written against ``lib``
    (torch or xpnn): nn.Transformer subclassed, its decoder replaced by a Linear, an
    Embedding, a sinusoidal PositionalEncoding buffer and a causal mask."""
    nn_, F_ = lib.nn, lib.nn.functional

    class PositionalEncoding(nn_.Module):
        def __init__(self, d_model, dropout=0.1, max_len=5000):
            super().__init__()
            self.dropout = nn_.Dropout(p=dropout)
            pe = lib.zeros(max_len, d_model)
            position = lib.arange(0, max_len, dtype=lib.float).unsqueeze(1)
            div_term = lib.exp(lib.arange(0, d_model, 2).float() *
                               (-math.log(10000.0) / d_model))
            pe[:, 0::2] = lib.sin(position * div_term)
            pe[:, 1::2] = lib.cos(position * div_term)
            self.register_buffer("pe", pe.unsqueeze(0).transpose(0, 1))

        def forward(self, x):
            return self.dropout(x + self.pe[:x.size(0), :])

    class TransformerModel(nn_.Transformer):
        def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
            super().__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid,
                             num_encoder_layers=nlayers)
            self.model_type = "Transformer"
            self.src_mask = None
            self.pos_encoder = PositionalEncoding(ninp, dropout)
            self.input_emb = nn_.Embedding(ntoken, ninp)
            self.ninp = ninp
            self.decoder = nn_.Linear(ninp, ntoken)
            initrange = 0.1
            nn_.init.uniform_(self.input_emb.weight, -initrange, initrange)
            nn_.init.zeros_(self.decoder.bias)
            nn_.init.uniform_(self.decoder.weight, -initrange, initrange)

        def forward(self, src, has_mask=True):
            if has_mask:
                device = src.device
                if self.src_mask is None or self.src_mask.size(0) != len(src):
                    self.src_mask = nn_.Transformer.generate_square_subsequent_mask(
                        len(src)).to(device)
            else:
                self.src_mask = None
            src = self.input_emb(src) * math.sqrt(self.ninp)
            src = self.pos_encoder(src)
            output = self.encoder(src, mask=self.src_mask)
            return F_.log_softmax(self.decoder(output), dim=-1)

    return TransformerModel


def test_word_language_model_transformer_runs_and_matches_torch(rng):
    """The example's model trains one step on xpnn (clip_grad_norm_, p.data.add_) and,
    with torch's weights, gives torch's log-probabilities and loss."""
    ntokens, T, N = 11, 6, 2
    args = (ntokens, 8, 2, 16, 2)
    ours = _word_language_model(xpnn)(*args, dropout=0.2)
    theirs = _torch_quiet(lambda: _word_language_model(torch)(*args, dropout=0.2))
    _load_twin(ours, theirs)
    assert "decoder.weight" in ours.state_dict() and "encoder.norm.weight" in ours.state_dict()
    data = rng.integers(0, ntokens, (T + 1, N))
    x, y = xpnn.tensor(data[:-1]), xpnn.tensor(data[1:])
    ours.eval(), theirs.eval()
    with xpnn.no_grad(), torch.no_grad():
        out, t_out = ours(x), theirs(torch.tensor(data[:-1]))
    _close(out, t_out, 50 * float(np.finfo(np.float32).eps))
    ours.train()
    criterion = nn.NLLLoss()
    for _ in range(2):  # the mask is cached on the model after the first call
        ours.zero_grad()
        loss = criterion(ours(x).view(-1, ntokens), y.view(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(ours.parameters(), 0.25)
        for p in ours.parameters():
            p.data.add_(p.grad, alpha=-0.5)
    assert np.isfinite(loss.item()) and ours.src_mask.shape == (T, T)


def test_mha_all_keys_masked_gives_zero_weights_not_nan(rng):
    """The documented choice: a sample whose keys are all padding gets zero weights and
    out_proj.bias as output (torch: NaN with need_weights=True), the others are unchanged
    and every gradient stays finite."""
    mha = nn.MultiheadAttention(4, 2, batch_first=True, dtype="float64")
    with xpnn.no_grad():
        mha.out_proj.bias.uniform_(-1, 1)
    x = xpnn.tensor(rng.standard_normal((2, 3, 4)), dtype="float64", requires_grad=True)
    pad = xpnn.tensor(np.array([[True] * 3, [False, True, False]]))
    out, w = mha(x, x, x, key_padding_mask=pad, need_weights=True)
    np.testing.assert_array_equal(w.numpy()[0], 0.0)
    np.testing.assert_allclose(out.numpy()[0], np.broadcast_to(to_np(mha.out_proj.bias),
                                                               (3, 4)))
    ref, _ = mha(x[1:], x[1:], x[1:], key_padding_mask=pad[1:])
    np.testing.assert_allclose(out.numpy()[1:], ref.numpy(), atol=10 * EPS64)
    (out.sum() + w.sum()).backward()
    assert np.isfinite(to_np(x.grad)).all()
    assert all(np.isfinite(to_np(p.grad)).all() for p in mha.parameters())


def test_bad_transformer_input():
    model = nn.Transformer(8, 2, 1, 1, 8, batch_first=True)
    with pytest.raises(ValueError, match=r"Transformer: the batch sizes of src xpnn.Size\(\[2, 3, 8\]\) "
                                         r"and tgt xpnn.Size\(\[3, 3, 8\]\)"):
        model(xpnn.zeros(2, 3, 8), xpnn.zeros(3, 3, 8))
    with pytest.raises(ValueError, match=r"feature sizes .*xpnn.Size\(\[2, 3, 6\]\).*d_model=8"):
        model(xpnn.zeros(2, 3, 8), xpnn.zeros(2, 3, 6))
    with pytest.raises(ValueError, match=r"TransformerDecoderLayer: memory must be 3-D"):
        nn.TransformerDecoderLayer(8, 2, 8)(xpnn.zeros(3, 2, 8), xpnn.zeros(3, 2, 8, 1))
    with pytest.raises(ValueError, match=r"activation must be 'relu', 'gelu'.*'tanh'"):
        nn.TransformerDecoderLayer(8, 2, activation="tanh")
    with pytest.raises(ValueError, match=r"TransformerDecoder: num_layers must be an int"):
        nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 8), 0)
    with pytest.raises(ValueError, match=r"dim_feedforward must be an int >= 1, got 0"):
        nn.TransformerEncoderLayer(8, 2, 0)
