"""Modes and bad input of the layers added with RMSNorm, the 3-D pools, EmbeddingBag, the
channel ops, alpha dropout, RReLU and the margin losses (their values and gradients against
PyTorch are in the OPS / LAYERS tables of cases.py)."""
import numpy as np
import pytest
from conftest import to_np

import xpnn
import xpnn.functional as F
from xpnn import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional

EPS32 = float(np.finfo(np.float32).eps)
TOL32 = 50 * EPS32  # float32, a handful of roundings per value


def _t(a, backend, **kw):
    return xpnn.tensor(np.asarray(a), backend=backend, **kw)


# -- RMSNorm ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rms_norm_default_eps_is_the_dtype_eps(backend, dtype):
    """eps=None means finfo(dtype).eps, as in PyTorch: visible on an all-zero-mean-square
    row scaled small."""
    x = np.full((2, 4), 1e-9)
    got = F.rms_norm(_t(x, backend, dtype=dtype), (4,)).numpy()
    want = TF.rms_norm(torch.tensor(x, dtype=getattr(torch, dtype)), (4,)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert str(F.rms_norm(_t(x, backend, dtype=dtype), 4).dtype).endswith(dtype)


def test_rms_norm_bad_input(backend):
    x = _t(np.zeros((2, 3)), backend, dtype="float32")
    with pytest.raises(ValueError, match=r"rms_norm: input of shape xpnn.Size\(\[2, 3\]\) does not end"):
        F.rms_norm(x, (4,))
    with pytest.raises(ValueError, match="rms_norm: weight of shape"):
        F.rms_norm(x, 3, weight=_t(np.ones(4), backend, dtype="float32"))
    with pytest.raises(TypeError, match="rms_norm: expected a floating input"):
        F.rms_norm(_t(np.zeros((2, 3), np.int64), backend), 3)
    with pytest.raises(ValueError, match=r"rms_norm: input of shape xpnn.Size\(\[2, 4\]\) does not end"):
        nn.RMSNorm(3)(_t(np.zeros((2, 4)), backend, dtype="float32"))
    with pytest.raises(ValueError, match="RMSNorm: eps"):
        nn.RMSNorm(3, eps=-1.0)


# -- 3-D pools -------------------------------------------------------------------------------
def test_max_pool3d_ties_indices_and_integers_match_torch(backend):
    """Rounded inputs tie often: the first maximum in (d, h, w) order takes the index and
    the gradient; integer inputs pool to integers (padding never wins)."""
    x = np.round(np.random.default_rng(0).standard_normal((2, 2, 4, 5, 5)))
    xt = _t(x, backend, dtype="float64", requires_grad=True)
    y, i = F.max_pool3d(xt, (2, 3, 2), (1, 2, 2), 1, return_indices=True)
    tx = torch.tensor(x, requires_grad=True)
    ty, ti = TF.max_pool3d(tx, (2, 3, 2), (1, 2, 2), 1, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(to_np(xt.grad), tx.grad.numpy())
    xi = x.astype(np.int64)
    for fn in (lambda f, v: f.max_pool3d(v, 3, 2, 1), lambda f, v: f.avg_pool3d(v, 2, 1, 1)):
        got, want = fn(F, _t(xi, backend)), fn(TF, torch.tensor(xi))
        assert str(got.dtype).endswith("int64")
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_pool3d_modules_unbatched_and_errors(backend):
    x = np.random.default_rng(1).standard_normal((3, 4, 4, 5)).astype(np.float32)
    for ours, theirs in [(nn.MaxPool3d(2, ceil_mode=True), torch.nn.MaxPool3d(2, ceil_mode=True)),
                         (nn.AvgPool3d(3, 2, 1), torch.nn.AvgPool3d(3, 2, 1)),
                         (nn.AdaptiveAvgPool3d((None, 1, 3)),
                          torch.nn.AdaptiveAvgPool3d((None, 1, 3))),
                         (nn.AdaptiveMaxPool3d(2), torch.nn.AdaptiveMaxPool3d(2)),
                         (nn.LPPool3d(2, 2), torch.nn.LPPool3d(2, 2))]:
        np.testing.assert_allclose(ours(_t(x, backend)).numpy(), theirs(torch.tensor(x)).numpy(),
                                   rtol=TOL32, atol=TOL32, err_msg=repr(ours))
    with pytest.raises(ValueError, match=r"MaxPool3d.*expected a 5-D input"):
        nn.MaxPool3d(2)(_t(x[0], backend))
    with pytest.raises(ValueError, match="max_pool3d: padding"):
        F.max_pool3d(_t(x, backend), 2, padding=2)
    with pytest.raises(ValueError, match="avg_pool3d: divisor_override"):
        F.avg_pool3d(_t(x, backend), 2, divisor_override=0)
    with pytest.raises(ValueError, match="adaptive_max_pool3d: output_size"):
        F.adaptive_max_pool3d(_t(x, backend), (1, 2))
    with pytest.raises(TypeError, match="adaptive_avg_pool3d: expected a floating"):
        F.adaptive_avg_pool3d(_t(x.astype(np.int64), backend), 2)
    with pytest.raises(ValueError, match="LPPool2d: norm_type"):
        nn.LPPool2d(0, 2)


def test_relu_then_max_pool3d_in_sequential_matches_the_plain_order(backend):
    """Sequential runs ReLU, MaxPool3d as the pooling first (the values and gradients are
    the same)."""
    x = np.random.default_rng(2).standard_normal((2, 2, 4, 4, 4)).astype(np.float32)
    model = nn.Sequential(nn.ReLU(), nn.MaxPool3d(2))
    a = _t(x, backend, requires_grad=True)
    model(a).sum().backward()
    b = _t(x, backend, requires_grad=True)
    F.max_pool3d(F.relu(b), 2).sum().backward()
    np.testing.assert_array_equal(to_np(a.grad), to_np(b.grad))


def test_conv3d_errors(backend):
    x = _t(np.zeros((1, 2, 3, 3, 3)), backend, dtype="float32")
    with pytest.raises(ValueError, match=r"conv3d: expected a 5-D input"):
        F.conv3d(x[0, 0], _t(np.zeros((1, 2, 1, 1, 1)), backend, dtype="float32"))
    with pytest.raises(ValueError, match="conv3d: input of shape .* has 2 channels"):
        F.conv3d(x, _t(np.zeros((1, 3, 1, 1, 1)), backend, dtype="float32"))
    with pytest.raises(ValueError, match="conv3d: kernel depth"):
        F.conv3d(x, _t(np.zeros((1, 2, 4, 1, 1)), backend, dtype="float32"))


# -- EmbeddingBag ----------------------------------------------------------------------------
def test_embedding_bag_empty_bags_and_modes(backend):
    w = np.arange(10.0).reshape(5, 2)
    ids, offs = np.array([1, 2, 3, 4]), np.array([0, 2, 2, 4])  # bags 1 and 3 are empty
    for mode in ("sum", "mean", "max"):
        got = F.embedding_bag(_t(ids, backend), _t(w, backend, dtype="float32"),
                              _t(offs, backend), mode=mode)
        want = TF.embedding_bag(torch.tensor(ids), torch.tensor(w, dtype=torch.float32),
                                torch.tensor(offs), mode=mode)
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=mode)
        assert str(got.dtype).endswith("float32")
    m = nn.EmbeddingBag(5, 2, mode="sum", include_last_offset=True, padding_idx=1,
                        backend=backend)
    out = m(_t(ids, backend), _t(np.array([0, 1, 4]), backend))
    with xpnn.no_grad():
        table = to_np(m.weight)
    np.testing.assert_allclose(out.numpy(), [table[1], table[2] + table[3] + table[4]])
    np.testing.assert_array_equal(table[1], 0.0)


def test_embedding_bag_max_of_no_elements_and_from_pretrained(backend):
    """A max over no ids at all is zeros with a zero gradient; from_pretrained takes the
    table (frozen by default) and the bag options, as PyTorch's."""
    w = _t(np.arange(10.0).reshape(5, 2), backend, dtype="float32", requires_grad=True)
    empty = _t(np.zeros(0, np.int64), backend)
    y = F.embedding_bag(empty, w, _t(np.array([0, 0]), backend), mode="max")
    y.sum().backward()
    np.testing.assert_array_equal(to_np(y), np.zeros((2, 2)))
    np.testing.assert_array_equal(to_np(w.grad), np.zeros((5, 2)))
    table = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    ids = np.array([[1, 2, 4], [4, 3, 2]])
    for freeze in (True, False):
        m = nn.EmbeddingBag.from_pretrained(_t(table, backend), freeze=freeze, mode="max",
                                            padding_idx=2)
        tm = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(table), freeze=freeze,
                                                   mode="max", padding_idx=2)
        assert m.weight.requires_grad == tm.weight.requires_grad == (not freeze)
        assert repr(m) == repr(tm)
        np.testing.assert_array_equal(to_np(m(_t(ids, backend))),
                                      tm(torch.tensor(ids)).detach().numpy())


def test_embedding_bag_bad_input(backend):
    w = _t(np.ones((5, 2)), backend, dtype="float32")
    ids1, ids2 = _t(np.array([1, 2]), backend), _t(np.array([[1, 2]]), backend)
    with pytest.raises(ValueError, match="embedding_bag: with a 2-D input .* offsets must be"):
        F.embedding_bag(ids2, w, _t(np.array([0]), backend))
    with pytest.raises(ValueError, match="embedding_bag: a 1-D input needs offsets"):
        F.embedding_bag(ids1, w)
    with pytest.raises(ValueError, match="embedding_bag: mode has to be one of"):
        F.embedding_bag(ids2, w, mode="median")
    with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
        F.embedding_bag(ids2, w, per_sample_weights=_t(np.ones((1, 2)), backend,
                                                        dtype="float32"))
    with pytest.raises(ValueError, match="per_sample_weights of shape"):
        F.embedding_bag(ids2, w, mode="sum", per_sample_weights=_t(np.ones(2), backend,
                                                                    dtype="float32"))
    with pytest.raises(ValueError, match="input has to be 1-D"):
        F.embedding_bag(_t(np.zeros((1, 1, 1), np.int64), backend), w)
    with pytest.raises(ValueError, match="EmbeddingBag: mode"):
        nn.EmbeddingBag(5, 2, mode="median")
    if xpnn.backend.get_backend(backend).on_host:  # range checks need host values
        with pytest.raises(ValueError, match=r"offsets\[0\] has to be 0"):
            F.embedding_bag(ids1, w, _t(np.array([1]), backend))
        with pytest.raises(IndexError, match="embedding_bag: token ids must be in"):
            F.embedding_bag(_t(np.array([[7]]), backend), w)
        with pytest.raises(ValueError, match=r"offsets\[-1\] can not be greater than input's "
                                             r"length 2, got 3"):
            F.embedding_bag(ids1, w, _t(np.array([0, 3]), backend))


# -- channel ops, softmax over channels -----------------------------------------------------
def test_channel_ops_errors(backend):
    x = _t(np.zeros((2, 5)), backend, dtype="float32")
    with pytest.raises(ValueError, match="local_response_norm: expected an input"):
        F.local_response_norm(x, 2)
    with pytest.raises(ValueError, match="channel_shuffle: the 5 channels"):
        F.channel_shuffle(F.unsqueeze(x, -1), 2)
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D"):
        nn.Softmax2d()(x)
    with pytest.raises(ValueError, match="ChannelShuffle: groups"):
        nn.ChannelShuffle(0)


def test_local_response_norm_empty_input_passes_through(backend):
    x = _t(np.zeros((0, 3, 2)), backend, dtype="float32")
    assert F.local_response_norm(x, 2).shape == (0, 3, 2)


# -- RReLU and alpha dropout -----------------------------------------------------------------
def test_rrelu_training_draws_slopes_in_range_and_eval_uses_the_mean(backend):
    x = np.random.default_rng(3).standard_normal((64, 32)).astype(np.float32)
    m = nn.RReLU(0.1, 0.3)
    xt = _t(x, backend, requires_grad=True)
    xpnn.manual_seed(7)
    y = m(xt)
    y.sum().backward()
    slope = y.numpy()[x < 0] / x[x < 0]
    assert 0.1 - 1e-6 <= slope.min() and slope.max() <= 0.3 + 1e-6
    assert slope.std() > 0.03  # drawn per element, not one slope
    np.testing.assert_allclose(to_np(xt.grad)[x < 0], slope, rtol=1e-5)
    np.testing.assert_array_equal(y.numpy()[x > 0], x[x > 0])
    xpnn.manual_seed(7)
    np.testing.assert_array_equal(m(_t(x, backend)).numpy(), y.numpy())  # seeded
    m.eval()
    np.testing.assert_allclose(m(_t(x, backend)).numpy(),
                               TF.rrelu(torch.tensor(x), 0.1, 0.3).numpy(), rtol=TOL32)
    with pytest.raises(ValueError, match="rrelu: lower bound"):
        F.rrelu(_t(x, backend), 0.5, 0.2)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_alpha_dropout_keeps_mean_and_variance(backend, p):
    """On standard normal input the output keeps mean 0 and variance 1 (the point of alpha
    dropout); dropped entries all take one value; the gradient is a * mask."""
    x = np.random.default_rng(4).standard_normal((400, 250))
    xt = _t(x, backend, dtype="float32", requires_grad=True)
    xpnn.manual_seed(1)
    y = F.alpha_dropout(xt, p, training=True)
    y.sum().backward()
    out = y.numpy()
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.02
    alpha = 1.6732632423543772 * 1.0507009873554805
    a = 1 / np.sqrt((alpha * alpha * p + 1) * (1 - p))
    grad = to_np(xt.grad)
    dropped = grad == 0
    assert abs(dropped.mean() - p) < 0.01
    np.testing.assert_allclose(out[dropped], a * alpha * (p - 1), rtol=1e-5)
    np.testing.assert_allclose(grad[~dropped], a, rtol=1e-6)
    assert F.alpha_dropout(xt, p) is xt  # the functional default is training=False


def test_feature_alpha_dropout_drops_whole_channels(backend):
    x = np.random.default_rng(5).standard_normal((4, 40, 3, 3)).astype(np.float32)
    m = nn.FeatureAlphaDropout(0.5)
    xt = _t(x, backend, requires_grad=True)
    xpnn.manual_seed(2)
    m(xt).sum().backward()
    g = to_np(xt.grad).reshape(4, 40, 9)
    assert np.all(g == g[:, :, :1])  # one draw per (sample, channel)
    assert 0 < (g[:, :, 0] == 0).mean() < 1
    m.eval()
    np.testing.assert_array_equal(m(_t(x, backend)).numpy(), x)
    with pytest.raises(ValueError, match="feature_alpha_dropout: feature dropout needs"):
        F.feature_alpha_dropout(_t(x[0, 0, 0], backend), 0.5, True)
    with pytest.raises(ValueError, match="alpha_dropout: p must be in"):
        F.alpha_dropout(xt, 1.5, True)


# -- margin losses, bilinear -----------------------------------------------------------------
@pytest.mark.parametrize("shape,label", [((4,), [2]), ((1, 4), 2), ((1, 4), [2]), ((4,), 2)])
def test_multi_margin_loss_takes_one_label_as_0_d_or_1_d(shape, label, backend):
    """One sample: the target may be () or (1,) whatever the input's rank, and "none" keeps
    the target's rank, as PyTorch."""
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    for reduction in ("none", "mean"):
        got = F.multi_margin_loss(_t(x, backend), _t(np.array(label), backend),
                                  reduction=reduction)
        want = TF.multi_margin_loss(torch.tensor(x), torch.tensor(label), reduction=reduction)
        assert got.shape == tuple(want.shape)
        np.testing.assert_allclose(to_np(got), want.numpy(), rtol=TOL32)


def test_margin_losses_bad_input(backend):
    x = _t(np.zeros((2, 3)), backend, dtype="float32")
    y = _t(np.array([0, 1]), backend)
    with pytest.raises(ValueError, match="multi_margin_loss: only p == 1 and p == 2"):
        F.multi_margin_loss(x, y, p=3)
    with pytest.raises(ValueError, match="MultiMarginLoss: only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="multi_margin_loss: target of shape"):
        F.multi_margin_loss(x, _t(np.array([0, 1, 2]), backend))
    with pytest.raises(ValueError, match=r"multi_margin_loss: target of shape \(2, 1\)"):
        F.multi_margin_loss(x, _t(np.array([[0], [1]]), backend))
    with pytest.raises(TypeError, match="multi_margin_loss: target must hold integer"):
        F.multi_margin_loss(x, _t(np.array([0.0, 1.0]), backend, dtype="float32"))
    with pytest.raises(ValueError, match="multilabel_margin_loss: target of shape"):
        F.multilabel_margin_loss(x, y)
    with pytest.raises(ValueError, match="multi_margin_loss: reduction"):
        F.multi_margin_loss(x, y, reduction="avg")
    with pytest.raises(ValueError, match="bilinear: inputs of shapes"):
        F.bilinear(x, x, _t(np.zeros((2, 3, 4)), backend, dtype="float32"))


# -- PyTorch 2.13's bias= of norm layers, weighted losses, legacy loss arguments -------------
@pytest.mark.parametrize("build,shape", [
    (lambda m: m.BatchNorm2d(4), (2, 4, 3, 3)), (lambda m: m.BatchNorm1d(4, bias=False), (3, 4)),
    (lambda m: m.BatchNorm1d(4, affine=False), (3, 4)),
    (lambda m: m.InstanceNorm2d(3, affine=True, bias=False), (2, 3, 3, 3)),
    (lambda m: m.GroupNorm(2, 4, bias=False), (2, 4, 3)),
    (lambda m: m.LayerNorm(4, bias=False), (2, 4)),
    (lambda m: m.SyncBatchNorm(3, bias=False), (2, 3, 5))])
def test_norm_layers_take_bias_and_print_it_as_torch(build, shape, backend):
    ours, theirs = build(nn), build(torch.nn)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert (ours.bias is None) == (theirs.bias is None)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ours.load_state_dict({k: _t(v.detach().numpy(), backend) for k, v in
                          theirs.state_dict().items()})
    got = ours.to(backend)(_t(x, backend, dtype="float32"))
    np.testing.assert_allclose(to_np(got), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_weighted_pointwise_losses_as_torch(name, reduction, backend):
    """PyTorch 2.13's weight= of mse/l1/huber ("mean" divides by the weights' sum for mse
    and l1, by the count for huber, as PyTorch does)."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 4, 3)).astype(np.float32)
    w = rng.random((4, 3)).astype(np.float32)
    x, t = _t(a, backend, dtype="float32").requires_grad_(), torch.tensor(a, requires_grad=True)
    out = getattr(F, name)(x, _t(b, backend, dtype="float32"), reduction=reduction,
                           weight=_t(w, backend, dtype="float32"))
    ref = getattr(torch.nn.functional, name)(t, torch.tensor(b), reduction=reduction,
                                             weight=torch.tensor(w))
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(to_np(out), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_np(x.grad), t.grad.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=f"{name}: weight of shape \\(3,\\) must have the"):
        getattr(F, name)(x, _t(b, backend, dtype="float32"), weight=_t(w[0], backend,
                                                                        dtype="float32"))


def test_losses_take_the_legacy_size_average_and_reduce(backend):
    """The functional losses take PyTorch's deprecated size_average/reduce, in its argument
    order, with its warning (modules took them already)."""
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((3, 4)).astype(np.float32)
    y = np.array([0, 3, 1])
    p = 1 / (1 + np.exp(-logits))
    calls = [("cross_entropy", (logits, y, None, False)), ("nll_loss", (logits, y, None, None,
                                                                        -100, False)),
             ("mse_loss", (logits, p, None, False)), ("l1_loss", (logits, p, False)),
             ("binary_cross_entropy", (p, p, None, False)),
             ("binary_cross_entropy_with_logits", (logits, p, None, None, False))]
    for name, args in calls:
        ours = [_t(a, backend, dtype="float32" if a.dtype.kind == "f" else None)
                if isinstance(a, np.ndarray) else a for a in args]
        theirs = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            got = getattr(F, name)(*ours)
        with pytest.warns(UserWarning):
            want = getattr(torch.nn.functional, name)(*theirs)
        np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)
