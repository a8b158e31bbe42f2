"""The torch.nn / torch.nn.functional / torch.optim names that xpnn lacked: in-place
activation functions, the ``*_with_indices`` pools, the deprecated ``upsample*``,
``multi_head_attention_forward``, fractional max pooling, ``nn.Buffer``, ``RNNBase`` /
``RNNCellBase``, ``NLLLoss2d``, ``CrossMapLRN2d``, ``Container``, and the Adafactor and Muon
optimizers; each against torch (forward and gradients, or parameter trajectories) on every
backend, and the differentiable ones by a float64 gradient check."""
import numpy as np
import pytest

import xpnn
import xpnn.functional as F
from conftest import to_np
from xpnn import nn, optim

torch = pytest.importorskip("torch")
TF = torch.nn.functional

EPS32 = float(np.finfo(np.float32).eps)
TOL32 = 100 * EPS32  # float32 results against torch's float32 (a few dozen roundings)


def _close(x, t, tol=TOL32):
    np.testing.assert_allclose(to_np(x), t.detach().numpy(), rtol=tol, atol=tol)


def _pair(rng, shape):
    X = rng.standard_normal(shape).astype(np.float32)
    return X, xpnn.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)


# -- in-place activations ------------------------------------------------------------------

INPLACE = [("relu_", ()), ("elu_", (0.7,)), ("leaky_relu_", (0.2,)), ("hardtanh_", (-0.5, 0.8)),
           ("selu_", ()), ("celu_", (1.3,)), ("threshold_", (0.1, -2.0)),
           ("rrelu_", (0.1, 0.3, False))]


@pytest.mark.parametrize("name,args", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_activation_matches_torch(name, args, backend, rng):
    X, x, t = _pair(rng, (3, 5))
    y, u = x * 1.0, t * 1.0  # non-leaf: in place is allowed and recorded
    out = getattr(F, name)(y, *args)
    tout = getattr(TF, name)(u, *args)
    assert out is y
    _close(y, u)
    G = rng.standard_normal((3, 5)).astype(np.float32)
    (y * xpnn.tensor(G)).sum().backward()
    (u * torch.tensor(G)).sum().backward()
    _close(x.grad, t.grad)
    assert out.dtype == x.dtype and tuple(out.shape) == (3, 5)


@pytest.mark.parametrize("name,args", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_activation_refuses_leaf_requiring_grad(name, args, backend, rng):
    _, x, _ = _pair(rng, (4,))
    with pytest.raises(RuntimeError):
        getattr(F, name)(x, *args)


def test_rrelu_inplace_training_draws_slopes_in_range(backend, rng):
    X = rng.standard_normal((200,)).astype(np.float32)
    y = xpnn.tensor(X)
    F.rrelu_(y, 0.1, 0.3, True)
    ratio = to_np(y)[X < 0] / X[X < 0]
    assert np.all((ratio >= 0.1 - 1e-6) & (ratio <= 0.3 + 1e-6))
    np.testing.assert_array_equal(to_np(y)[X >= 0], X[X >= 0])


# -- pools that always return indices --------------------------------------------------------

WITH_INDICES = [
    ("max_pool1d_with_indices", (2, 3, 9), (3,), dict(stride=2, padding=1)),
    ("max_pool2d_with_indices", (2, 3, 7, 6), (2,), dict(ceil_mode=True)),
    ("max_pool3d_with_indices", (1, 2, 5, 6, 4), ((2, 3, 2),), {}),
    ("adaptive_max_pool1d_with_indices", (2, 3, 9), (4,), {}),
    ("adaptive_max_pool2d_with_indices", (2, 3, 7, 6), ((3, 4),), {}),
    ("adaptive_max_pool3d_with_indices", (1, 2, 5, 6, 4), ((2, 3, 3),), {}),
]


@pytest.mark.parametrize("name,shape,args,kw", WITH_INDICES, ids=[c[0] for c in WITH_INDICES])
def test_with_indices_match_torch(name, shape, args, kw, backend, rng):
    X, x, t = _pair(rng, shape)
    y, i = getattr(F, name)(x, *args, **kw)
    ty, ti = getattr(TF, name)(t, *args, **kw)
    _close(y, ty)
    np.testing.assert_array_equal(to_np(i), ti.numpy())
    assert str(i.dtype).endswith("int64")
    G = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    (y * xpnn.tensor(G)).sum().backward()
    (ty * torch.tensor(G)).sum().backward()
    _close(x.grad, t.grad)


@pytest.mark.parametrize("name,shape,args,kw", WITH_INDICES, ids=[c[0] for c in WITH_INDICES])
def test_with_indices_gradcheck(name, shape, args, kw, host_backend, rng):
    x = xpnn.tensor(rng.standard_normal(shape), dtype="float64", requires_grad=True)
    assert xpnn.gradcheck(lambda v: getattr(F, name)(v, *args, **kw)[0], x)


# -- deprecated upsample spellings -----------------------------------------------------------

UPSAMPLE = [("upsample", dict(scale_factor=2)),
            ("upsample", dict(size=(5, 7), mode="bilinear", align_corners=False)),
            ("upsample_nearest", dict(size=(5, 9))),
            ("upsample_bilinear", dict(scale_factor=2)),
            ("upsample_bilinear", dict(size=(6, 5)))]


@pytest.mark.parametrize("name,kw", UPSAMPLE, ids=[f"{n}-{i}" for i, (n, _) in
                                                   enumerate(UPSAMPLE)])
def test_upsample_warns_and_matches_torch(name, kw, backend, rng):
    X, x, t = _pair(rng, (2, 3, 4, 3))
    with pytest.warns(UserWarning, match="deprecated"):
        y = getattr(F, name)(x, **kw)
    with pytest.warns(UserWarning):
        ty = getattr(TF, name)(t, **kw)
    _close(y, ty)
    G = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    (y * xpnn.tensor(G)).sum().backward()
    (ty * torch.tensor(G)).sum().backward()
    _close(x.grad, t.grad)


# -- multi_head_attention_forward ------------------------------------------------------------

L, S, N, E, H = 4, 5, 2, 8, 2
MHA_CASES = {
    "plain": {}, "self": dict(self_attn=True), "bool_mask": dict(mask="bool"),
    "float_masks": dict(mask="float3", kpm="float"), "kpm_bool": dict(kpm="bool"),
    "bias_kv": dict(bias_kv=True, mask="bool", kpm="bool"),
    "zero_attn": dict(zero=True, kpm="bool"), "separate": dict(separate=True),
    "per_head": dict(avg=False, bias_kv=True, zero=True), "static_kv": dict(static=True),
    "no_bias": dict(no_bias=True), "unbatched": dict(unbatched=True, mask="bool"),
}


def _mha_inputs(rng, cfg, dtype=np.float32):
    def r(*s):
        return rng.standard_normal(s).astype(dtype)
    d = dict(q=r(L, N, E), k=r(S, N, E), v=r(S, N, E), w=r(3 * E, E), b=r(3 * E),
             bk=r(1, 1, E), bv=r(1, 1, E), ow=r(E, E), ob=r(E), qw=r(E, E), kw=r(E, E),
             vw=r(E, E), sk=r(N * H, S, E // H), sv=r(N * H, S, E // H))
    if cfg.get("unbatched"):
        d.update(q=d["q"][:, 0], k=d["k"][:, 0], v=d["v"][:, 0])
    d["am"] = rng.random((L, S)) < 0.3
    d["am3"] = r(N * H, L, S)
    d["kpm"] = np.array([[0, 0, 1, 0, 0], [1, 0, 0, 0, 1]], bool)
    d["kpmf"] = r(N, S)
    return d


def _mha_call(lib, T, cfg):
    kw = dict(training=False, average_attn_weights=cfg.get("avg", True))
    if cfg.get("mask") == "bool":
        kw["attn_mask"] = T["am"]
    elif cfg.get("mask") == "float3":
        kw["attn_mask"] = T["am3"]
    if cfg.get("kpm") == "bool":
        kw["key_padding_mask"] = T["kpm"]
    elif cfg.get("kpm") == "float":
        kw["key_padding_mask"] = T["kpmf"]
    if cfg.get("separate"):
        kw.update(use_separate_proj_weight=True, q_proj_weight=T["qw"], k_proj_weight=T["kw"],
                  v_proj_weight=T["vw"])
    if cfg.get("static"):
        kw.update(static_k=T["sk"], static_v=T["sv"])
    bk, bv = (T["bk"], T["bv"]) if cfg.get("bias_kv") else (None, None)
    q = T["q"]
    k, v = (q, q) if cfg.get("self_attn") else (T["k"], T["v"])
    b, ob = (None, None) if cfg.get("no_bias") else (T["b"], T["ob"])
    fn = TF.multi_head_attention_forward if lib is torch else F.multi_head_attention_forward
    return fn(q, k, v, E, H, T["w"], b, bk, bv, cfg.get("zero", False), 0.0, T["ow"], ob, **kw)


@pytest.mark.parametrize("case", list(MHA_CASES), ids=list(MHA_CASES))
def test_multi_head_attention_forward_matches_torch(case, backend, rng):
    cfg = MHA_CASES[case]
    data = _mha_inputs(rng, cfg)
    grads = ("q", "w", "ow", "bk", "k")
    X = {n: xpnn.tensor(a, requires_grad=n in grads) for n, a in data.items()}
    T = {n: torch.tensor(a, requires_grad=n in grads) for n, a in data.items()}
    out, w = _mha_call(xpnn, X, cfg)
    tout, tw = _mha_call(torch, T, cfg)
    tol = 1e4 * EPS32  # softmax over a few products of width 8
    _close(out, tout, tol)
    _close(w, tw, tol)
    G = rng.standard_normal(tuple(tout.shape)).astype(np.float32)
    ((out * xpnn.tensor(G)).sum() + w.sum()).backward()
    ((tout * torch.tensor(G)).sum() + tw.sum()).backward()
    for n in grads:
        if T[n].grad is not None:
            _close(X[n].grad, T[n].grad, tol)


def test_multi_head_attention_forward_gradcheck(host_backend, rng):
    cfg = dict(bias_kv=True, zero=True, kpm="bool")
    data = _mha_inputs(rng, cfg, np.float64)
    X = {n: xpnn.tensor(a, dtype="float64" if a.dtype != bool else None)
         for n, a in data.items()}

    def fn(q, w, bk):
        T = dict(X, q=q, w=w, bk=bk)
        out, weights = _mha_call(xpnn, T, cfg)
        return out, weights
    args = [xpnn.tensor(data[n], dtype="float64", requires_grad=True) for n in ("q", "w", "bk")]
    assert xpnn.gradcheck(fn, *args)


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_module_equals_functional(batch_first, backend, rng):
    m = nn.MultiheadAttention(E, H, batch_first=batch_first)
    data = _mha_inputs(rng, {})
    q, k, v = (xpnn.tensor(data[n]) for n in "qkv")
    kpm, am = xpnn.tensor(data["kpm"]), xpnn.tensor(data["am"])
    if batch_first:
        out, w = m(*(F.transpose(t, 0, 1) for t in (q, k, v)), key_padding_mask=kpm,
                   attn_mask=am)
        out = F.transpose(out, 0, 1)
    else:
        out, w = m(q, k, v, key_padding_mask=kpm, attn_mask=am)
    fout, fw = F.multi_head_attention_forward(
        q, k, v, E, H, m.in_proj_weight, m.in_proj_bias, None, None, False, 0.0,
        m.out_proj.weight, m.out_proj.bias, training=False, key_padding_mask=kpm,
        attn_mask=am)
    np.testing.assert_allclose(to_np(out), to_np(fout), rtol=TOL32, atol=TOL32)
    np.testing.assert_allclose(to_np(w), to_np(fw), rtol=TOL32, atol=TOL32)


def test_multi_head_attention_forward_no_weights_and_dropout(backend, rng):
    data = _mha_inputs(rng, {})
    X = {n: xpnn.tensor(a) for n, a in data.items()}
    args = (X["q"], X["k"], X["v"], E, H, X["w"], X["b"], None, None, False)
    out, w = F.multi_head_attention_forward(*args, 0.5, X["ow"], X["ob"], training=False,
                                            need_weights=False)
    ref, _ = F.multi_head_attention_forward(*args, 0.0, X["ow"], X["ob"])
    assert w is None
    np.testing.assert_allclose(to_np(out), to_np(ref), rtol=TOL32, atol=TOL32)
    drop, _ = F.multi_head_attention_forward(*args, 0.5, X["ow"], X["ob"], training=True)
    assert tuple(drop.shape) == (L, N, E) and not np.allclose(to_np(drop), to_np(ref))


def test_multi_head_attention_forward_bad_input(backend, rng):
    data = _mha_inputs(rng, {})
    X = {n: xpnn.tensor(a) for n, a in data.items()}
    with pytest.raises(AssertionError, match="embed"):
        F.multi_head_attention_forward(X["q"], X["k"], X["v"], E + 1, H, X["w"], X["b"], None,
                                       None, False, 0.0, X["ow"], X["ob"])
    with pytest.raises(RuntimeError, match="is_causal"):
        F.multi_head_attention_forward(X["q"], X["k"], X["v"], E, H, X["w"], X["b"], None,
                                       None, False, 0.0, X["ow"], X["ob"], is_causal=True)


# -- fractional max pooling ------------------------------------------------------------------

FRACTIONAL = [
    (2, (2, 3, 9, 11), (2, 3), dict(output_size=(4, 5))),
    (2, (2, 3, 9, 11), 3, dict(output_size=(7, 9))),
    (2, (2, 3, 9, 11), 2, dict(output_ratio=(0.5, 0.7))),
    (2, (3, 8, 7), 2, dict(output_size=4)),
    (2, (1, 2, 6, 6), 2, dict(output_size=1)),
    (3, (2, 3, 9, 11, 8), (2, 3, 2), dict(output_size=(4, 5, 3))),
    (3, (3, 7, 8, 9), 2, dict(output_ratio=0.5)),
]
FRAC_IDS = [f"{nd}d-{i}" for i, (nd, *_) in enumerate(FRACTIONAL)]


def _samples(rng, nd, shape):
    n = shape[0] if len(shape) == nd + 2 else 1
    return rng.random((n, shape[-nd - 1], nd)).astype(np.float32)


@pytest.mark.parametrize("nd,shape,k,kw", FRACTIONAL, ids=FRAC_IDS)
def test_fractional_max_pool_matches_torch(nd, shape, k, kw, backend, rng):
    X, x, t = _pair(rng, shape)
    U = _samples(rng, nd, shape)
    fn = f"fractional_max_pool{nd}d"
    y, i = getattr(F, fn)(x, k, return_indices=True, _random_samples=xpnn.tensor(U), **kw)
    ty, ti = getattr(TF, fn)(t, k, return_indices=True, _random_samples=torch.tensor(U), **kw)
    np.testing.assert_array_equal(to_np(y), ty.detach().numpy())  # the same picks: exact
    np.testing.assert_array_equal(to_np(i), ti.numpy())
    G = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    (y * xpnn.tensor(G)).sum().backward()
    (ty * torch.tensor(G)).sum().backward()
    _close(x.grad, t.grad)
    y2, i2 = getattr(F, fn + "_with_indices")(x, k, _random_samples=xpnn.tensor(U), **kw)
    np.testing.assert_array_equal(to_np(i2), ti.numpy())


@pytest.mark.parametrize("nd,shape,k,kw", FRACTIONAL, ids=FRAC_IDS)
def test_fractional_max_pool_gradcheck(nd, shape, k, kw, host_backend, rng):
    U = xpnn.tensor(_samples(rng, nd, shape), dtype="float64")
    x = xpnn.tensor(rng.standard_normal(shape), dtype="float64", requires_grad=True)
    fn = getattr(F, f"fractional_max_pool{nd}d")
    assert xpnn.gradcheck(lambda v: fn(v, k, _random_samples=U, **kw), x)


def test_fractional_max_pool_random_samples_drawn(backend, rng):
    X = rng.standard_normal((2, 3, 10, 10)).astype(np.float32)
    y, i = F.fractional_max_pool2d(xpnn.tensor(X), 2, output_size=(5, 6), return_indices=True)
    assert tuple(y.shape) == (2, 3, 5, 6) and str(y.dtype).endswith("float32")
    flat = X.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, to_np(i).reshape(2, 3, -1), 2),
                                  to_np(y).reshape(2, 3, -1))


def test_fractional_max_pool_modules(backend, rng):
    X = rng.standard_normal((2, 3, 9, 10)).astype(np.float32)
    U = _samples(rng, 2, X.shape)
    m = nn.FractionalMaxPool2d(3, output_ratio=0.5, return_indices=True,
                               _random_samples=xpnn.tensor(U))
    tm = torch.nn.FractionalMaxPool2d(3, output_ratio=0.5, return_indices=True,
                                      _random_samples=torch.tensor(U))
    (y, i), (ty, ti) = m(xpnn.tensor(X)), tm(torch.tensor(X))
    np.testing.assert_array_equal(to_np(y), ty.numpy())
    np.testing.assert_array_equal(to_np(i), ti.numpy())
    X3 = rng.standard_normal((1, 2, 6, 7, 8)).astype(np.float32)
    y3 = nn.FractionalMaxPool3d(2, output_size=(3, 4, 5))(xpnn.tensor(X3))
    assert tuple(y3.shape) == (1, 2, 3, 4, 5)
    for bad in (dict(), dict(output_size=3, output_ratio=0.5), dict(output_ratio=1.5)):
        with pytest.raises(ValueError):
            nn.FractionalMaxPool2d(2, **bad)
        with pytest.raises(ValueError):
            torch.nn.FractionalMaxPool2d(2, **bad)
    with pytest.raises(ValueError, match="fractional_max_pool2d"):
        F.fractional_max_pool2d(xpnn.tensor(X), 4, output_size=8)
    with pytest.raises(ValueError, match="_random_samples"):
        F.fractional_max_pool2d(xpnn.tensor(X), 2, output_size=4,
                                _random_samples=xpnn.tensor(U[:1]))


# -- torch.nn: Buffer, RNNBase, NLLLoss2d, CrossMapLRN2d, Container ------------------------


def test_buffer_registers_on_assignment(backend):
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.kept = nn.Buffer(xpnn.ones(3))
            self.scratch = nn.Buffer(xpnn.zeros(2), persistent=False)
            self.w = nn.Parameter(xpnn.ones(2))

    m = M()
    assert list(m.state_dict()) == ["w", "kept"]
    assert [n for n, _ in m.named_buffers()] == ["kept", "scratch"]
    assert isinstance(m.kept, nn.Buffer) and isinstance(m.kept, xpnn.Tensor)
    assert not m.kept.requires_grad
    assert nn.Buffer().shape == (0,) and str(nn.Buffer().dtype).endswith("float32")
    m.kept = xpnn.full((3,), 2.0)  # a plain tensor assigned later stays the buffer
    np.testing.assert_array_equal(to_np(m.state_dict()["kept"]), [2.0, 2.0, 2.0])
    assert str(m.double().kept.dtype).endswith("float64")


def test_rnn_bases(backend):
    assert isinstance(nn.LSTM(3, 4), nn.RNNBase) and isinstance(nn.GRU(3, 4), nn.RNNBase)
    assert isinstance(nn.RNN(3, 4), nn.RNNBase)
    for cell in (nn.RNNCell(3, 4), nn.LSTMCell(3, 4), nn.GRUCell(3, 4)):
        assert isinstance(cell, nn.RNNCellBase)
    r, tr = nn.RNNBase("GRU", 3, 4, 2, bidirectional=True), torch.nn.RNNBase("GRU", 3, 4, 2,
                                                                               bidirectional=True)
    assert {n: tuple(p.shape) for n, p in r.named_parameters()} == \
        {n: tuple(p.shape) for n, p in tr.named_parameters()}


def test_nllloss2d_is_nllloss(backend, rng):
    X = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    Y = rng.integers(0, 4, (2, 3, 3))
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        m = nn.NLLLoss2d(ignore_index=1)
    with pytest.warns(FutureWarning):
        tm = torch.nn.NLLLoss2d(ignore_index=1)
    _close(m(xpnn.tensor(X), xpnn.tensor(Y)), tm(torch.tensor(X), torch.tensor(Y)))
    assert isinstance(m, nn.NLLLoss)


def test_container_warns(backend):
    with pytest.warns(FutureWarning, match="deprecated"):
        c = nn.Container(a=nn.Linear(2, 3), b=nn.ReLU())
    assert [n for n, _ in c.named_children()] == ["a", "b"]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_cross_map_lrn2d_forward_matches_torch(size, backend, rng):
    X = rng.standard_normal((2, 7, 3, 4)).astype(np.float32)
    y = nn.CrossMapLRN2d(size, 0.1, 0.75, 2.0)(xpnn.tensor(X))
    ty = torch.nn.CrossMapLRN2d(size, 0.1, 0.75, 2.0)(torch.tensor(X))
    _close(y, ty)
    assert repr(nn.CrossMapLRN2d(3)) == repr(torch.nn.CrossMapLRN2d(3))


def test_cross_map_lrn2d_gradcheck_and_bad_input(host_backend, rng):
    x = xpnn.tensor(rng.standard_normal((1, 6, 2, 3)), dtype="float64", requires_grad=True)
    assert xpnn.gradcheck(lambda v: nn.CrossMapLRN2d(3, 0.1, 0.75, 2.0)(v), x)
    with pytest.raises(ValueError, match="4D"):
        nn.CrossMapLRN2d(3)(xpnn.zeros((2, 3, 4)))


# -- torch.optim: Adafactor, Muon --------------------------------------------------------------


def _trajectory(tcls, xcls, kw, shapes, rng, steps=6):
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(steps)]
    tp = [torch.tensor(a, requires_grad=True) for a in init]
    xp_ = [nn.Parameter(xpnn.tensor(a)) for a in init]
    topt, xopt = tcls(tp, **kw), xcls(xp_, **kw)
    for gs in grads:
        for p, g in zip(tp, gs):
            p.grad = torch.tensor(g)
        for p, g in zip(xp_, gs):
            p.grad = xpnn.tensor(g)
        topt.step()
        xopt.step()
    return tp, xp_, topt, xopt


ADAFACTOR = {"defaults": {}, "wd_max": dict(lr=0.1, weight_decay=0.1, maximize=True),
             "eps_d": dict(eps=(1e-3, 1e-2), d=2.0, beta2_decay=-0.5)}


@pytest.mark.parametrize("case", list(ADAFACTOR), ids=list(ADAFACTOR))
def test_adafactor_matches_torch(case, backend, rng):
    tp, xp_, topt, xopt = _trajectory(torch.optim.Adafactor, optim.Adafactor, ADAFACTOR[case],
                                      [(4, 5), (3,), (2, 3, 4), ()], rng)
    for t, x in zip(tp, xp_):
        _close(x, t)
    tsd, xsd = topt.state_dict(), xopt.state_dict()
    assert xsd["param_groups"] == tsd["param_groups"]
    for i in tsd["state"]:
        assert list(xsd["state"][i]) == list(tsd["state"][i])
        for key, tv in tsd["state"][i].items():
            _close(xsd["state"][i][key], tv)


def test_adafactor_state_dict_round_trip(backend, rng):
    shapes = [(4, 5), (3,)]
    _, xp_, _, xopt = _trajectory(torch.optim.Adafactor, optim.Adafactor, {}, shapes, rng, 3)
    twin = [nn.Parameter(p.detach().clone()) for p in xp_]
    other = optim.Adafactor(twin)
    other.load_state_dict(xopt.state_dict())
    G = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    for ps, opt in ((xp_, xopt), (twin, other)):
        for p, g in zip(ps, G):
            p.grad = xpnn.tensor(g)
        opt.step()
    for a, b in zip(xp_, twin):
        np.testing.assert_array_equal(to_np(a), to_np(b))


def test_adafactor_bad_arguments():
    p = [nn.Parameter(xpnn.ones(2))]
    for kw in (dict(lr=-1.0), dict(beta2_decay=0.5), dict(eps=(-1.0, 1e-3)), dict(d=0.5),
               dict(weight_decay=-0.1)):
        with pytest.raises(ValueError, match="Adafactor"):
            optim.Adafactor(p, **kw)


MUON = {"defaults": {}, "plain_momentum": dict(nesterov=False, lr=0.02),
        "adamw_rms": dict(adjust_lr_fn="match_rms_adamw", weight_decay=0.0, ns_steps=3)}


@pytest.mark.parametrize("case", list(MUON), ids=list(MUON))
def test_muon_matches_torch_float32_newton_schulz(case, backend, rng, monkeypatch):
    import torch.optim._muon as tmuon
    from torch_same import ns_float32
    monkeypatch.setattr(tmuon, "_zeropower_via_newtonschulz", ns_float32)
    tp, xp_, topt, xopt = _trajectory(torch.optim.Muon, optim.Muon, MUON[case],
                                      [(4, 6), (7, 3)], rng)
    for t, x in zip(tp, xp_):
        _close(x, t, 1e3 * EPS32)  # five matrix products per iteration, five iterations
    tsd, xsd = topt.state_dict(), xopt.state_dict()
    assert xsd["param_groups"] == tsd["param_groups"]
    assert list(xsd["state"][0]) == list(tsd["state"][0]) == ["momentum_buffer"]


def test_muon_close_to_torch_bfloat16(backend, rng):
    tp, xp_, _, _ = _trajectory(torch.optim.Muon, optim.Muon, dict(lr=0.02), [(5, 8)], rng)
    # torch orthogonalizes in bfloat16 (8 bits of mantissa): lr * 2^-8 per step at most
    np.testing.assert_allclose(to_np(xp_[0]), tp[0].detach().numpy(), atol=6 * 0.02 * 2 ** -7)


def test_muon_bad_arguments():
    with pytest.raises(ValueError, match="2-D"):
        optim.Muon([nn.Parameter(xpnn.ones(3))])
    with pytest.raises(ValueError, match="adjust_lr_fn"):
        optim.Muon([nn.Parameter(xpnn.ones((2, 2)))], adjust_lr_fn="other")


def test_sparse_adam_present():  # tests/test_sparse_grad.py checks it against torch
    assert hasattr(optim, "SparseAdam")
