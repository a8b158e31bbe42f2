"""Adversarial inputs to layers and losses, each run on torch 2.13 and on xpnn: where torch
returns a value xpnn returns the same one (and the same gradients); where torch raises, xpnn
raises the same class (or a subclass) with its own message. Empty batches and sequences,
losses over nothing, labels out of range, masks that block whole rows, mixed dtypes,
expanded and strided inputs, and the reductions' edge cases (rows of -inf, empty dims, one
value)."""
import warnings

import numpy as np
import pytest
from conftest import to_np
from torch_same import _bool, _ids, _pair, _t, raises_like, same

import xpnn

torch = pytest.importorskip("torch")

# values against torch's float32 within torch_same.TOL32 = 100 * float32 eps; float64
# gradient checks at xpnn.gradcheck's default tolerances


def _grads(m):
    return [p.grad for p in m.parameters()]


# -- zero-size batches and sequences --------------------------------------------------------
def _mha(lib):
    class Self(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = lib.nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            return self.attn(x, x, x)[0]
    return Self()


EMPTY = [
    ("Linear", lambda lib: lib.nn.Linear(3, 2), (0, 3), True),
    ("Conv1d", lambda lib: lib.nn.Conv1d(2, 3, 3), (0, 2, 5), True),
    ("Conv2d", lambda lib: lib.nn.Conv2d(2, 3, 3), (0, 2, 5, 5), True),
    ("Conv3d", lambda lib: lib.nn.Conv3d(2, 3, 3), (0, 2, 4, 4, 4), True),
    ("ConvTranspose2d", lambda lib: lib.nn.ConvTranspose2d(2, 3, 3), (0, 2, 4, 4), True),
    ("BatchNorm1d-train", lambda lib: lib.nn.BatchNorm1d(3), (0, 3), True),
    ("BatchNorm1d-eval", lambda lib: lib.nn.BatchNorm1d(3), (0, 3), False),
    ("BatchNorm2d-train", lambda lib: lib.nn.BatchNorm2d(3), (0, 3, 2, 2), True),
    ("BatchNorm2d-eval", lambda lib: lib.nn.BatchNorm2d(3), (0, 3, 2, 2), False),
    ("LayerNorm", lambda lib: lib.nn.LayerNorm(4), (0, 4), True),
    ("GroupNorm", lambda lib: lib.nn.GroupNorm(2, 4), (0, 4, 3), True),
    ("InstanceNorm2d", lambda lib: lib.nn.InstanceNorm2d(3), (0, 3, 4, 4), True),
    ("MaxPool2d", lambda lib: lib.nn.MaxPool2d(2), (0, 2, 4, 4), True),
    ("AdaptiveAvgPool2d", lambda lib: lib.nn.AdaptiveAvgPool2d(2), (0, 2, 4, 4), True),
    ("Dropout-train", lambda lib: lib.nn.Dropout(0.5), (0, 4), True),
    ("Dropout-eval", lambda lib: lib.nn.Dropout(0.5), (0, 4), False),
    ("RNN-batch0", lambda lib: lib.nn.RNN(3, 4), (5, 0, 3), True),
    ("LSTM-batch0", lambda lib: lib.nn.LSTM(3, 4), (5, 0, 3), True),
    ("GRU-batch0", lambda lib: lib.nn.GRU(3, 4), (5, 0, 3), True),
    ("LSTM-batch_first-batch0", lambda lib: lib.nn.LSTM(3, 4, batch_first=True), (0, 5, 3),
     True),
    ("MultiheadAttention-batch0", _mha, (0, 3, 8), True),
    ("MultiheadAttention-seq0", _mha, (2, 0, 8), True),
    ("TransformerEncoderLayer-batch0", lambda lib: lib.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, batch_first=True), (0, 3, 8), True),
    ("TransformerEncoderLayer-seq0", lambda lib: lib.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, batch_first=True), (2, 0, 8), True),
]


@pytest.mark.parametrize("make, shape, train", [c[1:] for c in EMPTY],
                         ids=[c[0] for c in EMPTY])
def test_empty_batch_forward_and_backward_as_torch(backend, make, shape, train):
    """An empty batch (or sequence) gives an empty output, an empty input gradient and
    zero parameter gradients, as torch; the running statistics stay as they were."""
    tm, xm = _pair(make)
    tm.train(train), xm.train(train)
    tx, xx = _t(torch, np.zeros(shape), grad=True), _t(xpnn, np.zeros(shape), grad=True)
    ty, xy = tm(tx), xm(xx)
    ty, xy = (ty[0], xy[0]) if isinstance(ty, tuple) else (ty, xy)
    same(xy, ty)
    ty.sum().backward()
    xy.sum().backward()
    same(xx.grad, tx.grad)
    for xg, tg in zip(_grads(xm), _grads(tm)):
        assert (xg is None) == (tg is None)
        if tg is not None:
            same(xg, tg)
    for k, v in tm.state_dict().items():  # BatchNorm's running stats and count untouched
        np.testing.assert_array_equal(to_np(xm.state_dict()[k]), v.numpy(), err_msg=k)


@pytest.mark.parametrize("lib_layer", ["Embedding", "EmbeddingBag"])
def test_empty_ids_through_embeddings(backend, lib_layer):
    tm, xm = _pair(lambda lib: getattr(lib.nn, lib_layer)(5, 3))
    ids = np.zeros((0, 4))
    ty, xy = tm(_ids(torch, ids)), xm(_ids(xpnn, ids))
    same(xy, ty)
    ty.sum().backward()
    xy.sum().backward()
    same(xm.weight.grad, tm.weight.grad)


@pytest.mark.parametrize("layer", ["RNN", "LSTM", "GRU"])
def test_empty_sequence_raises_as_torch(layer):
    raises_like(lambda lib: getattr(lib.nn, layer)(3, 4)(_t(lib, np.zeros((0, 2, 3)))))


# -- losses over nothing, ignored labels, zero weights, probabilities ----------------------
def _loss_case(name, make):
    """make(lib, reduction) -> (loss, input that requires grad)."""
    return pytest.param(make, id=name)


LOSSES_EMPTY = [
    _loss_case("cross_entropy", lambda lib, r: lib.nn.functional.cross_entropy(
        _t(lib, np.zeros((0, 3)), grad=True), _ids(lib, np.zeros(0)), reduction=r)),
    _loss_case("nll_loss", lambda lib, r: lib.nn.functional.nll_loss(
        _t(lib, np.zeros((0, 3)), grad=True), _ids(lib, np.zeros(0)), reduction=r)),
    _loss_case("cross_entropy-probs", lambda lib, r: lib.nn.functional.cross_entropy(
        _t(lib, np.zeros((0, 3)), grad=True), _t(lib, np.zeros((0, 3))), reduction=r)),
    _loss_case("mse_loss", lambda lib, r: lib.nn.functional.mse_loss(
        _t(lib, np.zeros((0, 3)), grad=True), _t(lib, np.zeros((0, 3))), reduction=r)),
    _loss_case("l1_loss", lambda lib, r: lib.nn.functional.l1_loss(
        _t(lib, np.zeros(0), grad=True), _t(lib, np.zeros(0)), reduction=r)),
    _loss_case("smooth_l1_loss", lambda lib, r: lib.nn.functional.smooth_l1_loss(
        _t(lib, np.zeros(0), grad=True), _t(lib, np.zeros(0)), reduction=r)),
    _loss_case("huber_loss", lambda lib, r: lib.nn.functional.huber_loss(
        _t(lib, np.zeros(0), grad=True), _t(lib, np.zeros(0)), reduction=r)),
    _loss_case("binary_cross_entropy", lambda lib, r: lib.nn.functional.binary_cross_entropy(
        _t(lib, np.zeros(0), grad=True), _t(lib, np.zeros(0)), reduction=r)),
    _loss_case("bce_with_logits", lambda lib, r:
               lib.nn.functional.binary_cross_entropy_with_logits(
                   _t(lib, np.zeros(0), grad=True), _t(lib, np.zeros(0)), reduction=r)),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("make", LOSSES_EMPTY)
def test_losses_on_empty_input(backend, make, reduction):
    """mean over nothing is NaN, sum is 0, none is empty, as torch; the backward runs."""
    ty, xy = make(torch, reduction), make(xpnn, reduction)
    same(xy, ty)
    xy.sum().backward()


def _ce(lib, target, r, **kw):
    x = _t(lib, np.random.default_rng(0).standard_normal((3, 4)), grad=True)
    w = kw.pop("weight", None)
    w = None if w is None else _t(lib, w)
    tgt = _ids(lib, target) if np.asarray(target).dtype.kind == "i" else _t(lib, target)
    fn = kw.pop("fn", "cross_entropy")
    loss = getattr(lib.nn.functional, fn)(x, tgt, weight=w, reduction=r, **kw)
    loss.sum().backward()
    return loss, x.grad


PROBS = np.random.default_rng(1).dirichlet(np.ones(4), size=3)
CLASSIFICATION = {
    "all-ignored": dict(target=[-100, -100, -100]),
    "all-ignored-smoothing": dict(target=[-100, -100, -100], label_smoothing=0.1),
    "ignored-smoothing": dict(target=[1, -100, 2], label_smoothing=0.2),
    "ignored-smoothing-weight": dict(target=[1, 0, 2], ignore_index=0, label_smoothing=0.2,
                                     weight=[1.0, 2.0, 3.0, 4.0]),
    "probabilities": dict(target=PROBS),
    "probabilities-smoothing-weight": dict(target=PROBS, label_smoothing=0.1,
                                           weight=[1.0, 2.0, 3.0, 4.0]),
    "nll-weights-zero-sum": dict(target=[1, 1, 2], weight=[1.0, 0.0, 0.0, 4.0],
                                     fn="nll_loss"),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", list(CLASSIFICATION), ids=list(CLASSIFICATION))
def test_classification_edge_cases(backend, case, reduction):
    """All labels ignored (mean: NaN, gradient 0), label smoothing with ignore_index,
    probability targets (with smoothing and weights): loss and gradient as torch's."""
    kw = CLASSIFICATION[case]
    same(_ce(xpnn, r=reduction, **dict(kw)), _ce(torch, r=reduction, **dict(kw)))


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_weights_summing_to_zero_give_nan_mean(backend, fn):
    """Every row's class weighted 0: the mean is 0/0 = NaN, as torch (its gradient, NaN on
    those rows as torch's: tests/test_adversarial_round2.py)."""
    kw = dict(target=[1, 1, 2], weight=[1.0, 0.0, 0.0, 4.0], fn=fn)
    xl, _ = _ce(xpnn, r="mean", **dict(kw))
    tl, _ = _ce(torch, r="mean", **dict(kw))
    assert np.isnan(xl.item()) and np.isnan(tl.item())


OUT_OF_RANGE = {
    "cross_entropy-high": lambda lib: lib.nn.functional.cross_entropy(
        _t(lib, np.zeros((2, 3))), _ids(lib, [0, 3])),
    "cross_entropy-negative": lambda lib: lib.nn.functional.cross_entropy(
        _t(lib, np.zeros((2, 3))), _ids(lib, [0, -2])),
    "cross_entropy-smoothing": lambda lib: lib.nn.functional.cross_entropy(
        _t(lib, np.zeros((2, 3))), _ids(lib, [0, 3]), label_smoothing=0.1),
    "cross_entropy-2d": lambda lib: lib.nn.functional.cross_entropy(
        _t(lib, np.zeros((2, 3, 2))), _ids(lib, [[0, 3], [1, 1]])),
    "cross_entropy-other-ignore_index": lambda lib: lib.nn.functional.cross_entropy(
        _t(lib, np.zeros((2, 3))), _ids(lib, [0, 5]), ignore_index=1),
    "nll_loss": lambda lib: lib.nn.functional.nll_loss(
        _t(lib, np.zeros((2, 3))), _ids(lib, [0, 3])),
    "binary_cross_entropy": lambda lib: lib.nn.functional.binary_cross_entropy(
        _t(lib, [0.5, 1.5, -0.2]), _t(lib, [1.0, 0.0, 1.0])),
    "BCELoss": lambda lib: lib.nn.BCELoss()(_t(lib, [0.5, 1.5]), _t(lib, [1.0, 0.0])),
    "Embedding-negative-id": lambda lib: lib.nn.Embedding(5, 3)(_ids(lib, [[0, -1]])),
    "Embedding-id-too-big": lambda lib: lib.nn.Embedding(5, 3)(_ids(lib, [[0, 5]])),
}


@pytest.mark.parametrize("case", list(OUT_OF_RANGE), ids=list(OUT_OF_RANGE))
def test_values_out_of_range(backend, case):
    """Labels, ids and probabilities out of range raise torch's class where the arrays are
    in host memory; on a device (no host read per step) the result is NaN instead."""
    call = OUT_OF_RANGE[case]
    if xpnn.zeros(1)._be.on_host:
        raises_like(call)
    else:
        with warnings.catch_warnings():  # device1 computes with NumPy: log of a negative
            warnings.simplefilter("ignore", RuntimeWarning)
            assert np.isnan(to_np(call(xpnn))).any()


def test_bce_at_exactly_zero_and_one(backend):
    """log(0) is clamped at -100 as in torch, and NumPy's divide warning does not leak."""
    def run(lib):
        p = _t(lib, [0.0, 1.0, 0.5], grad=True)
        loss = lib.nn.functional.binary_cross_entropy(p, _t(lib, [1.0, 0.0, 1.0]))
        loss.backward()
        return loss, p.grad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same(run(xpnn), run(torch))


def test_bce_gradcheck(host_backend):
    p = xpnn.tensor(np.array([0.1, 0.5, 0.9, 0.3]), dtype="float64", requires_grad=True)
    y = xpnn.tensor(np.array([1.0, 0.0, 1.0, 0.25]), dtype="float64")
    assert xpnn.gradcheck(lambda a: xpnn.nn.functional.binary_cross_entropy(a, y), p)


# -- bad shapes and arguments ----------------------------------------------------------------
BAD = {
    "BatchNorm1d-batch1-train": lambda lib: lib.nn.BatchNorm1d(3)(_t(lib, np.ones((1, 3)))),
    "BatchNorm2d-batch1-train": lambda lib: lib.nn.BatchNorm2d(3)(
        _t(lib, np.ones((1, 3, 1, 1)))),
    "InstanceNorm2d-1x1": lambda lib: lib.nn.InstanceNorm2d(3)(_t(lib, np.ones((2, 3, 1, 1)))),
    "GroupNorm-not-divisible": lambda lib: lib.nn.GroupNorm(3, 4),
    "LayerNorm-wrong-shape": lambda lib: lib.nn.LayerNorm(5)(_t(lib, np.ones((2, 4)))),
    "Conv2d-input-smaller-than-kernel": lambda lib: lib.nn.Conv2d(2, 3, 5)(
        _t(lib, np.ones((1, 2, 3, 3)))),
    "Conv2d-same-stride2": lambda lib: lib.nn.Conv2d(2, 2, 3, stride=2, padding="same"),
    "Embedding-padding_idx-too-big": lambda lib: lib.nn.Embedding(5, 3, padding_idx=5),
    "Embedding-padding_idx-too-negative": lambda lib: lib.nn.Embedding(5, 3, padding_idx=-6),
    "F.embedding-padding_idx": lambda lib: lib.nn.functional.embedding(
        _ids(lib, [0]), _t(lib, np.ones((5, 3))), padding_idx=5),
    "F.embedding_bag-padding_idx": lambda lib: lib.nn.functional.embedding_bag(
        _ids(lib, [[0]]), _t(lib, np.ones((5, 3))), padding_idx=-6),
    "Linear-float64-input": lambda lib: lib.nn.Linear(3, 2)(_t(lib, np.ones((2, 3)),
                                                               "float64")),
    "Linear-int64-input": lambda lib: lib.nn.Linear(3, 2)(_ids(lib, [[1, 2, 3]])),
    "Conv2d-float64-input": lambda lib: lib.nn.Conv2d(2, 3, 3)(
        _t(lib, np.ones((1, 2, 5, 5)), "float64")),
    "LSTM-float64-input": lambda lib: lib.nn.LSTM(3, 4)(_t(lib, np.ones((5, 2, 3)),
                                                           "float64")),
    "sdpa-mask-not-broadcastable": lambda lib: lib.nn.functional.scaled_dot_product_attention(
        *(_t(lib, np.ones((2, 3, 4))),) * 3, attn_mask=_bool(lib, np.ones((3, 5)))),
    "MultiheadAttention-attn_mask-2d-wrong": lambda lib: lib.nn.MultiheadAttention(8, 2)(
        *(_t(lib, np.ones((3, 2, 8))),) * 3, attn_mask=_t(lib, np.zeros((3, 4)))),
    "MultiheadAttention-attn_mask-4d": lambda lib: lib.nn.MultiheadAttention(8, 2)(
        *(_t(lib, np.ones((3, 2, 8))),) * 3, attn_mask=_t(lib, np.zeros((2, 2, 3, 3)))),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_raises_torchs_class(case):
    raises_like(BAD[case])


def test_padding_idx_error_names_the_layer_and_value():
    with pytest.raises(AssertionError, match=r"Embedding: padding_idx .* \[-5, 5\), got 5"):
        xpnn.nn.Embedding(5, 3, padding_idx=5)
    with pytest.raises(ValueError, match=r"EmbeddingBag: padding_idx .* got -6"):
        xpnn.nn.EmbeddingBag(5, 3, padding_idx=-6)


def test_float16_linear_on_cpu():
    tm, xm = _pair(lambda lib: lib.nn.Linear(3, 2).half())
    a = np.random.default_rng(0).standard_normal((2, 3))
    ty, xy = tm(_t(torch, a, "float16")), xm(_t(xpnn, a, "float16"))
    assert str(xy.dtype).endswith("float16")
    np.testing.assert_allclose(to_np(xy), ty.detach().numpy(), rtol=4e-3, atol=4e-3)


def test_embedding_negative_padding_idx_and_max_norm(backend):
    tm, xm = _pair(lambda lib: lib.nn.Embedding(5, 3, padding_idx=-1))
    assert xm.padding_idx == tm.padding_idx == 4
    tm, xm = _pair(lambda lib: lib.nn.Embedding(5, 3, max_norm=0.5))
    ty, xy = tm(_ids(torch, [[0, 1, 1]])), xm(_ids(xpnn, [[0, 1, 1]]))
    ty.sum().backward()
    xy.sum().backward()
    same([xy, xm.weight, xm.weight.grad], [ty, tm.weight, tm.weight.grad])


# -- attention masks -------------------------------------------------------------------------
RNG = np.random.default_rng(5)
ALLOW = RNG.random((3, 4)) > 0.4
ALLOW[:, 0] = True
KPM = [[False, False, True, True], [False, True, False, False]]


def _sdpa(lib, mask):
    q = _t(lib, np.random.default_rng(0).standard_normal((2, 2, 3, 4)), grad=True)
    k = _t(lib, np.random.default_rng(1).standard_normal((2, 2, 4, 4)), grad=True)
    v = _t(lib, np.random.default_rng(2).standard_normal((2, 2, 4, 4)))
    y = lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask(lib))
    y.sum().backward()
    return y, q.grad, k.grad


ROW_BLOCKED = ALLOW.copy()
ROW_BLOCKED[1] = False
ROW_NEG_INF = np.zeros((3, 4))
ROW_NEG_INF[1] = -np.inf
SDPA_MASKS = {
    "bool-(L,S)": lambda lib: _bool(lib, ALLOW),
    "float-(L,S)": lambda lib: _t(lib, ALLOW * 0.5 - 0.25),
    "bool-4d-broadcast": lambda lib: _bool(lib, np.broadcast_to(ALLOW, (2, 1, 3, 4)).copy()),
    "float-4d": lambda lib: _t(lib, np.random.default_rng(7).standard_normal((2, 2, 3, 4))),
    "bool-row-blocked": lambda lib: _bool(lib, ROW_BLOCKED),
    "float-row-neg-inf": lambda lib: _t(lib, ROW_NEG_INF),
}


@pytest.mark.parametrize("mask", list(SDPA_MASKS), ids=list(SDPA_MASKS))
def test_sdpa_masks(backend, mask):
    """True in a bool mask takes part, a float mask is added; a query blocked from every key
    gets zeros in torch 2.13's sdpa (not NaN), its gradient 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy warning from the blocked row
        same(_sdpa(xpnn, SDPA_MASKS[mask]), _sdpa(torch, SDPA_MASKS[mask]))


def test_sdpa_no_keys_and_no_queries(backend):
    def run(lib, L, S):
        q = _t(lib, np.ones((2, L, 4)), grad=True)
        k = _t(lib, np.ones((2, S, 4)), grad=True)
        y = lib.nn.functional.scaled_dot_product_attention(q, k, k)
        y.sum().backward()
        return y, q.grad, k.grad
    same(run(xpnn, 3, 0), run(torch, 3, 0))
    same(run(xpnn, 0, 3), run(torch, 0, 3))


def _mha_run(lib, attn_mask=None, kpm=None, need_weights=True, average=True):
    m = lib.nn.MultiheadAttention(8, 2, batch_first=True)
    m.load_state_dict({k: (xpnn.tensor(v) if lib is xpnn else torch.tensor(v))
                       for k, v in _MHA_STATE.items()})
    q = _t(lib, np.random.default_rng(0).standard_normal((2, 3, 8)), grad=True)
    k = _t(lib, np.random.default_rng(1).standard_normal((2, 4, 8)))
    y, w = m(q, k, k, attn_mask=None if attn_mask is None else attn_mask(lib),
             key_padding_mask=None if kpm is None else kpm(lib), need_weights=need_weights,
             average_attn_weights=average)
    y.sum().backward()
    return (y, q.grad, m.in_proj_weight.grad) + (() if w is None else (w,))


torch.manual_seed(0)
_MHA_STATE = {k: v.detach().numpy().copy() for k, v in
              torch.nn.MultiheadAttention(8, 2, batch_first=True).state_dict().items()}
FULL_KPM = [[True] * 4, [False, True, False, False]]
FULL_ROW = ~ALLOW
FULL_ROW[2] = True
MHA_MASKS = {
    "kpm-bool": dict(kpm=lambda lib: _bool(lib, KPM)),
    "kpm-float": dict(kpm=lambda lib: _t(lib, [[0, 0, -np.inf, -np.inf], [0, -1.0, 0, 0]])),
    "attn_mask-bool-(L,S)": dict(attn_mask=lambda lib: _bool(lib, ~ALLOW)),
    "attn_mask-float-(L,S)": dict(attn_mask=lambda lib: _t(lib, ALLOW * 0.5)),
    "attn_mask-float-(N*H,L,S)": dict(attn_mask=lambda lib: _t(
        lib, np.random.default_rng(7).standard_normal((4, 3, 4)))),
    "attn_mask-bool-(N*H,L,S)": dict(attn_mask=lambda lib: _bool(
        lib, np.random.default_rng(3).random((4, 3, 4)) > 0.7)),
    "both-bool": dict(attn_mask=lambda lib: _bool(lib, ~ALLOW), kpm=lambda lib: _bool(lib, KPM)),
    "per-head-weights": dict(kpm=lambda lib: _bool(lib, KPM), average=False),
    # a query blocked from every key: zeros when the weights are not returned (torch's
    # fused path; with them, see test_multihead_attention_query_blocked_from_every_key)
    "kpm-whole-sample-no-weights": dict(kpm=lambda lib: _bool(lib, FULL_KPM),
                                        need_weights=False),
    "attn_mask-whole-row-no-weights": dict(attn_mask=lambda lib: _bool(lib, FULL_ROW),
                                           need_weights=False),
}


@pytest.mark.parametrize("case", list(MHA_MASKS), ids=list(MHA_MASKS))
def test_multihead_attention_masks(backend, case):
    """key_padding_mask and attn_mask: True means "ignore" (the opposite of sdpa's), a float
    mask is added; outputs, weights and gradients as torch's, NaN where torch's are."""
    kw = MHA_MASKS[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same(_mha_run(xpnn, **kw), _mha_run(torch, **kw))


@pytest.mark.parametrize("mask", [dict(kpm=lambda lib: _bool(lib, FULL_KPM)),
                                  dict(attn_mask=lambda lib: _bool(lib, FULL_ROW))],
                         ids=["key_padding_mask", "attn_mask"])
def test_multihead_attention_query_blocked_from_every_key(backend, mask):
    """xpnn's documented difference (nn.MultiheadAttention's docstring): with
    need_weights=True torch gives such a query NaN weights, output and gradients; xpnn gives
    it zero weights and the output and gradients torch gives with need_weights=False."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = _mha_run(xpnn, **mask)
    theirs = _mha_run(torch, **mask, need_weights=False)
    same(ours[:3], theirs)
    assert np.isnan(_mha_run(torch, **mask)[0].detach().numpy()).any()
    assert np.isfinite(to_np(ours[3])).all() and (to_np(ours[3]) >= 0).all()


def test_sdpa_partly_masked_gradcheck(host_backend):
    rng = np.random.default_rng(0)
    q = xpnn.tensor(rng.standard_normal((2, 3, 4)), dtype="float64", requires_grad=True)
    k, v = (xpnn.tensor(rng.standard_normal((2, 4, 4)), dtype="float64", requires_grad=True)
            for _ in range(2))
    mask = xpnn.tensor(ROW_BLOCKED)  # one query blocked from every key: zeros, gradient 0
    assert xpnn.gradcheck(lambda a, b, c: xpnn.nn.functional.scaled_dot_product_attention(
        a, b, c, attn_mask=mask), q, k, v)


# -- strided and expanded inputs, in-place writes ---------------------------------------------
VIEWS = {
    "Linear-transposed": (lambda lib: lib.nn.Linear(3, 2), (3, 4), lambda x: x.t()),
    "Linear-step": (lambda lib: lib.nn.Linear(3, 2), (4, 6), lambda x: x[:, ::2]),
    "Linear-expanded": (lambda lib: lib.nn.Linear(3, 2), (1, 3), lambda x: x.expand(4, 3)),
    "Conv2d-expanded": (lambda lib: lib.nn.Conv2d(1, 2, 2), (1, 1, 1, 4),
                        lambda x: x.expand(2, 1, 3, 4)),
    "LSTM-transposed": (lambda lib: lib.nn.LSTM(3, 4), (2, 5, 3),
                        lambda x: x.transpose(0, 1)),
    "LayerNorm-step": (lambda lib: lib.nn.LayerNorm(3), (4, 6), lambda x: x[:, 1::2]),
}


@pytest.mark.parametrize("case", list(VIEWS), ids=list(VIEWS))
def test_strided_and_expanded_inputs(backend, case):
    make, shape, view = VIEWS[case]
    tm, xm = _pair(make)
    a = np.random.default_rng(0).standard_normal(shape)

    def run(lib, m):
        x = _t(lib, a, grad=True)
        y = m(view(x))
        y = y[0] if isinstance(y, tuple) else y
        y.sum().backward()
        return y, x.grad
    same(run(xpnn, xm), run(torch, tm))


INPLACE_REFUSED = {
    "add_": lambda y: y.add_(1),
    "mul_": lambda y: y.mul_(2),
    "relu_": lambda y: y.relu_(),
    "copy_": lambda y: y.copy_(y.detach().clone() if hasattr(y, "detach") else y),
    "clamp_": lambda y: y.clamp_(0, 1),
}


@pytest.mark.parametrize("op", list(INPLACE_REFUSED), ids=list(INPLACE_REFUSED))
@pytest.mark.parametrize("recorded", [False, True])
def test_inplace_on_expanded_view_raises(backend, op, recorded):
    def call(lib):
        x = _t(lib, np.ones((1, 3)), grad=recorded)
        x = x * 1 if recorded else x
        INPLACE_REFUSED[op](x.expand(4, 3))
    raises_like(call)
    with pytest.raises(RuntimeError, match=f"{op}: unsupported operation: more than one "
                                           "element"):
        call(xpnn)


@pytest.mark.parametrize("fill", ["fill_", "zero_"])
@pytest.mark.parametrize("recorded", [False, True])
def test_fill_of_expanded_view_fills_the_base(backend, fill, recorded):
    """torch allows the one write into an expanded tensor that is the same for every
    element: fill_ (and zero_) fill the base, recorded or not (torch's backward through it
    then refuses, xpnn's gives 0)."""
    def run(lib):
        x = _t(lib, np.arange(3.0)[None], grad=recorded)
        base = x * 1 if recorded else x
        y = base.expand(4, 3)
        getattr(y, fill)(*(() if fill == "zero_" else (2.5,)))
        return [y + 0, base + 0]
    same(run(xpnn), run(torch))


def test_inplace_through_size_one_expansion_reaches_the_base(backend):
    """expand that only adds dims of size 1 overlaps nothing: a write goes to the base."""
    def run(lib):
        x = _t(lib, np.arange(3.0))
        y = x.expand(1, 3)
        y.add_(1)
        return y, x
    same(run(xpnn), run(torch))


# -- reductions at their edges --------------------------------------------------------------
ROWS = np.array([[-np.inf] * 3, [0.0, 1.0, 2.0], [-np.inf, 0.0, -np.inf]])


def _call(fn, *arrays, **kw):
    """fn(lib) -> (lib, f): f applied to tensors of ``arrays`` that require grad; returns
    (output, inputs)."""
    def case(lib):
        xs = [_t(lib, a, grad=True) for a in arrays]
        return fn(lib)(*xs, **kw), xs
    return case


EDGES = {
    "softmax-row-of-neg-inf": _call(lambda lib: lib.softmax, ROWS, dim=1),
    "log_softmax-row-of-neg-inf": _call(lambda lib: lib.log_softmax, ROWS, dim=1),
    "F.softmax-row-of-neg-inf": _call(lambda lib: lib.nn.functional.softmax, ROWS, dim=1),
    "softmax-empty-dim": _call(lambda lib: lib.softmax, np.zeros((2, 0)), dim=1),
    "log_softmax-empty-dim": _call(lambda lib: lib.log_softmax, np.zeros((2, 0)), dim=1),
    "logsumexp-row-of-neg-inf": _call(lambda lib: lib.logsumexp, ROWS, dim=1),
    "logsumexp-empty-dim": _call(lambda lib: lib.logsumexp, np.zeros((2, 0)), dim=1),
    "normalize-zero-vector": _call(lambda lib: lib.nn.functional.normalize,
                                   [[0.0, 0, 0], [1, 2, 3]]),
    "cosine_similarity-zero-vectors": _call(lambda lib: lib.nn.functional.cosine_similarity,
                                            [[0.0, 0, 0], [1, 2, 3]], np.zeros((2, 3))),
    "mean-empty": _call(lambda lib: lib.mean, np.zeros(0)),
}


@pytest.mark.parametrize("case", list(EDGES), ids=list(EDGES))
def test_reduction_edges(backend, case):
    """Values and gradients as torch's (NaN where torch gives NaN), without NumPy warnings."""
    def run(lib):
        y, xs = EDGES[case](lib)
        y.sum().backward()
        return [y] + [x.grad for x in xs]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same(run(xpnn), run(torch))


def test_softmax_rows_of_neg_inf_gradients(backend):
    def run(lib, fn):
        x = _t(lib, ROWS[1:], grad=True)  # rows with some -inf: finite gradients
        w = _t(lib, np.arange(6.0).reshape(2, 3))
        (getattr(lib, fn)(x, 1) * w).sum().backward()
        return x.grad
    for fn in ("softmax", "log_softmax"):
        same(run(xpnn, fn), run(torch, fn))


SPREAD = {
    "std-one-value": lambda lib: lib.std(_t(lib, [1.5])),
    "var-one-value": lambda lib: lib.var(_t(lib, [1.5])),
    "var-correction-above-n": lambda lib: lib.var(_t(lib, [1.0, 2.0, 4.0]), correction=5),
    "std-correction-above-n": lambda lib: lib.std(_t(lib, [1.0, 2.0, 4.0]), correction=5),
    "var-dim-correction-n": lambda lib: lib.var(_t(lib, np.ones((2, 3))), dim=1, correction=3),
    "var-empty": lambda lib: lib.var(_t(lib, np.zeros(0))),
    "std_mean-correction-above-n": lambda lib: lib.std_mean(_t(lib, np.ones((2, 3))), dim=1,
                                                            correction=4),
    "method-std-one-row": lambda lib: _t(lib, np.ones((1, 3))).std(0),
}


@pytest.mark.parametrize("case", list(SPREAD), ids=list(SPREAD))
def test_var_std_with_no_degrees_of_freedom(backend, case):
    """n - correction <= 0: inf/NaN as torch, with torch's UserWarning and no NumPy one."""
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        ty = SPREAD[case](torch)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        xy = SPREAD[case](xpnn)
    assert [type(w.message) for w in got] == [UserWarning], [str(w.message) for w in got]
    assert "degrees of freedom is <= 0" in str(got[0].message)
    same(xy, ty)


def test_softmax_gradcheck_with_masked_entries(host_backend):
    x = xpnn.tensor(np.array([[0.3, -np.inf, 1.2], [0.5, 0.1, -0.7]]), dtype="float64",
                    requires_grad=True)
    for fn in (xpnn.softmax, xpnn.log_softmax):
        assert xpnn.gradcheck(lambda a: fn(a, 1).where(a > -np.inf, 0.0), x)

