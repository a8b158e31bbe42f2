"""The autograd engine: operators, broadcasting, indexing, accumulation, graph lifetime,
no_grad, diamonds, transfers between backends, dtypes and ``xpnn.tensor``'s rules."""
import gc
import weakref

import numpy as np
import pytest
from conftest import needs_torch, to_np

import xpnn
import xpnn.functional as F
from xpnn import nn
from xpnn.backend import dtype_name

EPS32 = float(np.finfo(np.float32).eps)
TOL32 = 50 * EPS32  # float32 against torch float32: a few roundings of O(1) values

OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
       "/": lambda a, b: a / b, "**": lambda a, b: a ** b}


def t32(data, backend, grad=True):
    return xpnn.tensor(np.asarray(data, dtype=np.float32), backend=backend, requires_grad=grad)


def _torch():
    return pytest.importorskip("torch")


def _close(a, b, tol=TOL32, msg=""):
    np.testing.assert_allclose(to_np(a), np.asarray(b), rtol=tol, atol=tol, err_msg=msg)


# -- operators ------------------------------------------------------------------------------
@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("sa, sb", [((2, 3), (3,)), ((2, 1, 3), (4, 1)), ((1,), (2, 3)),
                                    ((), (2, 3)), ((3, 1), (1, 1))])
def test_operator_broadcasting_reduces_grads_to_input_shapes(op, sa, sb, backend, rng):
    torch = _torch()
    ha, hb = rng.uniform(0.5, 2.0, sa), rng.uniform(0.5, 2.0, sb)  # positive: ** and /
    a, b = t32(ha, backend), t32(hb, backend)
    out = OPS[op](a, b)
    ta, tb = (torch.tensor(h, dtype=torch.float32, requires_grad=True) for h in (ha, hb))
    ref = OPS[op](ta, tb)
    assert out.shape == tuple(ref.shape) and dtype_name(out.dtype) == "float32"
    _close(out, ref.detach())
    out.sum().backward()
    ref.sum().backward()
    for x, tx in ((a, ta), (b, tb)):
        assert x.grad.shape == x.shape and dtype_name(x.grad.dtype) == "float32"
        _close(x.grad, tx.grad, msg=f"{op} {sa} {sb}")


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("scalar", [2, 0.5, np.float64(1.5), np.int64(3)])
def test_scalar_operands_on_either_side(op, scalar, backend):
    """Python and NumPy scalars work on both sides and never upcast float32."""
    torch = _torch()
    h = np.array([[0.5, 1.0, 2.0], [1.5, 0.75, 3.0]])
    for side in ("left", "right"):
        x = t32(h, backend)
        tx = torch.tensor(h, dtype=torch.float32, requires_grad=True)
        s = float(scalar) if isinstance(scalar, np.generic) else scalar
        if side == "left":
            out, ref = OPS[op](scalar, x), OPS[op](s, tx)
        else:
            out, ref = OPS[op](x, scalar), OPS[op](tx, s)
        assert dtype_name(out.dtype) == "float32", (op, side, type(scalar))
        assert out.backend == backend
        _close(out, ref.detach(), msg=f"{side} {op}")
        out.sum().backward()
        ref.sum().backward()
        assert dtype_name(x.grad.dtype) == "float32"
        _close(x.grad, tx.grad, msg=f"{side} {op}")


def test_neg_abs_and_raw_array_operands(backend):
    x = t32([[-1.0, 2.0], [3.0, -4.0]], backend)
    raw = xpnn.tensor(np.full((2, 2), 2.0, np.float32), backend=backend).array
    # backend arrays act as constants; array_api_strict's arrays raise TypeError instead of
    # deferring to Tensor, so there they can only stand on the right
    scaled = x * raw if backend == "array_api_strict" else raw * x
    out = (-abs(x) + scaled - x / raw).sum()
    out.backward()
    _close(x.grad, [[1 + 2 - 0.5, -1 + 2 - 0.5], [-1 + 2 - 0.5, 1 + 2 - 0.5]])


@pytest.mark.parametrize("sa, sb", [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)),
                                    ((2, 2, 3), (3, 4)), ((2, 2, 3), (1, 3, 4)),
                                    ((3,), (2, 3, 4))])
def test_matmul_operator_batched_and_1d(sa, sb, backend, rng):
    torch = _torch()
    ha, hb = rng.standard_normal(sa), rng.standard_normal(sb)
    a, b = t32(ha, backend), t32(hb, backend)
    ta, tb = (torch.tensor(h, dtype=torch.float32, requires_grad=True) for h in (ha, hb))
    out, ref = a @ b, ta @ tb
    assert out.shape == tuple(ref.shape)
    _close(out, ref.detach())
    w = rng.standard_normal(out.shape)
    (out * t32(w, backend, False)).sum().backward()
    (ref * torch.tensor(w, dtype=torch.float32)).sum().backward()
    _close(a.grad, ta.grad)
    _close(b.grad, tb.grad)


# -- indexing -------------------------------------------------------------------------------
def test_indexing_gradients(backend):
    h = np.arange(12.0).reshape(3, 4)
    cases = [  # (key builder, expected d sum(x[key]) / dx)
        (lambda be: (slice(1, None), slice(None, 2)),
         np.array([[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]])),
        (lambda be: (1, ...), np.array([[0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]])),
        (lambda be: (-1, 2), np.array([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]])),
        (lambda be: xpnn.tensor(np.array([2, 0, 2, 2]), backend=be),  # repeats add up
         np.array([[1] * 4, [0] * 4, [3] * 4])),
        (lambda be: (slice(None), xpnn.tensor(np.array([3, 3, 0]), backend=be).array),
         np.array([[1, 0, 0, 2]] * 3)),
        (lambda be: tuple(xpnn.tensor(np.array(i), backend=be).array  # repeated pairs
                          for i in ([0, 0, 2, -1], [1, 1, 3, 3])),
         np.array([[0, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 2]])),
        (lambda be: xpnn.tensor(h > 5, backend=be),  # a bool mask
         (h > 5).astype(int)),
        (lambda be: xpnn.tensor(np.array([True, False, True]), backend=be).array,
         np.array([[1] * 4, [0] * 4, [1] * 4])),
    ]
    for i, (key, expected) in enumerate(cases):
        x = t32(h, backend)
        y = x[key(backend)]
        y.sum().backward()
        assert dtype_name(x.grad.dtype) == "float32"
        np.testing.assert_array_equal(to_np(x.grad), expected, err_msg=f"case {i}")


def test_shape_ops_and_reductions_route_grads(backend):
    x = t32(np.arange(24.0).reshape(2, 3, 4), backend)
    parts = [x.reshape(6, 4).sum(), x.permute(2, 0, 1)[0, ...].sum(),
             F.transpose(x, 0, 2)[0, ...].sum(), F.concat([x, x], axis=1).mean(),
             F.stack([x, x], axis=-1).sum(), F.take(x, xpnn.tensor(np.array([0, 0]),
                                                                  backend=backend), 2).sum()]
    sum(parts[1:], parts[0]).backward()
    expected = (np.ones((2, 3, 4)) + (np.arange(4) == 0)[None, None, :]
                + (np.arange(4) == 0)[None, None, :] + 2 / 48 + 2
                + 2 * (np.arange(4) == 0)[None, None, :])
    _close(x.grad, expected)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var"])
@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (-1, True),
                                            ((0, 2), False), ((1, 2), True)])
def test_reductions_over_axes(name, axis, keepdims, backend, rng):
    torch = _torch()
    h = rng.standard_normal((2, 3, 4))
    x, tx = t32(h, backend), torch.tensor(h, dtype=torch.float32, requires_grad=True)
    kw = {"correction": 0} if name == "var" else {}
    out = getattr(F, name)(x, axis=axis, keepdims=keepdims, **kw)
    dims = axis if axis is not None else (0, 1, 2)
    tname = {"max": "amax", "min": "amin"}.get(name, name)
    ref = getattr(torch, tname)(tx, dim=dims, keepdim=keepdims, **kw)
    assert out.shape == tuple(ref.shape)
    _close(out, ref.detach())
    w = rng.standard_normal(out.shape)
    (out * t32(w, backend, False)).sum().backward()
    (ref * torch.tensor(w, dtype=torch.float32)).sum().backward()
    _close(x.grad, tx.grad)


def test_elementwise_math(backend):
    h = np.array([[0.25, 1.0, 4.0], [2.0, 0.5, 9.0]])
    x = t32(h, backend)
    y = (x.exp() + x.log() + x.sqrt() + abs(x - 1) + x.clip(0.5, 2.0)
         + F.where(x > 1.5, x * 3, x * 0.0)).sum()
    y.backward()
    expected = (np.exp(h) + 1 / h + 0.5 / np.sqrt(h) + np.sign(h - 1)
                + ((h >= 0.5) & (h <= 2.0)) + np.where(h > 1.5, 3.0, 0.0))
    _close(x.grad, expected)


def test_int_and_bool_tensors_meet_floats_as_float32(backend):
    """An int/bool operand meeting a float (scalar or tensor) becomes float32, as in
    PyTorch: not truncated to int (0.5 -> 0), not float64 (NumPy's int64 + float32)."""
    y = xpnn.tensor([1, 2], backend=backend)
    x = t32([3.0, 4.0], backend)
    for out, want in ((y * 0.5, [0.5, 1.0]), (0.5 + y, [1.5, 2.5]), (y * np.float64(1.5),
                                                                      [1.5, 3.0]),
                      ((y == 2) * 1.0, [0.0, 1.0]), (x * y, [3.0, 8.0]), (y / x, [1 / 3, 0.5])):
        assert dtype_name(out.dtype) == "float32"
        _close(out, want)
    (x * y).sum().backward()
    _close(x.grad, [1.0, 2.0])
    assert dtype_name((y * 2).dtype) == "int64" and not (y == 1.5).numpy().any()


def test_comparisons_return_bool_without_grad(backend):
    x = t32([1.0, 2.0, 3.0], backend)
    for out, want in ((x > 2, [0, 0, 1]), (x >= 2, [0, 1, 1]), (x < 2, [1, 0, 0]),
                      (x <= 2, [1, 1, 0]), (x == 2, [0, 1, 0]), (x != 2, [1, 0, 1]),
                      (1.5 < x, [0, 1, 1])):
        assert dtype_name(out.dtype) == "bool" and not out.requires_grad
        np.testing.assert_array_equal(out.numpy(), np.array(want, bool))


# -- the engine -----------------------------------------------------------------------------
def test_gradients_accumulate_over_backward_calls(backend):
    x = t32([1.0, 2.0], backend)
    (x * 2).sum().backward()
    (x * x).sum().backward()
    _close(x.grad, [2 + 2, 2 + 4])
    x.zero_grad()
    assert x.grad is None


def test_leaf_grads_are_owned_and_writable(backend):
    """Two leaves never share one gradient array, and a gradient can be updated in place
    (optimizers do), even when backward produced a broadcast view."""
    a, b = t32(np.ones((2, 3)), backend), t32(np.ones((2, 3)), backend)
    (a + b).sum().backward()
    assert a.grad is not b.grad
    a.grad *= 3.0
    _close(b.grad, np.ones((2, 3)))
    _close(a.grad, 3 * np.ones((2, 3)))


def test_graph_is_freed_after_backward(backend):
    x = t32([1.0, 2.0], backend)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="already freed.*retain_graph=True"):
        y.backward()


def test_saved_arrays_are_released_by_backward():
    x = t32(np.ones(5), "numpy")
    e = x.exp()
    saved = weakref.ref(e.array)  # saved by Exp (its output) and by Mul (an input)
    y = (e * x).sum()
    del e
    y.backward()
    gc.collect()
    assert saved() is None


def test_retain_graph_allows_a_second_backward(backend):
    x = t32([1.0, 2.0], backend)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    _close(x.grad, [4.0, 8.0])


def test_no_grad_records_nothing(backend):
    x = t32([1.0, 2.0], backend)
    with xpnn.no_grad():
        y = (x * 2).exp().sum()
        with xpnn.enable_grad():
            z = (x * 2).sum()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and xpnn.is_grad_enabled()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()

    @xpnn.no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad
    assert (x * 3).requires_grad


def test_requires_grad_propagation_and_detach(backend):
    x, c = t32([1.0, 2.0], backend), t32([3.0, 4.0], backend, grad=False)
    assert not (c * 2).requires_grad
    y = (x * c + x.detach() * 100).sum()
    y.backward()
    _close(x.grad, [3.0, 4.0])
    assert c.grad is None


def test_diamond_graph_sums_gradients(backend):
    x = t32([0.5, 1.5], backend)
    a = x * 2  # used by two branches that meet again
    y = (a * a + a.exp() + x * x).sum()
    y.backward()
    h = np.array([0.5, 1.5])
    _close(x.grad, 8 * h + 2 * np.exp(2 * h) + 2 * h)


def test_multi_output_function_with_unused_output(backend):
    class Split(xpnn.Function):
        def forward(self, X):
            return X * 2, X * 3

        def backward(self, dA, dB):
            return dA * 2 + dB * 3

    x = t32([1.0, 2.0], backend)
    a, _unused = Split.apply(x)
    (a.sum() * 1.0).backward()  # b's gradient is missing: the engine passes zeros
    _close(x.grad, [2.0, 2.0])


def test_backward_argument_checks(backend):
    x = t32([1.0, 2.0], backend)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"non-scalar output of shape xpnn.Size\(\[2\]\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"grad of shape \(3,\) for a tensor of shape xpnn.Size\(\[2\]\)"):
        y.backward(xpnn.tensor(np.ones(3, np.float32), backend=backend))
    y.backward(t32([1.0, 10.0], backend, grad=False))
    _close(x.grad, [2.0, 20.0])


@pytest.mark.parametrize("src, dst", [("numpy", "torch"), ("torch", "array_api_strict"),
                                      ("array_api_strict", "numpy")])
def test_to_between_backends_is_differentiable(src, dst):
    pytest.importorskip("torch")
    x = t32([1.0, 2.0, 3.0], src)
    y = x.to(dst)
    assert y.backend == dst and y.requires_grad
    squares = (y * y).sum().to(src) * 0.5  # back to the source backend
    plain = y.to(dtype="float64").sum().to(src, dtype="float32")  # through a dtype change
    loss = squares + plain
    assert loss.backend == src
    loss.backward()
    assert x.grad is not None and xpnn.backend.backend_of(x.grad).name == src
    assert dtype_name(x.grad.dtype) == "float32"
    _close(x.grad, [2.0, 3.0, 4.0])
    x64 = xpnn.tensor(np.array([0.5, 1.5]), backend=src, dtype="float64", requires_grad=True)
    assert xpnn.gradcheck(lambda t: (t.to(dst) ** 3).to(src), x64)


def test_float32_model_has_no_float64_anywhere(backend):
    model = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 2))
    x = t32(np.ones((5, 3)), backend, grad=False)
    y = xpnn.tensor(np.array([0, 1, 1, 0, 1]), backend=backend)
    out = model(x)
    loss = F.cross_entropy(out, y) + F.mse_loss(out, out.detach() * 0.5) + out.var() * 0.1
    assert dtype_name(out.dtype) == dtype_name(loss.dtype) == "float32"
    loss.backward()
    for name, p in model.named_parameters():
        assert dtype_name(p.dtype) == dtype_name(p.grad.dtype) == "float32", name


# -- xpnn.tensor ----------------------------------------------------------------------------
def test_tensor_default_dtype_rules(backend):
    def name(t):
        return dtype_name(t.dtype)

    assert name(xpnn.tensor([1.0, 2.0])) == "float32"  # Python floats: float32
    assert name(xpnn.tensor(3.5)) == "float32"
    assert name(xpnn.tensor(np.zeros(2))) == "float32"  # float64 data: float32
    assert name(xpnn.tensor(np.zeros(2, np.float32))) == "float32"
    if backend != "array_api_strict":  # it has no float16
        assert name(xpnn.tensor(np.zeros(2, np.float16))) == "float16"  # others kept
    assert name(xpnn.tensor([1, 2])) == "int64"
    assert name(xpnn.tensor(np.array([1, 2], np.int32))) == "int32"
    assert name(xpnn.tensor([True, False])) == "bool"
    assert name(xpnn.tensor(np.zeros(2), dtype="float64")) == "float64"  # asked for
    assert name(xpnn.tensor([1, 2], dtype="float32")) == "float32"
    t = xpnn.tensor([1.0])
    assert t.backend == backend  # host data goes to the default backend
    assert xpnn.tensor(t.array).backend == backend  # a backend array stays where it is
    assert xpnn.tensor([1.0], backend="numpy").backend == "numpy"
    assert not t.requires_grad and xpnn.tensor([1.0], requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="only floating tensors can require grad"):
        xpnn.tensor([1, 2], requires_grad=True)


def test_tensor_default_dtype_of_torch_float64():
    torch = _torch()
    t = xpnn.tensor(torch.zeros(2, dtype=torch.float64))
    assert t.backend == "torch" and t.dtype == torch.float32
    assert xpnn.tensor(torch.zeros(2, dtype=torch.float64), dtype="float64").dtype == \
        torch.float64


def test_tensor_metadata_and_repr(backend):
    x = xpnn.tensor([[1.0, 2.0]], backend=backend, requires_grad=True)
    assert x.shape == (1, 2) and x.ndim == 2 and len(x) == 1 and x.numel() == 2 and x.size() == (1, 2)
    assert isinstance(x.numpy(), np.ndarray) and x.numpy().dtype == np.float32
    r = repr(x.sum())
    where = "" if backend == "numpy" else f", backend={backend!r}"
    if not x._be.on_host:
        where += f", device={'device1' if 'strict' in backend else 'cuda:0'!r}"
    assert r.replace(",\n       ", ", ") == f"tensor(3.{where}, grad_fn=<SumBackward0>)"
    assert repr(x).replace(",\n       ", ", ") == f"tensor([[1., 2.]]{where}, requires_grad=True)"
    assert repr(xpnn.tensor([1, 2], backend=backend)) == f"tensor([1, 2]{where})"
    assert repr(xpnn.tensor([1, 2], backend=backend, dtype="int32")).replace(",\n       ", ", ") \
        == f"tensor([1, 2], dtype=xpnn.int32{where})"


def _leaf_hook_calls(lib, backend=None):
    """A leaf used by three ops (two on one path): what its hooks see in one backward."""
    kw = {} if backend is None else {"backend": backend}
    w = lib.ones(3, requires_grad=True, **kw)
    other = lib.ones(2, requires_grad=True, **kw)  # reached through a branch that stops
    calls = []
    w.register_hook(lambda g: calls.append(("pre", g.tolist())))
    w.register_post_accumulate_grad_hook(lambda p: calls.append(("post", p.grad.tolist())))
    loss = (w * 2).sum() + (w * 3).sum() + (w * w).sum() + (other * 0).sum() * 0
    loss.backward()
    calls.append(("grad", w.grad.tolist()))
    (w * 4).sum().backward()  # a second backward accumulates: hooks run once again
    calls.append(("grad", w.grad.tolist()))
    return calls


def test_leaf_hooks_run_once_on_the_summed_gradient(backend):
    """As PyTorch's AccumulateGrad: a leaf reached by several edges gets their sum, so its
    register_hook and post-accumulate-grad hooks run once per backward (an optimizer step
    in a post hook would otherwise step once per use of the weight)."""
    want = [("pre", [7.0] * 3), ("post", [7.0] * 3), ("grad", [7.0] * 3),
            ("pre", [4.0] * 3), ("post", [11.0] * 3), ("grad", [11.0] * 3)]
    assert _leaf_hook_calls(xpnn, backend) == want
    torch = pytest.importorskip("torch") if backend == "torch" else None
    if torch is not None:
        assert _leaf_hook_calls(torch) == want


# In-place changes of views: (name, change of b, a (2, 3) tensor in the graph)
VIEW_CHANGES = [
    ("index", lambda b, m: b[1].mul_(2)),
    ("view", lambda b, m: b.view(6).add_(1.0)),
    ("t_index", lambda b, m: b.t()[0].zero_()),
    ("slice_imul", lambda b, m: b[:, 1:].__imul__(3)),
    ("view_of_view", lambda b, m: b[1][1:].mul_(5)),
    ("reshape_permute_index", lambda b, m: b.reshape(3, 2).permute(1, 0)[0].mul_(4)),
    ("unsqueeze_fill", lambda b, m: b.unsqueeze(0)[0, 0].fill_(7.0)),
    ("copy_", lambda b, m: b[0].copy_(m.tensor(np.array([9.0, 8.0, 7.0], np.float32)))),
    ("setitem", lambda b, m: b[1].__setitem__(slice(0, 2), 0.5)),
    ("diagonal", lambda b, m: b.diagonal().add_(2.0)),
    ("diagonal_offset_t", lambda b, m: b.t().diagonal(-1).mul_(3.0)),
    ("diagonal_setitem", lambda b, m: b.diagonal(1).__setitem__(slice(None), 0.25)),
]


@pytest.mark.parametrize("change", [c[1] for c in VIEW_CHANGES], ids=[c[0] for c in VIEW_CHANGES])
def test_inplace_change_of_a_view_reaches_its_base_in_the_graph(change, backend):
    """b = a * 1 is in the graph; an in-place op on a view of b (an index, view, t(),
    permute, unsqueeze, a view of a view) changes b, and the gradient follows, as in
    PyTorch. The view was rebound alone: b and the gradient were silently unchanged."""
    torch = pytest.importorskip("torch")
    w = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    ta = torch.ones(2, 3, requires_grad=True)
    tb = ta * 1
    change(tb, torch)
    (tb * torch.tensor(w)).sum().backward()

    class On:  # xpnn.tensor on this backend, for the changes that make tensors
        @staticmethod
        def tensor(x):
            return xpnn.tensor(x, backend=backend)
    a = xpnn.tensor(np.ones((2, 3), np.float32), backend=backend, requires_grad=True)
    b = a * 1
    change(b, On)
    (b * xpnn.tensor(w, backend=backend)).sum().backward()
    np.testing.assert_array_equal(to_np(b), tb.detach().numpy())
    np.testing.assert_array_equal(to_np(a.grad), ta.grad.numpy())


def test_a_tensor_written_with_a_gradient_joins_the_graph(backend):
    """A plain buffer given values that require grad (``buf[i] = h``, ``buf[i].copy_(h)``,
    ``buf.add_(h)``) joins the graph, as in PyTorch: the gradient reached nothing before."""
    for write in (lambda buf, h: buf.__setitem__(slice(0, 2), h),
                  lambda buf, h: buf[0:2].copy_(h),
                  lambda buf, h: buf[0:2].add_(h)):
        x = xpnn.tensor(np.ones(2, np.float32), backend=backend, requires_grad=True)
        buf = xpnn.zeros(3, backend=backend)
        write(buf, x * 2)
        assert buf.requires_grad
        (buf * buf).sum().backward()
        np.testing.assert_array_equal(to_np(x.grad), [8.0, 8.0])


def test_inplace_writes_that_pytorch_refuses_and_fills_of_inf(backend):
    """A view of a leaf that requires grad, and an expanded view (one element in many
    places), refuse in-place changes before anything changes, as PyTorch; zero_(), fill_()
    and copy_() replace an inf or NaN (they computed t * 0 + value: NaN)."""
    w = xpnn.tensor(np.ones(3, np.float32), backend=backend, requires_grad=True)
    v = w[0:2]
    with pytest.raises(RuntimeError, match="mul_: a view of a leaf Variable that requires "
                                           "grad"):
        v.mul_(2)
    np.testing.assert_array_equal(to_np(v), [1.0, 1.0])
    e = xpnn.ones(3, backend=backend).expand(2, 3)
    with pytest.raises(RuntimeError, match="add_: unsupported operation: more than one "
                                           "element"):
        e.add_(1)
    for fill in (lambda t: t.zero_(), lambda t: t.fill_(2.0),
                 lambda t: t.copy_(xpnn.tensor(np.full(3, 2.0, np.float32), backend=backend))):
        t = xpnn.tensor(np.array([np.inf, np.nan, 1.0], np.float32), backend=backend)
        assert np.isfinite(to_np(fill(t))).all()


def test_autograd_details_an_outside_sweep_found_apart_from_pytorch():
    """Leaf hooks run for autograd.grad too; a hook's gradient of another shape or dtype is
    refused; a leaf that stopped requiring grad gets none; clamp with tensor bounds sends a
    tie's gradient to x; atan2's gradient at (0, 0) is 0; no_grad holds in a decorated
    generator; a custom Function's gradient of the wrong shape raises, one of another dtype
    is cast back, trailing Nones are accepted (all as PyTorch)."""
    x = xpnn.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    x.register_hook(lambda g: g * 2)
    np.testing.assert_array_equal(xpnn.autograd.grad((x * 3).sum(), x)[0].numpy(), [6, 6])
    y = xpnn.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    y.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match="changed the size of value"):
        (y * 3).sum().backward()
    z = xpnn.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    w = z * 2
    z.requires_grad_(False)
    w.sum().backward()
    assert z.grad is None
    v = xpnn.tensor(np.array([1.0, 2.0, 3.0, 0.5], np.float32), requires_grad=True)
    lo = xpnn.tensor(np.ones(4, np.float32), requires_grad=True)
    hi = xpnn.tensor(np.full(4, 2.0, np.float32), requires_grad=True)
    F.clamp(v, min=lo, max=hi).sum().backward()
    assert (v.grad.tolist(), lo.grad.tolist(), hi.grad.tolist()) == \
        ([1, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0])
    a, b = (xpnn.tensor(np.zeros(2, np.float32), requires_grad=True) for _ in range(2))
    xpnn.atan2(a, b).sum().backward()
    assert a.grad.tolist() == [0, 0] and b.grad.tolist() == [0, 0]

    @xpnn.no_grad()
    def gen(t):
        yield (t * 2).requires_grad
        yield (t * 3).requires_grad
    assert list(gen(a)) == [False, False] and xpnn.is_grad_enabled()

    class Wrong(xpnn.autograd.Function):
        @staticmethod
        def forward(ctx, t, shape):
            ctx.shape = shape
            return t * 2

        @staticmethod
        def backward(ctx, g):
            return xpnn.ones(*ctx.shape, dtype=xpnn.float64), None, None
    t = xpnn.ones(2, 3, requires_grad=True)
    Wrong.apply(t, (2, 3)).sum().backward()
    assert dtype_name(t.grad.dtype) == "float32"
    with pytest.raises(RuntimeError, match=r"invalid gradient at index 0.*\(3,\).*\(2, 3\)"):
        Wrong.apply(xpnn.ones(2, 3, requires_grad=True), (3,)).sum().backward()


def test_views_made_before_an_inplace_change_of_their_base_read_it(backend):
    """a = x * 1; v = a[:2]; a.mul_(2): v (and a view of v) read the change and the
    gradient follows, as PyTorch's views of shared memory (v kept the old values); a chain
    reshape -> t() with in-place changes on both ends."""
    torch = pytest.importorskip("torch")
    got = []
    for lib in (torch, xpnn):
        def t(vals, lib=lib, grad=False):
            arr = np.array(vals, np.float32)
            return torch.tensor(arr, requires_grad=grad) if lib is torch else \
                xpnn.tensor(arr, backend=backend, requires_grad=grad)
        x = t([1.0, 2.0, 3.0], grad=True)
        a = x * 1
        v = a[:2]
        w = v[1:]
        a.mul_(2)
        (v.sum() + w.sum()).backward()
        y = t([1.0, 2.0, 3.0, 4.0], grad=True)
        b = y * 1
        r = b.view(2, 2)
        rt = r.t()
        b.add_(1)
        r[0].mul_(10)
        (rt * t([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
        got.append([to_np(u) for u in (v, w, x.grad, b, rt, y.grad)])
    for ours, theirs in zip(got[1], got[0]):
        np.testing.assert_array_equal(ours, theirs)


# Changes through diagonal views outside the graph: (name, f(lib, make) -> tensors to compare)
def _diag_fill_under_no_grad(lib, make):
    w = make(np.zeros((3, 3), np.float32), grad=True)
    with lib.no_grad():
        w.diagonal().fill_(1.0)
    return [w.detach(), lib.tensor(w.requires_grad)]


def _diag_of_batch(lib, make):
    x = make(np.zeros((2, 3, 4), np.float32))
    x.diagonal(1, 1, 2).add_(5.0)
    x.diagonal(0, 2, 0).sub_(1.0)
    return [x]


def _diag_reads_its_base(lib, make):
    x = make(np.arange(12, dtype=np.float32).reshape(3, 4))
    d, e = x.diagonal(-1), x[1:].diagonal()
    x.mul_(2.0)
    x[2, 1] = 100.0
    return [d, e]


def _diag_pair(lib, make):
    x = make(np.zeros((3, 3), np.float32))
    d, d2 = x.diagonal(), x.diagonal()
    d.add_(1.0)
    d[0] = 9.0
    return [x, d2]


DIAGONAL_UNRECORDED = [_diag_fill_under_no_grad, _diag_of_batch, _diag_reads_its_base,
                       _diag_pair]


@pytest.mark.parametrize("case", DIAGONAL_UNRECORDED, ids=lambda f: f.__name__[1:])
def test_diagonal_is_a_view_outside_the_graph_too(case, backend):
    """diagonal() is a view in PyTorch: ``w.diagonal().fill_(1)`` under no_grad (eye-style
    init), a change of the base read by its diagonals, two diagonals of one tensor. xpnn's
    diagonal holds a copy, linked to its base: the change was silently lost before."""
    torch = pytest.importorskip("torch")

    def make(lib):
        def f(arr, grad=False):
            if lib is torch:
                return torch.tensor(arr, requires_grad=grad)
            return xpnn.tensor(arr, backend=backend, requires_grad=grad)
        return f
    want, got = case(torch, make(torch)), case(xpnn, make(xpnn))
    for ours, theirs in zip(got, want):
        np.testing.assert_array_equal(to_np(ours), theirs.detach().numpy())


def test_diagonal_scatter_against_torch(backend):
    """diagonal_scatter's values and gradients (to input and src) equal PyTorch's, with
    offsets and dims; a src of the wrong shape is refused."""
    torch = pytest.importorskip("torch")
    a = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7
    src = np.linspace(-1, 1, 6).reshape(2, 3)
    for off, d1, d2 in ((0, 1, 2), (1, 1, 2), (-1, 2, 1)):
        n = torch.diagonal(torch.tensor(a), off, d1, d2).shape[-1]
        s = src[:, :n]
        ta, ts = torch.tensor(a, requires_grad=True), torch.tensor(s, requires_grad=True)
        xa = xpnn.tensor(a, backend=backend, dtype="float64", requires_grad=True)
        xs = xpnn.tensor(s, backend=backend, dtype="float64", requires_grad=True)
        to = torch.diagonal_scatter(ta, ts, off, d1, d2)
        xo = xpnn.diagonal_scatter(xa, xs, off, d1, d2)
        (to ** 2 * 1.5).sum().backward()
        (xo ** 2 * 1.5).sum().backward()
        np.testing.assert_allclose(to_np(xo), to.detach().numpy(), rtol=1e-15)
        np.testing.assert_allclose(to_np(xa.grad), ta.grad.numpy(), rtol=1e-15)
        np.testing.assert_allclose(to_np(xs.grad), ts.grad.numpy(), rtol=1e-15)
    with pytest.raises(ValueError, match=r"diagonal_scatter: src of shape"):
        xpnn.diagonal_scatter(xpnn.zeros(3, 3), xpnn.zeros(2))


def test_backward_inputs_may_name_a_non_leaf():
    """backward(inputs=[a]) with ``a`` a non-leaf fills a.grad, as PyTorch (nothing was
    written); an empty inputs list raises."""
    x = xpnn.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    a = x * 1
    (a * 2).sum().backward(inputs=[a])
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])
    assert x.grad is None
    with pytest.raises(RuntimeError, match="'inputs' cannot be empty"):
        (x * 2).sum().backward(inputs=[])


def test_same_shape_views_hooks_without_grad_and_unmaterialized_grads():
    """x.view(x.shape) is another tensor (a hook on it stayed on x); hooks run with grad
    mode off; a custom Function that set_materialize_grads(False) gets None for an unused
    output (it got zeros), all as PyTorch."""
    x = xpnn.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    y = x * 1
    v = y.view(2)
    assert v is not y
    v.register_hook(lambda g: g * 100)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    modes = []
    z = xpnn.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    z.register_hook(lambda g: modes.append(xpnn.is_grad_enabled()))
    (z * 2).sum().backward()
    assert modes == [False]
    got = []

    class Two(xpnn.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.set_materialize_grads(False)
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g1, g2):
            got.append((g1 is None, g2 is None))
            return g1 * 2
    a = xpnn.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    Two.apply(a)[0].sum().backward()
    assert got == [(False, True)]


def test_retain_grad_follows_an_inplace_change():
    """y.retain_grad(); y.mul_(2): y.grad is the gradient of y's new version, as PyTorch
    (it summed both versions' gradients)."""
    x = xpnn.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    y = x * 3
    y.retain_grad()
    y.mul_(2)
    y.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


@needs_torch
def test_autograd_functional_jacobian_and_vjp_as_torch(backend):
    """torch.autograd.functional's jacobian (nested tuples for tuples) and vjp, and the
    legacy Variable; the second-order tools are refused by name."""
    import torch
    from xpnn.autograd.functional import jacobian, vjp
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))

    def f(lib):
        return lambda x, y: ((x * y).sin().sum(0), (x - y).exp())
    xs = [xpnn.tensor(v, backend=backend, dtype="float64") for v in (a, b)]
    ts = [torch.tensor(v) for v in (a, b)]
    ours, theirs = jacobian(f(xpnn), tuple(xs)), torch.autograd.functional.jacobian(
        f(torch), tuple(ts))
    for row, trow in zip(ours, theirs):
        for j, t in zip(row, trow):
            assert tuple(j.shape) == tuple(t.shape)
            np.testing.assert_allclose(to_np(j), t.numpy(), rtol=1e-12, atol=1e-12)
    single = jacobian(lambda x: x.exp(), xs[0])
    assert tuple(single.shape) == (3, 2, 3, 2)
    v = rng.standard_normal(2)
    out, g = vjp(lambda x: (x ** 3).sum(0), xs[0], xpnn.tensor(v, backend=backend,
                                                               dtype="float64"))
    tout, tg = torch.autograd.functional.vjp(lambda x: (x ** 3).sum(0), ts[0], torch.tensor(v))
    np.testing.assert_allclose(to_np(out), tout.numpy())
    np.testing.assert_allclose(to_np(g), tg.numpy())
    zero = jacobian(lambda x, y: x * 2, tuple(xs))[1]
    assert not to_np(zero).any()
    with pytest.raises(RuntimeError, match="independent of input 1"):
        jacobian(lambda x, y: x * 2, tuple(xs), strict=True)
    assert jacobian(lambda x: x * x, xs[0], create_graph=True).requires_grad
    from xpnn.autograd import Variable
    w = Variable(xs[0], requires_grad=True)
    assert w is not xs[0] and w.requires_grad and not xs[0].requires_grad
    assert isinstance(xs[0], Variable)
    with pytest.raises(TypeError, match="Variable: data has to be a tensor"):
        Variable([1.0])


def test_set_detect_anomaly_turns_the_checks_on_and_off():
    x = xpnn.tensor([-1.0], requires_grad=True)
    try:
        xpnn.autograd.set_detect_anomaly(True)
        assert xpnn.autograd.is_anomaly_enabled()
        with pytest.raises(xpnn.AnomalyError, match="Sqrt"):
            x.sqrt().sum().backward()
    finally:
        xpnn.autograd.set_detect_anomaly(False)
    assert not xpnn.autograd.is_anomaly_enabled()
    with xpnn.autograd.set_detect_anomaly(True):
        assert xpnn.autograd.is_anomaly_enabled()
    assert not xpnn.autograd.is_anomaly_enabled()
    with xpnn.autograd.detect_anomaly(check_nan=False):
        x.sqrt().sum().backward()
