"""The tests behind ``torch.library.opcheck`` (library.py): PyTorch's test names, with what
each one can check in xpnn, which has no FakeTensor mode and no AOT compiler:

* ``test_schema``: the op runs on copies of the arguments; Tensor arguments the schema does
  not mark as mutated (``Tensor(a!)``) must come back unchanged, and no output may be an
  input (checked on every call of an opaque op).
* ``test_autograd_registration``: with the floating inputs requiring grad, the op's floating
  outputs must require grad too (a custom op always records one node; a Library op must
  record through its kernel or have an autograd formula).
* ``test_faketensor``: the fake kernel (``register_fake``) must exist (for a custom op, as
  PyTorch requires it) and, run on the real arguments, give outputs of the same structure,
  shapes and dtypes as the real kernel.
* ``test_aot_dispatch_static`` / ``test_aot_dispatch_dynamic``: the gradient. The outputs are
  summed and backward runs through the op (so an op without an autograd formula fails with
  PyTorch's error); where every floating input is float64 the registered backward is also
  compared with central finite differences (xpnn.gradcheck) -- stricter than PyTorch,
  which compares eager with compiled gradients of the same formula.
"""
from __future__ import annotations

from .autograd import backward as _backward
from .autograd import no_grad
from .gradcheck import gradcheck
from .tensor import Tensor

_TEST_UTILS = ("test_schema", "test_autograd_registration", "test_faketensor",
               "test_aot_dispatch_static", "test_aot_dispatch_dynamic")
DEFAULT_TEST_UTILS = ("test_schema", "test_autograd_registration", "test_faketensor",
                      "test_aot_dispatch_dynamic")


class OpCheckError(Exception):
    """opcheck's failure (PyTorch's OpCheckError), raised from the test's own error."""


def _copy(value, grad=False):
    """A fresh copy of an argument: Tensors cloned (floating ones requiring grad when
    ``grad``), lists and tuples copied element by element."""
    if isinstance(value, Tensor):
        t = value.detach().clone()
        return t.requires_grad_(True) if grad and t.is_floating_point() else t
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v, grad) for v in value)
    return value


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _check_schema(op, args, kwargs):
    values = op._bind(args, kwargs)
    copies = [_copy(v) for v in values]
    with no_grad():
        op._run(tuple(copies))
    for kind, name, before, after in zip(op._kinds, op._sig.parameters, values, copies):
        if isinstance(before, Tensor) and "!" not in kind and not before.equal(after):
            raise RuntimeError(f"{op._qualname}: argument {name} is not defined as mutable "
                               f"(schema {op._schema}) but was mutated")


def _check_autograd_registration(op, args, kwargs):
    values = [_copy(v, grad=True) for v in op._bind(args, kwargs)]
    if not any(isinstance(v, Tensor) and v.requires_grad for v in values):
        return
    for o in _outputs(op(*values)):
        if isinstance(o, Tensor) and o.is_floating_point() and not o.requires_grad:
            raise RuntimeError(f"{op._qualname}: an input requires grad but the output does "
                               "not: the op has no autograd registration (use "
                               "register_autograd)")


def _check_faketensor(op, args, kwargs):
    if op._fake is None:
        if not op._opaque:
            return  # a Library op's composite kernel needs no fake one
        raise RuntimeError(f"There was no fake impl registered for {op!r}. This is necessary "
                           "for torch.compile/export/fx tracing to work. Please use "
                           f"`{op._name}.register_fake` to add an fake impl.")
    values = tuple(_copy(v) for v in op._bind(args, kwargs))
    with no_grad():
        real = _outputs(op._run(values))
        fake = _outputs(op._run(tuple(_copy(v) for v in values), kernel=op._fake))
    if len(real) != len(fake):
        raise RuntimeError(f"{op._qualname}: the fake kernel returned {len(fake)} outputs, "
                           f"the real one {len(real)}")
    for r, f in zip(real, fake):
        if isinstance(r, Tensor) != isinstance(f, Tensor):
            raise RuntimeError(f"{op._qualname}: the fake kernel returned "
                               f"{type(f).__name__} where the real one returned "
                               f"{type(r).__name__}")
        if isinstance(r, Tensor) and (tuple(r.shape) != tuple(f.shape) or r.dtype != f.dtype):
            raise RuntimeError(
                f"When comparing the output of {op._namespace}.{op._name}.default on "
                "FakeTensor and concrete Tensors, found mismatched tensor metadata: "
                f"{tuple(f.shape)} {f.dtype} (fake) vs {tuple(r.shape)} {r.dtype} (real)")


def _check_gradient(op, args, kwargs, atol, rtol):
    values = [_copy(v, grad=True) for v in op._bind(args, kwargs)]
    leaves = [v for v in values if isinstance(v, Tensor) and v.requires_grad]
    outs = [o for o in _outputs(op(*values)) if isinstance(o, Tensor) and o.requires_grad]
    if not leaves or not outs:
        return
    _backward([o.sum() for o in outs])
    if not all(str(t.dtype).endswith("float64") for t in leaves):
        return
    slots = [i for i, v in enumerate(values) if any(v is t for t in leaves)]

    def call(*ts):
        filled = list(values)
        for i, t in zip(slots, ts):
            filled[i] = t
        return op(*filled)
    tol = {k: v for k, v in (("atol", atol), ("rtol", rtol)) if v is not None}
    gradcheck(call, *[t.detach().requires_grad_(True) for t in leaves], **tol)


def run_checks(op, args, kwargs, test_utils, raise_exception, atol, rtol):
    """opcheck's body (library.opcheck resolves ``op`` first)."""
    names = (test_utils,) if isinstance(test_utils, str) else tuple(test_utils)
    if not set(names) <= set(_TEST_UTILS):
        raise ValueError(f"opcheck(op, ..., test_utils={names}), expected test_utils to be "
                         f"subset of {_TEST_UTILS} but it was not")
    args, kwargs = tuple(args), dict(kwargs or {})
    results = {}
    for name in names:
        try:
            if name == "test_schema":
                _check_schema(op, args, kwargs)
            elif name == "test_autograd_registration":
                _check_autograd_registration(op, args, kwargs)
            elif name == "test_faketensor":
                _check_faketensor(op, args, kwargs)
            else:
                _check_gradient(op, args, kwargs, atol, rtol)
            results[name] = "SUCCESS"
        except Exception as e:
            if raise_exception:
                raise OpCheckError(f"opcheck(op, ...): {name} failed with {e} (scroll up "
                                   "for stack trace)") from e
            results[name] = e
    return results
