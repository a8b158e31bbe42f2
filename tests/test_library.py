"""torch.library on xpnn: custom_op (schema inference, kernels per device type, fake
kernels, register_autograd, mutation, torch.ops), opcheck and the legacy Library style,
each against torch 2.13 doing the same; float64 gradients checked by finite differences."""
import itertools
import warnings
from typing import Optional, Sequence

import numpy as np
import pytest
import torch
from conftest import to_np

import xpnn

_ids = itertools.count()


def _name(ns="xlib"):
    """A fresh "ns::opN" (ops are global per process, as in PyTorch)."""
    return f"{ns}::op{next(_ids)}"


def _scaled_logaddexp(T, name):
    """log(exp(x) + exp(y)) * s computed stably on detached data, with a hand-written
    backward: the op the tests and the tutorial are built around."""
    @T.library.custom_op(name, mutates_args=())
    def op(x: T.Tensor, y: T.Tensor, s: float) -> T.Tensor:
        m = T.maximum(x, y)
        return (m + T.log(T.exp(x - m) + T.exp(y - m))) * s

    @op.register_fake
    def _(x, y, s):
        return T.empty_like(x)

    def setup_context(ctx, inputs, output):
        x, y, s = inputs
        ctx.save_for_backward(x, y)
        ctx.s = s
        ctx.seen_needs = ctx.needs_input_grad

    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        wx = T.sigmoid(x - y)
        gx = grad * wx * ctx.s if ctx.needs_input_grad[0] else None
        gy = grad * (1 - wx) * ctx.s if ctx.needs_input_grad[1] else None
        return gx, gy, None

    op.register_autograd(backward, setup_context=setup_context)
    return op


def _pair(fn):
    """fn(T, name) made once for torch and once for xpnn under one name each."""
    return fn(torch, _name("tlib")), fn(xpnn, _name())


def test_values_and_gradients_match_torch(backend):
    top, xop = _pair(_scaled_logaddexp)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5)) * 3
    tx, ty = (torch.tensor(v, dtype=torch.float32, requires_grad=True) for v in (a, b))
    xx, xy = (xpnn.tensor(v, dtype=xpnn.float32, requires_grad=True) for v in (a, b))
    tout, xout = top(tx, ty, 1.5), xop(xx, xy, s=1.5)
    assert xpnn.float32 == xout.dtype and tuple(xout.shape) == (4, 5)
    np.testing.assert_allclose(to_np(xout), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    (tout * tout).sum().backward()
    (xout * xout).sum().backward()
    for t, x in ((tx, xx), (ty, xy)):
        np.testing.assert_allclose(to_np(x.grad), t.grad.numpy(), rtol=1e-5, atol=1e-5)
    for name in (xout.grad_fn.name(), tout.grad_fn.name()):  # one node named as torch's
        assert name.startswith("GeneratedBackwardFor_") and name.endswith("_defaultBackward")


def test_gradcheck_float64(host_backend):
    op = _scaled_logaddexp(xpnn, _name())
    rng = np.random.default_rng(1)
    x, y = (xpnn.tensor(rng.standard_normal(6), dtype=xpnn.float64, requires_grad=True)
            for _ in range(2))
    assert xpnn.autograd.gradcheck(lambda a, b: op(a, b, 0.7), (x, y))


def test_opaque_one_node_and_needs_input_grad():
    op = _scaled_logaddexp(xpnn, _name())
    x = xpnn.randn(3, requires_grad=True)
    y = xpnn.randn(3)
    out = op(x, y, 2.0)
    assert out.grad_fn.name().startswith("GeneratedBackwardFor_xlib_op")
    nexts = out.grad_fn.next_functions  # straight to the leaf: the body's ops made no nodes
    assert type(nexts[0][0]).__name__ == "AccumulateGrad" and nexts[1] == (None, 0)
    out.sum().backward()
    assert x.grad is not None and y.grad is None
    with xpnn.no_grad():
        assert op(x, y, 2.0).grad_fn is None


@pytest.mark.parametrize("T", [torch, xpnn], ids=["torch", "xpnn"])
def test_no_autograd_formula_raises_at_backward(T):
    @T.library.custom_op(_name(), mutates_args=())
    def op(x: T.Tensor) -> T.Tensor:
        return x.sin()
    out = op(T.randn(3, requires_grad=True))
    assert out.requires_grad
    with pytest.raises(RuntimeError, match="no autograd formula was registered"):
        out.sum().backward()


@pytest.mark.parametrize("T", [torch, xpnn], ids=["torch", "xpnn"])
def test_wrong_gradient_count(T):
    @T.library.custom_op(_name(), mutates_args=())
    def op(x: T.Tensor, s: float) -> T.Tensor:
        return x * s
    op.register_autograd(lambda ctx, g: g * 2)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        op(T.randn(3, requires_grad=True), 2.0).sum().backward()


def _definitions(T):
    """(label, function, mutates_args) cases whose schema or refusal torch decides."""
    def ok(x: T.Tensor, n: int, s: float = 1.0, flag: bool = False,
           w: Optional[T.Tensor] = None, xs: Sequence[T.Tensor] = None, mode: str = "a", *,
           dims: Optional[Sequence[int]] = None, dt: Optional[T.dtype] = None) -> T.Tensor:
        pass

    def mut(x: T.Tensor, out: T.Tensor) -> None:
        pass

    def two(x: T.Tensor) -> tuple[T.Tensor, T.Tensor]:
        pass

    def many(xs: list[T.Tensor], k: int) -> list[T.Tensor]:
        pass

    def no_hint(x) -> T.Tensor:
        pass

    def no_return(x: T.Tensor):
        pass

    def bad_type(x: T.Tensor, l: list) -> T.Tensor:
        pass

    def tuple_arg(x: T.Tensor, t: tuple[int, int]) -> T.Tensor:
        pass

    def bad_default(x: T.Tensor, k: Sequence[int] = (1, 2)) -> T.Tensor:
        pass

    def varargs(*xs: T.Tensor) -> T.Tensor:
        pass

    return [("ok", ok, ()), ("mut", mut, ("out",)), ("unknown", mut, "unknown"),
            ("two", two, ()), ("many", many, ()), ("no_hint", no_hint, ()),
            ("no_return", no_return, ()), ("bad_type", bad_type, ()),
            ("tuple_arg", tuple_arg, ()), ("bad_default", bad_default, ()),
            ("varargs", varargs, ()), ("not_an_arg", mut, ("z",)),
            ("mutated_int", many, ("k",))]


@pytest.mark.parametrize("case", range(13))
def test_infer_schema_matches_torch(case):
    label, tfn, tmut = _definitions(torch)[case]
    _, xfn, xmut = _definitions(xpnn)[case]
    try:
        want = torch.library.infer_schema(tfn, mutates_args=tmut)
    except ValueError as e:
        gist = str(e).split(" Got func")[0].split(" The valid")[0].split(" We do not")[0]
        with pytest.raises(ValueError) as got:
            xpnn.library.infer_schema(xfn, mutates_args=xmut)
        assert str(got.value).startswith(gist), (label, str(got.value))
        return
    assert xpnn.library.infer_schema(xfn, mutates_args=xmut) == want, label


@pytest.mark.parametrize("T", [torch, xpnn], ids=["torch", "xpnn"])
def test_custom_op_argument_errors(T):
    with pytest.raises(TypeError, match="mutates_args"):
        T.library.custom_op(_name())(lambda x: x)
    def plain(x: T.Tensor) -> T.Tensor:
        return x.clone()
    with pytest.raises(ValueError, match="mutates_args must either be a sequence"):
        T.library.custom_op(_name(), mutates_args="all")(plain)
    with pytest.raises(ValueError):
        @T.library.custom_op("no_namespace", mutates_args=())
        def f(x: T.Tensor) -> T.Tensor:
            return x.clone()

    @T.library.custom_op(_name(), mutates_args=())
    def same(x: T.Tensor) -> T.Tensor:
        return x
    with pytest.raises(RuntimeError, match="must not also be an input"):
        same(T.randn(2))

    @T.library.custom_op(_name(), mutates_args=())
    def takes(x: T.Tensor) -> T.Tensor:
        return x.clone()
    with pytest.raises(RuntimeError, match="Expected a value of type 'Tensor' for argument"):
        takes(3.0)


@pytest.mark.parametrize("T", [torch, xpnn], ids=["torch", "xpnn"])
def test_mutating_op_and_torch_ops(T):
    name = _name()

    @T.library.custom_op(name, mutates_args=("out",))
    def scale_into(x: T.Tensor, out: T.Tensor, s: float) -> None:
        out.copy_(x * s)
    x = T.arange(4.0, requires_grad=True)
    out = T.zeros(4)
    assert scale_into(x, out, 3.0) is None
    assert out.tolist() == [0.0, 3.0, 6.0, 9.0]
    ns, op = name.split("::")
    packet = getattr(getattr(T.ops, ns), op)
    assert str(packet) == f"{ns}.{op}" and str(packet.default) == f"{ns}.{op}.default"
    assert repr(packet.default) == f"<OpOverload(op='{ns}.{op}', overload='default')>"
    packet.default(x.detach(), out, s=1.0)
    assert out.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert str(packet.default._schema) == (f"{name}(Tensor x, Tensor(a1!) out, float s) -> ()")
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        getattr(T.ops, ns).missing


@pytest.mark.parametrize("T", [torch, xpnn], ids=["torch", "xpnn"])
def test_kernels_per_device_type(T):
    @T.library.custom_op(_name(), mutates_args=(), device_types="cpu")
    def op(x: T.Tensor) -> T.Tensor:
        return x + 1
    assert op(T.zeros(2)).tolist() == [1.0, 1.0]
    op.register_kernel("cuda", lambda x: x + 2)  # not used on CPU tensors
    assert op(T.zeros(2)).tolist() == [1.0, 1.0]
    T.library.register_kernel(op, "cpu", lambda x: x + 3)
    assert op(T.zeros(2)).tolist() == [3.0, 3.0]


def test_cuda_only_kernel_refuses_cpu():
    @xpnn.library.custom_op(_name(), mutates_args=(), device_types="cuda")
    def op(x: xpnn.Tensor) -> xpnn.Tensor:
        return x + 1
    with pytest.raises(NotImplementedError, match="Could not run .* 'CPU' backend"):
        op(xpnn.zeros(2))


@pytest.mark.parametrize("T", [torch, xpnn], ids=["torch", "xpnn"])
def test_module_level_registration_by_name(T):
    name = _name()

    @T.library.custom_op(name, mutates_args=())
    def op(x: T.Tensor) -> T.Tensor:
        return x * x
    T.library.register_fake(name, lambda x: T.empty_like(x))
    T.library.register_autograd(name, lambda ctx, g: g * 2 * ctx.x,
                                setup_context=lambda ctx, inputs, output:
                                setattr(ctx, "x", inputs[0]))
    x = T.tensor([1.0, -2.0], requires_grad=True)
    op(x).sum().backward()
    assert x.grad.tolist() == [2.0, -4.0]
    with pytest.warns(FutureWarning, match="impl_abstract` was renamed"):
        T.library.impl_abstract(name, lambda x: T.empty_like(x))
    if T is xpnn:  # torch.compile passes through (torch's own warns here: its inductor)
        assert T.compile(lambda v: op(v) + 1)(T.tensor([3.0])).tolist() == [10.0]


def _opcheck_cases(T, wrong=False):
    op = _scaled_logaddexp(T, _name("tlib") if T is torch else _name())
    if wrong:
        op.register_autograd(lambda ctx, g: (g * 3 * ctx.s, None, None),
                             setup_context=lambda ctx, inputs, output:
                             setattr(ctx, "s", inputs[2]))
    x = T.tensor([0.5, -1.0, 2.0], dtype=T.float64, requires_grad=True)
    y = T.tensor([1.0, 0.0, -3.0], dtype=T.float64, requires_grad=True)
    return op, (x, y, 2.0)


def test_opcheck_passes_as_torch():
    top, targs = _opcheck_cases(torch)
    xop, xargs = _opcheck_cases(xpnn)
    want = torch.library.opcheck(top, targs)
    assert xpnn.library.opcheck(xop, xargs) == want
    assert xpnn.library.opcheck(xop, xargs[:2], {"s": 0.5}, test_utils="test_schema") == \
        {"test_schema": "SUCCESS"}
    with pytest.raises(ValueError, match="expected test_utils to be subset"):
        xpnn.library.opcheck(xop, xargs, test_utils="bad")


@pytest.mark.parametrize("T", [torch, xpnn], ids=["torch", "xpnn"])
def test_opcheck_failures(T):
    @T.library.custom_op(_name(), mutates_args=())
    def op(x: T.Tensor) -> T.Tensor:
        return x * 2
    with pytest.raises(Exception, match="test_faketensor failed with There was no fake impl"):
        T.library.opcheck(op, (T.randn(3),))
    op.register_fake(lambda x: T.empty(2))
    res = T.library.opcheck(op, (T.randn(3),), raise_exception=False)
    assert res["test_schema"] == "SUCCESS"
    assert "mismatched tensor metadata" in str(res["test_faketensor"])


def test_opcheck_finds_a_wrong_float64_backward():
    """Stricter than torch (which compares eager with compiled runs of the same formula):
    xpnn compares the registered backward with finite differences."""
    op, args = _opcheck_cases(xpnn, wrong=True)
    res = xpnn.library.opcheck(op, args, raise_exception=False)
    assert isinstance(res["test_aot_dispatch_dynamic"], xpnn.GradcheckError)
    with pytest.raises(xpnn.library.OpCheckError, match="test_aot_dispatch_dynamic failed"):
        xpnn.library.opcheck(op, args)


@pytest.mark.parametrize("T", [torch, xpnn], ids=["torch", "xpnn"])
def test_legacy_library(T):
    ns = f"legacy{next(_ids)}"
    lib = T.library.Library(ns, "DEF")
    lib.define("affine(Tensor x, float a, float b=1.0) -> Tensor")
    lib.impl("affine", lambda x, a, b=1.0: x * a + b, "CPU")
    lib.define("softsq(Tensor x) -> Tensor")
    lib.impl("softsq", lambda x: (x * x + 1).sqrt(), "CompositeImplicitAutograd")
    x = T.tensor([1.0, 2.0], requires_grad=True)
    ops = getattr(T.ops, ns)
    assert ops.affine(x, 2.0).tolist() == [3.0, 5.0]
    assert ops.affine(x, 2.0, b=0.0).tolist() == [2.0, 4.0]
    y = ops.softsq.default(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.tolist(), [1 / 2 ** 0.5, 2 / 5 ** 0.5], rtol=1e-6)
    with pytest.raises(RuntimeError, match="missing value for argument 'a'"):
        ops.affine(x)
    with pytest.raises(ValueError, match="Unsupported kind"):
        T.library.Library(ns, "BAD")

    T.library.define(f"{ns}::cube", "(Tensor x) -> Tensor", lib=lib)

    @T.library.impl(f"{ns}::cube", "cpu", lib=lib)
    def _(x):
        return x * x * x
    assert ops.cube(T.tensor([2.0])).tolist() == [8.0]


def test_device_types_map_to_the_backend(backend):
    """"cpu" kernels serve the host backends, "cuda" ones every accelerator device."""
    @xpnn.library.custom_op(_name(), mutates_args=(), device_types="cpu")
    def op(x: xpnn.Tensor) -> xpnn.Tensor:
        return x + 1
    op.register_kernel("cuda", lambda x: x + 2)
    x = xpnn.zeros(2)
    want = 1.0 if x.device.type == "cpu" else 2.0
    assert to_np(op(x)).tolist() == [want, want]
    meta = op.register_fake(lambda x: xpnn.empty_like(x))
    assert meta is not None
    assert tuple(op(xpnn.empty(4, device="meta")).shape) == (4,)
