"""Gradients at the points where a function has no derivative (ties, zeros, bounds,
infinities, NaN), against PyTorch 2.13: there finite differences check nothing, and
PyTorch's backward picks a convention users rely on, so PyTorch's is the spec.

Each case of grad_edge_cases.py runs in float64 on torch (CPU autograd) and on every
backend of the ``backend`` fixture; the loss is a weighted sum of the float outputs (fixed
random weights, the same for both), and each input's gradient must equal torch's: the same
NaN and signed-inf positions, finite values within ``RTOL`` (plus ``RTOL / 100`` of the
largest magnitude, for entries that are rounding residue next to huge ones). The cases
that agreed from the start are kept: they are the regression net.

A case's ``how`` names the comparison where an exact one cannot hold:

* ``same``: the gradients as above.
* ``ties`` / ``ties0``: topk and kthvalue among equal values pick an implementation-defined
  index in PyTorch (its CPU kernels' partial sort), xpnn the first ones; the gradient summed
  over each group of equal values of a row (``ties0``: of a column) must agree.
* ``trigamma``: digamma's gradient; PyTorch's float64 trigamma is good to ~5e-10 relative
  (trigamma(1) = pi^2/6 + 8e-10), xpnn's to the last digits: compared within 1e-9.
* ``graph``: det at singular matrices. PyTorch's first-order backward gives 0 there, its
  ``create_graph=True`` backward the cofactor matrix (the true gradient); xpnn gives the
  cofactor matrix both ways and is compared with the latter.
* ``raises``: log-determinants of singular matrices. PyTorch hands back LAPACK's inf/NaN
  residue from a solve against a singular LU; xpnn raises LinAlgError naming the op.
"""
import functools
import warnings

import numpy as np
import pytest
from conftest import to_np
from grad_edge_cases import CASES

import xpnn

torch = pytest.importorskip("torch")

RTOL = 1e-10  # float64: room for sums taken in other orders around 1e-16 ulps
TRIGAMMA_RTOL = 1e-9  # PyTorch's trigamma series, see the module docstring


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [o for part in out for o in _flat(part)]
    return [out]


def _grads(m, fn, inputs, create_graph=False):
    """The outputs and the inputs' gradients of sum_k (w_k * out_k).sum() for module m."""
    if m is torch:
        ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in inputs]
    else:
        ts = [xpnn.tensor(a, dtype="float64").requires_grad_(True) for a in inputs]
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():  # NumPy's inf - inf and 0 * inf warnings in forwards
        warnings.simplefilter("ignore")
        outs = [o for o in _flat(fn(m, *ts)) if str(o.dtype).endswith("float64")]
        loss = 0
        for o in outs:
            w = rng.uniform(0.5, 1.5, tuple(o.shape))
            loss = loss + (o * (torch.tensor(w) if m is torch else
                                xpnn.tensor(w, dtype="float64"))).sum()
    if create_graph:
        gs = torch.autograd.grad(loss, ts, create_graph=True, allow_unused=True)
    else:
        loss.backward()  # outside catch_warnings: a backward that warns fails the test
        gs = [t.grad for t in ts]
    if m is torch:
        gs = [None if g is None else torch.zeros(g.shape, dtype=g.dtype)
              if g._is_zerotensor() else g.detach() for g in gs]
        return [o.detach().numpy() for o in outs], [None if g is None else g.numpy()
                                                     for g in gs]
    return [to_np(o.detach()) for o in outs], [None if g is None else to_np(g) for g in gs]


@functools.lru_cache(maxsize=None)
def _torch_reference(name):
    fn, inputs, how = CASES[name]
    return _grads(torch, fn, inputs, create_graph=how == "graph")


def _assert_same(x, t, what, rtol=RTOL):
    x, t = np.asarray(x), np.asarray(t)
    assert x.shape == t.shape, (what, x.shape, t.shape)
    np.testing.assert_array_equal(np.isnan(x), np.isnan(t), err_msg=f"{what}: NaN pattern")
    inf_x, inf_t = np.isinf(x), np.isinf(t)
    np.testing.assert_array_equal(inf_x, inf_t, err_msg=f"{what}: inf pattern")
    np.testing.assert_array_equal(x[inf_x], t[inf_t], err_msg=f"{what}: inf signs")
    finite = np.isfinite(t)
    scale = np.max(np.abs(t[finite]), initial=1.0)
    np.testing.assert_allclose(x[finite], t[finite], rtol=rtol, atol=rtol / 100 * scale,
                               err_msg=what)


def _tie_sums(g, x, axis):
    """The gradient summed over each group of equal values along ``axis``, row by row, as
    one flat array."""
    g, x = np.moveaxis(g, axis, -1), np.moveaxis(x, axis, -1)
    return np.array([g[r][x[r] == v].sum() for r in range(x.shape[0])
                     for v in np.unique(x[r])])


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_at_edge_matches_torch(backend, name):
    fn, inputs, how = CASES[name]
    if how == "raises":
        with pytest.raises(xpnn.linalg.LinAlgError, match="singular"):
            _grads(xpnn, fn, inputs)
        return
    t_outs, t_grads = _torch_reference(name)
    x_outs, x_grads = _grads(xpnn, fn, inputs)
    assert len(x_outs) == len(t_outs)
    for i, (xo, to) in enumerate(zip(x_outs, t_outs)):
        _assert_same(xo, to, f"{name} output {i}")
    for i, (xg, tg) in enumerate(zip(x_grads, t_grads)):
        zeros = np.zeros_like(inputs[i])  # an unreached input: None on one side, 0 on other
        xg, tg = (zeros if xg is None else xg), (zeros if tg is None else tg)
        what = f"{name} d/d input {i} at {inputs[i].tolist()}"
        if how in ("ties", "ties0"):
            axis = 0 if how == "ties0" else 1
            _assert_same(_tie_sums(xg, inputs[i], axis), _tie_sums(tg, inputs[i], axis),
                         what)
            continue
        _assert_same(xg, tg, what, TRIGAMMA_RTOL if how == "trigamma" else RTOL)


def test_cases_cover_the_edges():
    """The table's breadth: the number of cases stays at least what this round wrote."""
    assert len(CASES) >= 400
