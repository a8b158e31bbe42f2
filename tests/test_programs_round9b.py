"""Checks found while writing the round-9b tutorial programs (tests/pytorch_programs/tutorials/
ema_teacher.py, newton_func.py, packed_gru.py, retrieval_triplet.py, sparse_autoencoder.py).

* The printed-line comparison's cosmetic rule (harness.COSMETIC) kept ", dtype=torch.float64)"
  of a tensor repr, but not the same text when a long repr wraps and "dtype=" starts the
  continuation line (the Newton program's fitted float64 weight), which then read as a
  difference from xpnn's repr. Fixed in the rule.
* ``t.dtype.is_floating_point`` raises on xpnn's NumPy backend: a Tensor's dtype is the
  backend's (numpy.dtype), not a torch-like dtype object. Not fixed here (Tensor.dtype is
  read all over the library); the test below pins the gap (strict xfail), and the
  ema_teacher program's runs are marked with it.
* On a backend without a native scatter-add (array-api-strict) gather's backward, scatter
  and scatter_add wrote their flat positions by a one-hot product over the whole flat
  array, quadratic in the batch: the sparse autoencoder's topk + scatter took 2 s a call
  and the program 165 s (0.2 s on NumPy). They now write along the dim
  (xpnn/functional/gather_portable.py), checked against torch below, and a bool scatter,
  which the flat product refused there, works.
"""
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import to_np  # noqa: E402
from pytorch_programs import harness  # noqa: E402

import xpnn  # noqa: E402


def _masked(text):
    return harness.cosmetic(harness.masked_lines(text))


def test_cosmetic_rule_keeps_a_wrapped_repr_dtype():
    """A float64 tensor whose repr wraps before ``dtype=`` compares equal after the rule, and
    a bare printed dtype is still mapped to xpnn's bare name."""
    w = np.array([2.2127, -2.4451, 0.5725, 0.0404, 1.2123, -0.8419])
    t, x = torch.tensor(w, dtype=torch.float64), xpnn.tensor(w, dtype=xpnn.float64)
    want = f"fitted weight {t!r}\n{t.dtype}"
    got = f"fitted weight {x!r}\n{x.dtype}".replace("xpnn", "torch")
    assert "\n       dtype=torch.float64)" in want
    assert harness.masked_lines(got) == _masked(want)


@pytest.mark.xfail(strict=True, reason="xpnn's Tensor.dtype is the backend's dtype "
                   "(numpy.dtype on NumPy, README 'Printing'), which has no "
                   ".is_floating_point; ema_teacher's buffer EMA stops there")
def test_dtype_is_floating_point():
    """``t.dtype.is_floating_point`` (timm's ModelEma picks the buffers to average by it) as
    torch 2.13 answers it, for a float32 parameter and an int64 BatchNorm counter."""
    tm, xm = torch.nn.BatchNorm1d(3), xpnn.nn.BatchNorm1d(3)
    want = [b.dtype.is_floating_point for b in tm.buffers()]
    got = [b.dtype.is_floating_point for b in xm.buffers()]
    assert want == [True, True, False]
    assert got == want


# float64 throughout: sums of a few products, so agreement to 1e-12 (eps * 1e4) is loose
TOL = 1e-12

# (input shape, dim, index shape): the index a corner of the input in the other dims,
# longer than the input along dim for scatter_add / gather
CASES = [((5,), 0, (7,)), ((4, 6), 1, (3, 8)), ((4, 6), 0, (9, 2)), ((3, 4, 5), 2, (3, 2, 7)),
         ((3, 4, 5), 1, (2, 6, 5)), ((3, 4, 5), 0, (5, 4, 1))]


def _pair(rng, shape, dim, ishape, unique=False):
    n = shape[dim]
    if unique:  # scatter: one writer per position, as PyTorch's result is defined then
        ishape = tuple(min(a, n) if d == dim else a for d, a in enumerate(ishape))
        keys = rng.random(ishape[:dim] + (n,) + ishape[dim + 1:])
        index = np.argsort(keys, axis=dim).take(range(ishape[dim]), axis=dim)
    else:
        index = rng.integers(0, n, size=ishape)
    return index.astype(np.int64), rng.standard_normal(ishape)


@pytest.mark.parametrize("shape,dim,ishape", CASES)
def test_gather_scatter_against_torch(backend, rng, shape, dim, ishape):
    """Values and gradients (input and src) of gather, scatter_add and scatter equal torch's,
    float64 within TOL."""
    x0 = rng.standard_normal(shape)
    idx, src = _pair(rng, shape, dim, ishape)
    uidx, usrc = _pair(rng, shape, dim, ishape, unique=True)
    weights = [rng.standard_normal(ishape), rng.standard_normal(shape),
               rng.standard_normal(shape)]
    got = {}
    for lib in (torch, xpnn):
        x = lib.tensor(x0, dtype=lib.float64, requires_grad=True)
        s = lib.tensor(src, dtype=lib.float64, requires_grad=True)
        us = lib.tensor(usrc, dtype=lib.float64, requires_grad=True)
        w = [lib.tensor(v, dtype=lib.float64) for v in weights]
        g = lib.gather(x, dim, lib.tensor(idx))
        a = lib.scatter_add(x, dim, lib.tensor(idx), s)
        c = x.scatter(dim, lib.tensor(uidx), us)
        ((g * w[0]).sum() + (a * w[1]).sum() + (c * w[2]).sum()).backward()
        got[lib.__name__] = [g, a, c, x.grad, s.grad, us.grad]
    for name, want, have in zip("gather scatter_add scatter dx dsrc dsrc_scatter".split(),
                                got["torch"], got["xpnn"]):
        assert tuple(have.shape) == tuple(want.shape), name
        assert xpnn.float64 == have.dtype, name  # strict dtypes compare one way only
        np.testing.assert_allclose(to_np(have), want.detach().numpy(), rtol=TOL, atol=TOL,
                                   err_msg=name)


def test_topk_scatter_into_zeros_against_torch(backend, rng):
    """The sparse autoencoder's top-k: relu, topk, scatter of the values into zeros, and the
    gradient back through both, with float32 inputs (tolerance 4 eps)."""
    z0 = rng.standard_normal((16, 32)).astype(np.float32)
    w0 = rng.standard_normal((16, 32)).astype(np.float32)
    got = {}
    for lib in (torch, xpnn):
        z = lib.tensor(z0, requires_grad=True)
        pre = lib.nn.functional.relu(z)
        values, indices = lib.topk(pre, 5, dim=-1)
        codes = lib.zeros_like(pre).scatter(-1, indices, values)
        (codes * lib.tensor(w0)).sum().backward()
        got[lib.__name__] = [codes, indices, z.grad]
    tol = 4 * np.finfo(np.float32).eps
    for want, have in zip(got["torch"], got["xpnn"]):
        assert tuple(have.shape) == tuple(want.shape)
        np.testing.assert_allclose(to_np(have), want.detach().numpy(), rtol=tol, atol=tol)


def test_scatter_add_keeps_infinities_apart(backend):
    """+inf and -inf added into the same position give NaN, only there (torch's values); a
    position written twice by scatter gets one of the values' mean on the portable path."""
    x = xpnn.zeros(2, 3, dtype=xpnn.float64)
    idx = xpnn.tensor([[0, 0, 2], [1, 1, 1]])
    src = xpnn.tensor([[np.inf, -np.inf, 1.0], [np.inf, 2.0, 3.0]], dtype=xpnn.float64)
    out = to_np(xpnn.scatter_add(x, 1, idx, src))
    want = torch.zeros(2, 3, dtype=torch.float64).scatter_add(
        1, torch.tensor([[0, 0, 2], [1, 1, 1]]), torch.tensor(to_np(src))).numpy()
    np.testing.assert_array_equal(out, want)
    ints = xpnn.zeros(2, 3, dtype=xpnn.int64).scatter(1, xpnn.tensor([[2], [0]]),
                                                      xpnn.tensor([[7], [9]]))
    assert to_np(ints).tolist() == [[0, 0, 7], [9, 0, 0]]
    assert xpnn.int64 == ints.dtype
    # bools write too (the flat path's one-hot product refused them on array-api-strict)
    flags = xpnn.ones(2, 3, dtype=xpnn.bool).scatter(1, xpnn.tensor([[1], [2]]), False)
    assert to_np(flags).tolist() == [[True, False, True], [True, True, False]]


def test_portable_scatter_cost_follows_the_dim():
    """On array-api-strict, topk + scatter over 256 rows of 256 features (and back) takes
    about as long as over 64 rows times 4: linear in the rows, where the flat one-hot path
    grew with their square (16x the work at 4x the rows)."""
    def seconds(rows):
        xpnn.set_default_backend("array_api_strict")
        try:
            z = xpnn.randn(rows, 256, requires_grad=True)
            start = time.perf_counter()
            for _ in range(3):
                v, i = xpnn.topk(z, 8, dim=-1)
                xpnn.zeros_like(z).scatter(-1, i, v).sum().backward()
            return time.perf_counter() - start
        finally:
            xpnn.set_default_backend("numpy")
    seconds(16)
    small, big = seconds(64), seconds(256)
    assert big < 10 * small + 0.05, (small, big)


def test_mean_teacher_steps_against_torch(backend):
    """The ema_teacher program's update, run deterministically from torch's initial weights:
    4 SGD steps of a BatchNorm MLP under CE + kl_div(log_target=True, "batchmean")
    against a deepcopy'd teacher, the teacher's EMA by mul_/add_ and its floating buffers'
    by lerp_, and AveragedModel(multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True):
    the last loss, both models' eval outputs and state_dicts equal torch's (float32: 1e-5,
    about 100 eps at values near 1). (SGD, not Adam: the Linear bias before BatchNorm gets
    a gradient of rounding noise, which Adam's normalisation would blow up to lr.)"""
    import copy
    from importlib import import_module
    got = {}
    for lib in (torch, xpnn):
        su = import_module(lib.__name__ + ".optim.swa_utils")
        F = lib.nn.functional
        r = np.random.default_rng(0)
        m = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.ReLU(),
                              lib.nn.Linear(4, 2))
        if lib is torch:
            init = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
        else:
            m.load_state_dict({k: xpnn.tensor(v) for k, v in init.items()})
        teacher = copy.deepcopy(m)
        teacher.requires_grad_(False)
        ema = su.AveragedModel(m, multi_avg_fn=su.get_ema_multi_avg_fn(0.9), use_buffers=True)
        opt = lib.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        for _ in range(4):
            x = lib.tensor(r.standard_normal((8, 3)).astype(np.float32))
            y = lib.tensor(r.integers(0, 2, 8))
            m.train()
            teacher.train()
            student_lp = F.log_softmax(m(x), 1)
            with lib.no_grad():
                teacher_lp = F.log_softmax(teacher(x + 0.1), 1)
            loss = F.cross_entropy(m(x), y) + F.kl_div(student_lp, teacher_lp, log_target=True,
                                                      reduction="batchmean")
            opt.zero_grad()
            loss.backward()
            opt.step()
            with lib.no_grad():
                for t, s in zip(teacher.parameters(), m.parameters()):
                    t.mul_(0.9).add_(s, alpha=0.1)
                for t, s in zip(teacher.buffers(), m.buffers()):
                    if lib.is_floating_point(t):
                        t.lerp_(s, 0.1)
            ema.update_parameters(m)
        ema.eval()
        teacher.eval()
        xe = lib.tensor(r.standard_normal((5, 3)).astype(np.float32))
        with lib.no_grad():
            got[lib.__name__] = ([("loss", loss), ("teacher", teacher(xe)), ("ema", ema(xe))]
                                 + list(teacher.state_dict().items())
                                 + list(ema.state_dict().items()))
    assert [k for k, _ in got["xpnn"]] == [k for k, _ in got["torch"]]
    for (name, have), (_, want) in zip(got["xpnn"], got["torch"]):
        want = want.detach().numpy()
        assert tuple(have.shape) == want.shape, name
        np.testing.assert_allclose(to_np(have).astype(np.float64), want.astype(np.float64),
                                   rtol=1e-5, atol=1e-5, err_msg=name)
