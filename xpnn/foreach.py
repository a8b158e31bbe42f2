"""torch._foreach_*: one op applied to every Tensor of a list (PyTorch's names and forms).

PyTorch fuses these into multi-tensor kernels; here each is a loop over the list calling
xpnn's op of the same name, so the arithmetic (and the rounding) is the single-Tensor op's.
Programs use them in hand-written updates: an EMA or momentum encoder
(``_foreach_lerp_(ema, params, 1 - decay)``), a manual SGD step, gradient norms.

The second operand takes PyTorch's forms: a number, a list of numbers (one per Tensor), a
list of Tensors, or a 0-d Tensor (``_foreach_add``/``sub``/``mul``/``div``, with ``alpha=``
for the Tensor forms of add and sub). The out-of-place forms return a tuple of new Tensors
and are differentiable; the in-place ``_`` forms change each Tensor (its version counter
moves, as with ``Tensor.add_``; on a leaf that requires grad they need ``no_grad()``, as in
PyTorch) and return the list given.
"""
from __future__ import annotations

import numbers

from ._errors import ArgumentError, ShapeError
from .functional.elementwise import add, div, lerp, maximum, minimum, mul, sub
from .functional.elementwise import pow as _pow
from .functional.moremath import clamp_max, clamp_min
from .functional.products import addcdiv, addcmul
from .functional.unary import abs as _abs
from .functional.activation_pointwise import sigmoid, tanh
from .functional.unary import exp, log, neg, reciprocal, rsqrt, sign, sqrt
from .linalg_norms import vector_norm
from .tensor import Tensor

__all__ = []  # filled below: every _foreach_* name (exported by xpnn's __init__)


# -- arguments ---------------------------------------------------------------------------
def _tensors(name, value, arg="self"):
    """``value`` as a non-empty list of Tensors, or PyTorch's error naming ``name``."""
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name}: {arg} must be a list or tuple of Tensors, got "
                        f"{type(value).__name__}")
    if not value:
        raise ArgumentError(f"{name}: Tensor list must have at least one tensor ({arg} is "
                            "empty)")
    for i, t in enumerate(value):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {arg} must hold Tensors, but {arg}[{i}] is a "
                            f"{type(t).__name__}")
    return list(value)


def _is_number(value):
    return isinstance(value, numbers.Number)


def _operands(name, n, other, arg="other"):
    """The second operand of each of ``n`` Tensors: ``(kind, list)`` with kind "scalar"
    (a number or a list of numbers), "tensor" (a 0-d Tensor) or "list" (of Tensors)."""
    if isinstance(other, Tensor):
        if other.ndim != 0:
            raise ShapeError(f"{name}: scalar tensor expected to be 0 dim but it has "
                             f"{other.ndim} dimensions and {other.numel()} elements "
                             f"({arg} has shape {tuple(other.shape)})")
        return "tensor", [other] * n
    if _is_number(other):
        return "scalar", [other] * n
    if isinstance(other, (list, tuple)):
        if other and all(isinstance(o, Tensor) for o in other):
            if len(other) != n:
                raise ArgumentError(f"{name}: Tensor lists must have the same number of "
                                    f"tensors, got {n} and {len(other)}")
            return "list", list(other)
        if all(_is_number(o) for o in other):
            if len(other) != n:
                raise ArgumentError(f"{name}: Tensor list must have same number of elements "
                                    f"as scalar list (got {n} Tensors and {len(other)} "
                                    "scalars)")
            return "scalar", list(other)
    raise TypeError(f"{name}: {arg} must be a number, a list of numbers, a list of Tensors "
                    f"or a 0-d Tensor, got {type(other).__name__}"
                    + (f" of {[type(o).__name__ for o in other]}"
                       if isinstance(other, (list, tuple)) else ""))


def _same_length(name, n, others, arg):
    others = _tensors(name, others, arg)
    if len(others) != n:
        raise ArgumentError(f"{name}: Tensor lists must have the same number of tensors, got "
                            f"{n} and {len(others)}")
    return others


def _export(fn):
    __all__.append(fn.__name__)
    return fn


def _export_pair(outer, inplace, name, doc):
    """``outer`` named ``name`` with ``doc``, and ``inplace`` as its in-place form
    ``name + "_"``, both exported."""
    outer.__name__ = outer.__qualname__ = name
    inplace.__name__ = inplace.__qualname__ = name + "_"
    outer.__doc__ = doc
    inplace.__doc__ = f"The in-place form of :func:`{name}`; returns ``self``."
    return _export(outer), _export(inplace)


# -- binary ops with a number, numbers, Tensors or a 0-d Tensor ---------------------------
def _pairs(name, self, other, alpha):
    """(Tensor, its operand) pairs and the keyword arguments of the op."""
    tensors = _tensors(name, self)
    kind, others = _operands(name, len(tensors), other)
    if alpha is None:
        return zip(tensors, others), {}
    if kind == "scalar":
        raise TypeError(f"{name}: alpha= is taken with a list of Tensors or a 0-d Tensor, "
                        f"got {type(other).__name__} and alpha={alpha!r}")
    return zip(tensors, others), {"alpha": alpha}


def _binary(op, with_alpha):
    base = f"_foreach_{op.__name__}"
    method = op.__name__ + "_"
    if with_alpha:
        def outer(self, other, *, alpha=None):
            pairs, kw = _pairs(base, self, other, alpha)
            return tuple(op(t, o, **kw) for t, o in pairs)

        def inplace(self, other, *, alpha=None):
            pairs, kw = _pairs(base + "_", self, other, alpha)
            for t, o in pairs:
                getattr(t, method)(o, **kw)
            return self
    else:  # mul and div: PyTorch's signatures have no alpha
        def outer(self, other):
            pairs, _ = _pairs(base, self, other, None)
            return tuple(op(t, o) for t, o in pairs)

        def inplace(self, other):
            pairs, _ = _pairs(base + "_", self, other, None)
            for t, o in pairs:
                getattr(t, method)(o)
            return self
    return _export_pair(outer, inplace, base,
                        f"``{op.__name__}`` of each Tensor of ``self`` with ``other`` (a "
                        "number, a list of numbers, a list of Tensors or a 0-d Tensor): a "
                        "tuple of new Tensors, differentiable.")


_foreach_add, _foreach_add_ = _binary(add, True)
_foreach_sub, _foreach_sub_ = _binary(sub, True)
_foreach_mul, _foreach_mul_ = _binary(mul, False)
_foreach_div, _foreach_div_ = _binary(div, False)


def _extremum(name, tensor_op, scalar_op):
    """maximum/minimum (a list of Tensors) and clamp_min/clamp_max (numbers): PyTorch's
    _foreach_maximum with a number is clamp_min."""
    def outer(self, other):
        tensors = _tensors(name, self)
        kind, others = _operands(name, len(tensors), other)
        return tuple((tensor_op if kind == "list" else scalar_op)(t, o)
                     for t, o in zip(tensors, others))

    def inplace(self, other):
        tensors = _tensors(name + "_", self)
        kind, others = _operands(name + "_", len(tensors), other)
        for t, o in zip(tensors, others):
            if kind == "list":
                t.copy_(tensor_op(t, o))
            else:
                getattr(t, scalar_op.__name__ + "_")(o)
        return self

    return _export_pair(outer, inplace, name,
                        f"Elementwise {name[9:]} of each Tensor with ``other`` (a number, a "
                        "list of numbers or a list of Tensors): a tuple of new Tensors.")


_foreach_maximum, _foreach_maximum_ = _extremum("_foreach_maximum", maximum, clamp_min)
_foreach_minimum, _foreach_minimum_ = _extremum("_foreach_minimum", minimum, clamp_max)
_foreach_clamp_min, _foreach_clamp_min_ = _extremum("_foreach_clamp_min", maximum, clamp_min)
_foreach_clamp_max, _foreach_clamp_max_ = _extremum("_foreach_clamp_max", minimum, clamp_max)


@_export
def _foreach_pow(self, exponent):
    """Each Tensor to the power ``exponent`` (a number, a list of numbers or of Tensors);
    or, with a number as ``self``, that number to the power of each Tensor of
    ``exponent``: a tuple of new Tensors, differentiable."""
    name = "_foreach_pow"
    if _is_number(self):
        return tuple(_pow(self, e) for e in _tensors(name, exponent, "exponent"))
    tensors = _tensors(name, self)
    _, others = _operands(name, len(tensors), exponent, "exponent")
    return tuple(_pow(t, e) for t, e in zip(tensors, others))


@_export
def _foreach_pow_(self, exponent):
    """The in-place form of :func:`_foreach_pow` (a list as ``self``); returns ``self``."""
    tensors = _tensors("_foreach_pow_", self)
    _, others = _operands("_foreach_pow_", len(tensors), exponent, "exponent")
    for t, e in zip(tensors, others):
        t.pow_(e)
    return self


# -- lerp, addcmul, addcdiv ----------------------------------------------------------------
@_export
def _foreach_lerp(self, tensors1, weight):
    """``self[i] + weight_i * (tensors1[i] - self[i])``, ``weight`` a number, a list of
    numbers or a list of Tensors: a tuple of new Tensors, differentiable."""
    tensors = _tensors("_foreach_lerp", self)
    ends = _same_length("_foreach_lerp", len(tensors), tensors1, "tensors1")
    _, weights = _operands("_foreach_lerp", len(tensors), weight, "weight")
    return tuple(lerp(t, e, w) for t, e, w in zip(tensors, ends, weights))


@_export
def _foreach_lerp_(self, tensors1, weight):
    """The in-place form of :func:`_foreach_lerp` (an EMA: ``_foreach_lerp_(ema, params,
    1 - decay)``); returns ``self``."""
    tensors = _tensors("_foreach_lerp_", self)
    ends = _same_length("_foreach_lerp_", len(tensors), tensors1, "tensors1")
    _, weights = _operands("_foreach_lerp_", len(tensors), weight, "weight")
    for t, e, w in zip(tensors, ends, weights):
        t.lerp_(e, w)
    return self


def _values(name, n, value, scalars):
    """addcmul/addcdiv's factors, one per Tensor: numbers, or 0-d Tensors taken from a 1-D
    Tensor of ``n`` scalars (indexed on its device: no host read)."""
    if scalars is not None:
        value = scalars
    if isinstance(value, Tensor):
        if value.ndim != 1:
            raise ShapeError(f"{name}: Expected packed scalar Tensor to be of dimension 1. "
                             f"Got {value.ndim} instead (shape {tuple(value.shape)})")
        if value.shape[0] != n:
            raise ShapeError(f"{name}: Expected length of scalars to match input of length "
                             f"{n} but got {value.shape[0]} instead")
        return [value[i] for i in range(n)]
    kind, values = _operands(name, n, value, "value")
    if kind != "scalar":
        raise TypeError(f"{name}: value must be a number, a list of numbers or a 1-D Tensor "
                        f"of them, got {type(value).__name__}")
    return values


def _addc(op, method):
    base = f"_foreach_{op.__name__}"

    def outer(self, tensor1, tensor2, value=1, *, scalars=None):
        tensors = _tensors(base, self)
        n = len(tensors)
        t1s = _same_length(base, n, tensor1, "tensor1")
        t2s = _same_length(base, n, tensor2, "tensor2")
        out = []
        for t, a, b, v in zip(tensors, t1s, t2s, _values(base, n, value, scalars)):
            out.append(op(t, a * v, b) if isinstance(v, Tensor) else op(t, a, b, value=v))
        return tuple(out)

    def inplace(self, tensor1, tensor2, value=1, *, scalars=None):
        tensors = _tensors(base + "_", self)
        n = len(tensors)
        t1s = _same_length(base + "_", n, tensor1, "tensor1")
        t2s = _same_length(base + "_", n, tensor2, "tensor2")
        for t, a, b, v in zip(tensors, t1s, t2s, _values(base + "_", n, value, scalars)):
            if isinstance(v, Tensor):
                getattr(t, method)(a * v, b)
            else:
                getattr(t, method)(a, b, value=v)
        return self

    return _export_pair(outer, inplace, base,
                        f"``{op.__name__}(self[i], tensor1[i], tensor2[i], value=v_i)``, "
                        "``value`` a number, a list of numbers or a 1-D Tensor of them "
                        "(``scalars=``): a tuple of new Tensors, differentiable.")


_foreach_addcmul, _foreach_addcmul_ = _addc(addcmul, "addcmul_")
_foreach_addcdiv, _foreach_addcdiv_ = _addc(addcdiv, "addcdiv_")


# -- one-input ops ---------------------------------------------------------------------------
def _unary(op):
    base = f"_foreach_{op.__name__}"

    def outer(self):
        return tuple(op(t) for t in _tensors(base, self))

    def inplace(self):
        for t in _tensors(base + "_", self):
            getattr(t, op.__name__ + "_")()
        return self

    return _export_pair(outer, inplace, base,
                        f"``{op.__name__}`` of each Tensor: a tuple of new Tensors.")


_foreach_sqrt, _foreach_sqrt_ = _unary(sqrt)
_foreach_rsqrt, _foreach_rsqrt_ = _unary(rsqrt)
_foreach_neg, _foreach_neg_ = _unary(neg)
_foreach_abs, _foreach_abs_ = _unary(_abs)
_foreach_exp, _foreach_exp_ = _unary(exp)
_foreach_log, _foreach_log_ = _unary(log)
_foreach_sign, _foreach_sign_ = _unary(sign)
_foreach_reciprocal, _foreach_reciprocal_ = _unary(reciprocal)
_foreach_sigmoid, _foreach_sigmoid_ = _unary(sigmoid)
_foreach_tanh, _foreach_tanh_ = _unary(tanh)


@_export
def _foreach_zero_(self):
    """Fill every Tensor of ``self`` with zeros; returns ``self``."""
    for t in _tensors("_foreach_zero_", self):
        t.zero_()
    return self


@_export
def _foreach_copy_(self, src, non_blocking=False):
    """Copy ``src[i]`` into ``self[i]`` (broadcast and cast as ``Tensor.copy_``); returns
    ``self``."""
    tensors = _tensors("_foreach_copy_", self)
    for t, s in zip(tensors, _same_length("_foreach_copy_", len(tensors), src, "src")):
        t.copy_(s, non_blocking=non_blocking)
    return self


@_export
def _foreach_norm(self, ord=2, dtype=None):
    """The ``ord``-norm of each Tensor over all its elements (``linalg.vector_norm``): a
    tuple of 0-d Tensors, differentiable."""
    if not _is_number(ord) or isinstance(ord, bool):
        raise TypeError(f"_foreach_norm: ord must be a number, got {type(ord).__name__}")
    return tuple(vector_norm(t, ord, dtype=dtype) for t in _tensors("_foreach_norm", self))
