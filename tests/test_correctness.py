"""Engine correctness: inputs a PyTorch user gives are right on every backend, or refused.

One section per group of the engine-correctness issue; PyTorch is the oracle. The op-level
cases (indexing with repeats/negatives/lists/masks, the new math) live in tests/cases.py and
run through tests/test_ops.py's gradcheck and torch comparison.
"""
import math

import numpy as np
import pytest
from conftest import needs_torch, optional_torch, to_np

import xpnn
import xpnn.nn as nn
import xpnn.nn.functional as F
from xpnn import optim

torch, _ = optional_torch()  # None without PyTorch: its comparisons skip
EPS32, EPS64 = float(np.finfo(np.float32).eps), float(np.finfo(np.float64).eps)


def t64(a, backend=None, grad=True):
    return xpnn.tensor(np.asarray(a, dtype=np.float64), dtype="float64", backend=backend,
                       requires_grad=grad)


def tt(a, grad=True):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def grad_of(fn, x):
    fn(x).sum().backward()
    return to_np(x.grad) if isinstance(x, xpnn.Tensor) else x.grad.numpy()


# -- 1. silently wrong before: now equal to PyTorch ----------------------------------------
INDEXING = [lambda x: x[[0, 0, 2], :], lambda x: x[0, [1, 1, 2]], lambda x: x[[-1, 0, -1]],
            lambda x: x[[2, 2], 1:3], lambda x: x[-1], lambda x: x[..., [0, -1, 0]]]


@needs_torch
@pytest.mark.parametrize("key", range(len(INDEXING)))
def test_indexing_repeats_and_negatives_add_up(key, backend):
    fn = INDEXING[key]
    h = np.arange(12.0).reshape(3, 4)
    ours, ref = grad_of(fn, t64(h)), grad_of(fn, tt(h))
    np.testing.assert_array_equal(ours, ref)
    if key == 0:
        assert list(ours[:, 0]) == [2, 0, 1]  # the issue's own example


@needs_torch
def test_take_with_negative_indices(backend):
    h = np.arange(12.0).reshape(3, 4)
    x = t64(h)
    F.take(x, [-1, -1], axis=1).sum().backward()
    ref = tt(h)
    torch.index_select(ref, 1, torch.tensor([3, 3])).sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), ref.grad.numpy())


def _poly_fit(lib, steps=300):
    """The PyTorch tutorial's polynomial fit with the manual update idiom."""
    x = np.linspace(-math.pi, math.pi, 200)
    y = np.sin(x)
    if lib is xpnn:
        X = xpnn.tensor(np.stack([x, x ** 2, x ** 3], 1), dtype="float64")
        Y = xpnn.tensor(y, dtype="float64")
        w = xpnn.zeros(3, dtype="float64", requires_grad=True)
    else:
        X = torch.tensor(np.stack([x, x ** 2, x ** 3], 1))
        Y = torch.tensor(y)
        w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = ((X @ w - Y) ** 2).sum()
        losses.append(float(loss.item()))
        loss.backward()
        with lib.no_grad():
            w -= 1e-5 * w.grad
            w.grad = None
    return losses, w


@needs_torch
def test_manual_update_idiom_trains_like_pytorch(backend):
    ours, w = _poly_fit(xpnn)
    ref, _ = _poly_fit(torch)
    assert ours[-1] < 0.3 * ours[0]  # it trains (before: constant loss)
    np.testing.assert_allclose(ours, ref, rtol=1e-9)
    assert w.is_leaf and w.requires_grad


def test_data_add_idiom_updates_the_parameter(backend):
    lin = nn.Linear(3, 2)
    before = lin.weight.numpy()
    lin(xpnn.ones(4, 3)).sum().backward()
    for p in lin.parameters():
        p.data.add_(p.grad, alpha=-0.1)
    np.testing.assert_allclose(lin.weight.numpy(), before - 0.1 * 4, rtol=1e-6)


def test_step_between_forward_and_backward_raises(backend):
    lin = nn.Linear(3, 2)
    opt = optim.SGD(lin.parameters(), lr=0.1)
    loss = lin(xpnn.ones(4, 3)).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=r"shape xpnn.Size\(\[2, 3\]\) that Linear saved .* modified by an "
                                           r"in-place"):
        loss.backward()


@needs_torch
def test_logsumexp_of_infinite_rows(backend):
    h = [[-math.inf, -math.inf], [math.inf, 1.0], [1.0, 2.0]]
    x, r = t64(h), tt(h)
    y, ry = F.logsumexp(x, 1), torch.logsumexp(r, 1)
    np.testing.assert_array_equal(to_np(y), ry.detach().numpy())
    y.backward(xpnn.ones(3, dtype="float64"))  # (a sum of -inf and inf would be NaN itself)
    ry.backward(torch.ones(3, dtype=torch.float64))
    np.testing.assert_array_equal(to_np(x.grad), r.grad.numpy())


@needs_torch
@pytest.mark.parametrize("fn", [lambda m, x: m.std(x), lambda m, x: x ** 0,
                                lambda m, x: m.norm(x) if m is torch else F.norm(x)],
                         ids=["std", "pow0", "norm"])
def test_gradient_at_zero_is_zero_not_nan(fn, backend):
    ours = grad_of(lambda a: fn(xpnn, a), t64(np.zeros(3)))
    ref = grad_of(lambda a: fn(torch, a), tt(np.zeros(3)))
    np.testing.assert_array_equal(ours, ref)
    assert np.isfinite(ours).all()


@needs_torch
def test_max_pool_padding_never_takes_the_gradient(backend):
    h = np.array([[-math.inf, 1.0], [2.0, 3.0]])[None, None]
    ours = grad_of(lambda a: F.max_pool2d(a, 2, padding=1), t64(h))
    ref = grad_of(lambda a: torch.nn.functional.max_pool2d(a, 2, padding=1), tt(h))
    np.testing.assert_array_equal(ours, ref)


@needs_torch
@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_ties_split_the_gradient(op, backend):
    a, b = t64([1.0, 2.0, 3.0]), t64([1.0, 3.0, 3.0])
    getattr(F, op)(a, b).sum().backward()
    ra, rb = tt([1.0, 2.0, 3.0]), tt([1.0, 3.0, 3.0])
    getattr(torch, op)(ra, rb).sum().backward()
    np.testing.assert_array_equal(to_np(a.grad), ra.grad.numpy())
    np.testing.assert_array_equal(to_np(b.grad), rb.grad.numpy())


@needs_torch
def test_exact_gelu_is_float64_accurate(backend, portable_only):
    """The portable erf (the only one array_api_strict has) to float64 precision."""
    h = np.linspace(-7, 7, 2001)
    x = t64(h)
    y = F.gelu(x)
    y.sum().backward()
    r = tt(h)
    ry = torch.nn.functional.gelu(r)
    ry.sum().backward()
    np.testing.assert_allclose(to_np(y), ry.detach().numpy(), rtol=0, atol=8 * EPS64)
    np.testing.assert_allclose(to_np(x.grad), r.grad.numpy(), rtol=0, atol=16 * EPS64)


# -- 2. crashes before: now PyTorch's results ------------------------------------------------
@needs_torch
@pytest.mark.parametrize("fn", ["var", "std"])
def test_correction_at_least_n_gives_nan_like_pytorch(fn, backend):
    x, r = t64([1.0]), tt([1.0])
    with pytest.warns(UserWarning, match="degrees of freedom"):  # as torch does
        ours = getattr(x, fn)()  # default correction=1 with one value
    with pytest.warns(UserWarning):  # torch warns about the degrees of freedom
        ref = getattr(r, fn)()
        ref.backward()
    assert np.isnan(ours.item()) and np.isnan(ref.item())
    ours.backward()
    assert np.isnan(to_np(x.grad)).all() and np.isnan(r.grad.numpy()).all()


EMPTY = [
    ("Conv1d", lambda lib: lib.nn.Conv1d(2, 3, 3), (0, 2, 5)),
    ("Conv2d", lambda lib: lib.nn.Conv2d(2, 3, 3, padding=1), (0, 2, 4, 4)),
    ("ConvTranspose2d", lambda lib: lib.nn.ConvTranspose2d(2, 3, 3, stride=2), (0, 2, 3, 3)),
    ("GroupNorm", lambda lib: lib.nn.GroupNorm(2, 4), (0, 4, 3)),
    ("RNN", lambda lib: lib.nn.RNN(3, 4, batch_first=True), (0, 5, 3)),
    ("LSTM", lambda lib: lib.nn.LSTM(3, 4, batch_first=True), (0, 5, 3)),
    ("GRU", lambda lib: lib.nn.GRU(3, 4, num_layers=2, bidirectional=True), (5, 0, 3)),
]


@needs_torch
@pytest.mark.parametrize("name, build, shape", EMPTY, ids=[e[0] for e in EMPTY])
def test_empty_batch_gives_empty_output_and_zero_gradients(name, build, shape, backend):
    ours, ref = build(xpnn), build(torch)
    x = xpnn.zeros(*shape, requires_grad=True)
    out = ours(x)
    out = out[0] if isinstance(out, tuple) else out
    rout = ref(torch.zeros(*shape))
    rout = rout[0] if isinstance(rout, tuple) else rout
    assert tuple(out.shape) == tuple(rout.shape)
    out.sum().backward()
    assert x.grad.shape == x.shape
    for p in ours.parameters():
        assert p.grad is not None and not to_np(p.grad).any(), name


def test_unused_output_of_a_multi_output_op_on_another_backend(backend):
    lstm = nn.LSTM(3, 4, backend="numpy")
    out, (h, c) = lstm(xpnn.ones(2, 1, 3, backend="numpy"))
    other = _other(backend)
    out.to(other).sum().backward()  # h and c get no gradient: zeros of the op's own backend
    assert all(p.grad is not None for p in lstm.parameters())


# -- 3. unclear errors before: one xpnn message per case -----------------------------------
def test_backward_gradient_checks(backend):
    x = xpnn.ones(2, requires_grad=True)
    y = x * 2
    other = _other(backend)
    with pytest.raises(TypeError, match=r"backward: gradient lives on"):
        y.backward(xpnn.ones(2, backend=other))
    with pytest.raises(ValueError, match=r"backward: grad of shape \(3,\) for a tensor of "
                                         r"shape xpnn.Size\(\[2\]\)"):
        y.backward(xpnn.ones(3))
    y.backward(xpnn.ones(2, dtype="float64"))  # cast to the tensor's dtype, as PyTorch
    assert x.grad.dtype == x.dtype


def _other(backend):
    """A backend other than ``backend``: torch where installed, else numpy or strict."""
    if torch is not None and backend != "torch":
        return "torch"
    return "numpy" if backend != "numpy" else "array_api_strict"


SECONDARY = [
    ("cross_entropy weight", lambda x, o: F.cross_entropy(
        x, xpnn.tensor([0, 1]), weight=xpnn.ones(3, backend=o)), r"cross_entropy: weight"),
    ("bce pos_weight", lambda x, o: F.binary_cross_entropy_with_logits(
        x, x.detach(), pos_weight=xpnn.ones(3, backend=o)), r"pos_weight"),
    ("where condition", lambda x, o: F.where(xpnn.ones(2, 3, backend=o) > 0, x, 0.0),
     r"where: condition"),
    ("index array", lambda x, o: x[xpnn.tensor([0, 1], backend=o)], r"getitem: an index"),
    ("take index", lambda x, o: F.take(x, xpnn.tensor([0], backend=o), 1), r"take: an index"),
    ("numpy weight", lambda x, o: F.cross_entropy(x, xpnn.tensor([0, 1]),
                                                  weight=np.ones(3, np.float32))
     if x.backend != "numpy" else F.cross_entropy(x, xpnn.tensor([0, 1]),
                                                  weight=xpnn.ones(3, backend="array_api_strict").array),
     r"cross_entropy: weight lives on"),
]


@pytest.mark.parametrize("case", SECONDARY, ids=[c[0] for c in SECONDARY])
def test_another_backends_array_as_a_secondary_argument(case, backend):
    x = xpnn.zeros(2, 3, requires_grad=True)
    with pytest.raises(TypeError, match=case[2]):
        case[1](x, _other(backend))


SHAPES = [
    (lambda: xpnn.zeros(2, 3).reshape(4, 2), ValueError,
     r"reshape: shape \(4, 2\) is invalid for input of shape xpnn.Size\(\[2, 3\]\)"),
    (lambda: F.stack([xpnn.zeros(2), xpnn.zeros(3)]), ValueError,
     r"stack: expects each tensor to be equal size"),
    (lambda: F.cat([xpnn.zeros(2, 3), xpnn.zeros(2, 4)]), ValueError,
     r"cat: tensor 1 has shape xpnn.Size\(\[2, 4\]\)"),
    (lambda: xpnn.zeros(2, 3).permute(0, 0), ValueError, r"permute: dims \(0, 0\)"),
    (lambda: F.take(xpnn.zeros(2, 3), [3], 1), IndexError,
     r"take: index 3 is out of bounds for dim 1 with size 3"),
    (lambda: xpnn.zeros(2, 3)[2], IndexError,
     r"getitem: index 2 is out of bounds for dim 0 with size 2"),
    (lambda: xpnn.zeros(2, 3)[:, [0, -4]], IndexError,
     r"getitem: index -4 is out of bounds for dim 1 with size 3"),
    (lambda: xpnn.zeros(2, 3) + xpnn.zeros(4), ValueError,
     r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast together"),
    (lambda: xpnn.zeros(2, 3) * xpnn.zeros(3, 2), ValueError, r"mul: shapes"),
    (lambda: F.broadcast_tensors(xpnn.zeros(2), xpnn.zeros(3)), ValueError,
     r"shapes \(2,\) and \(3,\) cannot be broadcast"),
]


@pytest.mark.parametrize("i", range(len(SHAPES)))
def test_shape_errors(i, backend):
    fn, err, pattern = SHAPES[i]
    if "index" in pattern and "bounds" in pattern and \
            not xpnn.get_backend(backend).on_host and "getitem: index 2" not in pattern:
        pytest.skip("an index array on a device is not range-checked (it would cost a sync)")
    with pytest.raises(err, match=pattern):
        fn()


def test_strict_only_indexing_is_translated(backend):
    """x[0], x[-1], x[mask, 1:] and lists run on array_api_strict as on NumPy."""
    h = np.arange(12.0).reshape(3, 4)
    x = xpnn.tensor(h)
    np.testing.assert_array_equal(to_np(x[0]), h[0])
    np.testing.assert_array_equal(to_np(x[-1]), h[-1])
    m = np.array([True, False, True])
    np.testing.assert_array_equal(to_np(x[xpnn.tensor(m), 1:]), h[m, 1:])
    np.testing.assert_array_equal(to_np(x[[2, 0]]), h[[2, 0]])


@needs_torch
@pytest.mark.parametrize("op, torch_op, promotes", [
    (F.sigmoid, lambda x: torch.sigmoid(x), True), (F.tanh, lambda x: torch.tanh(x), True),
    (F.exp, lambda x: torch.exp(x), True),
    (lambda x: F.softmax(x, 1), lambda x: torch.softmax(x, 1), False),
    (lambda x: F.log_softmax(x, 1), lambda x: torch.log_softmax(x, 1), False),
    (F.gelu, lambda x: torch.nn.functional.gelu(x), False),
    (lambda x: F.dropout(x, 0.5), lambda x: torch.nn.functional.dropout(x, 0.5), False),
    (lambda x: F.adaptive_avg_pool1d(x, 2), lambda x: torch.nn.functional.adaptive_avg_pool1d(
        x, 2), False),
])
def test_integer_input_to_float_only_ops(op, torch_op, promotes, backend):
    h = np.arange(6).reshape(2, 3)
    if promotes:
        out = op(xpnn.tensor(h))
        assert xpnn.float32 == out.dtype
        np.testing.assert_allclose(to_np(out), torch_op(torch.tensor(h)).numpy(), rtol=1e-6)
    else:
        with pytest.raises((RuntimeError, NotImplementedError)):
            torch_op(torch.tensor(h))
        with pytest.raises(TypeError, match="floating"):
            op(xpnn.tensor(h))


@needs_torch
def test_integer_average_pooling_stays_integer_like_pytorch(backend):
    h = np.arange(16).reshape(1, 1, 4, 4)
    out = F.avg_pool2d(xpnn.tensor(h), 2)
    ref = torch.nn.functional.avg_pool2d(torch.tensor(h), 2)
    assert xpnn.int64 == out.dtype
    np.testing.assert_array_equal(to_np(out), ref.numpy())


# -- 4. silent float64 before ----------------------------------------------------------------
def test_no_silent_float64(backend):
    x = xpnn.ones(3)
    assert xpnn.float32 == (x * xpnn.tensor(2.0, dtype="float64")).dtype
    assert xpnn.float32 == (x * np.asarray(2.0)).dtype
    assert xpnn.float32 == (x * np.float64(2.0)).dtype
    assert xpnn.float32 == (xpnn.tensor([1, 2]) / 2).dtype
    assert xpnn.float32 == (xpnn.tensor([1, 2]) / xpnn.tensor([2, 2])).dtype
    assert xpnn.float64 == (x * xpnn.ones(3, dtype="float64")).dtype  # dimensioned: promotes


# -- 5. in-place operations and version counters ---------------------------------------------
def test_inplace_operators_change_the_array(backend):
    x = xpnn.tensor([1.0, 2.0])
    arr = x.array
    x += 1
    x -= xpnn.tensor([0.5, 0.5])
    x *= 2
    x /= 4
    x.add_(1, alpha=2).sub_(xpnn.tensor([1.0, 1.0]), alpha=0.5).mul_(2).div_(2)
    np.testing.assert_allclose(to_np(x), [2.25, 2.75])
    assert x.array is arr or backend != "numpy"
    assert x._version == 8
    x.zero_()
    x.fill_(3)
    x.clamp_(max=2.0)
    x.copy_(xpnn.tensor([5.0, 6.0], backend=_other(backend)))
    x[0] = -1.0
    np.testing.assert_allclose(to_np(x), [-1.0, 6.0])
    x.normal_(generator=xpnn.Generator().manual_seed(0))
    x.uniform_(2.0, 3.0)
    assert ((to_np(x) >= 2) & (to_np(x) < 3)).all()


def test_inplace_on_a_leaf_that_requires_grad(backend):
    w = xpnn.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w += 1
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w[0] = 2.0
    with xpnn.no_grad():
        w -= 0.5
        w[1] = 0.0
    np.testing.assert_allclose(to_np(w), [0.5, 0.0, 0.5])
    assert w.requires_grad and w.is_leaf


@needs_torch
@pytest.mark.parametrize("body", [
    lambda y, o: (y.__iadd__(o), y)[1], lambda y, o: y.mul_(o), lambda y, o: y.sub_(o, alpha=3),
    lambda y, o: y.clamp_(min=0.1), lambda y, o: (y.__setitem__(1, o[0]), y)[1],
    lambda y, o: y.exp_(), lambda y, o: y.masked_fill_(o > 0.5, 0.0),
], ids=["iadd", "mul_", "sub_alpha", "clamp_", "setitem", "exp_", "masked_fill_"])
def test_inplace_on_a_recorded_tensor_is_differentiable(body, backend):
    h, o = np.array([0.2, 0.7, 1.5]), np.array([0.9, 0.3, 0.6])

    def run(lib, x, other):
        y = x * 1.5
        z = y * 2  # uses y before the in-place change: keeps the old value
        y = body(y, other)
        return (y * y).sum() + z.sum()
    x = t64(h)
    run(xpnn, x, xpnn.tensor(o, dtype="float64")).backward()
    rx = tt(h)
    run(torch, rx, torch.tensor(o)).backward()
    np.testing.assert_allclose(to_np(x.grad), rx.grad.numpy(), rtol=1e-12)


def test_version_counter_catches_a_changed_saved_tensor(backend):
    x = xpnn.ones(3, requires_grad=True)
    y = x.exp()  # Exp saves its output
    with xpnn.no_grad():
        y += 1
    with pytest.raises(RuntimeError, match=r"shape xpnn.Size\(\[3\]\) that Exp saved .* in-place"):
        y.sum().backward()
    m = nn.Linear(3, 2)
    loss = m(xpnn.ones(1, 3)).sum()
    m.load_state_dict({k: v.numpy() for k, v in m.state_dict().items()})
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()
    d = xpnn.ones(2, requires_grad=True)
    e = d * d
    d.detach().add_(1)  # detach shares the version counter, as in PyTorch
    with pytest.raises(RuntimeError, match="Mul"):
        e.sum().backward()


# -- 6. read in the code ---------------------------------------------------------------------
def test_evaluate_records_no_graph(backend):
    seen = []

    def loss(out, y):
        seen.append(out.requires_grad)
        return F.cross_entropy(out, y)
    m = nn.Linear(2, 2)
    xpnn.evaluate(m, (np.ones((4, 2), np.float32), np.array([0, 1, 0, 1])), loss)
    assert seen and not any(seen)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_backend_uniform_keeps_the_dtype(dtype, backend):
    be = xpnn.get_backend(backend)
    assert xpnn.DType(dtype) == be.uniform((3,), dtype).dtype
    assert xpnn.DType(dtype) == be.normal((3,), dtype).dtype


def test_embedding_error_names_the_layer_without_rewriting_anothers(backend):
    emb = nn.Embedding(7, 3)
    if not emb.weight._be.on_host:
        pytest.skip("ids on a device are not range-checked (NaN rows instead)")
    with pytest.raises(IndexError, match=r"^Embedding\(7, 3\): token ids must be in \[0, 7\)"):
        emb(xpnn.tensor([[0, 9]]))
    with pytest.raises(IndexError, match=r"^embedding: token ids"):
        F.embedding(xpnn.tensor([9]), emb.weight)
