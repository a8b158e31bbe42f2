"""Tensor methods PyTorch programs call that are conveniences over xpnn's ops: the in-place
forms of the math methods (``x.floor_()``, ``x.eq_(y)``, ...), the shape-changing in-place
methods (``squeeze_``, ``t_``, ...), random fills (``random_``, ``exponential_``, ...),
``fill_diagonal_``, ``sum_to_size``, ``new``, ``allclose``/``equal`` and the small predicates;
each against PyTorch on every backend."""
import numpy as np
import pytest
from conftest import to_np

import xpnn

torch = pytest.importorskip("torch")


def _pair(values, backend, dtype="float32"):
    return (xpnn.tensor(values, backend=backend, dtype=dtype),
            torch.tensor(values, dtype=getattr(torch, dtype)))


_INPLACE = [("floor_", ()), ("ceil_", ()), ("round_", ()), ("trunc_", ()), ("sin_", ()),
            ("cos_", ()), ("tan_", ()), ("square_", ()), ("reciprocal_", ()), ("sign_", ()),
            ("expm1_", ()), ("erf_", ()), ("clamp_min_", (0.1,)), ("clamp_max_", (0.2,)),
            ("atan2_", ("x2",)), ("hypot_", ("x2",)), ("remainder_", (0.7,)),
            ("eq_", ("floor",)), ("gt_", (0.0,)), ("logical_not_", ()), ("nan_to_num_", ()),
            ("subtract_", (1.5,)), ("multiply_", ("x2",)), ("true_divide_", (4.0,)),
            ("negative_", ()), ("lerp_", ("x2", 0.25)),
            ("ldexp_", ("ints",))]


@pytest.mark.parametrize("name,args", _INPLACE, ids=[n for n, _ in _INPLACE])
def test_inplace_math_matches_torch(name, args, backend):
    """Each writes into the tensor, returns it, and gives torch's values (in x's dtype)."""
    vals = [1.25, -0.5, 2.75, -3.0]
    x, t = _pair(vals, backend)

    def operands(v):
        made = {"x2": v * 2, "floor": v.floor(), "ints": v.new_tensor([1, 2, 0, 3]).long()}
        return [made.get(a, a) if isinstance(a, str) else a for a in args]
    out, ref = getattr(x, name)(*operands(x)), getattr(t, name)(*operands(t))
    assert out is x
    np.testing.assert_allclose(to_np(out), ref.float().numpy(), rtol=1e-6, atol=1e-6)


def test_inplace_math_on_a_recorded_tensor_flows_gradients(backend):
    a, ta = _pair([0.5, -1.25, 2.0], backend)
    a.requires_grad_(), ta.requires_grad_()
    for lib, x in ((xpnn, a), (torch, ta)):
        y = x * 2
        y.sin_().atan2_(x + 3).square_()
        y.sum().backward()
    np.testing.assert_allclose(to_np(a.grad), ta.grad.numpy(), rtol=1e-5)


def test_a_floating_result_refuses_an_integer_tensor(backend):
    x = xpnn.tensor([1, 2], backend=backend)
    with pytest.raises(RuntimeError, match="sin_: result type float32 can't be cast to the "
                                           "desired output type int64"):
        x.sin_()
    assert to_np(x).tolist() == [1, 2]
    assert to_np(x.gcd_(xpnn.tensor([4, 6], backend=backend))).tolist() == [1, 2]
    assert to_np(x.eq_(xpnn.tensor([1, 0], backend=backend))).tolist() == [1, 0]
    with pytest.raises(RuntimeError, match="clamp_: result type float32 can't be cast"):
        x.clamp_(0.5)  # PyTorch refuses float bounds in place (it truncated them)
    assert to_np(x.clamp_(1)).tolist() == [1, 1]


def test_shape_changing_inplace_methods(backend):
    """squeeze_/unsqueeze_/t_/transpose_/resize_ rebind the tensor (in the graph where it is
    recorded); views and tensors with views refuse, the resize_ of another size too."""
    a, ta = _pair([[1.0, 2.0, 3.0]], backend)
    a.requires_grad_(), ta.requires_grad_()
    w = np.arange(3.0, dtype=np.float32).reshape(3, 1)
    for x, wt in ((a, xpnn.tensor(w, backend=backend)), (ta, torch.tensor(w))):
        y = x * 1
        y.squeeze_(0).unsqueeze_(1).t_().transpose_(0, 1)
        assert tuple(y.shape) == (3, 1)
        (y * wt).sum().backward()
    np.testing.assert_array_equal(to_np(a.grad), ta.grad.numpy())
    z = xpnn.zeros(2, 3, backend=backend)
    assert z.resize_(3, 2).shape == (3, 2) and z.t_().shape == (2, 3)
    with pytest.raises(RuntimeError, match="resize_: xpnn resizes only to the same number"):
        z.resize_(4, 4)
    base = xpnn.zeros(2, 3, backend=backend)
    view = base[0]
    for t in (view, base):
        with pytest.raises(RuntimeError, match="unsqueeze_: not supported on a view"):
            t.unsqueeze_(0)


def test_random_fills_draw_their_distributions(backend):
    xpnn.manual_seed(0)
    n = 20000
    e = xpnn.empty(n, backend=backend)
    draws = {"random_": to_np(e.random_(3, 7)), "random_to": to_np(e.random_(5)),
             "exponential_": to_np(e.exponential_(2.0)),
             "bernoulli_": to_np(e.bernoulli_(0.3)), "geometric_": to_np(e.geometric_(0.25)),
             "log_normal_": to_np(e.log_normal_(0.0, 0.5)),
             "cauchy_": to_np(e.cauchy_(1.0, 2.0))}
    assert set(np.unique(draws["random_"])) == {3, 4, 5, 6}
    assert set(np.unique(draws["random_to"])) == {0, 1, 2, 3, 4}
    assert abs(draws["exponential_"].mean() - 0.5) < 0.02
    assert abs(draws["bernoulli_"].mean() - 0.3) < 0.02
    assert draws["geometric_"].min() == 1 and abs(draws["geometric_"].mean() - 4) < 0.15
    assert abs(np.median(draws["log_normal_"]) - 1.0) < 0.03
    assert abs(np.median(draws["cauchy_"]) - 1.0) < 0.1
    i = xpnn.empty(1000, backend=backend, dtype="int64").random_(-2, 2)
    assert str(i.dtype).endswith("int64") and set(np.unique(to_np(i))) == {-2, -1, 0, 1}
    with pytest.raises(RuntimeError, match="random_: expects 'from' < 'to'"):
        e.random_(3, 3)
    r = xpnn.ones(2, backend=backend, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="exponential_: cannot fill a recorded tensor"):
        r.exponential_()


@pytest.mark.parametrize("shape,wrap", [((5, 3), True), ((7, 3), True), ((7, 3), False),
                                        ((3, 5), False), ((3, 3, 3), False)])
def test_fill_diagonal_as_torch(shape, wrap, backend):
    x = xpnn.zeros(*shape, backend=backend)
    t = torch.zeros(*shape)
    assert x.fill_diagonal_(2.5, wrap=wrap) is x
    np.testing.assert_array_equal(to_np(x), t.fill_diagonal_(2.5, wrap=wrap).numpy())


def test_fill_diagonal_refuses_unequal_dims(backend):
    with pytest.raises(ValueError, match="fill_diagonal_: expected a matrix or a tensor with "
                                         "all dims equal, got shape \\(2, 3, 3\\)"):
        xpnn.zeros(2, 3, 3, backend=backend).fill_diagonal_(1.0)


def test_conveniences_as_torch(backend):
    x, t = _pair(np.arange(24.0).reshape(2, 3, 4).tolist(), backend)
    np.testing.assert_array_equal(to_np(x.sum_to_size(3, 1)), t.sum_to_size(3, 1).numpy())
    np.testing.assert_array_equal(to_np(x.sum_to_size(1, 3, 4)), t.sum_to_size(1, 3, 4).numpy())
    with pytest.raises(RuntimeError, match="sum_to_size: size \\(2, 4\\) is not expandable"):
        x.sum_to_size(2, 4)
    assert x.new(2, 5).shape == (2, 5) and x.new(2, 5).dtype == x.dtype
    assert to_np(x.new([1, 2])).tolist() == [1.0, 2.0] and x.new([1, 2]).dtype == x.dtype
    assert x.new().shape == tuple(t.new().shape) == (0,) and x.new().dtype == x.dtype
    assert [to_np(p).shape for p in x.split_with_sizes([1, 3], 2)] == [(2, 3, 1), (2, 3, 3)]
    assert x.allclose(x + 1e-9) and not x.allclose(x + 1) and xpnn.allclose(x, x)
    assert x.equal(x * 1) and not x.equal(x[0]) and not xpnn.equal(x, x + 1)
    nan = xpnn.tensor([float("nan")], backend=backend)
    assert not nan.allclose(nan) and nan.allclose(nan, equal_nan=True)
    assert x.is_signed() and not xpnn.tensor([True], backend=backend).is_signed()
    assert not x.is_complex() and bool(x.isreal().all())
    assert x.is_same_size(x * 2) and not x.is_same_size(x[0])
    assert x.nbytes == t.nbytes == 96 and x.get_device() == -1 and x.positive() is x
    assert xpnn.tensor([2.0], backend=backend).is_nonzero()
    with pytest.raises(RuntimeError, match="is_nonzero: Boolean value of Tensor with more"):
        x.is_nonzero()
    assert to_np(x[0, 0].ger(x[1, 0])).shape == (4, 4)
    assert str(xpnn.float_power(x, 2).dtype).endswith("float64")
    with pytest.raises(RuntimeError, match="float_power_: the base has dtype float32"):
        x.float_power_(2)
    d = xpnn.tensor([3.0], backend=backend, dtype="float64")
    assert d.float_power_(2) is d and to_np(d).tolist() == [9.0]


_PRINTED = [lambda r: r.standard_normal(3), lambda r: [1.0, 2.0], lambda r: [1e-5, 1.0],
            lambda r: [123456.0, 1.0], lambda r: [1, 2], lambda r: [True, False],
            lambda r: 3.5, lambda r: 2.0, lambda r: r.standard_normal((2, 3)),
            lambda r: [float("nan"), float("inf"), 1.5], lambda r: [float("nan"), 0.0],
            lambda r: [0.0, 0.0], lambda r: r.standard_normal(1000),
            lambda r: r.standard_normal(1001), lambda r: r.standard_normal((3, 4, 5)),
            lambda r: r.standard_normal((40, 40)), lambda r: r.standard_normal((2, 3, 300)),
            lambda r: [[1e9, 1.0]], lambda r: [-0.0, 1.5], lambda r: [12345678.9],
            lambda r: r.integers(0, 100000, (5, 30)), lambda r: np.zeros((2, 0)),
            lambda r: np.zeros((0,)), lambda r: r.standard_normal((7, 20)) * 1000]


@pytest.mark.parametrize("i", range(len(_PRINTED)))
def test_printing_reads_as_pytorch(i):
    """print(x) gives PyTorch's text: its number formats (fixed, whole, scientific), widths,
    line wrapping, summaries of large tensors and suffixes (dtype names aside)."""
    a = np.asarray(_PRINTED[i](np.random.default_rng(i)))
    kind = {"f": "float32", "i": "int64", "b": "bool"}[a.dtype.kind]
    ours = repr(xpnn.tensor(a, dtype=kind))
    assert ours == repr(torch.tensor(a, dtype=getattr(torch, kind)))


def test_printing_suffixes_and_options():
    x, t = xpnn.ones(2, 30, requires_grad=True), torch.ones(2, 30, requires_grad=True)
    assert repr(x) == repr(t) and repr(x * 2) == repr(t * 2)  # wrapped requires_grad, grad_fn
    assert repr(xpnn.zeros(0, dtype="int64")) == "tensor([], dtype=xpnn.int64)"
    assert repr(xpnn.tensor([1.5, 2.25], dtype="float16")) == \
        "tensor([1.5000, 2.2500], dtype=xpnn.float16)"
    try:
        for lib in (xpnn, torch):
            lib.set_printoptions(precision=2)
        assert repr(xpnn.tensor([1.23456, 2.5])) == repr(torch.tensor([1.23456, 2.5]))
        for lib in (xpnn, torch):
            lib.set_printoptions(profile="default", sci_mode=False)
        assert repr(xpnn.tensor([1e-5, 1.0])) == repr(torch.tensor([1e-5, 1.0]))
        for lib in (xpnn, torch):
            lib.set_printoptions(profile="short")
        big = np.random.default_rng(0).standard_normal((9, 9))
        xpnn.set_printoptions(threshold=10)
        torch.set_printoptions(threshold=10)
        assert repr(xpnn.tensor(big, dtype="float32")) == repr(torch.tensor(big).float())
    finally:
        for lib in (xpnn, torch):
            lib.set_printoptions(profile="default")
    with pytest.raises(ValueError, match="set_printoptions: profile must be one of"):
        xpnn.set_printoptions(profile="long")


@pytest.mark.parametrize("args", [(2, 3, 2), (3, 4, 4), (-1, 2, 1), (0, 2, 1), (2, 7, 1),
                                  (1, 1, 2)])
def test_unfold_windows_as_torch(args, backend):
    """Tensor.unfold(dimension, size, step): sliding windows as a new last dim (ViT patches:
    x.unfold(2, p, p).unfold(3, p, p)); overlapping windows add their gradients."""
    x = np.random.default_rng(3).standard_normal((2, 3, 7, 8))
    a = xpnn.tensor(x, backend=backend, dtype="float64", requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    ours, theirs = a.unfold(*args), t.unfold(*args)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(to_np(ours), theirs.detach().numpy())
    g = np.random.default_rng(4).standard_normal(tuple(theirs.shape))
    (ours * xpnn.tensor(g, backend=backend, dtype="float64")).sum().backward()
    (theirs * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(to_np(a.grad), t.grad.numpy())
    assert to_np(xpnn.tensor(5.0, backend=backend).unfold(0, 1, 1)).tolist() == [5.0]
    with pytest.raises(RuntimeError, match="unfold: maximum size for tensor at dimension 2 is "
                                           "7 but size is 9"):
        a.unfold(2, 9, 1)
    with pytest.raises(ValueError, match="unfold: step must be an int >= 1, got 0"):
        a.unfold(2, 2, 0)


def test_index_put_in_place_and_bad_indices(backend):
    """x.index_put_(indices, values, accumulate): PyTorch's values, repeated positions adding
    up with accumulate; in the graph where x is recorded; bad indices named."""
    z, zt = xpnn.zeros(5, backend=backend), torch.zeros(5)
    idx = [0, 0, 2, -1]
    z.index_put_((xpnn.tensor(idx, backend=backend),), xpnn.tensor(1.0, backend=backend),
                 accumulate=True)
    zt.index_put_((torch.tensor(idx),), torch.tensor(1.0), accumulate=True)
    np.testing.assert_array_equal(to_np(z), zt.numpy())
    a = xpnn.ones(4, 2, backend=backend, requires_grad=True)
    t = torch.ones(4, 2, requires_grad=True)
    for lib, x in ((xpnn, a), (torch, t)):
        kw = {"backend": backend} if lib is xpnn else {}
        y = x * 3
        y.index_put_((lib.tensor([1, 3], **kw),), lib.tensor([5.0, 6.0], **kw))
        (y * y).sum().backward()
    np.testing.assert_array_equal(to_np(a.grad), t.grad.numpy())
    with pytest.raises(TypeError, match=r"index_put: indices\[0\] must be an integer tensor"):
        xpnn.zeros(3, backend=backend).index_put((xpnn.tensor([0.5], backend=backend),),
                                                 xpnn.tensor(1.0, backend=backend))
    with pytest.raises(IndexError, match="index_put: too many indices"):
        xpnn.zeros(3, backend=backend).index_put(
            (xpnn.tensor([0], backend=backend),) * 2, xpnn.tensor(1.0, backend=backend))


def test_numpy_device_reads_as_torch_device():
    """``x.device.type`` / ``.index`` and the repr as PyTorch's CPU device, while NumPy's
    functions still take the device (it is the string "cpu")."""
    x = xpnn.ones(2, backend="numpy")
    assert x.device == "cpu" and x.device == xpnn.device("cpu") and str(x.device) == "cpu"
    assert (x.device.type, x.device.index) == ("cpu", None)
    assert repr(x.device) == "device(type='cpu')" and {x.device: 1}["cpu"] == 1
    assert xpnn.zeros(2, device=x.device).device.type == "cpu"
    assert x.new_zeros(3).device == x.device
