"""Broadcasting and type promotion for the elementwise ops: PyTorch's promotion rules
(:func:`promote`), the reduction of a broadcast gradient back to its input's shape
(:func:`unbroadcast`, and :func:`unbroadcast_graph` for a recorded backward), and the
``quiet`` decorator for ops whose kernels may meet log(0) or x/0.

Type promotion is PyTorch's: a Python number or a 0-d tensor does not change the dtype of a
dimensioned tensor of the same kind (float32 * 2.0 and float32 * tensor(2.0, float64) stay
float32), an integer meeting a float becomes that float, and true division of integers gives
the default float dtype.
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import TensorBase, as_tensor
from .._errors import ArgumentError, ShapeError
from .complex_base import refuse_complex
from .transfer import to


def unbroadcast(xp, g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, to get ``shape``."""
    if tuple(g.shape) == tuple(shape):
        return g
    lead = len(g.shape) - len(shape)
    if lead:
        g = xp.sum(g, axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return xp.sum(g, axis=axes, keepdims=True) if axes else g


def unbroadcast_graph(g, shape):
    """:func:`unbroadcast` of a Tensor, recorded (the ``backward_graph`` of broadcasting
    ops)."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(dim=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(dim=axes, keepdim=True) if axes else g


def quiet(cls):
    """Class decorator for ops whose kernels may meet log(0), x/0, inf - inf or overflow:
    their forward runs under ``Backend.quiet()``, so NumPy does not warn where PyTorch gives
    inf/NaN silently. Backwards need nothing: the whole backward sweep runs quiet
    (autograd.backward/grad). About 1-2 us a call on NumPy (an errstate), nothing elsewhere."""
    forward = cls.forward

    def quiet_forward(self, *xs, **params):
        with self.be.quiet():
            return forward(self, *xs, **params)
    cls.forward = quiet_forward
    return cls


def _kind(be, dtype):
    """0 bool, 1 integer, 2 floating, 3 complex (PyTorch's promotion categories)."""
    xp = be.xp
    if dtype == xp.bool:
        return 0
    if B.is_complex_dtype(xp, dtype):
        return 3
    return 2 if xp.isdtype(dtype, "real floating") else 1


def _complex_of(be, dtype):
    """The complex dtype holding a real floating ``dtype`` (float64: complex128, the
    narrower floats complex64), as c10's toComplexType."""
    return be.xp.complex128 if B.dtype_name(dtype) == "float64" else be.xp.complex64


def _complex_result(be, a, b, ka, kb):
    """The dtype of a complex operand meeting one of another kind (c10's promoteTypes and
    combine_categories): a dimensioned complex keeps its dtype against a 0-d or number; a
    dimensioned float against a 0-d complex becomes the complex of its own width; at one
    level a float widens the complex (float64 + complex64 is complex128)."""
    c, r, kr = (a, b, kb) if ka == 3 else (b, a, ka)
    if kr < 2 or (r.ndim == 0 and c.ndim != 0):
        return c.dtype
    if c.ndim == 0 and r.ndim != 0:
        return _complex_of(be, r.dtype)
    return be.xp.result_type(c.dtype, _complex_of(be, r.dtype))


def _cast(t, dtype):
    """``t`` in another dtype; differentiable (through ``to``) when both are floating."""
    return to(t, dtype=dtype)


def promote(a, b, op="op", broadcast=True):
    """Two Tensors of one dtype from Tensors, arrays or numbers, by PyTorch's rules; with
    ``broadcast`` (elementwise ops) their shapes must broadcast."""
    if isinstance(a, TensorBase):
        b = as_tensor(_wrap_int(b, a, op), like=a, op=op)
    else:
        b = as_tensor(b, op=op) if not isinstance(b, TensorBase) else b
        a = as_tensor(_wrap_int(a, b, op), like=b, op=op)
    sa, sb = a.array.shape, b.array.shape
    if broadcast and sa != sb and sa != () and sb != ():
        _broadcastable(op, tuple(sa), tuple(sb))
    if a.dtype == b.dtype or a._be is not b._be:
        return a, b  # (mixed backends: Function.apply names both)
    be = a._be
    ka, kb = _kind(be, a.dtype), _kind(be, b.dtype)
    za, zb = a.ndim == 0, b.ndim == 0
    if ka == kb:
        if za != zb:  # a 0-d operand takes the dimensioned one's dtype
            return (_cast(a, b.dtype), b) if za else (a, _cast(b, a.dtype))
        dt = be.xp.result_type(a.dtype, b.dtype)
        return (a if a.dtype == dt else _cast(a, dt)), (b if b.dtype == dt else _cast(b, dt))
    if 3 in (ka, kb):
        dt = _complex_result(be, a, b, ka, kb)
        return (a if a.dtype == dt else _cast(a, dt)), (b if b.dtype == dt else _cast(b, dt))
    # different kinds: the higher kind's dtype wins
    return (_cast(a, b.dtype), b) if kb > ka else (a, _cast(b, a.dtype))


def promote_float(a, b, op="op"):
    """:func:`promote` for the ops that compute integers in the default float dtype (div,
    copysign, atan2, ...): where neither operand is floating, each tensor becomes float
    first, from its own dtype, so ``uint8 tensor / -1`` is -1.0 as in PyTorch (not 1/255
    from a -1 wrapped into uint8)."""
    def integral(v):
        return not isinstance(v, (float, complex)) and not (
            isinstance(v, TensorBase) and v._be.is_inexact(v.dtype))

    if integral(a) and integral(b):
        a, b = (_floating(v) if isinstance(v, TensorBase) else v for v in (a, b))
    return promote(a, b, op)


def _wrap_int(v, t, op):
    """A Python int beside an integer tensor ``t`` it overflows, wrapped into ``t``'s dtype
    as PyTorch converts it (``int8 tensor + 1000`` adds -24; ``where`` refuses, as
    PyTorch); other values as they are."""
    if type(v) is not int or not B.dtype_is(t.xp, t.dtype, "integral") or \
            not -2 ** 63 <= v < 2 ** 64:
        return v
    info = t._be.xp.iinfo(t.dtype)
    if info.min <= v <= info.max:
        return v
    if op == "where":
        raise ArgumentError(f"{op}: value {v} cannot be converted to type "
                            f"{B.dtype_name(t.dtype)} without overflow")
    span = info.max - info.min + 1
    return (v - info.min) % span + info.min


def _broadcastable(op, sa, sb):
    """Raise naming ``op`` unless the shapes broadcast (the same message on every backend)."""
    for x, y in zip(sa[::-1], sb[::-1]):
        if x != y and x != 1 and y != 1:
            raise ShapeError(f"{op}: shapes {sa} and {sb} cannot be broadcast together")


def _floating(t, op="this op"):
    """``t`` itself if floating, else cast to the default float dtype (int -> float ops); a
    complex ``t`` raises (the ops that take complex tensors check for them first)."""
    if t._be.is_floating(t.dtype):
        return t
    refuse_complex(op, t)
    return _cast(t, t._be.dtype(B.get_default_dtype()))


def _saved_for(needs):
    """Inputs a product's backward reads: B for dA, A for dB (Mul, Div, MatMul)."""
    return (1,) if not needs[1] else (0,) if not needs[0] else (0, 1)


def is_sparse_coo(x):
    """Whether ``x`` is a sparse COO tensor (xpnn/_sparse_coo.py; not a Tensor): dense +/-
    sparse is dense and dense * sparse sparse, as in PyTorch (xpnn/_sparse_dense.py); the
    elementwise ops that keep zeros hand one to its own method (xpnn/_sparse_unary.py)."""
    return not isinstance(x, TensorBase) and hasattr(x, "_sparse_matmul")
