"""RNN / LSTM / GRU and their cells: a PyTorch state dict loads and gives torch's outputs and
gradients (float64), float64 gradient checks of the fused layers, cross-backend parity in
float32, dropout between layers, and bad input."""
import numpy as np
import pytest
from conftest import to_np

import xpnn
from xpnn import nn
from xpnn.functional.recurrent import recurrent_layer

torch = pytest.importorskip("torch")

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)
# float64 against torch: same formulas, sums in another order, through ~10 steps
TWIN_TOL = 1e3 * EPS64
# float32 on another backend against NumPy float32: O(1) values through a short recurrence
PARITY_TOL = 100 * EPS32

CLASSES = {"RNN": (nn.RNN, torch.nn.RNN), "LSTM": (nn.LSTM, torch.nn.LSTM),
           "GRU": (nn.GRU, torch.nn.GRU)}
CELLS = {"RNNCell": (nn.RNNCell, torch.nn.RNNCell), "LSTMCell": (nn.LSTMCell,
                                                                torch.nn.LSTMCell),
         "GRUCell": (nn.GRUCell, torch.nn.GRUCell)}
IN, H, T, N = 3, 4, 5, 2


def _loss(out, state, lib):
    """A scalar touching every output, so every output's gradient path is exercised."""
    states = state if isinstance(state, tuple) else (state,)
    total = (out * out).sum()
    for k, s in enumerate(states):
        total = total + (s * (k + 2.0)).sum()
    return total


def _twin(name, **kw):
    ours_cls, torch_cls = {**CLASSES, **CELLS}[name]
    t = torch_cls(IN, H, dtype=torch.float64, **kw)
    ours = ours_cls(IN, H, dtype="float64", **kw)
    sd = {k: v.detach().numpy() for k, v in t.state_dict().items()}
    assert list(ours.state_dict()) == list(sd), "PyTorch's names, in PyTorch's order"
    ours.load_state_dict(sd)
    return ours, t


def _compare_grads(ours, t, pairs):
    for (n1, p1), (n2, p2) in zip(ours.named_parameters(), t.named_parameters()):
        assert n1 == n2
        np.testing.assert_allclose(to_np(p1.grad), p2.grad.numpy(), atol=TWIN_TOL, rtol=0,
                                   err_msg=n1)
    for x, tx in pairs:
        np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), atol=TWIN_TOL, rtol=0)


@pytest.mark.parametrize("name", list(CLASSES))
@pytest.mark.parametrize("layout", [
    dict(num_layers=2, bidirectional=True, batch_first=False),
    dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(num_layers=1, bidirectional=False, batch_first=True, bias=False),
])
def test_torch_state_dict_and_outputs(name, layout, rng):
    ours, t = _twin(name, **layout)
    D, L = (2 if layout["bidirectional"] else 1), layout["num_layers"]
    x = rng.standard_normal((N, T, IN) if layout["batch_first"] else (T, N, IN))
    hs = [rng.standard_normal((L * D, N, H)) for _ in range(2 if name == "LSTM" else 1)]
    tx, ths = torch.tensor(x, requires_grad=True), [torch.tensor(h, requires_grad=True)
                                                    for h in hs]
    ox = xpnn.tensor(x, dtype="float64", requires_grad=True)
    ohs = [xpnn.tensor(h, dtype="float64", requires_grad=True) for h in hs]
    t_out, t_state = t(tx, tuple(ths) if name == "LSTM" else ths[0])
    out, state = ours(ox, tuple(ohs) if name == "LSTM" else ohs[0])
    assert out.shape == tuple(t_out.shape)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), atol=TWIN_TOL, rtol=0)
    for s, ts in zip(state if name == "LSTM" else (state,),
                     t_state if name == "LSTM" else (t_state,)):
        assert s.shape == tuple(ts.shape)
        np.testing.assert_allclose(s.numpy(), ts.detach().numpy(), atol=TWIN_TOL, rtol=0)
    _loss(t_out, t_state, torch).backward()
    _loss(out, state, xpnn).backward()
    _compare_grads(ours, t, [(ox, tx)] + list(zip(ohs, ths)))


@pytest.mark.parametrize("name", ["GRU", "LSTM"])
def test_unbatched_and_zero_state_match_torch(name, rng):
    ours, t = _twin(name, num_layers=2)
    x = rng.standard_normal((T, IN))
    t_out, _ = t(torch.tensor(x))
    out, state = ours(xpnn.tensor(x, dtype="float64"))
    assert out.shape == (T, H)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), atol=TWIN_TOL, rtol=0)
    h_n = state[0] if name == "LSTM" else state
    assert h_n.shape == (2, H)


@pytest.mark.parametrize("name", list(CELLS))
def test_cells_match_torch(name, rng):
    ours, t = _twin(name)
    x, h, c = (rng.standard_normal(s) for s in ((N, IN), (N, H), (N, H)))
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h, c))
    ox, oh, oc = (xpnn.tensor(a, dtype="float64", requires_grad=True) for a in (x, h, c))
    lstm = name == "LSTMCell"
    t_new = t(tx, (th, tc) if lstm else th)
    new = ours(ox, (oh, oc) if lstm else oh)
    t_new, new = (t_new if lstm else (t_new,)), (new if lstm else (new,))
    for a, b in zip(new, t_new):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), atol=TWIN_TOL, rtol=0)
    _loss(t_new[0], tuple(t_new[1:]), torch).backward()
    _loss(new[0], tuple(new[1:]), xpnn).backward()
    _compare_grads(ours, t, [(ox, tx), (oh, th)] + ([(oc, tc)] if lstm else []))


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_float64(host_backend, mode, reverse, rng):
    backend = host_backend
    G = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    Hs, Is = 2, 2

    def t(shape):
        return xpnn.tensor(rng.standard_normal(shape) * 0.7, backend=backend, dtype="float64",
                           requires_grad=True)

    x, h0, c0 = t((3, 2, Is)), t((2, Hs)), t((2, Hs))
    ws = [t((G * Hs, Is)), t((G * Hs, Hs)), t((G * Hs,)), t((G * Hs,))]

    def fn(x, h0, c0, *ws):
        state = (h0, c0) if mode == "LSTM" else h0
        return recurrent_layer(mode, x, state, ws, reverse=reverse)

    assert xpnn.gradcheck(fn, x, h0, c0, *ws)


@pytest.mark.parametrize("name", list(CLASSES))
def test_cross_backend_parity(backend, name, rng):
    """The same seeded float32 model, batch and initial states give NumPy's outputs and
    gradients."""
    x = rng.standard_normal((N, T, IN)).astype(np.float32)
    hs = [rng.standard_normal((4, N, H)).astype(np.float32) for _ in range(2)]
    results = []
    for be in ("numpy", backend):
        xpnn.manual_seed(7)
        model = CLASSES[name][0](IN, H, num_layers=2, bidirectional=True, batch_first=True,
                                 backend=be)
        inp = xpnn.tensor(x, backend=be, requires_grad=True)
        h0, c0 = (xpnn.tensor(h, backend=be, requires_grad=True) for h in hs)
        out, state = model(inp, (h0, c0) if name == "LSTM" else h0)
        assert out.dtype == model.weight_ih_l0.dtype and out.backend == be
        _loss(out, state, xpnn).backward()
        results.append([to_np(out), to_np(inp.grad), to_np(h0.grad)] +
                       ([to_np(c0.grad)] if name == "LSTM" else []) +
                       [to_np(p.grad) for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, atol=PARITY_TOL, rtol=PARITY_TOL)


def test_dropout_between_layers(rng):
    xpnn.manual_seed(0)
    model = nn.LSTM(IN, H, num_layers=2, dropout=0.5)
    x = xpnn.tensor(rng.standard_normal((T, N, IN)))
    a, b = model(x)[0].numpy(), model(x)[0].numpy()
    assert not np.allclose(a, b), "training mode: a fresh dropout mask per call"
    model.eval()
    np.testing.assert_array_equal(model(x)[0].numpy(), model(x)[0].numpy())
    with pytest.warns(UserWarning, match="no effect with num_layers=1"):  # torch warns too
        one_layer = nn.LSTM(IN, H, dropout=0.5)
    np.testing.assert_array_equal(one_layer(x)[0].numpy(), one_layer(x)[0].numpy())


def test_graph_is_one_node_per_layer_direction(rng):
    out, _ = nn.LSTM(IN, H)(xpnn.tensor(rng.standard_normal((50, N, IN))))
    assert type(out._node).__name__ == "LSTMLayer"


@pytest.mark.parametrize("call, err, words", [
    (lambda m: m(np.zeros((2, 3, 4, 3), np.float32)), ValueError, ["LSTM", "xpnn.Size([2, 3, 4, 3])"]),
    (lambda m: m(np.zeros((5, 2, 7), np.float32)), ValueError, ["LSTM", "input_size=3",
                                                                "xpnn.Size([5, 2, 7])"]),
    (lambda m: m(np.zeros((5, 2, 3)), None), TypeError, ["LSTM", "float64", "float32"]),
    (lambda m: m(np.zeros((5, 2, 3), np.float32), (np.zeros((1, 2, 4), np.float32),) * 2),
     ValueError, ["LSTM", "h_0", "xpnn.Size([1, 2, 4])", "(2, 2, 4)", "(5, 2, 3)"]),
    (lambda m: m(np.zeros((5, 2, 3), np.float32), np.zeros((2, 2, 4), np.float32)),
     TypeError, ["LSTM", "pair"]),
])
def test_bad_input(call, err, words):
    model = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(err) as info:
        call(model)
    for w in words:
        assert w in str(info.value)


def test_bad_hidden_shape_for_cells_and_construction():
    with pytest.raises(ValueError, match=r"GRUCell.*xpnn.Size\(\[3, 5\]\).*\(2, 4\)"):
        nn.GRUCell(3, 4)(np.zeros((2, 3), np.float32), np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="hidden_size"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        nn.LSTM(3, 4, dropout=1.5)


PACKED = [("LSTM", {}), ("LSTM", {"bidirectional": True, "num_layers": 2}),
          ("LSTM", {"batch_first": True, "proj_size": 3}), ("GRU", {"batch_first": True}),
          ("RNN", {"bidirectional": True})]


@pytest.mark.parametrize("mode, kw", PACKED, ids=[f"{m}-{'-'.join(k) or 'plain'}"
                                                   for m, k in PACKED])
def test_packed_sequences_match_torch(backend, mode, kw, rng):
    """pack_padded_sequence (unsorted lengths) through RNN/LSTM/GRU and pad_packed_sequence,
    with a given initial state: the packed output, h_n (c_n) at each sequence's own last
    step, and the gradients of input and state, as PyTorch's."""
    lens, T, N, F_, H = [3, 5, 2, 5, 1], 5, 5, 4, 6
    bf = kw.get("batch_first", False)
    xs = rng.standard_normal((N, T, F_) if bf else (T, N, F_)).astype(np.float32)
    D = (2 if kw.get("bidirectional") else 1) * kw.get("num_layers", 1)
    hs = [rng.standard_normal((D, N, kw.get("proj_size") or H)).astype(np.float32)] + \
        ([rng.standard_normal((D, N, H)).astype(np.float32)] if mode == "LSTM" else [])
    got = []
    for lib in (torch, xpnn):
        def t(a, lib=lib):
            return torch.tensor(a, requires_grad=True) if lib is torch else \
                xpnn.tensor(a, backend=backend, requires_grad=True)
        layer = getattr(lib.nn, mode)(F_, H, **kw)
        if lib is torch:
            sd = {k: v.detach().numpy() for k, v in layer.state_dict().items()}
        else:
            layer.load_state_dict(sd)
            layer.to(backend)
        x, h = t(xs), [t(a) for a in hs]
        packed = lib.nn.utils.rnn.pack_padded_sequence(
            x, torch.tensor(lens) if lib is torch else lens, batch_first=bf,
            enforce_sorted=False)
        out, state = layer(packed, tuple(h) if mode == "LSTM" else h[0])
        y, y_lens = lib.nn.utils.rnn.pad_packed_sequence(out, batch_first=bf)
        states = list(state) if mode == "LSTM" else [state]
        loss = (y * y).sum()
        for s in states:
            loss = loss + (s * s).sum()
        loss.backward()
        got.append([to_np(v) for v in [out.data, out.batch_sizes, y, y_lens, *states,
                                       x.grad, *[a.grad for a in h]]])
    for ours, theirs in zip(got[1], got[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_pad_and_pack_utilities_match_torch(rng):
    seqs = [rng.standard_normal((n, 2)).astype(np.float32) for n in (3, 1, 4)]
    got = []
    for lib in (torch, xpnn):
        R = lib.nn.utils.rnn
        ts = [lib.tensor(s) for s in seqs]
        padded = R.pad_sequence(ts, batch_first=True, padding_value=-1.0)
        left = R.pad_sequence(ts, padding_side="left")
        packed = R.pack_sequence(ts, enforce_sorted=False)
        back = R.unpack_sequence(packed)
        unpadded = R.unpad_sequence(padded, lib.tensor([3, 1, 4]), batch_first=True)
        got.append([to_np(padded), to_np(left), to_np(packed.data), to_np(packed.batch_sizes),
                    to_np(packed.sorted_indices), *[to_np(b) for b in back],
                    *[to_np(u) for u in unpadded]])
        with pytest.raises(RuntimeError, match="sorted in decreasing order"):
            R.pack_sequence(ts)
    for ours, theirs in zip(got[1], got[0]):
        np.testing.assert_array_equal(ours, theirs)
