"""Attention: scaled_dot_product_attention, MultiheadAttention, TransformerEncoder(Layer) and
positional encodings against PyTorch (float64, same weights, with masks), float64 gradient
checks of the fused op, cross-backend parity in float32, and bad input."""
import math

import numpy as np
import pytest
from conftest import needs_torch, optional_torch, to_np

import xpnn
import xpnn.functional as F
from xpnn import nn
from xpnn.nn import LayerNorm

torch, TF = optional_torch()  # None without PyTorch: its comparisons skip

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)
TWIN_TOL = 1e3 * EPS64  # float64 vs torch: the same sums in other orders
PARITY_TOL = 200 * EPS32  # float32 on a backend vs NumPy float32, through a few layers


def _x(a, backend="numpy", grad=True):
    return xpnn.tensor(a, backend=backend, dtype="float64", requires_grad=grad)


def _t(a, grad=True):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _close(ours, theirs, tol=TWIN_TOL):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    assert tuple(np.shape(to_np(ours))) == tuple(theirs.shape)
    np.testing.assert_allclose(to_np(ours), theirs, atol=tol, rtol=0)


# -- scaled_dot_product_attention ------------------------------------------------------------
L, S, E = 4, 6, 5
TRIL = np.tril(np.ones((L, S), dtype=bool))
MASKS = {
    "none": (None, False),
    "bool": ((np.arange(L * S).reshape(L, S) % 3) != 1, False),
    "float": (np.linspace(-2, 1, 2 * L * S).reshape(2, 1, L, S), False),
    "causal": (None, True),
    "bool+causal": ((np.arange(L * S).reshape(L, S) % 4) != 2, True),
}


@needs_torch
@pytest.mark.parametrize("mask_name", list(MASKS))
def test_sdpa_matches_torch(backend, mask_name, rng):
    mask, causal = MASKS[mask_name]
    q, k, v = (rng.standard_normal(s) for s in ((2, 3, L, E), (2, 3, S, E), (1, 3, S, 7)))
    xs, ts = [_x(a, backend) for a in (q, k, v)], [_t(a) for a in (q, k, v)]
    float_mask = mask is not None and mask.dtype != bool
    xm = None if mask is None else (_x(mask, backend) if float_mask else
                                    xpnn.tensor(mask, backend=backend))
    tm = None if mask is None else (_t(mask) if float_mask else torch.tensor(mask))
    if causal and tm is not None:  # torch takes is_causal or a mask, not both
        tm, t_causal = tm & torch.tensor(TRIL), False
    else:
        t_causal = causal
    out = F.scaled_dot_product_attention(*xs, attn_mask=xm, is_causal=causal)
    t_out = TF.scaled_dot_product_attention(*ts, attn_mask=tm, is_causal=t_causal)
    _close(out, t_out)
    dO = rng.standard_normal(out.shape)
    out.backward(xpnn.tensor(dO, backend=backend, dtype="float64"))
    t_out.backward(torch.tensor(dO))
    for a, b in zip(xs + ([xm] if float_mask else []), ts + ([tm] if float_mask else [])):
        _close(a.grad, b.grad)


def test_sdpa_fully_masked_row_gives_zeros(backend, rng):
    q, k, v = (_x(rng.standard_normal(s), backend) for s in ((L, E), (S, E), (S, E)))
    mask = np.ones((L, S), dtype=bool)
    mask[2] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=xpnn.tensor(mask, backend=backend))
    assert np.all(to_np(out)[2] == 0) and np.all(np.isfinite(to_np(out)))
    out.sum().backward()
    assert all(np.all(np.isfinite(to_np(t.grad))) for t in (q, k, v))


@pytest.mark.parametrize("variant", ["float-mask-grad", "bool+causal+weights", "dropout"])
def test_sdpa_gradcheck(host_backend, variant, rng):
    backend = host_backend
    q, k, v = (_x(rng.standard_normal(s), backend) for s in ((2, 3, 2), (2, 4, 2), (2, 4, 3)))
    if variant == "float-mask-grad":
        m = _x(rng.standard_normal((3, 4)), backend)
        fn = lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)  # noqa
        assert xpnn.gradcheck(fn, q, k, v, m)
    elif variant == "bool+causal+weights":
        m = xpnn.tensor(np.array([[1, 0, 1, 1]] * 3, dtype=bool), backend=backend)

        def fn(q, k, v):
            return F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=True,
                                                  scale=0.7, need_weights=True)
        assert xpnn.gradcheck(fn, q, k, v)
    else:
        def fn(q, k, v):
            xpnn.manual_seed(5)  # the same dropout mask on every evaluation
            return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
        assert xpnn.gradcheck(fn, q, k, v)


# -- MultiheadAttention ---------------------------------------------------------------------
def _load_twin(ours, theirs):
    sd = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(sd), "PyTorch's names, in PyTorch's order"
    ours.load_state_dict(sd)


def _grads_match(ours, theirs):
    for (n1, p1), (n2, p2) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n1 == n2
        _close(p1.grad, p2.grad)


MHA_CASES = {
    "self,bool-masks": dict(batch_first=True, self_attn=True, bool_masks=True),
    "self,float-masks,seq-first": dict(batch_first=False, self_attn=True, bool_masks=False),
    "cross,kdim-vdim,per-head": dict(batch_first=True, self_attn=False, bool_masks=True,
                                     kdim=3, vdim=6, average=False),
}


@needs_torch
@pytest.mark.parametrize("case", list(MHA_CASES))
def test_mha_matches_torch(case, rng):
    c = MHA_CASES[case]
    Em, h, N, Lq, Sk = 8, 2, 3, 4, 5
    kd, vd = c.get("kdim", Em), c.get("vdim", Em)
    ours = nn.MultiheadAttention(Em, h, batch_first=c["batch_first"], kdim=kd, vdim=vd,
                                 dtype="float64")
    theirs = torch.nn.MultiheadAttention(Em, h, batch_first=c["batch_first"], kdim=kd,
                                         vdim=vd, dtype=torch.float64)
    _load_twin(ours, theirs)
    Sk = Lq if c["self_attn"] else Sk

    def shape(n, d):
        return (N, n, d) if c["batch_first"] else (n, N, d)
    q = rng.standard_normal(shape(Lq, Em))
    kv = [q, q] if c["self_attn"] else [rng.standard_normal(shape(Sk, kd)),
                                          rng.standard_normal(shape(Sk, vd))]
    xq, tq = _x(q), _t(q)
    xk, xv = (xq, xq) if c["self_attn"] else (_x(kv[0]), _x(kv[1]))
    tk, tv = (tq, tq) if c["self_attn"] else (_t(kv[0]), _t(kv[1]))
    pad = rng.random((N, Sk)) < 0.3
    pad[:, 0] = False
    blocked = ~np.tril(np.ones((Lq, Sk), dtype=bool))
    if c["bool_masks"]:
        xm = dict(key_padding_mask=xpnn.tensor(pad), attn_mask=xpnn.tensor(blocked))
        tm = dict(key_padding_mask=torch.tensor(pad), attn_mask=torch.tensor(blocked))
    else:
        fpad, fmask = np.where(pad, -np.inf, 0.0), rng.standard_normal((Lq, Sk))
        xm = dict(key_padding_mask=_x(fpad, grad=False), attn_mask=_x(fmask, grad=False))
        tm = dict(key_padding_mask=_t(fpad, False), attn_mask=_t(fmask, False))
    avg = c.get("average", True)
    out, w = ours(xq, xk, xv, average_attn_weights=avg, **xm)
    t_out, t_w = theirs(tq, tk, tv, average_attn_weights=avg, **tm)
    _close(out, t_out)
    _close(w, t_w)
    dO, dW = rng.standard_normal(out.shape), rng.standard_normal(w.shape)
    ((out * _x(dO, grad=False)).sum() + (w * _x(dW, grad=False)).sum()).backward()
    ((t_out * torch.tensor(dO)).sum() + (t_w * torch.tensor(dW)).sum()).backward()
    _grads_match(ours, theirs)
    for a, b in [(xq, tq)] + ([] if c["self_attn"] else [(xk, tk), (xv, tv)]):
        _close(a.grad, b.grad)


@needs_torch
def test_mha_unbatched_and_no_weights(rng):
    ours = nn.MultiheadAttention(6, 3, dtype="float64")
    theirs = torch.nn.MultiheadAttention(6, 3, dtype=torch.float64)
    _load_twin(ours, theirs)
    q = rng.standard_normal((4, 6))
    out, w = ours(_x(q), _x(q), _x(q), need_weights=False)
    assert w is None
    _close(out, theirs(_t(q), _t(q), _t(q), need_weights=False)[0])


# -- Transformer encoder --------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("norm_first, activation", [(False, "relu"), (True, "gelu")])
def test_transformer_encoder_matches_torch(norm_first, activation, rng):
    Em, h, Sq, N = 8, 2, 5, 3
    kw = dict(dim_feedforward=16, dropout=0.0, activation=activation, norm_first=norm_first,
              batch_first=True)
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(Em, h, dtype="float64", **kw), 2,
                                 norm=LayerNorm(Em, dtype="float64"))
    theirs = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(Em, h, dtype=torch.float64, **kw), 2,
        norm=torch.nn.LayerNorm(Em, dtype=torch.float64), enable_nested_tensor=False)
    _load_twin(ours, theirs)
    x = rng.standard_normal((N, Sq, Em))
    pad = rng.random((N, Sq)) < 0.3
    pad[:, 0] = False
    causal = np.triu(np.ones((Sq, Sq), dtype=bool), 1)  # True = may not attend (MHA's rule)
    xx, tx = _x(x), _t(x)
    out = ours(xx, mask=xpnn.tensor(causal), src_key_padding_mask=xpnn.tensor(pad))
    t_out = theirs(tx, mask=torch.tensor(causal), src_key_padding_mask=torch.tensor(pad))
    _close(out, t_out)
    dO = rng.standard_normal(out.shape)
    out.backward(_x(dO, grad=False))
    t_out.backward(torch.tensor(dO))
    _close(xx.grad, tx.grad)
    _grads_match(ours, theirs)


def test_encoder_layers_start_as_copies():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 3)
    sds = [layer.state_dict() for layer in enc.layers]
    for key in sds[0]:
        np.testing.assert_array_equal(to_np(sds[1][key]), to_np(sds[0][key]))
    assert next(iter(enc.state_dict())) == "layers.0.self_attn.in_proj_weight"


# -- cross-backend parity -------------------------------------------------------------------
def _model_run(be, x, pad, model_fn):
    xpnn.manual_seed(11)
    model = model_fn(be)
    inp = xpnn.tensor(x, backend=be, requires_grad=True)
    out = model(inp, src_key_padding_mask=xpnn.tensor(pad, backend=be), is_causal=True)
    assert out.backend == be and out.dtype == inp.dtype
    (out * out).sum().backward()
    return [to_np(out), to_np(inp.grad)] + [to_np(p.grad) for p in model.parameters()]


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_cross_backend(backend, norm_first, rng):
    x = rng.standard_normal((2, 5, 8)).astype(np.float32)
    pad = np.array([[False] * 5, [False, False, False, True, True]])

    def make(be):
        return nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                          norm_first=norm_first, activation="gelu",
                                          backend=be)
    ref, ours = _model_run("numpy", x, pad, make), _model_run(backend, x, pad, make)
    for a, b in zip(ref, ours):
        np.testing.assert_allclose(b, a, atol=PARITY_TOL, rtol=PARITY_TOL)


def test_mha_cross_attention_cross_backend(backend, rng):
    """Cross-attention (the in_proj_weight row-slicing path) with both masks, float32."""
    q = rng.standard_normal((2, 3, 8)).astype(np.float32)
    kv = rng.standard_normal((2, 5, 8)).astype(np.float32)
    pad = np.array([[False] * 5, [False, False, True, False, True]])
    blocked = np.triu(np.ones((3, 5), dtype=bool), 2)
    results = []
    for be in ("numpy", backend):
        xpnn.manual_seed(4)
        mha = nn.MultiheadAttention(8, 2, batch_first=True, backend=be)
        xq, xkv = (xpnn.tensor(a, backend=be, requires_grad=True) for a in (q, kv))
        out, w = mha(xq, xkv, xkv, key_padding_mask=xpnn.tensor(pad, backend=be),
                     attn_mask=xpnn.tensor(blocked, backend=be), average_attn_weights=False)
        assert w.shape == (2, 2, 3, 5) and out.dtype == xq.dtype
        ((out * out).sum() + (w * w).sum()).backward()
        results.append([to_np(out), to_np(w), to_np(xq.grad), to_np(xkv.grad)] +
                       [to_np(p.grad) for p in mha.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, atol=PARITY_TOL, rtol=PARITY_TOL)


# -- positional encodings -------------------------------------------------------------------
def test_sinusoidal_positional_encoding(backend):
    pe = nn.SinusoidalPositionalEncoding(6, max_len=10, batch_first=True, backend=backend)
    out = to_np(pe(xpnn.tensor(np.zeros((2, 4, 6), np.float32), backend=backend)))
    t, i = 3, 2  # PE(t, 2i) = sin(t / 10000^(2i/d)), PE(t, 2i+1) = cos(...)
    np.testing.assert_allclose(out[1, t, 2 * i], math.sin(t / 10000 ** (2 * i / 6)),
                               atol=8 * EPS32)
    np.testing.assert_allclose(out[0, t, 2 * i + 1], math.cos(t / 10000 ** (2 * i / 6)),
                               atol=8 * EPS32)
    assert "pe" not in pe.state_dict()


def test_learned_positional_encoding_gradient(backend):
    pe = nn.LearnedPositionalEncoding(4, max_len=6, backend=backend)
    x = xpnn.tensor(np.ones((3, 2, 4), np.float32), backend=backend)  # (T, N, E)
    pe(x).sum().backward()
    g = to_np(pe.weight.grad)
    np.testing.assert_array_equal(g[:3], np.full((3, 4), 2.0))  # two batch rows per step
    np.testing.assert_array_equal(g[3:], 0.0)


# -- bad input ------------------------------------------------------------------------------
def test_bad_attention_input(rng):
    with pytest.raises(ValueError, match=r"embed_dim \(10\).*num_heads \(3\)"):
        nn.MultiheadAttention(10, 3)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    q = xpnn.tensor(rng.standard_normal((2, 4, 8)).astype(np.float32))
    with pytest.raises(ValueError, match=r"MultiheadAttention.*3-D.*2-D.*xpnn.Size\(\[2, 4, 8, 1\]\)"):
        mha(F.unsqueeze(q, 3), q, q)
    with pytest.raises(ValueError, match=r"key_padding_mask.*\(2, 3\).*\(2, 4\)"):
        mha(q, q, q, key_padding_mask=np.zeros((2, 3), dtype=bool))
    with pytest.raises(ValueError, match=r"attn_mask.*\(4, 5\).*\(4, 4\)"):
        mha(q, q, q, attn_mask=np.zeros((4, 5), dtype=bool))
    with pytest.raises(TypeError, match=r"attn_mask.*bool.*int64"):
        mha(q, q, q, attn_mask=np.zeros((4, 4), dtype=np.int64))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention.*\(3, 3\).*\(2, 4, 4\)"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.zeros((3, 3), dtype=bool))
    with pytest.raises(TypeError, match=r"scaled_dot_product_attention.*float64"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"SinusoidalPositionalEncoding.*xpnn.Size\(\[9, 2, 8\]\)"):
        nn.SinusoidalPositionalEncoding(8, max_len=5)(np.zeros((9, 2, 8), np.float32))
