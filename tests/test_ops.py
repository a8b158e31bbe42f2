"""Every op in xpnn.functional, from the case table in cases.py: float64 gradient checks on
every backend, forward and backward against PyTorch autograd, float32 in -> float32 out,
and batched-equals-row-by-row."""
import numpy as np
import pytest
from cases import ELSEWHERE, OPS, TF, host_inputs, to_torch, to_xpnn
from conftest import needs_torch, to_np

import xpnn
import xpnn.functional as F
from xpnn.backend import dtype_name

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)
# float64 against PyTorch: the same formulas, summed in other orders -> a few thousand eps
TWIN_TOL = 1e4 * EPS64
# array_api_strict has no erf; the portable Abramowitz-Stegun 7.1.26 form is good to 1.5e-7
ERF_APPROX_TOL = 5e-7
# float32 on a backend against float64 on NumPy: rounding of O(1) values through a few ops
F32_TOL = 200 * EPS32
# one row alone against the same row in a batch: BLAS may block the sums differently
ROW_TOL = 16 * EPS32

OUR_MODULES = ("activation", "elementwise", "linalg", "loss", "reduce", "shape", "dropout",
               "indexing", "distance", "padding", "upsampling", "gather", "sorting",
               "rearrange", "einsum", "scan", "stats", "products", "pointwise", "layout",
               "indexops", "scatter_reduction", "setops", "cdist", "moremath", "special",
               "grid", "unary", "compare",  # unary, compare: split out of elementwise
               "activation_pointwise", "activation_more", "loss_pointwise",
               "loss_more",  # split out of activation and loss
               "reduce_basic")  # split out of reduce


def _skip_unsupported(case, backend):
    if backend == "array_api_strict" and not case.strict:
        pytest.skip(f"{case.name}: not expressible in array_api_strict")


def _cotangent(shape, seed=1):
    return np.asarray(np.random.default_rng(seed).standard_normal(shape))


def test_every_functional_op_has_a_case():
    """A new op in these modules must join the table (or ELSEWHERE, saying where it is
    tested)."""
    # by function, not name: an alias (F.cat for F.concat) is covered by its target's cases
    covered = {getattr(F, c.name.split(":")[0]) for c in OPS} | \
        {getattr(F, n) for n in ELSEWHERE}
    ours = {n for n in F.__all__ if callable(getattr(F, n))
            and getattr(getattr(F, n), "__module__", "").rsplit(".", 1)[-1] in OUR_MODULES}
    assert {n for n in ours if getattr(F, n) not in covered} == set()
    assert len({c.name for c in OPS}) == len(OPS), "case names must be unique"


@pytest.mark.parametrize("case", OPS, ids=repr)
def test_gradcheck_float64(case, host_backend):
    backend = host_backend
    _skip_unsupported(case, backend)
    inputs = to_xpnn(case.args, host_inputs(case.args), backend, "float64")
    assert any(t.requires_grad for t in inputs)
    assert xpnn.gradcheck(case.fn, *inputs)


@pytest.mark.parametrize("case", [c for c in OPS if c.ref is not None], ids=repr)
def test_matches_torch_autograd(case, backend):
    """Forward values and input gradients equal torch's, in float64, on every backend."""
    torch = pytest.importorskip("torch")
    _skip_unsupported(case, backend)
    host = host_inputs(case.args)
    xs = to_xpnn(case.args, host, backend, "float64")
    ts = to_torch(case.args, host)
    out, ref = case.fn(*xs), case.ref(*ts)
    tol = TWIN_TOL
    if backend == "array_api_strict" and case.name == "gelu:exact":
        tol = ERF_APPROX_TOL
    assert out.shape == tuple(ref.shape)
    assert dtype_name(out.dtype) == "float64"
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=tol, atol=tol)
    w = _cotangent(out.shape)
    (out * xpnn.tensor(w, backend=backend, dtype="float64")).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        if x.requires_grad:
            assert x.grad is not None, f"input {i} got no gradient"
            assert tuple(x.grad.shape) == x.shape
            np.testing.assert_allclose(xpnn.to_numpy(x.grad), t.grad.numpy(), rtol=tol,
                                       atol=tol, err_msg=f"{case.name}: input {i}")


@pytest.mark.parametrize("case", OPS, ids=repr)
def test_float32_in_float32_out(case, backend):
    """float32 inputs give float32 outputs and gradients (no silent float64), with values
    close to the float64 NumPy result."""
    _skip_unsupported(case, backend)
    host = host_inputs(case.args)
    ref = to_xpnn(case.args, host, "numpy", "float64")
    xs = to_xpnn(case.args, host, backend, "float32")
    out, ref_out = case.fn(*xs), case.fn(*ref)
    assert dtype_name(out.dtype) == "float32", case.name
    assert out.shape == ref_out.shape
    values = not case.random  # a random op draws other numbers in float32 / elsewhere
    if values:
        np.testing.assert_allclose(out.numpy(), ref_out.numpy(), rtol=F32_TOL, atol=F32_TOL)
    w = _cotangent(out.shape)
    out.backward(xpnn.tensor(w, backend=backend, dtype="float32"))
    ref_out.backward(xpnn.tensor(w, backend="numpy", dtype="float64"))
    for i, (x, r) in enumerate(zip(xs, ref)):
        if x.requires_grad:
            assert dtype_name(x.grad.dtype) == "float32", f"{case.name}: input {i}"
            assert tuple(x.grad.shape) == x.shape
            if values:
                    np.testing.assert_allclose(xpnn.to_numpy(x.grad), r.grad, rtol=F32_TOL,
                                           atol=F32_TOL, err_msg=f"{case.name}: input {i}")


@pytest.mark.parametrize("case", [c for c in OPS if c.rowwise], ids=repr)
def test_batched_equals_row_by_row(case, backend):
    """Row i of a batched call (value and input gradient) equals the call on row i alone."""
    _skip_unsupported(case, backend)
    host = host_inputs(case.args)
    xs = to_xpnn(case.args, host, backend, "float32")
    out = case.fn(*xs)
    out.backward(xpnn.tensor(np.ones(out.shape), backend=backend, dtype="float32"))
    n = host[case.rowwise[0]].shape[0]
    assert out.shape[0] == n
    for i in range(n):
        rows = [h[i:i + 1] if k in case.rowwise else h for k, h in enumerate(host)]
        xi = to_xpnn(case.args, rows, backend, "float32")
        oi = case.fn(*xi)
        np.testing.assert_allclose(oi.numpy(), out.numpy()[i:i + 1], rtol=ROW_TOL,
                                   atol=ROW_TOL, err_msg=f"{case.name}: row {i}")
        oi.backward(xpnn.tensor(np.ones(oi.shape), backend=backend, dtype="float32"))
        for k in case.rowwise:
            if xi[k].requires_grad:
                np.testing.assert_allclose(xpnn.to_numpy(xi[k].grad),
                                           xpnn.to_numpy(xs[k].grad)[i:i + 1],
                                           rtol=ROW_TOL, atol=ROW_TOL,
                                           err_msg=f"{case.name}: grad of input {k}, row {i}")


# -- gradcheck checks itself ----------------------------------------------------------------
class _WrongSquare(xpnn.Function):
    """x^2 with a backward that is right everywhere except (when asked) at one element."""

    def forward(self, X, bad=None):
        self.X, self.bad = X, bad
        return X * X

    def backward(self, dY):
        dX = 2 * self.X * dY
        if self.bad is None:
            return dX * 0.5  # wrong everywhere: x instead of 2x
        mask = self.xp.zeros(dX.shape, dtype=dX.dtype, device=self.be.device)
        mask[self.bad] = 1.0
        return dX + mask  # wrong only at element ``bad``


class _WrongSecondInput(xpnn.Function):
    def forward(self, A, B):
        self.A, self.B = A, B
        return A * B

    def backward(self, dY):
        return dY * self.B, dY * self.B  # dB should be dY * A


def test_gradcheck_names_input_and_element_of_a_wrong_backward(backend):
    x = xpnn.tensor(np.linspace(0.5, 2.0, 6).reshape(2, 3), dtype="float64",
                    requires_grad=True)
    with pytest.raises(xpnn.GradcheckError, match=r"input 0, element \(1, 2\)"):
        xpnn.gradcheck(lambda t: _WrongSquare.apply(t, bad=(1, 2)), x)
    with pytest.raises(xpnn.GradcheckError, match=r"input 0, element \(\d, \d\): analytic"):
        xpnn.gradcheck(lambda t: _WrongSquare.apply(t), x)
    a = xpnn.tensor(np.ones(3), dtype="float64", requires_grad=True)
    b = xpnn.tensor(np.array([1.5, 2.0, 3.0]), dtype="float64", requires_grad=True)
    with pytest.raises(xpnn.GradcheckError, match=r"input 1, element \(\d,\)"):
        xpnn.gradcheck(_WrongSecondInput.apply, a, b)
    # the right backward passes
    assert xpnn.gradcheck(lambda t: t * t, x)


def test_gradcheck_rejects_float32_and_no_grad_inputs():
    x32 = xpnn.tensor(np.ones(3), dtype="float32", requires_grad=True)
    with pytest.raises(TypeError, match="input 0 is float32"):
        xpnn.gradcheck(F.exp, x32)
    with pytest.raises(ValueError, match="requires_grad"):
        xpnn.gradcheck(F.exp, xpnn.tensor(np.ones(3), dtype="float64"))


@needs_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_with_masked_logits_matches_torch(backend, reduction, weighted):
    """Logits of -inf (a masked class) on classes a row does not name, ignored rows among
    them: a finite loss and gradient as in PyTorch (a one-hot product gave 0 * -inf = NaN)."""
    import torch
    inf = float("inf")
    logits = np.array([[0.0, -inf, 1.0, 2.0], [-inf, 3.0, -inf, 0.5], [-inf, 0.0, 1.0, 0.0],
                       [1.0, 2.0, -inf, 0.0]], np.float32)
    y = np.array([0, 1, -100, 3])  # row 2 is ignored, and its class 0 is masked
    w = np.array([0.5, 2.0, 1.0, 1.5], np.float32)
    kw = {"reduction": reduction, "ignore_index": -100}
    tx = torch.tensor(logits, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tx, torch.tensor(y), **kw,
                                           weight=torch.tensor(w) if weighted else None)
    tl.sum().backward()
    for fn in (F.cross_entropy, lambda a, b, **k: F.nll_loss(F.log_softmax(a, dim=1), b, **k)):
        x = xpnn.tensor(logits, backend=backend, requires_grad=True)
        loss = fn(x, xpnn.tensor(y, backend=backend), **kw,
                  weight=xpnn.tensor(w, backend=backend) if weighted else None)
        loss.sum().backward()
        np.testing.assert_allclose(xpnn.to_numpy(loss), tl.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(xpnn.to_numpy(x.grad), tx.grad.numpy(), rtol=1e-6,
                                   atol=1e-7)


@needs_torch
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_of_a_batch_with_every_label_ignored(backend, smoothing, weighted):
    """Every label ignored (a padding-only batch): the mean's total weight is 0, the loss NaN
    and the gradient 0, as in PyTorch; 0 * inf made the gradient NaN, which the next
    optimizer step would have written into every weight."""
    import torch
    logits = np.random.default_rng(3).standard_normal((2, 3, 4)).astype(np.float32)
    y = np.full((2, 4), -100)  # (N, C, d) input: classes along dim 1
    w = np.array([0.5, 2.0, 1.0], np.float32)
    kw = {"ignore_index": -100, "label_smoothing": smoothing}
    tx = torch.tensor(logits, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tx, torch.tensor(y), **kw,
                                           weight=torch.tensor(w) if weighted else None)
    tl.backward()
    fns = [F.cross_entropy]
    if not smoothing:
        fns.append(lambda a, b, label_smoothing, **k: F.nll_loss(F.log_softmax(a, dim=1), b,
                                                                 **k))
    for fn in fns:
        x = xpnn.tensor(logits, backend=backend, requires_grad=True)
        loss = fn(x, xpnn.tensor(y, backend=backend), **kw,
                  weight=xpnn.tensor(w, backend=backend) if weighted else None)
        loss.backward()
        assert np.isnan(xpnn.to_numpy(loss)) and np.isnan(tl.item())
        np.testing.assert_array_equal(xpnn.to_numpy(x.grad), tx.grad.numpy())
        np.testing.assert_array_equal(tx.grad.numpy(), 0)


@needs_torch
@pytest.mark.parametrize("shape", [(4, 3), (3,), (2, 3, 4)])
@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.2, "reduction": "sum"},
                                {"weighted": True, "reduction": "none"}])
def test_cross_entropy_probability_targets_get_a_gradient(backend, shape, kw):
    """Class probabilities that require a gradient (a teacher trained with its student) get
    one, as in PyTorch: d loss / d q_ic = -(1 - s) w_c log softmax(x)_ic; they had none."""
    import torch
    kw = dict(kw)
    rng = np.random.default_rng(5)
    logits, q = rng.standard_normal(shape), rng.random(shape)
    w = np.array([0.5, 2.0, 1.0]) if kw.pop("weighted", False) else None
    tx, tq = torch.tensor(logits, requires_grad=True), torch.tensor(q, requires_grad=True)
    TF.cross_entropy(tx, tq, weight=None if w is None else torch.tensor(w), **kw).sum().backward()
    x, p = (xpnn.tensor(a, backend=backend, dtype="float64", requires_grad=True)
            for a in (logits, q))
    wx = None if w is None else xpnn.tensor(w, backend=backend, dtype="float64")
    F.cross_entropy(x, p, weight=wx, **kw).sum().backward()
    np.testing.assert_allclose(xpnn.to_numpy(p.grad), tq.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xpnn.to_numpy(x.grad), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    if backend == "numpy":
        assert xpnn.gradcheck(lambda a, b: F.cross_entropy(a, b, weight=wx, **kw),
                              xpnn.tensor(logits, requires_grad=True, dtype="float64"),
                              xpnn.tensor(q, requires_grad=True, dtype="float64"))


def test_mean_losses_of_an_empty_batch_are_nan_without_a_warning(backend):
    """A mean over no elements is NaN, silently as in PyTorch (the suite turns warnings into
    errors: NumPy warned "Mean of empty slice" and "invalid value"), and the gradient of an
    empty input is empty."""
    def t(a, grad=False):
        return xpnn.tensor(a, backend=backend, requires_grad=grad)
    empty, labels = np.zeros((0, 3), np.float32), np.zeros((0,), np.int64)
    cases = {
        "mean": lambda x: x.mean(),
        "mean(0)": lambda x: x.mean(0).sum(),
        "mse_loss": lambda x: F.mse_loss(x, x * 0),
        "l1_loss": lambda x: F.l1_loss(x, x * 0),
        "binary_cross_entropy_with_logits": lambda x: F.binary_cross_entropy_with_logits(
            x, x * 0),
        "cross_entropy": lambda x: F.cross_entropy(x, t(labels)),
        "cross_entropy(probabilities)": lambda x: F.cross_entropy(x, x * 0),
        "nll_loss": lambda x: F.nll_loss(x, t(labels)),
        "cosine_embedding_loss": lambda x: F.cosine_embedding_loss(x, x, t(labels * 1.0)),
    }
    for name, fn in cases.items():
        x = t(empty, grad=True)
        loss = fn(x)
        loss.backward()
        assert np.isnan(xpnn.to_numpy(loss)), name
        assert tuple(x.grad.shape) == (0, 3), name


def test_cross_entropy_is_stable_for_huge_logits(backend):
    """Logits of +-1e4 in float32: finite loss and gradients, and the exact values
    (log-softmax subtracts the row max first, so nothing overflows)."""
    logits = np.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], np.float32)
    y = np.array([0, 1, 2])
    x = xpnn.tensor(logits, backend=backend, requires_grad=True)
    loss = F.cross_entropy(x, xpnn.tensor(y, backend=backend), reduction="none")
    # row 0: the right class has all the mass; row 1: -log softmax = 1e4 - (-1e4)
    np.testing.assert_allclose(loss.numpy(), [0.0, 2e4, 0.0], rtol=EPS32, atol=0)
    loss.sum().backward()
    g = xpnn.to_numpy(x.grad)
    assert np.isfinite(g).all() and dtype_name(x.grad.dtype) == "float32"
    # d/dx = softmax - onehot, softmax one-hot on the max
    np.testing.assert_array_equal(g, [[0, 0, 0], [1, -1, 0], [0, 0, 0]])
    for kw in ({}, {"label_smoothing": 0.1}, {"weight": xpnn.tensor(np.ones(3),
                                                                    backend=backend)}):
        x.grad = None
        mean = F.cross_entropy(x, xpnn.tensor(y, backend=backend), **kw)
        mean.backward()
        assert np.isfinite(mean.numpy()).all() and np.isfinite(xpnn.to_numpy(x.grad)).all()
    torch = pytest.importorskip("torch")
    smooth = F.cross_entropy(xpnn.tensor(logits, backend=backend),
                             xpnn.tensor(y, backend=backend), label_smoothing=0.1)
    ref = TF.cross_entropy(torch.tensor(logits), torch.tensor(y), label_smoothing=0.1)
    np.testing.assert_allclose(smooth.numpy(), ref.numpy(), rtol=F32_TOL)


@needs_torch
def test_casts_leave_or_keep_the_graph_as_in_pytorch(backend):
    """A cast to an integer or bool dtype is a constant (it passed a gradient of 1 back, so
    x * x.long() had the wrong gradient); ``dtype=`` of softmax, log_softmax, mean, prod
    and cumsum casts inside the graph (the result had no gradient at all)."""
    import torch
    vals = np.array([[1.5, -2.5, 0.75], [2.0, 0.5, -1.0]])
    ours = [lambda x: x * x.long(), lambda x: x * x.bool(), lambda x: x * x.to(xpnn.int32),
            lambda x: F.softmax(x, 1, dtype=xpnn.float64),
            lambda x: F.log_softmax(x, 1, dtype=xpnn.float64),
            lambda x: x.mean(0, dtype=xpnn.float64), lambda x: x.prod(1, dtype=xpnn.float64),
            lambda x: x.cumsum(1, dtype=xpnn.float64)]
    theirs = [lambda t: t * t.long(), lambda t: t * t.bool(), lambda t: t * t.to(torch.int32),
              lambda t: TF.softmax(t, 1, dtype=torch.float64),
              lambda t: TF.log_softmax(t, 1, dtype=torch.float64),
              lambda t: t.mean(0, dtype=torch.float64), lambda t: t.prod(1, dtype=torch.float64),
              lambda t: t.cumsum(1, dtype=torch.float64)]
    w = np.arange(1.0, 4.0)
    for i, (f, g) in enumerate(zip(ours, theirs)):
        t = torch.tensor(vals, dtype=torch.float32, requires_grad=True)
        y = g(t)
        (y * torch.tensor(w[:y.shape[-1]], dtype=y.dtype)).sum().backward()
        x = xpnn.tensor(vals, backend=backend, requires_grad=True)
        got = f(x)
        assert got.requires_grad, i
        (got * xpnn.tensor(w[:got.shape[-1]], backend=backend, dtype=got.dtype)).sum().backward()
        np.testing.assert_allclose(xpnn.to_numpy(x.grad), t.grad.numpy(), rtol=1e-6, atol=1e-6,
                                   err_msg=str(i))
    x = xpnn.tensor(vals, backend=backend, requires_grad=True)
    assert not x.long().requires_grad and not x.bool().requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        x.long().sum().backward()


def test_bool_tensors_meet_numbers_as_in_pytorch(backend):
    """A bool tensor with a Python int gives int64 (it stayed bool: True + 1 was True), with
    a float the default float; a bool tensor sums to an int64 count on every backend (the
    Array API sums numbers only: array-api-strict refused)."""
    m = xpnn.tensor(np.array([[True, False], [True, True]]), backend=backend)
    for got, want, dtype in [(m + 1, [[2, 1], [2, 2]], "int64"), (m * 3, [[3, 0], [3, 3]], "int64"),
                             (m + 1.5, [[2.5, 1.5], [2.5, 2.5]], "float32"),
                             (m + True, [[True, True], [True, True]], "bool"),
                             (m.sum(), 3, "int64"), (m.sum(0), [2, 1], "int64"),
                             (m.sum(dtype=xpnn.float32), 3.0, "float32")]:
        assert dtype_name(got.dtype) == dtype
        np.testing.assert_array_equal(xpnn.to_numpy(got), want)


def test_slices_past_the_ends_and_clamp_with_min_above_max(backend):
    """Slice bounds past the ends clip as in Python and PyTorch (array-api-strict raised:
    the Array API leaves them unspecified), reading and writing; clamp with min > max gives
    max everywhere and no gradient, as PyTorch (array-api-strict raised)."""
    a = np.arange(10.0)
    x = xpnn.tensor(a, backend=backend)
    for sl in (slice(0, 100), slice(-100, 3), slice(10, None), slice(5, 2), slice(100, 200),
               slice(-3, None), slice(None, -1, 3)):
        np.testing.assert_array_equal(xpnn.to_numpy(x[sl]), a[sl], err_msg=str(sl))
    y = xpnn.tensor(a, backend=backend)
    y[2:100] = 0
    np.testing.assert_array_equal(xpnn.to_numpy(y), np.r_[a[:2], np.zeros(8)])
    x = xpnn.tensor(np.array([0.0, 1.5, 3.0]), backend=backend, requires_grad=True)
    c = F.clamp(x, min=2.0, max=1.0)
    c.sum().backward()
    np.testing.assert_array_equal(xpnn.to_numpy(c), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(xpnn.to_numpy(x.grad), [0.0, 0.0, 0.0])


def test_max_of_nans_and_logsumexp_of_nothing(backend):
    """max() over an input with NaNs is NaN and its gradient is shared by the NaNs, as in
    PyTorch (every element got NaN: NaN == NaN is False); logsumexp over an empty dim is
    -inf (the backend's max raised on an empty array)."""
    x = xpnn.tensor(np.array([1.0, np.nan, 2.0, np.nan]), backend=backend, requires_grad=True)
    y = x.max()
    y.backward()
    assert np.isnan(to_np(y))
    np.testing.assert_array_equal(to_np(x.grad), [0.0, 0.5, 0.0, 0.5])
    z = xpnn.zeros(0, 3, backend=backend, requires_grad=True)
    out = xpnn.logsumexp(z, 0)
    out.sum().backward()
    np.testing.assert_array_equal(to_np(out), [-np.inf] * 3)
    assert tuple(z.grad.shape) == (0, 3)


@needs_torch
@pytest.mark.parametrize("p", [3.0, 0.5, -1.0, 1.5])
def test_p_norms_of_zeros_have_pytorch_gradients(p, backend):
    """A p-norm's gradient is 0 at zero entries and at a zero norm (the composition of pow
    and sum made 0 * inf = NaN there)."""
    import torch
    for v in ([0.0, 0.0, 0.0], [0.0, 1.0, -2.0]):
        a = xpnn.tensor(v, backend=backend, requires_grad=True)
        t = torch.tensor(v, requires_grad=True)
        xpnn.norm(a, p).backward()
        torch.norm(t, p).backward()
        np.testing.assert_allclose(to_np(a.grad), t.grad.numpy(), atol=1e-6)


def test_norm_p0_counts_nonzeros_in_the_graph(backend):
    """norm(p=0) (and PairwiseDistance(p=0)) counts nonzeros with a zero gradient, in the
    graph as in PyTorch (it left the graph: backward() raised)."""
    x = xpnn.tensor(np.array([0.0, 2.0, -3.0]), backend=backend, requires_grad=True)
    n = x.norm(p=0)
    n.backward()
    assert to_np(n) == 2.0
    np.testing.assert_array_equal(to_np(x.grad), [0.0, 0.0, 0.0])


@needs_torch
def test_nonzero_where_of_a_condition_and_formatting_as_pytorch(backend):
    """nonzero / argwhere / where(cond) (indices, as_tuple, 0-d), where of two numbers (a
    new tensor of the numbers' kind), f-strings of 0-d tensors, gradcheck's tuple form."""
    import torch
    a = np.arange(6).reshape(2, 3)
    x, t = xpnn.tensor(a, backend=backend), torch.tensor(a)
    pairs = [(x.nonzero(), (t > 0).nonzero()), ((x > 2).nonzero(), (t > 2).nonzero()),
             (xpnn.argwhere(x > 4), torch.argwhere(t > 4)),
             (xpnn.where(x > 2, 1.0, 0.0), torch.where(t > 2, 1.0, 0.0)),
             (xpnn.where(x > 2, 1, 0), torch.where(t > 2, 1, 0))]
    pairs += list(zip(xpnn.where(x > 2), torch.where(t > 2)))
    pairs += list(zip(xpnn.nonzero(x > 2, as_tuple=True), torch.nonzero(t > 2, as_tuple=True)))
    for ours, theirs in pairs:
        assert dtype_name(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_array_equal(xpnn.to_numpy(ours), theirs.numpy())
    assert tuple(xpnn.tensor(5, backend=backend).nonzero().shape) == (1, 0)
    loss = xpnn.tensor(0.12345, backend=backend)
    assert f"{loss:.3f}" == "0.123" and "{:.1f}".format(100 * loss) == "12.3"
    with pytest.raises(TypeError, match="only 0-d ones format as numbers"):
        f"{x:.2f}"
    v = xpnn.tensor(np.linspace(-1, 1, 5), backend=backend, dtype="float64",
                    requires_grad=True)
    assert xpnn.autograd.gradcheck(F.tanh, (v,)) and xpnn.gradcheck(F.tanh, (v,))


@needs_torch
def test_erf_lerp_and_legacy_constructors_as_pytorch(backend):
    """erf and lerp (values as torch's, float64 gradient checks); torch.Tensor(data) /
    Tensor(*sizes) / x.type(LongTensor), the legacy forms of older tutorials."""
    import torch
    v = np.linspace(-3, 3, 9)
    x = xpnn.tensor(v, backend=backend, dtype="float64", requires_grad=True)
    np.testing.assert_allclose(to_np(F.erf(x)), torch.erf(torch.tensor(v)).numpy(),
                               rtol=1e-14, atol=1e-15)
    e = xpnn.tensor(np.cos(v), backend=backend, dtype="float64", requires_grad=True)
    np.testing.assert_allclose(to_np(xpnn.lerp(x, e, 0.25)),
                               torch.lerp(torch.tensor(v), torch.tensor(np.cos(v)), 0.25))
    if backend == "numpy":
        assert xpnn.gradcheck(F.erf, x)
        assert xpnn.gradcheck(lambda a, b: F.lerp(a, b, 0.3), x, e)
    a, b = xpnn.Tensor([1, 2]), xpnn.Tensor(2, 3)
    assert dtype_name(a.dtype) == "float32" and a.tolist() == [1.0, 2.0]
    assert tuple(b.shape) == (2, 3) and tuple(xpnn.Tensor().shape) == (0,)
    assert dtype_name(xpnn.arange(3.0).type(xpnn.LongTensor).dtype) == "int64"
    assert dtype_name(xpnn.arange(3).type("torch.FloatTensor").dtype) == "float32"


def test_multinomial_and_bernoulli_draw_their_distributions(backend):
    """multinomial with and without replacement (frequencies within 3 sigma of the weights,
    a weight of 0 never drawn, no repeats without replacement), bernoulli's mean; a
    generator makes them repeat; bad weights raise at once on the host."""
    w = xpnn.tensor(np.array([[0.1, 0.0, 0.6, 0.3], [1, 1, 1, 1]], np.float32), backend=backend)
    n = 20000
    draws = to_np(xpnn.multinomial(w, n, replacement=True))
    freq = np.stack([np.bincount(r, minlength=4) for r in draws]) / n
    want = np.array([[0.1, 0.0, 0.6, 0.3], [0.25] * 4])
    assert np.all(np.abs(freq - want) <= 3 * np.sqrt(want * (1 - want) / n) + 1e-12)
    no_rep = to_np(xpnn.multinomial(w, 3))
    assert all(len(set(r)) == 3 for r in no_rep) and 1 not in no_rep[0]
    g1, g2 = xpnn.Generator().manual_seed(3), xpnn.Generator().manual_seed(3)
    np.testing.assert_array_equal(to_np(xpnn.multinomial(w[1], 4, generator=g1)),
                                  to_np(xpnn.multinomial(w[1], 4, generator=g2)))
    p = xpnn.tensor(np.full(n, 0.3, np.float32), backend=backend)
    assert abs(float(xpnn.bernoulli(p).mean().item()) - 0.3) < 3 * np.sqrt(0.21 / n)
    if backend == "numpy":
        with pytest.raises(RuntimeError, match="without replacement"):
            xpnn.multinomial(xpnn.tensor([0.5, 0.0, 0.0]), 2)
        with pytest.raises(RuntimeError, match="inf, nan or element < 0"):
            xpnn.multinomial(xpnn.tensor([0.5, -1.0]), 1)


@needs_torch
def test_integer_and_bitwise_ops_are_exact(backend):
    """Integer //, % and div(rounding_mode=) are exact (they went through float32: wrong
    above 2^24) and raise on a zero divisor; float % is exact for large quotients; &, |, ^,
    ~, <<, >> are bitwise on integers and logical on bools, as PyTorch; floor_divide,
    isclose, count_nonzero, gcd and lcm as torch's."""
    import torch
    vals = [16777217, 123456789, -7, 7]
    x, t = xpnn.tensor(vals, backend=backend), torch.tensor(vals)
    pairs = [(x // 3, t // 3), (x % 10, t % 10), (x // 1, t // 1), (-x % 3, -t % 3),
             (xpnn.div(x, 3, rounding_mode="trunc"), torch.div(t, 3, rounding_mode="trunc")),
             (xpnn.floor_divide(x, -4), torch.floor_divide(t, -4)),
             (x & 5, t & 5), (x | 2, t | 2), (x ^ 3, t ^ 3), (~x, ~t), (x << 2, t << 2),
             (x >> 1, t >> 1), (3 & x, 3 & t),
             (xpnn.count_nonzero(x % 7), torch.count_nonzero(t % 7))]
    g = xpnn.tensor([0, 12, -18, 0, 5, 100, 7], backend=backend)
    tg = torch.tensor([0, 12, -18, 0, 5, 100, 7])
    pairs += [(xpnn.gcd(x, g[:4]), torch.gcd(t, tg[:4])), (g.gcd(g.flip(0)), tg.gcd(tg.flip(0))),
              (xpnn.lcm(g, g.flip(0)), torch.lcm(tg, tg.flip(0)))]
    m, tm = xpnn.tensor([True, False], backend=backend), torch.tensor([True, False])
    pairs += [(m & True, tm & True), (m | False, tm | False), (~m, ~tm), (m ^ True, tm ^ True)]
    f = np.array([1e8 + 3.0, -5.5, 17.25])
    pairs.append((xpnn.tensor(f, backend=backend, dtype="float64") % 7,
                  torch.tensor(f) % 7))
    a, b = np.array([1.0, np.inf, np.nan, 1.0]), np.array([1.0 + 1e-9, np.inf, np.nan, 1.1])
    pairs.append((xpnn.isclose(xpnn.tensor(a, backend=backend), xpnn.tensor(b, backend=backend),
                               equal_nan=True),
                  torch.isclose(torch.tensor(a, dtype=torch.float32),
                                torch.tensor(b, dtype=torch.float32), equal_nan=True)))
    for i, (ours, theirs) in enumerate(pairs):
        assert dtype_name(ours.dtype) == str(theirs.dtype).replace("torch.", ""), i
        np.testing.assert_array_equal(to_np(ours), theirs.numpy(), err_msg=str(i))
    if backend == "numpy":
        for bad in (lambda: x // 0, lambda: x % 0, lambda: xpnn.div(x, 0, rounding_mode="trunc")):
            with pytest.raises(ZeroDivisionError, match="integer division by zero"):
                bad()
    with pytest.raises(TypeError, match="bitwise_and: not implemented for floating"):
        xpnn.tensor([1.5], backend=backend) & 1


@needs_torch
def test_dtypes_that_a_sweep_found_apart_from_pytorch(backend):
    """A list of floats does not upcast a float32 tensor to float64; masked_fill keeps the
    input's dtype; narrow integer labels and embedding ids work on every backend, integer
    logits are refused; matmul of two dtypes is refused (no silent float64); float arange
    gives PyTorch's values; dtype=float is float64; float16 random draws are float16;
    bfloat16 torch tensors read back to the host."""
    import torch
    assert dtype_name((xpnn.ones(2, backend=backend) + [1.0, 2.0]).dtype) == "float32"
    m = xpnn.tensor([True, False], backend=backend)
    assert xpnn.tensor([1, 2], backend=backend).masked_fill(m, 2.7).tolist() == [2, 2]
    assert dtype_name(m.masked_fill(m, 0).dtype) == "bool"
    logits = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]], np.float32)
    want = TF.cross_entropy(torch.tensor(logits), torch.tensor([0, 2])).item()
    for dt in (np.uint8, np.int16, np.int32):
        got = F.cross_entropy(xpnn.tensor(logits, backend=backend),
                              xpnn.tensor(np.array([0, 2], dt), backend=backend))
        np.testing.assert_allclose(to_np(got), want, rtol=1e-6)
        emb = xpnn.nn.Embedding(5, 2).to(backend)
        assert tuple(emb(xpnn.tensor(np.array([1, 4], dt), backend=backend)).shape) == (2, 2)
    with pytest.raises(TypeError, match="cross_entropy: expected floating logits"):
        F.cross_entropy(xpnn.tensor([[1, 2], [3, 4]], backend=backend),
                        xpnn.tensor([0, 1], backend=backend))
    with pytest.raises(TypeError, match="matmul: expected both operands to have the same"):
        xpnn.ones(2, 2, backend=backend) @ xpnn.ones(2, 2, dtype=xpnn.float64, backend=backend)
    np.testing.assert_array_equal(to_np(xpnn.arange(-1.0, 1.0, 0.4, backend=backend)),
                                  torch.arange(-1.0, 1.0, 0.4).numpy())
    assert dtype_name(xpnn.tensor([1], dtype=float, backend=backend).dtype) == "float64"
    if backend in ("numpy", "torch"):
        r = xpnn.rand(1000, dtype=xpnn.float16, backend=backend)
        assert dtype_name(r.dtype) == "float16" and float(r.max().item()) < 1
        assert dtype_name(xpnn.randn(3, dtype=xpnn.float16, backend=backend).dtype) == "float16"
    if backend == "torch":
        b = xpnn.ones(2, backend=backend).to(xpnn.bfloat16)
        assert b.sum().item() == 2.0 and b.tolist() == [1.0, 1.0]


@needs_torch
def test_finfo_and_iinfo_as_pytorch():
    """finfo/iinfo (attention masks use finfo(dtype).min), bfloat16 included."""
    import torch
    for ours, theirs in ((xpnn.float32, torch.float32), (xpnn.float16, torch.float16),
                         (xpnn.float64, torch.float64), (xpnn.bfloat16, torch.bfloat16)):
        a, b = xpnn.finfo(ours), torch.finfo(theirs)
        for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
            assert getattr(a, attr) == getattr(b, attr), (ours, attr)
    assert xpnn.finfo().dtype == "float32"
    for ours, theirs in ((xpnn.int64, torch.int64), (xpnn.uint8, torch.uint8)):
        a, b = xpnn.iinfo(ours), torch.iinfo(theirs)
        assert (a.bits, a.min, a.max) == (b.bits, b.min, b.max)
    with pytest.raises(TypeError, match="finfo: int64 is not a floating dtype"):
        xpnn.finfo(xpnn.int64)


@needs_torch
def test_scatter_add_of_infinities_and_the_sign_of_nan(backend):
    """scatter_add/index_add of +-inf and NaN touch only their own rows (array-api-strict's
    one-hot product made 0 * inf a NaN in every other row); sign(NaN) is 0, as PyTorch."""
    import torch
    inf, nan = float("inf"), float("nan")
    src = [[inf, 1.0], [-inf, nan], [5.0, -inf], [inf, 2.0]]
    idx = [[0, 0], [1, 1], [0, 2], [1, 2]]
    ours = xpnn.zeros(3, 2, backend=backend).scatter_add(0, xpnn.tensor(idx, backend=backend),
                                                         xpnn.tensor(src, backend=backend))
    theirs = torch.zeros(3, 2).scatter_add(0, torch.tensor(idx), torch.tensor(src))
    np.testing.assert_array_equal(to_np(ours), theirs.numpy())
    ours = xpnn.zeros(3, backend=backend).index_add(
        0, xpnn.tensor([0, 0, 2], backend=backend), xpnn.tensor([inf, -inf, 2.0], backend=backend))
    np.testing.assert_array_equal(to_np(ours), [nan, 0.0, 2.0])
    s = xpnn.sign(xpnn.tensor([nan, -0.0, -2.0, 3.0], backend=backend))
    np.testing.assert_array_equal(to_np(s), torch.sign(torch.tensor([nan, -0.0, -2.0, 3.0])))


@needs_torch
def test_sorting_bools_as_pytorch(backend):
    """sort/argsort/topk/msort of bool tensors (array-api-strict sorts only numbers)."""
    import torch
    v = [True, False, True, False, True]
    x, t = xpnn.tensor(v, backend=backend), torch.tensor(v)
    got, want = x.sort(descending=True), t.sort(descending=True, stable=True)
    np.testing.assert_array_equal(to_np(got.values), want.values.numpy())
    np.testing.assert_array_equal(to_np(got.indices), want.indices.numpy())
    np.testing.assert_array_equal(to_np(x.argsort()), t.argsort(stable=True).numpy())
    np.testing.assert_array_equal(to_np(xpnn.msort(x)), torch.msort(t).numpy())
    np.testing.assert_array_equal(to_np(x.topk(2).values), [True, True])
