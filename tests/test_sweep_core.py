"""Regression tests from an adversarial sweep of the everyday tensor surface (promotion,
integer semantics, indexing, reductions, shape ops, creation) against torch 2.13: each case
ran differently in xpnn before its fix. A case is a function of the module (``xpnn`` or
``torch``), called the same way on both; results are compared in shape, dtype and value, and
an error must be torch's exception class (or a subclass)."""
import numpy as np
import pytest

import xpnn

torch = pytest.importorskip("torch")

from torch_same import raises_like, same as _same  # noqa: E402


def _x(m):
    return m.arange(24.).reshape(2, 3, 4)


def _setitem_lead1(m):
    x = m.zeros(2, 3)
    x[[0, 1]] = m.ones(1, 2, 3)
    x[0] = m.full((1, 1, 3), 2.)
    return x


def _setitem_grad_lead1(m):
    x = m.zeros(2, 3, requires_grad=True)
    v = m.tensor([[1., 2., 3.]], requires_grad=True)
    y = x * 1
    y[0] = v * 2
    (y * m.arange(6.).reshape(2, 3)).sum().backward()
    return y, x.grad, v.grad


def _bool(m):
    return m.tensor([[True, False], [False, False]])


# name -> f(module): runs on both modules, the results compared
CASES = {
    # promotion and integer semantics
    "contains": lambda m: (3. in _x(m), 30 in _x(m), m.tensor(5.) in _x(m)),
    "type_string": lambda m: (m.ones(2).type(), m.tensor([1]).type(),
                              m.tensor([True]).type()),
    # indexing
    "getitem_empty_list": lambda m: _x(m)[[]],
    "index_select_0d_index": lambda m: m.index_select(_x(m), 0, m.tensor(1)),
    "index_select_0d_method": lambda m: _x(m).index_select(-1, m.tensor(3)),
    "setitem_leading_ones": _setitem_lead1,
    "setitem_grad_leading_ones": _setitem_grad_lead1,
    # reductions over bools (array-api-strict's max/prod/cumsum take numbers only)
    "bool_max": lambda m: (_bool(m).max(), _bool(m).min(), _bool(m).amax(0),
                           m.amin(_bool(m), 1)),
    "bool_max_dim": lambda m: tuple(_bool(m).max(1)),
    "bool_cumsum_prod": lambda m: (_bool(m).cumsum(1), _bool(m).prod(),
                                   _bool(m).count_nonzero()),
    "max_0d_dim": lambda m: tuple(m.tensor(3.).max(0)),
    # shape ops
    "movedim_tuples": lambda m: (m.movedim(_x(m), (0, 1), (2, 0)),
                                 _x(m).movedim((-1, 0), (0, -1))),
    "cat_1d_empty": lambda m: (m.cat([m.tensor([]), m.ones(2, 3)]),
                               m.cat([m.ones(2, 3), m.tensor([]), m.zeros(1, 3)], 0)),
    "mH": lambda m: _x(m).mH,
    # creation
    "arange_tensor_bounds": lambda m: (m.arange(m.tensor(3)), m.arange(m.tensor(3.)),
                                       m.arange(m.tensor(1), 7, m.tensor(2))),
    "linspace_tensor_bounds": lambda m: m.linspace(m.tensor(0.), m.tensor(1.), 5),
}

# name -> f(module) that torch refuses: xpnn must raise torch's class (or a subclass of it)
RAISES = {
    # promotion and integer semantics
    "div_bad_rounding_mode": lambda m: m.div(m.tensor([1, 2]), 2, rounding_mode="x"),
    "bool_sub": lambda m: m.tensor([True]) - m.tensor([False]),
    "bool_neg": lambda m: -m.tensor([True]),
    "int_mean": lambda m: m.tensor([1, 2]).mean(),
    "bool_mean": lambda m: m.tensor([True]).mean(),
    "int_negative_power": lambda m: m.tensor([2, 3]) ** -1,
    "float_of_many": lambda m: float(m.ones(2)),
    "item_of_many": lambda m: m.ones(2).item(),
    # indexing
    "gather_out_of_range": lambda m: m.gather(_x(m), 1, m.tensor([[[5]]])),
    "masked_fill_1d_value": lambda m: _x(m).masked_fill(_x(m) > 5, m.tensor([1.])),
    "setitem_shape_mismatch": lambda m: _x(m).__setitem__(0, m.ones(2)),
    "setitem_adv_shape_mismatch": lambda m: m.zeros(2, 3).__setitem__([0, 1], m.ones(3, 3)),
    # reductions
    "max_of_empty": lambda m: m.zeros(0).max(),
    "max_dim_of_empty": lambda m: m.zeros(0, 3).max(0),
    "argmax_of_empty": lambda m: m.zeros(0).argmax(),
    "argmax_bool": lambda m: _bool(m).argmax(),
    "quantile_q_out_of_range": lambda m: m.quantile(m.tensor([1., 2.]), 1.5),
    "sum_repeated_dim": lambda m: _x(m).sum((0, 0)),
    # shape ops
    "view_two_minus_ones": lambda m: _x(m).view(-1, -1),
    "reshape_bad_size": lambda m: _x(m).reshape(5, -1),
    "expand_bad_size": lambda m: m.ones(3, 2).expand(3, 4),
    "expand_minus_one_new_dim": lambda m: m.ones(3, 1).expand(-1, 3, 4),
    "repeat_fewer_counts": lambda m: m.ones(2, 2).repeat(2),
    "permute_wrong_count": lambda m: _x(m).permute(0, 1),
    "permute_repeated_dim": lambda m: _x(m).permute(0, 0, 1),
    "split_bad_sizes": lambda m: m.arange(10).split([3, 6]),
    "cat_shape_mismatch": lambda m: m.cat([m.ones(2, 3), m.zeros(2, 1)], 0),
    "cat_0d": lambda m: m.cat([m.tensor(1.), m.tensor(2.)]),
    "stack_shape_mismatch": lambda m: m.stack([m.ones(2), m.zeros(3)]),
    # creation
    "arange_zero_step": lambda m: m.arange(0, 5, 0),
    "arange_step_sign": lambda m: m.arange(0, 5, -1),
    "ones_negative_size": lambda m: m.ones(-1),
    "randint_low_not_below_high": lambda m: m.randint(5, 3, (2,)),
    # autograd
    "backward_gradient_shape": lambda m: (m.ones(4, requires_grad=True) * 2).backward(
        m.ones(3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(backend, name):
    _same(CASES[name](xpnn), CASES[name](torch))


# range checks of index arrays run only in host memory (on a device they would sync)
HOST_CHECKS = {"gather_out_of_range"}


@pytest.mark.parametrize("name", sorted(RAISES))
def test_raises_like_torch(backend, name):
    raises_like(RAISES[name], host_only=name in HOST_CHECKS)


def test_integer_division_by_zero_is_runtime_error(host_backend):
    """PyTorch raises RuntimeError("ZeroDivisionError"); xpnn's error is both (checked on
    host memory only: on a device the check would cost a sync)."""
    with pytest.raises(RuntimeError):
        torch.tensor([1]) // torch.tensor([0])
    with pytest.raises(RuntimeError):
        xpnn.tensor([1]) // xpnn.tensor([0])
    with pytest.raises(ZeroDivisionError):
        xpnn.tensor([1]) % 0


def test_errors_keep_python_classes():
    """The new classes are subclasses of torch's RuntimeError and of the Python error that
    xpnn raised before, so older ``except ValueError`` code keeps working."""
    with pytest.raises(ValueError):
        xpnn.ones(2, 3).reshape(5)
    with pytest.raises(TypeError):
        xpnn.tensor([1]).mean()
    with pytest.raises(IndexError):
        xpnn.gather(xpnn.ones(2, 3), 1, xpnn.tensor([[5]]))


def test_setitem_leading_ones_gradcheck(host_backend):
    """x[0] = v with v of shape (1, 1, 3): float64 finite differences for both inputs."""
    def f(x, v):
        y = x * 1
        y[0] = v * v
        return y

    x = xpnn.randn(2, 3, dtype=xpnn.float64, requires_grad=True)
    v = xpnn.randn(1, 1, 3, dtype=xpnn.float64, requires_grad=True)
    assert xpnn.gradcheck(f, x, v)


def test_movedim_gradient(backend):
    """movedim with tuples is a permutation: its gradient is the inverse permutation."""
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = xpnn.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    w = np.arange(24, dtype=np.float32).reshape(4, 2, 3)
    (xpnn.movedim(x, (0, 2), (1, 0)) * xpnn.tensor(w)).sum().backward()
    (torch.movedim(t, (0, 2), (1, 0)) * torch.tensor(w)).sum().backward()
    _same(x.grad, t.grad)
