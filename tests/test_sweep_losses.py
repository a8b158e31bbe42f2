"""Regression tests from an adversarial sweep of the losses and numerically delicate
functional ops against torch 2.13: each case ran differently in xpnn before its fix. A case
is a function of the module (``xpnn`` or ``torch``), called the same way on both; results
are compared in shape, dtype and value (tolerances from the dtype, tests/torch_same.py), and
an error must be torch's exception class (or a subclass)."""
import warnings

import numpy as np
import pytest

import xpnn

torch = pytest.importorskip("torch")

from conftest import to_np  # noqa: E402
from torch_same import raises_like, same as _same  # noqa: E402

_rng = np.random.default_rng(0)
X = _rng.standard_normal((4, 5)).astype(np.float32)
P = _rng.random((4, 5)).astype(np.float32)
T01 = (_rng.random((4, 5)) > .5).astype(np.float32)
Y = np.array([1, 0, 4, 2])
W = np.array([1., 2., .5, 3., 1.5], np.float32)


def _t(m, a, dtype=None, grad=False):
    return m.tensor(a, dtype=getattr(m, dtype) if dtype else None, requires_grad=grad)


def _quiet(f):
    """f(m) with the broadcast warning both libraries give silenced (checked separately)."""
    def case(m):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return f(m)
    return case


def _grads(loss, *xs):
    """The loss and its gradients with respect to ``xs``."""
    (loss.sum() if loss.ndim else loss).backward()
    return (loss,) + tuple(x.grad for x in xs)


def _bcast_grad(m, fn, tshape, **kw):
    x, t = _t(m, X, grad=True), _t(m, P[tshape], grad=True)
    return _grads(getattr(m.nn.functional, fn)(x, t, **kw), x, t)


def _second(m, fn, target, **kw):
    """d/dx of (g.g + sum g), g = d loss/dx taken with create_graph=True, float64."""
    x = _t(m, X, "float64", grad=True)
    loss = getattr(m.nn.functional, fn)(x, target(m), **kw)
    (g,) = m.autograd.grad(loss.sum(), [x], create_graph=True)
    (h,) = m.autograd.grad((g * g).sum() + g.sum(), [x])
    return loss, g, h


_W64 = lambda m: _t(m, W, "float64")  # noqa: E731
_P64 = lambda m: _t(m, P, "float64")  # noqa: E731

CASES = {
    # a target of another shape broadcasts (mse, l1, huber, smooth_l1 with a warning)
    "mse_broadcast": _quiet(lambda m: _bcast_grad(m, "mse_loss", np.s_[0])),
    "l1_broadcast": _quiet(lambda m: _bcast_grad(m, "l1_loss", np.s_[:, :1],
                                                 reduction="sum")),
    "huber_broadcast": _quiet(lambda m: _bcast_grad(m, "huber_loss", np.s_[:1], delta=.5)),
    "smooth_l1_broadcast": _quiet(lambda m: _bcast_grad(m, "smooth_l1_loss", np.s_[0],
                                                        beta=.3, reduction="none")),
    "mse_input_broadcast": _quiet(lambda m: m.nn.functional.mse_loss(_t(m, X[0]),
                                                                      _t(m, P))),
    "kl_div_broadcast": lambda m: _bcast_grad(m, "kl_div", np.s_[0], reduction="sum"),
    "poisson_nll_broadcast": lambda m: _bcast_grad(m, "poisson_nll_loss", np.s_[:, :1]),
    "soft_margin_target_broadcast": lambda m: m.nn.functional.soft_margin_loss(
        _t(m, X), _t(m, np.ones((4, 1), np.float32))),
    # a target of another floating dtype promotes (huber, soft margin: the input's dtype)
    "mse_mixed_dtype": lambda m: m.nn.functional.mse_loss(_t(m, X), _t(m, P, "float64")),
    "l1_mixed_dtype": lambda m: m.nn.functional.l1_loss(_t(m, X, "float64"), _t(m, P)),
    "huber_mixed_dtype": lambda m: m.nn.functional.huber_loss(_t(m, X), _t(m, P, "float64")),
    "soft_margin_mixed_dtype": lambda m: m.nn.functional.soft_margin_loss(
        _t(m, X, "float64"), _t(m, np.sign(P - .5))),
    "mse_int_input_float_target": lambda m: m.nn.functional.mse_loss(_t(m, Y), _t(m, P[0, :4])),
    "l1_int_sum": lambda m: m.nn.functional.l1_loss(_t(m, Y), _t(m, Y[::-1].copy()),
                                                    reduction="sum"),
    "l1_int_none": lambda m: m.nn.functional.l1_loss(_t(m, Y), _t(m, Y[::-1].copy()),
                                                     reduction="none"),
    # second derivatives (create_graph=True), float64
    "mse_double_backward": lambda m: _second(m, "mse_loss", _P64),
    "mse_double_backward_none": lambda m: _second(m, "mse_loss", _P64, reduction="none"),
    "bce_logits_double_backward": lambda m: _second(
        m, "binary_cross_entropy_with_logits", _P64, reduction="sum"),
    "bce_logits_double_backward_weights": lambda m: _second(
        m, "binary_cross_entropy_with_logits", _P64, weight=_W64(m), pos_weight=_W64(m)),
    "bce_logits_double_backward_none": lambda m: _second(
        m, "binary_cross_entropy_with_logits", _P64, pos_weight=_W64(m), reduction="none"),
    "ce_smoothing_double_backward": lambda m: _second(
        m, "cross_entropy", lambda m: _t(m, Y), weight=_W64(m), label_smoothing=.1),
    "ce_smoothing_ignore_double_backward": lambda m: _second(
        m, "cross_entropy", lambda m: _t(m, np.array([1, -100, 4, 2])), label_smoothing=.2,
        reduction="none"),
    "ce_probs_double_backward": lambda m: _second(m, "cross_entropy", _P64,
                                                  label_smoothing=.1, reduction="sum"),
}

# name -> f(module) that torch refuses: xpnn must raise torch's class (or a subclass of it)
_F = lambda m: m.nn.functional  # noqa: E731
RAISES = {
    "nll_float_target": lambda m: _F(m).nll_loss(_t(m, X), _t(m, Y.astype(np.float32))),
    "ce_float_target_wrong_shape": lambda m: _F(m).cross_entropy(_t(m, X),
                                                                 _t(m, Y.astype(np.float32))),
    "ce_probs_ignore_index": lambda m: _F(m).cross_entropy(_t(m, X), _t(m, P),
                                                           ignore_index=1),
    "ce_weight_wrong_size": lambda m: _F(m).cross_entropy(_t(m, X), _t(m, Y),
                                                          weight=_t(m, W[:3])),
    "ce_label_smoothing_range": lambda m: _F(m).cross_entropy(_t(m, X), _t(m, Y),
                                                              label_smoothing=1.5),
    "ce_int_input": lambda m: _F(m).cross_entropy(_t(m, Y.reshape(2, 2)), _t(m, Y[:2] % 2)),
    "ce_spatial_target_shape": lambda m: _F(m).cross_entropy(m.zeros(2, 3, 4),
                                                             _t(m, np.array([0, 1]))),
    "mse_int": lambda m: _F(m).mse_loss(_t(m, Y), _t(m, Y)),
    "huber_int": lambda m: _F(m).huber_loss(_t(m, Y), _t(m, Y)),
    "l1_int_mean": lambda m: _F(m).l1_loss(_t(m, Y), _t(m, Y)),
    "mse_no_broadcast": _quiet(lambda m: _F(m).mse_loss(_t(m, X), _t(m, P[:3]))),
    "poisson_nll_no_broadcast": lambda m: _F(m).poisson_nll_loss(_t(m, X), _t(m, P[:3])),
    "soft_margin_input_broadcast": lambda m: _F(m).soft_margin_loss(_t(m, X[0]), _t(m, P)),
    "bce_target_shape": lambda m: _F(m).binary_cross_entropy(_t(m, P), _t(m, T01[0])),
    "bce_logits_target_shape": lambda m: _F(m).binary_cross_entropy_with_logits(
        _t(m, X), _t(m, T01[0])),
    "bce_mixed_dtype": lambda m: _F(m).binary_cross_entropy(_t(m, P), _t(m, T01, "float64")),
    "bce_logits_int_target": lambda m: _F(m).binary_cross_entropy_with_logits(
        _t(m, X), _t(m, T01.astype(np.int64))),
    "bce_weight_shape": lambda m: _F(m).binary_cross_entropy(_t(m, P), _t(m, T01),
                                                             weight=_t(m, W[:3])),
    "bce_logits_pos_weight_shape": lambda m: _F(m).binary_cross_entropy_with_logits(
        _t(m, X), _t(m, P), pos_weight=_t(m, W[:3])),
    "multilabel_soft_margin_weight_shape": lambda m: _F(m).multilabel_soft_margin_loss(
        _t(m, X), _t(m, T01), weight=_t(m, W[:3])),
    "bce_input_out_of_range": lambda m: _F(m).binary_cross_entropy(_t(m, X), _t(m, T01)),
    "multi_margin_float_target": lambda m: _F(m).multi_margin_loss(
        _t(m, X), _t(m, Y.astype(np.float32))),
    "multi_margin_target_out_of_range": lambda m: _F(m).multi_margin_loss(
        _t(m, X), _t(m, np.array([1, 0, 5, 2]))),
    "multilabel_margin_target_out_of_range": lambda m: _F(m).multilabel_margin_loss(
        _t(m, X), _t(m, np.full((4, 5), 7))),
    "cosine_embedding_target_size": lambda m: _F(m).cosine_embedding_loss(
        _t(m, X), _t(m, P), _t(m, np.array([1, -1, 1]))),
    "cosine_embedding_3d": lambda m: _F(m).cosine_embedding_loss(
        m.zeros(2, 3, 4), m.zeros(2, 3, 4), _t(m, np.array([1, -1]))),
    "margin_ranking_dims": lambda m: _F(m).margin_ranking_loss(_t(m, X), _t(m, P[0]),
                                                               _t(m, W)),
    "triplet_shapes": lambda m: _F(m).triplet_margin_loss(_t(m, X), _t(m, P[:3]), _t(m, T01)),
    "one_hot_negative": lambda m: _F(m).one_hot(_t(m, np.array([-1, 2]))),
    "one_hot_too_large": lambda m: _F(m).one_hot(_t(m, np.array([3, 2])), num_classes=3),
    "one_hot_float": lambda m: _F(m).one_hot(_t(m, np.array([1., 2.]))),
    "one_hot_empty_no_classes": lambda m: _F(m).one_hot(_t(m, np.zeros(0, np.int64))),
    "add_no_broadcast": lambda m: m.ones(3) + m.ones(4),
}

# value checks xpnn makes only in host memory (on a device each would cost a sync)
HOST_CHECKS = {"bce_input_out_of_range", "multi_margin_target_out_of_range",
               "multilabel_margin_target_out_of_range", "one_hot_negative",
               "one_hot_too_large"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(backend, name):
    _same(CASES[name](xpnn), CASES[name](torch))


@pytest.mark.parametrize("name", sorted(RAISES))
def test_raises_like_torch(backend, name):
    raises_like(RAISES[name], host_only=name in HOST_CHECKS)


@pytest.mark.parametrize("fn", ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"])
def test_broadcast_warns_like_torch(fn):
    """PyTorch warns (UserWarning) when these losses broadcast the target; so does xpnn."""
    for m in (torch, xpnn):
        with pytest.warns(UserWarning):
            getattr(m.nn.functional, fn)(m.ones(4, 5), m.ones(5))


def test_mixed_dtype_gradients(backend):
    """Promoting a float32 input to a float64 target keeps both gradients in their own
    dtypes (float32 tolerance: the input carries float32 precision)."""
    def case(m):
        x, t = _t(m, X, grad=True), _t(m, P, "float64", grad=True)
        return _grads(m.nn.functional.mse_loss(x, t), x, t)
    got, want = case(xpnn), case(torch)
    for g, w in zip(got, want):
        assert str(g.dtype).rsplit(".", 1)[-1] == str(w.dtype).rsplit(".", 1)[-1]
        np.testing.assert_allclose(to_np(g), w.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_double_backward_gradgradcheck(host_backend):
    """Finite differences of the recorded gradients (float64) of mse_loss,
    binary_cross_entropy_with_logits (pos_weight and weight) and label-smoothed
    cross_entropy."""
    F = xpnn.nn.functional
    x = xpnn.tensor(X, dtype=xpnn.float64, requires_grad=True)
    t = xpnn.tensor(P, dtype=xpnn.float64, requires_grad=True)
    w = xpnn.tensor(W, dtype=xpnn.float64)
    y = xpnn.tensor(Y)
    assert xpnn.autograd.gradgradcheck(lambda a, b: F.mse_loss(a, b), (x, t))
    assert xpnn.autograd.gradgradcheck(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=w, pos_weight=w), (x, t))
    assert xpnn.autograd.gradgradcheck(
        lambda a: F.cross_entropy(a, y, weight=w, label_smoothing=.1), (x,))
