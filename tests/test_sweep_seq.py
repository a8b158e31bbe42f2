"""Regression tests from an adversarial sweep of the sequence layers (RNN, LSTM, GRU, their
cells, nn.utils.rnn packing, MultiheadAttention, scaled_dot_product_attention, the
Transformer stacks) against torch 2.13. A case is a function of the module (``xpnn`` or
``torch``), called the same way on both, with xpnn's weights loaded from torch's state dict;
results (outputs, states, gradients of inputs, states and every parameter) are compared in
shape, dtype and value, and an error must be torch's exception class (or a subclass)."""
import numpy as np
import pytest

import xpnn

torch = pytest.importorskip("torch")

from torch_same import raises_like, same as _same  # noqa: E402


def _get(m, path):
    for part in path.split("."):
        m = getattr(m, part)
    return m


def _mk(m, path, *args, **kw):
    """``path`` (e.g. "nn.LSTM") built by torch with seed 0; xpnn's twin loads its weights."""
    torch.manual_seed(0)
    theirs = _get(torch, path)(*args, **kw)
    if m is torch:
        return theirs
    ours = _get(xpnn, path)(*args, **kw)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours


def _x(m, *shape, seed=0, grad=False, f64=False):
    a = np.random.default_rng(seed + sum(shape)).standard_normal(shape)
    return m.tensor(a.astype(np.float64 if f64 else np.float32),
                    dtype=m.float64 if f64 else m.float32, requires_grad=grad)


def _grads(mod, *leaves):
    return [t.grad for t in leaves] + [p.grad for _, p in mod.named_parameters()]


def _rnn(cls, shape, hx=None, f64=False, **kw):
    """Outputs, states and every gradient of ``cls`` (RNN/LSTM/GRU) on an input ``shape``;
    ``hx``: the initial states' shape (both h_0 and c_0 for an LSTM with proj_size)."""
    def case(m):
        mod = _mk(m, "nn." + cls, 3, 5, **kw)
        if f64:
            mod = mod.double()
        x = _x(m, *shape, grad=True, f64=f64)
        states = [] if hx is None else [_x(m, *s, seed=i + 1, grad=True, f64=f64)
                                        for i, s in enumerate(hx)]
        h = None if not states else tuple(states) if cls == "LSTM" else states[0]
        out, st = mod(x, h)
        res = [out] + (list(st) if cls == "LSTM" else [st])
        (sum((r * (i + 1.5)).sum() for i, r in enumerate(res)) + (out ** 2).sum()).backward()
        return tuple(res + _grads(mod, x, *states))
    return case


def _packed(cls, enforce_sorted, bf=False, hx=False, tensor_lengths=False, **kw):
    """A padded batch packed (lengths 4, 2, 1, unsorted unless ``enforce_sorted``), run,
    unpacked to total_length 6; packed data, states, unpacked output and every gradient."""
    def case(m):
        mod = _mk(m, "nn." + cls, 3, 5, batch_first=bf, **kw)
        x = _x(m, *((3, 4, 3) if bf else (4, 3, 3)), grad=True)
        lens = [4, 2, 1] if enforce_sorted else [2, 4, 1]
        rnn = m.nn.utils.rnn
        p = rnn.pack_padded_sequence(x, m.tensor(lens) if tensor_lengths else lens,
                                     batch_first=bf, enforce_sorted=enforce_sorted)
        L = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
        states = [_x(m, L, 3, 5, seed=i + 1, grad=True)
                  for i in range(2 if cls == "LSTM" else 1)] if hx else []
        h = None if not states else tuple(states) if cls == "LSTM" else states[0]
        out, st = mod(p, h)
        y, lengths = rnn.pad_packed_sequence(out, batch_first=bf, total_length=6)
        st = list(st) if cls == "LSTM" else [st]
        (y.sum() * 2 + sum((s * 3).sum() for s in st) + (out.data ** 2).sum()).backward()
        return tuple([out.data, out.batch_sizes, y, lengths] + st + _grads(mod, x, *states))
    return case


def _cell(cls, shape, hx=None, **kw):
    def case(m):
        mod = _mk(m, "nn." + cls, 3, 5, **kw)
        x = _x(m, *shape, grad=True)
        states = [] if hx is None else [_x(m, *hx, seed=i + 1, grad=True)
                                        for i in range(2 if cls == "LSTMCell" else 1)]
        h = None if not states else tuple(states) if cls == "LSTMCell" else states[0]
        out = mod(x, h)
        res = list(out) if cls == "LSTMCell" else [out]
        sum((r * (i + 1.5)).sum() for i, r in enumerate(res)).backward()
        return tuple(res + _grads(mod, x, *states))
    return case


def _mha(am=None, kpm=None, nw=True, avg=True, unbatched=False, **kw):
    def case(m):
        mod = _mk(m, "nn.MultiheadAttention", 4, 2, **kw).eval()
        bf = kw.get("batch_first", False)

        def shape(T, F):
            return (T, F) if unbatched else (2, T, F) if bf else (T, 2, F)
        q = _x(m, *shape(3, 4), grad=True)
        k = _x(m, *shape(5, kw.get("kdim") or 4), seed=1, grad=True)
        v = _x(m, *shape(5, kw.get("vdim") or 4), seed=2, grad=True)
        out, w = mod(q, k, v, key_padding_mask=None if kpm is None else kpm(m),
                     attn_mask=None if am is None else am(m), need_weights=nw,
                     average_attn_weights=avg)
        (out * out).sum().backward()
        return tuple([out] + ([w] if nw else []) + _grads(mod, q, k, v))
    return case


def _sdpa(qs, ks, vs, mask=None, **kw):
    def case(m):
        q, k, v = _x(m, *qs, grad=True), _x(m, *ks, seed=1, grad=True), \
            _x(m, *vs, seed=2, grad=True)
        out = m.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=None if mask is None else mask(m), **kw)
        (out * out).sum().backward()
        return out, q.grad, k.grad, v.grad
    return case


def _square(m):
    return m.nn.Transformer.generate_square_subsequent_mask(5)


def _pad5(m):
    return m.tensor([[False, False, False, True, True], [False] * 5])


def _pad3(m):
    return m.tensor([[False, False, True], [False] * 3])


def _upper(m, L, S):
    return m.tensor(np.triu(np.ones((L, S), bool), 1))


def _noise(m, *shape):
    return m.tensor(np.random.default_rng(3).standard_normal(shape).astype(np.float32))


def _encoder(bf=False, nf=False, act="relu", norm=False, masks=False, causal=False):
    def case(m):
        torch.manual_seed(0)
        layer = torch.nn.TransformerEncoderLayer(
            4, 2, 8, dropout=0.0, activation=act if isinstance(act, str) else "relu",
            batch_first=bf, norm_first=nf)
        theirs = torch.nn.TransformerEncoder(layer, 2, torch.nn.LayerNorm(4) if norm else None,
                                             enable_nested_tensor=False, mask_check=False)
        mod = theirs
        if m is xpnn:
            a = act if isinstance(act, str) else xpnn.nn.functional.gelu
            layer = xpnn.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, activation=a,
                                                    batch_first=bf, norm_first=nf)
            mod = xpnn.nn.TransformerEncoder(layer, 2, xpnn.nn.LayerNorm(4) if norm else None,
                                             enable_nested_tensor=False, mask_check=False)
            mod.load_state_dict({k: v.detach().numpy()
                                 for k, v in theirs.state_dict().items()})
        elif not isinstance(act, str):
            for lay in mod.layers:
                lay.activation = torch.nn.functional.gelu
        x = _x(m, *((2, 5, 4) if bf else (5, 2, 4)), grad=True)
        kw = dict(mask=_square(m), src_key_padding_mask=_pad5(m)) if masks else {}
        y = mod(x, is_causal=causal, **kw) if causal else mod(x, **kw)
        (y * y).sum().backward()
        return tuple([y] + _grads(mod, x))
    return case


def _transformer(bf=False, masks=False, **kw):
    def case(m):
        mod = _mk(m, "nn.Transformer", 4, 2, 2, 2, 8, 0.0, batch_first=bf, **kw)
        s = _x(m, *((2, 3, 4) if bf else (3, 2, 4)), grad=True)
        t = _x(m, *((2, 5, 4) if bf else (5, 2, 4)), seed=1, grad=True)
        extra = dict(tgt_mask=_square(m), src_key_padding_mask=_pad3(m),
                     memory_key_padding_mask=_pad3(m), tgt_key_padding_mask=_pad5(m),
                     memory_mask=m.zeros(5, 3), tgt_is_causal=True) if masks else {}
        y = mod(s, t, **extra)
        (y * y).sum().backward()
        return tuple([y] + _grads(mod, s, t))
    return case


def _independent_copies(m):
    layer = m.nn.TransformerEncoderLayer(4, 2, 8)
    enc = m.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    with m.no_grad():
        enc.layers[0].linear1.weight.fill_(1.)
    return (bool((enc.layers[1].linear1.weight == 1).all()),
            bool((layer.linear1.weight == 1).all()), len(list(enc.parameters())))


def _seqs(m):
    return [_x(m, 2, 3), _x(m, 4, 3), _x(m, 1, 3)]


_H = (4, 2, 5)  # (num_layers * 2 directions, batch, hidden) of the 2-layer bidirectional cases

# name -> f(module): runs on both modules, the results compared
CASES = {
    # recurrent layers
    "lstm_2layer_bidirectional_hx": _rnn("LSTM", (4, 2, 3), hx=[_H, _H], num_layers=2,
                                         bidirectional=True),
    "gru_batch_first_hx": _rnn("GRU", (2, 4, 3), hx=[(2, 2, 5)], num_layers=2,
                               batch_first=True),
    "rnn_relu_no_bias": _rnn("RNN", (4, 2, 3), nonlinearity="relu", bias=False,
                             bidirectional=True),
    "lstm_proj_hx": _rnn("LSTM", (4, 2, 3), hx=[(4, 2, 2), _H], proj_size=2, num_layers=2,
                         bidirectional=True),
    "lstm_unbatched_hx": _rnn("LSTM", (4, 3), hx=[(4, 5), (4, 5)], num_layers=2,
                              bidirectional=True),
    "gru_float64": _rnn("GRU", (4, 2, 3), f64=True, num_layers=2, bidirectional=True),
    "lstm_dropout_eval": lambda m: _mk(m, "nn.LSTM", 3, 5, num_layers=2, dropout=0.5).eval()(
        _x(m, 4, 2, 3))[0],
    "lstm_all_weights": lambda m: [[tuple(p.shape) for p in ws] for ws in _mk(
        m, "nn.LSTM", 3, 5, num_layers=2, proj_size=2, bidirectional=True).all_weights],
    "lstm_parameter_names": lambda m: [k for k, _ in _mk(
        m, "nn.LSTM", 3, 5, num_layers=2, proj_size=2, bidirectional=True).named_parameters()],
    "lstm_flatten_parameters": lambda m: _mk(m, "nn.LSTM", 3, 5).flatten_parameters(),
    "rnncell_relu_repr": lambda m: repr(_mk(m, "nn.RNNCell", 3, 5, nonlinearity="relu",
                                            bias=False)),
    # cells
    "lstmcell_hx_none": _cell("LSTMCell", (2, 3)),
    "grucell_unbatched_hx": _cell("GRUCell", (3,), hx=(5,)),
    "rnncell_relu_hx": _cell("RNNCell", (2, 3), hx=(2, 5), nonlinearity="relu"),
    # packing
    "packed_lstm_unsorted_hx": _packed("LSTM", False, bf=True, hx=True, tensor_lengths=True,
                                       num_layers=2, bidirectional=True),
    "packed_gru_sorted": _packed("GRU", True, num_layers=2, bidirectional=True),
    "packed_lstm_proj": _packed("LSTM", False, proj_size=2),
    "pack_float_lengths": lambda m: tuple(m.nn.utils.rnn.pack_padded_sequence(
        _x(m, 4, 3, 3), m.tensor([4., 2., 1.]))[:2]),
    "pad_sequence_sides": lambda m: (
        m.nn.utils.rnn.pad_sequence(_seqs(m), batch_first=True, padding_value=-1.),
        m.nn.utils.rnn.pad_sequence(_seqs(m), padding_side="left")),
    "unpack_sequence": lambda m: m.nn.utils.rnn.unpack_sequence(
        m.nn.utils.rnn.pack_sequence(_seqs(m), enforce_sorted=False)),
    "unpad_sequence": lambda m: m.nn.utils.rnn.unpad_sequence(
        m.nn.utils.rnn.pad_sequence(_seqs(m)), m.tensor([2, 4, 1])),
    # attention
    "mha_kdim_vdim_batch_first": _mha(kdim=3, vdim=6, batch_first=True),
    "mha_3d_float_mask_per_head": _mha(am=lambda m: _noise(m, 4, 3, 5), avg=False),
    "mha_bool_masks": _mha(am=lambda m: _upper(m, 3, 5), kpm=lambda m: m.tensor(
        [[False, False, True, True, True], [False] * 5])),
    "mha_float_kpm_no_bias": _mha(kpm=lambda m: _noise(m, 2, 5), bias=False, nw=False),
    "mha_unbatched_kpm": _mha(unbatched=True, kpm=lambda m: m.tensor(
        [False, True, False, False, True])),
    "mha_dropout_eval": lambda m: _mk(m, "nn.MultiheadAttention", 4, 2, dropout=0.5).eval()(
        _x(m, 3, 2, 4), _x(m, 5, 2, 4), _x(m, 5, 2, 4)),
    "sdpa_bool_mask_broadcast": _sdpa((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4),
                                      mask=lambda m: m.tensor(np.random.default_rng(0).random(
                                          (2, 1, 3, 5)) > 0.3)),
    "sdpa_causal_L_lt_S_scale": _sdpa((1, 3, 4), (1, 5, 4), (1, 5, 4), is_causal=True,
                                      scale=0.3),
    "sdpa_gqa": _sdpa((1, 4, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4), enable_gqa=True),
    # transformer
    "encoder_masks_norm_first_gelu": _encoder(nf=True, act="gelu", masks=True, norm=True),
    "encoder_callable_activation_batch_first": _encoder(bf=True, act=None),
    "encoder_causal_with_mask": _encoder(masks=True, causal=True),
    "transformer_all_masks_batch_first": _transformer(bf=True, masks=True),
    "transformer_norm_first_no_bias": _transformer(norm_first=True, bias=False),
    "square_subsequent_mask": lambda m: (
        m.nn.Transformer.generate_square_subsequent_mask(4),
        m.nn.Transformer.generate_square_subsequent_mask(3, dtype=m.float64)),
    "encoder_layer_copies_independent": _independent_copies,
}


def _cell_call(cls, x_shape, h_shape):
    def case(m):
        h = _x(m, *h_shape)
        return _mk(m, "nn." + cls, 3, 5)(_x(m, *x_shape), (h, h) if cls == "LSTMCell" else h)
    return case


def _mha_call(q=(3, 2, 4), k=(5, 2, 4), v=(5, 2, 4), f64=False, **kw):
    return lambda m: _mk(m, "nn.MultiheadAttention", 4, 2)(
        _x(m, *q, f64=f64), _x(m, *k, f64=f64), _x(m, *v, f64=f64), **kw)


# name -> f(module) that torch refuses: xpnn must raise torch's class (or a subclass of it)
RAISES = {
    # recurrent layers: shapes and dtypes (torch: RuntimeError; ValueError for the input's
    # dtype)
    "gru_h0_wrong_batch": lambda m: _mk(m, "nn.GRU", 3, 5)(_x(m, 4, 2, 3), _x(m, 1, 3, 5)),
    "rnn_h0_wrong_layers": lambda m: _mk(m, "nn.RNN", 3, 5, num_layers=2)(
        _x(m, 4, 2, 3), _x(m, 1, 2, 5)),
    "rnn_h0_3d_unbatched": lambda m: _mk(m, "nn.RNN", 3, 5)(_x(m, 4, 3), _x(m, 1, 1, 5)),
    "lstm_c0_wrong": lambda m: _mk(m, "nn.LSTM", 3, 5)(
        _x(m, 4, 2, 3), (_x(m, 1, 2, 5), _x(m, 1, 2, 4))),
    "lstm_proj_h0_wrong": lambda m: _mk(m, "nn.LSTM", 3, 5, proj_size=2)(
        _x(m, 4, 2, 3), (_x(m, 1, 2, 5), _x(m, 1, 2, 5))),
    "gru_input_feature_size": lambda m: _mk(m, "nn.GRU", 3, 5)(_x(m, 4, 2, 4)),
    "gru_input_4d": lambda m: _mk(m, "nn.GRU", 3, 5)(_x(m, 4, 2, 3, 1)),
    "lstm_empty_sequence": lambda m: _mk(m, "nn.LSTM", 3, 5)(_x(m, 0, 2, 3)),
    "lstm_input_float64": lambda m: _mk(m, "nn.LSTM", 3, 5)(_x(m, 4, 2, 3, f64=True)),
    "gru_h0_float64": lambda m: _mk(m, "nn.GRU", 3, 5)(_x(m, 4, 2, 3),
                                                       _x(m, 1, 2, 5, f64=True)),
    "lstm_hidden_size_float": lambda m: m.nn.LSTM(3, 5.0),
    "lstm_proj_not_below_hidden": lambda m: m.nn.LSTM(3, 5, proj_size=5),
    "gru_proj_size": lambda m: m.nn.GRU(3, 5, proj_size=2),
    "rnn_bad_nonlinearity": lambda m: m.nn.RNN(3, 5, nonlinearity="sigmoid"),
    # cells
    "rnncell_input_size": lambda m: _mk(m, "nn.RNNCell", 3, 5)(_x(m, 2, 4)),
    "lstmcell_h_batch": _cell_call("LSTMCell", (2, 3), (3, 5)),
    "grucell_h_unbatched_2d": _cell_call("GRUCell", (3,), (1, 5)),
    "grucell_h_size": _cell_call("GRUCell", (2, 3), (2, 4)),
    "grucell_input_float64": lambda m: _mk(m, "nn.GRUCell", 3, 5)(_x(m, 2, 3, f64=True)),
    # packing
    "pack_unsorted_enforce_sorted": lambda m: m.nn.utils.rnn.pack_padded_sequence(
        _x(m, 4, 3, 3), [2, 4, 1]),
    "pack_zero_length": lambda m: m.nn.utils.rnn.pack_padded_sequence(_x(m, 4, 3, 3),
                                                                      [4, 2, 0]),
    "pack_lengths_count": lambda m: m.nn.utils.rnn.pack_padded_sequence(_x(m, 4, 3, 3),
                                                                        [4, 2]),
    "pack_sequence_zero_length": lambda m: m.nn.utils.rnn.pack_sequence(
        [m.ones(2, 3), m.ones(0, 3)], enforce_sorted=False),
    "pad_sequence_empty": lambda m: m.nn.utils.rnn.pad_sequence([]),
    "pad_sequence_tail_mismatch": lambda m: m.nn.utils.rnn.pad_sequence(
        [m.ones(2, 3), m.ones(2, 4)]),
    "pad_sequence_bad_side": lambda m: m.nn.utils.rnn.pad_sequence(_seqs(m),
                                                                   padding_side="up"),
    "pad_packed_total_length_short": lambda m: m.nn.utils.rnn.pad_packed_sequence(
        m.nn.utils.rnn.pack_sequence(_seqs(m), enforce_sorted=False), total_length=2),
    # attention (torch checks most of MultiheadAttention's shapes with assert)
    "mha_embed_dim_not_divisible": lambda m: m.nn.MultiheadAttention(5, 2),
    "mha_query_size": _mha_call(q=(3, 2, 5)),
    "mha_key_value_lengths": _mha_call(v=(4, 2, 4)),
    "mha_key_batch": _mha_call(k=(5, 3, 4), v=(5, 3, 4)),
    "mha_rank_mix": _mha_call(k=(5, 4), v=(5, 4)),
    "mha_input_float64": _mha_call(q=(3, 2, 4), k=(3, 2, 4), v=(3, 2, 4), f64=True),
    "sdpa_dropout_p_above_1": lambda m: m.nn.functional.scaled_dot_product_attention(
        _x(m, 3, 4), _x(m, 5, 4), _x(m, 5, 4), dropout_p=1.5),
    "sdpa_mask_shape": lambda m: m.nn.functional.scaled_dot_product_attention(
        _x(m, 3, 4), _x(m, 5, 4), _x(m, 5, 4), attn_mask=m.ones(3, 4, dtype=m.bool)),
    # transformer
    "encoder_layer_bad_activation": lambda m: m.nn.TransformerEncoderLayer(
        4, 2, activation="tanh"),
    "encoder_layer_4d": lambda m: _mk(m, "nn.TransformerEncoderLayer", 4, 2, 8)(
        _x(m, 5, 2, 4, 1)),
    "transformer_batch_sizes": lambda m: _mk(m, "nn.Transformer", 4, 2, 1, 1, 8)(
        _x(m, 3, 2, 4), _x(m, 5, 3, 4)),
    "transformer_d_model": lambda m: _mk(m, "nn.Transformer", 4, 2, 1, 1, 8)(
        _x(m, 3, 2, 5), _x(m, 5, 2, 4)),
}

# MultiheadAttention given a bad mask (made with the module under test)
_MASKS = {"mha_key_padding_mask_shape": ("key_padding_mask", lambda m: m.zeros(2, 4,
                                                                                dtype=m.bool)),
          "mha_attn_mask_shape": ("attn_mask", lambda m: m.zeros(3, 4)),
          "mha_attn_mask_int": ("attn_mask", lambda m: m.zeros(3, 5, dtype=m.int64))}
for _name, (_arg, _make) in _MASKS.items():
    RAISES[_name] = (lambda arg, make: lambda m: _mk(m, "nn.MultiheadAttention", 4, 2)(
        _x(m, 3, 2, 4), _x(m, 5, 2, 4), _x(m, 5, 2, 4), **{arg: make(m)}))(_arg, _make)


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's notes on mask types, nested
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(backend, name):
    _same(CASES[name](xpnn), CASES[name](torch))


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(RAISES))
def test_raises_like_torch(backend, name):
    raises_like(RAISES[name])


def test_errors_keep_python_classes():
    """The errors now raised as torch's classes are still the ones xpnn raised before."""
    with pytest.raises(ValueError):  # a shape
        xpnn.nn.GRU(3, 5)(xpnn.zeros(4, 2, 3), xpnn.zeros(1, 3, 5))
    with pytest.raises(TypeError):  # a dtype
        xpnn.nn.LSTM(3, 5)(xpnn.zeros(4, 2, 3, dtype=xpnn.float64))
    with pytest.raises(ValueError):
        xpnn.nn.MultiheadAttention(5, 2)
    with pytest.raises(ValueError):  # a size that is not an int (torch: TypeError)
        xpnn.nn.LSTM(3, 5.0)
    with pytest.raises(ValueError):
        xpnn.nn.utils.rnn.pad_sequence([])


def test_rnn_dropout_train_is_applied(backend):
    """Dropout between layers acts in training only (values differ from torch's draws)."""
    mod = xpnn.nn.LSTM(3, 5, num_layers=2, dropout=0.5)
    x = xpnn.randn(4, 2, 3)
    mod.eval()
    a = mod(x)[0]
    mod.train()
    b = mod(x)[0]
    assert tuple(b.shape) == (4, 2, 5) and str(b.dtype).endswith("float32")
    assert not np.allclose(a.numpy(), b.numpy())
