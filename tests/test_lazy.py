"""Lazy modules (nn/lazy.py, nn/parameter.py), AdaptiveLogSoftmaxWithLoss (nn/adaptive.py)
and renorm (functional/renorm.py): shapes, init equal to the regular layer's under one seed,
an optimizer built on the placeholders, state dicts, errors, and PyTorch's values and
gradients."""
import copy
import math

import numpy as np
import pytest
from conftest import to_np

import xpnn
from xpnn import nn, optim
from xpnn.nn.parameter import UninitializedBuffer, UninitializedParameter

torch = pytest.importorskip("torch")

EPS32 = float(np.finfo(np.float32).eps)
TOL32 = 50 * EPS32   # float32: a handful of roundings per value
TOL64 = 1e4 * float(np.finfo(np.float64).eps)  # float64 sums of a few dozen terms


def _t(a, backend, **kw):
    return xpnn.tensor(np.asarray(a), backend=backend, **kw)


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# (lazy constructor, regular constructor given the inferred size, input shape, size)
LAZY = [
    ("LazyLinear", lambda: nn.LazyLinear(3), lambda n: nn.Linear(n, 3), (4, 5), 5),
    ("LazyLinear-nobias", lambda: nn.LazyLinear(3, bias=False),
     lambda n: nn.Linear(n, 3, bias=False), (2, 4, 6), 6),
    ("LazyConv1d", lambda: nn.LazyConv1d(4, 3, padding=1),
     lambda n: nn.Conv1d(n, 4, 3, padding=1), (2, 6, 7), 6),
    ("LazyConv2d", lambda: nn.LazyConv2d(4, 3, stride=2, groups=2),
     lambda n: nn.Conv2d(n, 4, 3, stride=2, groups=2), (2, 6, 7, 7), 6),
    ("LazyConv2d-unbatched", lambda: nn.LazyConv2d(4, 3),
     lambda n: nn.Conv2d(n, 4, 3), (6, 5, 5), 6),
    ("LazyConv3d", lambda: nn.LazyConv3d(2, 2), lambda n: nn.Conv3d(n, 2, 2), (1, 3, 3, 4, 4),
     3),
    ("LazyConvTranspose1d", lambda: nn.LazyConvTranspose1d(4, 3, stride=2),
     lambda n: nn.ConvTranspose1d(n, 4, 3, stride=2), (2, 6, 5), 6),
    ("LazyConvTranspose2d", lambda: nn.LazyConvTranspose2d(4, 3, output_padding=1, stride=2),
     lambda n: nn.ConvTranspose2d(n, 4, 3, output_padding=1, stride=2), (2, 3, 4, 4), 3),
    ("LazyConvTranspose3d", lambda: nn.LazyConvTranspose3d(2, 2),
     lambda n: nn.ConvTranspose3d(n, 2, 2), (1, 3, 3, 3, 3), 3),
    ("LazyBatchNorm1d", lambda: nn.LazyBatchNorm1d(), lambda n: nn.BatchNorm1d(n), (4, 5), 5),
    ("LazyBatchNorm2d", lambda: nn.LazyBatchNorm2d(momentum=None),
     lambda n: nn.BatchNorm2d(n, momentum=None), (3, 4, 5, 5), 4),
    ("LazyBatchNorm3d", lambda: nn.LazyBatchNorm3d(), lambda n: nn.BatchNorm3d(n),
     (2, 3, 2, 3, 3), 3),
    ("LazyInstanceNorm1d", lambda: nn.LazyInstanceNorm1d(),
     lambda n: nn.InstanceNorm1d(n, affine=True, track_running_stats=True), (2, 5, 6), 5),
    ("LazyInstanceNorm2d-unbatched", lambda: nn.LazyInstanceNorm2d(),
     lambda n: nn.InstanceNorm2d(n, affine=True, track_running_stats=True), (3, 4, 4), 3),
    ("LazyInstanceNorm3d-plain", lambda: nn.LazyInstanceNorm3d(affine=False,
                                                               track_running_stats=False),
     lambda n: nn.InstanceNorm3d(n), (2, 3, 2, 3, 3), 3),
]
IDS = [c[0] for c in LAZY]


def _regular_name(lazy_name):
    return lazy_name.split("-")[0][len("Lazy"):]


@pytest.mark.parametrize("case", LAZY, ids=IDS)
def test_lazy_materializes_like_the_regular_layer(backend, case):
    """Placeholders first; the first call gives the regular layer's shapes, init values
    (same seed, same draws), output and class."""
    name, make_lazy, make, shape, n = case
    x = _t(_data(shape), backend)
    xpnn.manual_seed(3)
    ref = make(n)
    xpnn.manual_seed(3)
    lazy = make_lazy()
    assert type(lazy).__name__ == name.split("-")[0]
    held = dict(lazy.named_parameters())
    has_state = bool(held) or bool(dict(lazy.named_buffers()))
    assert lazy.has_uninitialized_params() == (len(held) > 0 or "plain" not in name)
    for p in held.values():
        assert isinstance(p, UninitializedParameter) and isinstance(p, nn.Parameter)
    y = lazy(x)
    regular = type(ref)
    assert type(lazy) is regular and isinstance(lazy, regular)
    assert type(lazy).__name__ == _regular_name(name)
    assert not hasattr(lazy, "has_uninitialized_params")
    assert repr(lazy) == repr(ref)
    for key, p in lazy.named_parameters():
        assert p is held[key]  # the same objects, filled in place
        assert type(p) is nn.Parameter
    sd, rsd = lazy.state_dict(), ref.state_dict()
    assert list(sd) == list(rsd)
    for key in sd:
        assert sd[key].shape == rsd[key].shape and sd[key].dtype == rsd[key].dtype, key
        assert sd[key].backend == backend.split(":")[0], key
        if key != "num_batches_tracked" and not key.startswith("running"):
            np.testing.assert_array_equal(to_np(sd[key]), to_np(rsd[key]), err_msg=key)
    want = make(n).to(backend)
    want.load_state_dict(rsd)
    np.testing.assert_allclose(to_np(y), to_np(want(x)), rtol=TOL32, atol=TOL32)
    assert has_state or "plain" in name


@pytest.mark.parametrize("case", LAZY, ids=IDS)
def test_lazy_forward_matches_torch_after_loading_the_same_weights(host_backend, case):
    name, make_lazy, _, shape, n = case
    if "plain" in name:
        pytest.skip("no parameters to load")
    # torch's regular layer of the inferred size (torch's LazyInstanceNorm reads an
    # unbatched input's channels from the wrong dim, see nn/lazy.py)
    tcls = getattr(torch.nn, _regular_name(name))
    lazy = make_lazy()
    args = {"Linear": (3,), "Conv1d": (4, 3), "Conv2d": (4, 3), "Conv3d": (2, 2),
            "ConvTranspose1d": (4, 3), "ConvTranspose2d": (4, 3),
            "ConvTranspose3d": (2, 2)}.get(_regular_name(name), ())
    names = tcls.__init__.__code__.co_varnames
    kw = {k: getattr(lazy, k) for k in ("stride", "padding", "groups", "output_padding",
                                        "momentum", "affine", "track_running_stats")
          if k in names}
    if "nobias" in name:
        kw["bias"] = False
    tm = tcls(n, *args, **kw).double()
    x = _data(shape, 1).astype(np.float64)
    xm = lazy.to(dtype=xpnn.float64)
    xm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    tx = torch.tensor(x, requires_grad=True)
    ty = tm(tx)
    xx = _t(x, host_backend, dtype="float64", requires_grad=True)
    y = xm(xx)
    assert type(xm).__name__ == type(tm).__name__
    np.testing.assert_allclose(to_np(y), ty.detach().numpy(), rtol=TOL64, atol=TOL64)
    g = np.random.default_rng(2).standard_normal(ty.shape)
    ty.backward(torch.tensor(g))
    y.backward(_t(g, host_backend, dtype="float64"))
    np.testing.assert_allclose(to_np(xx.grad), tx.grad.numpy(), rtol=TOL64, atol=TOL64)
    for key, p in xm.named_parameters():
        np.testing.assert_allclose(to_np(p.grad), tm.get_parameter(key).grad.numpy(),
                                   rtol=TOL64, atol=TOL64, err_msg=key)
    for key, b in xm.named_buffers():
        np.testing.assert_allclose(to_np(b), tm.get_buffer(key).numpy(), rtol=TOL64,
                                   atol=TOL64, err_msg=key)


def test_optimizer_built_before_the_first_forward_trains(backend):
    model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(1))
    opt = optim.Adam(model.parameters(), lr=0.05)
    x = _t(_data((32, 4)), backend)
    y = _t(_data((32, 4)).sum(1, keepdims=True), backend)
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    assert opt.param_groups[0]["params"][0] is model[0].weight
    assert len(opt.state) == 4


def test_placeholders_raise_clear_errors(backend):
    m = nn.LazyLinear(3)
    w = m.weight
    assert repr(w) == "<UninitializedParameter>" and w.requires_grad
    assert xpnn.backend.dtype_name(w.dtype) == "float32"
    assert w.backend == backend.split(":")[0]
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized"):
        w.shape
    with pytest.raises(ValueError, match="uninitialized parameter"):
        w + 1
    with pytest.raises(ValueError, match="uninitialized parameter"):
        w.numel()
    with pytest.raises(ValueError, match="uninitialized parameter"):
        xpnn.zeros(3) @ w
    b = nn.LazyBatchNorm1d().running_mean
    assert isinstance(b, UninitializedBuffer) and not b.requires_grad
    with pytest.raises(ValueError, match="uninitialized buffer"):
        b * 2
    sd = nn.LazyLinear(3).state_dict()
    assert [repr(v) for v in sd.values()] == ["<UninitializedParameter>"] * 2
    with pytest.raises(ValueError, match="LazyConv2d: expected a 3-D .unbatched. or 4-D"):
        nn.LazyConv2d(3, 2)(_t(_data((2, 3)), backend))
    with pytest.raises(ValueError, match="in_channels 3 .* must be divisible by groups=2"):
        nn.LazyConv2d(4, 2, groups=2)(_t(_data((1, 3, 4, 4)), backend))
    with pytest.raises(ValueError, match="LazyLinear: out_features must be an int >= 1"):
        nn.LazyLinear(0)
    with pytest.raises(ValueError, match="LazyConv2d: groups=3 must divide"):
        nn.LazyConv2d(4, 3, groups=3)
    with pytest.raises(ValueError, match="shape must be ints"):
        UninitializedParameter().materialize((2, -1))
    # loading a placeholder into a materialized module
    with pytest.raises(RuntimeError, match="'weight' is uninitialized"):
        nn.Linear(2, 3).load_state_dict(nn.LazyLinear(3).state_dict())


def test_state_dict_round_trip(backend):
    """A lazy module takes a regular state dict (materializing from its shapes, the inferred
    size set from them) and one of placeholders (staying lazy); its own state dict after the
    first call loads into the regular layer."""
    xpnn.manual_seed(0)
    ref = nn.Conv2d(6, 4, 3, groups=2)
    lazy = nn.LazyConv2d(4, 3, groups=2)
    opt = optim.SGD(lazy.parameters(), lr=0.1)
    assert lazy.load_state_dict(ref.state_dict()).missing_keys == []
    assert not lazy.has_uninitialized_params() and lazy.in_channels == 6
    assert type(lazy) is nn.LazyConv2d  # the class changes at the first call, as in torch
    x = _t(_data((2, 6, 5, 5)), backend)
    np.testing.assert_allclose(to_np(lazy(x)), to_np(ref.to(backend)(x)), rtol=TOL32,
                               atol=TOL32)
    assert type(lazy) is nn.Conv2d
    back = nn.Conv2d(6, 4, 3, groups=2)
    back.load_state_dict(lazy.state_dict())
    np.testing.assert_array_equal(to_np(back.weight), to_np(ref.weight))
    lazy(x).sum().backward()
    opt.step()
    assert not np.array_equal(to_np(lazy.weight), to_np(ref.weight))

    empty = nn.LazyBatchNorm1d()
    empty.load_state_dict(nn.LazyBatchNorm1d().state_dict())
    assert empty.has_uninitialized_params()
    bn = nn.BatchNorm1d(5)
    bn.running_mean.fill_(2.0)
    empty.load_state_dict(bn.state_dict())
    assert empty.num_features == 5 and float(empty.running_mean.sum()) == 10.0


def test_to_deepcopy_and_save_before_and_after(backend, tmp_path):
    """Module.to moves a placeholder (its dtype too); deepcopy copies one; a materialized
    module saves and loads as the regular class."""
    m = nn.LazyLinear(2).to(dtype=xpnn.float64)
    assert xpnn.backend.dtype_name(m.weight.dtype) == "float64"
    c = copy.deepcopy(m)
    assert c.has_uninitialized_params() and c.weight is not m.weight
    x = _t(_data((3, 4)), backend, dtype="float64")
    y = c(x)
    assert xpnn.backend.dtype_name(y.dtype) == "float64" and c.weight.shape == (2, 4)
    assert m.has_uninitialized_params()  # the original stays lazy
    path = tmp_path / "m.safetensors"
    xpnn.save(c, str(path))
    back = xpnn.load(str(path))
    assert type(back) is nn.Linear and back.in_features == 4
    np.testing.assert_array_equal(to_np(back.weight), to_np(c.weight))


def test_lazy_follows_the_input_backend():
    """Built on the default backend (NumPy), materialized where the input lives."""
    xpnn.set_default_backend("numpy")
    m = nn.LazyLinear(2)
    y = m(_t(_data((3, 4)), "torch"))
    assert m.weight.backend == "torch" and y.backend == "torch"
    bn = nn.LazyBatchNorm1d()
    bn(_t(_data((3, 4)), "torch"))
    assert {t.backend for t in bn.state_dict().values()} == {"torch"}


# -- AdaptiveLogSoftmaxWithLoss ----------------------------------------------------------------
def _asm_pair(backend, head_bias=True):
    torch.manual_seed(0)
    tm = torch.nn.AdaptiveLogSoftmaxWithLoss(12, 20, [4, 9, 15], div_value=2.0,
                                             head_bias=head_bias).double()
    xm = nn.AdaptiveLogSoftmaxWithLoss(12, 20, [4, 9, 15], div_value=2.0,
                                       head_bias=head_bias, dtype=xpnn.float64)
    xm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    return tm, xm


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_matches_torch(backend, head_bias):
    tm, xm = _asm_pair(backend, head_bias)
    assert list(xm.state_dict()) == list(tm.state_dict())
    assert repr(xm) == repr(tm)
    x = np.random.default_rng(0).standard_normal((9, 12))
    target = np.array([0, 3, 4, 8, 9, 14, 15, 19, 2])
    tx = torch.tensor(x, requires_grad=True)
    out = tm(tx, torch.tensor(target))
    out.loss.backward()
    xx = _t(x, backend, dtype="float64", requires_grad=True)
    got = xm(xx, _t(target, backend))
    assert type(got).__name__ == "_ASMoutput" and got._fields == ("output", "loss")
    assert got.output.shape == (9,) and got.loss.shape == ()
    got.loss.backward()
    np.testing.assert_allclose(to_np(got.output), out.output.detach().numpy(), rtol=TOL64,
                               atol=TOL64)
    np.testing.assert_allclose(to_np(got.loss), out.loss.item(), rtol=TOL64)
    np.testing.assert_allclose(to_np(xx.grad), tx.grad.numpy(), rtol=TOL64, atol=TOL64)
    for key, p in xm.named_parameters():
        np.testing.assert_allclose(to_np(p.grad), tm.get_parameter(key).grad.numpy(),
                                   rtol=TOL64, atol=TOL64, err_msg=key)
    lp = xm.log_prob(xx)
    assert lp.shape == (9, 20)
    np.testing.assert_allclose(to_np(lp), tm.log_prob(tx).detach().numpy(), rtol=TOL64,
                               atol=TOL64)
    np.testing.assert_array_equal(to_np(xm.predict(xx)), tm.predict(tx).numpy())
    # unbatched: a 1-D input with a 0-d target
    one = xm(xx[1], _t(np.array(3), backend))
    ref = tm(tx[1], torch.tensor(3))
    assert one.output.shape == ()
    np.testing.assert_allclose(to_np(one.output), ref.output.item(), rtol=TOL64)


def test_adaptive_log_softmax_predict_mixes_head_and_tail(host_backend):
    """Rows whose best head entry is a cluster get the full argmax, the others the head's."""
    tm, xm = _asm_pair(host_backend)
    x = np.random.default_rng(5).standard_normal((64, 12)) * 3
    got = to_np(xm.predict(_t(x, host_backend, dtype="float64")))
    np.testing.assert_array_equal(got, tm.predict(torch.tensor(x)).numpy())
    assert (got >= 4).any() and (got < 4).any()


def test_adaptive_log_softmax_gradcheck(host_backend):
    _, xm = _asm_pair(host_backend)
    xm.to(host_backend)
    x = _t(np.random.default_rng(1).standard_normal((5, 12)), host_backend,
           dtype="float64", requires_grad=True)
    target = _t(np.array([1, 5, 10, 16, 19]), host_backend)
    assert xpnn.gradcheck(lambda a: xm(a, target).loss, x)


def test_adaptive_log_softmax_bad_input(backend):
    name = "AdaptiveLogSoftmaxWithLoss"
    for cutoffs in ([], [5, 3], [0, 4], [4, 20], [4, 4]):
        with pytest.raises(ValueError, match=f"{name}: cutoffs should be"):
            nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs)
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])
    x = _t(_data((4, 8)), backend)
    if x._be.on_host:  # the range check reads labels only where they live on the host
        with pytest.raises(RuntimeError, match=r"target values should be in \[0, 9\], but "
                                               r"values in range \[0, 10\]"):
            m(x, _t(np.array([0, 1, 2, 10]), backend))
    with pytest.raises(ValueError, match="same size in the batch dimension"):
        m(x, _t(np.array([0, 1]), backend))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 8\), got \(4, 5\)"):
        m(_t(_data((4, 5)), backend), _t(np.array([0, 1, 2, 3]), backend))
    with pytest.raises(ValueError, match="0D or 1D target"):
        m(x, _t(np.zeros((4, 1), np.int64), backend))
    with pytest.raises(TypeError, match="target must be an integer tensor"):
        m(x, _t(np.zeros(4, np.float32), backend))


# -- renorm ------------------------------------------------------------------------------------
RENORM = [(2, 0, 1.0), (2, 1, 0.5), (1, -1, 1.0), (3, 0, 0.7), (0.5, 1, 2.0),
          (math.inf, 0, 0.8), (2, 2, 0.3)]


def _renorm_input():
    x = np.random.default_rng(4).standard_normal((3, 4, 2))
    x[1] = 0.05 * x[1]   # a slice under the cap (dim 0)
    x[2, 1] = 0.0        # zeros: sign(0) and p < 1
    x[0, 0, 0] = x[0, 0, 1] = 2.5  # a tie for the max norm
    return x


@pytest.mark.parametrize("p,dim,maxnorm", RENORM)
def test_renorm_matches_torch(backend, p, dim, maxnorm):
    x = _renorm_input()
    g = np.random.default_rng(6).standard_normal(x.shape)
    for dtype, tol in (("float64", TOL64), ("float32", TOL32)):
        tx = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
        ty = torch.renorm(tx, p, dim, maxnorm)
        ty.backward(torch.tensor(g, dtype=getattr(torch, dtype)))
        xx = _t(x, backend, dtype=dtype, requires_grad=True)
        y = xpnn.renorm(xx, p, dim, maxnorm)
        assert y.shape == xx.shape and y.dtype == xx.dtype
        y.backward(_t(g, backend, dtype=dtype))
        np.testing.assert_allclose(to_np(y), ty.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(to_np(xx.grad), tx.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("p,dim,maxnorm", [c for c in RENORM if c[0] != math.inf])
def test_renorm_gradcheck(host_backend, p, dim, maxnorm):
    # max-norm ties have no derivative, so the inf case is left to the torch comparison
    x = _t(_renorm_input(), host_backend, dtype="float64", requires_grad=True)
    assert xpnn.gradcheck(lambda a: xpnn.renorm(a, p, dim, maxnorm), x)


def test_renorm_methods_and_errors(backend):
    x = _t(_data((3, 4)) * 3, backend)
    y = x.renorm(2, 0, 1.0)
    want = torch.renorm(torch.tensor(to_np(x)), 2, 0, 1.0).numpy()
    np.testing.assert_allclose(to_np(y), want, rtol=TOL32, atol=TOL32)
    assert x.renorm_(2, 0, 1.0) is x
    np.testing.assert_allclose(to_np(x), want, rtol=TOL32, atol=TOL32)
    with pytest.raises(ValueError, match="renorm: input needs at least 2 dimensions"):
        xpnn.renorm(_t(_data((3,)), backend), 2, 0, 1.0)
    with pytest.raises(ValueError, match="renorm: p must be a number > 0"):
        xpnn.renorm(x, 0, 0, 1.0)
    with pytest.raises(ValueError, match="renorm: maxnorm must be a number >= 0"):
        xpnn.renorm(x, 2, 0, -1.0)
    with pytest.raises(IndexError, match="renorm: dim 2 is out of range"):
        xpnn.renorm(x, 2, 2, 1.0)
    with pytest.raises(TypeError, match="renorm: expected a floating tensor"):
        xpnn.renorm(_t(np.ones((2, 2), np.int64), backend), 2, 0, 1.0)
