"""Inference tensors and the last Tensor-level differences from torch 2.13 that the round-3
adversarial sweep left (README, "Adversarial inputs"), each checked against torch on every
backend:

* tensors made under ``inference_mode`` are inference tensors, refused outside it where
  autograd would save them for backward, in in-place updates and by ``requires_grad_``;
  ``clone()`` gives a normal tensor; ``inference_mode(False)`` turns it all off;
* ``tensor([t1, t2])`` of multi-element tensors raises (one-element ones still read);
* ``//`` and ``floor_divide`` of a tensor that requires grad: forward works, backward raises
  (``div(rounding_mode=...)`` has a zero gradient);
* ``x[uint8 mask] = number`` raises, an integer tensor's ``clamp`` with a Python bound out of
  its dtype's range raises, ``tensor([[], [1]])`` is an empty (2, 0) tensor, and an index
  with several ``...`` reads as torch reads it.

Values compared here are exact (floor divisions, integer data, sums of ones); gradients of
float32 sums of products of small integers are exact too.
"""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402

SAVED = "Inference tensors cannot be saved for backward"
INPLACE = "Inplace update to inference tensor outside InferenceMode is not allowed"
SET_RG = "Setting requires_grad=True on inference tensor outside InferenceMode"


def _outcome(fn):
    """("raises", type family, message) or ("ok", value): what ``fn()`` did."""
    try:
        out = fn()
    except Exception as e:  # noqa: BLE001 - the kind is what is compared
        kind = "RuntimeError" if isinstance(e, RuntimeError) else \
            "ValueError" if isinstance(e, ValueError) else \
            "IndexError" if isinstance(e, IndexError) else type(e).__name__
        return "raises", kind, str(e)
    return "ok", out


def _np(t):
    return to_np(t) if isinstance(t, xpnn.Tensor) else t.detach().numpy()


def _same(got, want, fragment=None):
    """Both raised the same kind of error (with ``fragment`` in both messages), or both
    returned equal values (a tuple of tensors and flags, compared entry by entry)."""
    assert got[0] == want[0], (got, want)
    if got[0] == "raises":
        assert got[1] == want[1], (got, want)
        if fragment is not None:
            assert fragment in got[2] and fragment in want[2], (got, want)
        return
    g, w = got[1], want[1]
    g, w = (g, w) if isinstance(g, tuple) else ((g,), (w,))
    assert len(g) == len(w)
    for a, b in zip(g, w):
        if isinstance(b, torch.Tensor):
            assert tuple(a.shape) == tuple(b.shape)
            assert str(b.dtype).replace("torch.", "") == xpnn.backend.dtype_name(a.dtype)
            np.testing.assert_array_equal(_np(a), _np(b))  # exact: see the module doc
        else:
            assert a == b, (g, w)


# -- inference tensors ------------------------------------------------------------------------
def _state(t):
    return t, t.is_inference(), t.requires_grad, t.grad_fn is not None


# each case: (name, fn(m, a, x) with a an inference tensor, x a leaf that requires grad,
# the message fragment both raise with, or None where both succeed)
INFERENCE_CASES = [
    ("add_saves_nothing", lambda m, a, x: _state(a + x), None),
    ("sub", lambda m, a, x: _state(a.sub(x)), None),
    ("cat", lambda m, a, x: _state(m.cat([a, x])), None),
    ("mul_saves_a", lambda m, a, x: _state(a * x), SAVED),
    ("rmul_saves_a", lambda m, a, x: _state(x * a), SAVED),
    ("mul_by_a_nonleaf", lambda m, a, x: _state((x * 2) * a), SAVED),
    ("div", lambda m, a, x: _state(x / a), SAVED),
    ("pow", lambda m, a, x: _state(a ** x), SAVED),
    ("matmul", lambda m, a, x: _state(m.matmul(a, x)), SAVED),
    ("linear", lambda m, a, x: _state(m.nn.functional.linear(a[None], x[None])), SAVED),
    ("unrecorded_op", lambda m, a, x: _state(m.sin(a)), None),
    ("sum_unrecorded", lambda m, a, x: _state(a.sum()), None),
    ("view_outside", lambda m, a, x: _state(a[:2]), None),
    ("reshape_outside", lambda m, a, x: _state(a.view(3)), None),
    ("detach", lambda m, a, x: _state(a.detach()), None),
    ("data", lambda m, a, x: _state(a.data), None),
    ("clone_is_normal", lambda m, a, x: _state(a.clone()), None),
    ("clone_in_autograd", lambda m, a, x: _state(a.clone() * x), None),
    ("is_inference_fn", lambda m, a, x: (m.is_inference(a), m.is_inference(x)), None),
    ("add_", lambda m, a, x: _state(a.add_(1)), INPLACE),
    ("add__no_grad", lambda m, a, x: _no_grad(m, lambda: a.add_(1)), INPLACE),
    ("mul_", lambda m, a, x: _state(a.mul_(x)), INPLACE),
    ("setitem", lambda m, a, x: a.__setitem__(0, 5.0), INPLACE),
    ("copy_", lambda m, a, x: _state(a.copy_(m.zeros(3))), INPLACE),
    ("zero_", lambda m, a, x: _state(a.zero_()), INPLACE),
    ("view_add_", lambda m, a, x: _state(a[:2].add_(1)), INPLACE),
    ("normal_add_inference", lambda m, a, x: _state(m.zeros(3).add_(a)), None),
    ("normal_copy_inference", lambda m, a, x: _state(m.zeros(3).copy_(a)), None),
    ("graph_mul__inference", lambda m, a, x: _state((x * 1).mul_(a)), SAVED),
    ("requires_grad_", lambda m, a, x: _state(a.requires_grad_()), SET_RG),
    ("requires_grad_false", lambda m, a, x: _state(a.requires_grad_(False)), None),
    ("requires_grad_attr", lambda m, a, x: setattr(a, "requires_grad", True), SET_RG),
    ("parameter", lambda m, a, x: m.nn.Parameter(a), SET_RG),
    ("parameter_no_grad", lambda m, a, x: _state(m.nn.Parameter(a, requires_grad=False)),
     None),
    ("to_other_dtype", lambda m, a, x: _state(a.to(m.float64)), None),
    ("custom_function_saves", lambda m, a, x: _state(_saving_fn(m).apply(a, x)), SAVED),
    ("squeeze_", lambda m, a, x: _state(a[None].squeeze_(0)), INPLACE),
    ("unsqueeze_", lambda m, a, x: _state(a.unsqueeze_(0)), INPLACE),
    ("uniform_", lambda m, a, x: _state(a.uniform_()), INPLACE),
    ("init_zeros_", lambda m, a, x: _state(m.nn.init.zeros_(a)), INPLACE),
    # torch's detach() and .data of an inference tensor are inference tensors that may
    # still change in place (their views may not)
    ("detach_add_", lambda m, a, x: _state(a.detach().add_(1)), None),
    ("data_add_", lambda m, a, x: _state(a.data.add_(1)), None),
    ("data_detach_add_", lambda m, a, x: _state(a.data.detach().add_(1)), None),
    ("data_view_add_", lambda m, a, x: _state(a.data[:1].add_(1)), INPLACE),
    ("data_saved", lambda m, a, x: _state(a.data * x), SAVED),
    ("detach_requires_grad_", lambda m, a, x: _state(a.detach().requires_grad_()), SET_RG),
]


def _no_grad(m, fn):
    with m.no_grad():
        return _state(fn())


def _saving_fn(m):
    class Prod(m.autograd.Function):
        @staticmethod
        def forward(ctx, p, q):
            ctx.save_for_backward(p, q)
            return p * q

        @staticmethod
        def backward(ctx, g):
            p, q = ctx.saved_tensors
            return g * q, g * p
    return Prod


def _inference_case(m, fn):
    x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with m.inference_mode():
        a = m.ones(3) * 2
    return _outcome(lambda: fn(m, a, x))


@pytest.mark.parametrize("name,fn,fragment", INFERENCE_CASES,
                         ids=[c[0] for c in INFERENCE_CASES])
def test_inference_tensor_outside_inference_mode(backend, name, fn, fragment):
    """The same outcome as torch: the values and flags (is_inference, requires_grad, a
    grad_fn), or a RuntimeError with torch's words."""
    got, want = _inference_case(xpnn, fn), _inference_case(torch, fn)
    _same(got, want, fragment)
    if fragment is not None:
        assert got[0] == "raises"


def _inside(m):
    x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with m.inference_mode():
        a = m.ones(3)
        a.add_(1)  # in place inside: allowed
        b = m.ones(2).requires_grad_()  # allowed inside, as torch
        inside = (m.is_inference_mode_enabled(), m.is_grad_enabled(), a.is_inference(),
                  b.is_inference(), b.requires_grad, (a * x).requires_grad,
                  (a * x).is_inference())
        with m.inference_mode(False):
            c = m.ones(3) * x  # normal tensors, recorded
            off = (m.is_inference_mode_enabled(), m.is_grad_enabled(), c.is_inference(),
                   c.requires_grad)
            refused = _outcome(lambda: a * x)[0]
    return inside, off, refused, a


def test_inside_inference_mode_and_mode_false(backend):
    """Inside inference_mode in-place changes and requires_grad_ work and nothing records;
    inference_mode(False) records normal tensors and refuses saving an inference one."""
    got, want = _inside(xpnn), _inside(torch)
    assert got[:3] == want[:3]
    np.testing.assert_array_equal(to_np(got[3]), want[3].numpy())


def _grads(m):
    """Gradients through ops that save nothing of the inference tensor, and through a
    clone of it."""
    x = m.tensor([1.0, -2.0, 3.0], requires_grad=True)
    with m.inference_mode():
        a = m.tensor([2.0, 3.0, 4.0]) * 1
    ((a + x) * x + m.cat([a, x]).sum() * 2 + (a.clone() * x)).sum().backward()
    return x.grad


def test_gradients_next_to_inference_tensors(backend):
    """d/dx sum((a + x) x + 2 sum(cat(a, x)) + clone(a) x) = 2x + a + 2 + a: exact in
    float32 for these small integers, equal to torch's."""
    np.testing.assert_array_equal(to_np(_grads(xpnn)), _grads(torch).numpy())


def test_module_made_under_inference_mode(backend):
    """A module built under inference_mode has inference parameters: training it outside
    raises, as torch's; predictions under inference_mode are inference tensors."""
    def run(m):
        m.manual_seed(0)
        with m.inference_mode():
            lin = m.nn.Linear(3, 2)
        flags = (lin.weight.is_inference(), lin.weight.requires_grad)
        x = m.ones(4, 3, requires_grad=True)
        return flags, _outcome(lambda: lin(x))[:2]
    assert run(xpnn) == run(torch)


def test_training_step_untouched_without_inference_mode(backend):
    """A recorded step with no inference tensor around still records and differentiates
    (the checks are skipped, not just passed)."""
    x = xpnn.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    np.testing.assert_array_equal(to_np(x.grad), [2.0, 4.0])
    assert not x.is_inference() and not y.is_inference()


# -- tensor() of a list of tensors ------------------------------------------------------------
LIST_CASES = {
    "multi_element": lambda m: m.tensor([m.ones(2), m.zeros(2)]),
    "empty_tensor": lambda m: m.tensor([m.ones(0)]),
    "one_multi": lambda m: m.tensor([m.ones(2)]),
    "zero_d": lambda m: m.tensor([m.tensor(1.0), m.tensor(2.0)]),
    "one_element": lambda m: m.tensor([m.ones(1), m.zeros(1)]),
    "one_element_2d": lambda m: m.tensor([m.ones(1, 1), m.zeros(1)]),
    "nested": lambda m: m.tensor([[m.ones(1)], [m.zeros(1)]]),
    "int_0d": lambda m: m.tensor([m.tensor(1), m.tensor(2)]),
    "mixed_numbers": lambda m: m.tensor([m.tensor(1), 2.5]),
}


@pytest.mark.parametrize("case", list(LIST_CASES))
def test_tensor_of_a_list_of_tensors(backend, case):
    """Multi-element tensors in the list: torch's ValueError; one-element ones are read as
    numbers (dtype and values as torch)."""
    _same(_outcome(lambda: LIST_CASES[case](xpnn)), _outcome(lambda: LIST_CASES[case](torch)),
          "only one element tensors can be converted to Python scalars")


# -- floor_divide ------------------------------------------------------------------------------
FLOOR_CASES = {
    "floordiv": lambda m, x, y: x // 2,
    "rfloordiv": lambda m, x, y: 7 // x,
    "floordiv_tensors": lambda m, x, y: x // y,
    "floor_divide": lambda m, x, y: m.floor_divide(x, y),
    "method": lambda m, x, y: x.floor_divide(2),
    "inplace_nonleaf": lambda m, x, y: (x * 1).floor_divide_(2),
    "div_floor": lambda m, x, y: m.div(x, y, rounding_mode="floor"),
    "div_trunc": lambda m, x, y: m.div(x, 2, rounding_mode="trunc"),
    "divide_floor": lambda m, x, y: x.div(y, rounding_mode="floor"),
}


def _floor(m, case):
    x = m.tensor([1.5, -2.5, 3.0, -7.0], requires_grad=True)
    y = m.tensor([2.0, 2.0, -0.5, 3.0], requires_grad=True)
    out = FLOOR_CASES[case](m, x, y)
    return out, _outcome(lambda: (out.sum().backward(),
                                  x.grad if x.grad is not None else m.zeros(4),
                                  y.grad if y.grad is not None else m.zeros(4))[1:])


@pytest.mark.parametrize("case", list(FLOOR_CASES))
def test_floor_divide_backward(backend, case):
    """Forward as torch (exact); backward: floor_divide's raises (a RuntimeError naming
    floor_divide), div with a rounding_mode gives zero gradients, as torch."""
    got, want = _floor(xpnn, case), _floor(torch, case)
    np.testing.assert_array_equal(to_np(got[0]), want[0].detach().numpy())
    _same(got[1], want[1], "floor_divide" if want[1][0] == "raises" else None)


def test_div_rounding_gradcheck(host_backend):
    """div(rounding_mode="floor"/"trunc") has a zero derivative: float64 finite differences
    (eps 1e-6, away from the jumps) agree."""
    x = xpnn.tensor([1.3, -2.5, 3.1], dtype=xpnn.float64, requires_grad=True)
    y = xpnn.tensor([2.2, 0.9, -1.7], dtype=xpnn.float64, requires_grad=True)
    for mode in ("floor", "trunc"):
        assert xpnn.gradcheck(lambda a, b: xpnn.div(a, b, rounding_mode=mode), (x, y))


# -- uint8 masks, integer clamp, empty nested lists, several ellipses -------------------------
def _setitem(m, mask_dtype, value, key="mask"):
    x = m.arange(6.0).reshape(2, 3)
    mask = m.tensor([[1, 0, 1], [0, 0, 1]], dtype=getattr(m, mask_dtype))
    rows = m.tensor([1, 0], dtype=getattr(m, mask_dtype))
    k = {"mask": mask, "tuple": (mask,), "rows": rows, "rows_int": (rows, 0)}[key]
    v = value(m)
    with warnings.catch_warnings():  # both warn that uint8 indices are deprecated
        warnings.simplefilter("ignore")
        return _outcome(lambda: (x.__setitem__(k, v), x)[1])


SETITEM_VALUES = {"int": lambda m: 7, "float": lambda m: 7.5, "bool": lambda m: True,
                  "0d": lambda m: m.tensor(7.0), "vector": lambda m: m.tensor([1., 2., 3.])}


def _index_put(m, value):
    x = m.arange(6.0).reshape(2, 3)
    mask = m.tensor([[1, 0, 1], [0, 0, 1]], dtype=m.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _outcome(lambda: (x.index_put_((mask,), value(m)), x)[1]), _outcome(
            lambda: m.index_put(m.zeros(2, 3), (mask,), value(m)))


@pytest.mark.parametrize("value", ["0d", "vector"])
def test_index_put_uint8_mask(backend, value):
    """index_put(_) reads a uint8 index as a mask, as torch (which refuses one value)."""
    for got, want in zip(_index_put(xpnn, SETITEM_VALUES[value]),
                         _index_put(torch, SETITEM_VALUES[value])):
        _same(got, want, "masked_fill_ only supports boolean masks")


@pytest.mark.parametrize("key", ["mask", "tuple", "rows", "rows_int"])
@pytest.mark.parametrize("value", list(SETITEM_VALUES))
@pytest.mark.parametrize("mask_dtype", ["uint8", "bool"])
def test_setitem_uint8_mask_with_one_value(backend, mask_dtype, value, key):
    """x[uint8 mask] = one value: torch's RuntimeError (its masked_fill_ path takes bool
    masks only); a bool mask, or a value per selected element, writes as torch."""
    if key.startswith("rows") and value == "vector":
        pytest.skip("a row mask selects rows of 3: covered by the (2, 3) mask cases")
    _same(_setitem(xpnn, mask_dtype, SETITEM_VALUES[value], key),
          _setitem(torch, mask_dtype, SETITEM_VALUES[value], key),
          "masked_fill_ only supports boolean masks")


CLAMP_CASES = {
    "max": lambda t: t.clamp(max=1000), "min": lambda t: t.clamp(min=-1000),
    "both": lambda t: t.clamp(-1000, 1000), "in_range": lambda t: t.clamp(-5, 5),
    "float_bound": lambda t: t.clamp(max=1.5), "tensor_bound": lambda t: t.clamp(max=t * 0),
    "inplace": lambda t: t.clone().clamp_(max=1000), "clamp_max": lambda t: t.clamp_max(300),
    "clip": lambda t: t.clip(max=1000),
}


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "int64"])
@pytest.mark.parametrize("case", list(CLAMP_CASES))
def test_integer_clamp_bounds(backend, dtype, case):
    """An integer tensor's clamp with a Python int bound outside its dtype's range raises
    torch's RuntimeError; in-range, float and tensor bounds give torch's values."""
    def run(m):
        t = m.tensor([-100, 0, 100], dtype=getattr(m, dtype))
        return _outcome(lambda: CLAMP_CASES[case](t))
    _same(run(xpnn), run(torch), "cannot be converted to type")


NESTED = {"empty_then_one": [[], [1]], "two_empty": [[], []], "deeper": [[[]], [1]],
          "empty_then_number": [[], 1], "empty_then_deep": [[], [[1, 2]]],
          "empty_rows": [[[], []], [[1], [2]]], "complex": [[], [1j]],
          "one_then_empty": [[1], []], "number_then_empty": [1, []],
          "two_then_empty": [[1, 2], []]}


@pytest.mark.parametrize("case", list(NESTED))
@pytest.mark.parametrize("dtype", [None, "int64"])
def test_tensor_of_nested_lists_with_empty_first(backend, case, dtype):
    """torch reads the shape off the first entries: where it holds no element the rest is
    not read ([[], [1]] is (2, 0)); otherwise ragged lists raise as before."""
    def run(m):
        kw = {} if dtype is None else {"dtype": getattr(m, dtype)}
        return _outcome(lambda: m.tensor(NESTED[case], **kw))
    got, want = run(xpnn), run(torch)
    assert got[0] == want[0], (got, want)
    if got[0] == "ok":
        _same(got, want)


KEYS = {"two": (Ellipsis, Ellipsis), "int_between": (Ellipsis, 0, Ellipsis),
        "int_first": (0, Ellipsis, Ellipsis), "none_between": (Ellipsis, None, Ellipsis),
        "slice_between": (Ellipsis, slice(0, 1), Ellipsis),
        "three": (Ellipsis, Ellipsis, Ellipsis), "two_ints": (Ellipsis, 0, 1, Ellipsis),
        "array_between": (Ellipsis, "ix", Ellipsis),
        "past_the_end": (Ellipsis, Ellipsis, 0), "past_the_end_2": (0, Ellipsis, Ellipsis, 1)}


def _key(m, name):
    return tuple(m.tensor([0, 2]) if k == "ix" else k for k in KEYS[name])


@pytest.mark.parametrize("name", list(KEYS))
def test_index_with_several_ellipses(backend, name):
    """Each ``...`` stands for the dims the other entries leave, as torch reads it: getitem
    and setitem agree with torch, and an index that lands past the last dim raises."""
    def get(m):
        return _outcome(lambda: m.arange(24.0).reshape(2, 3, 4)[_key(m, name)])

    def put(m):
        x = m.arange(24.0).reshape(2, 3, 4)
        return _outcome(lambda: (x.__setitem__(_key(m, name), -1.0), x)[1])
    got, want = get(xpnn), get(torch)
    assert got[0] == want[0], (got, want)
    if got[0] == "ok":
        _same(got, want)
    got, want = put(xpnn), put(torch)
    assert got[0] == want[0], (got, want)
    if got[0] == "ok":
        _same(got, want)
