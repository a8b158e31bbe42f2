"""Double backward (create_graph=True) of the fused recurrent layers (RNN, LSTM, GRU, their
cells, bidirectional, multi-layer, projections, packed sequences), setitem, scatter_reduce,
logcumsumexp and grid_sample: second derivatives and Hessian-vector products against
PyTorch 2.13 on every backend, gradgradcheck; embedding_bag refuses the second
differentiation as PyTorch does."""
import numpy as np
import pytest
from conftest import to_np
from test_double_backward import _second
from test_double_backward_more import _check, _directions, _inputs

import xpnn

torch = pytest.importorskip("torch")

# float64 against torch float64: the same math summed in other orders (the recurrent layers
# recomputed cell by cell against torch's fused kernels), so a few hundred ulps of the
# largest values (~1e2 here) is the spread
TOL = 1e-10


def F(m):
    return m.nn.functional


def _module(m, kind, args, kw):
    """The layer of module ``m`` (xpnn or torch) in float64 (its own parameters unused:
    functional_call passes the test's)."""
    return getattr(m.nn, kind)(*args, **kw, dtype=m.float64)


def _recurrent(kind, args, kw, states, packed=None):
    """(fn, input shapes) of a recurrent layer: fn(m, x, *states, *params) runs the layer
    with those parameters and returns its outputs flattened and concatenated. ``packed``:
    the sequence lengths, the input packed (batch_first, unsorted) and padded back."""
    ref = _module(torch, kind, args, kw)
    names = [n for n, _ in ref.named_parameters()]
    shapes = [tuple(p.shape) for _, p in ref.named_parameters()]
    cell = kind.endswith("Cell")
    lstm = kind.startswith("LSTM")

    def fn(m, x, *rest):
        mod = _module(m, kind, args, kw)
        hx = rest[:len(states)]
        params = dict(zip(names, rest[len(states):]))
        hx = (tuple(hx) if lstm else hx[0]) if hx else None
        inp = x
        if packed is not None:
            inp = m.nn.utils.rnn.pack_padded_sequence(x, m.tensor(packed), batch_first=True,
                                                      enforce_sorted=False)
        out = m.func.functional_call(mod, params, (inp, hx))
        if cell:
            outs = list(out) if lstm else [out]
        else:
            y, h = out
            if packed is not None:
                y = m.nn.utils.rnn.pad_packed_sequence(y, batch_first=True)[0]
            outs = [y] + (list(h) if lstm else [h])
        return m.cat([o.reshape(-1) for o in outs])

    return fn, shapes


def _rec(kind, args, kw=None, x=(4, 2, 3), states=((1, 2, 4),), packed=None):
    fn, pshapes = _recurrent(kind, args, kw or {}, states, packed)
    return fn, [x, *states] + pshapes


def _ix(m):
    return m.tensor([[0, 2, 2], [1, 1, 3]])


def _set_basic(m, x, v):
    y = x * x
    y[0, 1:3] = v * v
    return y * x


def _set_advanced(m, x, v):
    y = x * 2
    y[m.tensor([2, 0]), 1:] = v.exp()
    return y * y


def _set_broadcast(m, x, v):
    y = x.sin()
    y[:, None, 1] = v * x[0, 0]  # v (1, 1) broadcast, a None in the key
    return y ** 2


def _grid(m, x, g, **kw):
    return F(m).grid_sample(x, g * 0.8, **kw) ** 2


_RECURRENT = {
    "rnn_tanh": _rec("RNN", (3, 4)),
    "rnn_relu_bidir_2layer": _rec("RNN", (3, 4), dict(nonlinearity="relu", num_layers=2,
                                                      bidirectional=True),
                                  states=((4, 2, 4),)),
    "lstm": _rec("LSTM", (3, 4), states=((1, 2, 4), (1, 2, 4))),
    "lstm_proj_bidir_2layer": _rec("LSTM", (3, 4), dict(proj_size=2, num_layers=2,
                                                        bidirectional=True),
                                   states=((4, 2, 2), (4, 2, 4))),
    "lstm_no_state": _rec("LSTM", (3, 4), dict(bias=False), states=()),
    "gru_batch_first": _rec("GRU", (3, 4), dict(batch_first=True), x=(2, 4, 3)),
    "gru_bidir_2layer_no_bias": _rec("GRU", (3, 4), dict(num_layers=2, bidirectional=True,
                                                         bias=False), states=((4, 2, 4),)),
    "lstm_packed": _rec("LSTM", (3, 4), x=(3, 4, 3), states=(), packed=[4, 2, 3]),
    "gru_packed_bidir": _rec("GRU", (3, 4), dict(bidirectional=True), x=(2, 3, 3),
                             states=(), packed=[1, 3]),
    "rnn_cell": _rec("RNNCell", (3, 4), x=(2, 3), states=((2, 4),)),
    "lstm_cell": _rec("LSTMCell", (3, 4), x=(2, 3), states=((2, 4), (2, 4))),
    "gru_cell": _rec("GRUCell", (3, 4), x=(3,), states=((4,),)),
}
CASES = {
    **_RECURRENT,
    "setitem_basic": (_set_basic, [(3, 4), (2,)]),
    "setitem_advanced": (_set_advanced, [(3, 4), (2, 3)]),
    "setitem_broadcast": (_set_broadcast, [(3, 4), (1, 1)]),
    "index_put": (lambda m, x, v: (x * x).index_put((m.tensor([0, 2]), m.tensor([1, 1])),
                                                    v * v, accumulate=True) * x,
                  [(3, 4), (2,)]),
    "logcumsumexp": (lambda m, x: m.logcumsumexp(x * 3, 1), [(3, 5)]),
    "logcumsumexp_dim0": (lambda m, x: m.logcumsumexp(x, 0) * x, [(4, 2, 3)]),
    "grid_bilinear": (lambda m, x, g: _grid(m, x, g, align_corners=False),
                      [(2, 2, 4, 5), (2, 3, 2, 2)]),
    "grid_border_corners": (lambda m, x, g: _grid(m, x, g, padding_mode="border",
                                                  align_corners=True),
                            [(1, 2, 4, 5), (1, 3, 4, 2)]),
    "grid_reflection": (lambda m, x, g: _grid(m, x, g, padding_mode="reflection",
                                              align_corners=False),
                        [(1, 2, 4, 5), (1, 3, 4, 2)]),
    "grid_reflection_corners": (lambda m, x, g: _grid(m, x, g, padding_mode="reflection",
                                                      align_corners=True),
                                [(1, 2, 4, 5), (1, 3, 4, 2)]),
    "grid_nearest": (lambda m, x, g: _grid(m, x, g, mode="nearest", align_corners=False),
                     [(1, 2, 4, 5), (1, 3, 4, 2)]),
    "grid_3d": (lambda m, x, g: _grid(m, x, g, padding_mode="border", align_corners=False),
                [(1, 2, 3, 4, 3), (1, 2, 2, 3, 3)]),
}
for _r in ("sum", "prod", "mean", "amax", "amin"):
    for _inc in (True, False):
        CASES[f"scatter_reduce_{_r}_{'self' if _inc else 'noself'}"] = (
            lambda m, x, s, r=_r, inc=_inc: m.scatter_reduce(x, 1, _ix(m), s, r,
                                                             include_self=inc) ** 2,
            [(2, 5), (2, 3)])


@pytest.mark.parametrize("name", list(CASES))
def test_second_derivatives_match_torch(name, backend):
    fn, shapes = CASES[name]
    host, xs, ts = _inputs(shapes, 0, backend)
    v, w, tv, tw = _directions(fn(torch, *ts).shape, host, backend)
    _check(*_second(xpnn, fn, xs, v, w), *_second(torch, fn, ts, tv, tw))


# torch.autograd.functional.hvp differentiates the backward at a zero output gradient (its
# double-vjp trick), where torch 2.13's logcumsumexp backward takes log(0) and gives NaN
TORCH_HVP_NAN = {"logcumsumexp", "logcumsumexp_dim0"}


@pytest.mark.parametrize("name", list(CASES))
def test_hessian_vector_product_matches_torch(name, backend):
    fn, shapes = CASES[name]
    host, xs, ts = _inputs(shapes, 3, backend)
    v, w, tv, tw = _directions(fn(torch, *ts).shape, host, backend)
    v, tv = v.detach(), tv.detach()
    out, hv = xpnn.autograd.functional.hvp(lambda *a: (fn(xpnn, *a) * v).sum(),
                                           tuple(x.detach() for x in xs), tuple(w))
    tf = lambda *a: (fn(torch, *a) * tv).sum()  # noqa: E731
    if name in TORCH_HVP_NAN:  # torch's reference the other way: d<grad, w>/dx
        tout = tf(*ts)
        tgs = torch.autograd.grad(tout, ts, create_graph=True)
        thv = torch.autograd.grad(sum((g * wi).sum() for g, wi in zip(tgs, tw)), ts)
        tout = tout.detach()
    else:
        tout, thv = torch.autograd.functional.hvp(tf, tuple(t.detach() for t in ts), tuple(tw))
    np.testing.assert_allclose(to_np(out), tout.numpy(), rtol=TOL, atol=TOL)
    for h, th in zip(hv, thv):
        np.testing.assert_allclose(to_np(h), th.numpy(), rtol=TOL, atol=TOL)


# the recurrent layers again, smaller: gradgradcheck's cost grows with the square of the
# number of inputs' entries
SMALL = {
    "rnn_relu_bidir_2layer": _rec("RNN", (2, 2), dict(nonlinearity="relu", num_layers=2,
                                                      bidirectional=True),
                                  x=(3, 1, 2), states=((4, 1, 2),)),
    "lstm": _rec("LSTM", (2, 2), x=(3, 1, 2), states=((1, 1, 2), (1, 1, 2))),
    "lstm_proj_bidir": _rec("LSTM", (2, 2), dict(proj_size=1, bidirectional=True),
                            x=(2, 1, 2), states=((2, 1, 1), (2, 1, 2))),
    "gru_batch_first": _rec("GRU", (2, 2), dict(batch_first=True), x=(1, 3, 2),
                            states=((1, 1, 2),)),
    "gru_packed_bidir": _rec("GRU", (2, 2), dict(bidirectional=True, bias=False),
                             x=(2, 3, 2), states=(), packed=[1, 3]),
    "rnn_cell": CASES["rnn_cell"],
    "lstm_cell": _rec("LSTMCell", (2, 2), x=(1, 2), states=((1, 2), (1, 2))),
    "gru_cell": _rec("GRUCell", (2, 2), x=(2,), states=((2,),)),
}
GRADGRAD = {**{n: c for n, c in CASES.items() if n not in _RECURRENT}, **SMALL}


# finite differences step over the kinks of relu and of grid_sample's corners only with
# probability ~0 at these draws; on NumPy alone (the other backends agree with torch to
# 1e-10 above, and their finite differences would cost minutes of CI for nothing new)
@pytest.mark.parametrize("name", list(GRADGRAD))
def test_gradgradcheck(name):
    fn, shapes = GRADGRAD[name]
    _, xs, _ = _inputs(shapes, 2, "numpy")
    assert xpnn.autograd.gradgradcheck(lambda *a: fn(xpnn, *a), *xs)


def _zeros_case(m, backend=None):
    """scatter_reduce "prod" with zeros: a target whose own entry is 0, targets with one zero
    source (with and without a zero entry of their own)."""
    kw = {} if m is torch else {"backend": backend}
    x = m.tensor([[1.5, 0.0, 2.0, -1.0, 0.5], [0.7, 1.2, 0.0, 3.0, -2.0]], dtype=m.float64,
                 requires_grad=True, **kw)
    s = m.tensor([[0.0, 1.3, -0.4], [0.0, 0.8, 0.0]], dtype=m.float64, requires_grad=True,
                 **kw)
    idx = m.tensor([[0, 1, 1], [2, 2, 4]], **kw)
    return x, s, idx


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_zeros_match_torch(include_self, backend):
    def fn(m, x, s):
        return m.scatter_reduce(x, 1, m.tensor([[0, 1, 1], [2, 2, 4]]), s, "prod",
                                include_self=include_self) ** 2
    x, s, _ = _zeros_case(xpnn, backend)
    tx, ts, _ = _zeros_case(torch)
    host = [to_np(x), to_np(s)]
    v, w, tv, tw = _directions((2, 5), host, backend)
    _check(*_second(xpnn, fn, [x, s], v, w), *_second(torch, fn, [tx, ts], tv, tw))
    if backend == "numpy":
        assert xpnn.autograd.gradgradcheck(lambda a, b: fn(xpnn, a, b), x, s)


def test_scatter_reduce_prod_two_zero_sources_first_order_only(backend):
    """Two zero sources at one target: the gradient comes back (torch's values) and
    requires grad; differentiating it again raises, as in PyTorch."""
    res = []
    for m in (xpnn, torch):
        kw = {} if m is torch else {"backend": backend}
        x = m.tensor([[1.5, 2.0, 0.5]], dtype=m.float64, requires_grad=True, **kw)
        s = m.tensor([[0.0, 0.0, 3.0]], dtype=m.float64, requires_grad=True, **kw)
        y = m.scatter_reduce(x, 1, m.tensor([[1, 1, 2]]), s, "prod")
        gx, gs = m.autograd.grad((y * y).sum(), (x, s), create_graph=True)
        assert gs.requires_grad
        with pytest.raises(RuntimeError):
            m.autograd.grad(gs.sum(), (x, s))
        res.append((to_np(gx.detach()), to_np(gs.detach())))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


def test_scatter_reduce_source_larger_than_index(host_backend):
    """Source entries past the index's extent get a zero gradient, in any order (torch
    2.13 fails on these shapes even in first order: its reference takes the source sliced
    to the index's extent)."""
    def fn(m, x, s, r):
        return m.scatter_reduce(x, 1, _ix(m), s, r, include_self=False) ** 2
    host, xs, ts = _inputs([(2, 5), (3, 4)], 5, host_backend)
    for r in ("prod", "mean"):
        v, w, tv, tw = _directions((2, 5), host, host_backend)
        _check(*_second(xpnn, lambda m, x, s: fn(m, x, s, r), xs, v, w),
               *_second(torch, lambda m, x, s: fn(m, x, s[:2, :3], r), ts, tv, tw))
        assert xpnn.autograd.gradgradcheck(lambda *a: fn(xpnn, *a, r), *xs)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_double_backward_refuses_as_torch(mode, backend):
    """torch 2.13 has no derivative of embedding_bag's backward: create_graph gives the
    first-order gradient (requiring grad), and differentiating it raises RuntimeError."""
    res = []
    for m in (xpnn, torch):
        kw = {} if m is torch else {"backend": backend}
        w = m.tensor(np.random.default_rng(0).standard_normal((6, 3)), dtype=m.float64,
                     requires_grad=True, **kw)
        p = m.tensor([0.5, -1.0, 2.0, 1.5, 0.3], dtype=m.float64, requires_grad=True, **kw)
        psw = p if mode == "sum" else None
        y = F(m).embedding_bag(m.tensor([0, 2, 1, 3, 5]), w, m.tensor([0, 2]), mode=mode,
                               per_sample_weights=psw)
        gs = m.autograd.grad((y ** 3).sum(), (w, p) if psw is not None else (w,),
                             create_graph=True)
        for g in gs:
            assert g.requires_grad
            with pytest.raises(RuntimeError, match="derivative"):
                m.autograd.grad((g * g).sum(), w, retain_graph=True)
        res.append([to_np(g.detach()) for g in gs])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


def test_lstm_maml_step_matches_torch(backend):
    """MAML with a recurrent learner: one inner SGD step with create_graph, the outer loss
    differentiated through it w.r.t. the initial weights (the second derivatives of the
    fused LSTM)."""
    torch.manual_seed(0)
    ref = torch.nn.LSTM(3, 4, batch_first=True).double()
    net = xpnn.nn.LSTM(3, 4, batch_first=True, dtype=xpnn.float64)
    net.load_state_dict({k: xpnn.tensor(v.detach().numpy(), dtype=xpnn.float64)
                         for k, v in ref.state_dict().items()})
    net.to(backend)
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((2, 2, 5, 3)), rng.standard_normal((2, 2, 4))
    res = []
    for m, mod in ((xpnn, net), (torch, ref)):
        params = dict(mod.named_parameters())

        def loss(p, i):
            x = m.tensor(xs[i], dtype=m.float64)
            out = m.func.functional_call(mod, p, (x,))[0][:, -1]
            return ((out - m.tensor(ys[i], dtype=m.float64)) ** 2).mean()
        grads = m.autograd.grad(loss(params, 0), list(params.values()), create_graph=True)
        fast = {k: p - 0.5 * g for (k, p), g in zip(params.items(), grads)}
        outer = m.autograd.grad(loss(fast, 1), list(params.values()))
        res.append([to_np(g) for g in outer])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)
