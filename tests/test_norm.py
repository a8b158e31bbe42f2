"""Normalization (batch/layer/group norm) and regularization (L1/L2 penalties, channel
dropout): float64 gradient checks, forward/backward and running statistics against PyTorch,
agreement across backends, state_dict names, bad input."""
import numpy as np
import pytest

import xpnn
import xpnn.functional as F
from conftest import to_np
from xpnn import nn, optim
from xpnn.backend import dtype_name, get_backend

torch = pytest.importorskip("torch")
TF = torch.nn.functional

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
TWIN_TOL = 1e3 * EPS64  # means and variances of <= 60 values, summed in another order
# float32: the standardized values are O(1), but 1/sqrt(var) amplifies the rounding of var
TOL32 = 256 * EPS32


def _t(a, backend, dtype="float64", grad=True):
    return xpnn.tensor(a, backend=backend, dtype=dtype, requires_grad=grad)


# (name, fn(x, w, b), torch fn(x, w, b), x shape, affine shape)
CASES = [
    ("batch_norm:train_2d", lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
     lambda x, w, b: TF.batch_norm(x, None, None, w, b, True), (6, 3), (3,)),
    ("batch_norm:train_4d", lambda x, w, b: F.batch_norm(x, None, None, w, b, True, eps=1e-3),
     lambda x, w, b: TF.batch_norm(x, None, None, w, b, True, eps=1e-3), (3, 2, 3, 2), (2,)),
    ("batch_norm:train_3d_noaffine", lambda x, w, b: F.batch_norm(x, None, None, None, None,
                                                                  True) * w + b,
     lambda x, w, b: TF.batch_norm(x, None, None, None, None, True) * w + b,
     (4, 2, 3), (2, 1)),
    ("layer_norm:last", lambda x, w, b: F.layer_norm(x, (4,), w, b),
     lambda x, w, b: TF.layer_norm(x, (4,), w, b), (3, 2, 4), (4,)),
    ("layer_norm:two_dims", lambda x, w, b: F.layer_norm(x, (2, 3), w, b, eps=1e-4),
     lambda x, w, b: TF.layer_norm(x, (2, 3), w, b, eps=1e-4), (3, 2, 3), (2, 3)),
    ("group_norm:4d", lambda x, w, b: F.group_norm(x, 2, w, b),
     lambda x, w, b: TF.group_norm(x, 2, w, b), (2, 4, 3, 2), (4,)),
    ("group_norm:3d_instance", lambda x, w, b: F.group_norm(x, 3, w, b),
     lambda x, w, b: TF.group_norm(x, 3, w, b), (2, 3, 5), (3,)),
]
IDS = [c[0] for c in CASES]


def _host(case, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(case[3]) * 2 + 0.5, rng.uniform(0.5, 2, case[4]),
            rng.standard_normal(case[4]))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck_float64(case, host_backend):
    backend = host_backend
    x, w, b = (_t(a, backend) for a in _host(case))
    assert xpnn.gradcheck(case[1], x, w, b)


def test_gradcheck_batch_norm_eval(host_backend):
    backend = host_backend
    rng = np.random.default_rng(0)
    rm, rv = (get_backend(backend).asarray(a, dtype="float64") for a in
              (rng.standard_normal(3), rng.uniform(0.5, 2, 3)))
    x, w, b = _t(rng.standard_normal((4, 3, 2)), backend), _t(rng.uniform(0.5, 2, 3), backend), \
        _t(rng.standard_normal(3), backend)
    assert xpnn.gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, False), x, w, b)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_torch_forward_and_backward(case, backend):
    host = _host(case)
    xs = [_t(a, backend) for a in host]
    ts = [torch.tensor(a, requires_grad=True) for a in host]
    got, want = case[1](*xs), case[2](*ts)
    assert dtype_name(got.dtype) == "float64"
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=TWIN_TOL,
                               atol=TWIN_TOL)
    g = np.random.default_rng(1).standard_normal(got.shape)
    got.backward(xpnn.tensor(g, backend=backend, dtype="float64"))
    want.backward(torch.tensor(g))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(to_np(x.grad), t.grad.numpy(), rtol=TWIN_TOL, atol=TWIN_TOL)


# -- layers: outputs, gradients, running statistics, eval -----------------------------------
LAYERS = [
    ("BatchNorm2d", lambda m: m.BatchNorm2d(3), (4, 3, 3, 2)),
    ("BatchNorm2d:momentum_none", lambda m: m.BatchNorm2d(2, momentum=None), (3, 2, 2, 2)),
    ("BatchNorm1d:2d", lambda m: m.BatchNorm1d(4, eps=1e-3, momentum=0.3), (5, 4)),
    ("BatchNorm1d:3d_noaffine", lambda m: m.BatchNorm1d(3, affine=False), (4, 3, 5)),
    ("BatchNorm2d:no_running", lambda m: m.BatchNorm2d(2, track_running_stats=False),
     (3, 2, 2, 2)),
    ("LayerNorm", lambda m: m.LayerNorm((3, 4)), (2, 5, 3, 4)),
    ("LayerNorm:nobias", lambda m: m.LayerNorm(6, bias=False), (4, 6)),
    ("GroupNorm", lambda m: m.GroupNorm(2, 4), (3, 4, 2, 3)),
    ("GroupNorm:noaffine", lambda m: m.GroupNorm(3, 3, affine=False), (2, 3, 4)),
]


@pytest.mark.parametrize("case", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_matches_torch_train_then_eval(case, backend):
    """Three training steps (outputs, input and parameter gradients, running statistics
    after each), then eval mode, all against torch.nn in float32; state_dict keys too."""
    _, build, shape = case
    torch.manual_seed(0)
    tmod, mod = build(torch.nn), build(nn).to(backend)
    assert [(k, tuple(v.shape)) for k, v in mod.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in tmod.state_dict().items()]
    rng = np.random.default_rng(0)
    for step in range(4):
        if step == 3:
            tmod.eval()
            mod.eval()
        X = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
        tx = torch.tensor(X, requires_grad=True)
        x = xpnn.tensor(X, backend=backend, requires_grad=True)
        ty, y = tmod(tx), mod(x)
        g = rng.standard_normal(shape).astype(np.float32)
        ty.backward(torch.tensor(g))
        y.backward(xpnn.tensor(g, backend=backend))
        what = f"step {step}"
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=TOL32, atol=TOL32,
                                   err_msg=what)
        np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=TOL32, atol=TOL32,
                                   err_msg=what)
        tsd = tmod.state_dict()
        for k, v in mod.state_dict().items():
            np.testing.assert_allclose(to_np(v), tsd[k].numpy(), rtol=TOL32, atol=TOL32,
                                       err_msg=f"{what}: {k}")
        for (name, p), (_, tp) in zip(mod.named_parameters(), tmod.named_parameters()):
            np.testing.assert_allclose(to_np(p.grad), tp.grad.numpy(), rtol=TOL32,
                                       atol=TOL32 * 10, err_msg=f"{what}: grad of {name}")
            p.grad, tp.grad = None, None


def test_batch_norm_running_stats_in_place_and_under_no_grad(backend):
    be = get_backend(backend)
    rm, rv = be.asarray(np.zeros(2), "float32"), be.asarray(np.ones(2), "float32")
    X = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    with xpnn.no_grad():
        F.batch_norm(xpnn.tensor(X, backend=backend), rm, rv, training=True, momentum=0.5)
    flat = X.transpose(1, 0, 2).reshape(2, -1)
    np.testing.assert_allclose(to_np(rm), 0.5 * flat.mean(1), rtol=TOL32, atol=TOL32)
    np.testing.assert_allclose(to_np(rv), 0.5 + 0.5 * flat.var(1, ddof=1), rtol=TOL32)


# -- regularization -------------------------------------------------------------------------
def test_penalties_gradcheck_and_values(backend):
    rng = np.random.default_rng(0)
    ps = [_t(rng.standard_normal(s), backend) for s in ((3, 2), (4,), (2, 2, 2))]
    assert xpnn.gradcheck(lambda *p: F.l1_penalty(p, 0.3), *ps)
    assert xpnn.gradcheck(lambda *p: F.l2_penalty(p, 0.7), *ps)
    host = [p.numpy() for p in ps]
    assert np.isclose(float(F.l1_penalty(ps, 0.3)), 0.3 * sum(np.abs(h).sum() for h in host))
    assert np.isclose(float(F.l2_penalty(ps, 0.7, skip_1d=True)),
                      0.35 * sum((h ** 2).sum() for h in host if h.ndim > 1))


def test_l2_penalty_equals_sgd_weight_decay(backend):
    """SGD on loss + l2_penalty(c) takes the same steps as SGD(weight_decay=c) on loss."""
    xpnn.manual_seed(0)
    a = nn.Linear(3, 2).to(backend)
    b = nn.Linear(3, 2).to(backend)
    b.load_state_dict(a.state_dict())
    opt_a = optim.SGD(a.parameters(), lr=0.1)
    opt_b = optim.SGD(b.parameters(), lr=0.1, weight_decay=0.05)
    x = xpnn.tensor(np.random.default_rng(0).standard_normal((4, 3)), backend=backend)
    for _ in range(3):
        for model, opt, pen in ((a, opt_a, True), (b, opt_b, False)):
            loss = model(x).square().mean()
            if pen:
                loss = loss + F.l2_penalty(model, 0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_allclose(to_np(va), to_np(vb), rtol=TOL32, atol=TOL32, err_msg=k)


def test_dropout2d_zeroes_whole_channels(backend):
    xpnn.manual_seed(0)
    x = xpnn.tensor(np.ones((128, 32, 2, 2), np.float32), backend=backend, requires_grad=True)
    layer = nn.Dropout2d(0.25)
    y = layer(x)
    out = y.numpy()
    per_channel = out.reshape(128, 32, 4)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # one draw per channel
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((out == 0).mean() - 0.25) < 0.03  # 4096 draws: sd 0.007
    y.sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), out)  # the same mask scales the gradient
    layer.eval()
    assert layer(x) is x or np.array_equal(layer(x).numpy(), x.numpy())
    assert dtype_name(y.dtype) == "float32"


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("make, match", [
    (lambda: nn.BatchNorm2d(0), r"BatchNorm2d: num_features must be an int >= 1, got 0"),
    (lambda: nn.BatchNorm1d(3, momentum=2), r"momentum must be in \[0, 1\] or None, got 2"),
    (lambda: nn.BatchNorm2d(3, eps=0), r"eps must be a number > 0, got 0"),
    (lambda: nn.GroupNorm(3, 4), r"GroupNorm: num_groups=3 must divide num_channels=4"),
    (lambda: nn.LayerNorm(()), r"LayerNorm: normalized_shape must not be empty"),
    (lambda: nn.Dropout2d(1.5), r"Dropout2d: p must be a probability in \[0, 1\], got 1.5"),
])
def test_bad_construction_raises_quoting_values(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_call_raises_naming_layer_and_shapes():
    x4 = xpnn.tensor(np.zeros((2, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(4, .*expected input \(N, C, H, W\) "
                                         r"with C=4, got shape xpnn.Size\(\[2, 3, 4, 4\]\)"):
        nn.BatchNorm2d(4)(x4)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3, .*\(N, C\) or \(N, C, L\) with C=3, "
                                         r"got shape xpnn.Size\(\[2, 3, 4, 4\]\)"):
        nn.BatchNorm1d(3)(x4)
    with pytest.raises(ValueError, match=r"more than 1 value per channel .* xpnn.Size\(\[1, 3\]\)"):
        nn.BatchNorm1d(3)(xpnn.tensor(np.zeros((1, 3), np.float32)))
    with pytest.raises(ValueError, match=r"LayerNorm\(\(5,\).*input of shape xpnn.Size\(\[2, 3, 4, 4\]\) "
                                         r"does not end with \(5,\)"):
        nn.LayerNorm(5)(x4)
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 4.*C=4, got shape xpnn.Size\(\[2, 3, 4, 4\]\)"):
        nn.GroupNorm(2, 4)(x4)
    with pytest.raises(ValueError, match=r"Dropout2d\(p=0.5, inplace=False\): expected a "
                                         r"4-D input"):
        nn.Dropout2d()(xpnn.tensor(np.zeros((2, 3), np.float32)))
    with pytest.raises(ValueError, match=r"l2_penalty: coeff must be a number >= 0, got -1"):
        F.l2_penalty(nn.Linear(2, 2), -1)


def test_batchnorm_loads_a_state_dict_without_num_batches_tracked():
    """Older checkpoints and filtered dicts lack num_batches_tracked: PyTorch loads them
    (the counter keeps its value); xpnn refused them as a missing key."""
    bn = nn.BatchNorm1d(3)
    bn(xpnn.randn(4, 3))
    sd = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    fresh = nn.BatchNorm1d(3)
    result = fresh.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert int(fresh.num_batches_tracked.item()) == 0
    np.testing.assert_array_equal(fresh.running_mean.numpy(), bn.running_mean.numpy())


@pytest.mark.parametrize("how", ["functional", "module", "module_eval"])
def test_dropout2d_on_3d_input_is_per_sample_channel_dropout(backend, how):
    """A 3-D input to dropout2d is (N, C, L), as PyTorch 2 reads it, with a UserWarning on
    both (it was an unbatched (C, H, W) here, one draw per channel for the whole batch):
    each (sample, channel) row is all zeros or all 1/(1-p), and rows differ across samples."""
    def run(lib, x):
        if how == "functional":
            return lib.nn.functional.dropout2d(x, 0.5, training=True)
        layer = lib.nn.Dropout2d(0.5)
        if how == "module_eval":
            layer.eval()
        return layer(x)

    shape = (64, 3, 5)
    with pytest.warns(UserWarning, match="dropout2d"):
        want = run(torch, torch.ones(shape))
    with pytest.warns(UserWarning, match="dropout2d"):
        got = to_np(run(xpnn, xpnn.ones(shape, backend=backend)))
    assert got.shape == tuple(want.shape) and got.dtype == np.float32
    if how == "module_eval":
        assert (got == 1).all() and (want.numpy() == 1).all()
        return
    assert set(np.unique(got)) <= {0.0, 2.0}
    assert (got == got[:, :, :1]).all()  # constant along L
    assert len({tuple(row) for row in got[:, :, 0]}) > 1  # not one draw for the whole batch
