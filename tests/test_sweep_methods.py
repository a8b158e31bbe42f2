"""Regression tests from an adversarial sweep of Tensor methods and torch.* functions
(in-place methods, new_*/*_like and conversions, math methods) against torch 2.13: each case
ran differently in xpnn before its fix. A case is a function of the module (``xpnn`` or
``torch``), called the same way on both; results are compared in shape, dtype and value
(and ``is`` identity where a case returns it), and an error must be torch's exception class
(or a subclass)."""
import pytest

import xpnn

torch = pytest.importorskip("torch")

from torch_same import raises_like, same as _same  # noqa: E402


def _x(m):
    return m.arange(12.).reshape(3, 4) - 5


def _inplace(fn):
    """A case running ``fn(m, x)`` on a fresh ``x``: (whether it returned x itself, x)."""
    def case(m):
        x = _x(m)
        return fn(m, x) is x, x
    return case


def _put_grad(m):
    a = m.arange(6.).reshape(2, 3).requires_grad_()
    s = m.tensor([7., 8], requires_grad=True)
    b = a * 2
    b[1].put_(m.tensor([0, -1]), s * 3)  # through a view: the base sees it
    (b * m.arange(6.).reshape(2, 3)).sum().backward()
    return b, a.grad, s.grad


def _index_put_mask_grad(m):
    a = m.arange(12.).reshape(3, 4).requires_grad_()
    s = m.tensor([7., 8], requires_grad=True)
    b = a * 2
    b.index_put_((m.tensor([True, False, True]), m.tensor([1, 2])), s, accumulate=True)
    (b * m.arange(12.).reshape(3, 4)).sum().backward()
    return b, a.grad, s.grad


def _index_put_mask2d(m):
    a = m.arange(12.).reshape(3, 4).requires_grad_()
    s = m.tensor(7., requires_grad=True)
    b = a * 2
    b.index_put_((m.arange(12.).reshape(3, 4) > 8,), s)
    (b * m.arange(12.).reshape(3, 4)).sum().backward()
    return b, a.grad, s.grad


def _addr_grad(m):
    a = m.ones(3, 4, requires_grad=True)
    u = m.tensor([1., 2, 3], requires_grad=True)
    v = m.tensor([1., -1, 0, 2], requires_grad=True)
    r = m.addr(a, u, v, beta=0.5, alpha=2)
    (r * m.arange(12.).reshape(3, 4)).sum().backward()
    return r, a.grad, u.grad, v.grad


def _fill_0d_grad(m):
    a = m.ones(3, requires_grad=True)
    v = m.tensor(2., requires_grad=True)
    b = a * 1
    b.fill_(v)
    (b * m.tensor([1., 2, 3])).sum().backward()
    return b, a.grad, v.grad


def _to_copy(m):
    x = _x(m)
    y = x.to(m.float32, copy=True)
    y.add_(1)
    return x, y, y is x


# name -> f(module): runs on both modules, the results compared
CASES = {
    # in-place methods
    "put_": _inplace(lambda m, x: x.put_(m.tensor([0, 10, -1]), m.tensor([1., 2, 3]))),
    "put_accumulate": _inplace(lambda m, x: x.put_(m.tensor([0, 0, 5]), m.tensor([1., 2, 3]),
                                                   accumulate=True)),
    "put": lambda m: m.put(_x(m), m.tensor([[1], [2]]), m.tensor([9., 8])),
    "put_grad": _put_grad,
    "index_put_mask": _inplace(lambda m, x: x.index_put_((x > 3,), m.tensor(0.))),
    "index_put_mask_then_index": _index_put_mask_grad,
    "index_put_mask2d_grad": _index_put_mask2d,
    "scatter_multiply": _inplace(lambda m, x: x.scatter_(
        1, m.tensor([[0, 0], [2, 3], [1, 1]]), m.full((3, 2), 3.), reduce="multiply")),
    "scatter_multiply_value": _inplace(lambda m, x: x.scatter_(
        0, m.tensor([[2, 1, 0, 0]]), 2., reduce="multiply")),
    "scatter_reduce_max_alias": lambda m: _x(m).scatter_reduce(
        1, m.tensor([[0, 1]]), m.tensor([[9., -9]]), reduce="max"),
    "scatter_reduce_min_alias": lambda m: _x(m).scatter_reduce(
        1, m.tensor([[0, 1]]), m.tensor([[9., -9]]), reduce="min"),
    "fill_0d_grad": _fill_0d_grad,
    "addmm_": _inplace(lambda m, x: x.addmm_(m.ones(3, 2), m.ones(2, 4), beta=2, alpha=0.5)),
    "addr_": _inplace(lambda m, x: x.addr_(m.tensor([1., 2, 3]), m.ones(4), alpha=2)),
    "addmv_": lambda m: _inplace(lambda m, x: x[0].addmv_(m.ones(4, 3), m.ones(3)))(m),
    "addr": lambda m: _x(m).addr(m.tensor([1., 2, 3]), m.tensor([1., 0, 2, 1]), beta=0),
    "addr_grad": _addr_grad,
    # conversions
    "to_copy": _to_copy,
    "index_of_1_element": lambda m: [10, 20, 30][m.tensor([2])],
    "rshift_reflected": lambda m: (64 >> m.tensor([1, 2]), 1 << m.tensor([3])),
    # math methods
    "sign_bool": lambda m: (m.tensor([True, False]).sign(), m.sign(m.tensor([True]))),
    "square_bool": lambda m: m.tensor([True, False]).square(),
    "logsumexp_int": lambda m: (m.logsumexp(m.tensor([[1, 2], [3, 4]]), 1),
                                m.tensor([True, False]).logsumexp(0)),
    "isreal": lambda m: (m.isreal(m.tensor([1., float("nan")])), m.isreal(m.tensor([3]))),
}

# name -> f(module) that torch refuses: xpnn must raise torch's class (or a subclass of it)
RAISES = {
    "fill_1d_tensor": lambda m: _x(m).fill_(m.tensor([3.5])),
    "exp_int": lambda m: m.tensor([1, 2]).exp_(),
    "log_int": lambda m: m.tensor([1, 2]).log_(),
    "sqrt_int": lambda m: m.tensor([1, 2]).sqrt_(),
    "sigmoid_int": lambda m: m.tensor([1, 2]).sigmoid_(),
    "tanh_bool": lambda m: m.tensor([True]).tanh_(),
    "clamp_no_bounds": lambda m: _x(m).clamp(),
    "scatter_reduce_bad_name": lambda m: _x(m).scatter_reduce(1, m.tensor([[0]]), m.ones(1, 1),
                                                              reduce="foo"),
    "topk_k_too_large": lambda m: m.ones(4).topk(5),
    "bincount_negative": lambda m: m.bincount(m.tensor([-1, 1])),
    "put_size_mismatch": lambda m: _x(m).put_(m.tensor([0, 1]), m.tensor([1.])),
    "index_put_mask_shape": lambda m: _x(m).index_put_((m.tensor([True, False]),), m.tensor(0.)),
    "index_of_2_elements": lambda m: [10, 20, 30][m.tensor([1, 2])],
    "uniform_int": lambda m: m.zeros(3, dtype=m.int64).uniform_(),
    "normal_int": lambda m: m.zeros(3, dtype=m.int64).normal_(),
    "exponential_int": lambda m: m.zeros(3, dtype=m.int64).exponential_(),
    "rand_like_int": lambda m: m.rand_like(m.tensor([1, 2])),
    "randn_int_dtype": lambda m: m.randn(2, dtype=m.int64),
    "frac_int": lambda m: m.frac(m.tensor([1, 2])),
    "bitwise_and_float": lambda m: m.ones(2) & 1,
    "bitwise_not_float": lambda m: ~m.ones(2),
    "histc_int": lambda m: m.histc(m.tensor([1, 2])),
}

# range checks of index arrays run only in host memory (on a device they would sync)
HOST_CHECKS = {"bincount_negative"}


# torch deprecates scatter's reduce= with a tensor src (it still runs it)
@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter:UserWarning")
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(backend, name):
    _same(CASES[name](xpnn), CASES[name](torch))


@pytest.mark.parametrize("name", sorted(RAISES))
def test_raises_like_torch(backend, name):
    raises_like(RAISES[name], host_only=name in HOST_CHECKS)


def test_new_error_classes_keep_python_classes():
    """The errors changed here stay the Python classes xpnn raised before."""
    with pytest.raises(ValueError):
        xpnn.ones(2).clamp()
    with pytest.raises(ValueError):
        xpnn.ones(4).topk(5)
    with pytest.raises(TypeError):
        xpnn.frac(xpnn.tensor([1]))
    with pytest.raises(TypeError):
        xpnn.zeros(2, dtype=xpnn.int64).uniform_()


def test_version_bump_of_put_refuses_backward(backend):
    """put_ changes a tensor a recorded product saved: backward refuses, as in torch."""
    for m in (torch, xpnn):
        a = m.ones(3, requires_grad=True)
        b = a * 2
        c = b * b
        b.put_(m.tensor([0]), m.tensor([5.]))
        with pytest.raises(RuntimeError):
            c.sum().backward()


def test_gradcheck_put_index_put_addr(host_backend):
    """float64 finite differences through put (accumulating), index_put with a mask, scatter
    with reduce="multiply", addr and fill_ with a 0-d tensor."""
    f64 = xpnn.float64

    def put(x, s):
        return xpnn.put(x, xpnn.tensor([0, 4, 4]), s, accumulate=True)

    def mask(x, s):
        return x.index_put((x.detach() > 0, ), s * s)

    def mult(x, s):
        return x.scatter(1, xpnn.tensor([[0, 0], [2, 1]]), s, reduce="multiply")

    def addr(x, u, v):
        return xpnn.addr(x, u, v, beta=0.5, alpha=-2)

    def fill(x, v):
        y = x * 1
        y.fill_(v * v)
        return y

    x = xpnn.randn(2, 3, dtype=f64, requires_grad=True)
    assert xpnn.gradcheck(put, x, xpnn.randn(3, dtype=f64, requires_grad=True))
    assert xpnn.gradcheck(mask, x, xpnn.randn((), dtype=f64, requires_grad=True))
    assert xpnn.gradcheck(mult, x, xpnn.randn(2, 2, dtype=f64, requires_grad=True))
    assert xpnn.gradcheck(addr, x, xpnn.randn(2, dtype=f64, requires_grad=True),
                          xpnn.randn(3, dtype=f64, requires_grad=True))
    assert xpnn.gradcheck(fill, x, xpnn.randn((), dtype=f64, requires_grad=True))
