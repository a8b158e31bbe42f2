"""RNN / LSTM / GRU over a PackedSequence (one fused node per layer and direction whose batch
shrinks as sequences end, xpnn/functional/recurrent_packed.py): outputs, h_n (c_n) and the
gradients of input, initial state and weights against torch 2.13 on every backend, float64
gradient checks of the packed layers, the no-grad path, and bad input."""
import numpy as np
import pytest
from conftest import to_np

import xpnn
from xpnn import nn
from xpnn.functional.recurrent_packed import packed_recurrent_layer

torch = pytest.importorskip("torch")

EPS64 = float(np.finfo(np.float64).eps)
# float64 against torch: the same formulas with sums in another order, through <= 6 steps of
# O(1) values (a few hundred ulps at most)
TOL = 1e3 * EPS64

# (class, constructor kwargs, lengths, enforce_sorted, initial state given)
CASES = [
    ("LSTM", {}, [5, 3, 3, 1], True, True),
    ("LSTM", dict(num_layers=2, bidirectional=True), [2, 5, 3, 5, 1, 3], False, True),
    ("LSTM", dict(proj_size=3, batch_first=True, bidirectional=True), [4, 1, 6], False, True),
    ("LSTM", dict(bidirectional=True), [4, 4, 4], True, False),  # all lengths equal
    ("LSTM", dict(num_layers=2, proj_size=2), [1, 3, 2], False, False),
    ("GRU", dict(bidirectional=True, batch_first=True), [3, 5, 2, 5, 1], False, True),
    ("GRU", dict(num_layers=2), [3, 3], True, True),
    ("GRU", dict(bias=False), [1], True, True),  # one sequence of one step
    ("RNN", dict(num_layers=2, bidirectional=True), [2, 4, 4, 1], False, True),
    ("RNN", dict(nonlinearity="relu", bidirectional=True), [5, 2, 2, 1], True, True),
    ("RNN", dict(nonlinearity="relu", batch_first=True, bias=False), [1, 1, 3], False, False),
]
IDS = [f"{c}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'plain'}-{lens}"
       for c, kw, lens, *_ in CASES]


def _run(lib, layer, xs, hs, lens, kw, enforce_sorted, backend=None):
    """Packs ``xs``, runs ``layer`` and pads back; returns the values to compare (outputs,
    states, then the gradients of the input, the states and every parameter)."""
    def t(a):
        return torch.tensor(a, requires_grad=True) if lib is torch else \
            xpnn.tensor(a, backend=backend, dtype="float64", requires_grad=True)

    bf = kw.get("batch_first", False)
    x, h = t(xs), [t(a) for a in hs]
    R = lib.nn.utils.rnn
    packed = R.pack_padded_sequence(x, torch.tensor(lens) if lib is torch else lens,
                                    batch_first=bf, enforce_sorted=enforce_sorted)
    lstm = isinstance(layer, (torch.nn.LSTM, nn.LSTM))
    hx = (tuple(h) if lstm else h[0]) if h else None
    out, state = layer(packed, hx)
    y, y_lens = R.pad_packed_sequence(out, batch_first=bf)
    states = list(state) if lstm else [state]
    loss = (y * y).sum()
    for k, s in enumerate(states):  # weights differ per state: both paths get distinct grads
        loss = loss + (s * s * (k + 2.0)).sum()
    loss.backward()
    return ([out.data, out.batch_sizes, y, y_lens, *states, x.grad, *[a.grad for a in h]] +
            [p.grad for p in layer.parameters()])


@pytest.mark.parametrize("name, kw, lens, enforce_sorted, with_state", CASES, ids=IDS)
def test_packed_matches_torch(backend, name, kw, lens, enforce_sorted, with_state, rng):
    N, T, F_, H = len(lens), max(lens), 3, 4
    bf = kw.get("batch_first", False)
    xs = rng.standard_normal((N, T, F_) if bf else (T, N, F_))
    D = (2 if kw.get("bidirectional") else 1) * kw.get("num_layers", 1)
    hs = [rng.standard_normal((D, N, kw.get("proj_size") or H))] + \
        ([rng.standard_normal((D, N, H))] if name == "LSTM" else [])
    theirs_layer = getattr(torch.nn, name)(F_, H, dtype=torch.float64, **kw)
    ours_layer = getattr(nn, name)(F_, H, dtype="float64", **kw)
    ours_layer.load_state_dict({k: v.detach().numpy()
                                for k, v in theirs_layer.state_dict().items()})
    ours_layer.to(backend)
    hs = hs if with_state else []
    theirs = _run(torch, theirs_layer, xs, hs, lens, kw, enforce_sorted)
    ours = _run(xpnn, ours_layer, xs, hs, lens, kw, enforce_sorted, backend)
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a is not None, f"item {k}: no gradient"
        a, b = to_np(a), b.detach().numpy()
        assert a.shape == b.shape and a.dtype == b.dtype, (k, a.shape, b.shape, a.dtype)
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0, err_msg=f"item {k}")


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "LSTM_PROJ", "GRU"])
@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_float64(host_backend, mode, reverse, rng):
    """Finite differences through the packed layer: ties, a length-1 sequence, rows that stop
    in the middle (sizes 4, 3, 3, 1)."""
    proj = mode == "LSTM_PROJ"
    mode = "LSTM" if proj else mode
    G = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    Hs, Is, P = 3, 2, 2 if proj else 3
    sizes = [4, 3, 3, 1]

    def t(shape):
        return xpnn.tensor(rng.standard_normal(shape) * 0.7, backend=host_backend,
                           dtype="float64", requires_grad=True)

    x, h0, c0 = t((sum(sizes), Is)), t((4, P)), t((4, Hs))
    ws = [t((G * Hs, Is)), t((G * Hs, P)), t((G * Hs,)), t((G * Hs,))] + \
        ([t((P, Hs))] if proj else [])

    def fn(x, h0, c0, *ws):
        state = (h0, c0) if mode == "LSTM" else h0
        return packed_recurrent_layer(mode, x, sizes, state, ws, reverse=reverse, proj=proj)

    assert xpnn.gradcheck(fn, x, h0, c0, *ws)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_no_grad_and_one_node(backend, name, rng):
    """Without a graph nothing is saved and the values are the same; with one, each layer
    and direction is one node."""
    xpnn.manual_seed(3)
    layer = getattr(nn, name)(3, 5, backend=backend)
    seqs = [xpnn.tensor(rng.standard_normal((n, 3)).astype(np.float32), backend=backend)
            for n in (2, 6, 1, 6)]
    packed = nn.utils.rnn.pack_sequence(seqs, enforce_sorted=False)
    out, _ = layer(packed)
    assert type(out.data._node).__name__ == f"Packed{name}Layer"
    assert out.data.dtype == layer.weight_ih_l0.dtype and out.data.backend == backend
    with xpnn.no_grad():
        again, _ = layer(packed)
    np.testing.assert_array_equal(to_np(again.data), to_np(out.data))


def test_bad_input():
    layer = nn.LSTM(3, 4, num_layers=2)
    R = nn.utils.rnn
    packed = R.pack_sequence([xpnn.zeros(4, 5), xpnn.zeros(2, 5)])
    with pytest.raises(ValueError, match=r"LSTM.*input_size=3.*\[6, 5\]"):
        layer(packed)
    packed = R.pack_sequence([xpnn.zeros(4, 3), xpnn.zeros(2, 3)])
    with pytest.raises(ValueError, match=r"LSTM: h_0 .*\(2, 2, 4\)"):
        layer(packed, (xpnn.zeros(2, 3, 4), xpnn.zeros(2, 2, 4)))
    with pytest.raises(TypeError, match="LSTM.*float64"):
        layer(R.pack_sequence([xpnn.zeros(2, 3, dtype="float64")]))
