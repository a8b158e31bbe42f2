"""``F.linear_cross_entropy`` and ``nn.LinearCrossEntropyLoss`` (PyTorch 2.13) against
PyTorch's, on every backend: the reference path (every target kind, K-dim weights, class
weights, ignore_index, label smoothing, each reduction), the chunked path (the same values
and gradients from row chunks whose logits are recomputed in the backward), the fallback
warning, the module's layout and state dict, and the argument errors."""
import sys

import numpy as np
import pytest

import xpnn
import xpnn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

from conftest import to_np  # noqa: E402

RNG = np.random.default_rng(2026)
N, D, C = 10, 6, 7
X = RNG.standard_normal((N, D)).astype(np.float32)
W = RNG.standard_normal((C, D)).astype(np.float32)
B = RNG.standard_normal(C).astype(np.float32)
CW = RNG.uniform(0.2, 2.0, C).astype(np.float32)
T = RNG.integers(0, C, N)
T_IGN = T.copy()
T_IGN[[1, 4]] = -100
PROBS = RNG.dirichlet(np.ones(C), N).astype(np.float32)


def _run(lib, make, x, w, b, target, **kw):
    """(loss, dX, dW, dB) of lib's linear_cross_entropy, the loss summed to a scalar."""
    ts = [make(a) if a is not None else None for a in (x, w, b)]
    for t in ts:
        if t is not None:
            t.requires_grad_(True)
    fn = F.linear_cross_entropy if lib is xpnn else TF.linear_cross_entropy
    if "weight" in kw and kw["weight"] is not None:
        kw = dict(kw, weight=make(kw["weight"]))
    loss = fn(ts[0], ts[1], make(target), linear_bias=ts[2], **kw)
    loss.sum().backward()
    return [to_np(loss)] + [None if t is None else to_np(t.grad) for t in ts]


def _compare(backend, x, w, b, target, tol=2e-5, xp_kw=None, **kw):
    def mk_x(a):
        return xpnn.tensor(a, backend=backend)
    got = _run(xpnn, mk_x, x, w, b, target, **dict(kw, **(xp_kw or {})))
    want = _run(torch, torch.tensor, x, w, b, target, **kw)
    for g, t in zip(got, want):
        if t is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, t, rtol=tol, atol=tol)


CASES = {
    "plain": dict(target=T),
    "bias+weights": dict(target=T, bias=True, weight=CW),
    "ignore+smoothing": dict(target=T_IGN, label_smoothing=0.1, weight=CW),
    "ignore_index=3": dict(target=T, ignore_index=3),
    "sum": dict(target=T_IGN, reduction="sum", bias=True),
    "none": dict(target=T_IGN, reduction="none", label_smoothing=0.2),
    "probabilities": dict(target=PROBS, label_smoothing=0.1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_reference_path_as_torch(backend, case):
    kw = dict(CASES[case])
    target, bias = kw.pop("target"), kw.pop("bias", False)
    _compare(backend, X, W, B if bias else None, target, **kw)


@pytest.mark.parametrize("case", [c for c in CASES if c != "probabilities"])
@pytest.mark.parametrize("chunk", [3, None], ids=["rows3", "aspect_ratio"])
def test_chunked_path_equals_torch(backend, case, chunk):
    """Row chunks, each recomputed in the backward: the values and gradients of the
    reference (and of PyTorch's), whatever the chunk size."""
    kw = dict(CASES[case])
    target, bias = kw.pop("target"), kw.pop("bias", False)
    opts = F.LinearCrossEntropyOptions(batch_chunk_size=chunk)
    _compare(backend, X, W, B if bias else None, target, xp_kw={"options": opts}, **kw)


def test_chunked_path_recomputes_each_chunk():
    """The chunk losses are checkpointed: the backward computes each chunk's logits again
    (counted through the linear layer's calls), so none is kept from the forward."""
    calls = []
    x = xpnn.tensor(X, requires_grad=True)
    w = xpnn.tensor(W, requires_grad=True)
    mod = sys.modules["xpnn.functional.linear_cross_entropy"]  # the module, not the function
    real = mod.linear

    def counting(*a, **k):
        calls.append(a[0].shape[0])
        return real(*a, **k)
    mod.linear = counting
    try:
        loss = F.linear_cross_entropy(x, w, xpnn.tensor(T),
                                      options=F.LinearCrossEntropyOptions(batch_chunk_size=4))
        forward = list(calls)
        loss.backward()
    finally:
        mod.linear = real
    assert forward == [4, 4, 2]  # no gradient kept: each chunk's logits made and dropped
    assert sorted(calls[3:]) == [2, 4, 4]  # and made again, one chunk at a time


def test_chunk_rows_follow_pytorchs_aspect_ratio_rule():
    from xpnn.functional.linear_cross_entropy import _chunk_rows
    opts = F.LinearCrossEntropyOptions()
    # N = 4096 rows of 512 features over 32,000 classes: ceil(32000/512) = 63 -> 66 rows ->
    # the next power of two, 128
    assert _chunk_rows(opts, 4096, 32000, 512) == 128
    assert _chunk_rows(F.LinearCrossEntropyOptions(batch_chunk_size=7), 4096, 32000, 512) == 7


def test_fallback_warns_and_takes_the_reference_path():
    opts = F.LinearCrossEntropyOptions(batch_chunk_size=2)
    with pytest.warns(UserWarning, match="takes the reference path"):
        got = F.linear_cross_entropy(xpnn.tensor(X), xpnn.tensor(W), xpnn.tensor(PROBS),
                                     options=opts)
    want = TF.linear_cross_entropy(torch.tensor(X), torch.tensor(W), torch.tensor(PROBS))
    np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-5)


def test_one_sample_and_k_dim_weights(backend):
    _compare(backend, X[0], W, B, np.int64(2))
    wk = RNG.standard_normal((C, 3, D)).astype(np.float32)
    bk = RNG.standard_normal((C, 3)).astype(np.float32)
    tk = RNG.integers(0, C, (N, 3))
    _compare(backend, X, wk, bk, tk, weight=CW, reduction="none")


def test_module_as_torch():
    for out_features, bias in (((), True), ((3,), False), ((2, 2), True)):
        m = xpnn.nn.LinearCrossEntropyLoss(D, C, out_features=out_features, bias=bias,
                                           label_smoothing=0.05)
        tm = torch.nn.LinearCrossEntropyLoss(D, C, out_features=out_features, bias=bias,
                                             label_smoothing=0.05)
        assert repr(m) == repr(tm)
        assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in tm.state_dict().items()}
        m.load_state_dict({k: xpnn.tensor(v.numpy()) for k, v in tm.state_dict().items()})
        target = RNG.integers(0, C, (N,) + out_features)
        got, want = m(xpnn.tensor(X), xpnn.tensor(target)), tm(torch.tensor(X),
                                                               torch.tensor(target))
        got.backward()
        want.backward()
        np.testing.assert_allclose(to_np(got), want.detach().numpy(), rtol=1e-5)
        np.testing.assert_allclose(to_np(m.linear.weight.grad), tm.linear.weight.grad.numpy(),
                                   rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.linear_cross_entropy(xpnn.zeros(2, 3, D), xpnn.tensor(W),
                                    xpnn.zeros(2, 3, dtype=xpnn.int64)),
     RuntimeError, "dimensionality 1 or 2, got 3"),
    (lambda: F.linear_cross_entropy(xpnn.tensor(X), xpnn.tensor(W), xpnn.tensor(T),
                                    options={"batch_chunk_size": 2}),
     TypeError, "options must be a LinearCrossEntropyOptions"),
    (lambda: F.LinearCrossEntropyOptions(batch_chunk_size=0), ValueError,
     "batch_chunk_size must be a positive int"),
    (lambda: F.LinearCrossEntropyOptions(acc_policy="fast"), ValueError, "acc_policy"),
    (lambda: xpnn.nn.LinearCrossEntropyLoss(D, C, weight=xpnn.ones(C + 1)), RuntimeError,
     r"expected weight shape to be \(7,\)"),
    (lambda: xpnn.nn.LinearCrossEntropyLoss(D, C, label_smoothing=1.5), RuntimeError,
     r"label_smoothing to be in range \[0, 1\]"),
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_chunked_path_of_an_empty_batch(reduction):
    """No rows: the chunked path gives what the reference gives (NaN mean, 0 sum, an empty
    vector), as PyTorch's; it indexed the first of no chunks before."""
    opts = F.LinearCrossEntropyOptions(batch_chunk_size=2)
    x = xpnn.zeros(0, D, requires_grad=True)
    got = F.linear_cross_entropy(x, xpnn.tensor(W), xpnn.zeros(0, dtype=xpnn.int64),
                                 reduction=reduction, options=opts)
    want = TF.linear_cross_entropy(torch.zeros(0, D), torch.tensor(W),
                                   torch.zeros(0, dtype=torch.int64), reduction=reduction)
    np.testing.assert_array_equal(to_np(got), want.numpy())
