"""ctc_loss / nn.CTCLoss: values and gradients against PyTorch 2.13 on every backend (padded
and concatenated targets, repeats, empty targets, impossible alignments, unbatched input),
a float64 gradient check, bad input, and a small LSTM that learns with it."""
import numpy as np
import pytest
from conftest import to_np

import xpnn
import xpnn.functional as F
from xpnn import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# The recursion adds T steps of log-sum-exp: the rounding error of a loss grows with T
# (T <= 40 here); the gradients are occupancies in [0, 1] and take the same bound.
TOL = {"float32": 300 * float(np.finfo(np.float32).eps),   # ~3.6e-5
       "float64": 1e6 * float(np.finfo(np.float64).eps)}   # ~2.2e-10


def _log_probs(rng, T, N, C):
    z = rng.standard_normal((T, N, C)) * 2
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


# name: (T, C, padded targets, input lengths, target lengths, blank)
CASES = {
    "padded": (8, 6, [[1, 2, 3, 0], [4, 4, 0, 0], [5, 1, 5, 2]], [8, 7, 5], [3, 2, 4], 0),
    # "a a" needs a blank between: 3 steps suffice for [2, 2], 2 do not (inf)
    "repeats": (3, 4, [[2, 2], [2, 2], [1, 3]], [3, 2, 2], [2, 2, 2], 0),
    "empty_targets": (5, 4, [[1, 2], [0, 0], [3, 0]], [5, 4, 0], [2, 0, 0], 0),
    "impossible": (4, 5, [[1, 1, 1], [1, 2, 3], [4, 4, 0]], [4, 2, 3], [3, 3, 2], 0),
    "blank_last": (6, 5, [[0, 1, 2], [3, 3, 3], [2, 0, 0]], [6, 6, 4], [3, 2, 1], 4),
    # PyTorch does not reject a target holding the blank: it is scored as written
    "blank_in_target": (5, 4, [[0, 1, 1], [2, 0, 3]], [5, 5], [3, 3], 0),
    "long": (40, 7, [[1, 2, 2, 3, 4, 5, 6, 6, 1, 2], [6, 5, 4, 3, 2, 1, 1, 1, 1, 1]],
             [40, 33], [10, 8], 0),
}


def _inputs(name, rng, dtype, concatenated, as_tuples, backend):
    T, C, tg, il, tl, blank = CASES[name]
    tg = np.asarray(tg, dtype=np.int64)
    lp = _log_probs(rng, T, len(il), C).astype(dtype)
    if concatenated:
        tg = np.concatenate([row[:n] for row, n in zip(tg, tl)])
    ours = (xpnn.tensor(lp, dtype=dtype, requires_grad=True), xpnn.tensor(tg),
            tuple(il) if as_tuples else xpnn.tensor(np.asarray(il)),
            list(tl) if as_tuples else xpnn.tensor(np.asarray(tl)))
    theirs = (torch.tensor(lp, requires_grad=True), torch.tensor(tg),
              tuple(il) if as_tuples else torch.tensor(il),
              tuple(tl) if as_tuples else torch.tensor(tl))
    return ours, theirs, blank


def _check(ours, theirs, blank, reduction, zero_infinity, dtype, weights):
    loss = F.ctc_loss(*ours, blank=blank, reduction=reduction, zero_infinity=zero_infinity)
    want = TF.ctc_loss(*theirs, blank=blank, reduction=reduction,
                       zero_infinity=zero_infinity)
    assert str(loss.dtype).endswith(dtype) and tuple(loss.shape) == tuple(want.shape)
    tol = TOL[dtype]
    # NaN and inf where PyTorch has them (assert_allclose takes NaN == NaN)
    np.testing.assert_allclose(loss.numpy(), want.detach().numpy(), rtol=tol, atol=tol)
    w = weights[:loss.shape[0]] if loss.ndim else weights[0]  # per-sample factors for "none"
    (loss * xpnn.tensor(w, dtype=dtype)).sum().backward()
    (want * torch.tensor(w.astype(dtype))).sum().backward()
    got_g, want_g = to_np(ours[0].grad), theirs[0].grad.numpy()
    assert got_g.dtype == want_g.dtype and got_g.shape == want_g.shape
    np.testing.assert_allclose(got_g, want_g, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(backend, name, dtype):
    """Every reduction, with and without zero_infinity, padded and concatenated targets,
    lengths as Tensors and as tuples/lists: loss and gradient equal PyTorch's."""
    rng = np.random.default_rng(7)
    weights = rng.uniform(0.5, 2.0, size=8)
    for concatenated in (False, True):
        for reduction in ("mean", "sum", "none"):
            for zero_infinity in (False, True):
                as_tuples = reduction == "sum"
                ours, theirs, blank = _inputs(name, np.random.default_rng(3), dtype,
                                              concatenated, as_tuples, backend)
                _check(ours, theirs, blank, reduction, zero_infinity, dtype, weights)


def test_impossible_alignment_is_inf_and_zero_infinity_zeroes_it(backend):
    """[1, 1] needs 3 steps: with 2 the loss is inf and its gradient NaN up to the input
    length (PyTorch's); zero_infinity makes both 0, the other sample untouched."""
    lp = _log_probs(np.random.default_rng(0), 3, 2, 3)
    args = (xpnn.tensor(np.array([[1, 1], [1, 2]])), (2, 3), (2, 2))
    x = xpnn.tensor(lp, dtype="float64", requires_grad=True)
    loss = F.ctc_loss(x, *args, reduction="none")
    assert np.isinf(loss.numpy()[0]) and np.isfinite(loss.numpy()[1])
    loss.sum().backward()
    g = to_np(x.grad)
    assert np.isnan(g[:2, 0]).all() and (g[2, 0] == 0).all() and np.isfinite(g[:, 1]).all()
    x2 = xpnn.tensor(lp, dtype="float64", requires_grad=True)
    loss2 = F.ctc_loss(x2, *args, reduction="none", zero_infinity=True)
    assert loss2.numpy()[0] == 0 and loss2.numpy()[1] == loss.numpy()[1]
    loss2.sum().backward()
    assert (to_np(x2.grad)[:, 0] == 0).all()
    np.testing.assert_array_equal(to_np(x2.grad)[:, 1], g[:, 1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unbatched_matches_torch(backend, dtype):
    """(T, C) log_probs with (S,) targets and 0-d or (1,) lengths: a 0-d loss."""
    lp = _log_probs(np.random.default_rng(5), 6, 1, 5)[:, 0].astype(dtype)
    for reduction in ("mean", "sum", "none"):
        for lengths in ((6, 3), (np.array([5]), np.array([3]))):
            il, tl = (np.asarray(v) for v in lengths)
            x = xpnn.tensor(lp, dtype=dtype, requires_grad=True)
            tx = torch.tensor(lp, requires_grad=True)
            loss = F.ctc_loss(x, xpnn.tensor(np.array([1, 3, 3])), xpnn.tensor(il),
                              xpnn.tensor(tl), reduction=reduction)
            want = TF.ctc_loss(tx, torch.tensor([1, 3, 3]), torch.tensor(il), torch.tensor(tl),
                               reduction=reduction)
            assert tuple(loss.shape) == () == tuple(want.shape)
            np.testing.assert_allclose(loss.numpy(), want.detach().numpy(), rtol=TOL[dtype])
            loss.backward()
            want.backward()
            np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=TOL[dtype],
                                       atol=TOL[dtype])


def test_gradcheck_through_log_softmax(host_backend):
    """Central differences in float64. PyTorch's (and so xpnn's) gradient is the one through
    a log_softmax that made log_probs (exp(lp) - occupancy), so the check runs on logits."""
    rng = np.random.default_rng(11)
    z = xpnn.tensor(rng.standard_normal((6, 3, 5)), dtype="float64", requires_grad=True)
    targets = xpnn.tensor(np.array([[1, 1, 2], [3, 4, 0], [2, 0, 0]]))
    for reduction in ("mean", "none"):
        assert xpnn.gradcheck(lambda v: F.ctc_loss(F.log_softmax(v, dim=2), targets, (6, 5, 3),
                                                   (3, 2, 1), reduction=reduction), z)


def test_gradient_convention_is_pytorchs():
    """d loss / d log_probs as PyTorch returns it = the partial derivative + exp(log_probs)
    inside each input length, 0 after it (checked on unnormalized log_probs, where the two
    differ)."""
    lp = np.random.default_rng(2).standard_normal((5, 2, 4)) - 1.5  # not normalized
    args = (xpnn.tensor(np.array([[1, 2], [3, 3]])), (5, 4), (2, 2))
    x = xpnn.tensor(lp, dtype="float64", requires_grad=True)
    F.ctc_loss(x, *args, reduction="sum").backward()
    eps, fd = 1e-6, np.zeros_like(lp)
    for idx in np.ndindex(*lp.shape):
        up, down = lp.copy(), lp.copy()
        up[idx] += eps
        down[idx] -= eps
        fd[idx] = (F.ctc_loss(xpnn.tensor(up, dtype="float64"), *args, reduction="sum").item()
                   - F.ctc_loss(xpnn.tensor(down, dtype="float64"), *args,
                                reduction="sum").item()) / (2 * eps)
    inside = (np.arange(5)[:, None] < np.array([5, 4]))[:, :, None]
    np.testing.assert_allclose(to_np(x.grad), np.where(inside, fd + np.exp(lp), 0.0),
                               atol=1e-7)


def test_module_matches_functional(backend):
    lp = _log_probs(np.random.default_rng(4), 6, 2, 5).astype("float32")
    args = (xpnn.tensor(np.array([[1, 2, 4], [3, 3, 0]])), (6, 5), (3, 2))
    for kw in ({}, {"blank": 0, "reduction": "sum", "zero_infinity": True},
               {"reduction": "none"}):
        got = nn.CTCLoss(**kw)(xpnn.tensor(lp), *args)
        want = torch.nn.CTCLoss(**kw)(torch.tensor(lp), torch.tensor([[1, 2, 4], [3, 3, 0]]),
                                      (6, 5), (3, 2))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=TOL["float32"])
    assert repr(nn.CTCLoss()) == repr(nn.CTCLoss(blank=2, zero_infinity=True)) == "CTCLoss()"
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="CTCLoss: blank must be an int >= 0"):
            nn.CTCLoss(blank=bad)
    with pytest.raises(ValueError, match="CTCLoss: reduction"):
        nn.CTCLoss(reduction="avg")


def _raises_like_torch(ours, theirs, exc, match):
    with pytest.raises(Exception):  # PyTorch raises for this input too
        theirs()
    with pytest.raises(exc, match=match):
        ours()


def test_bad_input(backend):
    lp = _log_probs(np.random.default_rng(0), 4, 2, 5).astype("float32")
    x, tx = xpnn.tensor(lp), torch.tensor(lp)
    tg, ttg = xpnn.tensor(np.array([[1, 2], [3, 4]])), torch.tensor([[1, 2], [3, 4]])
    il, tl = (4, 4), (2, 2)
    cases = [  # (our call, PyTorch's call, our error, message)
        (lambda: F.ctc_loss(xpnn.tensor(lp[None]), tg, il, tl),
         lambda: TF.ctc_loss(tx[None], ttg, il, tl), RuntimeError,
         r"ctc_loss: log_probs must be \(T, N, C\) .* got shape \(1, 4, 2, 5\)"),
        (lambda: F.ctc_loss(xpnn.tensor(np.zeros((4, 2, 5), np.int64)), tg, il, tl),
         lambda: TF.ctc_loss(tx.long(), ttg, il, tl), TypeError,
         "ctc_loss: log_probs must be floating .*int64"),
        (lambda: F.ctc_loss(x, tg, (5, 4), tl), lambda: TF.ctc_loss(tx, ttg, (5, 4), tl),
         RuntimeError, r"ctc_loss: input_lengths must be in \[0, T = 4\], got 5"),
        (lambda: F.ctc_loss(x, tg, (-1, 4), tl), lambda: TF.ctc_loss(tx, ttg, (-1, 4), tl),
         RuntimeError, r"ctc_loss: input_lengths must be in \[0, T = 4\], got -1"),
        (lambda: F.ctc_loss(x, tg, il, (3, 2)), lambda: TF.ctc_loss(tx, ttg, il, (3, 2)),
         RuntimeError, r"ctc_loss: target_lengths must be at most .* width 2 .* got 3"),
        (lambda: F.ctc_loss(x, tg, il, (-1, 2)), lambda: TF.ctc_loss(tx, ttg, il, (-1, 2)),
         RuntimeError, "ctc_loss: target_lengths must be >= 0, got -1"),
        (lambda: F.ctc_loss(x, tg, il, tl, blank=5), lambda: TF.ctc_loss(tx, ttg, il, tl,
                                                                         blank=5),
         RuntimeError, r"ctc_loss: blank must be in label range \[0, 5\), got 5"),
        (lambda: F.ctc_loss(x, tg, il, tl, blank=-1), lambda: TF.ctc_loss(tx, ttg, il, tl,
                                                                          blank=-1),
         RuntimeError, "ctc_loss: blank must be in label range"),
        (lambda: F.ctc_loss(x, tg, (4, 4, 4), tl), lambda: TF.ctc_loss(tx, ttg, (4, 4, 4), tl),
         RuntimeError, r"ctc_loss: input_lengths must be of size batch_size \(2\)"),
        (lambda: F.ctc_loss(x, tg, xpnn.tensor(np.array([4.0, 4.0])), tl),
         lambda: TF.ctc_loss(tx, ttg, torch.tensor([4.0, 4.0]), torch.tensor(tl)),
         RuntimeError, "ctc_loss: input_lengths must be integral, got dtype float"),
        (lambda: F.ctc_loss(x, xpnn.tensor(np.array([1, 2, 3])), il, tl),
         lambda: TF.ctc_loss(tx, torch.tensor([1, 2, 3]), il, tl), RuntimeError,
         r"ctc_loss: concatenated targets must hold sum\(target_lengths\) = 4 labels, got "
         r"shape \(3,\)"),
        (lambda: F.ctc_loss(x, xpnn.tensor(np.array([[1, 2]])), il, tl),
         lambda: TF.ctc_loss(tx, torch.tensor([[1, 2]]), il, tl), RuntimeError,
         r"ctc_loss: padded targets of shape \(1, 2\) must have 2 rows"),
        (lambda: F.ctc_loss(x, xpnn.tensor(np.zeros((2, 2, 1), np.int64)), il, tl),
         lambda: TF.ctc_loss(tx, torch.zeros((2, 2, 1), dtype=torch.long), il, tl),
         RuntimeError, r"ctc_loss: targets must be padded \(N, S\) or concatenated 1-D"),
        (lambda: F.ctc_loss(x, tg, il, tl, reduction="avg"),
         lambda: TF.ctc_loss(tx, ttg, il, tl, reduction="avg"), ValueError,
         "ctc_loss: reduction must be one of"),
        (lambda: F.ctc_loss(xpnn.tensor(lp[:0]), tg, (0, 0), (0, 0)),
         lambda: TF.ctc_loss(tx[:0], ttg, (0, 0), (0, 0)), RuntimeError,
         "ctc_loss: log_probs must not be empty"),
    ]
    for ours, theirs, exc, match in cases:
        _raises_like_torch(ours, theirs, exc, match)
    # PyTorch reads memory out of bounds for a label >= C; xpnn refuses it where the labels
    # are on the host, and gives that sample a NaN loss on a device (no sync per call)
    bad = xpnn.tensor(np.array([[1, 7], [3, 4]]))
    if xpnn.backend.get_backend().on_host:
        with pytest.raises(IndexError, match=r"ctc_loss: targets must be labels in \[0, 5\)"
                                             r" \(C = 5 classes\), got \[7\]"):
            F.ctc_loss(x, bad, il, tl)
    else:
        np.testing.assert_array_equal(np.isnan(F.ctc_loss(x, bad, il, tl,
                                                          reduction="none").numpy()),
                                      [True, False])
    # floating labels are cast to int64, as torch does (tests/test_sweep_surface.py)
    np.testing.assert_array_equal(
        F.ctc_loss(x, xpnn.tensor(np.array([[1.0, 2.0], [3.0, 4.0]])), il, tl).numpy(),
        F.ctc_loss(x, xpnn.tensor(np.array([[1, 2], [3, 4]])), il, tl).numpy())


def test_device_lengths_out_of_range_give_nan_not_a_sync():
    """On array-api-strict's device1 (which refuses host reads like CuPy) lengths that live
    there are not read back: an input length past T makes that sample's loss NaN."""
    xpnn.set_default_backend("array_api_strict", "device1")
    try:
        lp = _log_probs(np.random.default_rng(0), 4, 2, 5).astype("float32")
        loss = F.ctc_loss(xpnn.tensor(lp), xpnn.tensor(np.array([[1, 2], [3, 4]])),
                          xpnn.tensor(np.array([5, 4])), xpnn.tensor(np.array([2, 2])),
                          reduction="none")
        got = loss.numpy()
        assert np.isnan(got[0]) and np.isfinite(got[1])
        # concatenated targets with device lengths: no host read for the longest target
        lp = _log_probs(np.random.default_rng(1), 6, 2, 5)
        loss = F.ctc_loss(xpnn.tensor(lp, dtype="float64"), xpnn.tensor(np.array([1, 2, 2, 3])),
                          xpnn.tensor(np.array([6, 5])), xpnn.tensor(np.array([1, 3])),
                          reduction="none")
        want = TF.ctc_loss(torch.tensor(lp), torch.tensor([1, 2, 2, 3]), (6, 5), (1, 3),
                           reduction="none")
        np.testing.assert_allclose(loss.numpy(), want.numpy(), rtol=TOL["float64"])
    finally:
        xpnn.set_default_backend("numpy")


def test_lstm_learns_with_ctc():
    """A toy recognition task: each frame shows a symbol (0: silence), held for 1-3 frames;
    the target is the symbol sequence (repeats kept where silence separates them). A small
    LSTM trained with CTC brings the loss down and decodes most sequences exactly."""
    rng = np.random.default_rng(0)
    xpnn.manual_seed(0)
    N, T, V = 32, 14, 4  # V symbols 1..V, class 0 is the blank
    X = np.zeros((T, N, V + 1), np.float32)
    targets, lengths = [], []
    for n in range(N):
        t, seq = 0, []
        while True:
            sym, hold = int(rng.integers(1, V + 1)), int(rng.integers(1, 4))
            if t + hold + 1 > T or len(seq) == 4:
                break
            X[t:t + hold, n, sym] = 1
            X[t + hold, n, 0] = 1  # silence after each symbol
            t += hold + 1
            seq.append(sym)
        X[t:, n, 0] = 1
        targets.append(seq)
        lengths.append(len(seq))
    flat = xpnn.tensor(np.array([s for seq in targets for s in seq]))
    X = xpnn.tensor(X + 0.3 * rng.standard_normal(X.shape).astype(np.float32))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(V + 1, 24)
            self.out = nn.Linear(24, V + 1)

        def forward(self, x):
            return F.log_softmax(self.out(self.rnn(x)[0]), dim=2)

    model, ctc = Model(), nn.CTCLoss()
    opt = xpnn.optim.Adam(model.parameters(), lr=0.03)
    losses = []
    for _ in range(80):
        loss = ctc(model(X), flat, (T,) * N, tuple(lengths))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0], losses[::10]
    best = np.argmax(model(X).numpy(), axis=2)  # greedy decoding: collapse, drop blanks
    decoded = [[int(c) for i, c in enumerate(best[:, n]) if c and (i == 0 or c != best[i - 1, n])]
               for n in range(N)]
    assert sum(d == t for d, t in zip(decoded, targets)) >= 0.8 * N
